package dev.keycast.host.bridge;

import dev.keycast.protocol.Json;
import dev.keycast.protocol.MalformedInputException;
import dev.keycast.protocol.api.ErrorBody;
import dev.keycast.protocol.api.ErrorCode;

/**
 * One HTTP answer of the enclave, fully read.
 *
 * @param status the HTTP status
 * @param contentType the Content-Type header, or an empty string
 * @param body the body bytes (owned by this record; not copied)
 */
public record EnclaveResponse(int status, String contentType, byte[] body) {

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
    return "EnclaveResponse[" + status + ", " + contentType + ", " + body.length + " bytes]";
  }
}
