package dev.keycast.protocol.crypto;

import javax.security.auth.Destroyable;

/**
 * An RSA private key held by a backend for RSASSA-PKCS1-v1_5 signatures with SHA-256 (RFC 8017
 * section 8.2): the KDM signer's key, imported once instead of on every KDM. Made by {@link
 * CryptoBackend#rsaSigningKey}.
 *
 * <p>Thread-safe: any number of threads may sign at once. {@link #destroy()} drops the key (the
 * {@code openssl} backend's {@code EVP_PKEY}, whose private components OpenSSL frees with {@code
 * BN_clear_free} once the last signature in flight has dropped its reference; the {@code java}
 * backend's JDK key object cannot be wiped, only forgotten); afterwards {@link #signSha256} throws
 * {@link IllegalStateException}. {@link #toString()} shows only the modulus size.
 */
public interface RsaSigningKey extends Destroyable {
  /** The signature of {@code message[offset, offset + length)}: {@code modulusBits / 8} bytes. */
  byte[] signSha256(byte[] message, int offset, int length);

  /** The size of the modulus in bits. */
  int modulusBits();

  /** Drops the private key; idempotent. */
  @Override
  void destroy();
}
