package dev.keycast.enclave.attest;

/** An {@link Attester} could not produce a document; the cause says why. */
public final class AttesterException extends Exception {
  public AttesterException(String message, Throwable cause) {
    super(message, cause);
  }
}
