package dev.keycast.protocol.attestation;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** The negative (and one positive) vector files listed in vectors/attestation/EXPECTED.txt. */
class VectorFilesTest {
  private static final String DIR = "/vectors/attestation/";

  static Stream<String[]> vectors() throws IOException {
    try (InputStream in = VectorFilesTest.class.getResourceAsStream(DIR + "EXPECTED.txt")) {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8)
              .lines()
              .filter(l -> !l.isBlank() && !l.startsWith("#"))
              .map(l -> l.split(" ", 3))
              .toList()
              .stream();
    }
  }

  @ParameterizedTest(name = "{0} -> {1}")
  @MethodSource("vectors")
  void vectorGivesItsExpectedResult(String file, String expected, String description)
      throws Exception {
    byte[] doc;
    try (InputStream in = VectorFilesTest.class.getResourceAsStream(DIR + file)) {
      doc = in.readAllBytes();
    }
    assertThat(file).endsWith(expected.equals("OK") ? ".ok" : ".fail");
    assertThat(file)
        .as("file names start with the expectation")
        .startsWith(expected.toLowerCase(java.util.Locale.ROOT) + "-");
    AttestationVerifier v =
        AttestationVerifier.create(
            VerificationPolicy.builder()
                .validationTime(
                    ValidationTime.at(Vectors.PRODUCTION_TIME, ValidationTime.DEFAULT_MAX_AGE))
                .build());
    try {
      v.verify(doc);
      assertThat(expected).as(description).isEqualTo("OK");
    } catch (AttestationException e) {
      if (expected.equals("OK")) {
        fail(file + ": " + e);
      }
      assertThat(e.reason().name()).as(e.getMessage()).isEqualTo(expected);
    }
    assertThat(Arrays.equals(doc, Vectors.production())).isFalse();
  }
}
