package dev.keycast.host.store;

import java.time.Instant;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * A cinema: a name its screens are grouped and fetched by, and the UTC offset its KDMs' timestamps
 * are written in (wire-format.md section 9.3). Both are the host's word, for people and file
 * names; neither decides who gets a KDM.
 *
 * @param name 1 to {@value #MAX_NAME} characters, no control character and no {@code /}
 * @param utcOffset {@code +HH:MM} or {@code -HH:MM} (hours 00..14, minutes 00..59)
 * @param updatedAt when the cinema was created or its offset last set (millisecond precision)
 */
public record CinemaRecord(String name, String utcOffset, Instant updatedAt) {
  /** Longest cinema or screen name, in characters. */
  public static final int MAX_NAME = 64;
  /** The offset of a cinema that was given none. */
  public static final String UTC = "+00:00";
  private static final Pattern OFFSET = Pattern.compile("[+-](0[0-9]|1[0-4]):[0-5][0-9]");

  public CinemaRecord {
    checkName("cinema name", name);
    if (!isUtcOffset(utcOffset)) {
      throw new IllegalArgumentException("utc offset must be +HH:MM or -HH:MM: "
          + Checks.quote(String.valueOf(utcOffset)));
    }
    updatedAt = Checks.millis(Objects.requireNonNull(updatedAt, "updatedAt"));
  }

  /** True for {@code +HH:MM} / {@code -HH:MM} with hours 00..14 (and not beyond 14:00). */
  public static boolean isUtcOffset(String s) {
    return s != null && OFFSET.matcher(s).matches()
        && !(s.startsWith("+14") || s.startsWith("-14") ? !s.endsWith(":00") : false);
  }

  /** Checks a cinema or screen name (see {@link #name}); returns it. */
  public static String checkName(String what, String name) {
    Objects.requireNonNull(name, what);
    if (!isName(name)) {
      throw new IllegalArgumentException(what + " must be 1 to " + MAX_NAME
          + " characters without control characters or '/': " + Checks.quote(name));
    }
    return name;
  }

  /** True for a valid cinema or screen name. */
  public static boolean isName(String name) {
    return name != null && !name.isEmpty() && name.length() <= MAX_NAME && name.equals(name.strip())
        && name.chars().noneMatch(c -> Character.isISOControl(c) || c == '/' || c == '\\');
  }
}
