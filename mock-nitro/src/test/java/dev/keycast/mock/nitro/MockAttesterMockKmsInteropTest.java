package dev.keycast.mock.nitro;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import dev.keycast.kms.mock.ProtocolRecipientVerifier;
import dev.keycast.kms.mock.RecipientVerificationException;
import dev.keycast.kms.mock.VerifiedRecipient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPairGenerator;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The mock KMS's Recipient verifier accepts MockAttester documents when (and only when) the mock root is configured. */
class MockAttesterMockKmsInteropTest {
  private static final Clock CLOCK =
      Clock.fixed(Instant.parse("2026-11-23T03:00:00Z"), ZoneOffset.UTC);

  @TempDir Path tmp;

  @Test
  void mockKmsVerifiesMockDocumentsWithTheMockRootOnly() throws Exception {
    Path jar = tmp.resolve("app.jar");
    Files.writeString(jar, "enclave");
    MockMeasurements m = MockMeasurements.of(List.of(jar), "rt");
    MockAttester a = MockAttester.create(tmp.resolve("state"), m, CLOCK);
    KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
    g.initialize(2048);
    byte[] spki = g.generateKeyPair().getPublic().getEncoded();
    byte[] doc = a.attest(null, null, spki);

    VerifiedRecipient r =
        ProtocolRecipientVerifier.trusting(
                List.of(a.stateDirectory().resolve(MockAttester.ROOT_FILE)), CLOCK)
            .verify(doc);
    assertThat(r.publicKeySpki()).isEqualTo(spki);
    assertThat(r.pcrHex(0)).contains(HexFormat.of().formatHex(m.pcr0()));

    Path awsRoot =
        Path.of(
            System.getProperty("keycast.vectors"), "attestation", "aws-nitro-enclaves-root-g1.pem");
    Throwable t =
        catchThrowable(
            () -> ProtocolRecipientVerifier.trusting(List.of(awsRoot), CLOCK).verify(doc));
    assertThat(t).isInstanceOf(RecipientVerificationException.class);
  }
}
