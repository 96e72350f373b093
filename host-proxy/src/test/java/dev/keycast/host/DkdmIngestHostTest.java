package dev.keycast.host;

import static dev.keycast.host.HostTestSupport.base;
import static org.assertj.core.api.Assertions.assertThat;

import dev.keycast.enclave.server.DkdmIngestRoute;
import dev.keycast.enclave.server.EnclaveMetrics;
import dev.keycast.enclave.server.EnclaveServer;
import dev.keycast.host.egress.StaticCredentials;
import dev.keycast.host.store.DkdmRecord;
import dev.keycast.host.store.SqliteArtefactStore;
import dev.keycast.mock.nitro.MockAttester;
import dev.keycast.protocol.Base64Url;
import dev.keycast.protocol.Json;
import dev.keycast.protocol.api.EnclaveApi;
import dev.keycast.protocol.api.ErrorBody;
import dev.keycast.protocol.cinema.ContentKeySet;
import dev.keycast.protocol.cinema.DcCertificateIssuer;
import dev.keycast.protocol.cinema.DkdmTemplate;
import dev.keycast.protocol.cinema.KdmSigner;
import dev.keycast.protocol.keyset.KeySet;
import dev.keycast.protocol.sender.DkdmIngestStatement;
import dev.keycast.protocol.sender.SenderRequestSignature;
import dev.keycast.transport.Endpoint;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
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
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * {@code POST /v1/dkdms} (issue 25) on a real host (Netty, SQLite) in front of a real enclave
 * server: a DKDM from the independent template ({@link DkdmTemplate}: xmlsec1-signed) is ingested
 * and its sealed keys are stored durably and reopen in the enclave; refusals store nothing.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class DkdmIngestHostTest {
  static final SecureRandom RANDOM = new SecureRandom();
  static final DateTimeFormatter KDM_TIME = DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ssxxx");

  Path dir;
  InMemoryKeySets keys;
  EnclaveServer enclave;
  SqliteArtefactStore store;
  HostProxy host;
  KeySet keySet;
  KdmSigner enclaveSigner;
  DcCertificateIssuer.IssuedChain studio;
  int dirs;

  @BeforeAll
  void start() throws Exception {
    DkdmTemplate.requireTools();
    dir = Files.createTempDirectory("keycast-dkdm-host");
    Instant from = Instant.now().minus(Duration.ofDays(30));
    DcCertificateIssuer.IssuedChain enclaveChain =
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
    enclaveSigner =
        KdmSigner.of(enclaveChain.leaf().getPrivate(), enclaveChain.chain(), Instant.now());
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
  void aSenderSignedDkdmIsIngestedThroughTheHostAndItsSealedKeysAreStoredAndReopen()
      throws Exception {
    DkdmTemplate.Spec spec = spec(2);
    byte[] dkdm =
        DkdmTemplate.build(
            next(),
            spec,
            enclaveSigner.leaf(),
            enclaveSigner.leaf(),
            studio.chain(),
            studio.leaf().getPrivate());
    HttpResponse<String> r = post(body(dkdm), true);
    assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
    EnclaveApi.DkdmIngestResponse a =
        Json.decode(r.body().getBytes(), 1 << 20, EnclaveApi.DkdmIngestResponse.class);
    assertThat(a.keyCount()).isEqualTo(2);
    List<DkdmRecord> stored = store.findDkdms("urn:uuid:" + spec.cplId());
    assertThat(stored).hasSize(1);
    DkdmRecord row = stored.get(0);
    assertThat(row.messageId()).isEqualTo(a.messageId());
    assertThat(row.signerThumbprint()).isEqualTo(a.signerThumbprint());
    // listed for the sender (GET /v1/dkdms?cpl=...), never with the sealed keys
    String target = "/v1/dkdms?cpl=" + spec.cplId();
    HttpResponse<String> listed =
        HostTestSupport.HTTP.send(
            HttpRequest.newBuilder(URI.create(base(host) + target))
                .header(
                    "Authorization",
                    SenderRequestSignature.authorization(
                        HostTestSupport.SENDER, "GET", target, null, Instant.now()))
                .GET()
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(listed.statusCode()).as(listed.body()).isEqualTo(200);
    dev.keycast.protocol.api.HostApi.DkdmList list =
        Json.decode(
            listed.body().getBytes(), 1 << 20, dev.keycast.protocol.api.HostApi.DkdmList.class);
    assertThat(list.dkdms())
        .singleElement()
        .satisfies(
            d -> {
              assertThat(d.messageId()).isEqualTo(a.messageId());
              assertThat(d.signerThumbprint()).isEqualTo(a.signerThumbprint());
            });
    assertThat(listed.body()).doesNotContain(a.sealedContentKeys());
    assertThat(
            HostTestSupport.HTTP
                .send(
                    HttpRequest.newBuilder(URI.create(base(host) + target)).GET().build(),
                    HttpResponse.BodyHandlers.ofString())
                .statusCode())
        .isEqualTo(401);
    ContentKeySet opened = DkdmIngestRoute.open(keySet, row.sealedContentKeys(), row.binding());
    assertThat(opened.keys().get(0).key()).isEqualTo(spec.keys().get(0).aesKey());
    assertThat(opened.keys().get(1).key()).isEqualTo(spec.keys().get(1).aesKey());
  }

  @Test
  void anUnsignedIngestIsRefusedByTheHostAndStoresNothing() throws Exception {
    DkdmTemplate.Spec spec = spec(1);
    byte[] dkdm =
        DkdmTemplate.build(
            next(),
            spec,
            enclaveSigner.leaf(),
            enclaveSigner.leaf(),
            studio.chain(),
            studio.leaf().getPrivate());
    HttpResponse<String> r = post(body(dkdm), false);
    assertThat(r.statusCode()).isEqualTo(401);
    assertThat(Json.decode(r.body().getBytes(), 1 << 20, ErrorBody.class).error())
        .isEqualTo("sender_required");
    assertThat(store.findDkdms("urn:uuid:" + spec.cplId())).isEmpty();
  }

  @Test
  void aDkdmTheEnclaveRefusesIsRelayedWithItsCodeAndStoresNothing() throws Exception {
    DkdmTemplate.Spec spec = spec(1);
    byte[] dkdm =
        DkdmTemplate.build(
            next(),
            spec,
            studio.chain().get(0),
            enclaveSigner.leaf(),
            studio.chain(),
            studio.leaf().getPrivate());
    HttpResponse<String> r = post(body(dkdm), true);
    assertThat(r.statusCode()).as(r.body()).isEqualTo(422);
    assertThat(Json.decode(r.body().getBytes(), 1 << 20, ErrorBody.class).error())
        .isEqualTo("dkdm_wrong_recipient");
    assertThat(store.findDkdms("urn:uuid:" + spec.cplId())).isEmpty();
  }

  /** The adoption path through the host: a legacy key imported once, then DKDMs to the old certificate ingest. */
  @Test
  void aDkdmAddressedToAnImportedLegacyCertificateIngestsThroughTheHost() throws Exception {
    DcCertificateIssuer.IssuedChain legacy =
        DcCertificateIssuer.issue(
            new DcCertificateIssuer.ChainNames(
                "DISTRIBUTOR.TEST",
                "DCPOMATIC.TEST",
                "ROOT.DCPOMATIC.TEST",
                "CA.DCPOMATIC.TEST",
                "CS",
                "DCPOMATIC-DECRYPTION"),
            Instant.now().minus(Duration.ofDays(30)),
            1,
            RANDOM);
    DkdmTemplate.Spec spec = spec(1);
    byte[] dkdm =
        DkdmTemplate.build(
            next(),
            spec,
            legacy.leafCertificate(),
            legacy.leafCertificate(),
            studio.chain(),
            studio.leaf().getPrivate());
    HttpResponse<String> before = post(body(dkdm), true);
    assertThat(before.statusCode()).as(before.body()).isEqualTo(422);
    assertThat(before.body()).contains("dkdm_wrong_recipient");

    byte[] der = legacy.leafCertificate().getEncoded();
    var sealed =
        dev.keycast.protocol.send.SendPayloadSealer.create(
                dev.keycast.protocol.send.SendPayloadParameters.keyImportV1(keySet.id()),
                keySet.bundle("alias/k").receivePublicKey())
            .seal(
                dev.keycast.protocol.cinema.LegacyDkdmKeys.aad(der),
                legacy.leaf().getPrivate().getEncoded(),
                RANDOM);
    Instant ts = Instant.now().truncatedTo(ChronoUnit.SECONDS);
    var sender = HostTestSupport.SENDER;
    byte[] sig =
        new dev.keycast.protocol.sender.DkdmKeyImportStatement(
                keySet.id(),
                dev.keycast.protocol.crypto.Sha256.digest(der),
                dev.keycast.protocol.crypto.Sha256.digest(sealed.enc(), sealed.ciphertext()),
                ts,
                sender.publicKey())
            .sign(sender);
    byte[] importBody =
        Json.encode(
            new EnclaveApi.DkdmKeyImportRequest(
                Base64Url.encode(der),
                Base64Url.encode(sealed.enc()),
                Base64Url.encode(sealed.ciphertext()),
                new EnclaveApi.SenderSignature(
                    Base64Url.encode(sender.publicKey().raw()),
                    ts.getEpochSecond(),
                    Base64Url.encode(sig))));
    HttpRequest req =
        HttpRequest.newBuilder(URI.create(base(host) + "/v1/dkdm-keys"))
            .header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofByteArray(importBody))
            .header(
                "Authorization",
                SenderRequestSignature.authorization(
                    sender, "POST", "/v1/dkdm-keys", importBody, Instant.now()))
            .build();
    HttpResponse<String> imported =
        HostTestSupport.HTTP.send(req, HttpResponse.BodyHandlers.ofString());
    assertThat(imported.statusCode()).as(imported.body()).isEqualTo(201);
    assertThat(store.listLegacyKeys()).hasSize(1);
    assertThat(imported.body())
        .doesNotContain(Base64Url.encode(legacy.leaf().getPrivate().getEncoded()));

    HttpResponse<String> after = post(body(dkdm), true);
    assertThat(after.statusCode()).as(after.body()).isEqualTo(201);
    assertThat(store.findDkdms("urn:uuid:" + spec.cplId())).hasSize(1);
  }

  byte[] body(byte[] dkdm) throws Exception {
    List<byte[]> roots = List.of(studio.chain().get(2).getEncoded());
    Instant ts = Instant.now().truncatedTo(ChronoUnit.SECONDS);
    var sender = HostTestSupport.SENDER;
    byte[] sig =
        DkdmIngestStatement.of(keySet.id(), dkdm, roots, ts, sender.publicKey()).sign(sender);
    return Json.encode(
        new EnclaveApi.DkdmIngestRequest(
            Base64Url.encode(dkdm),
            roots.stream().map(Base64Url::encode).toList(),
            new EnclaveApi.SenderSignature(
                Base64Url.encode(sender.publicKey().raw()),
                ts.getEpochSecond(),
                Base64Url.encode(sig))));
  }

  HttpResponse<String> post(byte[] body, boolean signed) throws Exception {
    HttpRequest.Builder b =
        HttpRequest.newBuilder(URI.create(base(host) + "/v1/dkdms"))
            .header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofByteArray(body));
    if (signed) {
      b.header(
          "Authorization",
          SenderRequestSignature.authorization(
              HostTestSupport.SENDER, "POST", "/v1/dkdms", body, Instant.now()));
    }
    return HostTestSupport.HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  DkdmTemplate.Spec spec(int n) {
    List<DkdmTemplate.Key> ks = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      byte[] k = new byte[16];
      RANDOM.nextBytes(k);
      ks.add(new DkdmTemplate.Key(i == 0 ? "MDIK" : "MDAK", UUID.randomUUID(), k));
    }
    Instant now = Instant.now();
    return new DkdmTemplate.Spec(
        UUID.randomUUID(),
        "Host Feature",
        KDM_TIME.format(now.atOffset(ZoneOffset.UTC)),
        KDM_TIME.format(now.plus(Duration.ofDays(10)).atOffset(ZoneOffset.UTC)),
        ks);
  }

  Path next() {
    return dir.resolve("dkdm-" + (++dirs));
  }
}
