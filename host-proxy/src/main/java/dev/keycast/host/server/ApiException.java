package dev.keycast.host.server;

import dev.keycast.protocol.api.ErrorCode;
import java.util.Objects;

/** A request that ends in an API error answer ({@code ErrorBody}) with this code. */
public final class ApiException extends Exception {
  private final ErrorCode code;
  private final int status;
  private final int retryAfterSeconds;

  /** An error with the code's own status. */
  public ApiException(ErrorCode code, String message) {
    this(code, code.status(), message);
  }

  /** An error with an explicit status (relayed from the enclave). */
  public ApiException(ErrorCode code, int status, String message) {
    this(code, status, message, 0);
  }

  /**
   * An error with the code's own status whose answer carries {@code Retry-After:
   * retryAfterSeconds} (a {@code 429}: when the refused client may try again).
   */
  public static ApiException retryAfter(ErrorCode code, String message, long retryAfterSeconds) {
    return new ApiException(
        code,
        code.status(),
        message,
        (int) Math.max(1, Math.min(Integer.MAX_VALUE, retryAfterSeconds)));
  }

  private ApiException(ErrorCode code, int status, String message, int retryAfterSeconds) {
    super(message);
    this.code = Objects.requireNonNull(code, "code");
    this.status = status;
    this.retryAfterSeconds = retryAfterSeconds;
  }

  /** The stable code. */
  public ErrorCode code() {
    return code;
  }

  /** The answer. */
  public HttpAnswer answer() {
    HttpAnswer a = HttpAnswer.error(status, code, getMessage());
    return retryAfterSeconds > 0
        ? new HttpAnswer(a.status(), a.contentType(), a.body(), retryAfterSeconds, a.file())
        : a;
  }
}
