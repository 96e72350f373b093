package dev.keycast.host.server;

import dev.keycast.protocol.Json;
import dev.keycast.protocol.api.ErrorBody;
import dev.keycast.protocol.api.ErrorCode;
import java.nio.charset.StandardCharsets;

/**
 * One HTTP answer, detached from Netty.
 *
 * @param status HTTP status
 * @param contentType Content-Type
 * @param body body bytes
 * @param retryAfterSeconds value of Retry-After, or 0 for none
 */
public record HttpAnswer(int status, String contentType, byte[] body, int retryAfterSeconds) {
  /** JSON content type. */
  public static final String JSON = "application/json";

  /** A JSON answer. */
  public static HttpAnswer json(int status, Object value) {
    return new HttpAnswer(status, JSON, Json.encode(value), 0);
  }

  /** A plain-text answer. */
  public static HttpAnswer text(int status, String contentType, String body) {
    return new HttpAnswer(status, contentType, body.getBytes(StandardCharsets.UTF_8), 0);
  }

  /** An error answer; 503 answers carry Retry-After. */
  public static HttpAnswer error(ErrorCode code, String message) {
    return new HttpAnswer(
        code.status(),
        JSON,
        Json.encode(ErrorBody.of(code, message)),
        code.status() == 503 ? 2 : 0);
  }

  /** An error answer with an explicit status (an enclave answer relayed). */
  public static HttpAnswer error(int status, ErrorCode code, String message) {
    return new HttpAnswer(
        status, JSON, Json.encode(ErrorBody.of(code, message)), status == 503 ? 2 : 0);
  }
}
