package dev.keycast.host.server;

import dev.keycast.protocol.Base64Url;
import dev.keycast.protocol.Fingerprints;
import dev.keycast.protocol.Json;
import dev.keycast.protocol.MalformedInputException;
import dev.keycast.protocol.TokenSyntax;
import dev.keycast.protocol.api.ErrorCode;
import dev.keycast.protocol.api.HostApi;
import java.util.Objects;

/** Checks and decoding of request input and enclave answers, each failure a typed {@link ApiException}. */
final class Inputs {
  /** Delivery, receipt and send ids. */
  static final TokenSyntax ID = TokenSyntax.of("A-Za-z0-9_-", 1, 128);

  private Inputs() {}

  static <T> T decode(byte[] body, Class<T> type) throws ApiException {
    try {
      return Json.decode(body, HostApi.MAX_REQUEST_BYTES, type);
    } catch (MalformedInputException e) {
      throw new ApiException(
          e.kind() == MalformedInputException.Kind.OVERSIZE
              ? ErrorCode.PAYLOAD_TOO_LARGE
              : ErrorCode.MALFORMED_REQUEST,
          e.getMessage());
    }
  }

  static byte[] b64(String field, String text, int max) throws ApiException {
    try {
      return Base64Url.decode(field, text, max);
    } catch (MalformedInputException e) {
      throw new ApiException(ErrorCode.MALFORMED_REQUEST, e.getMessage());
    }
  }

  /** A base64url member of an enclave answer; its absence or malformation is {@code internal}. */
  static byte[] b64Enclave(String field, String text) throws ApiException {
    try {
      return Base64Url.decode(field, Objects.requireNonNull(text, field), 96 << 20);
    } catch (MalformedInputException | NullPointerException e) {
      throw new ApiException(ErrorCode.INTERNAL, "the enclave's answer has no valid " + field);
    }
  }

  static void checkFingerprint(String fp) throws ApiException {
    if (!Fingerprints.isWellFormed(fp)) {
      throw new ApiException(
          ErrorCode.MALFORMED_REQUEST,
          "fingerprint must be 64 lowercase hex characters: " + quote(fp));
    }
  }

  static void checkId(String what, String id) throws ApiException {
    if (!ID.matches(id)) {
      throw new ApiException(
          ErrorCode.MALFORMED_REQUEST, what + " must match [A-Za-z0-9_-]{1,128}: " + quote(id));
    }
  }

  /** {@code s} quoted for an error message, at most 80 characters ({@link MalformedInputException#quote(String, int)}). */
  static String quote(String s) {
    return MalformedInputException.quote(s, 80);
  }
}
