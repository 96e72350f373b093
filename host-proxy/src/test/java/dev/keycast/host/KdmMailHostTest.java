package dev.keycast.host;

import static dev.keycast.host.HostTestSupport.base;
import static dev.keycast.host.HostTestSupport.json;
import static dev.keycast.host.HostTestSupport.text;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import com.icegreen.greenmail.util.GreenMail;
import com.icegreen.greenmail.util.ServerSetup;
import dev.keycast.host.egress.StaticCredentials;
import dev.keycast.host.mail.MailTemplate;
import dev.keycast.host.mail.SmtpSettings;
import dev.keycast.host.server.MailSettings;
import dev.keycast.host.server.SenderLimits;
import dev.keycast.host.server.UploadLimits;
import dev.keycast.host.store.SqliteArtefactStore;
import dev.keycast.protocol.Json;
import dev.keycast.protocol.api.ErrorBody;
import dev.keycast.protocol.api.HostApi;
import dev.keycast.protocol.cinema.KdmFileNames;
import dev.keycast.protocol.cinema.KdmReader;
import dev.keycast.protocol.cinema.TestScreens;
import dev.keycast.protocol.policy.SendPolicy;
import dev.keycast.protocol.sender.SenderRequestSignature;
import dev.keycast.protocol.sender.SenderSigningKey;
import jakarta.mail.Part;
import jakarta.mail.internet.MimeMessage;
import jakarta.mail.internet.MimeMultipart;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/**
 * KDM mail (issue 25) on a real host (Netty, SQLite, real sockets) in front of the fake enclave,
 * sending through a real SMTP server the test starts (GreenMail), never a mock of the mail client:
 * the zips that arrive hold exactly the KDMs the fetch route serves, the window is written in the
 * cinema's offset, an SMTP server down at first gets the message after a retry, a restart resends
 * what was queued, another sender cannot mail someone's send, and nothing secret reaches the logs.
 */
class KdmMailHostTest {
  static final SecureRandom RANDOM = new SecureRandom();
  static final String FROM = "keycast@distributor.example";
  static final String SMTP_USER = "relay";
  static final String SMTP_PASSWORD = "pw-" + Long.toHexString(RANDOM.nextLong()) + "-never-logged";
  static final DateTimeFormatter LOCAL = DateTimeFormatter.ofPattern("uuuu-MM-dd HH:mm");
  static TestScreens.Screen screenA;
  static TestScreens.Screen screenB;
  static TestScreens.Screen screenC;

  @TempDir Path dir;
  FakeEnclave enclave;
  HostProxy host;
  GreenMail smtp;
  int smtpPort;
  ListAppender<ILoggingEvent> logs;

  @BeforeAll
  static void screens() {
    Instant now = Instant.now();
    TestScreens.Manufacturer maker =
        TestScreens.manufacturer(
            "DC2.SMPTE.MAILMAKER.COM",
            now.minus(Duration.ofDays(400)),
            now.plus(Duration.ofDays(3000)),
            true,
            RANDOM);
    TestScreens.Spec valid =
        TestScreens.Spec.valid(
            now.minus(Duration.ofDays(1)).truncatedTo(ChronoUnit.SECONDS),
            now.plus(Duration.ofDays(1000)).truncatedTo(ChronoUnit.SECONDS));
    screenA = TestScreens.screen(maker, valid, RANDOM);
    screenB = TestScreens.screen(maker, valid, RANDOM);
    screenC = TestScreens.screen(maker, valid, RANDOM);
  }

  @BeforeEach
  void start() throws Exception {
    logs = new ListAppender<>();
    logs.start();
    ((Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME)).addAppender(logs);
    // everything the host logs, down to debug, is captured (the test configuration logs warnings
    // only)
    ((Logger) LoggerFactory.getLogger("dev.keycast")).setLevel(ch.qos.logback.classic.Level.DEBUG);
    enclave = new FakeEnclave().start();
    enclave.senders = List.of(HostTestSupport.SENDER.publicKey(), OTHER.publicKey());
    try (ServerSocket s = new ServerSocket(0)) {
      smtpPort = s.getLocalPort();
    }
    smtp = new GreenMail(new ServerSetup(smtpPort, "127.0.0.1", ServerSetup.PROTOCOL_SMTP));
    smtp.setUser(FROM, SMTP_USER, SMTP_PASSWORD);
  }

  @AfterEach
  void stop() throws Exception {
    HostTestSupport.stop(host, enclave);
    smtp.stop();
    ((Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME)).detachAppender(logs);
    ((Logger) LoggerFactory.getLogger("dev.keycast")).setLevel(null);
  }

  /** Another sender of the same sender set. */
  static final SenderSigningKey OTHER = SenderSigningKey.generate(RANDOM);

  MailSettings mail() {
    return MailSettings.of(
            new SmtpSettings(
                "127.0.0.1",
                smtpPort,
                FROM,
                false,
                SMTP_USER,
                SMTP_PASSWORD,
                Duration.ofSeconds(5)),
            MailTemplate.DEFAULT)
        .withRetries(Duration.ofMillis(200), Duration.ofMillis(400), 50, Duration.ofMillis(100));
  }

  HostProxy startHost(MailSettings mail) throws Exception {
    HostProxy h =
        new HostProxy(
            HostTestSupport.config(enclave, "alias/k"),
            SqliteArtefactStore.open(dir.resolve("mail.db")),
            "test",
            new StaticCredentials("AKIDTEST", "secret-test", null),
            Clock.systemUTC(),
            UploadLimits.defaults(),
            SenderSetKeeper.Settings.none(),
            SenderLimits.defaults(),
            mail);
    h.start();
    assertThat(h.awaitReady(Duration.ofSeconds(10))).isTrue();
    return h;
  }

  HttpResponse<byte[]> signed(SenderSigningKey key, String method, String target, byte[] body)
      throws Exception {
    HttpRequest.Builder b =
        HttpRequest.newBuilder(URI.create(base(host) + target))
            .method(
                method,
                body == null
                    ? HttpRequest.BodyPublishers.noBody()
                    : HttpRequest.BodyPublishers.ofByteArray(body));
    b.header(
        "Authorization",
        SenderRequestSignature.authorization(key, method, target, body, Instant.now()));
    return HostTestSupport.HTTP.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
  }

  void register(
      TestScreens.Screen s, String cinema, String name, String offset, List<String> emails)
      throws Exception {
    byte[] body =
        Json.encode(
            new HostApi.RegisterScreen(
                ScreensHostTest.chainB64(s), cinema, name, offset, List.of(), emails));
    HttpResponse<byte[]> r = signed(HostTestSupport.SENDER, "POST", "/v1/screens", body);
    assertThat(r.statusCode()).as(text(r)).isIn(200, 201);
    if (emails != null) {
      assertThat(json(r, HostApi.Screen.class).emails()).isEqualTo(emails);
    }
  }

  /** Kino Wien (+01:00, two addresses, screen A), Cinema Chicago (-06:00, screen B), screen C of no cinema. */
  SendPolicy registerAndPolicy() throws Exception {
    register(
        screenA,
        "Kino Wien",
        "Saal 1",
        "+01:00",
        List.of("booking@kino-wien.example", "projection@kino-wien.example"));
    register(
        screenB, "Cinema Chicago", "Screen 7", "-06:00", List.of("kdm@chicago-cinema.example"));
    register(screenC, null, null, null, null);
    return ScreensHostTest.kdmPolicy(
        List.of(),
        List.of(
            ScreensHostTest.thumbprint(screenA),
            ScreensHostTest.thumbprint(screenB),
            ScreensHostTest.thumbprint(screenC)),
        false);
  }

  HostApi.SendResult send(SendPolicy policy) throws Exception {
    HttpResponse<byte[]> r =
        HostTestSupport.post(
            base(host) + "/v1/sends",
            Json.encode(
                HostTestSupport.payload(enclave.keySet(), policy, ScreensHostTest.contentKeys())));
    assertThat(r.statusCode()).as(text(r)).isEqualTo(200);
    return json(r, HostApi.SendResult.class);
  }

  HttpResponse<byte[]> mailRequest(SenderSigningKey key, String sendId, String cinema)
      throws Exception {
    return signed(
        key, "POST", "/v1/sends/" + sendId + "/mail", Json.encode(new HostApi.MailRequest(cinema)));
  }

  HostApi.MailStatus status(String sendId) throws Exception {
    HttpResponse<byte[]> r =
        signed(HostTestSupport.SENDER, "GET", "/v1/sends/" + sendId + "/mail", null);
    assertThat(r.statusCode()).as(text(r)).isEqualTo(200);
    return json(r, HostApi.MailStatus.class);
  }

  HostApi.Mail mailTo(String sendId, String cinema) throws Exception {
    return status(sendId).mails().stream()
        .filter(m -> m.cinema().equals(cinema))
        .findFirst()
        .orElseThrow();
  }

  static MimeMessage only(MimeMessage[] messages, String address) throws Exception {
    List<MimeMessage> out = new ArrayList<>();
    for (MimeMessage m : messages) {
      if (List.of(m.getAllRecipients()).stream().anyMatch(a -> a.toString().equals(address))) {
        out.add(m);
      }
    }
    assertThat(out).as("messages to %s", address).isNotEmpty();
    return out.getFirst();
  }

  static Part attachment(MimeMessage m) throws Exception {
    MimeMultipart mp = (MimeMultipart) m.getContent();
    for (int i = 0; i < mp.getCount(); i++) {
      if (Part.ATTACHMENT.equalsIgnoreCase(mp.getBodyPart(i).getDisposition())) {
        return mp.getBodyPart(i);
      }
    }
    throw new AssertionError("no attachment");
  }

  static String bodyText(MimeMessage m) throws Exception {
    MimeMultipart mp = (MimeMultipart) m.getContent();
    return (String) mp.getBodyPart(0).getContent();
  }

  String logText() {
    StringBuilder b = new StringBuilder();
    for (ILoggingEvent e : logs.list) {
      b.append(e.getFormattedMessage()).append('\n');
      if (e.getThrowableProxy() != null) {
        b.append(e.getThrowableProxy().getMessage()).append('\n');
      }
    }
    return b.toString();
  }

  // ------------------------------------------------------------------ tests

  @Test
  void aSendsKdmsArriveAtEachCinemasAddressesAsOneZipIdenticalToTheScreenFetch() throws Exception {
    smtp.start();
    host = startHost(mail());
    SendPolicy policy = registerAndPolicy();
    HostApi.SendResult sent = send(policy);
    assertThat(sent.delivered()).hasSize(3);

    HttpResponse<byte[]> queued = mailRequest(HostTestSupport.SENDER, sent.sendId(), null);
    assertThat(queued.statusCode()).as(text(queued)).isEqualTo(202);
    HostApi.MailStatus q = json(queued, HostApi.MailStatus.class);
    assertThat(q.mails())
        .extracting(HostApi.Mail::cinema)
        .containsExactly("Cinema Chicago", "Kino Wien");
    assertThat(q.mails())
        .allSatisfy(m -> assertThat(m.messageId()).matches("kdm-[0-9a-f]{32}@keycast"));
    assertThat(q.skipped()).isEmpty(); // screen C has no cinema: nothing to mail

    await().atMost(Duration.ofSeconds(30)).until(() -> smtp.getReceivedMessages().length == 3);
    await()
        .atMost(Duration.ofSeconds(10))
        .until(
            () -> status(sent.sendId()).mails().stream().allMatch(m -> m.state().equals("sent")));

    checkCinema(
        sent.sendId(),
        policy,
        "Kino Wien",
        ZoneOffset.ofHours(1),
        screenA,
        "booking@kino-wien.example");
    checkCinema(
        sent.sendId(),
        policy,
        "Kino Wien",
        ZoneOffset.ofHours(1),
        screenA,
        "projection@kino-wien.example");
    checkCinema(
        sent.sendId(),
        policy,
        "Cinema Chicago",
        ZoneOffset.ofHours(-6),
        screenB,
        "kdm@chicago-cinema.example");

    // no KDM, zip or password bytes in the logs
    String logged = logText();
    assertThat(logged).contains(q.mails().getFirst().messageId()); // the capture works
    assertThat(logged)
        .doesNotContain(SMTP_PASSWORD)
        .doesNotContain("DCinemaSecurityMessage")
        .doesNotContain("CipherValue")
        .doesNotContain("AuthenticatedPrivate");
    for (TestScreens.Screen screen : List.of(screenA, screenB)) {
      byte[] kdm =
          ScreensHostTest.unzip(
                  signed(
                          HostTestSupport.SENDER,
                          "GET",
                          "/v1/screens/" + ScreensHostTest.thumbUrl(screen) + "/kdms",
                          null)
                      .body())
              .values()
              .iterator()
              .next();
      assertThat(logged)
          .doesNotContain(Base64.getEncoder().encodeToString(java.util.Arrays.copyOf(kdm, 48)))
          .doesNotContain(new String(kdm, 0, 200, StandardCharsets.UTF_8));
    }

    // the same request again queues nothing new: the messages are sent, their Message-ID the same
    HostApi.MailStatus again =
        json(
            mailRequest(HostTestSupport.SENDER, sent.sendId(), "Kino Wien"),
            HostApi.MailStatus.class);
    assertThat(again.mails())
        .singleElement()
        .satisfies(
            m -> {
              assertThat(m.state()).isEqualTo("sent");
              assertThat(m.messageId()).isEqualTo(q.mails().get(1).messageId());
            });
  }

  void checkCinema(
      String sendId,
      SendPolicy policy,
      String cinema,
      ZoneOffset offset,
      TestScreens.Screen screen,
      String address)
      throws Exception {
    MimeMessage m = only(smtp.getReceivedMessages(), address);
    assertThat(m.getMessageID()).isEqualTo("<" + mailTo(sendId, cinema).messageId() + ">");
    assertThat(m.getFrom()[0].toString()).isEqualTo(FROM);
    assertThat(m.getSubject()).contains("Keycast Test Feature (2026) FTR").contains(cinema);
    Part zip = attachment(m);
    byte[] zipBytes = zip.getInputStream().readAllBytes();
    assertThat(zip.getFileName())
        .isEqualTo(
            KdmFileNames.zipName(
                "Keycast Test Feature (2026) FTR",
                cinema,
                policy.notBefore().atOffset(offset),
                policy.notAfter().atOffset(offset),
                offset,
                ScreensHostTest.CPL));
    Map<String, byte[]> mailed = ScreensHostTest.unzip(zipBytes);
    Map<String, byte[]> fetched =
        ScreensHostTest.unzip(
            signed(
                    HostTestSupport.SENDER,
                    "GET",
                    "/v1/screens/" + ScreensHostTest.thumbUrl(screen) + "/kdms",
                    null)
                .body());
    assertThat(mailed).hasSize(1);
    assertThat(mailed.keySet()).isEqualTo(fetched.keySet());
    for (String name : fetched.keySet()) {
      assertThat(mailed.get(name)).as(name).isEqualTo(fetched.get(name));
    }
    // the window in the body is the KDM's, written in the cinema's offset (not in UTC)
    KdmReader.UnverifiedNames n = KdmReader.readUnverifiedNames(mailed.values().iterator().next());
    String body = bodyText(m);
    String from = LOCAL.format(n.notValidBefore().withOffsetSameInstant(offset));
    String until = LOCAL.format(n.notValidAfter().withOffsetSameInstant(offset));
    assertThat(body)
        .contains("Valid from: " + from)
        .contains("Valid until: " + until)
        .contains("UTC" + offset.getId())
        .doesNotContain(LOCAL.format(n.notValidBefore().withOffsetSameInstant(ZoneOffset.UTC)));
    assertThat(policy.notBefore().atOffset(offset).format(LOCAL)).isEqualTo(from);
  }

  @Test
  void anSmtpServerDownAtFirstGetsTheMessageAfterARetry() throws Exception {
    host = startHost(mail());
    SendPolicy policy = registerAndPolicy();
    HostApi.SendResult sent = send(policy);
    assertThat(mailRequest(HostTestSupport.SENDER, sent.sendId(), "Cinema Chicago").statusCode())
        .isEqualTo(202);

    await()
        .atMost(Duration.ofSeconds(30))
        .until(() -> mailTo(sent.sendId(), "Cinema Chicago").attempts() >= 1);
    HostApi.Mail failed = mailTo(sent.sendId(), "Cinema Chicago");
    assertThat(failed.state()).isEqualTo("queued");
    assertThat(failed.lastError()).isNotBlank();
    assertThat(smtp.getReceivedMessages()).isEmpty();

    smtp.start();
    await().atMost(Duration.ofSeconds(30)).until(() -> smtp.getReceivedMessages().length == 1);
    await()
        .atMost(Duration.ofSeconds(10))
        .until(() -> mailTo(sent.sendId(), "Cinema Chicago").state().equals("sent"));
    assertThat(mailTo(sent.sendId(), "Cinema Chicago").attempts()).isGreaterThan(1);
    assertThat(only(smtp.getReceivedMessages(), "kdm@chicago-cinema.example").getMessageID())
        .isEqualTo("<" + failed.messageId() + ">");
    assertThat(logText()).doesNotContain(SMTP_PASSWORD);
  }

  @Test
  void aHostRestartWithAQueuedMessageStillDeliversIt() throws Exception {
    host =
        startHost(
            mail()
                .withRetries(
                    Duration.ofMillis(200), Duration.ofMillis(400), 50, Duration.ofMillis(100)));
    SendPolicy policy = registerAndPolicy();
    HostApi.SendResult sent = send(policy);
    assertThat(mailRequest(HostTestSupport.SENDER, sent.sendId(), "Kino Wien").statusCode())
        .isEqualTo(202);
    await()
        .atMost(Duration.ofSeconds(30))
        .until(() -> mailTo(sent.sendId(), "Kino Wien").attempts() >= 1);
    host.shutdown();
    host = null;

    smtp.start();
    host = startHost(mail());
    await().atMost(Duration.ofSeconds(30)).until(() -> smtp.getReceivedMessages().length == 2);
    // the mailer marks the mail sent after the SMTP server took it: wait for that, as the test
    // above does
    await()
        .atMost(Duration.ofSeconds(10))
        .untilAsserted(
            () -> assertThat(mailTo(sent.sendId(), "Kino Wien").state()).isEqualTo("sent"));
    assertThat(
            ScreensHostTest.unzip(
                attachment(only(smtp.getReceivedMessages(), "booking@kino-wien.example"))
                    .getInputStream()
                    .readAllBytes()))
        .hasSize(1);
  }

  @Test
  void anotherSenderCannotMailSomeoneElsesSend() throws Exception {
    smtp.start();
    host = startHost(mail());
    HostApi.SendResult sent = send(registerAndPolicy());

    HttpResponse<byte[]> post = mailRequest(OTHER, sent.sendId(), null);
    assertThat(post.statusCode()).as(text(post)).isEqualTo(404);
    assertThat(json(post, ErrorBody.class).error()).isEqualTo("not_found");
    HttpResponse<byte[]> get = signed(OTHER, "GET", "/v1/sends/" + sent.sendId() + "/mail", null);
    assertThat(get.statusCode()).as(text(get)).isEqualTo(404);
    // an unknown send answers the same: no oracle of which sends exist
    assertThat(json(mailRequest(OTHER, "A".repeat(43), null), ErrorBody.class).error())
        .isEqualTo("not_found");
    // unsigned: refused before anything is read
    HttpResponse<byte[]> unsigned =
        HostTestSupport.post(
            base(host) + "/v1/sends/" + sent.sendId() + "/mail",
            Json.encode(new HostApi.MailRequest(null)));
    assertThat(unsigned.statusCode()).isEqualTo(401);

    assertThat(status(sent.sendId()).mails()).isEmpty();
    assertThat(smtp.getReceivedMessages()).isEmpty();
  }

  @Test
  void aHostWithoutSmtpAnswersMailNotConfigured() throws Exception {
    host = startHost(MailSettings.none());
    HostApi.SendResult sent = send(registerAndPolicy());
    HttpResponse<byte[]> r = mailRequest(HostTestSupport.SENDER, sent.sendId(), null);
    assertThat(r.statusCode()).as(text(r)).isEqualTo(503);
    assertThat(json(r, ErrorBody.class).error()).isEqualTo("mail_not_configured");
  }

  @Test
  void cinemaAddressesAreCheckedAndACinemaWithoutOneIsSkipped() throws Exception {
    smtp.start();
    host = startHost(mail());
    byte[] bad =
        Json.encode(
            new HostApi.RegisterScreen(
                ScreensHostTest.chainB64(screenA),
                "Kino Wien",
                "Saal 1",
                "+01:00",
                List.of(),
                List.of("not an address")));
    HttpResponse<byte[]> r = signed(HostTestSupport.SENDER, "POST", "/v1/screens", bad);
    assertThat(r.statusCode()).as(text(r)).isEqualTo(400);
    List<String> many = new ArrayList<>();
    for (int i = 0; i < 17; i++) {
      many.add("a" + i + "@kino-wien.example");
    }
    byte[] tooMany =
        Json.encode(
            new HostApi.RegisterScreen(
                ScreensHostTest.chainB64(screenA),
                "Kino Wien",
                "Saal 1",
                "+01:00",
                List.of(),
                many));
    assertThat(signed(HostTestSupport.SENDER, "POST", "/v1/screens", tooMany).statusCode())
        .isEqualTo(400);

    register(screenA, "Kino Wien", "Saal 1", "+01:00", null);
    HostApi.SendResult sent =
        send(
            ScreensHostTest.kdmPolicy(
                List.of(), List.of(ScreensHostTest.thumbprint(screenA)), false));
    HostApi.MailStatus s =
        json(mailRequest(HostTestSupport.SENDER, sent.sendId(), null), HostApi.MailStatus.class);
    assertThat(s.mails()).isEmpty();
    assertThat(s.skipped()).containsExactly(new HostApi.MailSkipped("Kino Wien", "no_email"));
  }
}
