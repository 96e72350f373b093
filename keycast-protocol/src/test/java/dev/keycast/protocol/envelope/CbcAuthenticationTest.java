package dev.keycast.protocol.envelope;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keycast.protocol.DecryptionFailedException;
import java.security.MessageDigest;
import java.security.interfaces.RSAPrivateKey;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/**
 * AES-CBC is malleable: flipping a bit of the IV flips the same bit of the first plaintext block,
 * which holds the payload's header. The SHA-256 trailer is checked before any header byte is read,
 * so a tampered header is refused as a decryption failure, never as a malformed payload (which
 * would tell the tamperer that the block decrypted and what it now says).
 */
class CbcAuthenticationTest {
  private static final byte[] AES256_CBC_OID = {
    0x06, 0x09, 0x60, (byte) 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x01, 0x2a, 0x04, 0x10
  };

  @Test
  void aFlippedIvBitInTheHeaderBlockIsADecryptionFailureNotAMalformedPayload() throws Exception {
    RsaRecipientKey key = TestKeys.rsaRecipient(2048);
    RSAPrivateKey priv = TestKeys.rsaPrivate(2048);
    byte[] env =
        CmsDeliveryFormat.AES_256_CBC.seal(
            key,
            DeliveryFormatTest.metadataFor(key),
            new byte[] {1, 2, 3},
            DeliveryFormatTest.RANDOM);
    assertThat(CmsDeliveryFormat.AES_256_CBC.open(priv, env).secret())
        .isEqualTo(new byte[] {1, 2, 3});
    int iv = indexOf(env, AES256_CBC_OID) + AES256_CBC_OID.length;
    byte[] tampered = env.clone();
    tampered[iv] ^= 0x01; // the first byte of the magic "KCDP" becomes 'J'
    assertThatThrownBy(() -> CmsDeliveryFormat.AES_256_CBC.open(priv, tampered))
        .isInstanceOf(DecryptionFailedException.class);
  }

  @Test
  void aTrailerAloneOfTheMinimumLengthIsCheckedAndOneByteLessIsRefused() throws Exception {
    byte[] header = {'K', 'C', 'D', 'P', 1, 1, 0, 0};
    byte[] p = Arrays.copyOf(header, header.length + 32);
    System.arraycopy(MessageDigest.getInstance("SHA-256").digest(header), 0, p, header.length, 32);
    DeliveryPayload.verifyTrailer(p); // exactly header + digest: checked, and it matches
    assertThatThrownBy(() -> DeliveryPayload.verifyTrailer(Arrays.copyOf(p, p.length - 1)))
        .isInstanceOf(DecryptionFailedException.class);
  }

  private static int indexOf(byte[] a, byte[] b) {
    for (int i = 0; i + b.length <= a.length; i++) {
      if (Arrays.equals(a, i, i + b.length, b, 0, b.length)) {
        return i;
      }
    }
    throw new AssertionError("no AES-256-CBC parameters found");
  }
}
