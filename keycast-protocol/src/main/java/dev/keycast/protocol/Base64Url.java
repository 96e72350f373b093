package dev.keycast.protocol;

import java.util.Base64;

/** base64url without padding, the byte encoding of every Keycast JSON API. Decoding is capped. */
public final class Base64Url {
  private static final Base64.Encoder ENCODER = Base64.getUrlEncoder().withoutPadding();
  private static final Base64.Decoder DECODER = Base64.getUrlDecoder();

  private Base64Url() {}

  public static String encode(byte[] bytes) {
    return ENCODER.encodeToString(bytes);
  }

  /**
   * Decodes {@code field} (padding tolerated), rejecting values whose decoded length would exceed
   * {@code maxBytes} before decoding them.
   */
  public static byte[] decode(String field, String text, int maxBytes) throws MalformedInputException {
    if (text == null) {
      throw new MalformedInputException("malformed_request", field + " is missing");
    }
    long decodedLength = (long) text.length() * 3 / 4;
    if (decodedLength > maxBytes + 2L) {
      throw new MalformedInputException(
          "oversize", field + " is longer than " + maxBytes + " bytes");
    }
    try {
      byte[] out = DECODER.decode(text);
      if (out.length > maxBytes) {
        throw new MalformedInputException(
            "oversize", field + " is longer than " + maxBytes + " bytes");
      }
      return out;
    } catch (IllegalArgumentException e) {
      String shown = text.length() > 16 ? text.substring(0, 16) + "..." : text;
      throw new MalformedInputException(
          "malformed_request", field + " is not base64url: \"" + shown + "\"");
    }
  }
}
