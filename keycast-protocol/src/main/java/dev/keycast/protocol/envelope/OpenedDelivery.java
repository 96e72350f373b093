package dev.keycast.protocol.envelope;

import java.util.Arrays;
import javax.security.auth.Destroyable;

/**
 * A decrypted delivery: the metadata the sender bound to it and the secret. {@link #secret()}
 * returns a copy; {@link #destroy()} zeroizes the held copy. {@link #toString()} never shows the
 * secret.
 */
public final class OpenedDelivery implements Destroyable {
  private final DeliveryMetadata metadata;
  private final byte[] secret;
  private volatile boolean destroyed;

  /** Takes ownership of {@code secret} (no copy). */
  OpenedDelivery(DeliveryMetadata metadata, byte[] secret) {
    this.metadata = metadata;
    this.secret = secret;
  }

  public DeliveryMetadata metadata() {
    return metadata;
  }

  /** A copy of the secret; the caller should zeroize it when done. */
  public byte[] secret() {
    if (destroyed) {
      throw new IllegalStateException("delivery was destroyed");
    }
    return secret.clone();
  }

  @Override
  public void destroy() {
    Arrays.fill(secret, (byte) 0);
    destroyed = true;
  }

  @Override
  public boolean isDestroyed() {
    return destroyed;
  }

  @Override
  public String toString() {
    return "OpenedDelivery[" + metadata + ", secret=" + secret.length + " bytes]";
  }
}
