package dev.keycast.protocol.kms;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The enclave's verdict on its own KMS key: locked, or who else could obtain plaintext. */
class KmsKeyLockVerdictTest {
  static final String ROLE = "arn:aws:iam::111122223333:role/keycast-parent";
  static final String PCR0 = "ab".repeat(48);
  static final KmsKeyLockVerdict.KeyFacts PLAIN_KEY =
      new KmsKeyLockVerdict.KeyFacts("AWS_KMS", "CUSTOMER", false);

  static String script(String... extra) throws Exception {
    List<String> cmd =
        new ArrayList<>(
            List.of(
                "bash",
                Path.of(System.getProperty("keycast.repo.root"), "scripts", "kms-key-policy")
                    .toString(),
                "--pcr0",
                PCR0.toUpperCase(),
                "--role-arn",
                ROLE));
    cmd.addAll(List.of(extra));
    Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.DISCARD).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).isZero();
    return out;
  }

  @Test
  void theScriptsLockedPolicyIsLockedAndAdmitsExactlyItsImage() throws Exception {
    String policy = script("--pcr3", "cd".repeat(48));
    KmsKeyLockVerdict v = KmsKeyLockVerdict.evaluate(policy, List.of(), PLAIN_KEY);
    assertThat(v.reasons()).isEmpty();
    assertThat(v.locked()).isTrue();
    assertThat(v.admittedImages()).containsExactly(PCR0);
    assertThat(v.policySha256())
        .isEqualTo(
            MessageDigest.getInstance("SHA-256").digest(policy.getBytes(StandardCharsets.UTF_8)));
  }

  @Test
  void theLegacyPolicyIsNotLockedBecauseTheAccountMayCreateGrantsAndPutKeyPolicy()
      throws Exception {
    KmsKeyLockVerdict v =
        KmsKeyLockVerdict.evaluate(script("--legacy-unlocked"), List.of(), PLAIN_KEY);
    assertThat(v.locked()).isFalse();
    assertThat(String.join("\n", v.reasons()))
        .contains("allows kms:CreateGrant")
        .contains("allows kms:PutKeyPolicy")
        .contains("arn:aws:iam::111122223333:root");
  }

  @Test
  void aGrantUnlocksAKeyWhosePolicyIsLocked() throws Exception {
    KmsKeyLockVerdict v =
        KmsKeyLockVerdict.evaluate(
            script(),
            List.of(
                new KmsKeyLockVerdict.Grant(
                    "g".repeat(64), "arn:aws:iam::111122223333:user/admin", List.of("Decrypt"))),
            PLAIN_KEY);
    assertThat(v.locked()).isFalse();
    assertThat(v.reasons()).singleElement().asString().contains("user/admin").contains("Decrypt");
  }

  @Test
  void importedMultiRegionOrDefaultPolicyKeysAreNotLocked() throws Exception {
    String locked = script();
    assertThat(
            KmsKeyLockVerdict.evaluate(
                    locked,
                    List.of(),
                    new KmsKeyLockVerdict.KeyFacts("EXTERNAL", "CUSTOMER", false))
                .locked())
        .isFalse();
    assertThat(
            KmsKeyLockVerdict.evaluate(
                    locked, List.of(), new KmsKeyLockVerdict.KeyFacts("AWS_KMS", "CUSTOMER", true))
                .locked())
        .isFalse();
    String defaultPolicy =
        "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\","
            + "\"Principal\":{\"AWS\":\"arn:aws:iam::111122223333:root\"},\"Action\":\"kms:*\",\"Resource\":\"*\"}]}";
    assertThat(KmsKeyLockVerdict.evaluate(defaultPolicy, List.of(), PLAIN_KEY).locked()).isFalse();
  }

  @Test
  void aPolicyThatEvadesTheCheckIsNotLocked() throws Exception {
    String attested =
        "\"Condition\":{\"StringEqualsIgnoreCase\":{\"kms:RecipientAttestation:ImageSha384\":\""
            + PCR0
            + "\"}}";
    List<String> evasions =
        List.of(
            // Decrypt to everyone, attested: any account's principal with the image could ask; but
            // "*" is refused
            "{\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"kms:Decrypt\",\"Resource\":\"*\","
                + attested
                + "}]}",
            // IfExists: passes when the Recipient is absent
            "{\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\""
                + ROLE
                + "\"},\"Action\":\"kms:Decrypt\",\"Resource\":\"*\","
                + "\"Condition\":{\"StringEqualsIgnoreCaseIfExists\":{\"kms:RecipientAttestation:ImageSha384\":\""
                + PCR0
                + "\"}}}]}",
            // NotAction allows everything else
            "{\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\""
                + ROLE
                + "\"},\"NotAction\":\"kms:Sign\",\"Resource\":\"*\"}]}",
            // wildcard action that covers ReEncryptFrom
            "{\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\""
                + ROLE
                + "\"},\"Action\":\"kms:Re*\",\"Resource\":\"*\","
                + attested
                + "}]}",
            // a duplicate Effect key: parsers disagree on which one wins
            "{\"Statement\":[{\"Effect\":\"Deny\",\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\"arn:aws:iam::111122223333:root\"},\"Action\":\"kms:Decrypt\",\"Resource\":\"*\"}]}",
            // a Service principal
            "{\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":{\"Service\":\"ec2.amazonaws.com\"},\"Action\":\"kms:Decrypt\",\"Resource\":\"*\","
                + attested
                + "}]}");
    for (String p : evasions) {
      KmsKeyLockVerdict v = KmsKeyLockVerdict.evaluate(p, List.of(), PLAIN_KEY);
      assertThat(v.locked()).as(p).isFalse();
      assertThat(v.reasons()).as(p).isNotEmpty();
    }
  }

  /** Fuzzing finding Z4: the operator name was compared case-insensitively. */
  @Test
  void aConditionOperatorSpelledInAnotherCaseDoesNotCountAsAttestation() throws Exception {
    String locked = script();
    assertThat(KmsKeyLockVerdict.evaluate(locked, List.of(), PLAIN_KEY).locked()).isTrue();
    for (String spelling :
        List.of("StringEqualsIGnoreCase", "stringequalsignorecase", "STRINGEQUALS")) {
      String evasive = locked.replace("\"StringEqualsIgnoreCase\": {", "\"" + spelling + "\": {");
      assertThat(evasive).isNotEqualTo(locked);
      KmsKeyLockVerdict v = KmsKeyLockVerdict.evaluate(evasive, List.of(), PLAIN_KEY);
      assertThat(v.locked()).as(spelling).isFalse();
      assertThat(v.reasons())
          .anyMatch(r -> r.contains("without a StringEquals(IgnoreCase) condition"));
    }
  }
}
