package dev.keycast.mock.nitro;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import dev.keycast.protocol.attestation.AttestationVerifier;
import dev.keycast.protocol.attestation.ExpectedPcrs;
import dev.keycast.protocol.attestation.TrustRoot;
import dev.keycast.protocol.attestation.VerificationPolicy;
import dev.keycast.protocol.attestation.VerifiedAttestation;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** keycast-protocol's verifier accepts MockAttester documents only when the mock root is pinned. */
class MockAttesterVerifierInteropTest {
  private static final Instant T0 = Instant.parse("2026-11-23T03:00:00Z");
  private static final Clock CLOCK = Clock.fixed(T0, ZoneOffset.UTC);

  @TempDir Path tmp;

  private MockAttester attester() throws Exception {
    Path jar = tmp.resolve("app.jar");
    Files.writeString(jar, "enclave code");
    return MockAttester.create(
        tmp.resolve("state"), MockMeasurements.of(List.of(jar), "rt"), CLOCK);
  }

  @Test
  void defaultPolicyRejectsTheMockRoot() throws Exception {
    byte[] doc = attester().attest(null, new byte[] {1, 2, 3}, null);
    Throwable t =
        catchThrowable(
            () -> AttestationVerifier.create(VerificationPolicy.defaults(), CLOCK).verify(doc));
    assertThat(t).isInstanceOf(dev.keycast.protocol.attestation.AttestationException.class);
    assertThat(((dev.keycast.protocol.attestation.AttestationException) t).reason())
        .isEqualTo(dev.keycast.protocol.attestation.AttestationException.Reason.UNTRUSTED_ROOT);
  }

  @Test
  void explicitlyTrustedMockRootAndPinnedMeasurementsVerify() throws Exception {
    MockAttester a = attester();
    byte[] nonce = {9, 8, 7};
    byte[] userData = {1, 1, 2, 3, 5, 8};
    byte[] publicKey = new byte[32];
    byte[] doc = a.attest(userData, nonce, publicKey);
    Path state = a.stateDirectory();
    VerificationPolicy policy =
        VerificationPolicy.builder()
            .trustRoots(
                List.of(
                    TrustRoot.fromPem(
                        "mock", Files.readAllBytes(state.resolve(MockAttester.ROOT_FILE)))))
            .expectedPcrs(
                ExpectedPcrs.parseJson(
                    Files.readAllBytes(state.resolve(MockAttester.MEASUREMENTS_FILE))))
            .expectedNonce(nonce)
            .expectedUserData(userData)
            .expectedPublicKey(publicKey)
            .build();
    VerifiedAttestation ok = AttestationVerifier.create(policy, CLOCK).verify(doc);
    assertThat(ok).isNotNull();

    // a different code measurement is refused
    Path other = tmp.resolve("other.jar");
    Files.writeString(other, "enclave code, changed");
    MockMeasurements changed = MockMeasurements.of(List.of(other), "rt");
    byte[] changedDoc =
        MockAttester.create(state, changed, CLOCK).attest(userData, nonce, publicKey);
    Throwable t =
        catchThrowable(() -> AttestationVerifier.create(policy, CLOCK).verify(changedDoc));
    assertThat(((dev.keycast.protocol.attestation.AttestationException) t).reason())
        .isEqualTo(dev.keycast.protocol.attestation.AttestationException.Reason.PCR_MISMATCH);
  }
}
