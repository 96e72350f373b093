package dev.keycast.protocol.sender;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The DKDM ingest statement (wire-format.md section 10.2): what it binds, and its own label. */
class DkdmIngestStatementTest {
  static final SecureRandom RANDOM = new SecureRandom();
  static final SenderSigningKey SENDER = SenderSigningKey.generate(RANDOM);
  static final String KS = "ks-" + "a".repeat(32);
  static final Instant T = Instant.ofEpochSecond(1_790_000_000L);
  static final byte[] DKDM = "<DCinemaSecurityMessage/>".getBytes(StandardCharsets.UTF_8);
  static final List<byte[]> ROOTS = List.of(new byte[] {1, 2, 3}, new byte[] {4, 5});

  static byte[] sig() {
    return DkdmIngestStatement.of(KS, DKDM, ROOTS, T, SENDER.publicKey()).sign(SENDER);
  }

  @Test
  void theSignatureVerifiesOverExactlyTheDkdmTheRootsTheKeySetAndTheTime() {
    byte[] s = sig();
    assertThat(DkdmIngestStatement.of(KS, DKDM, ROOTS, T, SENDER.publicKey()).verifies(s)).isTrue();
    assertThat(
            DkdmIngestStatement.of(
                    KS, "<other/>".getBytes(StandardCharsets.UTF_8), ROOTS, T, SENDER.publicKey())
                .verifies(s))
        .isFalse();
    assertThat(
            DkdmIngestStatement.of(KS, DKDM, List.of(ROOTS.get(0)), T, SENDER.publicKey())
                .verifies(s))
        .isFalse();
    assertThat(
            DkdmIngestStatement.of(
                    KS, DKDM, List.of(ROOTS.get(1), ROOTS.get(0)), T, SENDER.publicKey())
                .verifies(s))
        .isFalse();
    // the length prefixes keep root boundaries: {1,2,3},{4,5} is not {1,2},{3,4,5}
    assertThat(
            DkdmIngestStatement.of(
                    KS,
                    DKDM,
                    List.of(new byte[] {1, 2}, new byte[] {3, 4, 5}),
                    T,
                    SENDER.publicKey())
                .verifies(s))
        .isFalse();
    assertThat(
            DkdmIngestStatement.of("ks-" + "b".repeat(32), DKDM, ROOTS, T, SENDER.publicKey())
                .verifies(s))
        .isFalse();
    assertThat(
            DkdmIngestStatement.of(KS, DKDM, ROOTS, T.plusSeconds(1), SENDER.publicKey())
                .verifies(s))
        .isFalse();
  }

  @Test
  void itsLabelSetsItApartFromASendStatement() {
    byte[] input = DkdmIngestStatement.of(KS, DKDM, ROOTS, T, SENDER.publicKey()).signingInput();
    assertThat(new String(input, 0, 23, StandardCharsets.US_ASCII))
        .isEqualTo("keycast/v1/dkdm-ingest\0");
    assertThat(input).hasSize(22 + 1 + 1 + 35 + 32 + 32 + 8 + 32);
    assertThat(new String(SendStatement.LABEL, StandardCharsets.US_ASCII))
        .isNotEqualTo("keycast/v1/dkdm-ingest");
  }
}
