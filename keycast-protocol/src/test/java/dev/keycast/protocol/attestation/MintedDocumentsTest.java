package dev.keycast.protocol.attestation;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import dev.keycast.protocol.attestation.AttestationException.Reason;
import dev.keycast.protocol.attestation.TestAttester.LeafProfile;
import dev.keycast.protocol.attestation.VerifiedAttestation.Warning;
import dev.keycast.protocol.cbor.CborWriter;
import java.security.cert.CertificateEncodingException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Documents minted in the real format under a test P-384 root -> intermediate -> leaf, so that the
 * checks after the signature (root, profile, time, debug, PCRs, nonce, public key, user data) can be
 * exercised with valid signatures.
 */
class MintedDocumentsTest {
  private static final Instant NOW = Instant.parse("2026-03-01T12:00:00Z");
  private static final Clock CLOCK = Clock.fixed(NOW, ZoneOffset.UTC);
  private static final TestAttester ATTESTER =
      new TestAttester(NOW.minus(Duration.ofHours(1)), Duration.ofHours(3));
  private static final TestAttester OTHER =
      new TestAttester(NOW.minus(Duration.ofHours(1)), Duration.ofHours(3));

  private static final byte[] NONCE = HexFormat.of().parseHex("00112233445566778899aabbccddeeff");
  private static final byte[] USER_DATA = new byte[] {1, 2, 3, 4};
  private static final byte[] PUBLIC_KEY = new byte[] {9, 8, 7};

  static VerificationPolicy.Builder policy() {
    return VerificationPolicy.builder().addTrustRoot(ATTESTER.trustRoot());
  }

  static ExpectedPcrs expectedPcrs(int pcr2) {
    return ExpectedPcrs.of(
        List.of(
            Map.of(
                0,
                TestAttester.pcrValue(0x10),
                1,
                TestAttester.pcrValue(0x11),
                2,
                TestAttester.pcrValue(pcr2),
                8,
                TestAttester.pcrValue(0x18))));
  }

  static VerificationPolicy strict() {
    return policy()
        .expectedPcrs(expectedPcrs(0x12))
        .expectedNonce(NONCE)
        .expectedUserData(USER_DATA)
        .expectedPublicKey(PUBLIC_KEY)
        .build();
  }

  static TestAttester.Doc good() {
    return ATTESTER
        .doc(NOW.minusSeconds(30))
        .nonce(NONCE)
        .userData(USER_DATA)
        .publicKey(PUBLIC_KEY);
  }

  static Reason reason(VerificationPolicy p, byte[] doc) {
    try {
      AttestationVerifier.create(p, CLOCK).verify(doc);
      return null;
    } catch (AttestationException e) {
      return e.reason();
    }
  }

  @Test
  void goodDocumentVerifiesWithNonAwsRootWarning() throws Exception {
    VerifiedAttestation v = AttestationVerifier.create(strict(), CLOCK).verify(good().encode());
    assertThat(v.trustRoot().isAws()).isFalse();
    assertThat(v.trustRoot().sha256()).isEqualTo(ATTESTER.trustRoot().sha256());
    assertThat(v.warnings()).containsExactly(Warning.NON_AWS_ROOT);
    assertThat(v.document().nonce()).get().isEqualTo(NONCE);
  }

  @Test
  void encodingVariantsVerify() throws Exception {
    for (byte[] doc :
        List.of(
            good().indefiniteMap().encode(),
            good().tagged().encode(),
            good().remove("nonce").remove("user_data").remove("public_key").encode())) {
      try {
        AttestationVerifier.create(policy().build(), CLOCK).verify(doc);
      } catch (AttestationException e) {
        fail(e.toString());
      }
    }
  }

  @Test
  void textAlgEs384IsAccepted() throws Exception {
    byte[] prot = new CborWriter().map(1).integer(1).text("ES384").toByteArray();
    AttestationVerifier.create(policy().build(), CLOCK)
        .verify(good().protectedHeader(prot).encode());
    byte[] es256 = new CborWriter().map(1).integer(1).integer(-7).toByteArray();
    assertThat(reason(policy().build(), good().protectedHeader(es256).encode()))
        .isEqualTo(Reason.UNSUPPORTED_ALGORITHM);
    byte[] none = new CborWriter().map(0).toByteArray();
    assertThat(reason(policy().build(), good().protectedHeader(none).encode()))
        .isEqualTo(Reason.UNSUPPORTED_ALGORITHM);
  }

  private static byte[] der(java.security.cert.X509Certificate c) {
    try {
      return c.getEncoded();
    } catch (CertificateEncodingException e) {
      throw new AssertionError(e);
    }
  }

  static Stream<Arguments> failures() {
    List<Arguments> a = new ArrayList<>();
    VerificationPolicy s = strict();
    byte[] root = der(ATTESTER.root());
    byte[] inter = der(ATTESTER.intermediate());
    a.add(
        Arguments.of(
            "root not trusted",
            VerificationPolicy.defaults(),
            good().encode(),
            Reason.UNTRUSTED_ROOT));
    a.add(
        Arguments.of(
            "other test root trusted",
            VerificationPolicy.builder().addTrustRoot(OTHER.trustRoot()).build(),
            good().encode(),
            Reason.UNTRUSTED_ROOT));
    a.add(
        Arguments.of(
            "reversed chain",
            s,
            good().set("cabundle", new byte[][] {inter, root}).encode(),
            Reason.UNTRUSTED_ROOT));
    a.add(
        Arguments.of(
            "intermediate missing",
            s,
            good().set("cabundle", new byte[][] {root}).encode(),
            Reason.CHAIN_INVALID));
    a.add(
        Arguments.of(
            "intermediate twice",
            s,
            good().set("cabundle", new byte[][] {root, inter, inter}).encode(),
            Reason.CHAIN_INVALID));
    a.add(
        Arguments.of(
            "foreign intermediate",
            s,
            good().set("cabundle", new byte[][] {root, der(OTHER.intermediate())}).encode(),
            Reason.CHAIN_INVALID));
    a.add(
        Arguments.of(
            "wrong PCR2",
            policy().expectedPcrs(expectedPcrs(0x77)).build(),
            good().encode(),
            Reason.PCR_MISMATCH));
    a.add(
        Arguments.of(
            "PCR8 differs",
            s,
            good().pcr(8, TestAttester.pcrValue(0x99)).encode(),
            Reason.PCR_MISMATCH));
    a.add(
        Arguments.of(
            "PCR8 absent", s, good().set("pcrs", pcrsWithout(8)).encode(), Reason.PCR_MISMATCH));
    a.add(
        Arguments.of("wrong nonce", s, good().nonce(new byte[16]).encode(), Reason.NONCE_MISMATCH));
    a.add(Arguments.of("null nonce", s, good().nonce(null).encode(), Reason.NONCE_MISMATCH));
    a.add(Arguments.of("absent nonce", s, good().remove("nonce").encode(), Reason.NONCE_MISMATCH));
    a.add(
        Arguments.of(
            "longer nonce",
            s,
            good().nonce(java.util.Arrays.copyOf(NONCE, 17)).encode(),
            Reason.NONCE_MISMATCH));
    a.add(
        Arguments.of(
            "wrong user_data",
            s,
            good().userData(new byte[] {1, 2, 3, 5}).encode(),
            Reason.USER_DATA_MISMATCH));
    a.add(
        Arguments.of(
            "null user_data", s, good().userData(null).encode(), Reason.USER_DATA_MISMATCH));
    a.add(
        Arguments.of(
            "wrong public_key",
            s,
            good().publicKey(new byte[] {9, 8, 6}).encode(),
            Reason.PUBLIC_KEY_MISMATCH));
    a.add(
        Arguments.of(
            "debug document",
            s,
            good().pcr(0, new byte[48]).pcr(1, new byte[48]).pcr(2, new byte[48]).encode(),
            Reason.DEBUG_MODE));
    a.add(
        Arguments.of(
            "debug allowed, but PCRs expected",
            s.toBuilder().allowDebug(true).build(),
            good().pcr(0, new byte[48]).pcr(1, new byte[48]).pcr(2, new byte[48]).encode(),
            Reason.PCR_MISMATCH));
    a.add(
        Arguments.of(
            "too old",
            s,
            ATTESTER
                .doc(NOW.minus(Duration.ofMinutes(6)))
                .nonce(NONCE)
                .userData(USER_DATA)
                .publicKey(PUBLIC_KEY)
                .encode(),
            Reason.TOO_OLD));
    a.add(
        Arguments.of(
            "in the future",
            s,
            ATTESTER
                .doc(NOW.plus(Duration.ofMinutes(2)))
                .nonce(NONCE)
                .userData(USER_DATA)
                .publicKey(PUBLIC_KEY)
                .encode(),
            Reason.TIMESTAMP_IN_FUTURE));
    a.add(
        Arguments.of(
            "timestamp in seconds",
            s,
            good().set("timestamp", NOW.getEpochSecond()).encode(),
            Reason.TOO_OLD));
    // Certificate profile.
    a.add(
        certProfile(
            "leaf is a CA",
            new TestAttester(
                NOW.minus(Duration.ofHours(1)), Duration.ofHours(3), LeafProfile.CA_LEAF, true)));
    a.add(
        certProfile(
            "leaf without digitalSignature",
            new TestAttester(
                NOW.minus(Duration.ofHours(1)),
                Duration.ofHours(3),
                LeafProfile.NO_DIGITAL_SIGNATURE,
                true)));
    a.add(
        certProfile(
            "leaf signed with SHA-256",
            new TestAttester(
                NOW.minus(Duration.ofHours(1)),
                Duration.ofHours(3),
                LeafProfile.SHA256_SIGNED,
                true)));
    a.add(
        certProfile(
            "intermediate basicConstraints not critical",
            new TestAttester(
                NOW.minus(Duration.ofHours(1)), Duration.ofHours(3), LeafProfile.NITRO, false)));
    // Validity.
    TestAttester expired = new TestAttester(NOW.minus(Duration.ofHours(5)), Duration.ofHours(3));
    a.add(
        Arguments.of(
            "expired chain",
            VerificationPolicy.builder().addTrustRoot(expired.trustRoot()).build(),
            expired.doc(NOW.minusSeconds(10)).encode(),
            Reason.EXPIRED));
    TestAttester future = new TestAttester(NOW.plus(Duration.ofHours(1)), Duration.ofHours(3));
    a.add(
        Arguments.of(
            "chain not yet valid",
            VerificationPolicy.builder().addTrustRoot(future.trustRoot()).build(),
            future.doc(NOW.minusSeconds(10)).encode(),
            Reason.NOT_YET_VALID));
    // Structure and sizes (signed, so the structure check itself must catch them).
    a.add(
        Arguments.of(
            "user_data 1025 B", s, good().userData(new byte[1025]).encode(), Reason.MALFORMED));
    a.add(Arguments.of("nonce 1025 B", s, good().nonce(new byte[1025]).encode(), Reason.MALFORMED));
    a.add(
        Arguments.of(
            "public_key 1025 B", s, good().publicKey(new byte[1025]).encode(), Reason.MALFORMED));
    byte[][] bigBundle = new byte[16][];
    java.util.Arrays.fill(bigBundle, new byte[1000]);
    byte[] oversized = good().set("cabundle", bigBundle).encode();
    assertThat(oversized.length).isGreaterThan(CoseSign1.MAX_MESSAGE_BYTES);
    a.add(Arguments.of("document over 16 KiB", s, oversized, Reason.MALFORMED));
    a.add(
        Arguments.of(
            "PCR index 32",
            s,
            good().pcr(32, TestAttester.pcrValue(1)).encode(),
            Reason.MALFORMED));
    a.add(
        Arguments.of("PCR of 47 bytes", s, good().pcr(5, new byte[47]).encode(), Reason.MALFORMED));
    a.add(
        Arguments.of("PCR of 65 bytes", s, good().pcr(5, new byte[65]).encode(), Reason.MALFORMED));
    a.add(
        Arguments.of(
            "PCR0 missing", s, good().set("pcrs", pcrsWithout(0)).encode(), Reason.MALFORMED));
    a.add(
        Arguments.of(
            "no PCRs",
            s,
            good().set("pcrs", new TreeMap<Integer, byte[]>()).encode(),
            Reason.MALFORMED));
    a.add(
        Arguments.of(
            "digest SHA256", s, good().set("digest", "SHA256").encode(), Reason.MALFORMED));
    a.add(
        Arguments.of("empty module_id", s, good().set("module_id", "").encode(), Reason.MALFORMED));
    a.add(Arguments.of("unknown key", s, good().set("extra", "x").encode(), Reason.MALFORMED));
    a.add(
        Arguments.of(
            "certificate missing", s, good().remove("certificate").encode(), Reason.MALFORMED));
    a.add(
        Arguments.of(
            "certificate not DER",
            s,
            good().set("certificate", new byte[] {0x30, 0x03, 1, 2, 3}).encode(),
            Reason.MALFORMED));
    a.add(
        Arguments.of(
            "certificate over 1024 B",
            s,
            good().set("certificate", new byte[1025]).encode(),
            Reason.MALFORMED));
    a.add(
        Arguments.of(
            "empty cabundle", s, good().set("cabundle", new byte[0][]).encode(), Reason.MALFORMED));
    a.add(
        Arguments.of(
            "timestamp as text",
            s,
            good().set("timestamp", "1725719859545").encode(),
            Reason.MALFORMED));
    a.add(Arguments.of("nonce as text", s, good().set("nonce", "abc").encode(), Reason.MALFORMED));
    a.add(
        Arguments.of(
            "cabundle entry garbage",
            s,
            good().set("cabundle", new byte[][] {root, new byte[] {1, 2}}).encode(),
            Reason.MALFORMED));
    return a.stream();
  }

  private static TreeMap<Integer, byte[]> pcrsWithout(int index) {
    TreeMap<Integer, byte[]> pcrs = new TreeMap<>();
    for (int i = 0; i < 16; i++) {
      if (i != index) {
        pcrs.put(i, i <= 4 || i == 8 ? TestAttester.pcrValue(0x10 + i) : new byte[48]);
      }
    }
    return pcrs;
  }

  private static Arguments certProfile(String name, TestAttester t) {
    return Arguments.of(
        name,
        VerificationPolicy.builder().addTrustRoot(t.trustRoot()).build(),
        t.doc(NOW.minusSeconds(10)).encode(),
        Reason.CERT_EXTENSIONS);
  }

  @ParameterizedTest(name = "{0} -> {3}")
  @MethodSource("failures")
  void failsWithTheRightReason(
      String name, VerificationPolicy policy, byte[] doc, Reason expected) {
    try {
      AttestationVerifier.create(policy, CLOCK).verify(doc);
      fail(name + " verified");
    } catch (AttestationException e) {
      assertThat(e.reason()).as(e.getMessage()).isEqualTo(expected);
    }
  }

  @Test
  void maximumFieldSizesAreAccepted() throws Exception {
    byte[] big = new byte[1024];
    VerifiedAttestation v =
        AttestationVerifier.create(policy().expectedNonce(big).build(), CLOCK)
            .verify(good().nonce(big).userData(big).publicKey(big).encode());
    assertThat(v.document().userData()).get().satisfies(b -> assertThat(b).hasSize(1024));
  }

  @Test
  void mismatchMessagesQuoteTheValues() {
    try {
      AttestationVerifier.create(strict(), CLOCK)
          .verify(good().nonce(new byte[] {(byte) 0xab, (byte) 0xcd}).encode());
      fail("verified");
    } catch (AttestationException e) {
      assertThat(e.getMessage()).contains("abcd").contains("00112233445566778899aabbccddeeff");
    }
    try {
      AttestationVerifier.create(policy().expectedPcrs(expectedPcrs(0x77)).build(), CLOCK)
          .verify(good().encode());
      fail("verified");
    } catch (AttestationException e) {
      assertThat(e.getMessage()).contains("PCR2 is " + "12".repeat(48)).contains("77".repeat(48));
    }
  }

  @Test
  void signatureCoversTheExactPayloadBytes() throws Exception {
    // The same map encoded with a non-shortest head for a PCR index changes the bytes, not the
    // meaning: the original signature must not verify over it (no re-encoding anywhere).
    byte[] doc = good().encode();
    CoseSign1 cose = CoseSign1.decode(doc);
    byte[] payload = cose.payload();
    byte[] alt = good().indefiniteMap().payload();
    assertThat(AttestationParser.parsePayload(alt).moduleId())
        .isEqualTo(AttestationParser.parsePayload(payload).moduleId());
    byte[] forged =
        CoseSign1.encode(cose.protectedHeader(), cose.unprotectedHeader(), alt, cose.signature());
    assertThat(reason(policy().build(), forged)).isEqualTo(Reason.BAD_SIGNATURE);
  }
}
