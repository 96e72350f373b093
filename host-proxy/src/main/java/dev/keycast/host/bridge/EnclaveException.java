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
  /**
   * What went wrong, as far as retrying is concerned (the message is for people only: no caller
   * decides anything by it).
   */
  public enum Failure {
    /** The enclave answered with an error, or the host refused to ask it (overload). */
    ANSWERED_OR_REFUSED,
    /**
     * The connection closed before any answer came: on a reused keep-alive connection the enclave
     * may have closed it idle, so one retry on a fresh connection is safe.
     */
    CLOSED_BEFORE_ANSWER,
    /** The enclave could not be reached, did not answer in time, or answered malformed. */
    UNREACHABLE
  }

  private final ErrorCode code;
  private final int status;
  private final Failure failure;

  /** An error answer of the enclave, or a failure to reach it. */
  public EnclaveException(ErrorCode code, int status, String message) {
    this(
        code,
        status,
        message,
        code == ErrorCode.ENCLAVE_UNAVAILABLE ? Failure.UNREACHABLE : Failure.ANSWERED_OR_REFUSED);
  }

  private EnclaveException(ErrorCode code, int status, String message, Failure failure) {
    super(message);
    this.code = Objects.requireNonNull(code, "code");
    this.status = status;
    this.failure = Objects.requireNonNull(failure, "failure");
  }

  /** The enclave could not be reached or did not answer. */
  public static EnclaveException unavailable(String message) {
    return new EnclaveException(ErrorCode.ENCLAVE_UNAVAILABLE, 503, message, Failure.UNREACHABLE);
  }

  /** The connection closed before the enclave answered ({@link Failure#CLOSED_BEFORE_ANSWER}). */
  public static EnclaveException closedBeforeAnswer(String message) {
    return new EnclaveException(
        ErrorCode.ENCLAVE_UNAVAILABLE, 503, message, Failure.CLOSED_BEFORE_ANSWER);
  }

  /** What went wrong, for the decision to retry. */
  public Failure failure() {
    return failure;
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
