package dev.keycast.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.keycast.protocol.Json;
import dev.keycast.protocol.api.ErrorBody;
import dev.keycast.protocol.api.HostApi;
import dev.keycast.protocol.cinema.DcCertificates;
import dev.keycast.protocol.cinema.TestScreens;
import dev.keycast.protocol.sender.SenderKey;
import dev.keycast.protocol.sender.SenderRequestSignature;
import dev.keycast.protocol.sender.SenderSigningKey;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code keycast screen register} and {@code keycast kdm fetch} against a stand-in host on a real
 * socket that checks every request's sender signature exactly as the host does
 * ({@link SenderRequestSignature#verify} over the raw request-target and body).
 */
class ScreenAndKdmFetchCommandTest {
  static final SecureRandom RANDOM = new SecureRandom();
  static TestScreens.Screen screen;

  @TempDir Path dir;
  HttpServer server;
  String base;

  /** Requests the stand-in admitted: method, raw target, signing sender. */
  final List<String> admitted = new CopyOnWriteArrayList<>();

  volatile HostApi.RegisterScreen lastRegistration;
  volatile ErrorBody refuseWith;
  volatile byte[] zip = new byte[0];
  volatile ErrorBody mailRefusal;
  volatile String lastMailCinema;

  @BeforeAll
  static void screen() {
    Instant now = Instant.now().truncatedTo(ChronoUnit.SECONDS);
    TestScreens.Manufacturer m =
        TestScreens.manufacturer(
            "DC2.SMPTE.TESTMAKER.COM",
            now.minus(Duration.ofDays(30)),
            now.plus(Duration.ofDays(3000)),
            true,
            RANDOM);
    screen =
        TestScreens.screen(
            m,
            TestScreens.Spec.valid(now.minus(Duration.ofDays(1)), now.plus(Duration.ofDays(900))),
            RANDOM);
  }

  @BeforeEach
  void start() throws IOException {
    server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 16);
    server.createContext("/", this::handle);
    server.start();
    base = "http://127.0.0.1:" + server.getAddress().getPort();
  }

  @AfterEach
  void stop() {
    server.stop(0);
  }

  private void handle(HttpExchange ex) throws IOException {
    try (ex) {
      byte[] body = ex.getRequestBody().readAllBytes();
      String target =
          ex.getRequestURI().getRawPath()
              + (ex.getRequestURI().getRawQuery() == null
                  ? ""
                  : "?" + ex.getRequestURI().getRawQuery());
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
        answer(
            ex,
            e.code().status(),
            Json.encode(new ErrorBody(e.code().code(), e.getMessage())),
            "application/json");
        return;
      }
      admitted.add(ex.getRequestMethod() + " " + target + " " + who.fingerprint());
      if (refuseWith != null) {
        answer(ex, 400, Json.encode(refuseWith), "application/json");
        return;
      }
      if (target.startsWith("/v1/sends/") && target.endsWith("/mail")) {
        if (mailRefusal != null) {
          answer(ex, 503, Json.encode(mailRefusal), "application/json");
          return;
        }
        String cinema =
            ex.getRequestMethod().equals("POST")
                ? Json.decode(body, 4096, HostApi.MailRequest.class).cinema()
                : null;
        lastMailCinema = cinema;
        HostApi.Mail kino =
            new HostApi.Mail(
                "Kino Wien",
                "kdm-0123456789abcdef0123456789abcdef@keycast",
                List.of("booking@kino-wien.example", "projection@kino-wien.example"),
                ex.getRequestMethod().equals("POST") ? "queued" : "sent",
                ex.getRequestMethod().equals("POST") ? 0 : 2,
                null,
                null,
                Instant.now());
        answer(
            ex,
            ex.getRequestMethod().equals("POST") ? 202 : 200,
            Json.encode(
                new HostApi.MailStatus(
                    "send-1",
                    List.of(kino),
                    ex.getRequestMethod().equals("POST")
                        ? List.of(new HostApi.MailSkipped("Cinema Chicago", "no_email"))
                        : List.of())),
            "application/json");
        return;
      }
      if (ex.getRequestMethod().equals("POST") && target.equals("/v1/screens")) {
        HostApi.RegisterScreen r = Json.decode(body, 1 << 20, HostApi.RegisterScreen.class);
        lastRegistration = r;
        answer(
            ex,
            201,
            Json.encode(
                new HostApi.Screen(
                    DcCertificates.thumbprintBase64(screen.leaf()),
                    "url",
                    "ab".repeat(32),
                    "CN=x",
                    r.cinema(),
                    r.screen(),
                    r.utcOffset(),
                    r.trustedDevices(),
                    Instant.now(),
                    0,
                    r.emails())),
            "application/json");
        return;
      }
      answer(ex, 200, zip, "application/zip");
    } catch (Exception e) {
      answer(
          ex,
          500,
          Json.encode(new ErrorBody("internal_error", String.valueOf(e))),
          "application/json");
    }
  }

  private static void answer(HttpExchange ex, int status, byte[] body, String type)
      throws IOException {
    ex.getResponseHeaders().set("Content-Type", type);
    ex.sendResponseHeaders(status, body.length == 0 ? -1 : body.length);
    if (body.length > 0) {
      ex.getResponseBody().write(body);
    }
  }

  Path chainFile() throws Exception {
    StringBuilder pem = new StringBuilder();
    for (X509Certificate c : screen.chain()) {
      pem.append("-----BEGIN CERTIFICATE-----\n")
          .append(
              Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII))
                  .encodeToString(c.getEncoded()))
          .append("\n-----END CERTIFICATE-----\n");
    }
    return Files.writeString(dir.resolve("screen-chain.pem"), pem);
  }

  static byte[] zipOf(Map<String, byte[]> files) throws IOException {
    ByteArrayOutputStream b = new ByteArrayOutputStream();
    try (ZipOutputStream z = new ZipOutputStream(b)) {
      for (Map.Entry<String, byte[]> f : files.entrySet()) {
        z.putNextEntry(new ZipEntry(f.getKey()));
        z.write(f.getValue());
        z.closeEntry();
      }
    }
    return b.toByteArray();
  }

  // ------------------------------------------------------------------ screen register

  @Test
  void registerSendsTheChainLeafFirstSignedByTheSender() throws Exception {
    String device = DcCertificates.thumbprintBase64(screen.chain().get(1));
    Cli.Run r =
        Cli.run(
                "screen",
                "register",
                "--host",
                base,
                "--chain",
                chainFile().toString(),
                "--cinema",
                "Odeon Leicester Square",
                "--screen",
                "Screen 1",
                "--utc-offset",
                "+01:00",
                "--trusted-device",
                device,
                "--sender-key",
                FakeHost.senderKeyFile(dir).toString())
            .ok();
    assertThat(r.out())
        .startsWith("screen " + DcCertificates.thumbprintBase64(screen.leaf()) + " registered")
        .contains("cinema Odeon Leicester Square +01:00", "screen Screen 1");
    HostApi.RegisterScreen sent = lastRegistration;
    assertThat(sent.chain()).hasSize(3);
    for (int i = 0; i < 3; i++) {
      assertThat(Base64.getDecoder().decode(sent.chain().get(i)))
          .isEqualTo(screen.chain().get(i).getEncoded());
    }
    assertThat(sent.trustedDevices()).containsExactly(device);
    assertThat(admitted)
        .containsExactly("POST /v1/screens " + FakeHost.SENDER.publicKey().fingerprint());
  }

  @Test
  void aHostRefusalNamesTheFailedCheckOnOneLine() throws Exception {
    refuseWith =
        new ErrorBody("screen_certificate_rsa_size", "the leaf's RSA key is not 2048 bits");
    Cli.run(
            "screen",
            "register",
            "--host",
            base,
            "--chain",
            chainFile().toString(),
            "--sender-key",
            FakeHost.senderKeyFile(dir).toString())
        .failsWith(
            ExitCodes.HOST_ERROR,
            "keycast screen register: host answered 400 screen_certificate_rsa_size");
  }

  @Test
  void aSenderOutsideTheSetIsToldToBeAdmitted() throws Exception {
    Path stranger = FakeHost.keyFile(dir, "stranger", SenderSigningKey.generate(RANDOM));
    Cli.Run r =
        Cli.run(
                "screen",
                "register",
                "--host",
                base,
                "--chain",
                chainFile().toString(),
                "--sender-key",
                stranger.toString())
            .failsWith(
                ExitCodes.HOST_ERROR, "keycast screen register: host answered 403 sender_unknown");
    assertThat(r.err()).contains("admit your sender key");
    assertThat(admitted).isEmpty();
  }

  @Test
  void registerUsageErrorsSayWhatToFix() throws Exception {
    Cli.run("screen", "register", "--host", base, "--chain", chainFile().toString())
        .failsWith(ExitCodes.USAGE, "keycast screen register: --sender-key is required");
    Cli.run(
            "screen",
            "register",
            "--host",
            base,
            "--chain",
            chainFile().toString(),
            "--utc-offset",
            "+01:00",
            "--sender-key",
            FakeHost.senderKeyFile(dir).toString())
        .failsWith(ExitCodes.USAGE, "keycast screen register: --utc-offset is the cinema's");
    Path one =
        Files.writeString(
            dir.resolve("one.pem"),
            Files.readString(chainFile()).split("(?<=-----END CERTIFICATE-----\n)")[0]);
    Cli.run(
            "screen",
            "register",
            "--host",
            base,
            "--chain",
            one.toString(),
            "--sender-key",
            FakeHost.senderKeyFile(dir).toString())
        .failsWith(
            ExitCodes.USAGE,
            "keycast screen register: --chain " + one + ": expected 2 to 8 certificates");
    assertThat(admitted).isEmpty();
  }

  @Test
  void registerWithEmailsSendsTheCinemasAddressesAndRefusesABadOne() throws Exception {
    Cli.Run r =
        Cli.run(
                "screen",
                "register",
                "--host",
                base,
                "--chain",
                chainFile().toString(),
                "--cinema",
                "Kino Wien",
                "--email",
                "booking@kino-wien.example",
                "--email",
                "projection@kino-wien.example",
                "--sender-key",
                FakeHost.senderKeyFile(dir).toString())
            .ok();
    assertThat(r.out())
        .contains("KDM mail to booking@kino-wien.example, projection@kino-wien.example");
    assertThat(lastRegistration.emails())
        .containsExactly("booking@kino-wien.example", "projection@kino-wien.example");
    Cli.run(
            "screen",
            "register",
            "--host",
            base,
            "--chain",
            chainFile().toString(),
            "--cinema",
            "Kino Wien",
            "--sender-key",
            FakeHost.senderKeyFile(dir).toString())
        .ok();
    assertThat(lastRegistration.emails())
        .as("no --email: the cinema's addresses are kept")
        .isNull();
    admitted.clear();
    Cli.run(
            "screen",
            "register",
            "--host",
            base,
            "--chain",
            chainFile().toString(),
            "--cinema",
            "Kino Wien",
            "--email",
            "booking@kino-wien.example\r\nBcc: spy@example.com",
            "--sender-key",
            FakeHost.senderKeyFile(dir).toString())
        .failsWith(ExitCodes.USAGE, "keycast screen register: --email:");
    Cli.run(
            "screen",
            "register",
            "--host",
            base,
            "--chain",
            chainFile().toString(),
            "--email",
            "booking@kino-wien.example",
            "--sender-key",
            FakeHost.senderKeyFile(dir).toString())
        .failsWith(ExitCodes.USAGE, "keycast screen register: --email is the cinema's");
    assertThat(admitted).isEmpty();
  }

  // ------------------------------------------------------------------ kdm mail

  @Test
  void kdmMailPostsASignedRequestAndPrintsOneLinePerCinema() throws Exception {
    Cli.Run r =
        Cli.run(
                "kdm",
                "mail",
                "--host",
                base,
                "--send",
                "send-1",
                "--sender-key",
                FakeHost.senderKeyFile(dir).toString())
            .ok();
    assertThat(r.out())
        .contains(
            "queued Kino Wien to booking@kino-wien.example, projection@kino-wien.example"
                + " <kdm-0123456789abcdef0123456789abcdef@keycast>")
        .contains("skipped Cinema Chicago: no e-mail address");
    assertThat(admitted)
        .containsExactly("POST /v1/sends/send-1/mail " + FakeHost.SENDER.publicKey().fingerprint());
    assertThat(lastMailCinema).isNull();

    Cli.run(
            "kdm",
            "mail",
            "--host",
            base,
            "--send",
            "send-1",
            "--cinema",
            "Kino Wien",
            "--sender-key",
            FakeHost.senderKeyFile(dir).toString())
        .ok();
    assertThat(lastMailCinema).isEqualTo("Kino Wien");

    Cli.Run st =
        Cli.run(
                "kdm",
                "mail",
                "--host",
                base,
                "--send",
                "send-1",
                "--status",
                "--sender-key",
                FakeHost.senderKeyFile(dir).toString())
            .ok();
    assertThat(st.out()).startsWith("sent Kino Wien").contains("after 2 attempt(s)");
    assertThat(admitted).last().asString().startsWith("GET /v1/sends/send-1/mail ");
  }

  @Test
  void kdmMailOnAHostWithoutSmtpSaysSoOnOneLine() throws Exception {
    mailRefusal = new ErrorBody("mail_not_configured", "this host sends no mail");
    Cli.run(
            "kdm",
            "mail",
            "--host",
            base,
            "--send",
            "send-1",
            "--sender-key",
            FakeHost.senderKeyFile(dir).toString())
        .failsWith(ExitCodes.HOST_ERROR, "keycast kdm mail: host answered 503 mail_not_configured");
    Cli.run(
            "kdm",
            "mail",
            "--host",
            base,
            "--send",
            "../x",
            "--sender-key",
            FakeHost.senderKeyFile(dir).toString())
        .failsWith(ExitCodes.USAGE, "keycast kdm mail: --send");
  }

  // ------------------------------------------------------------------ kdm fetch

  @Test
  void fetchWritesEveryFileAndPrintsOneLineEach() throws Exception {
    Map<String, byte[]> files = new LinkedHashMap<>();
    files.put(
        "Film_Odeon-Leicester-Square_Screen-1_20261210T1000_20261224T1000_3a5f1d2c-8b4e-4c6a-9f0e-1b2c3d4e5f60.kdm.xml",
        "<kdm one/>".getBytes(StandardCharsets.UTF_8));
    files.put(
        "Film_Odeon-Leicester-Square_Screen-2_20261210T1000_20261224T1000_3a5f1d2c-8b4e-4c6a-9f0e-1b2c3d4e5f60.kdm.xml",
        "<kdm two/>".getBytes(StandardCharsets.UTF_8));
    zip = zipOf(files);
    Path out = dir.resolve("kdms");
    Cli.Run r =
        Cli.run(
                "kdm",
                "fetch",
                "--host",
                base,
                "--cinema",
                "Odeon Leicester Square",
                "--out-dir",
                out.toString(),
                "--sender-key",
                FakeHost.senderKeyFile(dir).toString())
            .ok();
    assertThat(r.out().lines().toList())
        .containsExactlyElementsOf(
            files.keySet().stream().map(n -> out.resolve(n).toString()).toList());
    for (Map.Entry<String, byte[]> f : files.entrySet()) {
      assertThat(Files.readAllBytes(out.resolve(f.getKey()))).isEqualTo(f.getValue());
    }
    assertThat(admitted)
        .containsExactly(
            "GET /v1/cinemas/Odeon%20Leicester%20Square/kdms "
                + FakeHost.SENDER.publicKey().fingerprint());

    String thumb = DcCertificates.thumbprintBase64(screen.leaf());
    String url =
        Base64.getUrlEncoder().withoutPadding().encodeToString(Base64.getDecoder().decode(thumb));
    Cli.run(
            "kdm",
            "fetch",
            "--host",
            base,
            "--screen",
            thumb,
            "--out-dir",
            out.toString(),
            "--sender-key",
            FakeHost.senderKeyFile(dir).toString())
        .ok();
    Cli.run(
            "kdm",
            "fetch",
            "--host",
            base,
            "--screen",
            url,
            "--out-dir",
            out.toString(),
            "--sender-key",
            FakeHost.senderKeyFile(dir).toString())
        .ok();
    assertThat(admitted.subList(1, 3))
        .allSatisfy(a -> assertThat(a).startsWith("GET /v1/screens/" + url + "/kdms "));
  }

  @Test
  void hostNamingAFileOutsideTheOutputDirectoryIsRefusedAndNothingIsWritten() throws Exception {
    for (String evil :
        List.of(
            "../evil.kdm.xml",
            "sub/../../evil.kdm.xml",
            "/tmp/evil.kdm.xml",
            ".evil.kdm.xml",
            "..\\evil.kdm.xml")) {
      Map<String, byte[]> files = new LinkedHashMap<>();
      files.put("good.kdm.xml", "<kdm/>".getBytes(StandardCharsets.UTF_8));
      files.put(evil, "<owned/>".getBytes(StandardCharsets.UTF_8));
      zip = zipOf(files);
      Path out = dir.resolve("out").resolve("kdms");
      Cli.run(
              "kdm",
              "fetch",
              "--host",
              base,
              "--cinema",
              "C",
              "--out-dir",
              out.toString(),
              "--sender-key",
              FakeHost.senderKeyFile(dir).toString())
          .failsWith(
              ExitCodes.VERIFICATION_FAILED, "keycast kdm fetch: the host's zip names a file");
      assertThat(out).doesNotExist();
      assertThat(dir.resolve("out").resolve("evil.kdm.xml")).doesNotExist();
      assertThat(Path.of("/tmp/evil.kdm.xml")).doesNotExist();
    }
  }

  @Test
  void hostSendingAFileLargerThanAKdmIsRefusedAndNothingIsWritten() throws Exception {
    Map<String, byte[]> files = new LinkedHashMap<>();
    files.put("good.kdm.xml", "<kdm/>".getBytes(StandardCharsets.UTF_8));
    files.put("huge.kdm.xml", new byte[dev.keycast.protocol.cinema.KdmReader.MAX_KDM_BYTES + 1]);
    zip = zipOf(files);
    Path out = dir.resolve("kdms");
    Cli.run(
            "kdm",
            "fetch",
            "--host",
            base,
            "--cinema",
            "C",
            "--out-dir",
            out.toString(),
            "--sender-key",
            FakeHost.senderKeyFile(dir).toString())
        .failsWith(
            ExitCodes.VERIFICATION_FAILED,
            "keycast kdm fetch: the host's zip holds huge.kdm.xml, larger than a KDM");
    assertThat(out).doesNotExist();
  }

  /**
   * Fuzzing finding Z7: a host answering a zip of 257 deflated megabytes of zeros (about 260 KB on
   * the wire) made the CLI inflate all of it into memory; 20,000 such entries would be 20 GiB. Only
   * what the host ever sends, 256 MiB of KDMs, is read.
   */
  @Test
  void hostSendingAZipBombIsRefusedBeforeItIsInflatedAndNothingIsWritten() throws Exception {
    Map<String, byte[]> files = new LinkedHashMap<>();
    byte[] zeros = new byte[dev.keycast.protocol.cinema.KdmReader.MAX_KDM_BYTES];
    for (int i = 0; i < 257; i++) {
      files.put("bomb-" + i + ".kdm.xml", zeros);
    }
    zip = zipOf(files);
    assertThat(zip.length).isLessThan(2 << 20);
    Path out = dir.resolve("kdms");
    Cli.run(
            "kdm",
            "fetch",
            "--host",
            base,
            "--cinema",
            "C",
            "--out-dir",
            out.toString(),
            "--sender-key",
            FakeHost.senderKeyFile(dir).toString())
        .failsWith(
            ExitCodes.VERIFICATION_FAILED,
            "keycast kdm fetch: the host's zip holds more than 268435456 bytes of KDMs in all");
    assertThat(out).doesNotExist();
  }

  @Test
  void fetchUsageErrorsSayWhatToFix() throws Exception {
    String key = FakeHost.senderKeyFile(dir).toString();
    Cli.run(
            "kdm",
            "fetch",
            "--host",
            base,
            "--screen",
            "AAAA",
            "--cinema",
            "C",
            "--out-dir",
            "x",
            "--sender-key",
            key)
        .failsWith(ExitCodes.USAGE, "keycast kdm fetch:");
    Cli.run("kdm", "fetch", "--host", base, "--out-dir", "x", "--sender-key", key)
        .failsWith(ExitCodes.USAGE, "keycast kdm fetch: pass one of");
    Cli.run(
            "kdm",
            "fetch",
            "--host",
            base,
            "--screen",
            "not-a-thumbprint",
            "--out-dir",
            "x",
            "--sender-key",
            key)
        .failsWith(
            ExitCodes.USAGE,
            "keycast kdm fetch: --screen: \"not-a-thumbprint\" is not a certificate thumbprint");
    assertThat(admitted).isEmpty();
  }
}
