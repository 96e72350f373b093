package dev.keycast.protocol.receipt;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keycast.protocol.wycheproof.Wycheproof;
import dev.keycast.protocol.wycheproof.Wycheproof.Result;
import dev.keycast.protocol.wycheproof.Wycheproof.Vector;
import java.util.List;
import org.bouncycastle.math.ec.rfc8032.Ed25519;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Wycheproof {@code ed25519_test.json} against the receipt signature check: {@link ReceiptVerifier}
 * verifies with BouncyCastle's {@code rfc8032.Ed25519.verify} over the COSE Sig_structure after
 * checking the signature is 64 bytes and the key 32 bytes; this test makes the same call (and the
 * same length checks) on Wycheproof's messages. Malleable signatures ({@code S >= L}), non-canonical
 * points and wrong lengths are {@code invalid} and must be refused; the file has no {@code
 * acceptable} vector.
 */
class Ed25519WycheproofTest {
  static List<Vector> vectors() {
    return Wycheproof.load("ed25519_test.json");
  }

  /** The receipt verifier's check, minus the COSE framing. */
  static boolean receiptCheck(byte[] publicKey, byte[] msg, byte[] sig) {
    if (sig.length != Cose.SIGNATURE_LENGTH || publicKey.length != 32) {
      return false;
    }
    try {
      return Ed25519.verify(sig, 0, publicKey, 0, msg, 0, msg.length);
    } catch (RuntimeException e) {
      return false;
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("vectors")
  void validReceiptSignaturesVerifyAndForgeriesDoNot(Vector v) {
    byte[] pk =
        v.group().get("publicKey").get("pk") == null
            ? null
            : java.util.HexFormat.of().parseHex(v.group().get("publicKey").get("pk").asText());
    assertThat(pk).isNotNull();
    assertThat(receiptCheck(pk, v.hex("msg"), v.hex("sig")))
        .as(v.toString())
        .isEqualTo(v.result() == Result.VALID);
  }
}
