package dev.keycast.protocol.crypto;

import java.security.InvalidKeyException;
import java.security.SecureRandom;
import java.security.interfaces.RSAPublicKey;

/**
 * The public-key primitives that set the cost of a fan-out: the RSA-OAEP key transport of a CMS
 * delivery, the X25519 Diffie-Hellman of an HPKE delivery, and the RSA PKCS #1 v1.5 signature
 * check of each recipient certificate. Everything around them (OAEP encoding, HKDF, AEAD, DER) is
 * the same code for every backend.
 *
 * <p>Two implementations: {@code java} (SunJCE RSA-OAEP and BouncyCastle's X25519, pure Java) and
 * {@code openssl} (OpenSSL 3 libcrypto through the JDK's Foreign Function and Memory API: the raw
 * RSA public-key operation under BouncyCastle's OAEP encoding, and X25519). {@link
 * CryptoBackends#get()} picks one once per process. Implementations are stateless and
 * thread-safe; both produce identical bytes for identical inputs and random draws.
 */
public interface CryptoBackend {
  /** {@code "java"} or {@code "openssl"}. */
  String name();

  /**
   * RSAES-OAEP encryption (RFC 8017 section 7.1) with SHA-256, MGF1-SHA-256 and an empty label.
   * The seed (32 bytes) is the only draw from {@code random}.
   *
   * @param key the recipient's RSA public key
   * @param message at most {@code k - 66} bytes ({@code k} = modulus length in bytes)
   * @return the ciphertext, {@code k} bytes
   * @throws IllegalArgumentException if the message is too long for the key
   */
  byte[] rsaOaepSha256Encrypt(RSAPublicKey key, byte[] message, SecureRandom random);

  /**
   * RSAES-OAEP encryption (RFC 8017 section 7.1) with SHA-1, MGF1-SHA-1 and an empty label: the
   * {@code EncryptedKey} of an SMPTE ST 430-1 KDM (its 138-byte cipher block). The seed (20 bytes)
   * is the only draw from {@code random}.
   *
   * @param key the screen's RSA public key
   * @param message at most {@code k - 42} bytes ({@code k} = modulus length in bytes)
   * @return the ciphertext, {@code k} bytes
   * @throws IllegalArgumentException if the message is too long for the key
   */
  byte[] rsaOaepSha1Encrypt(RSAPublicKey key, byte[] message, SecureRandom random);

  /**
   * One X25519 exchange (RFC 7748 section 6.1): the public key {@code X25519(privateKey, 9)} and
   * the shared secret {@code X25519(privateKey, peerPublicKey)}.
   *
   * @param privateKey 32-byte scalar (clamped by the function, not modified)
   * @param peerPublicKey 32-byte u-coordinate
   * @throws InvalidKeyException if the shared secret is all zero (a low-order peer point; RFC 9180
   *     section 7.1.4 requires rejecting it) or the peer key is unusable
   */
  X25519Exchange x25519(byte[] privateKey, byte[] peerPublicKey) throws InvalidKeyException;

  /**
   * The X25519 shared secret {@code X25519(privateKey, peerPublicKey)} alone, for a key holder
   * that keeps its public key (an HPKE recipient): unlike {@link #x25519} it does not compute the
   * public key, which costs as much as the Diffie-Hellman itself.
   *
   * @param privateKey 32-byte scalar (clamped by the function, not modified)
   * @param publicKey {@code X25519(privateKey, 9)} as its holder stored it (32 bytes); it is not
   *     checked and does not enter the result (OpenSSL needs it to skip deriving it)
   * @param peerPublicKey 32-byte u-coordinate
   * @return the 32-byte shared secret (the caller zeroizes it)
   * @throws InvalidKeyException if the shared secret is all zero (a low-order peer point) or the
   *     peer key is unusable
   */
  byte[] x25519SharedSecret(byte[] privateKey, byte[] publicKey, byte[] peerPublicKey)
      throws InvalidKeyException;

  /**
   * Holds an X25519 private key for repeated {@linkplain X25519KeyAgreement#sharedSecret shared
   * secrets} with changing peers (an HPKE recipient): the key is imported into the backend once,
   * so each Diffie-Hellman costs only the peer's import and the scalar multiplication. The caller
   * {@linkplain X25519KeyAgreement#destroy() destroys} it when the key is retired.
   *
   * @param privateKey 32-byte scalar (copied; the caller zeroizes its array)
   * @param publicKey {@code X25519(privateKey, 9)} as its holder stored it (32 bytes); it is not
   *     checked (as in {@link #x25519SharedSecret}) and is what {@link
   *     X25519KeyAgreement#publicKey()} returns
   * @throws IllegalArgumentException if a key is not 32 bytes
   */
  X25519KeyAgreement x25519KeyAgreement(byte[] privateKey, byte[] publicKey);

  /**
   * RSASSA-PKCS1-v1_5 signature verification (RFC 8017 section 8.2.2) of {@code
   * message[offset, offset + length)} under an RSA public key: the check of an X.509 certificate's
   * {@code sha256WithRSAEncryption} (or SHA-384/512) signature over its {@code tbsCertificate}.
   * The {@code java} backend encodes and compares (RFC 8017's own method), the {@code openssl}
   * backend uses {@code EVP_DigestVerify}; both accept only the DER DigestInfo with NULL
   * parameters (Wycheproof's {@code MissingNull} is refused by both). Neither checks that the
   * modulus is a product of two primes: a verifier cannot tell.
   *
   * @param digest the signature's digest
   * @param publicKeySpki the signer's key, SubjectPublicKeyInfo DER of an {@code rsaEncryption} key
   * @param signature the signature value (exactly the modulus length, else it does not verify)
   * @return true exactly when the signature verifies; false for a wrong signature, a signature of
   *     the wrong length, or a key that is not a well-formed RSA key
   * @throws IndexOutOfBoundsException if the range is outside {@code message}
   */
  boolean rsaPkcs1Verify(
      RsaSignatureDigest digest,
      byte[] publicKeySpki,
      byte[] message,
      int offset,
      int length,
      byte[] signature);

  /**
   * Imports an RSA private key for RSASSA-PKCS1-v1_5 SHA-256 signatures (the KDM signer's key).
   *
   * @param pkcs8 PrivateKeyInfo DER (PKCS #8) of an RSA key; read, not kept (the caller zeroizes it)
   * @throws IllegalArgumentException if it is not exactly the DER of an RSA private key
   */
  RsaSigningKey rsaSigningKey(byte[] pkcs8);
}
