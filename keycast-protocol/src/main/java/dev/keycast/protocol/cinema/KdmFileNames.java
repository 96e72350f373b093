package dev.keycast.protocol.cinema;

import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Locale;
import java.util.Objects;
import java.util.UUID;
import java.util.regex.Pattern;

/**
 * The file name of a KDM (wire-format.md section 9.5):
 * {@code <title>_<cinema>_<screen>_<not-before>_<not-after>_<cpl-id>.kdm.xml}, where title, cinema
 * and screen keep {@code [A-Za-z0-9.-]}, turn every other character into {@code -} and are cut to
 * {@value #MAX_PART} characters, the times are the key window in the cinema's offset as
 * {@code YYYYMMDDTHHMM}, and the CPL id is the lowercase UUID. One function for the host (zip
 * entries) and the CLI (which also refuses any name that is not {@link #isSafeFileName safe}).
 */
public final class KdmFileNames {
  /** Longest title, cinema or screen part. */
  public static final int MAX_PART = 40;

  /** The suffix of every KDM file. */
  public static final String SUFFIX = ".kdm.xml";

  /** What a name's cinema part is when the screen belongs to no cinema. */
  public static final String NO_CINEMA = "no-cinema";

  /** Longest name {@link #isSafeFileName} accepts (3 parts, 2 times, a UUID, separators, a counter). */
  public static final int MAX_NAME = 3 * MAX_PART + 2 * 13 + 36 + 5 + SUFFIX.length() + 8;

  private static final DateTimeFormatter TIME =
      DateTimeFormatter.ofPattern("uuuuMMdd'T'HHmm", Locale.ROOT);
  private static final Pattern SAFE = Pattern.compile("[A-Za-z0-9._-]+");

  private KdmFileNames() {}

  /** The name of a KDM with these fields, its times written in {@code offset}. */
  public static String name(
      String title,
      String cinema,
      String screen,
      OffsetDateTime notBefore,
      OffsetDateTime notAfter,
      ZoneOffset offset,
      UUID cplId) {
    Objects.requireNonNull(offset, "offset");
    return part(title)
        + "_"
        + part(cinema == null ? NO_CINEMA : cinema)
        + "_"
        + part(screen)
        + "_"
        + TIME.format(notBefore.withOffsetSameInstant(offset))
        + "_"
        + TIME.format(notAfter.withOffsetSameInstant(offset))
        + "_"
        + cplId.toString().toLowerCase(Locale.ROOT)
        + SUFFIX;
  }

  /**
   * The name of {@code kdm} (its title, CPL id and window read unverified: names only) for a
   * screen of {@code cinema} (null: none) named {@code screen}, in {@code offset}.
   */
  public static String of(byte[] kdm, String cinema, String screen, ZoneOffset offset)
      throws CinemaException {
    KdmReader.UnverifiedNames n = KdmReader.readUnverifiedNames(kdm);
    return name(
        n.contentTitle(), cinema, screen, n.notValidBefore(), n.notValidAfter(), offset, n.cplId());
  }

  /**
   * The name of a zip of one cinema's KDMs of one send (its e-mail attachment, issue 25):
   * {@code <title>_<cinema>_<not-before>_<not-after>_<cpl-id>.zip}, the parts as in {@link #name}.
   */
  public static String zipName(
      String title,
      String cinema,
      OffsetDateTime notBefore,
      OffsetDateTime notAfter,
      ZoneOffset offset,
      UUID cplId) {
    Objects.requireNonNull(offset, "offset");
    return part(title)
        + "_"
        + part(cinema == null ? NO_CINEMA : cinema)
        + "_"
        + TIME.format(notBefore.withOffsetSameInstant(offset))
        + "_"
        + TIME.format(notAfter.withOffsetSameInstant(offset))
        + "_"
        + cplId.toString().toLowerCase(Locale.ROOT)
        + ZIP_SUFFIX;
  }

  /** The suffix of a cinema's KDM zip. */
  public static final String ZIP_SUFFIX = ".zip";

  /**
   * {@code name} with a counter before the suffix ({@code _2}, {@code _3}, ...): how a zip names a
   * second KDM whose fields give the same name (two sends of one CPL, screen and window).
   */
  public static String numbered(String name, int n) {
    if (n < 2) {
      return name;
    }
    String stem = name.endsWith(SUFFIX) ? name.substring(0, name.length() - SUFFIX.length()) : name;
    return stem + "_" + n + SUFFIX;
  }

  /**
   * True when {@code name} is a plain file name a KDM may be written under: 1 to {@link #MAX_NAME}
   * characters of {@code [A-Za-z0-9._-]}, not starting with a dot, so no directory, no parent
   * reference, no hidden file and no drive or device name can be formed.
   */
  public static boolean isSafeFileName(String name) {
    return name != null
        && !name.isEmpty()
        && name.length() <= MAX_NAME
        && name.charAt(0) != '.'
        && SAFE.matcher(name).matches();
  }

  static String part(String s) {
    if (s == null || s.isEmpty()) {
      return "-";
    }
    StringBuilder b = new StringBuilder(Math.min(s.length(), MAX_PART));
    for (int i = 0; i < s.length() && b.length() < MAX_PART; ) {
      int cp = s.codePointAt(i);
      i += Character.charCount(cp);
      boolean keep =
          (cp >= 'A' && cp <= 'Z')
              || (cp >= 'a' && cp <= 'z')
              || (cp >= '0' && cp <= '9')
              || cp == '.'
              || cp == '-';
      b.append(keep && !(cp == '.' && b.isEmpty()) ? (char) cp : '-');
    }
    return b.toString();
  }
}
