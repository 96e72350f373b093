package dev.keycast.host.server;

import dev.keycast.protocol.Json;
import dev.keycast.protocol.api.ErrorBody;
import dev.keycast.protocol.api.ErrorCode;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * One HTTP answer, detached from Netty.
 *
 * @param status HTTP status
 * @param contentType Content-Type
 * @param body body bytes (empty when the body is a file)
 * @param retryAfterSeconds value of Retry-After, or 0 for none
 * @param file a body written to a temporary file (sent from there and deleted), or null
 */
public record HttpAnswer(
    int status, String contentType, byte[] body, int retryAfterSeconds, Path file) {

  /** An answer whose body is in memory. */
  public HttpAnswer(int status, String contentType, byte[] body, int retryAfterSeconds) {
    this(status, contentType, body, retryAfterSeconds, null);
  }

  /**
   * A JSON answer written to an owner-only temporary file as it is encoded, for a value whose
   * lists are produced while they are iterated (a large send's result, issue 28): the host never
   * holds its encoded bytes. The file is sent and then deleted ({@code HostServerHandler}).
   */
  public static HttpAnswer jsonFile(int status, Object value) throws IOException {
    Path file = Files.createTempFile("keycast-result-", ".json");
    try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(file), 1 << 16)) {
      Json.mapper().writeValue(out, value);
    } catch (IOException | RuntimeException e) {
      Files.deleteIfExists(file);
      throw e;
    }
    return new HttpAnswer(status, JSON, new byte[0], 0, file);
  }

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
