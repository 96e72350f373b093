package dev.keycast.protocol.attestation;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import dev.keycast.protocol.attestation.AttestationException.Reason;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Systematic mutations of the real production document, verified at its own timestamp. The
 * document cannot be re-signed, so any edit of a signed byte must fail with BAD_SIGNATURE unless a
 * structural check catches it first.
 */
class RealDocumentMutationTest {
  private static final AttestationVerifier VERIFIER =
      AttestationVerifier.create(
          VerificationPolicy.builder()
              .validationTime(
                  ValidationTime.at(Vectors.PRODUCTION_TIME, ValidationTime.DEFAULT_MAX_AGE))
              .build());

  private static int indexOf(byte[] hay, byte[] needle) {
    outer:
    for (int i = 0; i <= hay.length - needle.length; i++) {
      for (int j = 0; j < needle.length; j++) {
        if (hay[i + j] != needle[j]) {
          continue outer;
        }
      }
      return i;
    }
    throw new AssertionError("needle not found");
  }

  /** Flips the low bit of the last byte of the first occurrence of {@code value}. */
  private static UnaryOperator<byte[]> flipLastByteOf(
      java.util.function.Function<AttestationDocument, byte[]> field) {
    return doc -> {
      try {
        byte[] value = field.apply(AttestationParser.parse(doc));
        byte[] out = doc.clone();
        out[indexOf(doc, value) + value.length - 1] ^= 1;
        return out;
      } catch (Exception e) {
        throw new AssertionError(e);
      }
    };
  }

  private static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  static Stream<Arguments> mutations() {
    List<Arguments> m = new ArrayList<>();
    // Every payload field altered inside a structurally valid document.
    m.add(Arguments.of("module_id", flipLastByteOf(d -> utf8(d.moduleId())), Reason.BAD_SIGNATURE));
    m.add(
        Arguments.of(
            "timestamp",
            flipLastByteOf(
                d -> ByteBuffer.allocate(9).put((byte) 0x1b).putLong(d.timestampMillis()).array()),
            Reason.BAD_SIGNATURE));
    for (int pcr : new int[] {0, 1, 2, 3, 4, 8}) {
      m.add(
          Arguments.of(
              "PCR" + pcr, flipLastByteOf(d -> d.pcr(pcr).orElseThrow()), Reason.BAD_SIGNATURE));
    }
    m.add(
        Arguments.of(
            "certificate", flipLastByteOf(AttestationDocument::certificate), Reason.BAD_SIGNATURE));
    for (int i = 0; i < 4; i++) {
      int idx = i;
      m.add(
          Arguments.of(
              "cabundle[" + i + "]",
              flipLastByteOf(d -> d.cabundle().get(idx)),
              Reason.BAD_SIGNATURE));
    }
    m.add(
        Arguments.of(
            "public_key", flipLastByteOf(d -> d.publicKey().orElseThrow()), Reason.BAD_SIGNATURE));
    m.add(
        Arguments.of(
            "user_data", flipLastByteOf(d -> d.userData().orElseThrow()), Reason.BAD_SIGNATURE));
    m.add(
        Arguments.of("nonce", flipLastByteOf(d -> d.nonce().orElseThrow()), Reason.BAD_SIGNATURE));
    // digest is checked structurally: only "SHA384" is accepted.
    m.add(
        Arguments.of(
            "digest SHA384->SHA385",
            (UnaryOperator<byte[]>)
                d -> {
                  byte[] out = d.clone();
                  out[indexOf(d, utf8("SHA384")) + 5] = '5';
                  return out;
                },
            Reason.MALFORMED));
    // Signature bits: first, middle and last.
    for (int bit : new int[] {0, 383, 767}) {
      m.add(
          Arguments.of(
              "signature bit " + bit,
              (UnaryOperator<byte[]>)
                  d -> {
                    byte[] out = d.clone();
                    out[d.length - 96 + bit / 8] ^= (byte) (1 << (bit % 8));
                    return out;
                  },
              Reason.BAD_SIGNATURE));
    }
    // Protected header: alg -35 -> -36 (ES512), and alg absent (empty map).
    m.add(
        Arguments.of(
            "alg ES512",
            (UnaryOperator<byte[]>)
                d -> {
                  byte[] out = d.clone();
                  out[5] = 0x23;
                  return out;
                },
            Reason.UNSUPPORTED_ALGORITHM));
    // Truncation at many lengths, and one trailing byte.
    for (int len : new int[] {0, 1, 2, 5, 7, 100, 3000, 7000, 7538 - 97, 7538}) {
      m.add(
          Arguments.of(
              "truncated to " + len,
              (UnaryOperator<byte[]>) d -> Arrays.copyOf(d, len),
              Reason.MALFORMED));
    }
    m.add(
        Arguments.of(
            "trailing byte",
            (UnaryOperator<byte[]>) d -> Arrays.copyOf(d, d.length + 1),
            Reason.MALFORMED));
    m.add(
        Arguments.of(
            "wrong tag 17",
            (UnaryOperator<byte[]>)
                d -> {
                  byte[] out = new byte[d.length + 1];
                  out[0] = (byte) 0xd1;
                  System.arraycopy(d, 0, out, 1, d.length);
                  return out;
                },
            Reason.MALFORMED));
    m.add(
        Arguments.of(
            "3-element array",
            (UnaryOperator<byte[]>)
                d -> {
                  byte[] out = d.clone();
                  out[0] = (byte) 0x83;
                  return out;
                },
            Reason.MALFORMED));
    return m.stream();
  }

  @ParameterizedTest(name = "{0} -> {2}")
  @MethodSource("mutations")
  void mutationFailsWithTheRightReason(
      String name, UnaryOperator<byte[]> mutation, Reason expected) {
    byte[] original = Vectors.production();
    byte[] mutated = mutation.apply(original);
    assertThat(mutated).isNotEqualTo(original);
    try {
      VERIFIER.verify(mutated);
      fail("mutation " + name + " verified");
    } catch (AttestationException e) {
      assertThat(e.reason()).as(e.getMessage()).isEqualTo(expected);
      assertThat(e.getMessage()).isNotBlank();
    }
  }

  @Test
  void unmutatedDocumentVerifies() throws Exception {
    assertThat(VERIFIER.verify(Vectors.production()).document().moduleId()).isNotEmpty();
  }

  /** Every single-bit flip (sampled) yields a typed failure, never an unchecked exception. */
  @Test
  void bitFlipsAnywhereGiveTypedErrors() {
    byte[] original = Vectors.production();
    int failures = 0;
    for (int i = 0; i < original.length; i += 11) {
      byte[] d = original.clone();
      d[i] ^= (byte) (1 << (i % 8));
      try {
        VERIFIER.verify(d);
        // Only the unsigned unprotected header could change without detection; it is a0 here and
        // any flip of it breaks the structure.
        fail("bit flip at offset " + i + " verified");
      } catch (AttestationException e) {
        failures++;
      }
    }
    assertThat(failures).isEqualTo((original.length + 10) / 11);
  }

  /** Random garbage, and random garbage after a valid prefix: typed errors only. */
  @Test
  void garbageGivesTypedErrors() {
    java.util.Random rnd = new java.util.Random(42);
    byte[] original = Vectors.production();
    for (int i = 0; i < 500; i++) {
      byte[] d;
      if (i % 2 == 0) {
        d = new byte[rnd.nextInt(64)];
        rnd.nextBytes(d);
        if (d.length > 0) {
          d[0] = (byte) (0x80 | rnd.nextInt(32)); // an array head, to reach deeper code
        }
      } else {
        d = original.clone();
        int from = rnd.nextInt(d.length);
        for (int j = from; j < Math.min(d.length, from + 1 + rnd.nextInt(8)); j++) {
          d[j] = (byte) rnd.nextInt(256);
        }
      }
      try {
        VERIFIER.verify(d);
        if (!Arrays.equals(d, original)) {
          fail("garbage verified at iteration " + i);
        }
      } catch (AttestationException e) {
        assertThat(e.reason()).isNotNull();
      }
    }
  }
}
