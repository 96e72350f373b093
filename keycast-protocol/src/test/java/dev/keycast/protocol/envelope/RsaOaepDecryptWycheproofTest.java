package dev.keycast.protocol.envelope;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keycast.protocol.wycheproof.Wycheproof;
import dev.keycast.protocol.wycheproof.Wycheproof.Result;
import dev.keycast.protocol.wycheproof.Wycheproof.Vector;
import java.security.Key;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.ArrayList;
import java.util.List;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.DERNull;
import org.bouncycastle.asn1.DEROctetString;
import org.bouncycastle.asn1.nist.NISTObjectIdentifiers;
import org.bouncycastle.asn1.oiw.OIWObjectIdentifiers;
import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.asn1.pkcs.RSAESOAEPparams;
import org.bouncycastle.asn1.x509.AlgorithmIdentifier;
import org.bouncycastle.jce.provider.BouncyCastleProvider;
import org.bouncycastle.operator.GenericKey;
import org.bouncycastle.operator.jcajce.JceAsymmetricKeyUnwrapper;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every Wycheproof RSA-OAEP decryption file against the key-transport unwrap of BouncyCastle's CMS
 * ({@link JceAsymmetricKeyUnwrapper}, what {@code JceKeyTransEnvelopedRecipient} calls) with both
 * providers Keycast's decryptors reach it through: {@code BC} (the CLI's {@code keycast fetch}, via
 * {@link CmsDeliveryFormat#open}) and the JCA default, SunJCE (the enclave's KMS {@code
 * CiphertextForRecipient} reader, {@code RecipientCms}). The SHA-1 file stands for the SMPTE KDM
 * cipher blocks (RSA-OAEP, SHA-1, MGF1-SHA-1) that a KDM reader would open the same way.
 *
 * <p>Valid vectors (any hash, MGF1 hash and label the file names) must unwrap to Wycheproof's
 * message; invalid ones (bad OAEP padding, ciphertexts not below the modulus, wrong lengths) must
 * fail. Choice for the three {@code acceptable} vectors of the misc file ({@code
 * SmallIntegerCiphertext}: a ciphertext that is a small integer, with a label): they decrypt
 * correctly under both providers and are accepted (RSA-OAEP's padding check, not the size of the
 * ciphertext integer, is what guards against forgeries; Keycast's CMS profiles use the empty
 * label, so they cannot reach a Keycast decryptor anyway).
 */
class RsaOaepDecryptWycheproofTest {
  private static final BouncyCastleProvider BC = new BouncyCastleProvider();

  static List<Arguments> vectors() {
    List<Arguments> out = new ArrayList<>();
    for (String f :
        List.of(
            "rsa_oaep_2048_sha256_mgf1sha256_test.json",
            "rsa_oaep_3072_sha256_mgf1sha256_test.json",
            "rsa_oaep_4096_sha256_mgf1sha256_test.json",
            "rsa_oaep_misc_test.json",
            "rsa_oaep_2048_sha1_mgf1sha1_test.json")) {
      for (Vector v : Wycheproof.load(f)) {
        out.add(Arguments.of("BC", v));
        out.add(Arguments.of("SunJCE", v));
      }
    }
    return out;
  }

  static ASN1ObjectIdentifier hash(String name) {
    return switch (name) {
      case "SHA-1" -> OIWObjectIdentifiers.idSHA1;
      case "SHA-224" -> NISTObjectIdentifiers.id_sha224;
      case "SHA-256" -> NISTObjectIdentifiers.id_sha256;
      case "SHA-384" -> NISTObjectIdentifiers.id_sha384;
      case "SHA-512" -> NISTObjectIdentifiers.id_sha512;
      default -> throw new IllegalArgumentException(name);
    };
  }

  /** The id-RSAES-OAEP AlgorithmIdentifier a CMS KeyTransRecipientInfo would carry for {@code v}. */
  static AlgorithmIdentifier oaep(Vector v) {
    AlgorithmIdentifier h = new AlgorithmIdentifier(hash(v.groupText("sha")), DERNull.INSTANCE);
    AlgorithmIdentifier mh = new AlgorithmIdentifier(hash(v.groupText("mgfSha")), DERNull.INSTANCE);
    byte[] label = v.hex("label");
    AlgorithmIdentifier p =
        label.length == 0
            ? RSAESOAEPparams.DEFAULT_P_SOURCE_ALGORITHM
            : new AlgorithmIdentifier(
                PKCSObjectIdentifiers.id_pSpecified, new DEROctetString(label));
    return new AlgorithmIdentifier(
        PKCSObjectIdentifiers.id_RSAES_OAEP,
        new RSAESOAEPparams(h, new AlgorithmIdentifier(PKCSObjectIdentifiers.id_mgf1, mh), p));
  }

  static byte[] unwrap(String provider, Vector v) throws Exception {
    PrivateKey key =
        KeyFactory.getInstance("RSA")
            .generatePrivate(new PKCS8EncodedKeySpec(v.groupHex("privateKeyPkcs8")));
    JceAsymmetricKeyUnwrapper u = new JceAsymmetricKeyUnwrapper(oaep(v), key);
    if (provider.equals("BC")) {
      u.setProvider(BC);
    }
    GenericKey k =
        u.generateUnwrappedKey(
            new AlgorithmIdentifier(NISTObjectIdentifiers.id_aes256_CBC), v.hex("ct"));
    Object r = k.getRepresentation();
    return r instanceof Key jk ? jk.getEncoded() : (byte[]) r;
  }

  @ParameterizedTest(name = "{0} {1}")
  @MethodSource("vectors")
  void validCiphertextsUnwrapAndBadPaddingIsRefused(String provider, Vector v) throws Exception {
    if (v.result() == Result.INVALID) {
      assertThatThrownBy(() -> unwrap(provider, v)).as(v.toString()).isInstanceOf(Exception.class);
    } else if (v.hex("msg").length == 0) {
      // an empty message is no content-encryption key: the unwrap refuses to make a key of it
      // (CMS can never carry one), while the provider's OAEP itself decrypts it correctly
      assertThatThrownBy(() -> unwrap(provider, v))
          .as(v.toString())
          .hasMessageContaining("Empty key");
      assertThat(decrypt(provider, v)).as(v.toString()).isEmpty();
    } else {
      assertThat(unwrap(provider, v)).as(v.toString()).isEqualTo(v.hex("msg"));
    }
  }

  /** The provider's RSA/ECB/OAEPPadding decryption with the vector's parameters. */
  static byte[] decrypt(String provider, Vector v) throws Exception {
    PrivateKey key =
        KeyFactory.getInstance("RSA")
            .generatePrivate(new PKCS8EncodedKeySpec(v.groupHex("privateKeyPkcs8")));
    javax.crypto.Cipher c =
        provider.equals("BC")
            ? javax.crypto.Cipher.getInstance("RSA/NONE/OAEPPadding", BC)
            : javax.crypto.Cipher.getInstance("RSA/ECB/OAEPPadding", "SunJCE");
    c.init(
        javax.crypto.Cipher.DECRYPT_MODE,
        key,
        new javax.crypto.spec.OAEPParameterSpec(
            v.groupText("sha"),
            "MGF1",
            new java.security.spec.MGF1ParameterSpec(v.groupText("mgfSha")),
            new javax.crypto.spec.PSource.PSpecified(v.hex("label"))));
    return c.doFinal(v.hex("ct"));
  }
}
