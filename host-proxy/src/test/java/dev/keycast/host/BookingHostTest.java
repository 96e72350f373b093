package dev.keycast.host;

import static dev.keycast.host.HostTestSupport.base;
import static org.assertj.core.api.Assertions.assertThat;

import dev.keycast.enclave.server.EnclaveMetrics;
import dev.keycast.enclave.server.EnclaveServer;
import dev.keycast.host.egress.StaticCredentials;
import dev.keycast.host.store.RulesRecord;
import dev.keycast.host.store.SqliteArtefactStore;
import dev.keycast.mock.nitro.MockAttester;
import dev.keycast.protocol.Base64Url;
import dev.keycast.protocol.Json;
import dev.keycast.protocol.api.EnclaveApi;
import dev.keycast.protocol.api.ErrorBody;
import dev.keycast.protocol.api.HostApi;
import dev.keycast.protocol.booking.KdmBooking;
import dev.keycast.protocol.booking.StudioRules;
import dev.keycast.protocol.cinema.DcCertificateIssuer;
import dev.keycast.protocol.cinema.DcCertificates;
import dev.keycast.protocol.cinema.DkdmTemplate;
import dev.keycast.protocol.cinema.KdmReader;
import dev.keycast.protocol.cinema.KdmSigner;
import dev.keycast.protocol.cinema.TestScreens;
import dev.keycast.protocol.cinema.VerifiedKdm;
import dev.keycast.protocol.keyset.KeySet;
import dev.keycast.protocol.policy.SendPolicy;
import dev.keycast.protocol.sender.BookingStatement;
import dev.keycast.protocol.sender.DkdmIngestStatement;
import dev.keycast.protocol.sender.RulesStatement;
import dev.keycast.protocol.sender.SenderRequestSignature;
import dev.keycast.protocol.sender.SenderSigningKey;
import dev.keycast.transport.Endpoint;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
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
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Rules and bookings (issue 25) on a real host (Netty, SQLite) in front of a real enclave server:
 * the studio ingests a DKDM from the independent template ({@link DkdmTemplate}, xmlsec1-signed)
 * and stores its rules, the distributor books screens, the KDMs are committed as a send and fetched
 * per screen; a retry is answered from the store; a host whose store alters the rules cannot book.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class BookingHostTest {
  static final SecureRandom RANDOM = new SecureRandom();
  static final DateTimeFormatter KDM_TIME = DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ssxxx");
  static final SenderSigningKey SENDER = HostTestSupport.SENDER;

  Path dir;
  InMemoryKeySets keys;
  EnclaveServer enclave;
  SqliteArtefactStore store;
  HostProxy host;
  KeySet keySet;
  DcCertificateIssuer.IssuedChain enclaveChain;
  KdmSigner enclaveSigner;
  DcCertificateIssuer.IssuedChain studio;
  TestScreens.Manufacturer maker;
  TestScreens.Screen screenA;
  TestScreens.Screen screenB;
  int dirs;

  @BeforeAll
  void start() throws Exception {
    DkdmTemplate.requireTools();
    dir = Files.createTempDirectory("keycast-booking-host");
    Instant now = Instant.now();
    Instant from = now.minus(Duration.ofDays(30));
    enclaveChain =
        DcCertificateIssuer.issue(
            new DcCertificateIssuer.ChainNames(
                "Keycast",
                "KEYCAST.TEST",
                "keycast-kdm-root",
                "keycast-kdm-ca",
                "CS",
                "keycast-kdm-signer"),
            from,
            1,
            RANDOM);
    enclaveSigner = KdmSigner.of(enclaveChain.leaf().getPrivate(), enclaveChain.chain(), now);
    studio =
        DcCertificateIssuer.issue(
            new DcCertificateIssuer.ChainNames(
                "STUDIO.TEST",
                "MASTERING.STUDIO.TEST",
                "ROOT.STUDIO.TEST",
                "CA.STUDIO.TEST",
                "CS",
                "DKDM-SIGNER.STUDIO.TEST"),
            from,
            1,
            RANDOM);
    maker =
        TestScreens.manufacturer(
            "DC2.SMPTE.TESTMAKER.COM", from, now.plus(Duration.ofDays(400)), true, RANDOM);
    TestScreens.Spec valid = TestScreens.Spec.valid(from, now.plus(Duration.ofDays(300)));
    screenA = TestScreens.screen(maker, valid, RANDOM);
    screenB =
        TestScreens.screen(
            maker, valid.withCommonName("LE SPB MD FM SM.IMB-000002.DC.TESTMAKER.SMPTE"), RANDOM);
    keys = new InMemoryKeySets();
    enclave =
        EnclaveServer.start(
            Endpoint.parse("tcp://127.0.0.1:0"),
            keys,
            MockAttester.create(dir.resolve("pki")),
            new SecureRandom(),
            Clock.systemUTC(),
            2,
            new EnclaveMetrics(),
            () -> enclaveSigner);
    store = SqliteArtefactStore.open(dir.resolve("store.db"));
    Endpoint ep = enclave.endpoint();
    HostProxy.Config c = HostTestSupport.config(new FakeEnclave(), "alias/k");
    HostProxy.Config cfg =
        new HostProxy.Config(
            ep,
            c.listen(),
            c.admin(),
            c.region(),
            "alias/k",
            null,
            null,
            null,
            null,
            null,
            null,
            dev.keycast.host.bridge.EnclaveClient.Settings.defaults(ep)
                .withResponseTimeout(Duration.ofSeconds(20)),
            c.shutdownGrace(),
            c.idleTimeout(),
            c.credentialsRefresh());
    host =
        new HostProxy(
            cfg,
            store,
            "test",
            new StaticCredentials("AKID", "s", null),
            Clock.systemUTC(),
            dev.keycast.host.server.UploadLimits.defaults(),
            HostTestSupport.senderSettings(dir.resolve("senders")));
    host.start();
    assertThat(host.awaitReady(Duration.ofSeconds(20))).isTrue();
    keySet = keys.current().orElseThrow();
    register(screenA, "Odeon Leicester Square", "Screen 1", "+00:00");
    register(screenB, "Kino Wien", "Saal 2", "+01:00");
  }

  @AfterAll
  void stop() throws Exception {
    if (host != null) {
      host.shutdown();
    }
    if (enclave != null) {
      enclave.close();
    }
  }

  @Test
  void aStudiosRulesAndADistributorsBookingGiveKdmsThatAreStoredAndFetchedPerScreen()
      throws Exception {
    DkdmTemplate.Spec spec = ingest();
    HttpResponse<String> rules = signed("POST", "/v1/rules", Json.encode(rules(spec, 10)));
    assertThat(rules.statusCode()).as(rules.body()).isEqualTo(201);
    String unknown =
        DcCertificates.thumbprintBase64(
            TestScreens.screen(
                    maker,
                    TestScreens.Spec.valid(
                        Instant.now().minus(Duration.ofDays(1)),
                        Instant.now().plus(Duration.ofDays(90))),
                    RANDOM)
                .leaf());
    byte[] body = booking(spec, List.of(thumb(screenA), thumb(screenB), unknown), 1, 3);
    HttpResponse<String> r = signed("POST", "/v1/bookings", body);
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    HostApi.BookingResult b =
        Json.decode(
            r.body().getBytes(StandardCharsets.UTF_8), 1 << 24, HostApi.BookingResult.class);
    assertThat(b.delivered()).hasSize(2);
    assertThat(b.unknownScreens()).containsExactly(unknown);
    assertThat(b.replayed()).isFalse();
    assertThat(b.cplId()).isEqualTo("urn:uuid:" + spec.cplId());

    // each screen fetches its KDM, which opens with its own key and carries the cinema's offset
    for (TestScreens.Screen s : List.of(screenA, screenB)) {
      HttpResponse<byte[]> z =
          signedBytes(
              "GET",
              "/v1/screens/" + Base64Url.encode(Base64.getDecoder().decode(thumb(s))) + "/kdms");
      assertThat(z.statusCode()).isEqualTo(200);
      byte[] kdm = onlyKdmIn(z.body());
      VerifiedKdm v = KdmReader.read(kdm, enclaveChain.rootCertificate(), s.privateKey());
      assertThat(v.cplId()).isEqualTo(spec.cplId());
      assertThat(v.notValidBefore().getOffset())
          .isEqualTo(s == screenB ? ZoneOffset.ofHours(1) : ZoneOffset.UTC);
    }

    // the same signed booking again: answered from the store, nothing issued twice
    HttpResponse<String> again = signed("POST", "/v1/bookings", body);
    assertThat(again.statusCode()).as(again.body()).isEqualTo(200);
    HostApi.BookingResult replay =
        Json.decode(
            again.body().getBytes(StandardCharsets.UTF_8), 1 << 24, HostApi.BookingResult.class);
    assertThat(replay.replayed()).isTrue();
    assertThat(replay.bookingId()).isEqualTo(b.bookingId());
    assertThat(replay.receipt()).isEqualTo(b.receipt());
  }

  @Test
  void aHostWhoseStoreWidensTheStudiosRulesCannotBookPastThem() throws Exception {
    DkdmTemplate.Spec spec = ingest();
    assertThat(signed("POST", "/v1/rules", Json.encode(rules(spec, 1))).statusCode())
        .isEqualTo(201);
    // the operator edits the stored statement: cap 1 becomes 100 (the signature stays the studio's)
    RulesRecord row = store.getRules("urn:uuid:" + spec.cplId()).orElseThrow();
    StudioRules signed = StudioRules.decode(row.statement());
    StudioRules widened =
        new StudioRules(
            1,
            signed.keySetId(),
            signed.cplId(),
            signed.dkdmSigner(),
            signed.screens(),
            signed.latestEnd(),
            signed.maxWindowSeconds(),
            100,
            signed.issuedAt());
    store.putRules(
        new RulesRecord(
            row.cplId(),
            widened.encode(),
            row.key(),
            row.signature(),
            row.signerCertificate(),
            row.signerSignature(),
            row.storedAt()));
    HttpResponse<String> r =
        signed(
            "POST", "/v1/bookings", booking(spec, List.of(thumb(screenA), thumb(screenB)), 1, 2));
    assertThat(r.statusCode()).as(r.body()).isEqualTo(422);
    assertThat(error(r)).isEqualTo("rules_invalid");
  }

  @Test
  void aBookingWithoutStoredRulesIsRefusedAndRulesForAnUningestedCplAreRefused() throws Exception {
    DkdmTemplate.Spec spec = ingest();
    HttpResponse<String> r =
        signed("POST", "/v1/bookings", booking(spec, List.of(thumb(screenA)), 1, 2));
    assertThat(r.statusCode()).as(r.body()).isEqualTo(404);
    assertThat(error(r)).isEqualTo("rules_not_found");
    DkdmTemplate.Spec never =
        new DkdmTemplate.Spec(
            UUID.randomUUID(), "Never Ingested", spec.notBefore(), spec.notAfter(), spec.keys());
    HttpResponse<String> rules = signed("POST", "/v1/rules", Json.encode(rules(never, 10)));
    assertThat(rules.statusCode()).as(rules.body()).isEqualTo(404);
    assertThat(error(rules)).isEqualTo("dkdm_not_found");
  }

  // ---- helpers

  String signerThumbprint() throws Exception {
    return DcCertificates.thumbprintBase64(studio.chain().get(0));
  }

  EnclaveApi.SignedRules rules(DkdmTemplate.Spec spec, int maxScreens) throws Exception {
    Instant now = Instant.now().truncatedTo(ChronoUnit.SECONDS);
    StudioRules rules =
        new StudioRules(
            1,
            keySet.id(),
            "urn:uuid:" + spec.cplId(),
            signerThumbprint(),
            new SendPolicy.RecipientSelector(
                null,
                List.of(Base64.getEncoder().encodeToString(maker.root().getEncoded())),
                Map.of()),
            now.plus(Duration.ofDays(9)),
            Duration.ofDays(5).toSeconds(),
            maxScreens,
            now);
    byte[] bytes = rules.encode();
    RulesStatement st = RulesStatement.of(bytes, SENDER.publicKey());
    return new EnclaveApi.SignedRules(
        Base64Url.encode(bytes),
        Base64Url.encode(SENDER.publicKey().raw()),
        Base64Url.encode(st.sign(SENDER)),
        Base64Url.encode(studio.chain().get(0).getEncoded()),
        Base64Url.encode(st.signWithDkdmSigner(studio.leaf().getPrivate())));
  }

  byte[] booking(DkdmTemplate.Spec spec, List<String> screens, int fromDays, int toDays) {
    Instant now = Instant.now().truncatedTo(ChronoUnit.SECONDS);
    byte[] booking =
        new KdmBooking(
                1,
                keySet.id(),
                "urn:uuid:" + spec.cplId(),
                screens,
                now.plus(Duration.ofDays(fromDays)),
                now.plus(Duration.ofDays(toDays)),
                null)
            .encode();
    byte[] sig = BookingStatement.of(keySet.id(), booking, now, SENDER.publicKey()).sign(SENDER);
    return Json.encode(
        new HostApi.BookingRequest(
            Base64Url.encode(booking),
            new EnclaveApi.SenderSignature(
                Base64Url.encode(SENDER.publicKey().raw()),
                now.getEpochSecond(),
                Base64Url.encode(sig))));
  }

  DkdmTemplate.Spec ingest() throws Exception {
    List<DkdmTemplate.Key> ks = new ArrayList<>();
    for (int i = 0; i < 2; i++) {
      byte[] k = new byte[16];
      RANDOM.nextBytes(k);
      ks.add(new DkdmTemplate.Key(i == 0 ? "MDIK" : "MDAK", UUID.randomUUID(), k));
    }
    Instant now = Instant.now();
    DkdmTemplate.Spec spec =
        new DkdmTemplate.Spec(
            UUID.randomUUID(),
            "Booked Host Feature",
            KDM_TIME.format(now.atOffset(ZoneOffset.UTC)),
            KDM_TIME.format(now.plus(Duration.ofDays(10)).atOffset(ZoneOffset.UTC)),
            ks);
    byte[] dkdm =
        DkdmTemplate.build(
            dir.resolve("dkdm-" + (++dirs)),
            spec,
            enclaveSigner.leaf(),
            enclaveSigner.leaf(),
            studio.chain(),
            studio.leaf().getPrivate());
    List<byte[]> roots = List.of(studio.chain().get(2).getEncoded());
    Instant ts = now.truncatedTo(ChronoUnit.SECONDS);
    byte[] sig =
        DkdmIngestStatement.of(keySet.id(), dkdm, roots, ts, SENDER.publicKey()).sign(SENDER);
    HttpResponse<String> r =
        signed(
            "POST",
            "/v1/dkdms",
            Json.encode(
                new EnclaveApi.DkdmIngestRequest(
                    Base64Url.encode(dkdm),
                    roots.stream().map(Base64Url::encode).toList(),
                    new EnclaveApi.SenderSignature(
                        Base64Url.encode(SENDER.publicKey().raw()),
                        ts.getEpochSecond(),
                        Base64Url.encode(sig)))));
    assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
    return spec;
  }

  void register(TestScreens.Screen s, String cinema, String name, String offset) throws Exception {
    List<String> chain = new ArrayList<>();
    for (var cert : s.chain()) {
      chain.add(Base64.getEncoder().encodeToString(cert.getEncoded()));
    }
    HttpResponse<String> r =
        signed(
            "POST",
            "/v1/screens",
            Json.encode(new HostApi.RegisterScreen(chain, cinema, name, offset, List.of())));
    assertThat(r.statusCode()).as(r.body()).isIn(200, 201);
  }

  static String thumb(TestScreens.Screen s) throws Exception {
    return DcCertificates.thumbprintBase64(s.leaf());
  }

  static byte[] onlyKdmIn(byte[] zip) throws Exception {
    try (var in = new java.util.zip.ZipInputStream(new java.io.ByteArrayInputStream(zip))) {
      var e = in.getNextEntry();
      assertThat(e).isNotNull();
      byte[] kdm = in.readAllBytes();
      assertThat(in.getNextEntry()).as("one KDM for this screen").isNull();
      return kdm;
    }
  }

  static String error(HttpResponse<String> r) throws Exception {
    return Json.decode(r.body().getBytes(StandardCharsets.UTF_8), 1 << 20, ErrorBody.class).error();
  }

  HttpResponse<String> signed(String method, String target, byte[] body) throws Exception {
    return HostTestSupport.HTTP.send(
        request(method, target, body), HttpResponse.BodyHandlers.ofString());
  }

  HttpResponse<byte[]> signedBytes(String method, String target) throws Exception {
    return HostTestSupport.HTTP.send(
        request(method, target, null), HttpResponse.BodyHandlers.ofByteArray());
  }

  HttpRequest request(String method, String target, byte[] body) {
    byte[] b = body == null ? new byte[0] : body;
    return HttpRequest.newBuilder(URI.create(base(host) + target))
        .header("Content-Type", "application/json")
        .header(
            "Authorization",
            SenderRequestSignature.authorization(SENDER, method, target, b, Instant.now()))
        .method(
            method,
            body == null
                ? HttpRequest.BodyPublishers.noBody()
                : HttpRequest.BodyPublishers.ofByteArray(b))
        .build();
  }
}
