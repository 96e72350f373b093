package dev.keycast.protocol.cbor;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.keycast.protocol.MalformedInputException;
import dev.keycast.protocol.fuzz.FuzzContract;
import dev.keycast.protocol.fuzz.FuzzContract.Outcome;

/**
 * Coverage-guided fuzz target for the strict CBOR reader that every CBOR format (attestation
 * documents, COSE, receipts, NSM answers, KMS request bodies) goes through.
 *
 * <p>Contract: {@link CborReader#decode} and {@link CborReader#skip} end in a value or a typed
 * {@link MalformedInputException}, allocating at most linearly in the input; both agree on which
 * inputs are one well-formed item; a canonical decode re-encodes to exactly the input bytes; a
 * lenient decode re-encodes to a canonical item that decodes to the same tree.
 */
class CborReaderFuzzTest {
  /** What the NSM and KMS readers allow: indefinite containers and non-shortest heads. */
  static final CborReader.Options LENIENT = new CborReader.Options(true, true, 16, 4096);

  /** Trees may box every byte: a 1-byte element costs an object, a list slot and a map entry. */
  static final long ALLOCATION_PER_BYTE = 256;

  @FuzzTest
  void decodeAndSkip(byte[] input) {
    Outcome<Object> canonical =
        FuzzContract.typedOnly(
            input,
            ALLOCATION_PER_BYTE,
            () -> CborReader.decode(input, CborReader.Options.CANONICAL),
            MalformedInputException.class);
    Outcome<Object> lenient =
        FuzzContract.typedOnly(
            input,
            ALLOCATION_PER_BYTE,
            () -> CborReader.decode(input, LENIENT),
            MalformedInputException.class);
    Outcome<Integer> skipped =
        FuzzContract.typedOnly(
            input,
            ALLOCATION_PER_BYTE,
            () -> {
              CborReader r = new CborReader(input, CborReader.Options.CANONICAL);
              r.skip("item");
              return r.position();
            },
            MalformedInputException.class);

    if (canonical.ok()) {
      // canonical input has exactly one encoding: writing the tree back gives the input
      assertThat(CborTrees.encode(canonical.value())).isEqualTo(input);
      assertThat(lenient.ok()).as("lenient reader accepts what the canonical one does").isTrue();
      assertThat(CborTrees.encode(lenient.value())).isEqualTo(input);
      assertThat(skipped.ok()).as("skip accepts a decodable item").isTrue();
      assertThat(skipped.value()).isEqualTo(input.length);
    }
    if (lenient.ok()) {
      byte[] reencoded = CborTrees.encode(lenient.value());
      Outcome<Object> again =
          FuzzContract.typedOnly(
              reencoded,
              ALLOCATION_PER_BYTE,
              () -> CborReader.decode(reencoded, CborReader.Options.CANONICAL),
              MalformedInputException.class);
      assertThat(again.ok())
          .as("a re-encoded lenient item is canonical: %s", again.error())
          .isTrue();
      assertThat(CborTrees.encode(again.value())).isEqualTo(reencoded);
    }
  }
}
