package dev.keycast.host;

import static dev.keycast.host.HostTestSupport.base;
import static dev.keycast.host.HostTestSupport.get;
import static dev.keycast.host.HostTestSupport.json;
import static dev.keycast.host.HostTestSupport.policy;
import static dev.keycast.host.HostTestSupport.post;
import static dev.keycast.host.HostTestSupport.text;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.keycast.enclave.server.EnclaveMetrics;
import dev.keycast.enclave.server.EnclaveServer;
import dev.keycast.host.HostTestSupport.Recipient;
import dev.keycast.host.egress.StaticCredentials;
import dev.keycast.host.store.SqliteArtefactStore;
import dev.keycast.mock.nitro.MockAttester;
import dev.keycast.protocol.Base64Url;
import dev.keycast.protocol.Json;
import dev.keycast.protocol.api.EnclaveApi;
import dev.keycast.protocol.api.HostApi;
import dev.keycast.protocol.envelope.HpkeDeliveryFormat;
import dev.keycast.protocol.hpke.Hpke;
import dev.keycast.protocol.hpke.HpkeCiphertext;
import dev.keycast.protocol.hpke.HpkeSuite;
import dev.keycast.protocol.keyset.KeySet;
import dev.keycast.protocol.policy.SendPolicy;
import dev.keycast.transport.Endpoint;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 28's fault campaign, enclave SIGKILL: an enclave whose process dies and comes back holds
 * no key set. The host that keeps running must notice it and unseal the stored key set into the
 * new enclave (and hand back the sender set) by itself: before the fix it kept answering every
 * send with {@code 503 not_ready} until someone restarted the host.
 */
class EnclaveRestartTest {
  @TempDir Path dir;

  private static byte[] send(KeySet k, SendPolicy policy, String secret) throws Exception {
    byte[] policyBytes = policy.toJson();
    HpkeCiphertext c =
        Hpke.seal(
            HpkeSuite.KEYCAST_V1,
            k.receivePublicKey(),
            FakeEnclave.info(k.id()),
            policyBytes,
            secret.getBytes(StandardCharsets.UTF_8));
    return Json.encode(
        HostTestSupport.signed(
            new EnclaveApi.SendPayload(
                1,
                EnclaveApi.SUITE_V1,
                k.id(),
                Base64Url.encode(policyBytes),
                Base64Url.encode(c.enc()),
                Base64Url.encode(c.ciphertext()))));
  }

  @Test
  void enclaveKilledAndRestartedIsUnsealedAgainByTheRunningHost() throws Exception {
    InMemoryKeySets keys = new InMemoryKeySets();
    MockAttester attester = MockAttester.create(dir.resolve("mock-pki"));
    Endpoint listen = Endpoint.parse("unix:" + dir.resolve("enclave.sock"));
    EnclaveServer enclave = startEnclave(listen, keys, attester);
    HostProxy.Config b = HostTestSupport.config(new FakeEnclave(), "alias/k");
    HostProxy.Config cfg =
        new HostProxy.Config(
            listen,
            b.listen(),
            b.admin(),
            b.region(),
            "alias/k",
            null,
            null,
            null,
            null,
            null,
            null,
            dev.keycast.host.bridge.EnclaveClient.Settings.defaults(listen),
            b.shutdownGrace(),
            b.idleTimeout(),
            b.credentialsRefresh());
    HostProxy host =
        new HostProxy(
            cfg,
            SqliteArtefactStore.open(dir.resolve("r.db")),
            "test",
            new StaticCredentials("AKID", "s", null),
            Clock.systemUTC(),
            dev.keycast.host.server.UploadLimits.defaults(),
            HostTestSupport.senderSettings(dir.resolve("sender-set.bin")));
    try {
      host.start();
      assertThat(host.awaitReady(Duration.ofSeconds(20))).isTrue();
      KeySet k = keys.current().orElseThrow();
      Recipient a = Recipient.generate();
      HttpResponse<byte[]> reg = post(base(host) + "/v1/recipients", a.registration(base(host)));
      assertThat(reg.statusCode()).as(text(reg)).isEqualTo(201);
      HttpResponse<byte[]> before =
          post(
              base(host) + "/v1/sends",
              send(k, policy("before", List.of(a.fingerprint()), false), "before the kill"));
      assertThat(before.statusCode()).as(text(before)).isEqualTo(200);

      // The enclave process dies (its server and every key in its memory) and a new one starts on
      // the same address: a fresh server over a key service that holds nothing.
      enclave.close();
      keys.forget();
      enclave = startEnclave(listen, keys, attester);

      byte[] after = send(k, policy("after", List.of(a.fingerprint()), false), "after the kill");
      AtomicReference<HttpResponse<byte[]>> last = new AtomicReference<>();
      await("a send acknowledged after the enclave restart, without a host restart")
          .atMost(Duration.ofSeconds(30))
          .pollInterval(Duration.ofMillis(100))
          .until(
              () -> {
                last.set(post(base(host) + "/v1/sends", after));
                return last.get().statusCode() == 200;
              });
      HostApi.SendResult r = json(last.get(), HostApi.SendResult.class);
      assertThat(r.delivered()).hasSize(1);
      assertThat(keys.current()).as("the new enclave holds the same key set").isPresent();
      assertThat(keys.current().orElseThrow().id()).isEqualTo(k.id());
      byte[] env =
          a.getAuthorized(base(host), "/v1/deliveries/" + r.delivered().get(0).deliveryId()).body();
      assertThat(
              new String(
                  HpkeDeliveryFormat.INSTANCE.open(a.key(), env).secret(), StandardCharsets.UTF_8))
          .isEqualTo("after the kill");
      // the sender set came back with the unseal (issue 23): the enclave lists the sender
      EnclaveApi.SenderSetView view =
          json(get(base(host) + "/v1/senders"), EnclaveApi.SenderSetView.class);
      assertThat(view.senderFingerprints())
          .containsExactly(HostTestSupport.SENDER.publicKey().fingerprint());
      assertThat(json(get(base(host) + "/v1/ready"), EnclaveApi.Readiness.class).ready()).isTrue();
    } finally {
      host.shutdown();
      enclave.close();
    }
  }

  private static EnclaveServer startEnclave(
      Endpoint listen, InMemoryKeySets keys, MockAttester attester) throws Exception {
    return EnclaveServer.start(
        listen, keys, attester, new SecureRandom(), Clock.systemUTC(), 2, new EnclaveMetrics());
  }
}
