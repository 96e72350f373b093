package dev.keycast.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.keycast.protocol.attestation.AttestationDocument;
import dev.keycast.protocol.attestation.AttestationParser;
import dev.keycast.protocol.attestation.TestAttester;
import dev.keycast.protocol.attestation.Vectors;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code keycast attestation verify} run in-process on the real documents. */
class AttestationVerifyCommandTest {
  private static final String PROD_AT = "2024-09-07T14:37:39.545Z";
  private static final String DEBUG_AT = "2024-09-07T14:38:06.508Z";

  @TempDir Path tmp;

  record Run(int exit, String out, String err) {}

  static Run run(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int exit =
        KeycastCli.newCommandLine(new PrintWriter(out, true), new PrintWriter(err, true))
            .execute(args);
    return new Run(exit, out.toString(), err.toString());
  }

  static String vector(String name) {
    return Vectors.dir().resolve(name).toString();
  }

  Path write(String name, byte[] content) throws Exception {
    Path p = tmp.resolve(name);
    Files.write(p, content);
    return p;
  }

  static String[] lines(String s) {
    return s.isEmpty() ? new String[0] : s.split("\\R");
  }

  @Test
  void productionVerifiesAtItsTimestamp() {
    Run r =
        run(
            "attestation",
            "verify",
            "--document",
            vector("nitrite-production.b64"),
            "--at",
            PROD_AT);
    assertThat(r.exit()).as(r.err()).isEqualTo(0);
    assertThat(r.err()).isEmpty();
    assertThat(r.out())
        .contains("module_id:   i-")
        .contains("timestamp:   2024-09-07T14:37:39.545Z (1725719859545 ms)")
        .contains("digest:      SHA384")
        .contains("PCR0 ")
        .contains("user_data:   1024 bytes")
        .contains("cabundle[0]: CN=aws.nitro-enclaves")
        .contains("verified:    OK (root AWS Nitro Enclaves Root-G1, sha256 641a0321");
  }

  @Test
  void rawCborInputIsAutoDetected() throws Exception {
    Path raw = write("doc.cbor", Vectors.production());
    Run r = run("attestation", "verify", "--document", raw.toString(), "--at", PROD_AT);
    assertThat(r.exit()).as(r.err()).isEqualTo(0);
  }

  @Test
  void realDocumentNowIsExpired() {
    Run r = run("attestation", "verify", "--document", vector("nitrite-production.b64"));
    assertThat(r.exit()).isEqualTo(ExitCodes.VERIFICATION_FAILED);
    assertThat(lines(r.err())).hasSize(1);
    assertThat(r.err()).startsWith("attestation verify: EXPIRED: ");
    assertThat(r.out()).contains("module_id:"); // still printed for the operator
  }

  @Test
  void tooOldWithMaxAge() {
    Run r =
        run(
            "attestation",
            "verify",
            "--document",
            vector("nitrite-production.b64"),
            "--at",
            "2024-09-07T14:47:39.545Z",
            "--max-age",
            "5m");
    assertThat(r.err()).startsWith("attestation verify: TOO_OLD: ");
    Run ok =
        run(
            "attestation",
            "verify",
            "--document",
            vector("nitrite-production.b64"),
            "--at",
            "2024-09-07T14:47:39.545Z",
            "--max-age",
            "PT15M");
    assertThat(ok.exit()).as(ok.err()).isEqualTo(0);
  }

  @Test
  void auditModeAtDocumentTimestamp() {
    Run r =
        run(
            "attestation",
            "verify",
            "--document",
            vector("nitrite-production.b64"),
            "--at",
            "document");
    assertThat(r.exit()).as(r.err()).isEqualTo(0);
    assertThat(r.out()).contains("WARNING: validated at the document timestamp");
  }

  @Test
  void debugDocumentNeedsAllowDebug() {
    Run r =
        run("attestation", "verify", "--document", vector("nitrite-debug.b64"), "--at", DEBUG_AT);
    assertThat(r.exit()).isEqualTo(1);
    assertThat(lines(r.err())).hasSize(1);
    assertThat(r.err()).startsWith("attestation verify: DEBUG_MODE: PCR0 is all zeros");
    Run ok =
        run(
            "attestation",
            "verify",
            "--document",
            vector("nitrite-debug.b64"),
            "--at",
            DEBUG_AT,
            "--allow-debug");
    assertThat(ok.exit()).as(ok.err()).isEqualTo(0);
    assertThat(ok.out()).contains("WARNING: debug-mode enclave");
  }

  @Test
  void syntheticDocumentIsMalformed() {
    Run r = run("attestation", "verify", "--document", vector("nitrite-selfsigned-synthetic.b64"));
    assertThat(r.exit()).isEqualTo(1);
    assertThat(r.err()).startsWith("attestation verify: MALFORMED: ");
  }

  @Test
  void expectedPcrsAndNonce() throws Exception {
    AttestationDocument d = AttestationParser.parse(Vectors.production());
    HexFormat hex = HexFormat.of();
    String nitroCli =
        """
        {"Measurements":{"HashAlgorithm":"Sha384 { ... }","PCR0":"%s","PCR1":"%s","PCR2":"%s"}}"""
            .formatted(
                hex.formatHex(d.pcr(0).orElseThrow()),
                hex.formatHex(d.pcr(1).orElseThrow()),
                hex.formatHex(d.pcr(2).orElseThrow()));
    Path good = write("good.json", nitroCli.getBytes(StandardCharsets.UTF_8));
    String nonce = hex.formatHex(d.nonce().orElseThrow());
    Run ok =
        run(
            "attestation",
            "verify",
            "--document",
            vector("nitrite-production.b64"),
            "--at",
            PROD_AT,
            "--expect-pcrs",
            good.toString(),
            "--nonce",
            nonce);
    assertThat(ok.exit()).as(ok.err()).isEqualTo(0);
    assertThat(ok.out()).doesNotContain("PCRs not checked");

    String wrongJson =
        "{\"version\":1,\"allowed\":[{\"PCR0\":\""
            + "00".repeat(48)
            + "\",\"PCR1\":\""
            + hex.formatHex(d.pcr(1).orElseThrow())
            + "\",\"PCR2\":\""
            + hex.formatHex(d.pcr(2).orElseThrow())
            + "\"}]}";
    Path wrong = write("wrong.json", wrongJson.getBytes(StandardCharsets.UTF_8));
    Run bad =
        run(
            "attestation",
            "verify",
            "--document",
            vector("nitrite-production.b64"),
            "--at",
            PROD_AT,
            "--expect-pcrs",
            wrong.toString());
    assertThat(bad.exit()).isEqualTo(1);
    assertThat(lines(bad.err())).hasSize(1);
    assertThat(bad.err())
        .startsWith(
            "attestation verify: PCR_MISMATCH: PCRs match none of 1 allowed set(s): PCR0 is "
                + hex.formatHex(d.pcr(0).orElseThrow()));

    Run badNonce =
        run(
            "attestation",
            "verify",
            "--document",
            vector("nitrite-production.b64"),
            "--at",
            PROD_AT,
            "--nonce",
            "00ff");
    assertThat(badNonce.exit()).isEqualTo(1);
    assertThat(badNonce.err()).startsWith("attestation verify: NONCE_MISMATCH: ");
  }

  @Test
  void mockRootMustBeTrustedExplicitlyAndWarns() throws Exception {
    TestAttester mock =
        new TestAttester(Instant.now().minus(Duration.ofHours(1)), Duration.ofHours(3));
    Path doc =
        write(
            "mock.b64",
            Base64.getEncoder().encode(mock.doc(Instant.now().minusSeconds(5)).encode()));
    Run untrusted = run("attestation", "verify", "--document", doc.toString());
    assertThat(untrusted.exit()).isEqualTo(1);
    assertThat(untrusted.err()).startsWith("attestation verify: UNTRUSTED_ROOT: ");

    String pem =
        "-----BEGIN CERTIFICATE-----\n"
            + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII))
                .encodeToString(mock.root().getEncoded())
            + "\n-----END CERTIFICATE-----\n";
    Path root = write("mock-root.pem", pem.getBytes(StandardCharsets.US_ASCII));
    Run ok =
        run("attestation", "verify", "--document", doc.toString(), "--trust-root", root.toString());
    assertThat(ok.exit()).as(ok.err()).isEqualTo(0);
    assertThat(ok.out()).contains("WARNING: trusting a non-AWS root mock-root.pem");
  }

  @Test
  void jsonOutput() throws Exception {
    Run r =
        run(
            "attestation",
            "verify",
            "--document",
            vector("nitrite-production.b64"),
            "--at",
            PROD_AT,
            "--json");
    assertThat(r.exit()).isEqualTo(0);
    JsonNode j = new ObjectMapper().readTree(r.out());
    assertThat(j.get("verified").asBoolean()).isTrue();
    assertThat(j.get("trustRootSha256").asText()).startsWith("641a0321");
    assertThat(j.at("/document/timestampMillis").asLong()).isEqualTo(1725719859545L);
    assertThat(j.at("/document/pcrs").size()).isEqualTo(16);
    assertThat(j.at("/document/chain").size()).isEqualTo(5);
    assertThat(j.at("/document/chain/1/subject").asText()).contains("CN=aws.nitro-enclaves");

    Run bad =
        run("attestation", "verify", "--document", vector("nitrite-production.b64"), "--json");
    assertThat(bad.exit()).isEqualTo(1);
    JsonNode jb = new ObjectMapper().readTree(bad.out());
    assertThat(jb.get("verified").asBoolean()).isFalse();
    assertThat(jb.get("reason").asText()).isEqualTo("EXPIRED");
    assertThat(lines(bad.err())).hasSize(1);
  }

  @Test
  void truncatedAndGarbageDocuments() throws Exception {
    byte[] prod = Vectors.production();
    Path trunc = write("trunc.cbor", java.util.Arrays.copyOf(prod, 3000));
    Run r = run("attestation", "verify", "--document", trunc.toString(), "--at", PROD_AT);
    assertThat(r.exit()).isEqualTo(1);
    assertThat(lines(r.err())).hasSize(1);
    assertThat(r.err()).startsWith("attestation verify: MALFORMED: ");
    Path garbage = write("garbage.txt", "not a document !!".getBytes(StandardCharsets.US_ASCII));
    Run g = run("attestation", "verify", "--document", garbage.toString());
    assertThat(g.exit()).isEqualTo(1);
    assertThat(g.err()).startsWith("attestation verify: MALFORMED: ");
  }

  @Test
  void usageAndIoErrors() throws Exception {
    assertThat(run("attestation", "verify").exit()).isEqualTo(ExitCodes.USAGE);
    assertThat(
            run(
                    "attestation",
                    "verify",
                    "--document",
                    vector("nitrite-production.b64"),
                    "--at",
                    "yesterday")
                .exit())
        .isEqualTo(ExitCodes.USAGE);
    assertThat(
            run(
                    "attestation",
                    "verify",
                    "--document",
                    vector("nitrite-production.b64"),
                    "--max-age",
                    "soon")
                .exit())
        .isEqualTo(ExitCodes.USAGE);
    assertThat(
            run(
                    "attestation",
                    "verify",
                    "--document",
                    vector("nitrite-production.b64"),
                    "--nonce",
                    "xyz")
                .exit())
        .isEqualTo(ExitCodes.USAGE);
    Path badPcrs = write("bad.json", "{\"version\":2}".getBytes(StandardCharsets.UTF_8));
    Run r =
        run(
            "attestation",
            "verify",
            "--document",
            vector("nitrite-production.b64"),
            "--expect-pcrs",
            badPcrs.toString());
    assertThat(r.exit()).isEqualTo(ExitCodes.USAGE);
    assertThat(r.err()).contains("version 2 is not supported");
    Run io = run("attestation", "verify", "--document", tmp.resolve("missing.b64").toString());
    assertThat(io.exit()).isEqualTo(ExitCodes.IO);
    assertThat(lines(io.err())).hasSize(1);
    assertThat(io.err()).startsWith("attestation verify: I/O: cannot read");
    assertThat(run("attestation").exit()).isEqualTo(ExitCodes.USAGE);
    assertThat(run().exit()).isEqualTo(ExitCodes.USAGE);
  }

  @Test
  void helpDocumentsExitCodes() {
    Run r = run("attestation", "verify", "--help");
    assertThat(r.exit()).isEqualTo(0);
    assertThat(r.out())
        .contains("Exit codes:")
        .contains("1   verification failed")
        .contains("--expect-pcrs=FILE");
  }
}
