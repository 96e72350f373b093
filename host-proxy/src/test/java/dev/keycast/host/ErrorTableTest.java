package dev.keycast.host;

import static dev.keycast.host.HostTestSupport.HTTP;
import static dev.keycast.host.HostTestSupport.base;
import static dev.keycast.host.HostTestSupport.post;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.keycast.enclave.server.EnclaveMetrics;
import dev.keycast.enclave.server.EnclaveServer;
import dev.keycast.host.HostTestSupport.Recipient;
import dev.keycast.host.egress.StaticCredentials;
import dev.keycast.host.store.SqliteArtefactStore;
import dev.keycast.host.store.StoreException;
import dev.keycast.mock.nitro.MockAttester;
import dev.keycast.protocol.Base64Url;
import dev.keycast.protocol.Json;
import dev.keycast.protocol.api.EnclaveApi;
import dev.keycast.protocol.api.ErrorCode;
import dev.keycast.protocol.keyset.KeySet;
import dev.keycast.protocol.policy.SendPolicy;
import dev.keycast.transport.Endpoint;
import dev.keycast.transport.TcpEndpoint;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * api.md's error table, row by row, through real sockets: a real enclave server (mock attester,
 * in-memory key sealing) behind a real host proxy on a SQLite store, and the enclave's own socket
 * for the enclave-only codes. Each case asserts the status, the stable code, the {@code
 * {"error","message"}} body, and that no row of the store changed.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ErrorTableTest {
  private static final ObjectMapper MAPPER = new ObjectMapper();
  Path dir;
  InMemoryKeySets keys;
  EnclaveServer enclave;
  EnclaveServer idleEnclave;
  FailingStore store;
  HostProxy host;
  HostProxy orphanHost;
  KeySet keySet;
  Recipient a;
  Recipient b;

  @BeforeAll
  void start() throws Exception {
    dir = Files.createTempDirectory("keycast-error-table");
    keys = new InMemoryKeySets();
    MockAttester attester = MockAttester.create(dir.resolve("mock-pki"));
    enclave =
        EnclaveServer.start(
            Endpoint.parse("tcp://127.0.0.1:0"),
            keys,
            attester,
            new SecureRandom(),
            Clock.systemUTC(),
            2,
            new EnclaveMetrics());
    idleEnclave =
        EnclaveServer.start(
            Endpoint.parse("tcp://127.0.0.1:0"),
            new InMemoryKeySets(),
            attester,
            new SecureRandom(),
            Clock.systemUTC(),
            1,
            new EnclaveMetrics());
    store = new FailingStore(SqliteArtefactStore.open(dir.resolve("store.db")));
    host = startHost(enclave.endpoint(), store);
    assertThat(host.awaitReady(Duration.ofSeconds(20))).isTrue();
    keySet = keys.current().orElseThrow();
    a = Recipient.generate();
    b = Recipient.generate();
    assertThat(post(base(host) + "/v1/recipients", a.registration(base(host))).statusCode())
        .isEqualTo(201);
    assertThat(post(base(host) + "/v1/recipients", b.registration(base(host))).statusCode())
        .isEqualTo(201);
    // a host that was ready, then lost its enclave
    EnclaveServer gone =
        EnclaveServer.start(
            Endpoint.parse("tcp://127.0.0.1:0"),
            new InMemoryKeySets(),
            attester,
            new SecureRandom(),
            Clock.systemUTC(),
            1,
            new EnclaveMetrics());
    orphanHost = startHost(gone.endpoint(), SqliteArtefactStore.open(dir.resolve("orphan.db")));
    assertThat(orphanHost.awaitReady(Duration.ofSeconds(20))).isTrue();
    gone.close();
  }

  HostProxy startHost(Endpoint ep, dev.keycast.host.store.ArtefactStore s) throws Exception {
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
    HostProxy h =
        new HostProxy(
            cfg,
            s,
            "test",
            new StaticCredentials("AKID", "s", null),
            Clock.systemUTC(),
            dev.keycast.host.server.UploadLimits.defaults(),
            HostTestSupport.senderSettings(dir.resolve("senders-" + System.nanoTime())));
    h.start();
    return h;
  }

  @AfterAll
  void stop() throws Exception {
    orphanHost.shutdown();
    host.shutdown();
    enclave.close();
    idleEnclave.close();
  }

  /** One row: what to send, and the code the table promises for it. */
  interface Call {
    Answer call(ErrorTableTest t) throws Exception;
  }

  record Answer(int status, byte[] body) {}

  record Row(String name, ErrorCode code, Call call) {
    @Override
    public String toString() {
      return code.code() + ": " + name;
    }
  }

  static List<Row> rows() {
    List<Row> r = new ArrayList<>();
    r.add(
        new Row(
            "send body is not JSON",
            ErrorCode.MALFORMED_REQUEST,
            t -> t.hostPost("/v1/sends", "{".getBytes(StandardCharsets.UTF_8))));
    r.add(
        new Row(
            "send payload lacks fields",
            ErrorCode.MALFORMED_REQUEST,
            t -> t.hostPost("/v1/sends", "{\"version\":1}".getBytes(StandardCharsets.UTF_8))));
    r.add(
        new Row(
            "send payload with bad base64url",
            ErrorCode.MALFORMED_REQUEST,
            t -> t.hostPost("/v1/sends", Json.encode(t.withCiphertext(t.goodPayload(), "!!")))));
    r.add(
        new Row(
            "recipient registration is not JSON",
            ErrorCode.MALFORMED_REQUEST,
            t -> t.hostPost("/v1/recipients", "[]".getBytes(StandardCharsets.UTF_8))));
    r.add(
        new Row(
            "ciphertext altered",
            ErrorCode.DECRYPTION_FAILED,
            t -> {
              EnclaveApi.SendPayload p = t.goodPayload();
              byte[] ct = Base64Url.decode("c", p.ciphertext(), 1 << 20);
              ct[ct.length - 1] ^= 1;
              // signed as altered: the sender's signature holds, HPKE does not
              return t.hostPost(
                  "/v1/sends",
                  Json.encode(HostTestSupport.signed(t.withCiphertext(p, Base64Url.encode(ct)))));
            }));
    r.add(
        new Row(
            "policy altered (it is the AAD)",
            ErrorCode.DECRYPTION_FAILED,
            t -> {
              EnclaveApi.SendPayload p = t.goodPayload();
              SendPolicy other = t.policy(List.of(t.a.fingerprint(), t.b.fingerprint()), 1000, 0);
              return t.hostPost(
                  "/v1/sends",
                  Json.encode(
                      HostTestSupport.signed(
                          new EnclaveApi.SendPayload(
                              p.version(),
                              p.suite(),
                              p.keySetId(),
                              Base64Url.encode(other.toJson()),
                              p.enc(),
                              p.ciphertext()))));
            }));
    // sender identity (issue 23): what a host passes on that no admitted sender signed
    r.add(
        new Row(
            "send without a sender signature",
            ErrorCode.SENDER_REQUIRED,
            t -> t.hostPost("/v1/sends", Json.encode(t.goodPayload().withSender(null)))));
    r.add(
        new Row(
            "send signed by a key the sender set does not hold",
            ErrorCode.SENDER_UNKNOWN,
            t -> {
              var stranger =
                  dev.keycast.protocol.sender.SenderSigningKey.generate(new SecureRandom());
              return t.hostPost(
                  "/v1/sends",
                  Json.encode(
                      dev.keycast.protocol.sender.SendSigner.sign(
                          t.goodPayload(), stranger, Instant.now())));
            }));
    r.add(
        new Row(
            "policy altered after the sender signed",
            ErrorCode.SENDER_SIGNATURE_INVALID,
            t -> {
              EnclaveApi.SendPayload p = t.goodPayload();
              SendPolicy other = t.policy(List.of(t.a.fingerprint(), t.b.fingerprint()), 1000, 0);
              return t.hostPost(
                  "/v1/sends",
                  Json.encode(
                      new EnclaveApi.SendPayload(
                          p.version(),
                          p.suite(),
                          p.keySetId(),
                          Base64Url.encode(other.toJson()),
                          p.enc(),
                          p.ciphertext(),
                          p.sender())));
            }));
    r.add(
        new Row(
            "send signed ten minutes ago",
            ErrorCode.SENDER_TIMESTAMP_OUT_OF_WINDOW,
            t ->
                t.hostPost(
                    "/v1/sends",
                    Json.encode(
                        dev.keycast.protocol.sender.SendSigner.sign(
                            t.goodPayload(),
                            HostTestSupport.SENDER,
                            Instant.now().minusSeconds(600))))));
    r.add(
        new Row(
            "sender-set update signed by a sender, not an owner",
            ErrorCode.OWNER_SIGNATURE_INVALID,
            t ->
                t.hostPost(
                    "/v1/senders",
                    Json.encode(t.senderUpdate(HostTestSupport.SENDER, 1).toJson()))));
    r.add(
        new Row(
            "sender-set update that does not raise the version",
            ErrorCode.SENDER_SET_STALE,
            t ->
                t.hostPost(
                    "/v1/senders",
                    Json.encode(t.senderUpdate(HostTestSupport.OWNER, 0).toJson()))));
    r.add(
        new Row(
            "sender-set update that is no sender set",
            ErrorCode.SENDER_SET_INVALID,
            t ->
                t.hostPost(
                    "/v1/senders",
                    ("{\"key_set_id\":\""
                            + t.keySet.id()
                            + "\",\"sender_set\":\"AAAA\",\"owner\":\"AAAA\",\"signature\":\"AAAA\"}")
                        .getBytes(StandardCharsets.UTF_8))));
    r.add(
        new Row(
            "a second genesis of the sender set",
            ErrorCode.SENDER_SET_GENESIS_REFUSED,
            t ->
                t.enclavePost(
                    t.enclave,
                    "/v1/senders/genesis",
                    Json.encode(
                        new EnclaveApi.SenderGenesisRequest(
                            List.of(Base64Url.encode(HostTestSupport.SENDER.publicKey().raw())),
                            List.of())))));
    r.add(
        new Row(
            "payload version 2",
            ErrorCode.UNSUPPORTED_VERSION,
            t -> {
              EnclaveApi.SendPayload p = t.goodPayload();
              return t.hostPost(
                  "/v1/sends",
                  Json.encode(
                      new EnclaveApi.SendPayload(
                          2, p.suite(), p.keySetId(), p.policy(), p.enc(), p.ciphertext())));
            }));
    r.add(
        new Row(
            "unknown suite",
            ErrorCode.UNSUPPORTED_VERSION,
            t -> {
              EnclaveApi.SendPayload p = t.goodPayload();
              return t.hostPost(
                  "/v1/sends",
                  Json.encode(
                      new EnclaveApi.SendPayload(
                          1,
                          "DHKEM(X25519,HKDF-SHA256)/HKDF-SHA256/ChaCha20Poly1305",
                          p.keySetId(),
                          p.policy(),
                          p.enc(),
                          p.ciphertext())));
            }));
    r.add(
        new Row(
            "payload names another key set",
            ErrorCode.WRONG_KEY_SET,
            t -> {
              EnclaveApi.SendPayload p = t.goodPayload();
              String other = KeySet.generate(new SecureRandom()).id();
              return t.hostPost(
                  "/v1/sends",
                  Json.encode(
                      new EnclaveApi.SendPayload(
                          1, p.suite(), other, p.policy(), p.enc(), p.ciphertext())));
            }));
    r.add(
        new Row(
            "init of an enclave that holds a key set",
            ErrorCode.ALREADY_INITIALIZED,
            t ->
                t.enclavePost(
                    t.enclave,
                    "/v1/keyset/init",
                    Json.encode(
                        new EnclaveApi.InitRequest("alias/k", "eu-west-1", t.credentials())))));
    r.add(
        new Row(
            "unknown delivery",
            ErrorCode.NOT_FOUND,
            t -> t.hostGetAs("/v1/deliveries/" + "0".repeat(32), t.a.session(base(t.host)))));
    r.add(
        new Row(
            "a session for a recipient never registered (its key's owner asks)",
            ErrorCode.NOT_FOUND,
            t -> {
              Recipient unknown = Recipient.generate();
              var c = unknown.challenge(base(t.host));
              return t.hostPost(
                  "/v1/recipients/" + unknown.fingerprint() + "/sessions",
                  Json.encode(
                      new dev.keycast.protocol.api.RecipientProof.SessionRequest(
                          c.token(),
                          dev.keycast.protocol.api.RecipientProof.openX25519(unknown.key(), c))));
            }));
    r.add(new Row("unknown path", ErrorCode.NOT_FOUND, t -> t.hostGet("/v1/nothing-here")));
    r.add(
        new Row(
            "unknown enclave path",
            ErrorCode.NOT_FOUND,
            t -> t.enclaveRaw(t.enclave, "GET", "/v1/nothing-here", new byte[0])));
    r.add(
        new Row(
            "DELETE /v1/sends",
            ErrorCode.METHOD_NOT_ALLOWED,
            t -> t.hostRaw("DELETE", "/v1/sends")));
    r.add(
        new Row("GET /v1/sends", ErrorCode.METHOD_NOT_ALLOWED, t -> t.hostRaw("GET", "/v1/sends")));
    r.add(
        new Row(
            "PUT on the enclave's /v1/send",
            ErrorCode.METHOD_NOT_ALLOWED,
            t -> t.enclaveRaw(t.enclave, "PUT", "/v1/send", new byte[0])));
    r.add(
        new Row(
            "send declared over 64 MiB",
            ErrorCode.PAYLOAD_TOO_LARGE,
            t -> t.declaredLength(t.hostPort(), "/v1/sends", 64L * 1024 * 1024 + 1)));
    r.add(
        new Row(
            "enclave send declared over 1 GiB",
            ErrorCode.PAYLOAD_TOO_LARGE,
            t ->
                t.declaredLength(
                    ((TcpEndpoint) t.enclave.endpoint()).port(),
                    "/v1/send",
                    1024L * 1024 * 1024 + 1)));
    r.add(
        new Row(
            "enclave request read whole declared over 256 MiB",
            ErrorCode.PAYLOAD_TOO_LARGE,
            t ->
                t.declaredLength(
                    ((TcpEndpoint) t.enclave.endpoint()).port(),
                    "/v1/forward",
                    256L * 1024 * 1024 + 1)));
    r.add(
        new Row(
            "sealed policy is not a policy",
            ErrorCode.INVALID_POLICY,
            t ->
                t.hostPost(
                    "/v1/sends", Json.encode(t.sealed("{}".getBytes(StandardCharsets.UTF_8))))));
    r.add(
        new Row(
            "policy window in the past",
            ErrorCode.POLICY_NOT_VALID_NOW,
            t ->
                t.hostPost(
                    "/v1/sends",
                    Json.encode(
                        t.sealed(t.policy(List.of(t.a.fingerprint()), 1000, -3).toJson())))));
    r.add(
        new Row(
            "two eligible recipients, policy allows one",
            ErrorCode.TOO_MANY_RECIPIENTS,
            t ->
                t.hostPost(
                    "/v1/sends",
                    Json.encode(
                        t.sealed(
                            t.policy(List.of(t.a.fingerprint(), t.b.fingerprint()), 1, 0)
                                .toJson())))));
    r.add(
        new Row(
            "recipient key is not a key",
            ErrorCode.INVALID_RECIPIENT,
            t ->
                t.hostPost(
                    "/v1/recipients",
                    Json.encode(
                        new dev.keycast.protocol.api.HostApi.RegisterRecipient(
                            Base64Url.encode(new byte[44]), Map.of("name", "x"), null, null)))));
    r.add(
        new Row(
            "registration without a proof of possession",
            ErrorCode.PROOF_REQUIRED,
            t ->
                t.hostPost(
                    "/v1/recipients",
                    Json.encode(
                        new dev.keycast.protocol.api.HostApi.RegisterRecipient(
                            Recipient.generate().spki(), Map.of(), null, null)))));
    r.add(
        new Row(
            "registration with a token that is not the host's",
            ErrorCode.PROOF_INVALID,
            t ->
                t.hostPost(
                    "/v1/recipients",
                    Json.encode(
                        new dev.keycast.protocol.api.HostApi.RegisterRecipient(
                            Recipient.generate().spki(), Map.of(), "AAAA", "AAAA")))));
    r.add(
        new Row(
            "deliveries listed without a session",
            ErrorCode.SESSION_REQUIRED,
            t -> t.hostGet("/v1/recipients/" + t.a.fingerprint() + "/deliveries")));
    r.add(
        new Row(
            "deliveries listed with a token that is not the host's",
            ErrorCode.SESSION_INVALID,
            t -> t.hostGetAs("/v1/recipients/" + t.a.fingerprint() + "/deliveries", "AAAA")));
    r.add(
        new Row(
            "another recipient's deliveries listed with one's own session",
            ErrorCode.FORBIDDEN,
            t ->
                t.hostGetAs(
                    "/v1/recipients/" + t.b.fingerprint() + "/deliveries",
                    t.a.session(base(t.host)))));
    r.add(
        new Row(
            "unseal of bytes that are no sealed key set",
            ErrorCode.SEALED_KEY_SET_INVALID,
            t ->
                t.enclavePost(
                    t.enclave,
                    "/v1/keyset/unseal",
                    Json.encode(
                        new EnclaveApi.UnsealRequest(
                            Base64Url.encode(new byte[64]), "eu-west-1", t.credentials())))));
    r.add(
        new Row(
            "send to an enclave without a key set",
            ErrorCode.NOT_READY,
            t ->
                t.enclavePost(
                    t.idleEnclave,
                    "/v1/send",
                    Json.encode(new EnclaveApi.SendRequest(t.goodPayload(), List.of())))));
    r.add(
        new Row(
            "send through a host whose enclave is gone",
            ErrorCode.ENCLAVE_UNAVAILABLE,
            t ->
                t.raw(
                    ((TcpEndpoint) t.orphanHost.publicEndpoint()).port(),
                    "POST",
                    "/v1/sends",
                    Json.encode(t.goodPayload()))));
    r.add(
        new Row(
            "store cannot write the send",
            ErrorCode.STORE_UNAVAILABLE,
            t ->
                t.withStoreFailing(
                    StoreException.Code.STORE_UNAVAILABLE,
                    u -> u.hostPost("/v1/sends", Json.encode(u.goodPayload())))));
    r.add(
        new Row(
            "store is full",
            ErrorCode.STORE_FULL,
            t ->
                t.withStoreFailing(
                    StoreException.Code.STORE_FULL,
                    u -> u.hostPost("/v1/sends", Json.encode(u.goodPayload())))));
    return r;
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("rows")
  void eachRowAnswersItsStatusAndCodeAndStoresNothing(Row row) throws Exception {
    Map<String, Long> before = storeRows();
    Answer ans = row.call.call(this);
    String text = new String(ans.body(), StandardCharsets.UTF_8);
    assertThat(ans.status()).as(text).isEqualTo(row.code.status());
    JsonNode body = MAPPER.readTree(ans.body());
    assertThat(body.path("error").asText()).as(text).isEqualTo(row.code.code());
    assertThat(body.path("message").asText()).as(text).isNotBlank();
    assertThat(storeRows()).as("store rows after " + row).isEqualTo(before);
  }

  /** The store check can fail: a good send does change the rows it compares. */
  @Test
  void aGoodSendChangesTheRowsTheTableCompares() throws Exception {
    Map<String, Long> before = storeRows();
    assertThat(hostPost("/v1/sends", Json.encode(goodPayload())).status()).isEqualTo(200);
    assertThat(storeRows()).isNotEqualTo(before);
  }

  /**
   * Every code of {@link ErrorCode} has a row above, except the ones whose trigger is outside what
   * a test can provoke through a socket here, each with the reason (testing.md repeats them).
   */
  @Test
  void everyCodeOfTheTableIsDrivenOrItsAbsenceExplained() {
    Set<ErrorCode> driven = EnumSet.noneOf(ErrorCode.class);
    rows().forEach(r -> driven.add(r.code));
    Set<ErrorCode> explained =
        EnumSet.of(
            ErrorCode
                .POLICY_MISMATCH, // enclave /v1/forward only, built by the host: EnclaveServerTest
            ErrorCode.KMS_ACCESS_DENIED,
            ErrorCode.KMS_UNAVAILABLE,
            ErrorCode.KMS_ERROR, // KmsKeySetServiceTest
            ErrorCode.IMAGE_APPROVAL_REFUSED,
            ErrorCode
                .SUCCESSOR_KEY_REFUSED, // re-wrap: KeySetUpgradeTest, EnclaveUpgradeEndToEndTest
            ErrorCode
                .OVERLOADED, // upload budget spent: SlowUploadsTest; full queue or pool wait: not
            // driven
            ErrorCode.REQUEST_TIMEOUT, // an upload slower than the minimum rate: SlowUploadsTest
            ErrorCode.SESSION_EXPIRED, // needs the host's clock 15 min on: RecipientAuthAttacksTest
            ErrorCode
                .SENDER_SET_MISSING, // a ready key set without a sender set: SenderIdentityTest
            ErrorCode.SENDER_RATE_LIMITED,
            ErrorCode.SENDER_IN_FLIGHT_LIMITED, // per-sender limits, each
            ErrorCode.SENDER_QUOTA_EXCEEDED, // on a host with its own limits: SenderQuotasTest
            ErrorCode.INVALID_CONTENT_KEYS,
            ErrorCode.KDM_SIGNER_WINDOW,
            ErrorCode.KDM_SIGNER_UNAVAILABLE, // KdmSendTest
            // distributor-CA signer import, needs the real key set service: KdmSignerImportTest,
            // KdmSignerImportHostTest
            ErrorCode.KDM_SIGNER_CHAIN_KEY_MISMATCH,
            ErrorCode.KDM_SIGNER_CHAIN_INVALID,
            // DKDM ingest needs an enclave with a KDM signer and xmlsec1-signed DKDMs:
            // DkdmIngestTest, DkdmIngestHostTest
            ErrorCode.DKDM_MALFORMED,
            ErrorCode.DKDM_SIGNATURE_INVALID,
            ErrorCode.DKDM_SIGNER_UNTRUSTED,
            ErrorCode.DKDM_WRONG_RECIPIENT,
            ErrorCode.DKDM_BLOCK_MALFORMED,
            ErrorCode.DKDM_WINDOW_PAST,
            // legacy DKDM keys and bookings need such an enclave too: LegacyDkdmKeyTest,
            // BookingTest,
            // BookingHostTest, BookingVectorsTest (each code of wire-format.md 11.3 has its vector)
            ErrorCode.DKDM_KEY_INVALID,
            ErrorCode.DKDM_KEY_MISMATCH,
            ErrorCode.RULES_INVALID,
            ErrorCode.RULES_DKDM_MISMATCH,
            ErrorCode.RULES_NOT_FOUND,
            ErrorCode.DKDM_NOT_FOUND,
            ErrorCode.BOOKING_INVALID,
            ErrorCode.BOOKING_OUTSIDE_DKDM_WINDOW,
            ErrorCode.BOOKING_AFTER_LATEST_END,
            ErrorCode.BOOKING_WINDOW_TOO_LONG,
            ErrorCode.BOOKING_WINDOW_PAST,
            ErrorCode.BOOKING_OVER_CAP,
            ErrorCode.BOOKING_KDM_NOT_ALLOWED,
            ErrorCode.MAIL_NOT_CONFIGURED, // a host without --smtp-host: KdmMailHostTest
            // a retry meeting a failed attempt's objects in an S3 store: SendRacesTest, S3FaultIT
            ErrorCode.SEND_CONFLICT,
            ErrorCode.INTERNAL); // a bug by definition
    Set<ErrorCode> all = EnumSet.allOf(ErrorCode.class);
    all.removeAll(driven);
    assertThat(all).isEqualTo(explained);
  }

  // ---- requests

  SendPolicy policy(List<String> fingerprints, int maxRecipients, int daysShift) {
    Instant now = Instant.now().truncatedTo(ChronoUnit.SECONDS).plus(daysShift, ChronoUnit.DAYS);
    return new SendPolicy(
        SendPolicy.VERSION,
        "error-table-" + System.nanoTime(),
        "tests",
        now.minusSeconds(60),
        now.plus(Duration.ofDays(1)),
        new SendPolicy.RecipientSelector(fingerprints, null, null),
        false,
        maxRecipients,
        null);
  }

  EnclaveApi.SendPayload goodPayload() throws Exception {
    return sealed(policy(List.of(a.fingerprint()), 1000, 0).toJson());
  }

  EnclaveApi.SendPayload sealed(byte[] policyBytes) throws Exception {
    var c =
        dev.keycast.protocol.hpke.Hpke.seal(
            dev.keycast.protocol.hpke.HpkeSuite.KEYCAST_V1,
            keySet.receivePublicKey(),
            FakeEnclave.info(keySet.id()),
            policyBytes,
            "table secret".getBytes(StandardCharsets.UTF_8));
    return HostTestSupport.signed(
        new EnclaveApi.SendPayload(
            1,
            EnclaveApi.SUITE_V1,
            keySet.id(),
            Base64Url.encode(policyBytes),
            Base64Url.encode(c.enc()),
            Base64Url.encode(c.ciphertext())));
  }

  /** {@code p} with another ciphertext, unsigned (re-sign it to get past the sender check). */
  EnclaveApi.SendPayload withCiphertext(EnclaveApi.SendPayload p, String ct) {
    return new EnclaveApi.SendPayload(
        p.version(), p.suite(), p.keySetId(), p.policy(), p.enc(), ct);
  }

  /** An update of the sender set in force to its version + {@code raise}, signed by {@code signer}. */
  dev.keycast.protocol.sender.SenderSetUpdate senderUpdate(
      dev.keycast.protocol.sender.SenderSigningKey signer, int raise) {
    var now = enclave.services().senders().current().orElseThrow();
    return dev.keycast.protocol.sender.SenderSetUpdate.sign(
        keySet.id(),
        new dev.keycast.protocol.sender.SenderSet(
            now.version() + raise, now.owners(), now.senders()),
        signer);
  }

  EnclaveApi.AwsCredentials credentials() {
    return new EnclaveApi.AwsCredentials("AKID", "s", null, null);
  }

  int hostPort() {
    return ((TcpEndpoint) host.publicEndpoint()).port();
  }

  Answer hostPost(String path, byte[] body) throws Exception {
    HttpResponse<byte[]> r = post(base(host) + path, body);
    return new Answer(r.statusCode(), r.body());
  }

  Answer hostGet(String path) throws Exception {
    HttpResponse<byte[]> r = HostTestSupport.get(base(host) + path);
    return new Answer(r.statusCode(), r.body());
  }

  Answer hostGetAs(String path, String sessionToken) throws Exception {
    HttpResponse<byte[]> r = HostTestSupport.get(base(host) + path, sessionToken);
    return new Answer(r.statusCode(), r.body());
  }

  Answer hostRaw(String method, String path) throws Exception {
    HttpResponse<byte[]> r =
        HTTP.send(
            HttpRequest.newBuilder(URI.create(base(host) + path))
                .method(method, HttpRequest.BodyPublishers.noBody())
                .build(),
            HttpResponse.BodyHandlers.ofByteArray());
    return new Answer(r.statusCode(), r.body());
  }

  Answer enclavePost(EnclaveServer e, String path, byte[] body) throws Exception {
    return enclaveRaw(e, "POST", path, body);
  }

  Answer enclaveRaw(EnclaveServer e, String method, String path, byte[] body) throws Exception {
    return raw(((TcpEndpoint) e.endpoint()).port(), method, path, body);
  }

  Answer raw(int port, String method, String path, byte[] body) throws Exception {
    HttpResponse<byte[]> r =
        HTTP.send(
            HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                .header("Content-Type", "application/json")
                .method(method, HttpRequest.BodyPublishers.ofByteArray(body))
                .build(),
            HttpResponse.BodyHandlers.ofByteArray());
    return new Answer(r.statusCode(), r.body());
  }

  /** A request whose Content-Length is over the limit, with no body sent: the answer must come first. */
  Answer declaredLength(int port, String path, long length) throws Exception {
    try (Socket s = new Socket("127.0.0.1", port)) {
      s.setSoTimeout(20_000);
      OutputStream out = s.getOutputStream();
      out.write(
          ("POST "
                  + path
                  + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                  + "Content-Length: "
                  + length
                  + "\r\n\r\n")
              .getBytes(StandardCharsets.US_ASCII));
      out.flush();
      InputStream in = s.getInputStream();
      String head = readHead(in);
      int status = Integer.parseInt(head.split(" ", 3)[1]);
      int n = 0;
      for (String line : head.split("\r\n")) {
        if (line.toLowerCase(java.util.Locale.ROOT).startsWith("content-length:")) {
          n = Integer.parseInt(line.substring(15).trim());
        }
      }
      return new Answer(status, in.readNBytes(n));
    }
  }

  static String readHead(InputStream in) throws java.io.IOException {
    StringBuilder sb = new StringBuilder();
    while (!sb.toString().endsWith("\r\n\r\n")) {
      int c = in.read();
      if (c < 0) {
        throw new java.io.EOFException("connection closed in the response head: " + sb);
      }
      sb.append((char) c);
    }
    return sb.toString();
  }

  Answer withStoreFailing(StoreException.Code code, Call call) throws Exception {
    store.failCommits = code;
    try {
      return call.call(this);
    } finally {
      store.failCommits = null;
    }
  }

  /** Row count of every table of both hosts' SQLite stores. */
  Map<String, Long> storeRows() throws Exception {
    Map<String, Long> out = new TreeMap<>();
    for (String db : List.of("store.db", "orphan.db")) {
      out.putAll(rowsOf(db));
    }
    return out;
  }

  Map<String, Long> rowsOf(String db) throws Exception {
    Map<String, Long> out = new TreeMap<>();
    try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + dir.resolve(db));
        Statement st = c.createStatement()) {
      List<String> tables = new ArrayList<>();
      try (ResultSet rs =
          st.executeQuery(
              "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")) {
        while (rs.next()) {
          tables.add(rs.getString(1));
        }
      }
      for (String t : tables) {
        try (ResultSet rs = st.executeQuery("SELECT count(*) FROM \"" + t + "\"")) {
          rs.next();
          out.put(db + ":" + t, rs.getLong(1));
        }
      }
    }
    assertThat(out).isNotEmpty();
    return out;
  }
}
