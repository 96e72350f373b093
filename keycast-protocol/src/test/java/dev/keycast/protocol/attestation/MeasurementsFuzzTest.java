package dev.keycast.protocol.attestation;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.keycast.protocol.MalformedInputException;
import dev.keycast.protocol.fuzz.FuzzContract;
import dev.keycast.protocol.fuzz.FuzzContract.Outcome;
import java.nio.charset.StandardCharsets;
import java.util.SortedMap;

/**
 * Coverage-guided fuzz targets for the measurement/PCR files an operator passes to the CLI and
 * the enclave (expected PCRs in Keycast's, nitro-cli's and build-eif's formats) and for PEM/DER
 * trust roots.
 *
 * <p>Contract: only {@link MalformedInputException} with a stable code escapes; allocation stays
 * linear in the input; every accepted set holds PCR0..2 of 48 bytes each and only known indices;
 * {@link ExpectedPcrs#toJson()} of an accepted file parses back to the same sets.
 */
class MeasurementsFuzzTest {
  private static final long ALLOCATION_PER_BYTE = 256;

  @FuzzTest
  void expectedPcrs(byte[] input) {
    Outcome<ExpectedPcrs> parsed =
        FuzzContract.typedOnly(
            input,
            ALLOCATION_PER_BYTE,
            () -> ExpectedPcrs.parseJson(input),
            MalformedInputException.class);
    if (parsed.ok()) {
      ExpectedPcrs p = parsed.value();
      assertThat(p.sets()).isNotEmpty().hasSizeLessThanOrEqualTo(ExpectedPcrs.MAX_SETS);
      for (SortedMap<Integer, byte[]> set : p.sets()) {
        assertThat(set.keySet()).containsAll(ExpectedPcrs.REQUIRED);
        set.forEach(
            (index, value) -> {
              assertThat(
                      ExpectedPcrs.REQUIRED.contains(index)
                          || ExpectedPcrs.OPTIONAL.contains(index))
                  .isTrue();
              assertThat(value).hasSize(ExpectedPcrs.PCR_BYTES);
            });
      }
      byte[] written = p.toJson().getBytes(StandardCharsets.UTF_8);
      Outcome<ExpectedPcrs> again =
          FuzzContract.typedOnly(
              written,
              ALLOCATION_PER_BYTE,
              () -> ExpectedPcrs.parseJson(written),
              MalformedInputException.class);
      assertThat(again.ok()).as("toJson() output parses: %s", again.error()).isTrue();
      assertThat(again.value().toJson()).isEqualTo(p.toJson());
    }
  }

  @FuzzTest
  void trustRootPemOrDer(byte[] input) {
    Outcome<TrustRoot> parsed =
        FuzzContract.typedOnly(
            input,
            ALLOCATION_PER_BYTE,
            () -> TrustRoot.fromPem("fuzz", input),
            MalformedInputException.class);
    if (parsed.ok()) {
      assertThat(parsed.value().sha256())
          .isEqualTo(TrustRoot.fingerprint(parsed.value().certificate()));
    }
  }
}
