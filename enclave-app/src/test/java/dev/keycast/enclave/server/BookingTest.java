package dev.keycast.enclave.server;

import static dev.keycast.enclave.server.TestKit.Http.json;
import static org.assertj.core.api.Assertions.assertThat;

import dev.keycast.mock.nitro.MockAttester;
import dev.keycast.protocol.Base64Url;
import dev.keycast.protocol.api.EnclaveApi;
import dev.keycast.protocol.api.ErrorBody;
import dev.keycast.protocol.api.ErrorCode;
import dev.keycast.protocol.booking.KdmBooking;
import dev.keycast.protocol.booking.StudioRules;
import dev.keycast.protocol.cinema.ContentKey;
import dev.keycast.protocol.cinema.ContentKeySet;
import dev.keycast.protocol.cinema.DcCertificateIssuer;
import dev.keycast.protocol.cinema.DcCertificates;
import dev.keycast.protocol.cinema.DkdmTemplate;
import dev.keycast.protocol.cinema.KdmChecks;
import dev.keycast.protocol.cinema.KdmDeliveries;
import dev.keycast.protocol.cinema.KdmReader;
import dev.keycast.protocol.cinema.KdmSigner;
import dev.keycast.protocol.cinema.KdmTimestamps;
import dev.keycast.protocol.cinema.KeyType;
import dev.keycast.protocol.cinema.TestScreens;
import dev.keycast.protocol.cinema.VerifiedKdm;
import dev.keycast.protocol.crypto.Sha256;
import dev.keycast.protocol.keyset.KeyBundle;
import dev.keycast.protocol.policy.Eligibility;
import dev.keycast.protocol.policy.SendPolicy;
import dev.keycast.protocol.receipt.Receipt;
import dev.keycast.protocol.receipt.ReceiptVerifier;
import dev.keycast.protocol.sender.BookingStatement;
import dev.keycast.protocol.sender.DkdmIngestStatement;
import dev.keycast.protocol.sender.RulesStatement;
import dev.keycast.protocol.sender.SenderSigningKey;
import dev.keycast.transport.Endpoint;
import dev.keycast.transport.TcpEndpoint;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

/**
 * Bookings (issue 25, wire-format.md section 11) through the enclave's HTTP API: a DKDM made by an
 * independent path ({@link DkdmTemplate}: template, {@code openssl pkeyutl}, {@code xmlsec1
 * --sign}) is ingested by the studio's sender, the studio signs its rules, a distributor books
 * screens, and the KDMs issued are checked by xmllint, xmlsec1 and by decrypting every block with
 * the screen's key. Each refusal is an attack or a rule, named after it.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(300)
class BookingTest {
  static final SecureRandom RANDOM = new SecureRandom();
  static final Instant NOW = TestKit.NOW;
  static final DateTimeFormatter KDM_TIME = DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ssxxx");

  /** The studio: ingests its DKDMs and signs its rules. */
  static final SenderSigningKey STUDIO = TestKit.SENDER;

  /** The distributor: books. */
  static final SenderSigningKey DISTRIBUTOR = SenderSigningKey.generate(RANDOM);

  Path tmp;
  FakeKeySetService keys;
  KeyBundle bundle;
  EnclaveServer server;
  TestKit.Http http;
  DcCertificateIssuer.IssuedChain enclaveChain;
  KdmSigner enclaveSigner;
  DcCertificateIssuer.IssuedChain studioChain;
  TestScreens.Manufacturer makerA;
  TestScreens.Manufacturer makerB;
  TestScreens.Screen screen1;
  TestScreens.Screen screen2;
  TestScreens.Screen otherMakersScreen;
  final AtomicInteger dirs = new AtomicInteger();

  /** One ingested DKDM, shared by the tests that do not need their own. */
  Ingested feature;

  record Ingested(DkdmTemplate.Spec spec, EnclaveApi.DkdmIngestResponse answer) {}

  @BeforeAll
  void start() throws Exception {
    KdmChecks.requireTools();
    tmp = Files.createTempDirectory("booking-test");
    keys = new FakeKeySetService().ready();
    bundle = keys.keySet.bundle(FakeKeySetService.KMS_KEY_ID);
    Instant from = NOW.minus(Duration.ofDays(30));
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
    enclaveSigner = KdmSigner.of(enclaveChain.leaf().getPrivate(), enclaveChain.chain(), NOW);
    studioChain =
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
    server =
        EnclaveServer.start(
            Endpoint.parse("tcp://127.0.0.1:0"),
            keys,
            MockAttester.create(tmp.resolve("mock")),
            new SecureRandom(),
            Clock.systemUTC(),
            2,
            new EnclaveMetrics(),
            () -> enclaveSigner);
    SenderAuthorizer senders = server.services().senders();
    senders.keySetCreated(keys.keySet.id());
    senders.genesis(
        new EnclaveApi.SenderGenesisRequest(
            List.of(Base64Url.encode(TestKit.OWNER.publicKey().raw())),
            List.of(
                Base64Url.encode(STUDIO.publicKey().raw()),
                Base64Url.encode(DISTRIBUTOR.publicKey().raw()))));
    http = new TestKit.Http("http://127.0.0.1:" + ((TcpEndpoint) server.endpoint()).port());

    Instant makerTo = NOW.plus(Duration.ofDays(365));
    makerA = TestScreens.manufacturer("MAKER-A.TEST", from, makerTo, true, RANDOM);
    makerB = TestScreens.manufacturer("MAKER-B.TEST", from, makerTo, true, RANDOM);
    TestScreens.Spec valid = TestScreens.Spec.valid(from, NOW.plus(Duration.ofDays(300)));
    screen1 = TestScreens.screen(makerA, valid, RANDOM);
    screen2 =
        TestScreens.screen(
            makerA, valid.withCommonName("LE SPB MD FM SM.IMB-000002.DC.TESTMAKER.SMPTE"), RANDOM);
    otherMakersScreen = TestScreens.screen(makerB, valid, RANDOM);
    feature = ingest(NOW.minus(Duration.ofDays(1)), NOW.plus(Duration.ofDays(20)), 2);
  }

  @AfterAll
  void stop() {
    if (server != null) {
      server.close();
    }
  }

  // ---- what a distributor gets

  @Test
  void aBookingInsideTheStudiosRulesGetsKdmsOfTheDkdmsKeysThatTheIndependentToolsAccept()
      throws Exception {
    Instant nb = NOW.plus(Duration.ofDays(1));
    Instant na = NOW.plus(Duration.ofDays(4));
    EnclaveApi.SignedRules rules =
        rules(STUDIO, feature, anchorA(), NOW.plus(Duration.ofDays(15)), Duration.ofDays(7), 10);
    byte[] booking = booking(feature, List.of(screen1, screen2), nb, na);
    HttpResponse<String> r = book(booking, DISTRIBUTOR, rules, feature, List.of(screen1, screen2));
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    EnclaveApi.BookingResponse s = json(r, EnclaveApi.BookingResponse.class);
    assertThat(s.deliveries()).hasSize(2);
    assertThat(s.skipped()).isEmpty();

    ContentKeySet set = keysOf(feature.spec());
    Receipt receipt = ReceiptVerifier.verify(Base64Url.decode("r", s.receipt(), 1 << 24), bundle);
    assertThat(receipt.sender().key())
        .as("the receipt names the distributor who booked")
        .isEqualTo(HexFormat.of().formatHex(DISTRIBUTOR.publicKey().raw()));
    byte[] rulesBytes = Base64Url.decode("s", rules.statement(), 1 << 20);
    byte[] binding = Base64Url.decode("b", feature.answer().binding(), 4096);
    assertThat(receipt.payloadSha256())
        .as("the receipt names the booking, the rules and the DKDM")
        .isEqualTo(
            BookingRoute.payloadSha256(
                Sha256.digest(booking), Sha256.digest(rulesBytes), Sha256.digest(binding)));
    assertThat(s.booking().dkdmMessageId()).isEqualTo(feature.answer().messageId());
    assertThat(receipt.policySha256())
        .isEqualTo(Sha256.digest(Base64Url.decode("p", s.policy(), 1 << 20)));
    String id = s.sendId();
    assertThat(id)
        .isEqualTo(
            BookingStatement.of(
                    keys.keySet.id(),
                    booking,
                    Instant.ofEpochSecond(lastTimestamp),
                    DISTRIBUTOR.publicKey())
                .bookingId());
    for (int i = 0; i < 2; i++) {
      TestScreens.Screen screen = i == 0 ? screen1 : screen2;
      EnclaveApi.Delivery d = s.deliveries().get(i);
      assertThat(d.format()).isEqualTo(KdmDeliveries.FORMAT_ID);
      byte[] kdm = Base64Url.decode("envelope", d.envelope(), 1 << 22);
      KdmChecks.check(
          tmp.resolve("kdm-" + dirs.incrementAndGet()),
          kdm,
          enclaveChain.rootCertificate(),
          enclaveChain.leafCertificate(),
          screen.privateKey(),
          TestScreens.pem(List.of(), screen.privateKey()),
          set,
          KdmTimestamps.format(OffsetDateTime.ofInstant(nb, ZoneOffset.UTC)),
          KdmTimestamps.format(OffsetDateTime.ofInstant(na, ZoneOffset.UTC)));
      assertThat(receipt.deliveries().get(i).envelopeSha256()).isEqualTo(Sha256.digest(kdm));
      VerifiedKdm v = KdmReader.read(kdm, enclaveChain.rootCertificate(), screen.privateKey());
      assertThat(v.cplId()).isEqualTo(feature.spec().cplId());
      assertThat(v.recipientSerialNumber()).isEqualTo(screen.leaf().getSerialNumber());
    }
    for (DkdmTemplate.Key k : feature.spec().keys()) { // the answer never carries a key in clear
      assertThat(r.body())
          .doesNotContain(Base64Url.encode(k.aesKey()))
          .doesNotContain(Base64.getEncoder().encodeToString(k.aesKey()));
    }
  }

  @Test
  void aBookedScreenTheRulesExcludeIsSkippedWithItsReasonWhileTheOthersGetKdms() throws Exception {
    EnclaveApi.SignedRules rules =
        rules(STUDIO, feature, anchorA(), NOW.plus(Duration.ofDays(15)), Duration.ofDays(7), 10);
    byte[] booking =
        booking(
            feature,
            List.of(screen1, otherMakersScreen),
            NOW.plus(Duration.ofDays(1)),
            NOW.plus(Duration.ofDays(2)));
    HttpResponse<String> r =
        book(booking, DISTRIBUTOR, rules, feature, List.of(screen1, otherMakersScreen));
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    EnclaveApi.BookingResponse s = json(r, EnclaveApi.BookingResponse.class);
    assertThat(s.deliveries())
        .extracting(EnclaveApi.Delivery::recipient)
        .containsExactly(TestKit.fp(screen1.leaf().getPublicKey()));
    assertThat(s.skipped())
        .extracting(EnclaveApi.Skipped::recipient, EnclaveApi.Skipped::reason)
        .containsExactly(
            org.assertj.core.groups.Tuple.tuple(
                TestKit.fp(otherMakersScreen.leaf().getPublicKey()), Eligibility.CHAIN_INVALID));
  }

  // ---- the studio's rules and the DKDM's window bind every booking

  @Test
  void aBookingOutsideTheDkdmsWindowIsRefused() throws Exception {
    EnclaveApi.SignedRules rules =
        rules(STUDIO, feature, anchorA(), NOW.plus(Duration.ofDays(60)), Duration.ofDays(30), 10);
    assertRefused(
        book(
            booking(
                feature,
                List.of(screen1),
                NOW.plus(Duration.ofDays(18)),
                NOW.plus(Duration.ofDays(22))),
            DISTRIBUTOR,
            rules,
            feature,
            List.of(screen1)),
        ErrorCode.BOOKING_OUTSIDE_DKDM_WINDOW);
  }

  @Test
  void aBookingEndingAfterTheStudiosLatestEndIsRefused() throws Exception {
    EnclaveApi.SignedRules rules =
        rules(STUDIO, feature, anchorA(), NOW.plus(Duration.ofDays(5)), Duration.ofDays(30), 10);
    assertRefused(
        book(
            booking(
                feature,
                List.of(screen1),
                NOW.plus(Duration.ofDays(4)),
                NOW.plus(Duration.ofDays(6))),
            DISTRIBUTOR,
            rules,
            feature,
            List.of(screen1)),
        ErrorCode.BOOKING_AFTER_LATEST_END);
  }

  @Test
  void aBookingLongerThanTheStudiosLongestWindowIsRefused() throws Exception {
    EnclaveApi.SignedRules rules =
        rules(STUDIO, feature, anchorA(), NOW.plus(Duration.ofDays(15)), Duration.ofDays(2), 10);
    assertRefused(
        book(
            booking(
                feature,
                List.of(screen1),
                NOW.plus(Duration.ofDays(1)),
                NOW.plus(Duration.ofDays(4))),
            DISTRIBUTOR,
            rules,
            feature,
            List.of(screen1)),
        ErrorCode.BOOKING_WINDOW_TOO_LONG);
  }

  @Test
  void aBookingOfMoreScreensThanTheStudiosCapIsRefused() throws Exception {
    EnclaveApi.SignedRules rules =
        rules(STUDIO, feature, anchorA(), NOW.plus(Duration.ofDays(15)), Duration.ofDays(7), 1);
    assertRefused(
        book(
            booking(
                feature,
                List.of(screen1, screen2),
                NOW.plus(Duration.ofDays(1)),
                NOW.plus(Duration.ofDays(2))),
            DISTRIBUTOR,
            rules,
            feature,
            List.of(screen1, screen2)),
        ErrorCode.BOOKING_OVER_CAP);
  }

  @Test
  void aBookingWhoseWindowHasEndedIsRefused() throws Exception {
    EnclaveApi.SignedRules rules =
        rules(STUDIO, feature, anchorA(), NOW.plus(Duration.ofDays(15)), Duration.ofDays(7), 10);
    assertRefused(
        book(
            booking(
                feature,
                List.of(screen1),
                NOW.minus(Duration.ofHours(20)),
                NOW.minus(Duration.ofHours(10))),
            DISTRIBUTOR,
            rules,
            feature,
            List.of(screen1)),
        ErrorCode.BOOKING_WINDOW_PAST);
  }

  // ---- attacks

  @Test
  void aRulesStatementTamperedByAMaliciousHostIsRefused() throws Exception {
    EnclaveApi.SignedRules rules =
        rules(STUDIO, feature, anchorA(), NOW.plus(Duration.ofDays(5)), Duration.ofDays(2), 1);
    // the host stretches the studio's latest end, longest window and cap in the stored statement
    StudioRules signed = StudioRules.decode(Base64Url.decode("s", rules.statement(), 1 << 20));
    StudioRules widened =
        new StudioRules(
            1,
            signed.keySetId(),
            signed.cplId(),
            signed.dkdmSigner(),
            signed.screens(),
            NOW.plus(Duration.ofDays(19)),
            Duration.ofDays(19).toSeconds(),
            100,
            signed.issuedAt());
    EnclaveApi.SignedRules tampered =
        new EnclaveApi.SignedRules(
            Base64Url.encode(widened.encode()),
            rules.key(),
            rules.signature(),
            rules.signerCertificate(),
            rules.signerSignature());
    assertRefused(
        book(
            booking(
                feature,
                List.of(screen1, screen2),
                NOW.plus(Duration.ofDays(1)),
                NOW.plus(Duration.ofDays(15))),
            DISTRIBUTOR,
            tampered,
            feature,
            List.of(screen1, screen2)),
        ErrorCode.RULES_INVALID);
  }

  @Test
  void aDistributorThatHoldsTheDkdmCannotWriteTheStudiosRules() throws Exception {
    // the distributor is a sender and has the DKDM file: it ingests its own copy and signs wide
    // rules
    Ingested own = ingest(feature.spec(), DISTRIBUTOR);
    StudioRules wide =
        new StudioRules(
            1,
            keys.keySet.id(),
            own.answer().cplId(),
            own.answer().signerThumbprint(),
            anchorA(),
            NOW.plus(Duration.ofDays(19)),
            Duration.ofDays(19).toSeconds(),
            100,
            NOW);
    DcCertificateIssuer.IssuedChain fake =
        DcCertificateIssuer.issue(
            new DcCertificateIssuer.ChainNames(
                "STUDIO.TEST",
                "MASTERING.STUDIO.TEST",
                "ROOT.STUDIO.TEST",
                "CA.STUDIO.TEST",
                "CS",
                "DKDM-SIGNER.STUDIO.TEST"),
            NOW.minus(Duration.ofDays(1)),
            1,
            RANDOM);
    byte[] booking =
        booking(own, List.of(screen1), NOW.plus(Duration.ofDays(1)), NOW.plus(Duration.ofDays(2)));
    // with the studio's certificate but its own key: the signature does not verify
    assertRefused(
        book(
            booking,
            DISTRIBUTOR,
            rules(DISTRIBUTOR, wide, studioChain.leafCertificate(), fake.leaf().getPrivate()),
            own,
            List.of(screen1)),
        ErrorCode.RULES_INVALID);
    // with a look-alike certificate of its own: not the DKDM's signer
    assertRefused(
        book(
            booking,
            DISTRIBUTOR,
            rules(DISTRIBUTOR, wide, fake.leafCertificate(), fake.leaf().getPrivate()),
            own,
            List.of(screen1)),
        ErrorCode.RULES_DKDM_MISMATCH);
  }

  @Test
  void aBookingThatTurnsForensicMarkingOffIsRefused() throws Exception {
    EnclaveApi.SignedRules rules =
        rules(STUDIO, feature, anchorA(), NOW.plus(Duration.ofDays(15)), Duration.ofDays(7), 10);
    byte[] booking =
        new KdmBooking(
                1,
                keys.keySet.id(),
                feature.answer().cplId(),
                List.of(DcCertificates.thumbprintBase64(screen1.leaf())),
                NOW.plus(Duration.ofDays(1)),
                NOW.plus(Duration.ofDays(2)),
                new SendPolicy.KdmRules(
                    null,
                    List.of(dev.keycast.protocol.cinema.ForensicMarkFlags.PICTURE_DISABLE),
                    null,
                    null))
            .encode();
    assertRefused(
        book(booking, DISTRIBUTOR, rules, feature, List.of(screen1)),
        ErrorCode.BOOKING_KDM_NOT_ALLOWED);
  }

  @Test
  void rulesSignedForAnotherDkdmSignerAreRefused() throws Exception {
    EnclaveApi.SignedRules rules =
        rules(
            STUDIO,
            feature.answer().cplId(),
            DcCertificates.thumbprintBase64(makerA.root()),
            anchorA(),
            NOW.plus(Duration.ofDays(15)),
            Duration.ofDays(7),
            10);
    assertRefused(
        book(
            booking(
                feature,
                List.of(screen1),
                NOW.plus(Duration.ofDays(1)),
                NOW.plus(Duration.ofDays(2))),
            DISTRIBUTOR,
            rules,
            feature,
            List.of(screen1)),
        ErrorCode.RULES_DKDM_MISMATCH);
  }

  @Test
  void aHostThatAddsAScreenTheDistributorDidNotBookIsRefused() throws Exception {
    EnclaveApi.SignedRules rules =
        rules(STUDIO, feature, anchorA(), NOW.plus(Duration.ofDays(15)), Duration.ofDays(7), 10);
    byte[] booking =
        booking(
            feature, List.of(screen1), NOW.plus(Duration.ofDays(1)), NOW.plus(Duration.ofDays(2)));
    assertRefused(
        book(booking, DISTRIBUTOR, rules, feature, List.of(screen1, screen2)),
        ErrorCode.INVALID_RECIPIENT);
  }

  @Test
  void aHostThatAltersTheSignedBookingIsRefused() throws Exception {
    EnclaveApi.SignedRules rules =
        rules(STUDIO, feature, anchorA(), NOW.plus(Duration.ofDays(15)), Duration.ofDays(7), 10);
    byte[] booking =
        booking(
            feature, List.of(screen1), NOW.plus(Duration.ofDays(1)), NOW.plus(Duration.ofDays(2)));
    EnclaveApi.BookingRequest signed =
        request(booking, DISTRIBUTOR, rules, feature, List.of(screen1));
    byte[] other =
        booking(
            feature,
            List.of(screen1, screen2),
            NOW.plus(Duration.ofDays(1)),
            NOW.plus(Duration.ofDays(2)));
    EnclaveApi.BookingRequest swapped =
        new EnclaveApi.BookingRequest(
            Base64Url.encode(other),
            signed.sender(),
            signed.rules(),
            signed.sealedContentKeys(),
            signed.binding(),
            List.of(candidate(screen1), candidate(screen2)));
    assertRefused(http.post("/v1/kdm/book", swapped), ErrorCode.SENDER_SIGNATURE_INVALID);
  }

  @Test
  void aHostThatWidensTheStoredDkdmWindowCannotBookPastIt() throws Exception {
    EnclaveApi.SignedRules rules =
        rules(STUDIO, feature, anchorA(), NOW.plus(Duration.ofDays(60)), Duration.ofDays(60), 10);
    String later = KDM_TIME.format(NOW.plus(Duration.ofDays(50)).atOffset(ZoneOffset.ofHours(1)));
    String binding =
        new String(Base64Url.decode("b", feature.answer().binding(), 4096), StandardCharsets.UTF_8)
            .replace(feature.spec().notAfter(), later);
    Ingested widened =
        new Ingested(
            feature.spec(),
            new EnclaveApi.DkdmIngestResponse(
                null,
                null,
                feature.answer().cplId(),
                null,
                0,
                null,
                null,
                feature.answer().signerThumbprint(),
                null,
                null,
                null,
                feature.answer().sealedContentKeys(),
                Base64Url.encode(binding.getBytes(StandardCharsets.UTF_8))));
    assertRefused(
        book(
            booking(
                feature,
                List.of(screen1),
                NOW.plus(Duration.ofDays(1)),
                NOW.plus(Duration.ofDays(30))),
            DISTRIBUTOR,
            rules,
            widened,
            List.of(screen1)),
        ErrorCode.DECRYPTION_FAILED);
  }

  @Test
  void aBookingByAKeyOutsideTheSenderSetIsRefused() throws Exception {
    EnclaveApi.SignedRules rules =
        rules(STUDIO, feature, anchorA(), NOW.plus(Duration.ofDays(15)), Duration.ofDays(7), 10);
    assertRefused(
        book(
            booking(
                feature,
                List.of(screen1),
                NOW.plus(Duration.ofDays(1)),
                NOW.plus(Duration.ofDays(2))),
            SenderSigningKey.generate(RANDOM),
            rules,
            feature,
            List.of(screen1)),
        ErrorCode.SENDER_UNKNOWN);
  }

  // ---- helpers

  long lastTimestamp;

  /** Ingests the DKDM of {@code spec} again (its exact file is not kept: the same spec, made again), by {@code by}. */
  Ingested ingest(DkdmTemplate.Spec spec, SenderSigningKey by) throws Exception {
    byte[] dkdm =
        DkdmTemplate.build(
            tmp.resolve("dkdm-" + dirs.incrementAndGet()),
            spec,
            enclaveSigner.leaf(),
            enclaveSigner.leaf(),
            studioChain.chain(),
            studioChain.leaf().getPrivate());
    byte[] root = studioChain.chain().get(2).getEncoded();
    Instant ts = Instant.now().truncatedTo(ChronoUnit.SECONDS);
    byte[] sig =
        DkdmIngestStatement.of(keys.keySet.id(), dkdm, List.of(root), ts, by.publicKey()).sign(by);
    HttpResponse<String> r =
        http.post(
            "/v1/dkdm/ingest",
            new EnclaveApi.DkdmIngestRequest(
                Base64Url.encode(dkdm),
                List.of(Base64Url.encode(root)),
                new EnclaveApi.SenderSignature(
                    Base64Url.encode(by.publicKey().raw()),
                    ts.getEpochSecond(),
                    Base64Url.encode(sig))));
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    return new Ingested(spec, json(r, EnclaveApi.DkdmIngestResponse.class));
  }

  Ingested ingest(Instant notBefore, Instant notAfter, int keyCount) throws Exception {
    List<DkdmTemplate.Key> ks = new ArrayList<>();
    String[] types = {"MDIK", "MDAK", "MDSK"};
    for (int i = 0; i < keyCount; i++) {
      byte[] k = new byte[16];
      RANDOM.nextBytes(k);
      ks.add(new DkdmTemplate.Key(types[i % 3], UUID.randomUUID(), k));
    }
    ZoneOffset paris = ZoneOffset.ofHours(1);
    DkdmTemplate.Spec spec =
        new DkdmTemplate.Spec(
            UUID.randomUUID(),
            "Booked Feature " + dirs.incrementAndGet(),
            KDM_TIME.format(notBefore.atOffset(paris)),
            KDM_TIME.format(notAfter.atOffset(paris)),
            ks);
    byte[] dkdm =
        DkdmTemplate.build(
            tmp.resolve("dkdm-" + dirs.incrementAndGet()),
            spec,
            enclaveSigner.leaf(),
            enclaveSigner.leaf(),
            studioChain.chain(),
            studioChain.leaf().getPrivate());
    byte[] root = studioChain.chain().get(2).getEncoded();
    Instant ts = Instant.now().truncatedTo(ChronoUnit.SECONDS);
    byte[] sig =
        DkdmIngestStatement.of(keys.keySet.id(), dkdm, List.of(root), ts, STUDIO.publicKey())
            .sign(STUDIO);
    HttpResponse<String> r =
        http.post(
            "/v1/dkdm/ingest",
            new EnclaveApi.DkdmIngestRequest(
                Base64Url.encode(dkdm),
                List.of(Base64Url.encode(root)),
                new EnclaveApi.SenderSignature(
                    Base64Url.encode(STUDIO.publicKey().raw()),
                    ts.getEpochSecond(),
                    Base64Url.encode(sig))));
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    return new Ingested(spec, json(r, EnclaveApi.DkdmIngestResponse.class));
  }

  EnclaveApi.SignedRules rules(
      SenderSigningKey by,
      Ingested dkdm,
      SendPolicy.RecipientSelector screens,
      Instant latestEnd,
      Duration maxWindow,
      int maxScreens)
      throws Exception {
    return rules(
        by,
        dkdm.answer().cplId(),
        dkdm.answer().signerThumbprint(),
        screens,
        latestEnd,
        maxWindow,
        maxScreens);
  }

  EnclaveApi.SignedRules rules(
      SenderSigningKey by,
      String cplId,
      String dkdmSigner,
      SendPolicy.RecipientSelector screens,
      Instant latestEnd,
      Duration maxWindow,
      int maxScreens)
      throws Exception {
    return rules(
        by,
        new StudioRules(
            1,
            keys.keySet.id(),
            cplId,
            dkdmSigner,
            screens,
            latestEnd,
            maxWindow.toSeconds(),
            maxScreens,
            NOW),
        studioChain.leafCertificate(),
        studioChain.leaf().getPrivate());
  }

  /** Rules signed by sender {@code by} and, as the DKDM signer, with {@code signerKey} of {@code signer}. */
  static EnclaveApi.SignedRules rules(
      SenderSigningKey by,
      StudioRules rules,
      java.security.cert.X509Certificate signer,
      java.security.PrivateKey signerKey)
      throws Exception {
    byte[] bytes = rules.encode();
    RulesStatement st = RulesStatement.of(bytes, by.publicKey());
    return new EnclaveApi.SignedRules(
        Base64Url.encode(bytes),
        Base64Url.encode(by.publicKey().raw()),
        Base64Url.encode(st.sign(by)),
        Base64Url.encode(signer.getEncoded()),
        Base64Url.encode(st.signWithDkdmSigner(signerKey)));
  }

  byte[] booking(
      Ingested dkdm, List<TestScreens.Screen> screens, Instant notBefore, Instant notAfter)
      throws Exception {
    List<String> thumbprints = new ArrayList<>();
    for (TestScreens.Screen s : screens) {
      thumbprints.add(DcCertificates.thumbprintBase64(s.leaf()));
    }
    return new KdmBooking(
            1, keys.keySet.id(), dkdm.answer().cplId(), thumbprints, notBefore, notAfter, null)
        .encode();
  }

  EnclaveApi.BookingRequest request(
      byte[] booking,
      SenderSigningKey by,
      EnclaveApi.SignedRules rules,
      Ingested dkdm,
      List<TestScreens.Screen> attached)
      throws Exception {
    Instant ts = Instant.now().truncatedTo(ChronoUnit.SECONDS);
    lastTimestamp = ts.getEpochSecond();
    byte[] sig = BookingStatement.of(keys.keySet.id(), booking, ts, by.publicKey()).sign(by);
    List<EnclaveApi.Candidate> candidates = new ArrayList<>();
    for (TestScreens.Screen s : attached) {
      candidates.add(candidate(s));
    }
    return new EnclaveApi.BookingRequest(
        Base64Url.encode(booking),
        new EnclaveApi.SenderSignature(
            Base64Url.encode(by.publicKey().raw()), ts.getEpochSecond(), Base64Url.encode(sig)),
        rules,
        dkdm.answer().sealedContentKeys(),
        dkdm.answer().binding(),
        candidates);
  }

  HttpResponse<String> book(
      byte[] booking,
      SenderSigningKey by,
      EnclaveApi.SignedRules rules,
      Ingested dkdm,
      List<TestScreens.Screen> attached)
      throws Exception {
    return http.post("/v1/kdm/book", request(booking, by, rules, dkdm, attached));
  }

  static EnclaveApi.Candidate candidate(TestScreens.Screen s) throws Exception {
    List<String> chain = new ArrayList<>();
    for (var c : s.chain()) {
      chain.add(Base64Url.encode(c.getEncoded()));
    }
    return new EnclaveApi.Candidate(
        Base64Url.encode(s.leaf().getPublicKey().getEncoded()), chain, null, List.of());
  }

  SendPolicy.RecipientSelector anchorA() throws Exception {
    return new SendPolicy.RecipientSelector(
        null, List.of(Base64.getEncoder().encodeToString(makerA.root().getEncoded())), Map.of());
  }

  static ContentKeySet keysOf(DkdmTemplate.Spec spec) throws Exception {
    List<ContentKey> ks = new ArrayList<>();
    for (DkdmTemplate.Key k : spec.keys()) {
      ks.add(ContentKey.of(k.keyId(), KeyType.valueOf(k.type()), k.aesKey().clone()));
    }
    return ContentKeySet.of(spec.cplId(), spec.title(), ks);
  }

  static void assertRefused(HttpResponse<String> r, ErrorCode code) throws Exception {
    assertThat(r.statusCode()).as(r.body()).isEqualTo(code.status());
    assertThat(json(r, ErrorBody.class).error()).as(r.body()).isEqualTo(code.code());
  }
}
