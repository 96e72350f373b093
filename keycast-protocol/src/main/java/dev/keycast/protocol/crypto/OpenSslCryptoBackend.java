package dev.keycast.protocol.crypto;

import java.math.BigInteger;
import java.security.InvalidKeyException;
import java.security.SecureRandom;
import java.security.interfaces.RSAPublicKey;
import org.bouncycastle.crypto.encodings.OAEPEncoding;

/**
 * The OpenSSL backend: OpenSSL 3 {@code libcrypto.so.3} through the Foreign Function and Memory
 * API, for the backend's primitives only.
 *
 * <ul>
 *   <li>RSA: BouncyCastle's {@link OAEPEncoding} (SHA-256, MGF1-SHA-256, empty label; seed from the
 *       caller's {@link SecureRandom}) over {@link RawRsaPublicEngine}, whose raw public-key
 *       operation {@code m^e mod n} is {@code BN_mod_exp_mont} (the function OpenSSL's own RSA
 *       public operation uses).
 *   <li>X25519: the key pair and the peer's public key imported with {@code EVP_PKEY_fromdata}
 *       (both halves of the pair, so OpenSSL does not derive the public key again), {@code
 *       EVP_PKEY_CTX_new_from_pkey} and {@code EVP_PKEY_derive}; the public key of {@link #x25519}
 *       by BouncyCastle's fixed-base multiplication, which is faster than OpenSSL 3.0's. A held key
 *       ({@link #x25519KeyAgreement}) is one EVP_PKEY imported once. OpenSSL rejects an all-zero
 *       result; so does this class.
 *   <li>RSA PKCS #1 v1.5 signature verification: {@code d2i_PUBKEY} (the key must be {@code
 *       EVP_PKEY_RSA} and use every byte), {@code EVP_DigestVerifyInit} with {@code EVP_sha256}
 *       (384, 512) and {@code EVP_DigestVerify}, OpenSSL's default (PKCS #1 v1.5) padding.
 * </ul>
 *
 * <p>Every native buffer comes from a confined {@link java.lang.foreign.Arena} closed before the call returns;
 * buffers that held a private scalar, an OAEP-encoded block or a shared secret are zero-filled
 * first; every OpenSSL object is freed ({@code BN_clear_free} for the encoded block) and every
 * return code is checked. OpenSSL's per-thread error queue is cleared after a failure; its
 * strings are never read.
 *
 * <p>The operations are in {@link OpenSslRsa} (with {@link RawRsaPublicEngine} and {@link
 * OpenSslRsaKeyCache}) and {@link OpenSslX25519}; the bindings and call helpers in {@link
 * LibCrypto}; the known-answer test in {@link OpenSslSelfTest}.
 */
final class OpenSslCryptoBackend implements CryptoBackend {
  private final LibCrypto lib;
  private final OpenSslRsa rsa;
  private final OpenSslX25519 x25519;

  private OpenSslCryptoBackend(LibCrypto lib) {
    this.lib = lib;
    // frees the EVP_PKEY of a held key that became unreachable without being destroyed
    java.lang.ref.Cleaner cleaner = java.lang.ref.Cleaner.create();
    this.rsa = new OpenSslRsa(lib, cleaner);
    this.x25519 = new OpenSslX25519(lib, cleaner);
  }

  /**
   * Loads libcrypto and runs the known-answer self-test.
   *
   * @throws IllegalStateException with the reason when the library is missing or the self-test
   *     fails
   */
  static OpenSslCryptoBackend load() {
    OpenSslCryptoBackend b = new OpenSslCryptoBackend(LibCrypto.load());
    OpenSslSelfTest.run(b);
    return b;
  }

  /** OpenSSL's version string, e.g. "OpenSSL 3.0.19 27 Jan 2026". */
  String version() {
    return lib.version;
  }

  @Override
  public String name() {
    return "openssl";
  }

  @Override
  public byte[] rsaOaepSha256Encrypt(RSAPublicKey key, byte[] message, SecureRandom random) {
    return rsa.rsaOaepSha256Encrypt(key, message, random);
  }

  @Override
  public byte[] rsaOaepSha1Encrypt(RSAPublicKey key, byte[] message, SecureRandom random) {
    return rsa.rsaOaepSha1Encrypt(key, message, random);
  }

  /** {@code input^e mod n} as {@code k} bytes: see {@link OpenSslRsa#rsaPublic}. */
  byte[] rsaPublic(BigInteger modulus, BigInteger exponent, byte[] input, int off, int len) {
    return rsa.rsaPublic(modulus, exponent, input, off, len);
  }

  @Override
  public X25519Exchange x25519(byte[] privateKey, byte[] peerPublicKey) throws InvalidKeyException {
    return x25519.x25519(privateKey, peerPublicKey);
  }

  @Override
  public byte[] x25519SharedSecret(byte[] privateKey, byte[] publicKey, byte[] peerPublicKey)
      throws InvalidKeyException {
    return x25519.x25519SharedSecret(privateKey, publicKey, peerPublicKey);
  }

  @Override
  public X25519KeyAgreement x25519KeyAgreement(byte[] privateKey, byte[] publicKey) {
    return x25519.keyAgreement(privateKey, publicKey);
  }

  @Override
  public RsaSigningKey rsaSigningKey(byte[] pkcs8) {
    return rsa.signingKey(pkcs8);
  }

  @Override
  public boolean rsaPkcs1Verify(
      RsaSignatureDigest digest,
      byte[] publicKeySpki,
      byte[] message,
      int offset,
      int length,
      byte[] signature) {
    return rsa.pkcs1Verify(digest, publicKeySpki, message, offset, length, signature);
  }
}
