package dev.keycast.protocol.attestation;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keycast.protocol.attestation.AttestationException.Reason;
import dev.keycast.protocol.attestation.VerifiedAttestation.Warning;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The verifier on real AWS Nitro documents (src/test-vectors/attestation). */
class RealDocumentsTest {
  private static final Duration MAX_AGE = ValidationTime.DEFAULT_MAX_AGE;

  private static VerificationPolicy.Builder atProductionTime() {
    return VerificationPolicy.builder()
        .validationTime(ValidationTime.at(Vectors.PRODUCTION_TIME, MAX_AGE));
  }

  private static AttestationException.Reason reasonOf(
      VerificationPolicy policy, Clock clock, byte[] doc) {
    try {
      AttestationVerifier.create(policy, clock).verify(doc);
      throw new AssertionError("verification unexpectedly succeeded");
    } catch (AttestationException e) {
      return e.reason();
    }
  }

  @Test
  void productionVerifiesAtItsOwnTimestamp() throws Exception {
    VerifiedAttestation v =
        AttestationVerifier.create(atProductionTime().build()).verify(Vectors.production());
    AttestationDocument d = v.document();
    assertThat(v.trustRoot().isAws()).isTrue();
    assertThat(v.trustRoot().sha256()).isEqualTo(TrustRoot.AWS_NITRO_ROOT_G1_SHA256);
    assertThat(v.warnings()).containsExactly(Warning.PCRS_NOT_CHECKED);
    assertThat(d.timestampMillis()).isEqualTo(1725719859545L);
    assertThat(d.digest()).isEqualTo("SHA384");
    assertThat(d.moduleId()).startsWith("i-");
    assertThat(d.pcrs()).hasSize(16);
    assertThat(d.pcrs().values()).allSatisfy(p -> assertThat(p).hasSize(48));
    assertThat(d.cabundle()).hasSize(4);
    assertThat(d.publicKey()).get().satisfies(b -> assertThat(b).hasSize(1024));
    assertThat(d.userData()).get().satisfies(b -> assertThat(b).hasSize(1024));
    assertThat(d.nonce()).get().satisfies(b -> assertThat(b).hasSize(1024));
    assertThat(TrustRoot.sha256(d.cabundle().get(0)))
        .isEqualTo(HexFormat.of().parseHex(TrustRoot.AWS_NITRO_ROOT_G1_SHA256));
  }

  @Test
  void productionVerifiesWithInjectedClockShortlyAfterItsTimestamp() throws Exception {
    Clock clock = Clock.fixed(Vectors.PRODUCTION_TIME.plusSeconds(60), ZoneOffset.UTC);
    VerifiedAttestation v =
        AttestationVerifier.create(VerificationPolicy.defaults(), clock)
            .verify(Vectors.production());
    assertThat(v.validatedAt()).isEqualTo(Vectors.PRODUCTION_TIME.plusSeconds(60));
  }

  @Test
  void productionVerifiesInAuditModeAtDocumentTimestamp() throws Exception {
    VerifiedAttestation v =
        AttestationVerifier.create(
                VerificationPolicy.builder()
                    .validationTime(ValidationTime.documentTimestamp())
                    .build(),
                Clock.systemUTC())
            .verify(Vectors.production());
    assertThat(v.warnings()).contains(Warning.FRESHNESS_NOT_CHECKED);
    assertThat(v.validatedAt()).isEqualTo(Vectors.PRODUCTION_TIME);
  }

  @Test
  void taggedProductionDocumentVerifies() throws Exception {
    byte[] doc = Vectors.production();
    byte[] tagged = new byte[doc.length + 1];
    tagged[0] = (byte) 0xd2;
    System.arraycopy(doc, 0, tagged, 1, doc.length);
    assertThat(
            AttestationVerifier.create(atProductionTime().build())
                .verify(tagged)
                .document()
                .moduleId())
        .startsWith("i-");
  }

  @Test
  void freshnessAndValidityAtOtherInstants() {
    VerificationPolicy p = VerificationPolicy.defaults();
    Instant t = Vectors.PRODUCTION_TIME;
    // 10 minutes later: the chain is still valid (leaf lives ~3 h) but the document is too old.
    assertThat(
            reasonOf(
                p,
                Clock.fixed(t.plus(Duration.ofMinutes(10)), ZoneOffset.UTC),
                Vectors.production()))
        .isEqualTo(Reason.TOO_OLD);
    // 4 hours later the leaf has expired.
    assertThat(
            reasonOf(
                p, Clock.fixed(t.plus(Duration.ofHours(4)), ZoneOffset.UTC), Vectors.production()))
        .isEqualTo(Reason.EXPIRED);
    // Before the leaf's notBefore.
    assertThat(
            reasonOf(
                p,
                Clock.fixed(t.minus(Duration.ofMinutes(2)), ZoneOffset.UTC),
                Vectors.production()))
        .isEqualTo(Reason.NOT_YET_VALID);
    // A larger max age accepts the 10-minute-old document.
    VerificationPolicy lax =
        VerificationPolicy.builder()
            .validationTime(ValidationTime.now(Duration.ofMinutes(15)))
            .build();
    assertThat(
            catchNothing(
                lax,
                Clock.fixed(t.plus(Duration.ofMinutes(10)), ZoneOffset.UTC),
                Vectors.production()))
        .isTrue();
  }

  private static boolean catchNothing(VerificationPolicy p, Clock c, byte[] doc) {
    try {
      AttestationVerifier.create(p, c).verify(doc);
      return true;
    } catch (AttestationException e) {
      throw new AssertionError(e);
    }
  }

  @Test
  void realDocumentsAreExpiredNow() {
    assertThat(reasonOf(VerificationPolicy.defaults(), Clock.systemUTC(), Vectors.production()))
        .isEqualTo(Reason.EXPIRED);
    assertThat(
            reasonOf(
                VerificationPolicy.builder().allowDebug(true).build(),
                Clock.systemUTC(),
                Vectors.debug()))
        .isEqualTo(Reason.EXPIRED);
  }

  @Test
  void debugDocumentVerifiesOnlyWhenDebugIsAllowed() throws Exception {
    ValidationTime at = ValidationTime.at(Vectors.DEBUG_TIME, MAX_AGE);
    assertThatThrownBy(
            () ->
                AttestationVerifier.create(VerificationPolicy.builder().validationTime(at).build())
                    .verify(Vectors.debug()))
        .isInstanceOfSatisfying(
            AttestationException.class,
            e -> {
              assertThat(e.reason()).isEqualTo(Reason.DEBUG_MODE);
              assertThat(e.getMessage()).contains("PCR0 is all zeros");
            });
    VerifiedAttestation v =
        AttestationVerifier.create(
                VerificationPolicy.builder().validationTime(at).allowDebug(true).build())
            .verify(Vectors.debug());
    assertThat(v.warnings()).contains(Warning.DEBUG_MODE);
    assertThat(v.document().pcr(0)).get().isEqualTo(new byte[48]);
    assertThat(v.document().pcr(4)).get().isNotEqualTo(new byte[48]);
  }

  @Test
  void syntheticSelfSignedDocumentIsRejected() throws Exception {
    byte[] doc = Vectors.selfSigned();
    // As published, its unprotected header is CBOR null, which COSE does not allow.
    assertThatThrownBy(() -> AttestationVerifier.create(VerificationPolicy.defaults()).verify(doc))
        .isInstanceOfSatisfying(
            AttestationException.class,
            e -> {
              assertThat(e.reason()).isEqualTo(Reason.MALFORMED);
              assertThat(e.getMessage()).contains("unprotected header must be a map");
            });
    // Repair the (unsigned) unprotected header: its cabundle is null, so there is no chain to any
    // root at all, and a payload without a CA bundle is malformed.
    assertThat(doc[6]).isEqualTo((byte) 0xf6);
    byte[] repaired = doc.clone();
    repaired[6] = (byte) 0xa0;
    assertThatThrownBy(
            () -> AttestationVerifier.create(VerificationPolicy.defaults()).verify(repaired))
        .isInstanceOfSatisfying(
            AttestationException.class,
            e -> {
              assertThat(e.reason()).isEqualTo(Reason.MALFORMED);
              assertThat(e.getMessage())
                  .contains("cabundle: expected array but found simple/float (0xf6)");
            });
  }

  @Test
  void realDocumentFailsWhenOnlyAnotherRootIsTrusted() {
    TestAttester other =
        new TestAttester(Instant.parse("2024-01-01T00:00:00Z"), Duration.ofDays(1000));
    VerificationPolicy p = atProductionTime().trustRoots(List.of(other.trustRoot())).build();
    assertThat(reasonOf(p, Clock.systemUTC(), Vectors.production()))
        .isEqualTo(Reason.UNTRUSTED_ROOT);
  }

  @Test
  void pcrNonceUserDataAndPublicKeyExpectationsOnTheRealDocument() throws Exception {
    AttestationDocument d = AttestationParser.parse(Vectors.production());
    Map<Integer, byte[]> own =
        Map.of(
            0,
            d.pcr(0).orElseThrow(),
            1,
            d.pcr(1).orElseThrow(),
            2,
            d.pcr(2).orElseThrow(),
            3,
            d.pcr(3).orElseThrow(),
            4,
            d.pcr(4).orElseThrow(),
            8,
            d.pcr(8).orElseThrow());
    VerificationPolicy ok =
        atProductionTime()
            .expectedPcrs(ExpectedPcrs.of(List.of(own)))
            .expectedNonce(d.nonce().orElseThrow())
            .expectedUserData(d.userData().orElseThrow())
            .expectedPublicKey(d.publicKey().orElseThrow())
            .build();
    VerifiedAttestation v = AttestationVerifier.create(ok).verify(Vectors.production());
    assertThat(v.warnings()).isEmpty();

    // A wrong PCR2 in the only set.
    Map<Integer, byte[]> wrong = new java.util.HashMap<>(own);
    wrong.put(2, TestAttester.pcrValue(0x42));
    assertThat(
            reasonOf(
                ok.toBuilder().expectedPcrs(ExpectedPcrs.of(List.of(wrong))).build(),
                Clock.systemUTC(),
                Vectors.production()))
        .isEqualTo(Reason.PCR_MISMATCH);
    // The same wrong set followed by the right one: an upgrade window, accepted.
    AttestationVerifier.create(
            ok.toBuilder().expectedPcrs(ExpectedPcrs.of(List.of(wrong, own))).build())
        .verify(Vectors.production());

    byte[] otherNonce = d.nonce().orElseThrow();
    otherNonce[1023] ^= 1;
    assertThat(
            reasonOf(
                ok.toBuilder().expectedNonce(otherNonce).build(),
                Clock.systemUTC(),
                Vectors.production()))
        .isEqualTo(Reason.NONCE_MISMATCH);
    assertThat(
            reasonOf(
                ok.toBuilder().expectedUserData(new byte[32]).build(),
                Clock.systemUTC(),
                Vectors.production()))
        .isEqualTo(Reason.USER_DATA_MISMATCH);
    assertThat(
            reasonOf(
                ok.toBuilder().expectedPublicKey(new byte[0]).build(),
                Clock.systemUTC(),
                Vectors.production()))
        .isEqualTo(Reason.PUBLIC_KEY_MISMATCH);
  }

  @Test
  void parserDecodesWithoutVerifying() throws Exception {
    // The parser accepts expired and debug documents: it checks only structure.
    assertThat(AttestationParser.parse(Vectors.debug()).pcr(0)).get().isEqualTo(new byte[48]);
    CoseSign1 cose = CoseSign1.decode(Vectors.production());
    assertThat(cose.tagged()).isFalse();
    assertThat(cose.algorithm()).isEqualTo("ES384");
    assertThat(cose.protectedHeader()).isEqualTo(HexFormat.of().parseHex("a1013822"));
    assertThat(cose.unprotectedHeader()).isEqualTo(HexFormat.of().parseHex("a0"));
    assertThat(cose.signature()).hasSize(96);
    assertThat(HexFormat.of().formatHex(cose.toBeSigned(), 0, 18))
        .isEqualTo("846a5369676e61747572653144a101382240");
    assertThat(AttestationParser.parse(Vectors.production()).payload()).isEqualTo(cose.payload());
  }
}
