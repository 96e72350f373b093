package dev.keycast.protocol.crypto;

import java.security.InvalidKeyException;
import javax.security.auth.Destroyable;

/**
 * An X25519 private key held by a backend for repeated Diffie-Hellman with changing peers: an
 * HPKE recipient's long-lived key (the enclave key set's receive key), imported once instead of
 * on every decapsulation. Made by {@link CryptoBackend#x25519KeyAgreement}.
 *
 * <p>Thread-safe: any number of threads may call {@link #sharedSecret} at once. {@link
 * #destroy()} zeroizes the private key the object owns (the {@code java} backend's copy of the
 * scalar; the {@code openssl} backend's {@code EVP_PKEY}, which OpenSSL frees with {@code
 * OPENSSL_secure_clear_free} once the last call in flight has dropped its reference); afterwards
 * {@link #sharedSecret} throws {@link IllegalStateException}. {@link #toString()} shows only the
 * public key.
 */
public interface X25519KeyAgreement extends Destroyable {
  /** {@code X25519(privateKey, 9)} as its holder stored it (32 bytes, a copy). */
  byte[] publicKey();

  /**
   * The X25519 shared secret {@code X25519(privateKey, peerPublicKey)}.
   *
   * @param peerPublicKey 32-byte u-coordinate
   * @return the 32-byte shared secret (the caller zeroizes it)
   * @throws InvalidKeyException if the shared secret is all zero (a low-order peer point) or the
   *     peer key is unusable
   * @throws IllegalArgumentException if the peer key is not 32 bytes
   * @throws IllegalStateException after {@link #destroy()}
   */
  byte[] sharedSecret(byte[] peerPublicKey) throws InvalidKeyException;

  /** Zeroizes (frees) the private key; idempotent. */
  @Override
  void destroy();
}
