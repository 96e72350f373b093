package dev.keycast.enclave.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The identifiers and digests of api.md 1.1/1.2, recomputed here from the text of the spec. */
class SendServiceIdsTest {
  static final byte[] ENC =
      HexFormat.of().parseHex("0102030405060708091011121314151617181920212223242526272829303132");
  static final byte[] CT = "ciphertext-with-tag".getBytes(StandardCharsets.US_ASCII);
  static final byte[] POLICY = "{\"version\":1}".getBytes(StandardCharsets.US_ASCII);
  static final String FP_A = "a".repeat(64);
  static final String FP_B = "b".repeat(64);

  static byte[] sha256(byte[]... parts) throws Exception {
    MessageDigest d = MessageDigest.getInstance("SHA-256");
    for (byte[] p : parts) {
      d.update(p);
    }
    return d.digest();
  }

  static byte[] ascii(String s) {
    return s.getBytes(StandardCharsets.US_ASCII);
  }

  @Test
  void sendIdIsTheFirst16BytesOfTheLabelledDigest() throws Exception {
    String expected =
        HexFormat.of()
            .formatHex(sha256(ascii("keycast/v1/send-id"), new byte[] {0}, ENC, CT), 0, 16);
    assertThat(SendService.sendId(ENC, CT)).isEqualTo(expected).hasSize(32);
    assertThat(SendService.sendId(ENC, ascii("other"))).isNotEqualTo(expected);
  }

  @Test
  void deliveryIdBindsSendAndRecipient() throws Exception {
    String sendId = SendService.sendId(ENC, CT);
    String expected =
        HexFormat.of()
            .formatHex(
                sha256(
                    ascii("keycast/v1/delivery-id"),
                    new byte[] {0},
                    ascii(sendId),
                    new byte[] {0},
                    ascii(FP_A)),
                0,
                16);
    assertThat(SendService.deliveryId(sendId, FP_A)).isEqualTo(expected);
    assertThat(SendService.deliveryId(sendId, FP_B)).isNotEqualTo(expected);
  }

  @Test
  void payloadDigestIsOverEncAndCiphertext() throws Exception {
    assertThat(SendService.payloadSha256(ENC, CT)).isEqualTo(sha256(ENC, CT));
    assertThat(SendService.payloadSha256(ENC, ascii("other"))).isNotEqualTo(sha256(ENC, CT));
  }

  @Test
  void forwardReceiptIdHashesSortedFingerprintLines() throws Exception {
    String sendId = "0123456789abcdef0123456789abcdef";
    String expected =
        sendId + "-" + HexFormat.of().formatHex(sha256(ascii(FP_A + "\n" + FP_B + "\n")), 0, 8);
    assertThat(SendService.forwardReceiptId(sendId, List.of(FP_A, FP_B))).isEqualTo(expected);
    assertThat(SendService.forwardReceiptId(sendId, List.of()))
        .isEqualTo(sendId + "-" + HexFormat.of().formatHex(sha256(), 0, 8));
  }

  @Test
  void sendInfoIsLabelZeroKeySetId() {
    assertThat(dev.keycast.protocol.send.SendPayloadParameters.info("ks-00"))
        .isEqualTo(ascii("keycast/v1/send\u0000ks-00"));
  }
}
