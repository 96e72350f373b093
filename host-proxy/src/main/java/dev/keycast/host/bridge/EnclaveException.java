package dev.keycast.host.bridge;

import dev.keycast.protocol.api.ErrorCode;
import java.util.Objects;

/**
 * The enclave answered a request with an error, or could not be reached. {@link #code()} is the
 * stable API code the host relays to its client ({@code enclave_unavailable} when the enclave
 * could not be reached or did not answer in time, {@code overloaded} when the connection limit and
 * its wait queue are exhausted).
 */
public final class EnclaveException extends Exception {
  private final ErrorCode code;
  private final int status;

  /** An error answer of the enclave, or a failure to reach it. */
  public EnclaveException(ErrorCode code, int status, String message) {
    super(message);
    this.code = Objects.requireNonNull(code, "code");
    this.status = status;
  }

  /** The enclave could not be reached or did not answer. */
  public static EnclaveException unavailable(String message) {
    return new EnclaveException(ErrorCode.ENCLAVE_UNAVAILABLE, 503, message);
  }

  /** The stable error code. */
  public ErrorCode code() {
    return code;
  }

  /** The HTTP status to relay. */
  public int status() {
    return status;
  }

  /** True when the enclave was not reached (nothing was processed by it, or the answer was lost). */
  public boolean isUnavailable() {
    return code == ErrorCode.ENCLAVE_UNAVAILABLE || code == ErrorCode.OVERLOADED;
  }
}
