package dev.keycast.protocol;

import java.security.GeneralSecurityException;

/**
 * Decryption or authentication failed. The message is always the same, whatever the cause (wrong
 * key, tampered ciphertext, altered associated data, truncated input), so callers cannot learn why.
 */
public final class DecryptionFailedException extends GeneralSecurityException {
  public static final String MESSAGE = "decryption failed";

  public DecryptionFailedException() {
    super(MESSAGE);
  }
}
