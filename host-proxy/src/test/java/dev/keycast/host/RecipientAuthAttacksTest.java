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
import dev.keycast.protocol.api.RecipientProof;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.KeyPair;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Attacks by third parties on recipient registration and fetching (issue 23), each over real HTTP
 * against a host with a real SQLite store: every one fails without its defence.
 */
class RecipientAuthAttacksTest {
  @TempDir Path dir;
  FakeEnclave enclave;
  SqliteArtefactStore sqlite;
  HostProxy host;
  final MovableClock clock = new MovableClock();

  /** The system clock plus an offset the test moves forward. */
  static final class MovableClock extends Clock {
    private volatile Duration offset = Duration.ZERO;

    void advance(Duration d) {
      offset = offset.plus(d);
    }

    @Override
    public ZoneId getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(ZoneId zone) {
      return this;
    }

    @Override
    public Instant instant() {
      return Instant.now().plus(offset);
    }
  }

  @BeforeEach
  void setUp() throws Exception {
    enclave = new FakeEnclave().start();
    sqlite = SqliteArtefactStore.open(dir.resolve("auth.db"));
    host =
        new HostProxy(
            HostTestSupport.config(enclave, "alias/keycast-test"),
            sqlite,
            "test",
            new StaticCredentials("AKIDTEST", "secret-test", null),
            clock);
    host.start();
    assertThat(host.awaitReady(Duration.ofSeconds(10))).isTrue();
  }

  @AfterEach
  void tearDown() throws Exception {
    HostTestSupport.stop(host, enclave);
  }

  private String base() {
    return HostTestSupport.base(host);
  }

  private Recipient register() throws Exception {
    Recipient r = Recipient.generate();
    HttpResponse<byte[]> resp = post(base() + "/v1/recipients", r.registration(base()));
    assertThat(resp.statusCode()).as(text(resp)).isEqualTo(201);
    return r;
  }

  private static String error(HttpResponse<byte[]> r) throws Exception {
    return json(r, ErrorBody.class).error();
  }

  /** A send delivering to {@code to}; returns its delivery ids. */
  private List<String> sendTo(Recipient... to) throws Exception {
    List<String> fps = java.util.Arrays.stream(to).map(Recipient::fingerprint).toList();
    HttpResponse<byte[]> r =
        post(
            base() + "/v1/sends",
            Json.encode(
                payload(
                    enclave.keySet(),
                    policy("s-" + System.nanoTime(), fps, false),
                    "s".getBytes(StandardCharsets.UTF_8))));
    assertThat(r.statusCode()).as(text(r)).isEqualTo(200);
    return json(r, HostApi.SendResult.class).delivered().stream()
        .map(HostApi.DeliverySummary::deliveryId)
        .toList();
  }

  @Test
  void registrationSquattingWithoutThePrivateKeyIsRefusedAndStoresNothing() throws Exception {
    Recipient victim = Recipient.generate();
    // no proof at all
    HttpResponse<byte[]> r =
        post(
            base() + "/v1/recipients",
            Json.encode(
                new HostApi.RegisterRecipient(
                    victim.spki(), Map.of("name", "squatter"), null, null)));
    assertThat(r.statusCode()).isEqualTo(401);
    assertThat(error(r)).isEqualTo("proof_required");
    // a challenge for the victim's key, answered with a guess (the attacker cannot open it)
    RecipientProof.Challenge c = victim.challenge(base());
    r =
        post(
            base() + "/v1/recipients",
            Json.encode(
                new HostApi.RegisterRecipient(
                    victim.spki(),
                    Map.of("name", "squatter"),
                    c.token(),
                    dev.keycast.protocol.Base64Url.encode(new byte[32]))));
    assertThat(r.statusCode()).isEqualTo(401);
    assertThat(error(r)).isEqualTo("proof_invalid");
    assertThat(sqlite.findRecipients(List.of(victim.fingerprint()))).isEmpty();
    assertThat(enclave.hits("/v1/recipients/validate")).isZero();
  }

  @Test
  void rsaRegistrationSquattingWithAnotherKeysSignatureIsRefused() throws Exception {
    KeyPair victim = TestCerts.keyPair("RSA", 2048);
    KeyPair attacker = TestCerts.keyPair("RSA", 2048);
    String victimPem = TestCerts.pem("PUBLIC KEY", victim.getPublic().getEncoded());
    // the attacker signs the victim's challenge with its own key
    byte[] forged =
        HostTestSupport.rsaRegistration(base(), victimPem, attacker.getPrivate(), Map.of());
    HttpResponse<byte[]> r = post(base() + "/v1/recipients", forged);
    assertThat(r.statusCode()).isEqualTo(401);
    assertThat(error(r)).isEqualTo("proof_invalid");
    assertThat(sqlite.countRecipients()).isZero();
    // the owner's own signature registers
    r =
        post(
            base() + "/v1/recipients",
            HostTestSupport.rsaRegistration(base(), victimPem, victim.getPrivate(), Map.of()));
    assertThat(r.statusCode()).as(text(r)).isEqualTo(201);
  }

  @Test
  void replayOfAnExpiredProofIsRefused() throws Exception {
    Recipient a = Recipient.generate();
    byte[] old = a.registration(base());
    clock.advance(Duration.ofMinutes(6));
    HttpResponse<byte[]> r = post(base() + "/v1/recipients", old);
    assertThat(r.statusCode()).isEqualTo(401);
    assertThat(error(r)).isEqualTo("proof_invalid");
    assertThat(text(r)).contains("expired");
    assertThat(sqlite.findRecipients(List.of(a.fingerprint()))).isEmpty();
  }

  @Test
  void replayOfAProofForAnotherKeyIsRefused() throws Exception {
    Recipient attacker = Recipient.generate();
    Recipient victim = Recipient.generate();
    // the attacker proves possession of its own key, then presents that proof for the victim's key
    RecipientProof.Challenge own = attacker.challenge(base());
    String proof = RecipientProof.openX25519(attacker.key(), own);
    HttpResponse<byte[]> r =
        post(
            base() + "/v1/recipients",
            Json.encode(
                new HostApi.RegisterRecipient(victim.spki(), Map.of(), own.token(), proof)));
    assertThat(r.statusCode()).isEqualTo(401);
    assertThat(error(r)).isEqualTo("proof_invalid");
    assertThat(sqlite.countRecipients()).isZero();
    // nor does a registration proof open a session of another registered recipient
    register();
    Recipient registered = register();
    r =
        post(
            base() + "/v1/recipients/" + registered.fingerprint() + "/sessions",
            Json.encode(new RecipientProof.SessionRequest(own.token(), proof)));
    assertThat(r.statusCode()).isEqualTo(401);
    assertThat(error(r)).isEqualTo("proof_invalid");
  }

  @Test
  void aRecipientListingAnothersDeliveriesIsForbidden() throws Exception {
    Recipient a = register();
    Recipient b = register();
    sendTo(a, b);
    String tokenOfA = a.session(base());
    HttpResponse<byte[]> r =
        get(base() + "/v1/recipients/" + b.fingerprint() + "/deliveries", tokenOfA);
    assertThat(r.statusCode()).isEqualTo(403);
    assertThat(error(r)).isEqualTo("forbidden");
    r = get(base() + "/v1/recipients/" + b.fingerprint(), tokenOfA);
    assertThat(r.statusCode()).isEqualTo(403);
    // its own listing works with the same token
    r = get(base() + "/v1/recipients/" + a.fingerprint() + "/deliveries", tokenOfA);
    assertThat(r.statusCode()).as(text(r)).isEqualTo(200);
    assertThat(json(r, HostApi.DeliveryPage.class).deliveries())
        .hasSize(1)
        .allMatch(d -> d.recipient().equals(a.fingerprint()));
  }

  @Test
  void downloadingAnotherRecipientsDeliveryByIdWithOnesOwnTokenIsRefused() throws Exception {
    Recipient a = register();
    Recipient b = register();
    List<String> ids = sendTo(b);
    assertThat(ids).hasSize(1);
    HttpResponse<byte[]> r = get(base() + "/v1/deliveries/" + ids.get(0), a.session(base()));
    assertThat(r.statusCode()).isEqualTo(404);
    assertThat(error(r)).isEqualTo("not_found");
    assertThat(b.getAuthorized(base(), "/v1/deliveries/" + ids.get(0)).statusCode()).isEqualTo(200);
  }

  @Test
  void aCrawlByFingerprintWithoutATokenLearnsNothing() throws Exception {
    Recipient a = register();
    List<String> ids = sendTo(a);
    for (String path :
        List.of(
            "/v1/recipients/" + a.fingerprint(),
            "/v1/recipients/" + a.fingerprint() + "/deliveries",
            "/v1/deliveries/" + ids.get(0))) {
      HttpResponse<byte[]> r = get(base() + path);
      assertThat(r.statusCode()).as(path).isEqualTo(401);
      assertThat(error(r)).isEqualTo("session_required");
      assertThat(text(r)).doesNotContain(ids.get(0));
      r = get(base() + path, "not-a-token");
      assertThat(r.statusCode()).as(path).isEqualTo(401);
      assertThat(error(r)).isEqualTo("session_invalid");
    }
  }

  @Test
  void anExpiredSessionTokenIsRefused() throws Exception {
    Recipient a = register();
    String token = a.session(base());
    String path = base() + "/v1/recipients/" + a.fingerprint() + "/deliveries";
    assertThat(get(path, token).statusCode()).isEqualTo(200);
    clock.advance(Duration.ofMinutes(16));
    HttpResponse<byte[]> r = get(path, token);
    assertThat(r.statusCode()).isEqualTo(401);
    assertThat(error(r)).isEqualTo("session_expired");
  }

  @Test
  void aSessionTokenIsNotAChallengeTokenNorTheOtherWayRound() throws Exception {
    Recipient a = register();
    RecipientProof.Challenge c = a.challenge(base());
    HttpResponse<byte[]> r = get(base() + "/v1/recipients/" + a.fingerprint(), c.token());
    assertThat(r.statusCode()).isEqualTo(401);
    assertThat(error(r)).isEqualTo("session_invalid");
  }

  @Test
  void theOwnerReplacesItsRegistrationAndNobodyElseCan() throws Exception {
    Recipient a = register();
    HttpResponse<byte[]> r =
        post(base() + "/v1/recipients", a.registration(base(), Map.of("site", "hall 2")));
    assertThat(r.statusCode()).as(text(r)).isEqualTo(200);
    assertThat(json(r, HostApi.Recipient.class).labels())
        .containsExactly(Map.entry("site", "hall 2"));
    assertThat(sqlite.findRecipients(List.of(a.fingerprint())).get(0).labels())
        .containsExactly(Map.entry("site", "hall 2"));
    r =
        post(
            base() + "/v1/recipients",
            Json.encode(
                new HostApi.RegisterRecipient(a.spki(), Map.of("site", "squatted"), null, null)));
    assertThat(error(r)).isEqualTo("proof_required");
    assertThat(sqlite.findRecipients(List.of(a.fingerprint())).get(0).labels())
        .containsExactly(Map.entry("site", "hall 2"));
  }
}
