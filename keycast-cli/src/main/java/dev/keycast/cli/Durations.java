package dev.keycast.cli;

import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Parses the durations of the command line: {@code 30s}, {@code 5m}, {@code 2h}, {@code 7d} or ISO-8601. */
final class Durations {
  private static final Pattern SHORT = Pattern.compile("(\\d{1,9})(ms|s|m|h|d)");

  private Durations() {}

  static Duration parse(String option, String s) throws CliException {
    Matcher m = SHORT.matcher(s);
    Duration d;
    if (m.matches()) {
      long n = Long.parseLong(m.group(1));
      d =
          switch (m.group(2)) {
            case "ms" -> Duration.ofMillis(n);
            case "s" -> Duration.ofSeconds(n);
            case "m" -> Duration.ofMinutes(n);
            case "h" -> Duration.ofHours(n);
            default -> Duration.ofDays(n);
          };
    } else {
      try {
        d = Duration.parse(s);
      } catch (DateTimeParseException e) {
        throw CliException.usage(
            option + ": \"" + s + "\" is not a duration (30s, 5m, 2h, 7d or PT5M)");
      }
    }
    if (d.isNegative() || d.isZero()) {
      throw CliException.usage(option + ": must be positive, found " + s);
    }
    return d;
  }
}
