package dev.keycast.protocol.attestation;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.keycast.protocol.attestation.AttestationException.Reason;
import dev.keycast.protocol.attestation.TestAttester.LeafProfile;
import dev.keycast.protocol.attestation.VerifiedAttestation.Warning;
import dev.keycast.protocol.cbor.CborWriter;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/**
 * The verifier's checks at their exact edges, each named after what it defends against: the
 * boundaries that the mutation run (testing.md 2.2) found unpinned by {@link MintedDocumentsTest}.
 */
class AttestationEdgesTest {
  private static final Instant NOW = Instant.parse("2026-03-01T12:00:00Z");
  private static final Clock CLOCK = Clock.fixed(NOW, ZoneOffset.UTC);
  private static final Instant FROM = NOW.minus(Duration.ofHours(1));
  private static final Duration VALID = Duration.ofHours(3);
  private static final TestAttester ATTESTER = new TestAttester(FROM, VALID);

  private static VerificationPolicy trusting(TestAttester t) {
    return VerificationPolicy.builder().addTrustRoot(t.trustRoot()).build();
  }

  private static AttestationException refusal(VerificationPolicy p, byte[] doc) {
    AttestationException e =
        catchThrowableOfType(
            AttestationException.class, () -> AttestationVerifier.create(p, CLOCK).verify(doc));
    assertThat(e).as("the document verified").isNotNull();
    return e;
  }

  @Test
  void aLeafThatIsACaWithPathLengthZeroIsRefused() {
    // getBasicConstraints() is 0 for such a leaf: "is a CA" is >= 0, not > 0
    TestAttester t = new TestAttester(FROM, VALID, LeafProfile.CA_LEAF_PATH_LEN_0, true);
    AttestationException e = refusal(trusting(t), t.doc(NOW.minusSeconds(10)).encode());
    assertThat(e.reason()).isEqualTo(Reason.CERT_EXTENSIONS);
    assertThat(e.getMessage()).contains("the leaf must not be a CA");
  }

  @Test
  void anExpiredPinnedRootIsRefusedEvenThoughPkixTrustsAnchorsAsGiven() {
    // PKIX never checks a trust anchor's validity: only the verifier's own check refuses it
    TestAttester t =
        new TestAttester(
            NOW.minus(Duration.ofHours(2)),
            Duration.ofHours(1),
            Duration.ofHours(3),
            Duration.ofHours(3),
            LeafProfile.NITRO,
            true);
    AttestationException e = refusal(trusting(t), t.doc(NOW.minusSeconds(10)).encode());
    assertThat(e.reason()).isEqualTo(Reason.EXPIRED);
    assertThat(e.getMessage()).startsWith("root keycast test root");
  }

  @Test
  void anExpiredIntermediateIsRefusedAsExpired() {
    TestAttester t =
        new TestAttester(
            NOW.minus(Duration.ofHours(2)),
            Duration.ofHours(3),
            Duration.ofHours(1),
            Duration.ofHours(3),
            LeafProfile.NITRO,
            true);
    AttestationException e = refusal(trusting(t), t.doc(NOW.minusSeconds(10)).encode());
    assertThat(e.reason()).isEqualTo(Reason.EXPIRED);
    assertThat(e.getMessage()).startsWith("cabundle[1] (");
  }

  @Test
  void aLeafThatIsNotYetValidIsRefused() {
    TestAttester t = new TestAttester(NOW.plusSeconds(60), VALID);
    AttestationException e = refusal(trusting(t), t.doc(NOW.minusSeconds(10)).encode());
    assertThat(e.reason()).isEqualTo(Reason.NOT_YET_VALID);
    assertThat(e.getMessage()).startsWith("certificate (");
  }

  @Test
  void aDocumentExactlyMaxAgeOldIsAcceptedAndOneMillisecondOlderIsNot() throws Exception {
    Instant edge = NOW.minus(ValidationTime.DEFAULT_MAX_AGE);
    VerifiedAttestation v =
        AttestationVerifier.create(trusting(ATTESTER), CLOCK).verify(ATTESTER.doc(edge).encode());
    assertThat(v.document().timestamp()).isEqualTo(edge);
    AttestationException e =
        refusal(trusting(ATTESTER), ATTESTER.doc(edge.minusMillis(1)).encode());
    assertThat(e.reason()).isEqualTo(Reason.TOO_OLD);
  }

  @Test
  void aDocumentExactlyClockSkewAheadIsAcceptedAndOneMillisecondMoreIsNot() throws Exception {
    Instant edge = NOW.plus(VerificationPolicy.DEFAULT_CLOCK_SKEW);
    AttestationVerifier.create(trusting(ATTESTER), CLOCK).verify(ATTESTER.doc(edge).encode());
    AttestationException e = refusal(trusting(ATTESTER), ATTESTER.doc(edge.plusMillis(1)).encode());
    assertThat(e.reason()).isEqualTo(Reason.TIMESTAMP_IN_FUTURE);
  }

  @Test
  void aDocumentWithoutPcr2CannotPassAsADebugOrProductionDocument() {
    for (int missing = 0; missing <= 2; missing++) {
      TreeMap<Integer, byte[]> pcrs = new TreeMap<>();
      for (int i = 0; i < 16; i++) {
        if (i != missing) {
          pcrs.put(i, TestAttester.pcrValue(0x10 + i));
        }
      }
      AttestationException e =
          refusal(trusting(ATTESTER), ATTESTER.doc(NOW).set("pcrs", pcrs).encode());
      assertThat(e.reason()).isEqualTo(Reason.MALFORMED);
      assertThat(e.getMessage()).isEqualTo("pcrs: PCR" + missing + " is missing");
    }
  }

  @Test
  void aDebugDocumentIsAcceptedOnlyWhenAllowedAndThenCarriesTheDebugWarning() throws Exception {
    byte[] debug =
        ATTESTER.doc(NOW).pcr(0, new byte[48]).pcr(1, new byte[48]).pcr(2, new byte[48]).encode();
    VerificationPolicy allow =
        VerificationPolicy.builder().addTrustRoot(ATTESTER.trustRoot()).allowDebug(true).build();
    VerifiedAttestation v = AttestationVerifier.create(allow, CLOCK).verify(debug);
    assertThat(v.warnings())
        .containsExactlyInAnyOrder(
            Warning.NON_AWS_ROOT, Warning.DEBUG_MODE, Warning.PCRS_NOT_CHECKED);
    assertThat(refusal(trusting(ATTESTER), debug).reason()).isEqualTo(Reason.DEBUG_MODE);
    // one non-zero byte anywhere in PCR0 makes it a production document
    byte[] pcr0 = new byte[48];
    pcr0[47] = 1;
    byte[] production =
        ATTESTER.doc(NOW).pcr(0, pcr0).pcr(1, new byte[48]).pcr(2, new byte[48]).encode();
    assertThat(AttestationVerifier.create(trusting(ATTESTER), CLOCK).verify(production).warnings())
        .doesNotContain(Warning.DEBUG_MODE);
  }

  @Test
  void aSignatureOfTheWrongLengthIsRefusedBeforeTheCurveArithmetic() {
    byte[] sig = new byte[95];
    AttestationException e =
        catchThrowableOfType(
            AttestationException.class,
            () ->
                NitroAttestationVerifier.verifyEs384(
                    ATTESTER.leaf().getPublicKey(), new byte[] {1}, sig));
    assertThat(e.reason()).isEqualTo(Reason.BAD_SIGNATURE);
    assertThat(e.getMessage()).isEqualTo("ES384 signature must be 96 bytes (r || s), found 95");
  }

  @Test
  void aDocumentTimestampModeSkipsFreshnessAndSaysSo() throws Exception {
    VerificationPolicy p =
        VerificationPolicy.builder()
            .addTrustRoot(ATTESTER.trustRoot())
            .validationTime(ValidationTime.documentTimestamp())
            .build();
    VerifiedAttestation v =
        AttestationVerifier.create(p, CLOCK)
            .verify(ATTESTER.doc(NOW.minus(Duration.ofMinutes(30))).encode());
    assertThat(v.warnings()).contains(Warning.FRESHNESS_NOT_CHECKED);
  }

  @Test
  void anIntermediateSignedWithSha256IsRefusedByTheNitroProfile() {
    // PKIX would take it: only the CA profile's own P-384/ecdsa-with-SHA384 check refuses it
    TestAttester t = new TestAttester(FROM, VALID, LeafProfile.INTERMEDIATE_SHA256_SIGNED, true);
    AttestationException e = refusal(trusting(t), t.doc(NOW.minusSeconds(10)).encode());
    assertThat(e.reason()).isEqualTo(Reason.CERT_EXTENSIONS);
    assertThat(e.getMessage()).startsWith("cabundle[1]: signed with").contains("SHA256");
  }

  @Test
  void aDocumentWithoutAnAlgorithmSaysSoAndAnotherAlgorithmIsNamed() {
    byte[] none = new CborWriter().map(0).toByteArray();
    AttestationException absent =
        refusal(trusting(ATTESTER), ATTESTER.doc(NOW).protectedHeader(none).encode());
    assertThat(absent.reason()).isEqualTo(Reason.UNSUPPORTED_ALGORITHM);
    assertThat(absent.getMessage()).startsWith("protected header alg is absent, only ES384");
    byte[] es256 = new CborWriter().map(1).integer(1).integer(-7).toByteArray();
    AttestationException other =
        refusal(trusting(ATTESTER), ATTESTER.doc(NOW).protectedHeader(es256).encode());
    assertThat(other.getMessage()).startsWith("protected header alg is \"COSE alg -7\", only");
  }

  @Test
  void aLeafFromAnotherEnclaveUnderTheRightBundleIsRefusedNamingTheLeaf() throws Exception {
    // the attacker's own leaf (same names) presented with the genuine root and intermediate: PKIX
    // stops at the leaf (index 0), whose signature the genuine intermediate did not make
    TestAttester attacker = new TestAttester(FROM, VALID);
    byte[] doc =
        attacker
            .doc(NOW)
            .set(
                "cabundle",
                new byte[][] {ATTESTER.root().getEncoded(), ATTESTER.intermediate().getEncoded()})
            .encode();
    AttestationException e = refusal(trusting(ATTESTER), doc);
    assertThat(e.reason()).isEqualTo(Reason.CHAIN_INVALID);
    assertThat(e.getMessage())
        .contains(" at " + attacker.leaf().getSubjectX500Principal().getName() + ": ");
  }

  @Test
  void anUnpinnedRootIsRefusedNamingThePinnedOnes() {
    TestAttester other = new TestAttester(FROM, VALID);
    AttestationException e = refusal(trusting(ATTESTER), other.doc(NOW).encode());
    assertThat(e.reason()).isEqualTo(Reason.UNTRUSTED_ROOT);
    assertThat(e.getMessage())
        .contains("keycast test root " + ATTESTER.trustRoot().sha256())
        .contains(other.trustRoot().sha256());
  }
}
