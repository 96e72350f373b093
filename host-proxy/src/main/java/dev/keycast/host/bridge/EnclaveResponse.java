package dev.keycast.host.bridge;

import dev.keycast.protocol.Json;
import dev.keycast.protocol.MalformedInputException;
import dev.keycast.protocol.api.ErrorBody;
import dev.keycast.protocol.api.ErrorCode;
import java.io.IOException;
import java.io.UncheckedIOException;

/**
 * One HTTP answer of the enclave, fully read: its body in memory, or, for an answer larger than
 * {@link AnswerSpool#IN_MEMORY}, in a temporary file ({@link #close} deletes it).
 *
 * @param status the HTTP status
 * @param contentType the Content-Type header, or an empty string
 * @param body the body bytes (owned by this record; not copied), or null when spooled
 * @param file the spooled body, or null
 */
public record EnclaveResponse(int status, String contentType, byte[] body, SpooledFile file)
    implements AutoCloseable {

  /** An answer held in memory. */
  public EnclaveResponse(int status, String contentType, byte[] body) {
    this(status, contentType, java.util.Objects.requireNonNull(body, "body"), null);
  }

  /**
   * The body bytes; a spooled body is read whole (callers of large answers use {@link #source}).
   */
  @Override
  public byte[] body() {
    if (file == null) {
      return body;
    }
    try {
      return file.readAll();
    } catch (IOException e) {
      throw new UncheckedIOException("the spooled enclave answer cannot be read", e);
    }
  }

  /** The body as a JSON source that can be read more than once, from memory or from its file. */
  public SendResponseReader.Source source() {
    return file == null ? SendResponseReader.Source.of(body) : SendResponseReader.Source.of(file);
  }

  /**
   * This answer with its body in memory (a spooled body is read and its file deleted, also when
   * reading it fails).
   */
  public EnclaveResponse inMemory() {
    if (file == null) {
      return this;
    }
    try {
      return new EnclaveResponse(status, contentType, body());
    } finally {
      close();
    }
  }

  /** Deletes a spooled body (closing its readers first); never throws. */
  @Override
  public void close() {
    if (file != null) {
      file.close();
    }
  }

  /** True for 2xx. */
  public boolean ok() {
    return status >= 200 && status < 300;
  }

  /**
   * Decodes a 2xx JSON body into {@code type}, or turns an error answer into its
   * {@link EnclaveException} (the enclave's code and message relayed).
   */
  public <T> T decode(Class<T> type, int maxBytes) throws EnclaveException {
    if (!ok()) {
      throw toException();
    }
    try {
      return Json.decode(body, maxBytes, type);
    } catch (MalformedInputException e) {
      throw new EnclaveException(
          ErrorCode.INTERNAL, 500, "the enclave's answer does not parse: " + e.getMessage());
    }
  }

  /** The error this non-2xx answer carries. */
  public EnclaveException toException() {
    try {
      ErrorBody e = Json.decode(body, 64 * 1024, ErrorBody.class);
      ErrorCode code = ErrorCode.fromCode(e.error());
      if (code != null) {
        return new EnclaveException(code, status, e.message() == null ? code.code() : e.message());
      }
    } catch (MalformedInputException ignored) {
      // fall through: an answer without an error body
    }
    return new EnclaveException(
        status == 503 ? ErrorCode.ENCLAVE_UNAVAILABLE : ErrorCode.INTERNAL,
        status == 503 ? 503 : 500,
        "the enclave answered HTTP " + status + " without an error body");
  }

  @Override
  public String toString() {
    return "EnclaveResponse["
        + status
        + ", "
        + contentType
        + ", "
        + (file == null ? body.length + " bytes" : "spooled")
        + "]";
  }
}
