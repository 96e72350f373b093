package dev.keycast.protocol.crypto;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keycast.protocol.wycheproof.Wycheproof;
import dev.keycast.protocol.wycheproof.Wycheproof.Result;
import dev.keycast.protocol.wycheproof.Wycheproof.Vector;
import java.math.BigInteger;
import java.security.KeyFactory;
import java.security.SecureRandom;
import java.security.interfaces.RSAPrivateCrtKey;
import java.security.interfaces.RSAPublicKey;
import java.security.spec.PKCS8EncodedKeySpec;
import java.security.spec.RSAPublicKeySpec;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.bouncycastle.crypto.digests.SHA256Digest;
import org.bouncycastle.crypto.generators.MGF1BytesGenerator;
import org.bouncycastle.crypto.params.MGFParameters;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Wycheproof RSA-OAEP (SHA-256, MGF1-SHA-256) vectors against the encryption of both backends:
 * {@code java} (SunJCE) and {@code openssl} (BouncyCastle's OAEP encoding over the raw RSA
 * operation of libcrypto, built by hand). Wycheproof's vectors are decryption tests; each valid
 * one with the empty label (the only label Keycast uses) is turned into an encryption test by
 * recovering its OAEP seed with the private key and replaying that seed as the backend's only
 * random draw: the backend must then produce Wycheproof's ciphertext byte for byte, which pins the
 * OAEP encoding (lHash, PS, 0x01, MGF1 masks) and the RSA operation. The invalid vectors are
 * decryption cases: they run against the decryptors (envelope and enclave tests).
 */
class RsaOaepEncryptWycheproofTest {
  static List<Arguments> vectors() {
    List<Arguments> out = new ArrayList<>();
    for (String f :
        List.of(
            "rsa_oaep_2048_sha256_mgf1sha256_test.json",
            "rsa_oaep_3072_sha256_mgf1sha256_test.json",
            "rsa_oaep_4096_sha256_mgf1sha256_test.json",
            "rsa_oaep_misc_test.json")) {
      for (Vector v : Wycheproof.load(f)) {
        if (v.result() == Result.VALID
            && v.hex("label").length == 0
            && v.groupText("sha").equals("SHA-256")
            && v.groupText("mgfSha").equals("SHA-256")) {
          for (String backend : TestBackends.names()) {
            out.add(Arguments.of(backend, v));
          }
        }
      }
    }
    return out;
  }

  @ParameterizedTest(name = "{0} {1}")
  @MethodSource("vectors")
  void reproducesTheValidCiphertextFromItsSeed(String backendName, Vector v) throws Exception {
    CryptoBackend backend = TestBackends.get(backendName);
    RSAPrivateCrtKey priv =
        (RSAPrivateCrtKey)
            KeyFactory.getInstance("RSA")
                .generatePrivate(new PKCS8EncodedKeySpec(v.groupHex("privateKeyPkcs8")));
    RSAPublicKey pub =
        (RSAPublicKey)
            KeyFactory.getInstance("RSA")
                .generatePublic(new RSAPublicKeySpec(priv.getModulus(), priv.getPublicExponent()));
    byte[] ct = v.hex("ct");
    byte[] seed = recoverSeed(priv, ct);
    byte[] out = backend.rsaOaepSha256Encrypt(pub, v.hex("msg"), new ReplayRandom(seed));
    assertThat(out).as(v.toString()).isEqualTo(ct);
  }

  static List<Arguments> wrapVectors() {
    return vectors().stream()
        .filter(a -> a.get()[0].equals("java"))
        .filter(a -> ((Vector) a.get()[1]).hex("msg").length > 0) // no AES key is empty
        .map(a -> Arguments.of(a.get()[1]))
        .toList();
  }

  /**
   * The mock KMS's {@code CiphertextForRecipient} key transport ({@code RecipientEnvelopes}:
   * BouncyCastle's {@code JceKeyTransRecipientInfoGenerator} with id-RSAES-OAEP SHA-256 /
   * MGF1-SHA-256, JCA default provider) reproduces the same ciphertexts from the same seeds.
   */
  @ParameterizedTest(name = "{0}")
  @MethodSource("wrapVectors")
  void mockKmsKeyWrapReproducesTheValidCiphertext(Vector v) throws Exception {
    RSAPrivateCrtKey priv =
        (RSAPrivateCrtKey)
            KeyFactory.getInstance("RSA")
                .generatePrivate(new PKCS8EncodedKeySpec(v.groupHex("privateKeyPkcs8")));
    RSAPublicKey pub =
        (RSAPublicKey)
            KeyFactory.getInstance("RSA")
                .generatePublic(new RSAPublicKeySpec(priv.getModulus(), priv.getPublicExponent()));
    var sha256 =
        new org.bouncycastle.asn1.x509.AlgorithmIdentifier(
            org.bouncycastle.asn1.nist.NISTObjectIdentifiers.id_sha256,
            org.bouncycastle.asn1.DERNull.INSTANCE);
    var oaep =
        new org.bouncycastle.asn1.x509.AlgorithmIdentifier(
            org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers.id_RSAES_OAEP,
            new org.bouncycastle.asn1.pkcs.RSAESOAEPparams(
                sha256,
                new org.bouncycastle.asn1.x509.AlgorithmIdentifier(
                    org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers.id_mgf1, sha256),
                org.bouncycastle.asn1.pkcs.RSAESOAEPparams.DEFAULT_P_SOURCE_ALGORITHM));
    byte[] ct = v.hex("ct");
    var wrapper =
        new org.bouncycastle.operator.jcajce.JceAsymmetricKeyWrapper(oaep, pub)
            .setSecureRandom(new ReplayRandom(recoverSeed(priv, ct)));
    byte[] out =
        wrapper.generateWrappedKey(
            new org.bouncycastle.operator.jcajce.JceGenericKey(
                new org.bouncycastle.asn1.x509.AlgorithmIdentifier(
                    org.bouncycastle.asn1.nist.NISTObjectIdentifiers.id_aes256_CBC),
                new javax.crypto.spec.SecretKeySpec(v.hex("msg"), "AES")));
    assertThat(out).as(v.toString()).isEqualTo(ct);
  }

  /** EM = c^d mod n = 0x00 || maskedSeed || maskedDB; seed = maskedSeed XOR MGF1(maskedDB, hLen). */
  static byte[] recoverSeed(RSAPrivateCrtKey key, byte[] ct) {
    int k = (key.getModulus().bitLength() + 7) / 8;
    BigInteger m = new BigInteger(1, ct).modPow(key.getPrivateExponent(), key.getModulus());
    byte[] em = toFixed(m, k);
    byte[] maskedSeed = Arrays.copyOfRange(em, 1, 33);
    byte[] maskedDb = Arrays.copyOfRange(em, 33, k);
    MGF1BytesGenerator mgf = new MGF1BytesGenerator(new SHA256Digest());
    mgf.init(new MGFParameters(maskedDb));
    byte[] mask = new byte[32];
    mgf.generateBytes(mask, 0, 32);
    for (int i = 0; i < 32; i++) {
      maskedSeed[i] ^= mask[i];
    }
    return maskedSeed;
  }

  static byte[] toFixed(BigInteger x, int k) {
    byte[] b = x.toByteArray();
    if (b.length == k) {
      return b;
    }
    byte[] out = new byte[k];
    int n = Math.min(b.length, k);
    System.arraycopy(b, b.length - n, out, k - n, n);
    return out;
  }

  /** A SecureRandom whose draws replay one fixed seed, once; a second draw fails the test. */
  static final class ReplayRandom extends SecureRandom {
    private static final long serialVersionUID = 1L;
    private transient byte[] seed;

    ReplayRandom(byte[] seed) {
      this.seed = seed;
    }

    @Override
    public void nextBytes(byte[] bytes) {
      if (seed == null || bytes.length != seed.length) {
        throw new AssertionError("unexpected draw of " + bytes.length + " bytes");
      }
      System.arraycopy(seed, 0, bytes, 0, seed.length);
      seed = null;
    }
  }
}
