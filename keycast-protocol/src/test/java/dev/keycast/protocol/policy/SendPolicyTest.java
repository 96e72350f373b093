package dev.keycast.protocol.policy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keycast.protocol.MalformedInputException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class SendPolicyTest {
  static final String FP = "a".repeat(64);

  static String policy(String overrides) {
    String base =
        "\"version\":1,\"secret_id\":\"film-1:ck\",\"sender\":\"Studio A\","
            + "\"not_before\":\"2026-01-01T00:00:00Z\",\"not_after\":\"2027-01-01T00:00:00Z\","
            + "\"recipients\":{\"fingerprints\":[\""
            + FP
            + "\"]},\"late_recipients\":true,"
            + "\"max_recipients\":10";
    return "{" + base + overrides + "}";
  }

  @Test
  void parsesAValidPolicyAndDefaultsTheContentCipher() throws Exception {
    SendPolicy p = SendPolicy.parse(policy("").getBytes(StandardCharsets.UTF_8));
    assertThat(p.secretId()).isEqualTo("film-1:ck");
    assertThat(p.notBefore()).isEqualTo(Instant.parse("2026-01-01T00:00:00Z"));
    assertThat(p.recipients().fingerprints()).containsExactly(FP);
    assertThat(p.rsaContent()).isEqualTo(SendPolicy.CONTENT_AES_256_GCM);
    assertThat(p.isValidAt(Instant.parse("2026-06-01T00:00:00Z"))).isTrue();
    assertThat(p.isValidAt(Instant.parse("2027-06-01T00:00:00Z"))).isFalse();
  }

  @Test
  void aKdmSendIsDeliverableAheadOfItsKeyWindowButNotAfterIt() throws Exception {
    SendPolicy p = SendPolicy.parse(policy(",\"kdm\":{}").getBytes(StandardCharsets.UTF_8));
    assertThat(p.isKdmSend()).isTrue();
    assertThat(p.kdm().formulation()).isEqualTo("modified-transitional-1");
    assertThat(p.isValidAt(Instant.parse("2025-12-01T00:00:00Z"))).isTrue();
    assertThat(p.isValidAt(Instant.parse("2027-01-01T00:00:01Z"))).isFalse();
    SendPolicy plain = SendPolicy.parse(policy("").getBytes(StandardCharsets.UTF_8));
    assertThat(plain.isValidAt(Instant.parse("2025-12-01T00:00:00Z"))).isFalse();
  }

  @Test
  void aPolicyWithoutKdmRulesOrThumbprintsWritesNeitherMember() throws Exception {
    SendPolicy p = SendPolicy.parse(policy("").getBytes(StandardCharsets.UTF_8));
    assertThat(new String(p.toJson(), StandardCharsets.UTF_8))
        .doesNotContain("kdm")
        .doesNotContain("thumbprints");
  }

  @Test
  void roundTripsThroughJson() throws Exception {
    SendPolicy p = SendPolicy.parse(policy("").getBytes(StandardCharsets.UTF_8));
    assertThat(SendPolicy.parse(p.toJson())).isEqualTo(p);
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(
      delimiter = '|',
      value = {
        "unknown field | ,\"extra\":1 | invalid_policy",
        "cbc content accepted later | ,\"rsa_content\":\"des\" | invalid_policy",
      })
  void rejectsBadFields(String name, String extra, String code) {
    assertThatThrownBy(() -> SendPolicy.parse(policy(extra).getBytes(StandardCharsets.UTF_8)))
        .isInstanceOfSatisfying(
            MalformedInputException.class, e -> assertThat(e.code()).isEqualTo(code));
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(
      delimiter = '|',
      value = {
        "wrong version | \"version\":1, | \"version\":2, | unsupported_version",
        "bad fingerprint | aaaa\"] | AAAA\"] | invalid_policy",
        "window reversed | \"not_after\":\"2027 | \"not_after\":\"2025 | invalid_policy",
        "bad secret id | film-1:ck | film 1 | invalid_policy",
        "zero limit | \"max_recipients\":10 | \"max_recipients\":0 | invalid_policy",
        "not json | { | [ | invalid_policy",
      })
  void rejectsInvalidPolicies(String name, String from, String to, String code) {
    String bad = policy("").replace(from, to);
    assertThat(bad).isNotEqualTo(policy(""));
    assertThatThrownBy(() -> SendPolicy.parse(bad.getBytes(StandardCharsets.UTF_8)))
        .isInstanceOfSatisfying(
            MalformedInputException.class, e -> assertThat(e.code()).isEqualTo(code));
  }

  @Test
  void rejectsOversizeBeforeParsing() {
    byte[] big = new byte[SendPolicy.MAX_BYTES + 1];
    assertThatThrownBy(() -> SendPolicy.parse(big))
        .isInstanceOfSatisfying(
            MalformedInputException.class, e -> assertThat(e.code()).isEqualTo("oversize"));
  }

  static SendPolicy withLimits(String sender, int maxRecipients) {
    java.time.Instant t = java.time.Instant.parse("2026-06-01T00:00:00Z");
    return new SendPolicy(
        1,
        "s1",
        sender,
        t,
        t.plusSeconds(60),
        new SendPolicy.RecipientSelector(java.util.List.of(FP), null, null),
        false,
        maxRecipients,
        null);
  }

  /** Each limit of the policy at its edge: the last value allowed passes, the next one is refused. */
  @Test
  void limitsHoldExactlyAtTheirEdges() {
    assertThat(withLimits("Studio", 1).sender()).isEqualTo("Studio");
    assertThat(withLimits(null, 1).sender()).isEmpty();
    assertThat(withLimits("s".repeat(256), 1).sender()).hasSize(256);
    assertThatThrownBy(() -> withLimits("s".repeat(257), 1))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> withLimits("Studio", 0)).isInstanceOf(IllegalArgumentException.class);
    assertThat(withLimits("Studio", SendPolicy.MAX_RECIPIENTS).maxRecipients())
        .isEqualTo(SendPolicy.MAX_RECIPIENTS);
    assertThatThrownBy(() -> withLimits("Studio", SendPolicy.MAX_RECIPIENTS + 1))
        .isInstanceOf(IllegalArgumentException.class);
    int maxFp = SendPolicy.RecipientSelector.MAX_FINGERPRINTS;
    assertThat(
            new SendPolicy.RecipientSelector(java.util.Collections.nCopies(maxFp, FP), null, null)
                .fingerprints())
        .hasSize(maxFp);
    assertThatThrownBy(
            () ->
                new SendPolicy.RecipientSelector(
                    java.util.Collections.nCopies(maxFp + 1, FP), null, null))
        .isInstanceOf(IllegalArgumentException.class);
    int maxAnchors = SendPolicy.RecipientSelector.MAX_ANCHORS;
    assertThat(
            new SendPolicy.RecipientSelector(
                    null, java.util.Collections.nCopies(maxAnchors, "QQ"), null)
                .anchors())
        .hasSize(maxAnchors);
    assertThatThrownBy(
            () ->
                new SendPolicy.RecipientSelector(
                    null, java.util.Collections.nCopies(maxAnchors + 1, "QQ"), null))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
