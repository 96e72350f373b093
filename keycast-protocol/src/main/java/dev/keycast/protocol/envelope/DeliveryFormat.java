package dev.keycast.protocol.envelope;

import dev.keycast.protocol.DecryptionFailedException;
import dev.keycast.protocol.MalformedInputException;
import java.security.SecureRandom;

/**
 * Encrypts one secret, with its {@link DeliveryMetadata}, to one recipient key, and back.
 *
 * <p>Implementations are immutable and thread-safe; share one instance for a whole fan-out. A new
 * format (such as an SMPTE KDM) is a new implementation with a new {@link #id()}.
 *
 * @param <K> the recipient's private key type used by {@link #open}
 */
public interface DeliveryFormat<K> {
  /** Largest secret any format carries, in bytes. */
  int MAX_SECRET_LENGTH = DeliveryPayload.MAX_SECRET_LENGTH;

  /** Largest envelope any format accepts, in bytes (1 MiB). */
  int MAX_ENVELOPE_LENGTH = 1 << 20;

  /** Stable identifier of the format, e.g. {@code cms-aes256gcm-v1}. */
  String id();

  /** True when this format can deliver to {@code recipient}. */
  boolean supports(RecipientKey recipient);

  /**
   * Encrypts {@code secret} to {@code recipient}.
   *
   * @throws IllegalArgumentException if the format does not support the recipient, the metadata
   *     names another recipient fingerprint, or the secret exceeds {@link #MAX_SECRET_LENGTH}
   */
  byte[] seal(
      RecipientKey recipient, DeliveryMetadata metadata, byte[] secret, SecureRandom random);

  /**
   * Decrypts an envelope with the recipient's private key.
   *
   * @throws MalformedInputException the envelope is oversized, truncated, garbled or of an unknown
   *     version (detected before any decryption)
   * @throws DecryptionFailedException wrong key, or the envelope was altered
   */
  OpenedDelivery open(K privateKey, byte[] envelope)
      throws MalformedInputException, DecryptionFailedException;
}
