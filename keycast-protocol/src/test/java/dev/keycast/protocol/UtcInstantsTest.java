package dev.keycast.protocol;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Instant;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class UtcInstantsTest {
  /** What the standard parser makes of {@code s}, or null when it refuses it. */
  private static Instant standard(String s) {
    try {
      return DateTimeFormatter.ISO_INSTANT.parse(s, Instant::from);
    } catch (DateTimeParseException e) {
      return null;
    }
  }

  @Test
  void agreesWithTheStandardParserWheneverItAnswers() {
    Random random = new Random(11);
    int fast = 0;
    for (int i = 0; i < 50_000; i++) {
      // a valid instant in its common spelling, then in most cases one edit
      Instant t =
          Instant.ofEpochSecond(
              random.nextLong(-62_000_000_000L, 253_000_000_000L),
              random.nextInt(4) == 0 ? random.nextInt(1_000_000_000) : 0);
      StringBuilder b = new StringBuilder(t.toString());
      switch (random.nextInt(8)) {
        case 0 ->
            b.setCharAt(
                random.nextInt(b.length()), "0123456789-:.TZtz+ x".charAt(random.nextInt(20)));
        case 1 -> b.deleteCharAt(random.nextInt(b.length()));
        case 2 -> b.insert(random.nextInt(b.length()), (char) ('0' + random.nextInt(10)));
        case 3 -> b.replace(8, 10, String.format("%02d", random.nextInt(40))); // day 00..39
        case 4 -> b.replace(17, 19, String.format("%02d", 55 + random.nextInt(8))); // 55..62 s
        default -> {}
      }
      String s = b.toString();
      Instant ours = UtcInstants.parseOrNull(s);
      if (ours != null) {
        fast++;
        assertThat(ours).as("\"%s\"", s).isEqualTo(standard(s));
      }
    }
    assertThat(fast).as("inputs the fast path took").isGreaterThan(20_000);
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "2026-11-23T19:00:00Z", "2026-11-23T19:00:00.5Z", "2026-11-23T19:00:00.123456789Z",
        "2024-02-29T23:59:59Z", "0000-01-01T00:00:00Z", "9999-12-31T23:59:59.999999999Z"
      })
  void takesTheCommonForm(String s) {
    assertThat(UtcInstants.parseOrNull(s)).isEqualTo(Instant.parse(s));
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "2026-11-23t19:00:00z", "2026-11-23T19:00:00+01:00", "2026-12-31T23:59:60Z",
        "2026-02-29T00:00:00Z", "2026-11-23T24:00:00Z", "+12026-11-23T19:00:00Z",
        "2026-11-23T19:00:00.Z", "2026-11-23T19:00:00.1234567890Z", "2026-11-23 19:00:00Z",
        "1700000000000", "٢٠٢٦-11-23T19:00:00Z"
      })
  void leavesEverythingElseToTheStandardDeserializer(String s) {
    assertThat(UtcInstants.parseOrNull(s)).isNull();
  }

  @Test
  void jsonDecodingTakesBothPathsAndKeepsTheStandardErrors() throws Exception {
    record At(Instant at) {}
    assertThat(Json.decode("{\"at\":\"2026-11-23T19:00:00.25Z\"}".getBytes(), 100, At.class).at())
        .isEqualTo(Instant.parse("2026-11-23T19:00:00.25Z"));
    // an offset: not the common form, parsed by jsr310's deserializer as before
    assertThat(Json.decode("{\"at\":\"2026-11-23T20:00:00+01:00\"}".getBytes(), 100, At.class).at())
        .isEqualTo(Instant.parse("2026-11-23T19:00:00Z"));
    // a leap second, as the standard parser reads it
    assertThat(Json.decode("{\"at\":\"2016-12-31T23:59:60Z\"}".getBytes(), 100, At.class).at())
        .isEqualTo(Instant.parse("2016-12-31T23:59:59Z"));
    assertThatThrownBy(
            () -> Json.decode("{\"at\":\"2026-02-30T00:00:00Z\"}".getBytes(), 100, At.class))
        .isInstanceOf(MalformedInputException.class)
        .hasMessageContaining("2026-02-30");
  }
}
