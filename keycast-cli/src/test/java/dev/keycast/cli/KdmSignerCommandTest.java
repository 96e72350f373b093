package dev.keycast.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.keycast.protocol.Json;
import dev.keycast.protocol.attestation.TestAttester;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code keycast kdm signer} against a fake host over real HTTP: the signer chain is written only
 * from an attestation that verifies, and a host that swaps or alters the chain it relays is refused
 * (here and by {@code send} and {@code attest}, which verify the same bundle).
 */
class KdmSignerCommandTest {
  @TempDir Path tmp;
  FakeHost host;
  Path pcrs;
  Path root;
  Path out;

  @BeforeEach
  void start() throws Exception {
    host = new FakeHost();
    pcrs = Files.writeString(tmp.resolve("measurements.json"), FakeHost.measurementsJson());
    root = Files.writeString(tmp.resolve("mock-root.pem"), host.rootPem());
    out = tmp.resolve("signer.pem");
  }

  @AfterEach
  void stop() {
    host.close();
  }

  Cli.Run signer(String... extra) {
    List<String> a =
        new ArrayList<>(
            List.of(
                "kdm",
                "signer",
                "--host",
                host.url(),
                "--expect-pcrs",
                pcrs.toString(),
                "--trust-root",
                root.toString(),
                "--out",
                out.toString()));
    a.addAll(List.of(extra));
    return Cli.run(a.toArray(String[]::new));
  }

  static List<X509Certificate> pem(Path file) throws Exception {
    List<X509Certificate> out = new ArrayList<>();
    for (var c :
        CertificateFactory.getInstance("X.509")
            .generateCertificates(new ByteArrayInputStream(Files.readAllBytes(file)))) {
      out.add((X509Certificate) c);
    }
    return out;
  }

  @Test
  void writesTheAttestedSignerChainAsPemLeafFirst() throws Exception {
    Cli.Run r = signer().ok();
    assertThat(r.out())
        .contains("signer chain: 3 certificates written to " + out)
        .contains("leaf  ")
        .contains("CN=CS.keycast-kdm-signer");
    List<X509Certificate> chain = pem(out);
    List<byte[]> attested = FakeHost.Signers.SIGNER.chainDer();
    assertThat(chain).hasSize(3);
    for (int i = 0; i < 3; i++) {
      assertThat(chain.get(i).getEncoded()).isEqualTo(attested.get(i));
    }
    String text = Files.readString(out, StandardCharsets.US_ASCII);
    assertThat(text).startsWith("-----BEGIN CERTIFICATE-----\n");
    // an independent checker: openssl verifies the leaf through the intermediate to the root
    opensslVerify(chain);

    JsonNode j = Json.mapper().readTree(signer("--json").ok().out());
    assertThat(j.get("verified").asBoolean()).isTrue();
    assertThat(j.get("key_set_id").asText()).isEqualTo(host.keySet.id());
    assertThat(j.get("chain")).hasSize(3);
    assertThat(j.at("/chain/0/subject").asText()).contains("CN=CS.keycast-kdm-signer");
  }

  @Test
  void refusesAnAttestationThatDoesNotVerifyAndWritesNothing() {
    host.pcr0Override = TestAttester.pcrValue(0x42);
    signer()
        .failsWith(ExitCodes.VERIFICATION_FAILED, "keycast kdm signer: attestation PCR_MISMATCH: ");
    assertThat(out).doesNotExist();
  }

  @Test
  void refusesABundleWithoutASignerChain() {
    host.withKdmSigner = false;
    signer()
        .failsWith(
            ExitCodes.VERIFICATION_FAILED,
            "keycast kdm signer: the enclave's attested key bundle carries no KDM signer chain");
    assertThat(out).doesNotExist();
  }

  @Test
  void requiresOutAndPins() {
    Cli.run(
            "kdm",
            "signer",
            "--host",
            host.url(),
            "--expect-pcrs",
            pcrs.toString(),
            "--trust-root",
            root.toString())
        .failsWith(ExitCodes.USAGE, "keycast kdm signer: --out is required");
    assertThat(Cli.run("kdm").exit()).isEqualTo(ExitCodes.USAGE);
  }

  @Test
  void hostSwapsTheSignerChainInTheBundleItRelays() throws Exception {
    host.swapKdmSignerChain = true;
    signer()
        .failsWith(
            ExitCodes.VERIFICATION_FAILED, "keycast kdm signer: attestation USER_DATA_MISMATCH: ");
    assertThat(out).doesNotExist();
    Cli.run(
            "attest",
            "--host",
            host.url(),
            "--expect-pcrs",
            pcrs.toString(),
            "--trust-root",
            root.toString())
        .failsWith(
            ExitCodes.VERIFICATION_FAILED, "keycast attest: attestation USER_DATA_MISMATCH: ");
    Path secret = Files.writeString(tmp.resolve("s.bin"), "x");
    Cli.run(
            "send",
            "--host",
            host.url(),
            "--expect-pcrs",
            pcrs.toString(),
            "--trust-root",
            root.toString(),
            "--secret-file",
            secret.toString(),
            "--secret-id",
            "s-1",
            "--sender",
            "Studio",
            "--recipient",
            "ab".repeat(32),
            "--sender-key",
            FakeHost.senderKeyFile(tmp).toString())
        .failsWith(ExitCodes.VERIFICATION_FAILED, "keycast send: attestation USER_DATA_MISMATCH: ");
    assertThat(host.sendPayloads).isEmpty();
  }

  @Test
  void hostAltersTheSignerChainInTheBundleItRelays() {
    host.alterKdmSignerChain = true;
    Cli.Run r = signer().failsWith(ExitCodes.VERIFICATION_FAILED, "keycast kdm signer: ");
    assertThat(r.err()).containsAnyOf("signer_certificate_chain_signature", "USER_DATA_MISMATCH");
    assertThat(out).doesNotExist();
  }

  static void opensslVerify(List<X509Certificate> chain) throws Exception {
    boolean present;
    try {
      Process p = new ProcessBuilder("openssl", "version").redirectErrorStream(true).start();
      p.getInputStream().readAllBytes();
      present = p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0;
    } catch (java.io.IOException e) {
      present = false;
    }
    if (!present && System.getenv("CI") != null) {
      throw new AssertionError("openssl is not on PATH; CI must have it");
    }
    assumeTrue(present, "openssl is not on PATH");
    Path dir = Files.createTempDirectory("kdm-signer-openssl");
    Path leaf = dir.resolve("leaf.pem");
    Path ca = dir.resolve("ca.pem");
    Path rootPem = dir.resolve("root.pem");
    Files.writeString(leaf, pemOf(chain.get(0)));
    Files.writeString(ca, pemOf(chain.get(1)));
    Files.writeString(rootPem, pemOf(chain.get(2)));
    Process p =
        new ProcessBuilder(
                "openssl",
                "verify",
                "-x509_strict",
                "-CAfile",
                rootPem.toString(),
                "-untrusted",
                ca.toString(),
                leaf.toString())
            .redirectErrorStream(true)
            .start();
    String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).as(output).isZero();
    assertThat(output).contains(": OK");
  }

  static String pemOf(X509Certificate c) throws Exception {
    return "-----BEGIN CERTIFICATE-----\n"
        + java.util.Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII))
            .encodeToString(c.getEncoded())
        + "\n-----END CERTIFICATE-----\n";
  }
}
