package dev.keycast.host;

import static dev.keycast.host.HostTestSupport.base;
import static dev.keycast.host.HostTestSupport.get;
import static dev.keycast.host.HostTestSupport.json;
import static dev.keycast.host.HostTestSupport.payload;
import static dev.keycast.host.HostTestSupport.policy;
import static dev.keycast.host.HostTestSupport.post;
import static dev.keycast.host.HostTestSupport.text;
import static org.assertj.core.api.Assertions.assertThat;

import dev.keycast.host.HostTestSupport.Recipient;
import dev.keycast.host.egress.StaticCredentials;
import dev.keycast.host.store.SqliteArtefactStore;
import dev.keycast.protocol.Json;
import dev.keycast.protocol.api.ErrorBody;
import dev.keycast.protocol.api.HostApi;
import dev.keycast.protocol.sender.SenderRequestSignature;
import dev.keycast.protocol.sender.SenderSigningKey;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Who may read a receipt (issue 23, api.md 2.2): its sender, by a request signed with the sender key
 * the receipt names, and the recipients it names, by their sessions. Third parties crawling receipt
 * ids, recipients of other sends and other senders of the same set learn nothing, not even whether
 * the receipt exists. Over real HTTP against a host with a real SQLite store; each test fails
 * without the check.
 */
class ReceiptAccessTest {
  private static final HttpClient HTTP = HttpClient.newHttpClient();
  private static final SenderSigningKey OTHER_SENDER =
      SenderSigningKey.generate(new SecureRandom());
  private static final SenderSigningKey OUTSIDER = SenderSigningKey.generate(new SecureRandom());

  @TempDir Path dir;
  FakeEnclave enclave;
  HostProxy host;

  @BeforeEach
  void setUp() throws Exception {
    enclave = new FakeEnclave().start();
    enclave.senders = List.of(HostTestSupport.SENDER.publicKey(), OTHER_SENDER.publicKey());
    host =
        new HostProxy(
            HostTestSupport.config(enclave, "alias/keycast-test"),
            SqliteArtefactStore.open(dir.resolve("receipts.db")),
            "test",
            new StaticCredentials("AKIDTEST", "secret-test", null),
            Clock.systemUTC());
    host.start();
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

  /** A send signed by {@link HostTestSupport#SENDER} delivering to {@code to}; its receipt id. */
  private String sendTo(Recipient to) throws Exception {
    HttpResponse<byte[]> r =
        post(
            base(host) + "/v1/sends",
            Json.encode(
                HostTestSupport.signed(
                    payload(
                        enclave.keySet(),
                        policy("r-" + System.nanoTime(), List.of(to.fingerprint()), false),
                        "s".getBytes(StandardCharsets.UTF_8)))));
    assertThat(r.statusCode()).as(text(r)).isEqualTo(200);
    return json(r, HostApi.SendResult.class).receiptId();
  }

  private HttpResponse<byte[]> getSignedBy(SenderSigningKey key, String path) throws Exception {
    String authorization =
        SenderRequestSignature.authorization(key, "GET", path, null, Instant.now());
    return HTTP.send(
        HttpRequest.newBuilder(URI.create(base(host) + path))
            .header("Authorization", authorization)
            .GET()
            .build(),
        HttpResponse.BodyHandlers.ofByteArray());
  }

  private static String error(HttpResponse<byte[]> r) throws Exception {
    return json(r, ErrorBody.class).error();
  }

  @Test
  void aCrawlOfReceiptIdsWithoutCredentialsLearnsNothing() throws Exception {
    Recipient a = register();
    String id = sendTo(a);
    HttpResponse<byte[]> r = get(base(host) + "/v1/receipts/" + id);
    assertThat(r.statusCode()).as(text(r)).isEqualTo(401);
    assertThat(error(r)).isEqualTo("session_required");
    assertThat(text(r)).doesNotContain(a.fingerprint());
    r = get(base(host) + "/v1/receipts/" + id, "not-a-token");
    assertThat(r.statusCode()).isEqualTo(401);
    assertThat(error(r)).isEqualTo("session_invalid");
  }

  @Test
  void aRecipientTheReceiptDoesNotNameSeesItAsAbsent() throws Exception {
    Recipient a = register();
    Recipient b = register();
    String id = sendTo(a);
    HttpResponse<byte[]> named = a.getAuthorized(base(host), "/v1/receipts/" + id);
    assertThat(named.statusCode()).as(text(named)).isEqualTo(200);
    assertThat(json(named, HostApi.ReceiptView.class).receiptId()).isEqualTo(id);

    HttpResponse<byte[]> other = b.getAuthorized(base(host), "/v1/receipts/" + id);
    HttpResponse<byte[]> absent = b.getAuthorized(base(host), "/v1/receipts/" + "0".repeat(32));
    assertThat(other.statusCode()).isEqualTo(404);
    assertThat(absent.statusCode()).isEqualTo(404);
    assertThat(error(other)).isEqualTo(error(absent)).isEqualTo("not_found");
    assertThat(text(other)).doesNotContain(a.fingerprint());
  }

  @Test
  void aSenderReadsItsOwnReceiptsAndNoOtherSendersReceipts() throws Exception {
    Recipient a = register();
    String id = sendTo(a);
    HttpResponse<byte[]> own = getSignedBy(HostTestSupport.SENDER, "/v1/receipts/" + id);
    assertThat(own.statusCode()).as(text(own)).isEqualTo(200);
    assertThat(json(own, HostApi.ReceiptView.class).sendId()).isNotEmpty();

    // another sender of the same set: as if the receipt did not exist
    HttpResponse<byte[]> other = getSignedBy(OTHER_SENDER, "/v1/receipts/" + id);
    assertThat(other.statusCode()).as(text(other)).isEqualTo(404);
    assertThat(error(other)).isEqualTo("not_found");
    // a key outside the sender set is refused before the store is read
    HttpResponse<byte[]> outsider = getSignedBy(OUTSIDER, "/v1/receipts/" + id);
    assertThat(outsider.statusCode()).as(text(outsider)).isEqualTo(403);
    assertThat(error(outsider)).isEqualTo("sender_unknown");
  }
}
