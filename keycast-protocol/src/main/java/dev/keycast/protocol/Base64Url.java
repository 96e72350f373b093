package dev.keycast.protocol;

import java.util.Arrays;
import java.util.Base64;

/** base64url without padding, the byte encoding of every Keycast JSON API. Decoding is capped. */
public final class Base64Url {
  private static final Base64.Encoder ENCODER = Base64.getUrlEncoder().withoutPadding();

  /** The value of each base64url character, -1 for every other ASCII character. */
  private static final byte[] VALUE = new byte[128];

  static {
    Arrays.fill(VALUE, (byte) -1);
    String alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    for (int i = 0; i < alphabet.length(); i++) {
      VALUE[alphabet.charAt(i)] = (byte) i;
    }
  }

  private Base64Url() {}

  public static String encode(byte[] bytes) {
    return ENCODER.encodeToString(bytes);
  }

  /**
   * Decodes {@code field} (padding tolerated), rejecting values whose decoded length would exceed
   * {@code maxBytes} before decoding them. Accepts exactly what {@code Base64.getUrlDecoder()}
   * accepts (base64url alphabet only, padding optional but correct when present, no final unit of
   * one character), with the same result, but reads the characters of {@code text} directly
   * instead of copying them into a byte array first.
   */
  public static byte[] decode(String field, String text, int maxBytes)
      throws MalformedInputException {
    if (text == null) {
      throw new MalformedInputException(
          MalformedInputException.Kind.MALFORMED_REQUEST, field + " is missing");
    }
    long decodedLength = (long) text.length() * 3 / 4;
    if (decodedLength > maxBytes + 2L) {
      throw new MalformedInputException(
          MalformedInputException.Kind.OVERSIZE, field + " is longer than " + maxBytes + " bytes");
    }
    byte[] out = decodeOrNull(text);
    if (out == null) {
      String shown = text.length() > 16 ? text.substring(0, 16) + "..." : text;
      throw new MalformedInputException(
          MalformedInputException.Kind.MALFORMED_REQUEST,
          field + " is not base64url: \"" + shown + "\"");
    }
    if (out.length > maxBytes) {
      throw new MalformedInputException(
          MalformedInputException.Kind.OVERSIZE, field + " is longer than " + maxBytes + " bytes");
    }
    return out;
  }

  /** The bytes of {@code text}, or null where {@code Base64.getUrlDecoder()} would throw. */
  private static byte[] decodeOrNull(String text) {
    int end = text.length();
    int pad = 0;
    while (pad < 2 && end > 0 && text.charAt(end - 1) == '=') {
      end--;
      pad++;
    }
    int tail = end % 4;
    if (tail == 1 || (pad > 0 && tail + pad != 4)) {
      return null;
    }
    int whole = end - tail;
    byte[] out = new byte[whole / 4 * 3 + (tail == 0 ? 0 : tail - 1)];
    int o = 0;
    for (int i = 0; i < whole; i += 4) {
      int bits =
          value(text.charAt(i)) << 18
              | value(text.charAt(i + 1)) << 12
              | value(text.charAt(i + 2)) << 6
              | value(text.charAt(i + 3));
      if (bits < 0) {
        return null;
      }
      out[o++] = (byte) (bits >> 16);
      out[o++] = (byte) (bits >> 8);
      out[o++] = (byte) bits;
    }
    if (tail > 0) {
      int bits =
          value(text.charAt(whole)) << 18
              | value(text.charAt(whole + 1)) << 12
              | (tail == 3 ? value(text.charAt(whole + 2)) << 6 : 0);
      if (bits < 0) {
        return null;
      }
      out[o++] = (byte) (bits >> 16);
      if (tail == 3) {
        out[o] = (byte) (bits >> 8);
      }
    }
    return out;
  }

  /** The 6-bit value of {@code c}, or a negative number (with every high bit set) if invalid. */
  private static int value(char c) {
    return c < 128 ? VALUE[c] : -1;
  }
}
