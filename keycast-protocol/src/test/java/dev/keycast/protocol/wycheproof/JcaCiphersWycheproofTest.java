package dev.keycast.protocol.wycheproof;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keycast.protocol.wycheproof.Wycheproof.Result;
import dev.keycast.protocol.wycheproof.Wycheproof.Vector;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.Provider;
import java.security.Security;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import javax.crypto.Cipher;
import javax.crypto.Mac;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.IvParameterSpec;
import javax.crypto.spec.SecretKeySpec;
import org.bouncycastle.jce.provider.BouncyCastleProvider;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Wycheproof's symmetric files against the JCA providers Keycast's code reaches them through:
 *
 * <ul>
 *   <li>AES-GCM ({@code aes_gcm_test.json}, every group): SunJCE (HPKE's AES-128/256-GCM, the CMS
 *       delivery's content encryption, the mock KMS's ciphertext blobs) and BouncyCastle (the CMS
 *       delivery's content decryption, {@code JceKeyTransEnvelopedRecipient.setProvider(BC)});
 *   <li>AES-CBC with PKCS #5 padding ({@code aes_cbc_pkcs5_test.json}): SunJCE (the enclave's KMS
 *       {@code CiphertextForRecipient} content, the mock KMS's CMS encryption) and BouncyCastle;
 *   <li>HMAC-SHA256 ({@code hmac_sha256_test.json}): SunJCE's {@code HmacSHA256} (HPKE's HKDF, the
 *       mock KMS's SigV4 check), the tag compared in constant time and truncated as the group says.
 * </ul>
 *
 * Valid vectors must encrypt to and decrypt from Wycheproof's bytes; invalid ones (modified tags,
 * empty nonces, bad padding, wrong MACs) must fail. None of these files has an {@code acceptable}
 * vector.
 */
class JcaCiphersWycheproofTest {
  private static final Provider BC = new BouncyCastleProvider();

  static List<Arguments> withProviders(String file) {
    List<Arguments> out = new ArrayList<>();
    for (Vector v : Wycheproof.load(file)) {
      out.add(Arguments.of("SunJCE", v));
      out.add(Arguments.of("BC", v));
    }
    return out;
  }

  static List<Arguments> gcm() {
    return withProviders("aes_gcm_test.json");
  }

  static List<Arguments> cbc() {
    return withProviders("aes_cbc_pkcs5_test.json");
  }

  static List<Vector> hmac() {
    return Wycheproof.load("hmac_sha256_test.json");
  }

  static Cipher cipher(String transformation, String provider) throws GeneralSecurityException {
    return provider.equals("BC")
        ? Cipher.getInstance(transformation, BC)
        : Cipher.getInstance(transformation, Security.getProvider(provider));
  }

  @ParameterizedTest(name = "{0} {1}")
  @MethodSource("gcm")
  void aesGcm(String provider, Vector v) throws Exception {
    byte[] sealed = concat(v.hex("ct"), v.hex("tag"));
    SecretKeySpec key = new SecretKeySpec(v.hex("key"), "AES");
    if (v.result() == Result.VALID) {
      Cipher e = cipher("AES/GCM/NoPadding", provider);
      e.init(Cipher.ENCRYPT_MODE, key, new GCMParameterSpec(128, v.hex("iv")));
      e.updateAAD(v.hex("aad"));
      assertThat(e.doFinal(v.hex("msg"))).as(v.toString()).isEqualTo(sealed);
      Cipher d = cipher("AES/GCM/NoPadding", provider);
      d.init(Cipher.DECRYPT_MODE, key, new GCMParameterSpec(128, v.hex("iv")));
      d.updateAAD(v.hex("aad"));
      assertThat(d.doFinal(sealed)).as(v.toString()).isEqualTo(v.hex("msg"));
    } else {
      assertThatThrownBy(
              () -> {
                Cipher d = cipher("AES/GCM/NoPadding", provider);
                d.init(Cipher.DECRYPT_MODE, key, new GCMParameterSpec(128, v.hex("iv")));
                d.updateAAD(v.hex("aad"));
                d.doFinal(sealed);
              })
          .as(v.toString())
          .isInstanceOfAny(GeneralSecurityException.class, IllegalArgumentException.class);
    }
  }

  @ParameterizedTest(name = "{0} {1}")
  @MethodSource("cbc")
  void aesCbcPkcs5(String provider, Vector v) throws Exception {
    SecretKeySpec key = new SecretKeySpec(v.hex("key"), "AES");
    IvParameterSpec iv = new IvParameterSpec(v.hex("iv"));
    if (v.result() == Result.VALID) {
      Cipher e = cipher("AES/CBC/PKCS5Padding", provider);
      e.init(Cipher.ENCRYPT_MODE, key, iv);
      assertThat(e.doFinal(v.hex("msg"))).as(v.toString()).isEqualTo(v.hex("ct"));
      Cipher d = cipher("AES/CBC/PKCS5Padding", provider);
      d.init(Cipher.DECRYPT_MODE, key, iv);
      assertThat(d.doFinal(v.hex("ct"))).as(v.toString()).isEqualTo(v.hex("msg"));
    } else if (provider.equals("SunJCE") && v.hex("ct").length == 0) {
      // SunJCE's one deviation: an empty ciphertext (no padding block at all) decrypts to an empty
      // plaintext instead of failing. Keycast's only CBC decryptor, the enclave's RecipientCms,
      // requires exactly the expected 32 bytes of content, so it still fails there
      // (RecipientCmsWycheproofTest.emptyContentIsADecryptionFailure).
      Cipher d = cipher("AES/CBC/PKCS5Padding", provider);
      d.init(Cipher.DECRYPT_MODE, key, iv);
      assertThat(d.doFinal(v.hex("ct"))).as(v.toString()).isEmpty();
    } else {
      assertThatThrownBy(
              () -> {
                Cipher d = cipher("AES/CBC/PKCS5Padding", provider);
                d.init(Cipher.DECRYPT_MODE, key, iv);
                d.doFinal(v.hex("ct"));
              })
          .as(v.toString())
          .isInstanceOf(GeneralSecurityException.class);
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("hmac")
  void hmacSha256(Vector v) throws Exception {
    Mac mac = Mac.getInstance("HmacSHA256");
    mac.init(new SecretKeySpec(v.hex("key"), "HmacSHA256"));
    byte[] full = mac.doFinal(v.hex("msg"));
    int tagBytes = v.group().get("tagSize").asInt() / 8;
    byte[] computed = Arrays.copyOf(full, tagBytes);
    assertThat(MessageDigest.isEqual(computed, v.hex("tag")))
        .as(v.toString())
        .isEqualTo(v.result() == Result.VALID);
  }

  static byte[] concat(byte[] a, byte[] b) {
    byte[] out = Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, out, a.length, b.length);
    return out;
  }
}
