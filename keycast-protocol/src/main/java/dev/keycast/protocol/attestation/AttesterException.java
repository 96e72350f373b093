package dev.keycast.protocol.attestation;

/**
 * An {@link Attester} (or the NSM behind it) could not produce a document or random bytes; the
 * cause says why. Not to be confused with {@link AttestationException}, a document that does not
 * verify.
 */
public final class AttesterException extends Exception {
  public AttesterException(String message, Throwable cause) {
    super(message, cause);
  }
}
