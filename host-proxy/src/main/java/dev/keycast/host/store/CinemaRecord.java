package dev.keycast.host.store;

import java.time.Instant;
import java.util.List;
import java.util.Locale;
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
 * @param emails the addresses its KDMs are e-mailed to (issue 25; at most {@value #MAX_EMAILS}, each
 *     {@link #isEmail} and at most {@value #MAX_EMAIL} characters, lowercase domain, no duplicate)
 */
public record CinemaRecord(String name, String utcOffset, Instant updatedAt, List<String> emails) {
  /** Most e-mail addresses of one cinema. */
  public static final int MAX_EMAILS = 16;

  /** Longest e-mail address, in characters (RFC 5321's path limit less the brackets). */
  public static final int MAX_EMAIL = 254;

  private static final Pattern EMAIL =
      Pattern.compile(
          "[A-Za-z0-9!#$%&'*+=?^_`{|}~-]+(\\.[A-Za-z0-9!#$%&'*+=?^_`{|}~-]+)*"
              + "@[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+");

  /** Longest cinema or screen name, in characters. */
  public static final int MAX_NAME = 64;

  /** The offset of a cinema that was given none. */
  public static final String UTC = "+00:00";

  private static final Pattern OFFSET = Pattern.compile("[+-](0[0-9]|1[0-4]):[0-5][0-9]");

  public CinemaRecord {
    checkName("cinema name", name);
    if (!isUtcOffset(utcOffset)) {
      throw new IllegalArgumentException(
          "utc offset must be +HH:MM or -HH:MM: " + Checks.quote(String.valueOf(utcOffset)));
    }
    updatedAt = Checks.millis(Objects.requireNonNull(updatedAt, "updatedAt"));
    emails = checkEmails(emails == null ? List.of() : emails);
  }

  /** A cinema without e-mail addresses. */
  public CinemaRecord(String name, String utcOffset, Instant updatedAt) {
    this(name, utcOffset, updatedAt, List.of());
  }

  /** This cinema with other addresses (checked) and update time. */
  public CinemaRecord withEmails(List<String> addresses, Instant at) {
    return new CinemaRecord(name, utcOffset, at, addresses);
  }

  /**
   * True for an address of the dot-atom form {@code local@domain} (RFC 5322 without quoted local
   * parts or address literals), at most {@value #MAX_EMAIL} characters, whose domain has at least
   * two labels: what an SMTP server of a cinema is sent to, with nothing a header could be broken by.
   */
  public static boolean isEmail(String s) {
    return s != null
        && s.length() <= MAX_EMAIL
        && s.indexOf('@') <= 64
        && EMAIL.matcher(s).matches();
  }

  /**
   * The addresses checked ({@link #isEmail}, at most {@value #MAX_EMAILS}) with their domain in
   * lowercase and duplicates dropped, in order.
   */
  public static List<String> checkEmails(List<String> addresses) {
    Objects.requireNonNull(addresses, "emails");
    if (addresses.size() > MAX_EMAILS) {
      throw new IllegalArgumentException(
          "a cinema has at most " + MAX_EMAILS + " e-mail addresses");
    }
    java.util.LinkedHashSet<String> out = new java.util.LinkedHashSet<>();
    for (String a : addresses) {
      if (!isEmail(a)) {
        throw new IllegalArgumentException(
            "not an e-mail address (local@domain.tld, at most "
                + MAX_EMAIL
                + " characters): "
                + Checks.quote(String.valueOf(a)));
      }
      int at = a.indexOf('@');
      out.add(a.substring(0, at) + a.substring(at).toLowerCase(Locale.ROOT));
    }
    return List.copyOf(out);
  }

  /** True for {@code +HH:MM} / {@code -HH:MM} with hours 00..14 (and not beyond 14:00). */
  public static boolean isUtcOffset(String s) {
    return s != null
        && OFFSET.matcher(s).matches()
        && !(s.startsWith("+14") || s.startsWith("-14") ? !s.endsWith(":00") : false);
  }

  /** Checks a cinema or screen name (see {@link #name}); returns it. */
  public static String checkName(String what, String name) {
    Objects.requireNonNull(name, what);
    if (!isName(name)) {
      throw new IllegalArgumentException(
          what
              + " must be 1 to "
              + MAX_NAME
              + " characters without control characters or '/': "
              + Checks.quote(name));
    }
    return name;
  }

  /** True for a valid cinema or screen name. */
  public static boolean isName(String name) {
    return name != null
        && !name.isEmpty()
        && name.length() <= MAX_NAME
        && name.equals(name.strip())
        && name.chars().noneMatch(c -> Character.isISOControl(c) || c == '/' || c == '\\');
  }
}
