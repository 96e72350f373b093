package dev.keycast.enclave.server;

import static dev.keycast.enclave.server.TestKit.Http.json;
import static org.assertj.core.api.Assertions.assertThat;

import dev.keycast.mock.nitro.MockAttester;
import dev.keycast.protocol.Base64Url;
import dev.keycast.protocol.api.EnclaveApi;
import dev.keycast.protocol.api.ErrorBody;
import dev.keycast.protocol.api.ErrorCode;
import dev.keycast.protocol.cinema.ContentKeySet;
import dev.keycast.protocol.cinema.DcCertificateIssuer;
import dev.keycast.protocol.cinema.DkdmTemplate;
import dev.keycast.protocol.cinema.KdmChecks;
import dev.keycast.protocol.cinema.KdmSigner;
import dev.keycast.protocol.cinema.LegacyDkdmKeys;
import dev.keycast.protocol.crypto.Sha256;
import dev.keycast.protocol.send.SealedSendPayload;
import dev.keycast.protocol.send.SendPayloadParameters;
import dev.keycast.protocol.send.SendPayloadSealer;
import dev.keycast.protocol.sender.DkdmIngestStatement;
import dev.keycast.protocol.sender.DkdmKeyImportStatement;
import dev.keycast.protocol.sender.SenderSigningKey;
import dev.keycast.transport.Endpoint;
import dev.keycast.transport.TcpEndpoint;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.PrivateKey;
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
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

/**
 * The adoption path of issue 25 (wire-format.md section 10.6): a distributor's existing DKDM
 * certificate and key (as DCP-o-matic makes one) imported HPKE-sealed to the enclave; a DKDM
 * addressed to that old certificate, made by the independent template ({@link DkdmTemplate}:
 * openssl and xmlsec1), then ingests. Each refusal is an attack, named after it.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(300)
class LegacyDkdmKeyTest {
  static final SecureRandom RANDOM = new SecureRandom();
  static final Instant NOW = TestKit.NOW;

  /** Another admitted sender (another distributor). */
  static final SenderSigningKey OTHER_SENDER = SenderSigningKey.generate(RANDOM);

  static final DateTimeFormatter KDM_TIME = DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ssxxx");

  Path tmp;
  FakeKeySetService keys;
  EnclaveServer server;
  TestKit.Http http;
  KdmSigner enclaveSigner;
  DcCertificateIssuer.IssuedChain enclaveChain;
  DcCertificateIssuer.IssuedChain studio;
  DcCertificateIssuer.IssuedChain legacy;
  DcCertificateIssuer.IssuedChain otherLegacy;
  final AtomicInteger dirs = new AtomicInteger();

  @BeforeAll
  void start() throws Exception {
    KdmChecks.requireTools();
    tmp = Files.createTempDirectory("legacy-dkdm-key-test");
    keys = new FakeKeySetService().ready();
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
    // the distributor's old KDM tool: its own chain, as DCP-o-matic makes its decryption chain
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
            RANDOM);
    otherLegacy =
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
                Base64Url.encode(TestKit.SENDER.publicKey().raw()),
                Base64Url.encode(OTHER_SENDER.publicKey().raw()))));
    http = new TestKit.Http("http://127.0.0.1:" + ((TcpEndpoint) server.endpoint()).port());
  }

  @AfterAll
  void stop() {
    if (server != null) {
      server.close();
    }
  }

  @Test
  void aDkdmAddressedToAnImportedLegacyCertificateIngestsAndItsKeysReopen() throws Exception {
    EnclaveApi.DkdmKeyImportResponse imported = importKey(legacy, legacy.leaf().getPrivate());
    DkdmTemplate.Spec spec = spec(2);
    byte[] dkdm =
        DkdmTemplate.build(
            dir(),
            spec,
            legacy.leafCertificate(),
            legacy.leafCertificate(),
            studio.chain(),
            studio.leaf().getPrivate());

    // without the legacy key the DKDM is for somebody else
    assertRefused(post(ingest(dkdm, List.of())), ErrorCode.DKDM_WRONG_RECIPIENT);

    HttpResponse<String> r =
        post(
            ingest(
                dkdm,
                List.of(
                    new EnclaveApi.LegacyDkdmKey(imported.certificate(), imported.sealedKey()))));
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    EnclaveApi.DkdmIngestResponse a = json(r, EnclaveApi.DkdmIngestResponse.class);
    ContentKeySet opened =
        DkdmIngestRoute.open(
            keys.keySet,
            Base64Url.decode("s", a.sealedContentKeys(), 1 << 20),
            Base64Url.decode("b", a.binding(), 4096));
    assertThat(opened.keys().get(0).key()).isEqualTo(spec.keys().get(0).aesKey());
    assertThat(opened.keys().get(1).key()).isEqualTo(spec.keys().get(1).aesKey());
  }

  @Test
  void kdmsBookedFromADkdmIngestedWithALegacyKeyPassTheIndependentChecks() throws Exception {
    EnclaveApi.DkdmKeyImportResponse imported = importKey(legacy, legacy.leaf().getPrivate());
    DkdmTemplate.Spec spec = spec(2);
    byte[] dkdm =
        DkdmTemplate.build(
            dir(),
            spec,
            legacy.leafCertificate(),
            legacy.leafCertificate(),
            studio.chain(),
            studio.leaf().getPrivate());
    HttpResponse<String> in =
        post(
            ingest(
                dkdm,
                List.of(
                    new EnclaveApi.LegacyDkdmKey(imported.certificate(), imported.sealedKey()))));
    assertThat(in.statusCode()).as(in.body()).isEqualTo(200);
    EnclaveApi.DkdmIngestResponse a = json(in, EnclaveApi.DkdmIngestResponse.class);

    Instant from = NOW.minus(Duration.ofDays(30));
    dev.keycast.protocol.cinema.TestScreens.Manufacturer maker =
        dev.keycast.protocol.cinema.TestScreens.manufacturer(
            "MAKER.TEST", from, NOW.plus(Duration.ofDays(365)), true, RANDOM);
    dev.keycast.protocol.cinema.TestScreens.Screen screen =
        dev.keycast.protocol.cinema.TestScreens.screen(
            maker,
            dev.keycast.protocol.cinema.TestScreens.Spec.valid(
                from, NOW.plus(Duration.ofDays(300))),
            RANDOM);
    byte[] rules =
        new dev.keycast.protocol.booking.StudioRules(
                1,
                keys.keySet.id(),
                a.cplId(),
                a.signerThumbprint(),
                new dev.keycast.protocol.policy.SendPolicy.RecipientSelector(
                    null,
                    List.of(Base64.getEncoder().encodeToString(maker.root().getEncoded())),
                    java.util.Map.of()),
                NOW.plus(Duration.ofDays(9)),
                Duration.ofDays(5).toSeconds(),
                10,
                NOW)
            .encode();
    Instant nb = NOW.plus(Duration.ofDays(1));
    Instant na = NOW.plus(Duration.ofDays(3));
    byte[] booking =
        new dev.keycast.protocol.booking.KdmBooking(
                1,
                keys.keySet.id(),
                a.cplId(),
                List.of(dev.keycast.protocol.cinema.DcCertificates.thumbprintBase64(screen.leaf())),
                nb,
                na,
                null)
            .encode();
    Instant ts = Instant.now().truncatedTo(ChronoUnit.SECONDS);
    SenderSigningKey s = TestKit.SENDER;
    List<String> chain = new ArrayList<>();
    for (var c : screen.chain()) {
      chain.add(Base64Url.encode(c.getEncoded()));
    }
    HttpResponse<String> r =
        http.post(
            "/v1/kdm/book",
            new EnclaveApi.BookingRequest(
                Base64Url.encode(booking),
                new EnclaveApi.SenderSignature(
                    Base64Url.encode(s.publicKey().raw()),
                    ts.getEpochSecond(),
                    Base64Url.encode(
                        dev.keycast.protocol.sender.BookingStatement.of(
                                keys.keySet.id(), booking, ts, s.publicKey())
                            .sign(s))),
                BookingTest.rules(
                    s,
                    dev.keycast.protocol.booking.StudioRules.decode(rules),
                    studio.leafCertificate(),
                    studio.leaf().getPrivate()),
                a.sealedContentKeys(),
                a.binding(),
                List.of(
                    new EnclaveApi.Candidate(
                        Base64Url.encode(screen.leaf().getPublicKey().getEncoded()), chain))));
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    EnclaveApi.BookingResponse b = json(r, EnclaveApi.BookingResponse.class);
    assertThat(b.deliveries()).hasSize(1);
    byte[] kdm = Base64Url.decode("envelope", b.deliveries().getFirst().envelope(), 1 << 22);
    KdmChecks.check(
        dir(),
        kdm,
        enclaveChain.rootCertificate(),
        enclaveChain.leafCertificate(),
        screen.privateKey(),
        dev.keycast.protocol.cinema.TestScreens.pem(List.of(), screen.privateKey()),
        BookingTest.keysOf(spec),
        dev.keycast.protocol.cinema.KdmTimestamps.format(nb.atOffset(ZoneOffset.UTC)),
        dev.keycast.protocol.cinema.KdmTimestamps.format(na.atOffset(ZoneOffset.UTC)));
  }

  @Test
  void theImportAnswerNeverCarriesTheKeyAndTheSealedKeyOpensOnlyWithItsCertificate()
      throws Exception {
    PrivateKey key = legacy.leaf().getPrivate();
    HttpResponse<String> r = post("/v1/dkdm/key-import", importRequest(legacy, key));
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    assertThat(r.body())
        .doesNotContain(Base64Url.encode(key.getEncoded()))
        .doesNotContain(Base64.getEncoder().encodeToString(key.getEncoded()));
    EnclaveApi.DkdmKeyImportResponse a = json(r, EnclaveApi.DkdmKeyImportResponse.class);
    byte[] sealed = Base64Url.decode("k", a.sealedKey(), 1 << 16);
    assertThat(
            LegacyDkdmKeys.open(keys.keySet, legacy.leafCertificate().getEncoded(), sealed)
                .getEncoded())
        .isEqualTo(key.getEncoded());
    org.assertj.core.api.Assertions.assertThatThrownBy(
            () ->
                LegacyDkdmKeys.open(
                    keys.keySet, otherLegacy.leafCertificate().getEncoded(), sealed))
        .isInstanceOf(dev.keycast.protocol.DecryptionFailedException.class);
  }

  @Test
  void aHostThatPresentsALegacyKeyUnderAnotherCertificateCannotUseIt() throws Exception {
    EnclaveApi.DkdmKeyImportResponse imported = importKey(legacy, legacy.leaf().getPrivate());
    // a DKDM addressed to the other certificate; the host claims the sealed key is that
    // certificate's
    byte[] dkdm =
        DkdmTemplate.build(
            dir(),
            spec(1),
            otherLegacy.leafCertificate(),
            otherLegacy.leafCertificate(),
            studio.chain(),
            studio.leaf().getPrivate());
    assertRefused(
        post(
            ingest(
                dkdm,
                List.of(
                    new EnclaveApi.LegacyDkdmKey(
                        Base64Url.encode(otherLegacy.leafCertificate().getEncoded()),
                        imported.sealedKey())))),
        ErrorCode.DECRYPTION_FAILED);
  }

  @Test
  void anotherSenderCannotUseADistributorsImportedLegacyKey() throws Exception {
    EnclaveApi.DkdmKeyImportResponse imported = importKey(legacy, legacy.leaf().getPrivate());
    byte[] dkdm =
        DkdmTemplate.build(
            dir(),
            spec(1),
            legacy.leafCertificate(),
            legacy.leafCertificate(),
            studio.chain(),
            studio.leaf().getPrivate());
    List<EnclaveApi.LegacyDkdmKey> kept =
        List.of(new EnclaveApi.LegacyDkdmKey(imported.certificate(), imported.sealedKey()));
    assertRefused(post(ingest(dkdm, kept, OTHER_SENDER)), ErrorCode.DECRYPTION_FAILED);
    assertThat(post(ingest(dkdm, kept)).statusCode()).isEqualTo(200); // its importer's ingest works
  }

  @Test
  void aKeyThatIsNotTheCertificatesIsRefused() throws Exception {
    assertRefused(
        post("/v1/dkdm/key-import", importRequest(legacy, otherLegacy.leaf().getPrivate())),
        ErrorCode.DKDM_KEY_MISMATCH);
  }

  @Test
  void aKeyImportAlteredByTheHostIsRefused() throws Exception {
    EnclaveApi.DkdmKeyImportRequest signed = importRequest(legacy, legacy.leaf().getPrivate());
    // the host swaps the certificate: the sender's signature no longer verifies
    assertRefused(
        post(
            "/v1/dkdm/key-import",
            new EnclaveApi.DkdmKeyImportRequest(
                Base64Url.encode(otherLegacy.leafCertificate().getEncoded()),
                signed.enc(),
                signed.ciphertext(),
                signed.sender())),
        ErrorCode.SENDER_SIGNATURE_INVALID);
  }

  @Test
  void aKeyImportByAKeyOutsideTheSenderSetIsRefused() throws Exception {
    assertRefused(
        post(
            "/v1/dkdm/key-import",
            importRequest(legacy, legacy.leaf().getPrivate(), SenderSigningKey.generate(RANDOM))),
        ErrorCode.SENDER_UNKNOWN);
  }

  // ---- helpers

  EnclaveApi.DkdmKeyImportResponse importKey(DcCertificateIssuer.IssuedChain chain, PrivateKey key)
      throws Exception {
    HttpResponse<String> r = post("/v1/dkdm/key-import", importRequest(chain, key));
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    return json(r, EnclaveApi.DkdmKeyImportResponse.class);
  }

  EnclaveApi.DkdmKeyImportRequest importRequest(
      DcCertificateIssuer.IssuedChain chain, PrivateKey key) throws Exception {
    return importRequest(chain, key, TestKit.SENDER);
  }

  EnclaveApi.DkdmKeyImportRequest importRequest(
      DcCertificateIssuer.IssuedChain chain, PrivateKey key, SenderSigningKey sender)
      throws Exception {
    byte[] der = chain.leafCertificate().getEncoded();
    SealedSendPayload sealed =
        SendPayloadSealer.create(
                SendPayloadParameters.keyImportV1(keys.keySet.id()),
                keys.keySet.bundle(FakeKeySetService.KMS_KEY_ID).receivePublicKey())
            .seal(LegacyDkdmKeys.aad(der), key.getEncoded(), RANDOM);
    Instant ts = Instant.now().truncatedTo(ChronoUnit.SECONDS);
    byte[] sig =
        new DkdmKeyImportStatement(
                keys.keySet.id(),
                Sha256.digest(der),
                Sha256.digest(sealed.enc(), sealed.ciphertext()),
                ts,
                sender.publicKey())
            .sign(sender);
    return new EnclaveApi.DkdmKeyImportRequest(
        Base64Url.encode(der),
        Base64Url.encode(sealed.enc()),
        Base64Url.encode(sealed.ciphertext()),
        new EnclaveApi.SenderSignature(
            Base64Url.encode(sender.publicKey().raw()),
            ts.getEpochSecond(),
            Base64Url.encode(sig)));
  }

  EnclaveApi.DkdmIngestRequest ingest(byte[] dkdm, List<EnclaveApi.LegacyDkdmKey> legacyKeys)
      throws Exception {
    return ingest(dkdm, legacyKeys, TestKit.SENDER);
  }

  EnclaveApi.DkdmIngestRequest ingest(
      byte[] dkdm, List<EnclaveApi.LegacyDkdmKey> legacyKeys, SenderSigningKey by)
      throws Exception {
    byte[] root = studio.chain().get(2).getEncoded();
    Instant ts = Instant.now().truncatedTo(ChronoUnit.SECONDS);
    byte[] sig =
        DkdmIngestStatement.of(keys.keySet.id(), dkdm, List.of(root), ts, by.publicKey()).sign(by);
    return new EnclaveApi.DkdmIngestRequest(
        Base64Url.encode(dkdm),
        List.of(Base64Url.encode(root)),
        new EnclaveApi.SenderSignature(
            Base64Url.encode(by.publicKey().raw()), ts.getEpochSecond(), Base64Url.encode(sig)),
        legacyKeys);
  }

  HttpResponse<String> post(EnclaveApi.DkdmIngestRequest r) throws Exception {
    return http.post("/v1/dkdm/ingest", r);
  }

  HttpResponse<String> post(String path, Object body) throws Exception {
    return http.post(path, body);
  }

  static void assertRefused(HttpResponse<String> r, ErrorCode code) throws Exception {
    assertThat(r.statusCode()).as(r.body()).isEqualTo(code.status());
    assertThat(json(r, ErrorBody.class).error()).as(r.body()).isEqualTo(code.code());
  }

  DkdmTemplate.Spec spec(int n) {
    List<DkdmTemplate.Key> ks = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      byte[] k = new byte[16];
      RANDOM.nextBytes(k);
      ks.add(new DkdmTemplate.Key(i == 0 ? "MDIK" : "MDAK", UUID.randomUUID(), k));
    }
    return new DkdmTemplate.Spec(
        UUID.randomUUID(),
        "Legacy Feature " + dirs.get(),
        KDM_TIME.format(NOW.atOffset(ZoneOffset.UTC)),
        KDM_TIME.format(NOW.plus(Duration.ofDays(10)).atOffset(ZoneOffset.UTC)),
        ks);
  }

  Path dir() {
    return tmp.resolve("dkdm-" + dirs.incrementAndGet());
  }
}
