package dev.keycast.protocol.booking;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.keycast.protocol.MalformedInputException;
import dev.keycast.protocol.VectorDirs;
import dev.keycast.protocol.cinema.DkdmBinding;
import java.nio.file.Path;
import java.time.Instant;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The booking vectors of wire-format.md section 11 ({@code src/test-vectors/booking}), named
 * age-style by what they expect ({@code ok-} or the error code): {@code rules} and {@code
 * booking} vectors are parsed as the enclave parses them; {@code checks} vectors run {@link
 * BookingChecks} in the enclave's order on a rules statement, a booking, a DKDM binding, the
 * enclave's clock (the rules' two signatures are checked before, by the route: BookingTest).
 */
class BookingVectorsTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  static Stream<Path> vectors() {
    return VectorDirs.json("booking", 30);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("vectors")
  void vector(Path file) throws Exception {
    JsonNode v = JSON.readTree(file.toFile());
    String expect = v.get("expect").asText();
    assertThat(file.getFileName().toString())
        .as("file names start with the expectation")
        .startsWith(expect + "-");
    String got =
        switch (v.get("kind").asText()) {
          case "rules" ->
              parse(
                  () -> StudioRules.decode(JSON.writeValueAsBytes(v.get("rules"))),
                  "rules_invalid");
          case "booking" -> {
            String r =
                parse(
                    () -> KdmBooking.decode(JSON.writeValueAsBytes(v.get("booking"))),
                    "booking_invalid");
            if (r.equals("ok") && v.has("parsed")) {
              assertThat(
                      KdmBooking.decode(JSON.writeValueAsBytes(v.get("booking")))
                          .kdm()
                          .formulation())
                  .isEqualTo(v.get("parsed").get("formulation").asText());
            }
            yield r;
          }
          case "checks" -> checks(v);
          default -> throw new AssertionError("unknown kind in " + file);
        };
    assertThat(got).as(v.get("description").asText()).isEqualTo(expect);
  }

  /** The enclave's checks of section 11.3, steps 3 and 4: the first refusal's code, or "ok". */
  static String checks(JsonNode v) throws Exception {
    StudioRules rules = StudioRules.decode(JSON.writeValueAsBytes(v.get("rules")));
    KdmBooking booking = KdmBooking.decode(JSON.writeValueAsBytes(v.get("booking")));
    DkdmBinding binding = DkdmBinding.decode(JSON.writeValueAsBytes(v.get("binding")));
    try {
      BookingChecks.rulesFitDkdm(rules, binding);
      BookingChecks.bookingFits(booking, rules, binding, Instant.parse(v.get("now").asText()));
      return "ok";
    } catch (BookingException e) {
      return e.code().code();
    }
  }

  @FunctionalInterface
  interface Parse {
    Object run() throws Exception;
  }

  static String parse(Parse p, String code) throws Exception {
    try {
      p.run();
      return "ok";
    } catch (MalformedInputException e) {
      return code;
    }
  }
}
