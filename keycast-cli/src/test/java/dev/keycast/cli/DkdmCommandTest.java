package dev.keycast.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.keycast.protocol.Base64Url;
import dev.keycast.protocol.Json;
import dev.keycast.protocol.api.EnclaveApi;
import dev.keycast.protocol.api.ErrorBody;
import dev.keycast.protocol.cinema.DcPem;
import dev.keycast.protocol.sender.DkdmIngestStatement;
import dev.keycast.protocol.sender.SenderKey;
import dev.keycast.protocol.sender.SenderRequestSignature;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code keycast dkdm certificate} against the fake host (attested bundle, real HTTP) and {@code
 * keycast dkdm ingest} against a stand-in host that checks the request signature as the host does
 * and the ingest statement as the enclave does (wire-format.md section 10.2).
 */
class DkdmCommandTest {
  static final String KEY_SET = "ks-" + "0".repeat(32);

  @TempDir Path tmp;
  FakeHost host;
  HttpServer standIn;
  String standInUrl;
  volatile ErrorBody refuseWith;
  final List<String> verifiedStatements = new ArrayList<>();

  @BeforeEach
  void start() throws Exception {
    host = new FakeHost();
    standIn = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 8);
    standIn.createContext("/", this::handle);
    standIn.start();
    standInUrl = "http://127.0.0.1:" + standIn.getAddress().getPort();
  }

  @AfterEach
  void stop() {
    host.close();
    standIn.stop(0);
  }

  // ---- dkdm certificate

  Cli.Run certificate(Path out, String... extra) throws Exception {
    Path pcrs = Files.writeString(tmp.resolve("measurements.json"), FakeHost.measurementsJson());
    Path root = Files.writeString(tmp.resolve("mock-root.pem"), host.rootPem());
    List<String> a =
        new ArrayList<>(
            List.of(
                "dkdm",
                "certificate",
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

  @Test
  void writesTheAttestedSignerLeafAsTheDkdmRecipientCertificate() throws Exception {
    Path out = tmp.resolve("dkdm-recipient.pem");
    Cli.Run r = certificate(out).ok();
    X509Certificate leaf =
        (X509Certificate)
            CertificateFactory.getInstance("X.509")
                .generateCertificate(new ByteArrayInputStream(Files.readAllBytes(out)));
    assertThat(leaf.getEncoded()).isEqualTo(FakeHost.Signers.SIGNER.chainDer().get(0));
    assertThat(DcPem.parseCertificates(Files.readAllBytes(out))).hasSize(1);
    assertThat(r.out())
        .contains("CN=CS.keycast-kdm-signer")
        .contains("serial " + leaf.getSerialNumber());
    Path chain = tmp.resolve("chain.pem");
    certificate(chain, "--chain").ok();
    assertThat(DcPem.parseCertificates(Files.readAllBytes(chain))).hasSize(3);
  }

  @Test
  void aHostThatRelaysAnotherSignerChainGetsNoCertificateWritten() throws Exception {
    host.swapKdmSignerChain = true;
    Path out = tmp.resolve("never.pem");
    assertThat(certificate(out).exit()).isEqualTo(ExitCodes.VERIFICATION_FAILED);
    assertThat(out).doesNotExist();
  }

  // ---- dkdm ingest

  private void handle(HttpExchange ex) throws IOException {
    try (ex) {
      byte[] body = ex.getRequestBody().readAllBytes();
      String target = ex.getRequestURI().getRawPath();
      if (target.equals("/v1/ready")) {
        answer(ex, 200, Json.encode(new EnclaveApi.Readiness(true, "ready", KEY_SET, null)));
        return;
      }
      SenderKey who;
      try {
        who =
            SenderRequestSignature.verify(
                ex.getRequestHeaders().getFirst("Authorization"),
                ex.getRequestMethod(),
                target,
                body,
                Instant.now(),
                List.of(FakeHost.SENDER.publicKey()));
      } catch (SenderRequestSignature.Refused e) {
        answer(ex, e.code().status(), Json.encode(new ErrorBody(e.code().code(), e.getMessage())));
        return;
      }
      EnclaveApi.DkdmIngestRequest r =
          Json.decode(body, 1 << 22, EnclaveApi.DkdmIngestRequest.class);
      byte[] dkdm = Base64Url.decode("dkdm", r.dkdm(), 1 << 20);
      List<byte[]> roots = new ArrayList<>();
      for (String s : r.studioRoots()) {
        roots.add(Base64Url.decode("root", s, 4096));
      }
      DkdmIngestStatement st =
          DkdmIngestStatement.of(
              KEY_SET, dkdm, roots, Instant.ofEpochSecond(r.sender().timestamp()), who);
      if (st.verifies(Base64Url.decode("sig", r.sender().signature(), 64))) {
        verifiedStatements.add(new String(dkdm, StandardCharsets.UTF_8) + "|" + roots.size());
      }
      if (refuseWith != null) {
        answer(ex, 422, Json.encode(refuseWith));
        return;
      }
      answer(
          ex,
          201,
          Json.encode(
              new EnclaveApi.DkdmIngestResponse(
                  KEY_SET,
                  "urn:uuid:" + "1".repeat(8) + "-1111-1111-1111-111111111111",
                  "urn:uuid:22222222-2222-2222-2222-222222222222",
                  "Feature",
                  3,
                  "2026-12-01T00:00:00+00:00",
                  "2027-01-01T00:00:00+00:00",
                  "c2lnbmVy",
                  "cm9vdA==",
                  who.fingerprint(),
                  "dkdm-22222222-2222-2222-2222-222222222222",
                  "c2VhbGVk",
                  "YmluZGluZw")));
    } catch (Exception e) {
      answer(ex, 500, Json.encode(new ErrorBody("internal_error", String.valueOf(e))));
    }
  }

  private static void answer(HttpExchange ex, int status, byte[] body) throws IOException {
    ex.getResponseHeaders().set("Content-Type", "application/json");
    ex.sendResponseHeaders(status, body.length);
    ex.getResponseBody().write(body);
  }

  Path rootsFile() throws Exception {
    return Files.writeString(
        tmp.resolve("studio-roots.pem"),
        DcPem.certificates(
            List.of(
                FakeHost.Signers.OTHER.chainDer().get(2),
                FakeHost.Signers.SIGNER.chainDer().get(2))));
  }

  @Test
  void ingestSignsTheRequestAndTheStatementOverTheDkdmAndEveryRoot() throws Exception {
    Path dkdm =
        Files.writeString(
            tmp.resolve("film.dkdm.xml"),
            "<DCinemaSecurityMessage>stand-in</DCinemaSecurityMessage>");
    Cli.Run r =
        Cli.run(
                "dkdm",
                "ingest",
                "--host",
                standInUrl,
                "--dkdm",
                dkdm.toString(),
                "--studio-root",
                rootsFile().toString(),
                "--sender-key",
                FakeHost.senderKeyFile(tmp).toString())
            .ok();
    assertThat(verifiedStatements)
        .containsExactly("<DCinemaSecurityMessage>stand-in</DCinemaSecurityMessage>|2");
    assertThat(r.out())
        .contains("cpl:       urn:uuid:22222222-2222-2222-2222-222222222222 \"Feature\", 3 keys")
        .contains("window:    2026-12-01T00:00:00+00:00 to 2027-01-01T00:00:00+00:00");
    String json =
        Cli.run(
                "dkdm",
                "ingest",
                "--host",
                standInUrl,
                "--dkdm",
                dkdm.toString(),
                "--studio-root",
                rootsFile().toString(),
                "--sender-key",
                FakeHost.senderKeyFile(tmp).toString(),
                "--json")
            .ok()
            .out();
    assertThat(json).contains("\"key_count\":3").doesNotContain("sealed_content_keys\":\"");
  }

  @Test
  void aRefusedDkdmExitsWithTheEnclavesCodeOnOneLine() throws Exception {
    refuseWith =
        new ErrorBody("dkdm_wrong_recipient", "the DKDM is addressed to another certificate");
    Path dkdm = Files.writeString(tmp.resolve("film.dkdm.xml"), "<x/>");
    Cli.run(
            "dkdm",
            "ingest",
            "--host",
            standInUrl,
            "--dkdm",
            dkdm.toString(),
            "--studio-root",
            rootsFile().toString(),
            "--sender-key",
            FakeHost.senderKeyFile(tmp).toString())
        .failsWith(
            ExitCodes.HOST_ERROR, "keycast dkdm ingest: host answered 422 dkdm_wrong_recipient");
  }

  @Test
  void aStudioRootFileThatIsNotPemIsAUsageError() throws Exception {
    Path dkdm = Files.writeString(tmp.resolve("film.dkdm.xml"), "<x/>");
    Path bad = Files.writeString(tmp.resolve("root.txt"), "not a certificate");
    Cli.run(
            "dkdm",
            "ingest",
            "--host",
            standInUrl,
            "--dkdm",
            dkdm.toString(),
            "--studio-root",
            bad.toString(),
            "--sender-key",
            FakeHost.senderKeyFile(tmp).toString())
        .failsWith(ExitCodes.USAGE, "keycast dkdm ingest: --studio-root");
    assertThat(verifiedStatements).isEmpty();
  }
}
