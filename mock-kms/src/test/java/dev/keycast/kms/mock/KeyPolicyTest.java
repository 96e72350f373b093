package dev.keycast.kms.mock;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class KeyPolicyTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String KEY =
      "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
  private static final String ROLE = "arn:aws:iam::111122223333:role/r";

  @ParameterizedTest
  @CsvSource({
    "kms:*, kms:Decrypt, true, true",
    "KMS:decrypt, kms:Decrypt, true, true",
    "kms:Generate*, kms:GenerateDataKey, true, true",
    "kms:Generate*, kms:Decrypt, true, false",
    "kms:?ncrypt, kms:Encrypt, true, true",
    "*, anything, false, true",
    "arn:aws:kms:*:111122223333:key/*, " + KEY + ", false, true",
    "arn:aws:kms:*:999999999999:key/*, " + KEY + ", false, false",
  })
  void wildcards(String pattern, String value, boolean ignoreCase, boolean expected) {
    assertThat(KeyPolicy.glob(pattern, value, ignoreCase)).isEqualTo(expected);
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "{\"Statement\":[{\"Effect\":\"Allow\",\"NotPrincipal\":{\"AWS\":\"*\"},\"Action\":\"kms:*\",\"Resource\":\"*\"}]}",
        "{\"Statement\":[{\"Effect\":\"Maybe\",\"Principal\":\"*\",\"Action\":\"kms:*\",\"Resource\":\"*\"}]}",
        "{\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"s3:*\",\"Resource\":\"*\"}]}",
        "{\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"kms:*\",\"Resource\":\"*\",\"Condition\":{\"NumericEquals\":{\"kms:RecipientAttestation:PCR0\":\"1\"}}}]}",
        "{\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"kms:*\",\"Resource\":\"*\",\"Condition\":{\"StringEquals\":{\"kms:RecipientAttestation:PCR32\":\"1\"}}}]}",
        "{\"Statement\":[]}",
        "[]",
        "{\"Version\":\"2012-10-17\"}",
      })
  void unsupportedOrMalformedPoliciesAreRejected(String policy) {
    assertThatThrownBy(() -> KeyPolicy.parse(policy, JSON))
        .isInstanceOf(KmsException.class)
        .satisfies(
            e ->
                assertThat(((KmsException) e).type())
                    .isEqualTo("MalformedPolicyDocumentException"));
  }

  @Test
  void conditionsAndDeny() throws Exception {
    String pcr0 = "ab".repeat(48);
    KeyPolicy p =
        KeyPolicy.parse(
            "{\"Statement\":["
                + "{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\""
                + ROLE
                + "\"},\"Action\":\"kms:Decrypt\",\"Resource\":\"*\","
                + "\"Condition\":{\"StringEquals\":{\"kms:RecipientAttestation:PCR0\":\""
                + pcr0
                + "\"},"
                + "\"StringEqualsIgnoreCase\":{\"kms:EncryptionContext:App\":[\"keycast\",\"other\"]}}},"
                + "{\"Effect\":\"Deny\",\"Principal\":\"*\",\"Action\":\"kms:*\",\"Resource\":\"*\","
                + "\"Condition\":{\"StringEquals\":{\"kms:EncryptionContext:blocked\":\"yes\"}}}]}",
            JSON);
    Map<String, String> ok =
        Map.of("kms:recipientattestation:pcr0", pcr0, "kms:encryptioncontext:app", "KEYCAST");
    assertThat(p.allows(ROLE, "kms:Decrypt", KEY, ok)).isTrue();
    assertThat(p.allows(ROLE, "kms:Encrypt", KEY, ok)).isFalse();
    assertThat(p.allows("arn:aws:iam::111122223333:role/other", "kms:Decrypt", KEY, ok)).isFalse();
    // StringEquals is case-sensitive
    assertThat(
            p.allows(
                ROLE,
                "kms:Decrypt",
                KEY,
                Map.of(
                    "kms:recipientattestation:pcr0",
                    pcr0.toUpperCase(),
                    "kms:encryptioncontext:app",
                    "keycast")))
        .isFalse();
    // a missing key fails the condition
    assertThat(p.allows(ROLE, "kms:Decrypt", KEY, Map.of("kms:encryptioncontext:app", "keycast")))
        .isFalse();
    var denied = new java.util.HashMap<>(ok);
    denied.put("kms:encryptioncontext:blocked", "yes");
    assertThat(p.allows(ROLE, "kms:Decrypt", KEY, denied)).isFalse();
  }

  @Test
  void accountIdPrincipalMeansTheRootOnly() throws Exception {
    KeyPolicy p =
        KeyPolicy.parse(
            "{\"Statement\":{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\"111122223333\"},\"Action\":\"kms:*\",\"Resource\":\"*\"}}",
            JSON);
    assertThat(p.allows("arn:aws:iam::111122223333:root", "kms:Decrypt", KEY, Map.of())).isTrue();
    assertThat(p.allows(ROLE, "kms:Decrypt", KEY, Map.of())).isFalse();
  }
}
