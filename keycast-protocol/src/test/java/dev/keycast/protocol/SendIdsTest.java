package dev.keycast.protocol;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;

/** api.md 1.1 step 5, recomputed from the text of the spec. */
class SendIdsTest {
  static final byte[] ENC = new byte[32];
  static final byte[] CT = "hello".getBytes(StandardCharsets.US_ASCII);

  static {
    for (int i = 0; i < ENC.length; i++) {
      ENC[i] = (byte) i;
    }
  }

  @Test
  void isTheFirst16BytesOfTheLabelledDigestInHex() throws Exception {
    MessageDigest d = MessageDigest.getInstance("SHA-256");
    d.update("keycast/v1/send-id".getBytes(StandardCharsets.US_ASCII));
    d.update((byte) 0);
    d.update(ENC);
    d.update(CT);
    assertThat(SendIds.of(ENC, CT))
        .isEqualTo(HexFormat.of().formatHex(d.digest(), 0, 16))
        .hasSize(32);
  }

  @Test
  void knownAnswer() {
    // computed once with Python: hashlib.sha256(b'keycast/v1/send-id\x00' + bytes(range(32))
    //   + b'hello').hexdigest()[:32]
    assertThat(SendIds.of(ENC, CT)).isEqualTo(KNOWN);
  }

  static final String KNOWN = "6eb51fb899db25bc66292ab3c823431a";

  @Test
  void bindsEncAndCiphertext() {
    String id = SendIds.of(ENC, CT);
    byte[] enc = ENC.clone();
    enc[31] ^= 1;
    assertThat(SendIds.of(enc, CT)).isNotEqualTo(id);
    assertThat(SendIds.of(ENC, "hellp".getBytes(StandardCharsets.US_ASCII))).isNotEqualTo(id);
    assertThat(SendIds.of(ENC, new byte[0])).isNotEqualTo(id).hasSize(32);
  }

  @Test
  void refusesNull() {
    assertThatThrownBy(() -> SendIds.of(null, CT)).isInstanceOf(NullPointerException.class);
    assertThatThrownBy(() -> SendIds.of(ENC, null)).isInstanceOf(NullPointerException.class);
  }
}
