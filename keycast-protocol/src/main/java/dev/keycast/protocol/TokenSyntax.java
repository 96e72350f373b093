package dev.keycast.protocol;

import java.util.Objects;

/**
 * The syntax of an ASCII token: a length range and a set of ASCII characters, the equivalent of
 * a regular expression {@code [set]{min,max}} matched against the whole input. Ids, fingerprints
 * and names are checked on every request; this check is a table lookup per character, where
 * {@code java.util.regex} allocated a matcher and walked its node graph (a measurable share of a
 * small send's CPU time, performance.md section 3). Immutable.
 *
 * <p>The set is written as in a regular expression's character class, without the brackets:
 * single characters and ranges {@code a-z}; a {@code -} first or last stands for itself. Only
 * printable ASCII is accepted.
 */
public final class TokenSyntax {
  private final long low; // characters 0..63
  private final long high; // characters 64..127
  private final int min;
  private final int max;
  private final String pattern;

  private TokenSyntax(long low, long high, int min, int max, String pattern) {
    this.low = low;
    this.high = high;
    this.min = min;
    this.max = max;
    this.pattern = pattern;
  }

  /**
   * The syntax {@code [set]{min,max}}.
   *
   * @throws IllegalArgumentException for a set with a character outside printable ASCII, a
   *     reversed range, or a length range that is negative or reversed
   */
  public static TokenSyntax of(String set, int min, int max) {
    Objects.requireNonNull(set, "set");
    if (min < 0 || max < min) {
      throw new IllegalArgumentException("length range " + min + ".." + max + " is not valid");
    }
    if (set.isEmpty()) {
      throw new IllegalArgumentException("empty character set");
    }
    long low = 0;
    long high = 0;
    for (int i = 0; i < set.length(); i++) {
      char from = set.charAt(i);
      char to = from;
      if (i + 2 < set.length() && set.charAt(i + 1) == '-') {
        to = set.charAt(i + 2);
        i += 2;
      }
      if (from < 0x21 || to > 0x7e || to < from) {
        throw new IllegalArgumentException(
            "character set \""
                + set
                + "\" is not a list of "
                + "printable ASCII characters and ascending ranges");
      }
      for (char c = from; c <= to; c++) {
        if (c < 64) {
          low |= 1L << c;
        } else {
          high |= 1L << (c - 64);
        }
      }
    }
    String lengths = min == max ? "{" + min + "}" : "{" + min + "," + max + "}";
    return new TokenSyntax(low, high, min, max, "[" + set + "]" + lengths);
  }

  /** True when all of {@code s} is a token of this syntax; false for {@code null}. */
  public boolean matches(CharSequence s) {
    return s != null && matches(s, 0, s.length());
  }

  /** True when {@code s[from, to)} is a token of this syntax. */
  public boolean matches(CharSequence s, int from, int to) {
    Objects.checkFromToIndex(from, to, s.length());
    int n = to - from;
    if (n < min || n > max) {
      return false;
    }
    for (int i = from; i < to; i++) {
      if (!allows(s.charAt(i))) {
        return false;
      }
    }
    return true;
  }

  /** True when {@code c} is in the character set. */
  public boolean allows(char c) {
    if (c < 64) {
      return (low & (1L << c)) != 0;
    }
    return c < 128 && (high & (1L << (c - 64))) != 0;
  }

  /** The syntax as a regular expression, for error messages: {@code [A-Za-z0-9_-]{1,128}}. */
  public String pattern() {
    return pattern;
  }

  @Override
  public String toString() {
    return pattern;
  }
}
