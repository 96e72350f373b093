package dev.keycast.protocol.attestation;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keycast.protocol.attestation.AttestationException.Reason;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The verification policy: which roots it trusts, and what its derived copies keep. */
class VerificationPolicyTest {
  private static final Instant NOW = Instant.parse("2026-03-01T12:00:00Z");
  private static final TestAttester ATTESTER =
      new TestAttester(NOW.minus(Duration.ofHours(1)), Duration.ofHours(3));

  @Test
  void replacingTheTrustRootsStopsTrustingTheAwsRoot() {
    VerificationPolicy p =
        VerificationPolicy.builder().trustRoots(List.of(ATTESTER.trustRoot())).build();
    assertThat(p.trustRoots()).containsExactly(ATTESTER.trustRoot());
    assertThat(VerificationPolicy.defaults().trustRoots())
        .extracting(TrustRoot::isAws)
        .containsExactly(true);
    assertThatThrownBy(() -> VerificationPolicy.builder().trustRoots(List.of()))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void aDerivedPolicyDoesNotTrustTheAwsRootAgain() {
    VerificationPolicy p =
        VerificationPolicy.builder().trustRoots(List.of(ATTESTER.trustRoot())).build();
    assertThat(p.toBuilder().allowDebug(true).build().trustRoots())
        .containsExactly(ATTESTER.trustRoot());
  }

  @Test
  void aWiderClockSkewAdmitsALaterDocumentAndANegativeOneIsRefused() throws Exception {
    Clock clock = Clock.fixed(NOW, ZoneOffset.UTC);
    byte[] ahead = ATTESTER.doc(NOW.plus(Duration.ofMinutes(2))).encode();
    VerificationPolicy.Builder b = VerificationPolicy.builder().addTrustRoot(ATTESTER.trustRoot());
    try {
      AttestationVerifier.create(b.build(), clock).verify(ahead);
      throw new AssertionError("a document 2 minutes ahead verified with 60 s of skew");
    } catch (AttestationException e) {
      assertThat(e.reason()).isEqualTo(Reason.TIMESTAMP_IN_FUTURE);
    }
    VerificationPolicy wide = b.clockSkew(Duration.ofMinutes(3)).build();
    assertThat(wide.clockSkew()).isEqualTo(Duration.ofMinutes(3));
    assertThat(AttestationVerifier.create(wide, clock).verify(ahead).document().timestamp())
        .isEqualTo(NOW.plus(Duration.ofMinutes(2)));
    assertThatThrownBy(() -> VerificationPolicy.builder().clockSkew(Duration.ofSeconds(-1)))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void theExpectedValuesAreReturnedAsCopies() {
    byte[] nonce = {1, 2};
    byte[] key = {3};
    byte[] data = {4, 5, 6};
    VerificationPolicy p =
        VerificationPolicy.builder()
            .expectedNonce(nonce)
            .expectedPublicKey(key)
            .expectedUserData(data)
            .build();
    assertThat(p.expectedNonce()).get().isEqualTo(nonce);
    assertThat(p.expectedPublicKey()).get().isEqualTo(key);
    assertThat(p.expectedUserData()).get().isEqualTo(data);
    p.expectedNonce().get()[0] = 9;
    assertThat(p.expectedNonce()).get().isEqualTo(nonce);
    assertThat(VerificationPolicy.defaults().expectedNonce()).isEmpty();
  }

  @Test
  void diagnosticsNameWhatIsChecked() throws Exception {
    assertThat(VerificationPolicy.defaults().toString())
        .isEqualTo(
            "VerificationPolicy[roots=[AWS Nitro Enclaves Root-G1], time=now (max age PT5M),"
                + " pcrs=unchecked, allowDebug=false, nonce=false, publicKey=false,"
                + " userData=false]");
    VerificationPolicy strict =
        VerificationPolicy.builder()
            .trustRoots(List.of(ATTESTER.trustRoot()))
            .validationTime(ValidationTime.at(NOW, Duration.ofMinutes(1)))
            .expectedPcrs(MintedDocumentsTest.expectedPcrs(0x12))
            .expectedNonce(new byte[] {1})
            .expectedPublicKey(new byte[] {2})
            .expectedUserData(new byte[] {3})
            .build();
    assertThat(strict.toString())
        .isEqualTo(
            "VerificationPolicy[roots=[keycast test root], time=at 2026-03-01T12:00:00Z (max age"
                + " PT1M), pcrs=1 set(s), allowDebug=false, nonce=true, publicKey=true,"
                + " userData=true]");
    assertThat(ValidationTime.documentTimestamp().toString())
        .isEqualTo("at the document timestamp (no freshness check)");
    assertThat(ATTESTER.trustRoot().toString())
        .isEqualTo("TrustRoot[keycast test root, sha256=" + ATTESTER.trustRoot().sha256() + "]");
    assertThat(new AttestationException(Reason.NONCE_MISMATCH, "m").toString())
        .isEqualTo("NONCE_MISMATCH: m");
    assertThat(MintedDocumentsTest.expectedPcrs(0x12).toString())
        .startsWith("ExpectedPcrs{\"version\":1,\"allowed\":[{\"PCR0\":\"1010");
    AttestationDocument doc =
        AttestationParser.parse(ATTESTER.doc(NOW).nonce(new byte[16]).encode());
    assertThat(doc.toString())
        .contains("moduleId=i-0123456789abcdef0-enc0123456789abcdef")
        .contains("cabundle=2")
        .contains("publicKey=null, userData=null, nonce=16 B]");
    AttestationDocument full =
        AttestationParser.parse(
            ATTESTER.doc(NOW).publicKey(new byte[3]).userData(new byte[4]).encode());
    assertThat(full.toString()).contains("publicKey=3 B, userData=4 B, nonce=null]");
  }
}
