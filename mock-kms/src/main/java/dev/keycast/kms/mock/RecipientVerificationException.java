package dev.keycast.kms.mock;

/** An attestation document failed verification; the message says why (never secret). */
public final class RecipientVerificationException extends Exception {
  public RecipientVerificationException(String message) {
    super(message);
  }

  public RecipientVerificationException(String message, Throwable cause) {
    super(message, cause);
  }
}
