package dev.keycast.protocol.cinema;

import java.time.OffsetDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.time.temporal.ChronoUnit;

/**
 * KDM timestamps: {@code YYYY-MM-DDThh:mm:ss+hh:mm}, always exactly 25 characters with a numeric
 * offset ({@code +00:00} for UTC, never {@code Z}), as the 138-byte cipher block and libdcp need.
 */
public final class KdmTimestamps {
  /** Length of every KDM timestamp. */
  public static final int LENGTH = 25;

  private static final DateTimeFormatter FORMAT =
      DateTimeFormatter.ofPattern("uuuu-MM-dd'T'HH:mm:ssxxx");

  private KdmTimestamps() {}

  /**
   * Formats a time whose offset is whole minutes and whose year has four digits; seconds'
   * fractions are cut off.
   */
  public static String format(OffsetDateTime t) throws CinemaException {
    if (t.getOffset().getTotalSeconds() % 60 != 0) {
      throw new CinemaException("kdm_timestamp", "a KDM time offset must be whole minutes");
    }
    String s = FORMAT.format(t.truncatedTo(ChronoUnit.SECONDS));
    if (s.length() != LENGTH) {
      throw new CinemaException("kdm_timestamp", "a KDM time must have a four-digit year");
    }
    return s;
  }

  /** Parses exactly the 25-character form {@link #format} writes. */
  public static OffsetDateTime parse(String s) throws CinemaException {
    if (s == null || s.length() != LENGTH) {
      throw new CinemaException(
          "kdm_timestamp", "a KDM time is YYYY-MM-DDThh:mm:ss+hh:mm (25 characters)");
    }
    try {
      return OffsetDateTime.parse(s, FORMAT);
    } catch (DateTimeParseException e) {
      throw new CinemaException(
          "kdm_timestamp", "a KDM time is YYYY-MM-DDThh:mm:ss+hh:mm (25 characters)");
    }
  }
}
