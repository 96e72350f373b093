package dev.keycast.enclave.keyset;

import dev.keycast.protocol.api.ErrorCode;

/**
 * Init or unseal failed. The code says which failure (already initialized, a tampered sealed key
 * set, KMS denial, KMS unreachable, ...); the message is safe to return to the host.
 */
public final class KeySetException extends Exception {
  private final ErrorCode code;

  public KeySetException(ErrorCode code, String message) {
    super(message);
    this.code = code;
  }

  public KeySetException(ErrorCode code, String message, Throwable cause) {
    super(message, cause);
    this.code = code;
  }

  public ErrorCode code() {
    return code;
  }
}
