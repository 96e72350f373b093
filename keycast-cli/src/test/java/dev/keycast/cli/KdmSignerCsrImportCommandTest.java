package dev.keycast.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.keycast.protocol.Base64Url;
import dev.keycast.protocol.Json;
import dev.keycast.protocol.api.EnclaveApi;
import dev.keycast.protocol.api.ErrorBody;
import dev.keycast.protocol.cinema.DcCertificateIssuer;
import dev.keycast.protocol.cinema.DcCertificates;
import dev.keycast.protocol.cinema.DcPem;
import dev.keycast.protocol.keyset.KdmSignerKeys;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code keycast kdm signer-csr} and {@code signer-import} against an admin listener on 127.0.0.1
 * that answers as the host does (api.md section 3): the request as PEM (checked by openssl here),
 * the chain posted as PEM, the host's refusals as one line and exit code 4.
 */
class KdmSignerCsrImportCommandTest {
  static final SecureRandom RANDOM = new SecureRandom();

  @TempDir Path dir;
  HttpServer server;
  String admin;
  KdmSignerKeys signer;
  final List<String> requests = new CopyOnWriteArrayList<>();
  final List<byte[]> bodies = new CopyOnWriteArrayList<>();
  volatile int chainStatus = 200;

  @BeforeEach
  void start() throws Exception {
    signer =
        KdmSignerKeys.generate(
            "ks-0123456789abcdef0123456789abcdef",
            Instant.now().minus(Duration.ofDays(1)),
            1,
            RANDOM);
    server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    server.createContext(
        "/admin/kdm-signer/csr",
        ex -> {
          requests.add(ex.getRequestURI().toString());
          ex.getRequestBody().readAllBytes();
          try {
            byte[] der =
                signer.leafCsr(
                    "ks-0123456789abcdef0123456789abcdef", "DISTRIBUTOR.TEST", null, null);
            answer(
                ex,
                200,
                "application/pkcs10",
                DcPem.encode("CERTIFICATE REQUEST", der).getBytes(StandardCharsets.US_ASCII));
          } catch (Exception e) {
            answer(ex, 500, "text/plain", new byte[0]);
          }
        });
    server.createContext(
        "/admin/kdm-signer/chain",
        ex -> {
          requests.add(ex.getRequestURI().toString());
          byte[] body = ex.getRequestBody().readAllBytes();
          bodies.add(body);
          if (chainStatus != 200) {
            answer(
                ex,
                chainStatus,
                "application/json",
                Json.encode(
                    new ErrorBody(
                        "kdm_signer_chain_key_mismatch",
                        "kdm_signer_chain_key_mismatch: the chain's leaf certifies another public key")));
            return;
          }
          try {
            List<String> chain = new ArrayList<>();
            for (byte[] c : DcPem.parseCertificates(body)) {
              chain.add(Base64Url.encode(c));
            }
            answer(
                ex,
                200,
                "application/json",
                Json.encode(
                    new EnclaveApi.KeySetResponse(
                        "AAAA",
                        new EnclaveApi.KeyBundle(
                            "ks-0123456789abcdef0123456789abcdef",
                            "r",
                            "s",
                            "arn",
                            "u",
                            null,
                            null,
                            chain))));
          } catch (Exception e) {
            answer(ex, 500, "text/plain", new byte[0]);
          }
        });
    server.start();
    admin = "http://127.0.0.1:" + server.getAddress().getPort();
  }

  @AfterEach
  void stop() {
    server.stop(0);
  }

  @Test
  void signerCsrWritesTheEnclavesRequestAsPemThatOpensslVerifies() throws Exception {
    Path out = dir.resolve("signer.csr");
    Cli.Run r =
        Cli.run(
                "kdm",
                "signer-csr",
                "--admin",
                admin,
                "--out",
                out.toString(),
                "--organization",
                "DISTRIBUTOR.TEST",
                "--organizational-unit",
                "KDM DEPT")
            .ok();
    assertThat(requests)
        .containsExactly(
            "/admin/kdm-signer/csr?organization=DISTRIBUTOR.TEST&organizational_unit=KDM%20DEPT");
    assertThat(r.out())
        .contains("CN=CS.keycast-kdm-signer")
        .contains(DcCertificates.publicKeyDigest(signer.chain().get(0).getPublicKey()));
    assertThat(Files.readString(out)).startsWith("-----BEGIN CERTIFICATE REQUEST-----");
    Process p =
        new ProcessBuilder("openssl", "req", "-in", out.toString(), "-verify", "-noout")
            .redirectErrorStream(true)
            .start();
    String said = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).as(said).isZero();
  }

  @Test
  void signerImportPostsThePemChainAndNamesTheRoot() throws Exception {
    List<X509Certificate> chain = distributorChain();
    Path file = dir.resolve("chain.pem");
    Files.writeString(
        file, "subject=ignored text between blocks\n" + DcPem.certificates(der(chain)));
    Cli.Run r = Cli.run("kdm", "signer-import", "--admin", admin, "--chain", file.toString()).ok();
    assertThat(DcPem.parseCertificates(bodies.get(0)))
        .zipSatisfy(der(chain), (a, b) -> assertThat(a).isEqualTo(b));
    assertThat(r.out())
        .contains(DcCertificates.thumbprintBase64(chain.get(2)))
        .contains("3 certificates");
  }

  @Test
  void signerImportReportsTheEnclavesRefusalOnOneLine() throws Exception {
    chainStatus = 422;
    Path file = dir.resolve("chain.pem");
    Files.writeString(file, DcPem.certificates(der(distributorChain())));
    Cli.Run r =
        Cli.run("kdm", "signer-import", "--admin", admin, "--chain", file.toString())
            .failsWith(
                ExitCodes.HOST_ERROR,
                "keycast kdm signer-import: host answered 422 kdm_signer_chain_key_mismatch");
    assertThat(r.err()).contains("keycast kdm signer-csr");
  }

  @Test
  void signerImportRefusesALeafWithoutItsIssuersBeforeAskingTheHost() throws Exception {
    Path file = dir.resolve("leaf.pem");
    Files.writeString(file, DcPem.certificates(der(distributorChain()).subList(0, 1)));
    Cli.run("kdm", "signer-import", "--admin", admin, "--chain", file.toString())
        .failsWith(ExitCodes.VERIFICATION_FAILED, "keycast kdm signer-import: --chain");
    assertThat(requests).isEmpty();
  }

  List<X509Certificate> distributorChain() throws Exception {
    return DcCertificateIssuer.issue(
            new DcCertificateIssuer.ChainNames(
                "DISTRIBUTOR.TEST",
                "KDM",
                "ROOT.DISTRIBUTOR.TEST",
                "CA.DISTRIBUTOR.TEST",
                "CS",
                "keycast-kdm-signer"),
            DcCertificateIssuer.newRsa2048(RANDOM),
            DcCertificateIssuer.newRsa2048(RANDOM),
            new KeyPair(signer.chain().get(0).getPublicKey(), null),
            Instant.now().minus(Duration.ofDays(1)),
            1,
            RANDOM)
        .chain();
  }

  static List<byte[]> der(List<X509Certificate> chain) throws Exception {
    List<byte[]> out = new ArrayList<>();
    for (X509Certificate c : chain) {
      out.add(c.getEncoded());
    }
    return out;
  }

  static void answer(HttpExchange ex, int status, String type, byte[] body) throws IOException {
    ex.getResponseHeaders().add("Content-Type", type);
    ex.sendResponseHeaders(status, body.length == 0 ? -1 : body.length);
    if (body.length > 0) {
      ex.getResponseBody().write(body);
    }
    ex.close();
  }
}
