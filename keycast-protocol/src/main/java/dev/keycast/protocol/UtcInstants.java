package dev.keycast.protocol;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.DeserializationContext;
import com.fasterxml.jackson.databind.deser.std.StdScalarDeserializer;
import com.fasterxml.jackson.datatype.jsr310.deser.InstantDeserializer;
import java.io.IOException;
import java.time.DateTimeException;
import java.time.Instant;
import java.time.LocalDate;

/**
 * The common spelling of an instant, {@code yyyy-MM-ddTHH:mm:ss[.f{1,9}]Z} (what
 * {@link Instant#toString()} writes for years 0000-9999), parsed by hand: a send's policy carries
 * two, parsed by the host and by the enclave on every send, and {@code DateTimeFormatter}'s
 * general parser was a measurable share of a small send's CPU time (performance.md section 3).
 * Anything else (lowercase letters, offsets, leap seconds, other years, digits only) is left to
 * jackson-datatype-jsr310's {@link InstantDeserializer}, so the accepted inputs and their values
 * are exactly those of the standard deserializer.
 */
final class UtcInstants {
  private UtcInstants() {}

  /** The instant {@code s} spells in the common form, or null when it is not in that form. */
  static Instant parseOrNull(String s) {
    int n = s.length();
    if (n < 20
        || n > 30
        || n == 21
        || s.charAt(n - 1) != 'Z'
        || s.charAt(4) != '-'
        || s.charAt(7) != '-'
        || s.charAt(10) != 'T'
        || s.charAt(13) != ':'
        || s.charAt(16) != ':') {
      return null;
    }
    int year = digits(s, 0, 4);
    int month = digits(s, 5, 7);
    int day = digits(s, 8, 10);
    int hour = digits(s, 11, 13);
    int minute = digits(s, 14, 16);
    int second = digits(s, 17, 19);
    if (year < 0
        || month < 0
        || day < 0
        || hour < 0
        || hour > 23
        || minute < 0
        || minute > 59
        || second < 0
        || second > 59) {
      return null;
    }
    int nanos = 0;
    if (n > 20) {
      // ".f{1,9}" between the seconds and the 'Z'
      if (s.charAt(19) != '.') {
        return null;
      }
      int fraction = digits(s, 20, n - 1);
      if (fraction < 0) {
        return null;
      }
      nanos = fraction;
      for (int i = n - 1 - 20; i < 9; i++) {
        nanos *= 10;
      }
    }
    long epochDay;
    try {
      epochDay = LocalDate.of(year, month, day).toEpochDay();
    } catch (DateTimeException e) {
      return null; // February 30 and the like: the standard parser words the error
    }
    return Instant.ofEpochSecond(epochDay * 86_400 + hour * 3_600 + minute * 60 + second, nanos);
  }

  /** The decimal value of {@code s[from, to)}, or -1 if any of it is not an ASCII digit. */
  private static int digits(String s, int from, int to) {
    int v = 0;
    for (int i = from; i < to; i++) {
      int d = s.charAt(i) - '0';
      if (d < 0 || d > 9) {
        return -1;
      }
      v = v * 10 + d;
    }
    return v;
  }

  /** Jackson deserializer: the common form by hand, everything else by the standard one. */
  static final class Deserializer extends StdScalarDeserializer<Instant> {
    private static final long serialVersionUID = 1L;

    Deserializer() {
      super(Instant.class);
    }

    @Override
    public Instant deserialize(JsonParser p, DeserializationContext ctxt) throws IOException {
      if (p.hasToken(JsonToken.VALUE_STRING)) {
        Instant fast = parseOrNull(p.getText());
        if (fast != null) {
          return fast;
        }
      }
      return InstantDeserializer.INSTANT.deserialize(p, ctxt);
    }
  }
}
