package dev.keycast.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keycast.protocol.cinema.DcCertificateIssuer;
import dev.keycast.protocol.cinema.DcPem;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code keycast dkdm import-key} (wire-format.md 10.6) against the fake host, which checks the
 * request as host and enclave do: the key leaves this machine only HPKE-sealed to the attested
 * receive key under the key-import info, bound to the certificate, with a sender statement.
 */
class DkdmImportKeyCommandTest {
  static DcCertificateIssuer.IssuedChain legacy;
  static DcCertificateIssuer.IssuedChain other;

  @TempDir Path tmp;
  FakeHost host;

  @BeforeAll
  static void chains() throws Exception {
    SecureRandom random = new SecureRandom();
    Instant from = Instant.now().minus(Duration.ofDays(1));
    legacy =
        DcCertificateIssuer.issue(
            new DcCertificateIssuer.ChainNames(
                "DISTRIBUTOR.TEST",
                "DCPOMATIC.TEST",
                "ROOT.DCPOMATIC.TEST",
                "CA.DCPOMATIC.TEST",
                "CS",
                "DCPOMATIC-DECRYPTION"),
            from,
            1,
            random);
    other =
        DcCertificateIssuer.issue(
            new DcCertificateIssuer.ChainNames(
                "OTHER.TEST",
                "EASYDCP.TEST",
                "ROOT.EASYDCP.TEST",
                "CA.EASYDCP.TEST",
                "CS",
                "EASYDCP-KDM"),
            from,
            1,
            random);
  }

  @BeforeEach
  void start() throws Exception {
    host = new FakeHost();
  }

  @AfterEach
  void stop() {
    host.close();
  }

  Cli.Run importKey(DcCertificateIssuer.IssuedChain certOf, DcCertificateIssuer.IssuedChain keyOf)
      throws Exception {
    Path pcrs = Files.writeString(tmp.resolve("measurements.json"), FakeHost.measurementsJson());
    Path root = Files.writeString(tmp.resolve("mock-root.pem"), host.rootPem());
    Path cert =
        Files.writeString(
            tmp.resolve("legacy.pem"),
            DcPem.certificates(List.of(certOf.leafCertificate().getEncoded())));
    Path key =
        Files.writeString(
            tmp.resolve("legacy.key"),
            "-----BEGIN PRIVATE KEY-----\n"
                + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII))
                    .encodeToString(keyOf.leaf().getPrivate().getEncoded())
                + "\n-----END PRIVATE KEY-----\n");
    return Cli.run(
        "dkdm",
        "import-key",
        "--host",
        host.url(),
        "--expect-pcrs",
        pcrs.toString(),
        "--trust-root",
        root.toString(),
        "--certificate",
        cert.toString(),
        "--key",
        key.toString(),
        "--sender-key",
        FakeHost.senderKeyFile(tmp).toString());
  }

  @Test
  void theKeyLeavesOnlySealedToTheAttestedEnclaveAndBoundToItsCertificate() throws Exception {
    Cli.Run r = importKey(legacy, legacy).ok();
    assertThat(r.out()).contains("imported:").contains("DCPOMATIC-DECRYPTION");
    byte[] pkcs8 = legacy.leaf().getPrivate().getEncoded();
    assertThat(host.dkdmKeysOpened).singleElement().isEqualTo(pkcs8);
    String body = new String(host.dkdmKeyImportBodies.getFirst(), StandardCharsets.UTF_8);
    assertThat(body)
        .doesNotContain(dev.keycast.protocol.Base64Url.encode(pkcs8))
        .doesNotContain(Base64.getEncoder().encodeToString(pkcs8));
    assertThat(r.out()).doesNotContain(Base64.getEncoder().encodeToString(pkcs8).substring(0, 40));
  }

  @Test
  void aKeyThatIsNotTheCertificatesIsRefusedBeforeAnythingIsSent() throws Exception {
    Cli.Run r = importKey(legacy, other);
    assertThat(r.exit()).isEqualTo(ExitCodes.USAGE);
    assertThat(r.err()).contains("not the key of the certificate");
    assertThat(host.requests)
        .noneMatch(q -> q.contains("/v1/dkdm-keys") || q.contains("/v1/attestation"));
  }
}
