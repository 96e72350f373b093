package dev.keycast.protocol.crypto;

import java.util.Arrays;
import javax.security.auth.Destroyable;

/**
 * The result of {@link CryptoBackend#x25519}: the caller's own public key and the shared secret
 * (both 32 bytes). {@link #destroy()} zeroizes the shared secret; {@link #toString()} never shows
 * it.
 */
public final class X25519Exchange implements Destroyable {
  private final byte[] publicKey;
  private final byte[] sharedSecret;
  private volatile boolean destroyed;

  /** Takes ownership of both arrays (no copies: the secret exists once). */
  X25519Exchange(byte[] publicKey, byte[] sharedSecret) {
    if (publicKey.length != 32 || sharedSecret.length != 32) {
      throw new IllegalArgumentException("X25519 values are 32 bytes");
    }
    this.publicKey = publicKey;
    this.sharedSecret = sharedSecret;
  }

  /** {@code X25519(privateKey, 9)}: the public key of the private key used (a copy). */
  public byte[] publicKey() {
    return publicKey.clone();
  }

  /** The Diffie-Hellman shared secret (a copy the caller should zeroize). */
  public byte[] sharedSecret() {
    if (destroyed) {
      throw new IllegalStateException("X25519 exchange was destroyed");
    }
    return sharedSecret.clone();
  }

  @Override
  public void destroy() {
    Arrays.fill(sharedSecret, (byte) 0);
    destroyed = true;
  }

  @Override
  public boolean isDestroyed() {
    return destroyed;
  }

  @Override
  public String toString() {
    return "X25519Exchange[public=" + java.util.HexFormat.of().formatHex(publicKey) + "]";
  }
}
