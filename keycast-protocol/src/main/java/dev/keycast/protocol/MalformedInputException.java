package dev.keycast.protocol;

import java.util.HexFormat;

/**
 * A decoder rejected its input: oversized, truncated, garbled or of an unknown version.
 *
 * <p>Every decoder in Keycast throws this (or a subclass) instead of letting a library's unchecked
 * exception escape. The message quotes a short, safe prefix of the bad input where that helps; it
 * never quotes secret material. What went wrong is a {@link Kind}: callers branch on the constant
 * ({@link #kind()}), never on the text of its wire code.
 */
public class MalformedInputException extends Exception {
  /** What is wrong with the input; {@link #code()} is the stable wire spelling. */
  public enum Kind {
    MALFORMED("malformed"),
    MALFORMED_REQUEST("malformed_request"),
    NON_CANONICAL("non_canonical"),
    OVERSIZE("oversize"),
    TRUNCATED("truncated"),
    UNSUPPORTED("unsupported"),
    UNSUPPORTED_ALGORITHM("unsupported_algorithm"),
    UNSUPPORTED_KEY("unsupported_key"),
    UNSUPPORTED_VERSION("unsupported_version"),
    INVALID_POLICY("invalid_policy");

    private final String code;

    Kind(String code) {
      this.code = code;
    }

    /** The stable machine-readable spelling, e.g. {@code truncated}. */
    public String code() {
      return code;
    }
  }

  private final Kind kind;

  /**
   * @param kind what is wrong: {@link Kind#TRUNCATED}, {@link Kind#OVERSIZE}, {@link
   *     Kind#UNSUPPORTED_VERSION}, {@link Kind#MALFORMED}...
   * @param message a human message that says what is wrong
   */
  public MalformedInputException(Kind kind, String message) {
    super(message);
    this.kind = java.util.Objects.requireNonNull(kind, "kind");
  }

  public MalformedInputException(Kind kind, String message, Throwable cause) {
    super(message, cause);
    this.kind = java.util.Objects.requireNonNull(kind, "kind");
  }

  /** What is wrong with the input. */
  public Kind kind() {
    return kind;
  }

  /** The stable machine-readable error code ({@link Kind#code()} of {@link #kind()}). */
  public String code() {
    return kind.code();
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

  /**
   * A (non-secret) input text for an error message: in double quotes, cut to {@code max}
   * characters (then {@code ...}), control characters shown as {@code ?}; {@code null} unquoted.
   * The one quoting rule of Keycast's error messages.
   */
  public static String quote(String text, int max) {
    if (text == null) {
      return "null";
    }
    String shown = text.length() > max ? text.substring(0, max) + "..." : text;
    return "\"" + shown.replaceAll("\\p{Cntrl}", "?") + "\"";
  }
}
