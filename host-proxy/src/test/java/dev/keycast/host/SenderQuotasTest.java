package dev.keycast.host;

import static dev.keycast.host.HostTestSupport.base;
import static dev.keycast.host.HostTestSupport.json;
import static dev.keycast.host.HostTestSupport.post;
import static dev.keycast.host.HostTestSupport.text;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.keycast.host.HostTestSupport.Recipient;
import dev.keycast.host.egress.StaticCredentials;
import dev.keycast.host.server.SenderLimits;
import dev.keycast.host.server.UploadLimits;
import dev.keycast.host.store.SqliteArtefactStore;
import dev.keycast.protocol.Base64Url;
import dev.keycast.protocol.Json;
import dev.keycast.protocol.SendIds;
import dev.keycast.protocol.api.EnclaveApi;
import dev.keycast.protocol.api.ErrorBody;
import dev.keycast.protocol.api.ErrorCode;
import dev.keycast.protocol.sender.SendSigner;
import dev.keycast.protocol.sender.SenderSigningKey;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Per-sender rate limits, in-flight caps and daily quotas of {@code POST /v1/sends} (issue 23,
 * {@code SenderQuotas}) on a real host (Netty, SQLite, real sockets) in front of the fake enclave,
 * whose {@code GET /v1/senders} lists the studios' keys. Each refusal is checked for its status,
 * stable code, message and Retry-After, for not reaching the enclave and for storing nothing.
 */
class SenderQuotasTest {
  static final SenderSigningKey STUDIO = HostTestSupport.SENDER;
  static final SenderSigningKey OTHER_STUDIO = SenderSigningKey.generate(HostTestSupport.RANDOM);

  @TempDir Path dir;
  FakeEnclave enclave;
  SqliteArtefactStore store;
  HostProxy host;
  final RecipientAuthAttacksTest.MovableClock clock = new RecipientAuthAttacksTest.MovableClock();
  Recipient a;
  Recipient b;

  void start(SenderLimits limits) throws Exception {
    start(limits, List.of(STUDIO.publicKey(), OTHER_STUDIO.publicKey()));
  }

  void start(SenderLimits limits, List<dev.keycast.protocol.sender.SenderKey> senders)
      throws Exception {
    enclave = new FakeEnclave().start();
    enclave.senders = senders;
    store = SqliteArtefactStore.open(dir.resolve("quotas.db"));
    host =
        new HostProxy(
            HostTestSupport.config(enclave, "alias/k"),
            store,
            "test",
            new StaticCredentials("AKIDTEST", "secret-test", null),
            clock,
            UploadLimits.defaults(),
            SenderSetKeeper.Settings.none(),
            limits);
    host.start();
    assertThat(host.awaitReady(Duration.ofSeconds(10))).isTrue();
    a = register();
    b = register();
  }

  @AfterEach
  void stop() throws Exception {
    HostTestSupport.stop(host, enclave);
  }

  Recipient register() throws Exception {
    Recipient r = Recipient.generate();
    HttpResponse<byte[]> resp = post(base(host) + "/v1/recipients", r.registration(base(host)));
    assertThat(resp.statusCode()).as(text(resp)).isEqualTo(201);
    return r;
  }

  /** A payload to {@code to}, signed by {@code key} at the host's clock. */
  EnclaveApi.SendPayload payload(SenderSigningKey key, Recipient... to) throws Exception {
    List<String> fps = new ArrayList<>();
    for (Recipient r : to) {
      fps.add(r.fingerprint());
    }
    EnclaveApi.SendPayload p =
        HostTestSupport.payload(
            enclave.keySet(),
            HostTestSupport.policy("quota-" + System.nanoTime(), fps, false),
            "secret".getBytes(StandardCharsets.UTF_8));
    return SendSigner.sign(
        p.withSender(null), key, clock.instant().truncatedTo(ChronoUnit.SECONDS));
  }

  HttpResponse<byte[]> send(EnclaveApi.SendPayload p) throws Exception {
    return post(base(host) + "/v1/sends", Json.encode(p));
  }

  void assertSent(EnclaveApi.SendPayload p) throws Exception {
    HttpResponse<byte[]> r = send(p);
    assertThat(r.statusCode()).as(text(r)).isEqualTo(200);
  }

  /** A refusal: status, code, a message, Retry-After when 429, and neither enclave nor store saw it. */
  void assertRefused(EnclaveApi.SendPayload p, ErrorCode code) throws Exception {
    int sendsBefore = enclave.hits("/v1/send");
    HttpResponse<byte[]> r = send(p);
    assertThat(r.statusCode()).as(text(r)).isEqualTo(code.status());
    ErrorBody body = json(r, ErrorBody.class);
    assertThat(body.error()).isEqualTo(code.code());
    assertThat(body.message()).isNotBlank().doesNotContain("\n");
    if (code.status() == 429) {
      long retry = Long.parseLong(r.headers().firstValue("Retry-After").orElseThrow());
      assertThat(retry).isBetween(1L, 86_400L);
    }
    assertThat(enclave.hits("/v1/send"))
        .as("sends that reached the enclave")
        .isEqualTo(sendsBefore);
    assertThat(
            store.getSend(
                SendIds.of(
                    Base64Url.decode("enc", p.enc(), 64),
                    Base64Url.decode("ct", p.ciphertext(), 1 << 20))))
        .isEmpty();
  }

  long refusals(String reason) throws Exception {
    String metrics = text(HostTestSupport.get(base(host) + "/metrics"));
    String prefix = "keycast_host_sender_refusals_total{reason=\"" + reason + "\"} ";
    return metrics
        .lines()
        .filter(l -> l.startsWith(prefix))
        .mapToLong(l -> (long) Double.parseDouble(l.substring(prefix.length())))
        .sum();
  }

  @Test
  void aSenderFloodingSendsIsRateLimited() throws Exception {
    start(new SenderLimits(60, 3, 0, 0)); // one send a second, three at once
    for (int i = 0; i < 3; i++) {
      assertSent(payload(STUDIO, a));
    }
    for (int i = 0; i < 5; i++) {
      assertRefused(payload(STUDIO, a), ErrorCode.SENDER_RATE_LIMITED);
    }
    assertThat(refusals("rate")).isEqualTo(5);
    // the metrics name reasons, never the key that was refused
    String metrics = text(HostTestSupport.get(base(host) + "/metrics"));
    assertThat(metrics)
        .doesNotContain(STUDIO.publicKey().fingerprint())
        .doesNotContain(Base64Url.encode(STUDIO.publicKey().raw()));
    clock.advance(Duration.ofSeconds(1)); // one token back
    assertSent(payload(STUDIO, a));
    assertRefused(payload(STUDIO, a), ErrorCode.SENDER_RATE_LIMITED);
  }

  @Test
  void aRetryOfACommittedSendIsAnsweredWithoutSpendingTheRate() throws Exception {
    start(new SenderLimits(60, 1, 0, 0));
    EnclaveApi.SendPayload p = payload(STUDIO, a);
    assertSent(p);
    HttpResponse<byte[]> retry = send(p);
    assertThat(retry.statusCode()).as(text(retry)).isEqualTo(200);
    assertThat(json(retry, dev.keycast.protocol.api.HostApi.SendResult.class).replayed()).isTrue();
    assertRefused(payload(STUDIO, a), ErrorCode.SENDER_RATE_LIMITED);
  }

  @Test
  void anAttackerNamingAStudioKeyCannotSpendItsQuota() throws Exception {
    start(new SenderLimits(60, 2, 1, 2));
    SenderSigningKey attacker = SenderSigningKey.generate(HostTestSupport.RANDOM);
    for (int i = 0; i < 10; i++) {
      // the studio's public key, a signature the attacker made: garbage over the statement
      EnclaveApi.SendPayload own = payload(attacker, a);
      EnclaveApi.SendPayload forged =
          own.withSender(
              new EnclaveApi.SenderSignature(
                  Base64Url.encode(STUDIO.publicKey().raw()),
                  own.sender().timestamp(),
                  own.sender().signature()));
      assertRefused(forged, ErrorCode.SENDER_SIGNATURE_INVALID);
      // and a real signature of the studio lifted onto another payload
      EnclaveApi.SendPayload lifted = payload(attacker, a).withSender(payload(STUDIO, a).sender());
      assertRefused(lifted, ErrorCode.SENDER_SIGNATURE_INVALID);
    }
    assertThat(refusals("signature_invalid")).isEqualTo(20);
    // the studio's bucket, in-flight slot and day are untouched
    assertSent(payload(STUDIO, a));
    assertSent(payload(STUDIO, a));
  }

  @Test
  void aKeyOutsideTheSenderSetGetsNoBucketOfItsOwn() throws Exception {
    start(new SenderLimits(60, 1, 0, 0));
    for (int i = 0; i < 5; i++) {
      // fresh keys, validly signed: each would get a full bucket if strangers were counted
      assertRefused(
          payload(SenderSigningKey.generate(HostTestSupport.RANDOM), a), ErrorCode.SENDER_UNKNOWN);
    }
    assertThat(refusals("unknown")).isEqualTo(5);
  }

  @Test
  void oneSendersFloodDoesNotStopAnotherSender() throws Exception {
    start(new SenderLimits(60, 2, 0, 0));
    assertSent(payload(STUDIO, a));
    assertSent(payload(STUDIO, a));
    for (int i = 0; i < 5; i++) {
      assertRefused(payload(STUDIO, a), ErrorCode.SENDER_RATE_LIMITED);
    }
    assertSent(payload(OTHER_STUDIO, a));
    assertSent(payload(OTHER_STUDIO, b));
    assertRefused(payload(OTHER_STUDIO, a), ErrorCode.SENDER_RATE_LIMITED);
  }

  @Test
  void aSenderHoldingItsInFlightCapCannotTakeTheRest() throws Exception {
    start(new SenderLimits(0, 0, 2, 0));
    CountDownLatch hold = new CountDownLatch(1);
    enclave.holdSends = hold;
    List<CompletableFuture<HttpResponse<byte[]>>> held = new ArrayList<>();
    try {
      for (int i = 0; i < 2; i++) {
        EnclaveApi.SendPayload p = payload(STUDIO, a);
        held.add(
            CompletableFuture.supplyAsync(
                () -> {
                  try {
                    return send(p);
                  } catch (Exception e) {
                    throw new java.util.concurrent.CompletionException(e);
                  }
                }));
      }
      await().atMost(Duration.ofSeconds(10)).until(() -> enclave.heldSends.get() == 2);
      assertRefused(payload(STUDIO, a), ErrorCode.SENDER_IN_FLIGHT_LIMITED);
      assertThat(refusals("in_flight")).isEqualTo(1);
      // another sender is not held back by the first one's sends
      EnclaveApi.SendPayload other = payload(OTHER_STUDIO, b);
      held.add(
          CompletableFuture.supplyAsync(
              () -> {
                try {
                  return send(other);
                } catch (Exception e) {
                  throw new java.util.concurrent.CompletionException(e);
                }
              }));
      await().atMost(Duration.ofSeconds(10)).until(() -> enclave.heldSends.get() == 3);
    } finally {
      enclave.holdSends = null;
      hold.countDown();
    }
    for (CompletableFuture<HttpResponse<byte[]>> f : held) {
      assertThat(f.get().statusCode()).as(text(f.get())).isEqualTo(200);
    }
    // the slots are free again once the sends are answered
    assertSent(payload(STUDIO, a));
    assertSent(payload(STUDIO, a));
  }

  @Test
  void aSenderPastItsDailyQuotaIsRefusedUntilTheNextUtcDay() throws Exception {
    start(new SenderLimits(0, 0, 0, 3));
    assertSent(payload(STUDIO, a, b)); // 2 deliveries
    assertSent(payload(STUDIO, a)); // 3: the quota is reached
    HttpResponse<byte[]> r = send(payload(STUDIO, b));
    assertThat(r.statusCode()).as(text(r)).isEqualTo(429);
    long retry = Long.parseLong(r.headers().firstValue("Retry-After").orElseThrow());
    Instant midnight = clock.instant().truncatedTo(ChronoUnit.DAYS).plus(Duration.ofDays(1));
    assertThat(retry).isBetween(1L, Duration.between(clock.instant(), midnight).toSeconds() + 2);
    assertRefused(payload(STUDIO, b), ErrorCode.SENDER_QUOTA_EXCEEDED);
    assertThat(refusals("daily_quota")).isEqualTo(2);
    assertSent(payload(OTHER_STUDIO, a)); // another sender's day is its own
    clock.advance(Duration.between(clock.instant(), midnight).plusSeconds(1));
    assertSent(payload(STUDIO, a, b));
  }

  @Test
  void withEveryLimitOffTheHostCountsNothing() throws Exception {
    start(SenderLimits.none());
    EnclaveApi.SendPayload own = payload(OTHER_STUDIO, a);
    // the enclave (here the fake, which does not check senders) is the only judge then
    EnclaveApi.SendPayload forged =
        own.withSender(
            new EnclaveApi.SenderSignature(
                Base64Url.encode(STUDIO.publicKey().raw()),
                own.sender().timestamp(),
                own.sender().signature()));
    for (int i = 0; i < 5; i++) {
      assertSent(i == 0 ? forged : payload(STUDIO, a));
    }
    assertThat(refusals("signature_invalid") + refusals("rate")).isZero();
  }

  @Test
  void aFloodWhileTheEnclaveHasNoSenderSetDoesNotAskItForOneEachTime() throws Exception {
    start(
        new SenderLimits(60, 100, 0, 0),
        List.of()); // no set: the enclave refuses every send itself
    int before = enclave.hits("/v1/senders");
    long t0 = System.nanoTime();
    for (int i = 0; i < 20; i++) {
      send(payload(STUDIO, a)); // the fake accepts sends; the host neither counts nor refuses them
    }
    int seconds = (int) ((System.nanoTime() - t0) / 1_000_000_000L);
    // at most one look-up per second of the flood (and one per cached list expiring), not two per
    // send
    assertThat(enclave.hits("/v1/senders") - before).isLessThanOrEqualTo(2 * (seconds + 2));
  }
}
