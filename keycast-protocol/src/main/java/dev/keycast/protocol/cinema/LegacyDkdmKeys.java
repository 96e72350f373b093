package dev.keycast.protocol.cinema;

import dev.keycast.protocol.DecryptionFailedException;
import dev.keycast.protocol.MalformedInputException;
import dev.keycast.protocol.crypto.Sha256;
import dev.keycast.protocol.keyset.KeySet;
import dev.keycast.protocol.keyset.SealedSecret;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.interfaces.RSAPrivateCrtKey;
import java.security.interfaces.RSAPublicKey;
import java.security.spec.PKCS8EncodedKeySpec;
import java.time.Instant;
import java.util.Arrays;
import java.util.HexFormat;

/**
 * Legacy DKDM keys (issue 25's adoption path, wire-format.md section 10.6): a distributor's
 * existing DKDM certificate and its RSA private key (from DCP-o-matic or easyDCP), imported once
 * HPKE-sealed to the attested enclave and kept by the host only sealed under the key set's storage
 * key, bound to the exact certificate. DKDMs addressed to that certificate then ingest too.
 *
 * <p>The HPKE associated data of the import is {@code "keycast/v1/dkdm-key-import" || 0x00 ||
 * SHA-256(certificate DER)}; the sealed form is a version 2 sealed secret with secret id {@code
 * dkdm-key-<first 16 bytes of SHA-256(certificate DER), hex>} and the certificate's DER as its
 * "policy bytes", so it opens only with that certificate.
 */
public final class LegacyDkdmKeys {
  /** Most legacy keys a key set's host presents with one ingest. */
  public static final int MAX_KEYS = 16;

  /** Largest certificate accepted (DER). */
  public static final int MAX_CERTIFICATE_BYTES = 8192;

  /** Largest PKCS #8 key accepted (an RSA-4096 key is about 2.4 KB). */
  public static final int MAX_PKCS8_BYTES = 4096;

  private static final byte[] AAD_LABEL =
      "keycast/v1/dkdm-key-import".getBytes(StandardCharsets.US_ASCII);

  private LegacyDkdmKeys() {}

  /** The HPKE associated data of an import of the key of {@code certificateDer}. */
  public static byte[] aad(byte[] certificateDer) {
    byte[] d = Sha256.digest(certificateDer);
    byte[] out = Arrays.copyOf(AAD_LABEL, AAD_LABEL.length + 1 + d.length);
    System.arraycopy(d, 0, out, AAD_LABEL.length + 1, d.length);
    return out;
  }

  /** The sealed secret id of the key of {@code certificateDer}. */
  public static String secretId(byte[] certificateDer) {
    return "dkdm-key-" + HexFormat.of().formatHex(Sha256.digest(certificateDer), 0, 16);
  }

  /** The certificate of {@code der}: an X.509 certificate with an RSA key of 2048 to 4096 bits. */
  public static X509Certificate certificate(byte[] der) throws CinemaException {
    try {
      X509Certificate c =
          (X509Certificate)
              CertificateFactory.getInstance("X.509")
                  .generateCertificate(new ByteArrayInputStream(der));
      if (!(c.getPublicKey() instanceof RSAPublicKey k)
          || k.getModulus().bitLength() < 2048
          || k.getModulus().bitLength() > 4096) {
        throw new CinemaException(
            "dkdm_key_invalid",
            "a legacy DKDM certificate carries an RSA key of 2048 to 4096 bits");
      }
      return c;
    } catch (CertificateException | ClassCastException e) {
      throw new CinemaException(
          "dkdm_key_invalid", "the legacy DKDM certificate is not an X.509 DER certificate");
    }
  }

  /**
   * The RSA private key of {@code pkcs8}, checked to be the key of {@code certificate} (same
   * modulus and public exponent).
   *
   * @throws CinemaException {@code dkdm_key_invalid} (not PKCS #8 RSA) or {@code dkdm_key_mismatch}
   */
  public static PrivateKey privateKey(byte[] pkcs8, X509Certificate certificate)
      throws CinemaException {
    PrivateKey k;
    try {
      k = KeyFactory.getInstance("RSA").generatePrivate(new PKCS8EncodedKeySpec(pkcs8));
    } catch (java.security.GeneralSecurityException | RuntimeException e) {
      throw new CinemaException(
          "dkdm_key_invalid", "the legacy key is not a PKCS #8 RSA private key");
    }
    RSAPublicKey pub = (RSAPublicKey) certificate.getPublicKey();
    if (!(k instanceof RSAPrivateCrtKey crt)
        || !crt.getModulus().equals(pub.getModulus())
        || !crt.getPublicExponent().equals(pub.getPublicExponent())) {
      throw new CinemaException(
          "dkdm_key_mismatch", "the legacy key is not the key of the certificate given");
    }
    if (!consistent(crt)) {
      // Same modulus and exponent, but private parameters that do not belong to them: the JDK then
      // refuses every private-key operation, so the key would be sealed and fail at every ingest
      // (fuzzing.md Z9).
      throw new CinemaException(
          "dkdm_key_invalid", "the legacy key's private parameters do not belong to its modulus");
    }
    return k;
  }

  /** p q = n, d inverts e modulo p - 1 and q - 1, and the CRT exponents and coefficient follow from them. */
  private static boolean consistent(RSAPrivateCrtKey k) {
    java.math.BigInteger one = java.math.BigInteger.ONE;
    java.math.BigInteger p = k.getPrimeP();
    java.math.BigInteger q = k.getPrimeQ();
    java.math.BigInteger d = k.getPrivateExponent();
    java.math.BigInteger e = k.getPublicExponent();
    try {
      return p.compareTo(one) > 0
          && q.compareTo(one) > 0
          && p.multiply(q).equals(k.getModulus())
          && e.multiply(d).mod(p.subtract(one)).equals(one)
          && e.multiply(d).mod(q.subtract(one)).equals(one)
          && k.getPrimeExponentP().equals(d.mod(p.subtract(one)))
          && k.getPrimeExponentQ().equals(d.mod(q.subtract(one)))
          && k.getCrtCoefficient().equals(q.modInverse(p));
    } catch (ArithmeticException notInvertible) {
      return false;
    }
  }

  /** Seals {@code pkcs8} (checked by the caller) for the host to keep, bound to {@code certificateDer}. */
  public static SealedSecret seal(
      KeySet keySet,
      byte[] certificateDer,
      byte[] pkcs8,
      byte[] senderKey,
      Instant signedAt,
      SecureRandom random) {
    return SealedSecret.seal(
        keySet, secretId(certificateDer), pkcs8, certificateDer, senderKey, signedAt, random);
  }

  /**
   * Opens a sealed legacy key with its certificate: any altered byte of either, or a key that is
   * not the certificate's, fails alike ({@link DecryptionFailedException}).
   */
  public static PrivateKey open(KeySet keySet, byte[] certificateDer, byte[] sealed)
      throws DecryptionFailedException {
    return open(keySet, certificateDer, sealed, null);
  }

  /**
   * As {@link #open(KeySet, byte[], byte[])}, and only when the key was imported by {@code
   * importer} (raw Ed25519 key; the sealed form's authenticated header names the importer): a
   * legacy key serves its own distributor's ingests, not another sender's. Null: any importer.
   */
  public static PrivateKey open(
      KeySet keySet, byte[] certificateDer, byte[] sealed, byte[] importer)
      throws DecryptionFailedException {
    byte[] plain = null;
    try {
      SealedSecret s = SealedSecret.parse(sealed);
      if (!s.secretId().equals(secretId(certificateDer)) || !s.keySetId().equals(keySet.id())) {
        throw new DecryptionFailedException();
      }
      plain = s.open(keySet, certificateDer);
      if (importer != null
          && (s.senderKey() == null
              || !java.security.MessageDigest.isEqual(s.senderKey(), importer))) {
        throw new DecryptionFailedException();
      }
      return privateKey(plain, certificate(certificateDer));
    } catch (MalformedInputException | CinemaException e) {
      throw new DecryptionFailedException();
    } finally {
      if (plain != null) {
        Arrays.fill(plain, (byte) 0);
      }
    }
  }
}
