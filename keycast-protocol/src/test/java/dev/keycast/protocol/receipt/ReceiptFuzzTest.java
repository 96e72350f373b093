package dev.keycast.protocol.receipt;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.keycast.protocol.MalformedInputException;
import dev.keycast.protocol.cbor.CborWriter;
import dev.keycast.protocol.fuzz.FuzzContract;
import dev.keycast.protocol.fuzz.FuzzContract.Outcome;
import dev.keycast.protocol.keyset.KeySetVectors;

/**
 * Coverage-guided fuzz targets for receipts, which the CLI reads from the untrusted host.
 *
 * <p>Contract: only {@link MalformedInputException} (stable code) or {@link
 * ReceiptSignatureException} escapes; allocation stays linear in the input; only the golden
 * receipt verifies under the golden key set's key (the fuzzer cannot forge Ed25519); and the
 * strict payload decoder, fed payloads the fuzzer controls (as a signer could), accepts only
 * canonical payloads, which re-encode to exactly the input.
 */
class ReceiptFuzzTest {
  private static final long ALLOCATION_PER_BYTE = 128;
  private static final byte[] PUBLIC_KEY = KeySetVectors.keySet().signingPublicKey();
  private static final Receipt GOLDEN = ReceiptVectors.golden();

  @FuzzTest
  void verify(byte[] input) {
    Outcome<Receipt> verified =
        FuzzContract.typedOnly(
            input,
            ALLOCATION_PER_BYTE,
            () -> ReceiptVerifier.verify(input, PUBLIC_KEY),
            MalformedInputException.class,
            ReceiptSignatureException.class);
    if (verified.ok()) {
      assertThat(verified.value()).isEqualTo(GOLDEN);
    }
  }

  @FuzzTest
  void decodePayload(byte[] input) {
    Outcome<Receipt> decoded =
        FuzzContract.typedOnly(
            input,
            ALLOCATION_PER_BYTE,
            () -> ReceiptCodec.decode(input, 0, input.length),
            MalformedInputException.class);
    if (decoded.ok()) {
      CborWriter w = new CborWriter();
      ReceiptCodec.encode(decoded.value(), w);
      assertThat(w.toByteArray())
          .as("a decoded receipt re-encodes to its canonical input")
          .isEqualTo(input);
    }
  }
}
