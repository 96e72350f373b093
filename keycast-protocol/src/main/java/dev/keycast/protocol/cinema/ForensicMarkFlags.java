package dev.keycast.protocol.cinema;

import java.util.regex.Pattern;

/** The ST 430-1 ForensicMarkFlag URIs Keycast writes. */
public final class ForensicMarkFlags {
  public static final String PICTURE_DISABLE =
      "http://www.smpte-ra.org/430-1/2006/KDM#mrkflg-picture-disable";
  public static final String AUDIO_DISABLE =
      "http://www.smpte-ra.org/430-1/2006/KDM#mrkflg-audio-disable";

  private static final Pattern ALLOWED =
      Pattern.compile(
          "http://www\\.smpte-ra\\.org/430-1/2006/KDM#mrkflg-(picture-disable|audio-disable|audio-disable-above-channel-(?:[1-9]|[1-9][0-9]))");

  private ForensicMarkFlags() {}

  /** Audio forensic marking disabled above channel {@code n} (1 to 99). */
  public static String audioDisableAboveChannel(int n) {
    if (n < 1 || n > 99) {
      throw new IllegalArgumentException("channel must be 1 to 99");
    }
    return AUDIO_DISABLE + "-above-channel-" + n;
  }

  /** Whether {@code uri} is one of the flags above. */
  public static boolean isKnown(String uri) {
    return uri != null && ALLOWED.matcher(uri).matches();
  }
}
