package dev.keycast.host;

import static dev.keycast.host.HostTestSupport.admin;
import static dev.keycast.host.HostTestSupport.base;
import static dev.keycast.host.HostTestSupport.get;
import static dev.keycast.host.HostTestSupport.json;
import static dev.keycast.host.HostTestSupport.payload;
import static dev.keycast.host.HostTestSupport.policy;
import static dev.keycast.host.HostTestSupport.post;
import static dev.keycast.host.HostTestSupport.text;
import static org.assertj.core.api.Assertions.assertThat;

import dev.keycast.host.HostTestSupport.Recipient;
import dev.keycast.host.server.HostApiService;
import dev.keycast.host.store.SqliteArtefactStore;
import dev.keycast.host.store.StoreException;
import dev.keycast.protocol.Base64Url;
import dev.keycast.protocol.Json;
import dev.keycast.protocol.api.EnclaveApi;
import dev.keycast.protocol.api.ErrorBody;
import dev.keycast.protocol.api.HostApi;
import dev.keycast.protocol.envelope.HpkeDeliveryFormat;
import dev.keycast.protocol.envelope.OpenedDelivery;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The host over real sockets against {@link FakeEnclave}: API behaviour and faults. */
class HostProxyTest {
  @TempDir Path dir;
  FakeEnclave enclave;
  SqliteArtefactStore sqlite;
  FailingStore store;
  HostProxy host;

  @BeforeEach
  void setUp() throws Exception {
    enclave = new FakeEnclave().start();
    sqlite = SqliteArtefactStore.open(dir.resolve("k.db"));
    store = new FailingStore(sqlite);
    host = HostTestSupport.start(enclave, store, "alias/keycast-test");
    assertThat(host.awaitReady(Duration.ofSeconds(10))).isTrue();
  }

  @AfterEach
  void tearDown() throws Exception {
    HostTestSupport.stop(host, enclave);
  }

  private Recipient register() throws Exception {
    Recipient r = Recipient.generate();
    HttpResponse<byte[]> resp = post(base(host) + "/v1/recipients", r.registration(base(host)));
    assertThat(resp.statusCode()).as(text(resp)).isEqualTo(201);
    return r;
  }

  private byte[] sendBody(List<String> fps, boolean late, String secret) throws Exception {
    return Json.encode(
        payload(
            enclave.keySet(),
            policy("s-" + System.nanoTime(), fps, late),
            secret.getBytes(StandardCharsets.UTF_8)));
  }

  @Test
  void bootInitStoresTheSealedKeySetBeforeServing() throws Exception {
    assertThat(sqlite.latestSealedKeySet()).isPresent();
    assertThat(enclave.hits("/v1/keyset/init")).isEqualTo(1);
    HttpResponse<byte[]> r = get(base(host) + "/v1/ready");
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(json(r, EnclaveApi.Readiness.class).keySetId()).isEqualTo(enclave.keySet().id());
    HostApi.Status s = json(get(admin(host) + "/admin/status"), HostApi.Status.class);
    assertThat(s.state()).isEqualTo("ready");
    assertThat(s.sealedKeySetVersion()).isEqualTo(1);
    // a second init is refused
    HttpResponse<byte[]> again = post(admin(host) + "/admin/keyset/init", new byte[0]);
    assertThat(again.statusCode()).isEqualTo(409);
    assertThat(json(again, ErrorBody.class).error()).isEqualTo("already_initialized");
  }

  @Test
  void sendIsStoredDecryptableAndIdempotent() throws Exception {
    Recipient a = register();
    Recipient b = register();
    byte[] body = sendBody(List.of(a.fingerprint(), b.fingerprint()), false, "the secret");
    HttpResponse<byte[]> r = post(base(host) + "/v1/sends", body);
    assertThat(r.statusCode()).as(text(r)).isEqualTo(200);
    HostApi.SendResult first = json(r, HostApi.SendResult.class);
    assertThat(first.replayed()).isFalse();
    assertThat(first.delivered()).hasSize(2);

    // the recipient lists and downloads its delivery from the store, and it decrypts
    HostApi.DeliveryPage page =
        json(
            a.getAuthorized(base(host), "/v1/recipients/" + a.fingerprint() + "/deliveries"),
            HostApi.DeliveryPage.class);
    assertThat(page.deliveries()).hasSize(1);
    HttpResponse<byte[]> env =
        a.getAuthorized(base(host), "/v1/deliveries/" + page.deliveries().get(0).deliveryId());
    assertThat(env.headers().firstValue("content-type")).hasValue(HostApiService.HPKE_TYPE);
    OpenedDelivery opened = HpkeDeliveryFormat.INSTANCE.open(a.key(), env.body());
    assertThat(new String(opened.secret(), StandardCharsets.UTF_8)).isEqualTo("the secret");

    // the receipt is served from the store
    HostApi.ReceiptView rv =
        json(
            a.getAuthorized(base(host), "/v1/receipts/" + first.receiptId()),
            HostApi.ReceiptView.class);
    assertThat(rv.receipt()).isEqualTo(first.receipt());

    // a retried identical payload returns the original, and the enclave sees no second send
    HttpResponse<byte[]> again = post(base(host) + "/v1/sends", body);
    assertThat(again.statusCode()).isEqualTo(200);
    HostApi.SendResult second = json(again, HostApi.SendResult.class);
    assertThat(second.replayed()).isTrue();
    assertThat(second.receiptId()).isEqualTo(first.receiptId());
    assertThat(second.receipt()).isEqualTo(first.receipt());
    assertThat(second.delivered())
        .extracting(HostApi.DeliverySummary::deliveryId)
        .containsExactlyInAnyOrderElementsOf(
            first.delivered().stream().map(HostApi.DeliverySummary::deliveryId).toList());
    assertThat(enclave.hits("/v1/send")).isEqualTo(1);
  }

  @Test
  void theSamePayloadUnderAnotherPolicyIsNoReplay() throws Exception {
    Recipient a = register();
    byte[] body = sendBody(List.of(a.fingerprint()), false, "the secret");
    HostApi.SendResult first = json(post(base(host) + "/v1/sends", body), HostApi.SendResult.class);
    // same enc and ciphertext (so the same send id), another policy: another payload hash, so the
    // host asks the enclave, which cannot open it
    EnclaveApi.SendPayload p = Json.decode(body, body.length, EnclaveApi.SendPayload.class);
    EnclaveApi.SendPayload other =
        new EnclaveApi.SendPayload(
            p.version(),
            p.suite(),
            p.keySetId(),
            Base64Url.encode(policy("s-other", List.of(a.fingerprint()), false).toJson()),
            p.enc(),
            p.ciphertext());
    HttpResponse<byte[]> r = post(base(host) + "/v1/sends", Json.encode(other));
    assertThat(r.statusCode()).as(text(r)).isEqualTo(400);
    assertThat(json(r, ErrorBody.class).error()).isEqualTo("decryption_failed");
    assertThat(enclave.hits("/v1/send")).isEqualTo(2);
    assertThat(sqlite.getSend(first.sendId()).orElseThrow().metadata().payloadHash())
        .isEqualTo(
            HostApiService.payloadHash(
                p.version(),
                p.suite(),
                p.keySetId(),
                Base64Url.decode("policy", p.policy(), 1 << 20),
                Base64Url.decode("enc", p.enc(), 64),
                Base64Url.decode("ciphertext", p.ciphertext(), 1 << 20)));
  }

  @Test
  void anAnswerNamingAnotherSendIdIsRefusedAndNothingIsStored() throws Exception {
    Recipient a = register();
    byte[] body = sendBody(List.of(a.fingerprint()), false, "x");
    enclave.answerAnotherSendId = true;
    HttpResponse<byte[]> r = post(base(host) + "/v1/sends", body);
    assertThat(r.statusCode()).as(text(r)).isEqualTo(500);
    assertThat(json(r, ErrorBody.class).error()).isEqualTo("internal_error");
    assertThat(json(r, ErrorBody.class).message()).contains("another send id");
    assertThat(sqlite.getSend("0".repeat(32))).isEmpty();
    assertThat(sqlite.listDeliveries(a.fingerprint(), null, 10)).isEmpty();

    enclave.answerAnotherSendId = false;
    HttpResponse<byte[]> retry = post(base(host) + "/v1/sends", body);
    assertThat(retry.statusCode()).as(text(retry)).isEqualTo(200);
    assertThat(json(retry, HostApi.SendResult.class).replayed()).isFalse();
    assertThat(sqlite.listDeliveries(a.fingerprint(), null, 10)).hasSize(1);
  }

  @Test
  void enclaveDownAnswers503WithRetryAfterAndStoresNothing() throws Exception {
    Recipient a = register();
    byte[] body = sendBody(List.of(a.fingerprint()), false, "x");
    enclave.stop();
    HttpResponse<byte[]> r = post(base(host) + "/v1/sends", body);
    assertThat(r.statusCode()).isEqualTo(503);
    assertThat(r.headers().firstValue("retry-after")).isPresent();
    assertThat(json(r, ErrorBody.class).error()).isEqualTo("enclave_unavailable");
    assertThat(sqlite.listDeliveries(a.fingerprint(), null, 10)).isEmpty();
    assertThat(sqlite.sealedSecretsOpenForLateRecipients(java.time.Instant.now(), null, 10))
        .isEmpty();
  }

  @Test
  void storeFailureAcknowledgesNothing() throws Exception {
    Recipient a = register();
    byte[] body = sendBody(List.of(a.fingerprint()), false, "x");
    store.failCommits = StoreException.Code.STORE_UNAVAILABLE;
    HttpResponse<byte[]> r = post(base(host) + "/v1/sends", body);
    assertThat(r.statusCode()).isEqualTo(503);
    assertThat(json(r, ErrorBody.class).error()).isEqualTo("store_unavailable");
    assertThat(r.headers().firstValue("retry-after")).isPresent();
    assertThat(enclave.hits("/v1/send")).isEqualTo(1);
    assertThat(sqlite.listDeliveries(a.fingerprint(), null, 10)).isEmpty();

    // once the store recovers, the client's retry is a fresh, complete send
    store.failCommits = null;
    HttpResponse<byte[]> retry = post(base(host) + "/v1/sends", body);
    assertThat(retry.statusCode()).isEqualTo(200);
    assertThat(json(retry, HostApi.SendResult.class).replayed()).isFalse();
    assertThat(sqlite.listDeliveries(a.fingerprint(), null, 10)).hasSize(1);
  }

  @Test
  void oversizedRequestIsRefusedBeforeTheEnclave() throws Exception {
    int sendsBefore = enclave.hits("/v1/send");
    dev.keycast.transport.TcpEndpoint ep =
        (dev.keycast.transport.TcpEndpoint) host.publicEndpoint();
    try (Socket s = new Socket("127.0.0.1", ep.port())) {
      s.setSoTimeout(5000);
      OutputStream out = s.getOutputStream();
      out.write(
          ("POST /v1/sends HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  + "Content-Length: "
                  + (HostApi.MAX_REQUEST_BYTES + 1)
                  + "\r\n\r\n")
              .getBytes(StandardCharsets.US_ASCII));
      out.flush();
      InputStream in = s.getInputStream();
      String answer = new String(in.readNBytes(512), StandardCharsets.US_ASCII);
      assertThat(answer).startsWith("HTTP/1.1 413");
      assertThat(answer).contains("payload_too_large");
    }
    assertThat(enclave.hits("/v1/send")).isEqualTo(sendsBefore);
  }

  @Test
  void lateRecipientGetsAForward() throws Exception {
    Recipient early = register();
    Recipient late = Recipient.generate();
    byte[] body = sendBody(List.of(early.fingerprint(), late.fingerprint()), true, "later");
    HostApi.SendResult sent = json(post(base(host) + "/v1/sends", body), HostApi.SendResult.class);
    assertThat(sent.delivered()).hasSize(1);

    HttpResponse<byte[]> r = post(base(host) + "/v1/recipients", late.registration(base(host)));
    assertThat(r.statusCode()).as(text(r)).isEqualTo(201);
    assertThat(json(r, HostApi.Recipient.class).lateDeliveries()).isEqualTo(1);
    assertThat(enclave.hits("/v1/forward")).isEqualTo(1);
    HostApi.DeliveryPage page =
        json(
            late.getAuthorized(base(host), "/v1/recipients/" + late.fingerprint() + "/deliveries"),
            HostApi.DeliveryPage.class);
    assertThat(page.deliveries()).hasSize(1);
    byte[] env =
        late.getAuthorized(base(host), "/v1/deliveries/" + page.deliveries().get(0).deliveryId())
            .body();
    assertThat(
            new String(
                HpkeDeliveryFormat.INSTANCE.open(late.key(), env).secret(), StandardCharsets.UTF_8))
        .isEqualTo("later");

    // registering again is a 200 and forwards nothing twice
    HttpResponse<byte[]> again = post(base(host) + "/v1/recipients", late.registration(base(host)));
    assertThat(again.statusCode()).isEqualTo(200);
    assertThat(json(again, HostApi.Recipient.class).lateDeliveries()).isZero();
    assertThat(enclave.hits("/v1/forward")).isEqualTo(1);
  }

  @Test
  void policiesOverOneMebibyteAreStored() throws Exception {
    Recipient a = register();
    List<String> fps = new java.util.ArrayList<>();
    fps.add(a.fingerprint());
    for (int i = 0; i < 20_000; i++) {
      byte[] b = new byte[32];
      HostTestSupport.RANDOM.nextBytes(b);
      fps.add(java.util.HexFormat.of().formatHex(b));
    }
    dev.keycast.protocol.policy.SendPolicy big = policy("big", fps, true);
    assertThat(big.toJson().length).isGreaterThan(1 << 20);
    HttpResponse<byte[]> r =
        post(base(host) + "/v1/sends", Json.encode(payload(enclave.keySet(), big, new byte[] {5})));
    assertThat(r.statusCode()).as(text(r)).isEqualTo(200);
    String sendId = json(r, HostApi.SendResult.class).sendId();
    assertThat(sqlite.getSend(sendId).orElseThrow().metadata().policyJson())
        .isEqualTo(big.toJson());
  }

  @Test
  void lateForwardsStopAtMaxRecipients() throws Exception {
    Recipient early = register();
    Recipient late = Recipient.generate();
    java.time.Instant now =
        java.time.Instant.now().truncatedTo(java.time.temporal.ChronoUnit.SECONDS);
    dev.keycast.protocol.policy.SendPolicy one =
        new dev.keycast.protocol.policy.SendPolicy(
            1,
            "one",
            "t",
            now.minusSeconds(5),
            now.plusSeconds(3600),
            new dev.keycast.protocol.policy.SendPolicy.RecipientSelector(
                List.of(early.fingerprint(), late.fingerprint()), null, null),
            true,
            1,
            null);
    HttpResponse<byte[]> sent =
        post(base(host) + "/v1/sends", Json.encode(payload(enclave.keySet(), one, new byte[] {9})));
    assertThat(sent.statusCode()).isEqualTo(200);
    HttpResponse<byte[]> r = post(base(host) + "/v1/recipients", late.registration(base(host)));
    assertThat(r.statusCode()).isEqualTo(201);
    assertThat(json(r, HostApi.Recipient.class).lateDeliveries()).isZero();
    assertThat(enclave.hits("/v1/forward")).isZero();
  }

  @Test
  void badInputGetsTypedErrors() throws Exception {
    HttpResponse<byte[]> r = post(base(host) + "/v1/sends", "{\"version\":1".getBytes());
    assertThat(r.statusCode()).isEqualTo(400);
    assertThat(json(r, ErrorBody.class).error()).isEqualTo("malformed_request");

    EnclaveApi.SendPayload p =
        payload(
            enclave.keySet(),
            policy("x", List.of(Recipient.generate().fingerprint()), false),
            new byte[] {1});
    byte[] badPolicy =
        Json.encode(
            new EnclaveApi.SendPayload(
                p.version(),
                p.suite(),
                p.keySetId(),
                Base64Url.encode("{\"version\":1}".getBytes()),
                p.enc(),
                p.ciphertext()));
    r = post(base(host) + "/v1/sends", badPolicy);
    assertThat(r.statusCode()).isEqualTo(422);
    assertThat(json(r, ErrorBody.class).error()).isEqualTo("invalid_policy");

    r =
        post(
            base(host) + "/v1/recipients",
            Json.encode(
                new HostApi.RegisterRecipient(Base64Url.encode(new byte[40]), null, null, null)));
    assertThat(r.statusCode()).isEqualTo(422);
    assertThat(json(r, ErrorBody.class).error()).isEqualTo("invalid_recipient");

    assertThat(get(base(host) + "/v1/nothing").statusCode()).isEqualTo(404);
    assertThat(get(base(host) + "/v1/sends").statusCode()).isEqualTo(405);
    assertThat(get(base(host) + "/v1/deliveries/" + "a".repeat(20)).statusCode()).isEqualTo(401);
    assertThat(get(base(host) + "/v1/recipients/xyz/deliveries").statusCode()).isEqualTo(400);
    assertThat(enclave.hits("/v1/send")).isZero();
  }

  @Test
  void metricsReportRequestsFanOutAndStoreLatency() throws Exception {
    Recipient a = register();
    post(base(host) + "/v1/sends", sendBody(List.of(a.fingerprint()), false, "m"));
    enclave.stop();
    post(base(host) + "/v1/sends", sendBody(List.of(a.fingerprint()), false, "n"));
    HttpResponse<byte[]> r = get(base(host) + "/metrics");
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.headers().firstValue("content-type").orElse("")).startsWith("text/plain");
    String m = text(r);
    assertThat(m).contains("# TYPE keycast_host_requests_total counter");
    assertThat(m).contains("keycast_host_requests_total{route=\"sends\",status=\"200\"} 1");
    assertThat(m).contains("keycast_host_requests_total{route=\"sends\",status=\"503\"} 1");
    assertThat(m).contains("keycast_host_requests_total{route=\"recipients\",status=\"201\"} 1");
    assertThat(m).contains("keycast_host_send_deliveries_bucket{le=\"1.0\"} 1");
    assertThat(m).contains("keycast_host_store_seconds_count{op=\"commit_send\"} 1");
    assertThat(m).contains("keycast_host_enclave_errors_total{code=\"enclave_unavailable\"} 1");
    assertThat(m).contains("keycast_host_request_seconds_bucket{route=\"sends\",le=\"+Inf\"} 2");
    assertThat(m).doesNotContain(a.fingerprint());
  }

  @Test
  void keepAliveServesManyRequestsOnOneConnection() throws Exception {
    dev.keycast.transport.TcpEndpoint ep =
        (dev.keycast.transport.TcpEndpoint) host.publicEndpoint();
    try (Socket s = new Socket("127.0.0.1", ep.port())) {
      s.setSoTimeout(5000);
      OutputStream out = s.getOutputStream();
      // two pipelined requests: answered in order on the same connection
      out.write(
          ("GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\nGET /v1/ready HTTP/1.1\r\nHost: x\r\n"
                  + "Connection: close\r\n\r\n")
              .getBytes(StandardCharsets.US_ASCII));
      out.flush();
      String all = new String(s.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
      int first = all.indexOf("{\"status\":\"ok\"}");
      int second = all.indexOf("\"state\":\"ready\"");
      assertThat(first).isPositive();
      assertThat(second).isGreaterThan(first);
    }
  }

  @Test
  void readinessSaysNotInitializedUntilAdminInit() throws Exception {
    host.shutdown();
    enclave.restart();
    SqliteArtefactStore fresh = SqliteArtefactStore.open(dir.resolve("fresh.db"));
    host = HostTestSupport.start(enclave, fresh, null);
    EnclaveApi.Readiness r =
        org.awaitility.Awaitility.await()
            .atMost(java.time.Duration.ofSeconds(10))
            .pollInterval(java.time.Duration.ofMillis(20))
            .until(
                () -> json(get(base(host) + "/v1/ready"), EnclaveApi.Readiness.class),
                x -> x.state().equals("not_initialized"));
    assertThat(r.state()).isEqualTo("not_initialized");
    HttpResponse<byte[]> send = post(base(host) + "/v1/sends", "{}".getBytes());
    assertThat(send.statusCode()).isIn(400, 503);
    HttpResponse<byte[]> init =
        post(admin(host) + "/admin/keyset/init?kms_key_id=alias/k", new byte[0]);
    assertThat(init.statusCode()).as(text(init)).isEqualTo(200);
    assertThat(json(get(base(host) + "/v1/ready"), EnclaveApi.Readiness.class).ready()).isTrue();
    assertThat(fresh.latestSealedKeySet()).isPresent();
  }

  @Test
  void restartUnsealsTheStoredKeySetAndServesStoredArtefacts() throws Exception {
    Recipient a = register();
    HostApi.SendResult sent =
        json(
            post(base(host) + "/v1/sends", sendBody(List.of(a.fingerprint()), false, "persist")),
            HostApi.SendResult.class);
    host.shutdown();
    enclave.restart();
    SqliteArtefactStore reopened = SqliteArtefactStore.open(dir.resolve("k.db"));
    host = HostTestSupport.start(enclave, reopened, "alias/other");
    assertThat(host.awaitReady(Duration.ofSeconds(10))).isTrue();
    assertThat(enclave.hits("/v1/keyset/unseal")).isEqualTo(1);
    assertThat(enclave.hits("/v1/keyset/init")).isEqualTo(1);
    assertThat(a.getAuthorized(base(host), "/v1/receipts/" + sent.receiptId()).statusCode())
        .isEqualTo(200);
  }

  @Test
  void adminRefusesNonLoopbackAddresses() {
    org.assertj.core.api.Assertions.assertThatThrownBy(
            () ->
                dev.keycast.host.server.HostServer.requireLocal(
                    dev.keycast.transport.Endpoint.parse("tcp://0.0.0.0:8444")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("loopback");
    org.assertj.core.api.Assertions.assertThatThrownBy(
            () ->
                dev.keycast.host.server.HostServer.requireLocal(
                    dev.keycast.transport.Endpoint.parse("vsock://3:8444")))
        .isInstanceOf(IllegalArgumentException.class);
    dev.keycast.host.server.HostServer.requireLocal(
        dev.keycast.transport.Endpoint.parse("tcp://127.0.0.1:8444"));
  }
}
