package dev.keycast.protocol.attestation;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.keycast.protocol.MalformedInputException;
import dev.keycast.protocol.fuzz.FuzzContract;
import dev.keycast.protocol.fuzz.FuzzContract.Outcome;
import java.util.Arrays;

/**
 * Coverage-guided fuzz targets for attestation documents as the host hands them over: the
 * COSE_Sign1 decoder, the Nitro payload parser and the full verifier (signature, certificate
 * chain to the AWS root, validity at the document's time).
 *
 * <p>Contract: only {@link MalformedInputException} (decoder, parser) or {@link
 * AttestationException} with a reason (verifier) escapes; allocation stays linear in the input;
 * a decoded COSE_Sign1 re-encodes to the same bytes (untagged form); a parsed payload's fields
 * are within the documented caps; and the verifier accepts nothing but the three real documents'
 * signed content, since the fuzzer cannot forge an ECDSA P-384 signature.
 */
class AttestationFuzzTest {
  private static final long ALLOCATION_PER_BYTE = 64;
  private static final AttestationVerifier PRODUCTION_VERIFIER =
      AttestationVerifier.create(
          VerificationPolicy.builder()
              .validationTime(
                  ValidationTime.at(Vectors.PRODUCTION_TIME, ValidationTime.DEFAULT_MAX_AGE))
              .build());
  private static final byte[] PRODUCTION_PAYLOAD = payloadOf(Vectors.production());

  @FuzzTest
  void coseSign1(byte[] input) {
    Outcome<CoseSign1> decoded =
        FuzzContract.typedOnly(
            input,
            ALLOCATION_PER_BYTE,
            () -> CoseSign1.decode(input),
            MalformedInputException.class);
    if (decoded.ok()) {
      CoseSign1 c = decoded.value();
      assertThat(c.protectedHeader().length).isLessThanOrEqualTo(CoseSign1.MAX_PROTECTED_BYTES);
      assertThat(c.signature().length).isBetween(1, CoseSign1.MAX_SIGNATURE_BYTES);
      byte[] untagged =
          CoseSign1.encode(c.protectedHeader(), c.unprotectedHeader(), c.payload(), c.signature());
      // the decoder keeps the exact bytes it read, so writing them back gives the input (after the
      // tag)
      byte[] expected = c.tagged() ? Arrays.copyOfRange(input, 1, input.length) : input;
      assertThat(untagged).isEqualTo(expected);
    }
  }

  @FuzzTest
  void parsePayload(byte[] input) {
    Outcome<AttestationDocument> parsed =
        FuzzContract.typedOnly(
            input,
            ALLOCATION_PER_BYTE,
            () -> AttestationParser.parsePayload(input),
            MalformedInputException.class);
    if (parsed.ok()) {
      AttestationDocument d = parsed.value();
      assertThat(d.digest()).isEqualTo(AttestationParser.DIGEST_SHA384);
      assertThat(d.pcrs()).hasSizeLessThanOrEqualTo(AttestationParser.MAX_PCRS);
      assertThat(d.certificate().length)
          .isLessThanOrEqualTo(AttestationParser.MAX_CERTIFICATE_BYTES);
      assertThat(d.cabundle()).hasSizeBetween(1, AttestationParser.MAX_CABUNDLE_ENTRIES);
      assertThat(d.payload()).isEqualTo(input);
    }
  }

  @FuzzTest
  void verifyDocument(byte[] input) {
    Outcome<VerifiedAttestation> verified =
        FuzzContract.typedOnly(
            input,
            ALLOCATION_PER_BYTE,
            () -> PRODUCTION_VERIFIER.verify(input),
            AttestationException.class);
    if (verified.ok()) {
      // only the production document's signed payload can verify at the production time
      assertThat(payloadOf(input)).isEqualTo(PRODUCTION_PAYLOAD);
    } else {
      assertThat(((AttestationException) verified.error()).reason()).isNotNull();
    }
  }

  private static byte[] payloadOf(byte[] document) {
    try {
      return CoseSign1.decode(document).payload();
    } catch (MalformedInputException e) {
      throw new AssertionError("a verified document must decode", e);
    }
  }
}
