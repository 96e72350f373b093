package dev.keycast.transport;

/**
 * Thrown by {@link Endpoint#parse(String)} when a string is not a valid endpoint address.
 *
 * <p>This is an {@link IllegalArgumentException}: endpoint strings come from configuration and
 * command lines, where a bad value is a caller error, not a recoverable I/O condition. The message
 * quotes the offending input (control characters escaped, long input truncated) and says what is
 * wrong; {@link #input()} and {@link #reason()} give the two parts separately.
 */
public final class EndpointSyntaxException extends IllegalArgumentException {
  private static final int MAX_QUOTED = 120;

  private final String input;
  private final String reason;

  EndpointSyntaxException(String input, String reason) {
    super("invalid endpoint " + quote(input) + ": " + reason);
    this.input = input;
    this.reason = reason;
  }

  /** The rejected input, verbatim (may be {@code null}). */
  public String input() {
    return input;
  }

  /** What is wrong with the input, without the input itself. */
  public String reason() {
    return reason;
  }

  static String quote(String s) {
    if (s == null) {
      return "null";
    }
    StringBuilder b = new StringBuilder("\"");
    int n = Math.min(s.length(), MAX_QUOTED);
    for (int i = 0; i < n; i++) {
      char c = s.charAt(i);
      if (c == '"' || c == '\\') {
        b.append('\\').append(c);
      } else if (c < 0x20 || c == 0x7f) {
        b.append(String.format("\\x%02x", (int) c));
      } else {
        b.append(c);
      }
    }
    if (s.length() > MAX_QUOTED) {
      b.append("...");
    }
    return b.append('"').toString();
  }
}
