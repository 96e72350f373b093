package dev.keycast.cli;

/**
 * The host proxy answered with an error ({@link ExitCodes#HOST_ERROR}, with the server's stable
 * {@code error} code), or could not be reached or answered something that is not a Keycast answer
 * ({@link ExitCodes#UNREACHABLE}).
 */
final class HostException extends Exception {
  private final int exitCode;
  private final int status;
  private final String errorCode;

  private HostException(int exitCode, int status, String errorCode, String message) {
    super(message, null, false, false);
    this.exitCode = exitCode;
    this.status = status;
    this.errorCode = errorCode;
  }

  /** An error answer: HTTP {@code status} with the body's {@code error} code and message. */
  static HostException answered(int status, String errorCode, String message) {
    return new HostException(ExitCodes.HOST_ERROR, status, errorCode, message);
  }

  /** No usable answer (connection refused, timeout, garbled body). */
  static HostException unreachable(String message) {
    return new HostException(ExitCodes.UNREACHABLE, 0, null, message);
  }

  int exitCode() {
    return exitCode;
  }

  /** HTTP status, or 0 when there was no answer. */
  int status() {
    return status;
  }

  /** The server's stable error code ({@code ErrorCode}), or null. */
  String errorCode() {
    return errorCode;
  }
}
