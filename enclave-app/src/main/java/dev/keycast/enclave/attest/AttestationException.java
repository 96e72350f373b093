package dev.keycast.enclave.attest;

/** An {@link Attester} could not produce a document; the cause says why. */
public final class AttestationException extends Exception {
  public AttestationException(String message, Throwable cause) {
    super(message, cause);
  }
}
