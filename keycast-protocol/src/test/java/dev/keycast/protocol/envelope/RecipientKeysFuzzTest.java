package dev.keycast.protocol.envelope;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.keycast.protocol.MalformedInputException;
import dev.keycast.protocol.fuzz.FuzzContract;
import dev.keycast.protocol.fuzz.FuzzContract.Outcome;
import dev.keycast.protocol.policy.ParsedCertificate;

/**
 * Coverage-guided fuzz targets for recipient keys (PEM or DER public keys and certificate chains,
 * registered through the host) and for the DER certificates of candidate chains the enclave
 * parses.
 *
 * <p>Contract: only {@link MalformedInputException} with a stable code escapes (never a Bouncy
 * Castle or JDK runtime exception); allocation stays linear in the input; an accepted key
 * round-trips through its SPKI to the same fingerprint; an accepted certificate keeps exactly the
 * input bytes as its encoding.
 */
class RecipientKeysFuzzTest {
  private static final long ALLOCATION_PER_BYTE = 256;

  @FuzzTest
  void recipientKey(byte[] input) {
    Outcome<RecipientKey> parsed =
        FuzzContract.typedOnly(
            input,
            ALLOCATION_PER_BYTE,
            () -> RecipientKeys.parse(input),
            MalformedInputException.class);
    if (parsed.ok()) {
      byte[] spki = parsed.value().spkiDer();
      Outcome<RecipientKey> again =
          FuzzContract.typedOnly(
              spki,
              ALLOCATION_PER_BYTE,
              () -> RecipientKeys.fromSpki(spki),
              MalformedInputException.class);
      assertThat(again.ok()).as("an accepted key's SPKI parses: %s", again.error()).isTrue();
      assertThat(again.value().fingerprint()).isEqualTo(parsed.value().fingerprint());
    }
  }

  @FuzzTest
  void certificateDer(byte[] input) {
    Outcome<ParsedCertificate> parsed =
        FuzzContract.typedOnly(
            input,
            ALLOCATION_PER_BYTE,
            () -> ParsedCertificate.parse(input),
            MalformedInputException.class);
    if (parsed.ok()) {
      assertThat(parsed.value().encoded()).isEqualTo(input);
      assertThat(parsed.value().publicKeyInfo()).isNotEmpty();
    }
  }
}
