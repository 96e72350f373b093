package dev.keycast.bench.load;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.sun.net.httpserver.HttpServer;
import dev.keycast.bench.LoadTool;
import dev.keycast.protocol.Json;
import dev.keycast.protocol.api.HostApi;
import dev.keycast.protocol.cinema.DcCertificateChainValidator;
import dev.keycast.protocol.cinema.KdmCipherBlock;
import dev.keycast.protocol.sender.SenderRequestSignature;
import dev.keycast.protocol.sender.SenderSigningKey;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.regex.Pattern;
import javax.crypto.Cipher;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * The pure parts of {@code kdm-screens}: its options, the screen cache, the keys file, the report
 * of {@code keycast kdm send --json}, and signed registrations (the run itself is a benchmark,
 * scripts/bench-kdm-screens, not a test).
 */
class KdmScreensCommandTest {
  @TempDir Path dir;

  private static KdmScreensCommand parse(String... args) {
    CommandLine cl = LoadTool.commandLine();
    CommandLine.ParseResult r = cl.parseArgs(args);
    return (KdmScreensCommand) r.subcommand().commandSpec().userObject();
  }

  @Test
  void optionsParseWithDefaults() {
    KdmScreensCommand c =
        parse(
            "kdm-screens",
            "--host",
            "http://127.0.0.1:8080",
            "--screens",
            "10000",
            "--expect-pcrs",
            "m.json",
            "--trust-root",
            "root.pem",
            "--sender-key",
            "studio.key.pem",
            "--cache",
            "target/bench-screens-10000/screens.txt",
            "--check",
            "--measure-pid",
            "enclave=12",
            "--measure-pid",
            "host=34");
    assertThat(c.screens).isEqualTo(10_000);
    assertThat(c.perCinema).isEqualTo(100);
    assertThat(c.keys).isEqualTo(4);
    assertThat(c.registerConcurrency).isEqualTo(16);
    assertThat(c.check).isTrue();
    assertThat(c.measurePids)
        .containsExactly(java.util.Map.entry("enclave", 12), java.util.Map.entry("host", 34));
    assertThat(c.cache).isEqualTo(Path.of("target/bench-screens-10000/screens.txt"));
    c.validate();
  }

  @Test
  void refusesOutOfRangeOptionsAndMissingPins() {
    String[] base = {
      "kdm-screens",
      "--host",
      "http://127.0.0.1:8080",
      "--expect-pcrs",
      "m.json",
      "--sender-key",
      "k.pem"
    };
    assertThatThrownBy(() -> parse(concat(base, "--screens", "0")).validate())
        .hasMessageContaining("--screens must be 1..");
    assertThatThrownBy(() -> parse(concat(base, "--screens", "10", "--keys", "17")).validate())
        .hasMessageContaining("--keys must be 1..16");
    assertThatThrownBy(() -> parse(concat(base, "--screens", "10", "--per-cinema", "0")).validate())
        .hasMessageContaining("--per-cinema");
    assertThatThrownBy(
            () ->
                parse("kdm-screens", "--host", "http://h:1", "--screens", "10", "--sender-key", "k")
                    .validate())
        .hasMessageContaining("--expect-pcrs is required");
    assertThatThrownBy(
            () ->
                parse(
                        "kdm-screens",
                        "--host",
                        "http://h:1",
                        "--screens",
                        "10",
                        "--expect-pcrs",
                        "m")
                    .validate())
        .hasMessageContaining("--sender-key is required");
    assertThatThrownBy(
            () -> parse(concat(base, "--screens", "10", "--insecure-skip-attestation")).validate())
        .hasMessageContaining("always verifies the enclave");
  }

  @Test
  void generatedScreensAreSt4302ChainsUnderOneRootAndSurviveTheCache() throws Exception {
    ScreenFleet.Fleet fleet = ScreenFleet.generate(5, 2, 2, new SecureRandom());
    assertThat(fleet.screens()).hasSize(5);
    assertThat(fleet.cinemas()).isEqualTo(3);
    assertThat(fleet.screens())
        .extracting(ScreenFleet.Screen::cinema)
        .containsExactly(
            "Bench Cinema 00001",
            "Bench Cinema 00001",
            "Bench Cinema 00002",
            "Bench Cinema 00002",
            "Bench Cinema 00003");
    assertThat(fleet.screens())
        .extracting(ScreenFleet.Screen::utcOffset)
        .containsExactly("+01:00", "+01:00", "-05:00", "-05:00", "+00:00");
    assertThat(
            fleet.screens().stream()
                .map(s -> new java.math.BigInteger(1, s.chainDer().getFirst()))
                .distinct())
        .hasSize(5);

    Path cache = dir.resolve("cache/screens.txt");
    ScreenFleet.write(cache, fleet);
    assertThat(Files.getPosixFilePermissions(cache))
        .containsExactlyInAnyOrder(PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE);
    ScreenFleet.Fleet back = ScreenFleet.read(cache);
    assertThat(back.rootDer()).isEqualTo(fleet.rootDer());
    assertThat(back.screens()).hasSize(5);
    assertThat(KdmScreensCommand.sameLayout(back, 2)).isTrue();
    assertThat(KdmScreensCommand.sameLayout(back, 100)).isFalse();
    assertThat(ScreenFleet.validAt(back, Instant.now().plus(Duration.ofDays(30)))).isTrue();
    assertThat(ScreenFleet.validAt(back, Instant.now().plus(Duration.ofDays(3 * 365)))).isFalse();
    for (int i = 0; i < 5; i++) {
      ScreenFleet.Screen s = back.screens().get(i);
      ScreenFleet.Screen o = fleet.screens().get(i);
      assertThat(s.cinema()).isEqualTo(o.cinema());
      assertThat(s.screen()).isEqualTo(o.screen());
      assertThat(s.utcOffset()).isEqualTo(o.utcOffset());
      assertThat(s.leafPkcs8()).isEqualTo(o.leafPkcs8());
      List<X509Certificate> chain = new ArrayList<>();
      for (byte[] der : s.chainDer()) {
        chain.add(ScreenFleet.certificate(der));
      }
      assertThat(chain.getLast().getEncoded()).isEqualTo(fleet.rootDer());
      // the enclave's own screen check (RSA-2048, e = 65537, PrintableString, dnQualifier, SM role)
      DcCertificateChainValidator.validateScreen(chain, Instant.now());
      // the cached private key is the leaf's: an OAEP block to the leaf opens with it
      Cipher enc = Cipher.getInstance("RSA/ECB/OAEPWithSHA-1AndMGF1Padding");
      enc.init(Cipher.ENCRYPT_MODE, chain.getFirst().getPublicKey());
      byte[] block = enc.doFinal(new byte[KdmCipherBlock.LENGTH]);
      Cipher dec = Cipher.getInstance("RSA/ECB/OAEPWithSHA-1AndMGF1Padding");
      dec.init(Cipher.DECRYPT_MODE, s.privateKey());
      assertThat(dec.doFinal(block)).hasSize(KdmCipherBlock.LENGTH);
    }
  }

  @Test
  void aCacheOfAnotherFormatIsRefusedWithWhatToDo() throws Exception {
    Path cache = dir.resolve("recipients.txt");
    Files.writeString(cache, "anchor -\nabc def ghi\n");
    assertThatThrownBy(() -> ScreenFleet.read(cache))
        .isInstanceOf(IOException.class)
        .hasMessageContaining("not a screen cache")
        .hasMessageContaining("delete it");
  }

  @Test
  void keysFileIsWhatKdmSendReads() {
    String text = KdmScreensCommand.keysFile(4, new SecureRandom());
    Pattern line =
        Pattern.compile(
            "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}:(MDIK|MDAK|MDSK|MDEK):[0-9a-f]{32}");
    List<String> keys = text.lines().filter(l -> !l.startsWith("#")).toList();
    assertThat(keys).hasSize(4).allMatch(l -> line.matcher(l).matches());
    assertThat(keys.stream().map(l -> l.substring(37, 41)))
        .containsExactly("MDIK", "MDAK", "MDSK", "MDEK");
    assertThat(keys.stream().map(l -> l.substring(42)).distinct()).hasSize(4);
  }

  @Test
  void cpuSecondsAreUtimePlusStimeCountedAfterTheCommandName() {
    // pid (comm with ") spaces") state ppid pgrp session tty tpgid flags minflt cminflt majflt
    // cmajflt utime stime
    String stat =
        "4242 (java ) x) S 1 4242 4242 0 -1 4194560 100 0 0 0 1234 566 0 0 20 0 40 0 999 0 0\n";
    assertThat(KdmScreensCommand.cpuSecondsOfStat(stat)).isEqualTo(18.0);
    assertThat(
            KdmScreensCommand.cpuSeconds(
                    java.util.Map.of("self", (int) ProcessHandle.current().pid()))
                .get("self"))
        .isGreaterThan(0.0);
    assertThat(
            KdmScreensCommand.cpuSeconds(java.util.Map.of("gone", Integer.MAX_VALUE)).get("gone"))
        .isEqualTo(-1.0);
  }

  @Test
  void sendReportCountsIssuedAndRefusedByReason() throws Exception {
    String json =
        """
        {"send_id":"s1","cpl_id":"c","title":"t","key_set_id":"k","receipt_id":"r1","replayed":false,
         "issued":[{"screen":"a","delivery_id":"d1","kdm_sha256":"00"},{"screen":"b","delivery_id":"d2","kdm_sha256":"01"}],
         "refused":[{"screen":"c","reason":"screen_outside_policy","message":"m"},
                    {"screen":"d","reason":"screen_outside_policy","message":"m"},
                    {"screen":"e","reason":"screen_certificate_expired","message":"m"}],
         "warnings":[]}
        """;
    KdmScreensCommand.SendReport r = KdmScreensCommand.parseSendReport(json, 1.5);
    assertThat(r.issued()).isEqualTo(2);
    assertThat(r.refused()).isEqualTo(3);
    assertThat(r.refusedByReason())
        .containsEntry("screen_outside_policy", 2L)
        .containsEntry("screen_certificate_expired", 1L);
    assertThat(r.receiptId()).isEqualTo("r1");
    assertThatThrownBy(() -> KdmScreensCommand.parseSendReport("{\"error\":\"x\"}", 1))
        .hasMessageContaining("no issued/refused");
  }

  @Test
  void registrationsAreSignedBySenderOverTheirTargetAndBody() throws Exception {
    SenderSigningKey sender = SenderSigningKey.generate(new SecureRandom());
    List<String> verified = Collections.synchronizedList(new ArrayList<>());
    List<String> refused = Collections.synchronizedList(new ArrayList<>());
    HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    server.createContext(
        "/v1/screens",
        ex -> {
          byte[] body = ex.getRequestBody().readAllBytes();
          int status;
          try {
            SenderRequestSignature.verify(
                ex.getRequestHeaders().getFirst("Authorization"),
                "POST",
                ex.getRequestURI().getRawPath(),
                body,
                Instant.now(),
                List.of(sender.publicKey()));
            HostApi.RegisterScreen r = Json.decode(body, 1 << 20, HostApi.RegisterScreen.class);
            verified.add(
                r.cinema() + "/" + r.screen() + "/" + r.utcOffset() + "/" + r.chain().size());
            status = 201;
          } catch (Exception e) {
            refused.add(e.getMessage());
            status = 401;
          }
          byte[] answer =
              status == 201
                  ? "{}".getBytes()
                  : "{\"error\":\"sender_signature_invalid\"}".getBytes();
          ex.sendResponseHeaders(status, answer.length);
          ex.getResponseBody().write(answer);
          ex.close();
        });
    server.start();
    try (ExecutorService executor = Executors.newVirtualThreadPerTaskExecutor()) {
      HostClient client =
          new HostClient(
              URI.create("http://127.0.0.1:" + server.getAddress().getPort()),
              Duration.ofSeconds(10),
              executor);
      ScreenFleet.Fleet fleet = ScreenFleet.generate(3, 100, 2, new SecureRandom());
      KdmScreensCommand.Registration r =
          KdmScreensCommand.register(client, executor, fleet.screens(), sender, 2);
      assertThat(refused).isEmpty();
      assertThat(r.created()).isEqualTo(3);
      assertThat(r.failures()).isEmpty();
      assertThat(verified)
          .containsExactlyInAnyOrder(
              "Bench Cinema 00001/Screen 001/+01:00/3",
              "Bench Cinema 00001/Screen 002/+01:00/3",
              "Bench Cinema 00001/Screen 003/+01:00/3");

      // another sender's signature is refused by the host: counted as a failure by its code
      SenderSigningKey stranger = SenderSigningKey.generate(new SecureRandom());
      KdmScreensCommand.Registration bad =
          KdmScreensCommand.register(client, executor, fleet.screens().subList(0, 1), stranger, 1);
      assertThat(bad.failures()).containsEntry("sender_signature_invalid", 1L);
      assertThat(refused).hasSize(1);
    } finally {
      server.stop(0);
    }
  }

  private static String[] concat(String[] a, String... b) {
    String[] all = java.util.Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, all, a.length, b.length);
    return all;
  }
}
