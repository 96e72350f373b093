package dev.keycast.protocol.keyset;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keycast.protocol.DecryptionFailedException;
import dev.keycast.protocol.wycheproof.Wycheproof;
import dev.keycast.protocol.wycheproof.Wycheproof.Result;
import dev.keycast.protocol.wycheproof.Wycheproof.Vector;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Wycheproof {@code aes_gcm_test.json} against the sealed key set's and sealed secrets' AES-GCM
 * ({@link Bytes#gcmEncrypt}, {@link Bytes#gcmDecrypt}): every vector with Keycast's parameters
 * (256-bit key, 96-bit nonce, 128-bit tag) must encrypt to Wycheproof's ciphertext and tag, and
 * decrypt (valid) or fail with {@link DecryptionFailedException} (invalid). The other groups run
 * against the JCA providers in {@code JcaCiphersWycheproofTest}.
 */
class AesGcmWycheproofTest {
  static List<Vector> vectors() {
    return Wycheproof.load("aes_gcm_test.json").stream()
        .filter(
            v ->
                v.group().get("keySize").asInt() == 256
                    && v.group().get("ivSize").asInt() == 96
                    && v.group().get("tagSize").asInt() == 128)
        .toList();
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("vectors")
  void sealedKeySetAeadMatchesAndRefusesModifiedTags(Vector v) throws Exception {
    byte[] sealed = concat(v.hex("ct"), v.hex("tag"));
    if (v.result() == Result.VALID) {
      assertThat(Bytes.gcmEncrypt(v.hex("key"), v.hex("iv"), v.hex("aad"), v.hex("msg")))
          .isEqualTo(sealed);
      assertThat(
              Bytes.gcmDecrypt(v.hex("key"), v.hex("iv"), v.hex("aad"), sealed, 0, sealed.length))
          .isEqualTo(v.hex("msg"));
    } else {
      assertThatThrownBy(
              () ->
                  Bytes.gcmDecrypt(
                      v.hex("key"), v.hex("iv"), v.hex("aad"), sealed, 0, sealed.length))
          .as(v.toString())
          .isInstanceOf(DecryptionFailedException.class);
    }
  }

  static byte[] concat(byte[] a, byte[] b) {
    byte[] out = Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, out, a.length, b.length);
    return out;
  }
}
