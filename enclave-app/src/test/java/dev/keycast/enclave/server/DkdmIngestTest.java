package dev.keycast.enclave.server;

import static dev.keycast.enclave.server.TestKit.Http.json;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keycast.mock.nitro.MockAttester;
import dev.keycast.protocol.Base64Url;
import dev.keycast.protocol.api.EnclaveApi;
import dev.keycast.protocol.api.ErrorBody;
import dev.keycast.protocol.api.ErrorCode;
import dev.keycast.protocol.cinema.ContentKey;
import dev.keycast.protocol.cinema.ContentKeySet;
import dev.keycast.protocol.cinema.DcCertificateIssuer;
import dev.keycast.protocol.cinema.DkdmBinding;
import dev.keycast.protocol.cinema.DkdmTemplate;
import dev.keycast.protocol.cinema.KdmChecks;
import dev.keycast.protocol.cinema.KdmSigner;
import dev.keycast.protocol.sender.DkdmIngestStatement;
import dev.keycast.protocol.sender.SenderSigningKey;
import dev.keycast.transport.Endpoint;
import dev.keycast.transport.TcpEndpoint;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

/**
 * DKDM ingest (issue 25, wire-format.md section 10) through the enclave's HTTP API, with DKDMs
 * built by an independent path ({@link DkdmTemplate}: a hand-written XML template, blocks by
 * {@code openssl pkeyutl}, signature by {@code xmlsec1 --sign}). Each refusal is an attack, named
 * after it.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(300)
class DkdmIngestTest {
  static final SecureRandom RANDOM = new SecureRandom();
  static final Instant NOW = TestKit.NOW;
  static final DateTimeFormatter KDM_TIME = DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ssxxx");

  Path tmp;
  FakeKeySetService keys;
  EnclaveServer server;
  TestKit.Http http;
  DcCertificateIssuer.IssuedChain enclaveChain;
  KdmSigner enclaveSigner;
  DcCertificateIssuer.IssuedChain studio;
  DcCertificateIssuer.IssuedChain otherStudio;
  final AtomicInteger dirs = new AtomicInteger();

  @BeforeAll
  void start() throws Exception {
    KdmChecks.requireTools();
    tmp = Files.createTempDirectory("dkdm-ingest-test");
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
    otherStudio =
        DcCertificateIssuer.issue(
            new DcCertificateIssuer.ChainNames(
                "OTHER.TEST",
                "MASTERING.OTHER.TEST",
                "ROOT.OTHER.TEST",
                "CA.OTHER.TEST",
                "CS",
                "DKDM-SIGNER.OTHER.TEST"),
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
    TestKit.establishSenders(server, keys.keySet.id());
    http = new TestKit.Http("http://127.0.0.1:" + ((TcpEndpoint) server.endpoint()).port());
  }

  @AfterAll
  void stop() {
    if (server != null) {
      server.close();
    }
  }

  // ---- the DKDM from an independent tool

  @Test
  void aDkdmMadeByXmlsec1FromATemplateIsIngestedAndItsSealedKeysReopenToTheTemplatesKeys()
      throws Exception {
    DkdmTemplate.Spec spec = spec(NOW.minus(Duration.ofDays(1)), NOW.plus(Duration.ofDays(20)), 3);
    Path dir = dir();
    byte[] dkdm =
        DkdmTemplate.build(
            dir,
            spec,
            enclaveSigner.leaf(),
            enclaveSigner.leaf(),
            studio.chain(),
            studio.leaf().getPrivate());
    DkdmTemplate.xmlsecVerifies(
        dir, dkdm, studio.chain().get(2), studio.chain().get(1)); // the template is sound

    HttpResponse<String> r =
        http.post("/v1/dkdm/ingest", request(dkdm, List.of(studio.chain().get(2))));
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    EnclaveApi.DkdmIngestResponse a = json(r, EnclaveApi.DkdmIngestResponse.class);
    assertThat(a.cplId()).isEqualTo("urn:uuid:" + spec.cplId());
    assertThat(a.contentTitle()).isEqualTo(spec.title());
    assertThat(a.keyCount()).isEqualTo(3);
    assertThat(a.notValidBefore()).isEqualTo(spec.notBefore());
    assertThat(a.notValidAfter()).isEqualTo(spec.notAfter());
    assertThat(a.signerThumbprint())
        .isEqualTo(
            java.util.Base64.getEncoder()
                .encodeToString(
                    java.security.MessageDigest.getInstance("SHA-1")
                        .digest(studio.chain().get(0).getTBSCertificate())));
    assertThat(a.secretId()).isEqualTo("dkdm-" + spec.cplId());
    assertThat(a.sender()).isEqualTo(TestKit.SENDER.publicKey().fingerprint());
    for (DkdmTemplate.Key k : spec.keys()) { // the answer never carries a key
      assertThat(r.body())
          .doesNotContain(Base64Url.encode(k.aesKey()))
          .doesNotContain(java.util.Base64.getEncoder().encodeToString(k.aesKey()));
    }
    DkdmBinding binding = DkdmBinding.decode(Base64Url.decode("binding", a.binding(), 4096));
    assertThat(binding.notValidAfter()).isEqualTo(spec.notAfter());
    assertThat(binding.keySetId()).isEqualTo(keys.keySet.id());

    ContentKeySet opened =
        DkdmIngestRoute.open(
            keys.keySet,
            Base64Url.decode("s", a.sealedContentKeys(), 1 << 20),
            Base64Url.decode("b", a.binding(), 4096));
    assertThat(opened.cplId()).isEqualTo(spec.cplId());
    assertThat(opened.contentTitle()).isEqualTo(spec.title());
    assertThat(opened.keys()).hasSize(3);
    for (int i = 0; i < 3; i++) {
      DkdmTemplate.Key k = spec.keys().get(i);
      ContentKey got = opened.keys().get(i);
      assertThat(got.keyId()).isEqualTo(k.keyId());
      assertThat(got.type().name()).isEqualTo(k.type());
      assertThat(got.key()).isEqualTo(k.aesKey());
    }
  }

  // ---- attacks

  @Test
  void aDkdmSignedByAnUnknownStudioIsRefused() throws Exception {
    byte[] dkdm =
        DkdmTemplate.build(
            dir(),
            spec(NOW, NOW.plus(Duration.ofDays(5)), 1),
            enclaveSigner.leaf(),
            enclaveSigner.leaf(),
            otherStudio.chain(),
            otherStudio.leaf().getPrivate());
    assertRefused(request(dkdm, List.of(studio.chain().get(2))), ErrorCode.DKDM_SIGNER_UNTRUSTED);
  }

  @Test
  void aDkdmAddressedToAnotherCertificateIsRefused() throws Exception {
    // the blocks are even encrypted to the enclave's key: only the Recipient check stops it
    byte[] dkdm =
        DkdmTemplate.build(
            dir(),
            spec(NOW, NOW.plus(Duration.ofDays(5)), 1),
            otherStudio.chain().get(0),
            enclaveSigner.leaf(),
            studio.chain(),
            studio.leaf().getPrivate());
    assertRefused(request(dkdm, List.of(studio.chain().get(2))), ErrorCode.DKDM_WRONG_RECIPIENT);
  }

  @Test
  void aTamperedDkdmIsRefused() throws Exception {
    DkdmTemplate.Spec spec = spec(NOW, NOW.plus(Duration.ofDays(5)), 1);
    byte[] dkdm =
        DkdmTemplate.build(
            dir(),
            spec,
            enclaveSigner.leaf(),
            enclaveSigner.leaf(),
            studio.chain(),
            studio.leaf().getPrivate());
    String later = KDM_TIME.format(NOW.plus(Duration.ofDays(50)).atOffset(ZoneOffset.ofHours(1)));
    byte[] widened =
        new String(dkdm, StandardCharsets.UTF_8)
            .replace(
                "<ContentKeysNotValidAfter>" + spec.notAfter(),
                "<ContentKeysNotValidAfter>" + later)
            .getBytes(StandardCharsets.UTF_8);
    assertThat(widened).isNotEqualTo(dkdm);
    assertRefused(
        request(widened, List.of(studio.chain().get(2))), ErrorCode.DKDM_SIGNATURE_INVALID);
  }

  @Test
  void aDkdmWhoseWindowHasPassedIsRefused() throws Exception {
    byte[] dkdm =
        DkdmTemplate.build(
            dir(),
            spec(NOW.minus(Duration.ofDays(10)), NOW.minus(Duration.ofDays(1)), 1),
            enclaveSigner.leaf(),
            enclaveSigner.leaf(),
            studio.chain(),
            studio.leaf().getPrivate());
    assertRefused(request(dkdm, List.of(studio.chain().get(2))), ErrorCode.DKDM_WINDOW_PAST);
  }

  @Test
  void aDkdmWhoseBlocksAreForAnotherKeyIsRefused() throws Exception {
    byte[] dkdm =
        DkdmTemplate.build(
            dir(),
            spec(NOW, NOW.plus(Duration.ofDays(5)), 2),
            enclaveSigner.leaf(),
            otherStudio.chain().get(0),
            studio.chain(),
            studio.leaf().getPrivate());
    assertRefused(request(dkdm, List.of(studio.chain().get(2))), ErrorCode.DKDM_BLOCK_MALFORMED);
  }

  @Test
  void aHostThatAddsItsOwnStudioRootToASignedIngestIsRefused() throws Exception {
    byte[] dkdm =
        DkdmTemplate.build(
            dir(),
            spec(NOW, NOW.plus(Duration.ofDays(5)), 1),
            enclaveSigner.leaf(),
            enclaveSigner.leaf(),
            otherStudio.chain(),
            otherStudio.leaf().getPrivate());
    EnclaveApi.DkdmIngestRequest signed = request(dkdm, List.of(studio.chain().get(2)));
    List<String> roots = new ArrayList<>(signed.studioRoots());
    roots.add(Base64Url.encode(otherStudio.chain().get(2).getEncoded())); // the host's addition
    assertRefused(
        new EnclaveApi.DkdmIngestRequest(signed.dkdm(), roots, signed.sender()),
        ErrorCode.SENDER_SIGNATURE_INVALID);
  }

  @Test
  void anIngestSignedByAKeyOutsideTheSenderSetIsRefused() throws Exception {
    byte[] dkdm =
        DkdmTemplate.build(
            dir(),
            spec(NOW, NOW.plus(Duration.ofDays(5)), 1),
            enclaveSigner.leaf(),
            enclaveSigner.leaf(),
            studio.chain(),
            studio.leaf().getPrivate());
    assertRefused(
        request(dkdm, List.of(studio.chain().get(2)), SenderSigningKey.generate(RANDOM)),
        ErrorCode.SENDER_UNKNOWN);
    EnclaveApi.DkdmIngestRequest unsigned =
        new EnclaveApi.DkdmIngestRequest(
            Base64Url.encode(dkdm),
            List.of(Base64Url.encode(studio.chain().get(2).getEncoded())),
            null);
    assertRefused(unsigned, ErrorCode.SENDER_REQUIRED);
  }

  @Test
  void aDkdmThatIsNotAKdmOrCarriesADoctypeIsRefusedAsMalformed() throws Exception {
    List<X509Certificate> roots = List.of(studio.chain().get(2));
    assertRefused(
        request("<DCinemaSecurityMessage/>".getBytes(StandardCharsets.UTF_8), roots),
        ErrorCode.DKDM_MALFORMED);
    byte[] xxe =
        ("<?xml version=\"1.0\"?><!DOCTYPE d [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>"
                + "<DCinemaSecurityMessage xmlns=\"http://www.smpte-ra.org/schemas/430-3/2006/ETM\">&x;"
                + "</DCinemaSecurityMessage>")
            .getBytes(StandardCharsets.UTF_8);
    HttpResponse<String> r = http.post("/v1/dkdm/ingest", request(xxe, roots));
    assertThat(r.statusCode()).isEqualTo(422);
    assertThat(json(r, ErrorBody.class).error()).isEqualTo("dkdm_malformed");
    assertThat(r.body()).doesNotContain("root:");
  }

  @Test
  void anOversizedIngestIsRefusedBeforeItIsParsed() throws Exception {
    byte[] big = new byte[EnclaveApi.DkdmIngestRequest.MAX_BODY_BYTES + 1];
    java.util.Arrays.fill(big, (byte) ' ');
    HttpResponse<String> r = http.post("/v1/dkdm/ingest", big);
    assertThat(r.statusCode()).isEqualTo(413);
    assertThat(json(r, ErrorBody.class).error()).isEqualTo("payload_too_large");
  }

  @Test
  void aHostThatAltersTheSealedDkdmCannotUseIt() throws Exception {
    DkdmTemplate.Spec spec = spec(NOW, NOW.plus(Duration.ofDays(5)), 2);
    byte[] dkdm =
        DkdmTemplate.build(
            dir(),
            spec,
            enclaveSigner.leaf(),
            enclaveSigner.leaf(),
            studio.chain(),
            studio.leaf().getPrivate());
    HttpResponse<String> r =
        http.post("/v1/dkdm/ingest", request(dkdm, List.of(studio.chain().get(2))));
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    EnclaveApi.DkdmIngestResponse a = json(r, EnclaveApi.DkdmIngestResponse.class);
    byte[] sealed = Base64Url.decode("s", a.sealedContentKeys(), 1 << 20);
    byte[] binding = Base64Url.decode("b", a.binding(), 4096);
    assertThat(DkdmIngestRoute.open(keys.keySet, sealed, binding).keys())
        .hasSize(2); // unaltered: opens

    byte[] flipped = sealed.clone();
    flipped[flipped.length - 20] ^= 1; // a ciphertext bit
    assertCannotOpen(flipped, binding);
    byte[] flippedHeader = sealed.clone();
    flippedHeader[50] ^= 1; // a header bit
    assertCannotOpen(flippedHeader, binding);
    // a host that widens the window in the stored binding
    String later = KDM_TIME.format(NOW.plus(Duration.ofDays(400)).atOffset(ZoneOffset.UTC));
    byte[] widened =
        new String(binding, StandardCharsets.UTF_8)
            .replace(spec.notAfter(), later)
            .getBytes(StandardCharsets.UTF_8);
    assertThat(widened).isNotEqualTo(binding);
    assertCannotOpen(sealed, widened);
  }

  // ---- helpers

  void assertCannotOpen(byte[] sealed, byte[] binding) {
    assertThatThrownBy(() -> DkdmIngestRoute.open(keys.keySet, sealed, binding))
        .isInstanceOfSatisfying(
            EnclaveApiException.class,
            e -> assertThat(e.code()).isEqualTo(ErrorCode.DECRYPTION_FAILED));
  }

  void assertRefused(EnclaveApi.DkdmIngestRequest request, ErrorCode code) throws Exception {
    HttpResponse<String> r = http.post("/v1/dkdm/ingest", request);
    assertThat(r.statusCode()).as(r.body()).isEqualTo(code.status());
    assertThat(json(r, ErrorBody.class).error()).as(r.body()).isEqualTo(code.code());
  }

  EnclaveApi.DkdmIngestRequest request(byte[] dkdm, List<X509Certificate> roots) throws Exception {
    return request(dkdm, roots, TestKit.SENDER);
  }

  EnclaveApi.DkdmIngestRequest request(
      byte[] dkdm, List<X509Certificate> roots, SenderSigningKey sender) throws Exception {
    List<byte[]> der = new ArrayList<>();
    for (X509Certificate c : roots) {
      der.add(c.getEncoded());
    }
    Instant ts = Instant.now().truncatedTo(java.time.temporal.ChronoUnit.SECONDS);
    byte[] sig =
        DkdmIngestStatement.of(keys.keySet.id(), dkdm, der, ts, sender.publicKey()).sign(sender);
    return new EnclaveApi.DkdmIngestRequest(
        Base64Url.encode(dkdm),
        der.stream().map(Base64Url::encode).toList(),
        new EnclaveApi.SenderSignature(
            Base64Url.encode(sender.publicKey().raw()),
            ts.getEpochSecond(),
            Base64Url.encode(sig)));
  }

  DkdmTemplate.Spec spec(Instant notBefore, Instant notAfter, int keyCount) {
    List<DkdmTemplate.Key> ks = new ArrayList<>();
    String[] types = {"MDIK", "MDAK", "MDSK"};
    for (int i = 0; i < keyCount; i++) {
      byte[] k = new byte[16];
      RANDOM.nextBytes(k);
      ks.add(new DkdmTemplate.Key(types[i % 3], UUID.randomUUID(), k));
    }
    ZoneOffset paris = ZoneOffset.ofHours(1);
    return new DkdmTemplate.Spec(
        UUID.randomUUID(),
        "Independent Feature " + dirs.get(),
        KDM_TIME.format(notBefore.atOffset(paris)),
        KDM_TIME.format(notAfter.atOffset(paris)),
        ks);
  }

  Path dir() {
    return tmp.resolve("dkdm-" + dirs.incrementAndGet());
  }

  static OffsetDateTime at(Instant i) {
    return i.atOffset(ZoneOffset.UTC);
  }
}
