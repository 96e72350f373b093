package dev.keycast.protocol;

import java.util.HexFormat;

/**
 * A decoder rejected its input: oversized, truncated, garbled or of an unknown version.
 *
 * <p>Every decoder in Keycast throws this (or a subclass) instead of letting a library's unchecked
 * exception escape. The message quotes a short, safe prefix of the bad input where that helps; it
 * never quotes secret material.
 */
public class MalformedInputException extends Exception {
  private final String code;

  /**
   * @param code a stable machine-readable code such as {@code truncated}, {@code oversize},
   *     {@code unsupported_version}, {@code malformed}
   * @param message a human message that says what is wrong
   */
  public MalformedInputException(String code, String message) {
    super(message);
    this.code = code;
  }

  public MalformedInputException(String code, String message, Throwable cause) {
    super(message, cause);
    this.code = code;
  }

  /** The stable machine-readable error code. */
  public String code() {
    return code;
  }

  /** Hex of at most the first {@code max} bytes of a (non-secret) input, for error messages. */
  public static String quote(byte[] input, int max) {
    if (input == null) {
      return "null";
    }
    int n = Math.min(input.length, max);
    String hex = HexFormat.of().formatHex(input, 0, n);
    return input.length > n ? hex + "..." : hex;
  }
}
