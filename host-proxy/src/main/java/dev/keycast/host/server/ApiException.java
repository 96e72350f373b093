package dev.keycast.host.server;

import dev.keycast.protocol.api.ErrorCode;
import java.util.Objects;

/** A request that ends in an API error answer ({@code ErrorBody}) with this code. */
public final class ApiException extends Exception {
  private final ErrorCode code;
  private final int status;

  /** An error with the code's own status. */
  public ApiException(ErrorCode code, String message) {
    this(code, code.status(), message);
  }

  /** An error with an explicit status (relayed from the enclave). */
  public ApiException(ErrorCode code, int status, String message) {
    super(message);
    this.code = Objects.requireNonNull(code, "code");
    this.status = status;
  }

  /** The stable code. */
  public ErrorCode code() {
    return code;
  }

  /** The answer. */
  public HttpAnswer answer() {
    return HttpAnswer.error(status, code, getMessage());
  }
}
