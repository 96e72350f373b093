package dev.keycast.enclave.server;

import dev.keycast.protocol.api.ErrorCode;

/**
 * A request failed with a stable {@link ErrorCode}; the message is safe to return to the host (it
 * never contains a secret, a private key or credentials). The HTTP status is the code's.
 */
public final class EnclaveApiException extends Exception {
  private final ErrorCode code;

  public EnclaveApiException(ErrorCode code, String message) {
    super(message, null, false, false);
    this.code = code;
  }

  public ErrorCode code() {
    return code;
  }

  /** The enclave holds no key set yet (503 with Retry-After). */
  static EnclaveApiException notReady() {
    return new EnclaveApiException(ErrorCode.NOT_READY, "the enclave has no unsealed key set yet");
  }
}
