package dev.keycast.protocol;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;

/** api.md 1.1 step 7, recomputed from the text of the spec. */
class DeliveryIdsTest {
  static final String SEND = "0123456789abcdef0123456789abcdef";
  static final String FP_A = "a".repeat(64);
  static final String FP_B = "b".repeat(64);

  @Test
  void isTheFirst16BytesOfTheLabelledDigestInHex() throws Exception {
    MessageDigest d = MessageDigest.getInstance("SHA-256");
    d.update("keycast/v1/delivery-id".getBytes(StandardCharsets.US_ASCII));
    d.update((byte) 0);
    d.update(SEND.getBytes(StandardCharsets.US_ASCII));
    d.update((byte) 0);
    d.update(FP_A.getBytes(StandardCharsets.US_ASCII));
    String expected = HexFormat.of().formatHex(d.digest(), 0, 16);
    assertThat(DeliveryIds.of(SEND, FP_A)).isEqualTo(expected).hasSize(32);
    assertThat(DeliveryIds.matches(expected, SEND, FP_A)).isTrue();
  }

  @Test
  void knownAnswer() {
    // computed once with: printf 'keycast/v1/delivery-id\0%s\0%s' SEND FP_A | sha256sum | cut
    // -c1-32
    assertThat(DeliveryIds.of(SEND, FP_A)).isEqualTo(KNOWN);
  }

  static final String KNOWN = "663658d9bdfb6e1536256820bb34b891";

  @Test
  void bindsSendAndRecipient() {
    String id = DeliveryIds.of(SEND, FP_A);
    assertThat(DeliveryIds.of(SEND, FP_B)).isNotEqualTo(id);
    assertThat(DeliveryIds.of("1123456789abcdef0123456789abcdef", FP_A)).isNotEqualTo(id);
    assertThat(DeliveryIds.matches(id, SEND, FP_B)).isFalse();
    assertThat(DeliveryIds.matches(id.toUpperCase(), SEND, FP_A)).isFalse();
    assertThat(DeliveryIds.matches(id + "0", SEND, FP_A)).isFalse();
    assertThat(DeliveryIds.matches(null, SEND, FP_A)).isFalse();
  }
}
