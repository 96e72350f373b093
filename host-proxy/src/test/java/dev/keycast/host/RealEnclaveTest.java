package dev.keycast.host;

import static dev.keycast.host.HostTestSupport.base;
import static dev.keycast.host.HostTestSupport.get;
import static dev.keycast.host.HostTestSupport.json;
import static dev.keycast.host.HostTestSupport.policy;
import static dev.keycast.host.HostTestSupport.post;
import static dev.keycast.host.HostTestSupport.text;
import static org.assertj.core.api.Assertions.assertThat;

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
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The host against the real enclave server (in-process, mock attester, in-memory key sealing). */
class RealEnclaveTest {
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
  void sendFetchDecryptReplayLateForwardAndRestart() throws Exception {
    InMemoryKeySets keys = new InMemoryKeySets();
    MockAttester attester = MockAttester.create(dir.resolve("mock-pki"));
    EnclaveServer enclave =
        EnclaveServer.start(
            Endpoint.parse("tcp://127.0.0.1:0"),
            keys,
            attester,
            new SecureRandom(),
            Clock.systemUTC(),
            2,
            new EnclaveMetrics());
    Endpoint ep = enclave.endpoint();
    HostProxy.Config b = HostTestSupport.config(new FakeEnclave(), "alias/k");
    HostProxy.Config cfg =
        new HostProxy.Config(
            ep,
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
            dev.keycast.host.bridge.EnclaveClient.Settings.defaults(ep),
            b.shutdownGrace(),
            b.idleTimeout(),
            b.credentialsRefresh());
    SenderSetKeeper.Settings senders =
        HostTestSupport.senderSettings(dir.resolve("sender-set.bin"));
    HostProxy host =
        new HostProxy(
            cfg,
            SqliteArtefactStore.open(dir.resolve("r.db")),
            "test",
            new StaticCredentials("AKID", "s", null),
            Clock.systemUTC(),
            dev.keycast.host.server.UploadLimits.defaults(),
            senders);
    try {
      host.start();
      assertThat(host.awaitReady(Duration.ofSeconds(20))).isTrue();
      KeySet k = keys.current().orElseThrow();
      assertThat(
              get(base(host) + "/v1/attestation?nonce=" + Base64Url.encode(new byte[8]))
                  .statusCode())
          .isEqualTo(200);

      Recipient a = Recipient.generate();
      HttpResponse<byte[]> reg = post(base(host) + "/v1/recipients", a.registration(base(host)));
      assertThat(reg.statusCode()).as(text(reg)).isEqualTo(201);
      assertThat(json(reg, HostApi.Recipient.class).kind()).isEqualTo("x25519");
      Recipient late = Recipient.generate();

      byte[] body =
          send(
              k,
              policy("real-1", List.of(a.fingerprint(), late.fingerprint()), true),
              "real secret");
      HttpResponse<byte[]> r = post(base(host) + "/v1/sends", body);
      assertThat(r.statusCode()).as(text(r)).isEqualTo(200);
      HostApi.SendResult first = json(r, HostApi.SendResult.class);
      assertThat(first.delivered()).hasSize(1);
      HostApi.SendResult again =
          json(post(base(host) + "/v1/sends", body), HostApi.SendResult.class);
      assertThat(again.replayed()).isTrue();
      assertThat(again.delivered())
          .extracting(HostApi.DeliverySummary::deliveryId)
          .containsExactly(first.delivered().get(0).deliveryId());
      byte[] env =
          a.getAuthorized(base(host), "/v1/deliveries/" + first.delivered().get(0).deliveryId())
              .body();
      assertThat(
              new String(
                  HpkeDeliveryFormat.INSTANCE.open(a.key(), env).secret(), StandardCharsets.UTF_8))
          .isEqualTo("real secret");

      HttpResponse<byte[]> lateReg =
          post(base(host) + "/v1/recipients", late.registration(base(host)));
      assertThat(lateReg.statusCode()).as(text(lateReg)).isEqualTo(201);
      assertThat(json(lateReg, HostApi.Recipient.class).lateDeliveries()).isEqualTo(1);
      HostApi.DeliveryPage page =
          json(
              late.getAuthorized(
                  base(host), "/v1/recipients/" + late.fingerprint() + "/deliveries"),
              HostApi.DeliveryPage.class);
      byte[] lateEnv =
          late.getAuthorized(base(host), "/v1/deliveries/" + page.deliveries().get(0).deliveryId())
              .body();
      assertThat(
              new String(
                  HpkeDeliveryFormat.INSTANCE.open(late.key(), lateEnv).secret(),
                  StandardCharsets.UTF_8))
          .isEqualTo("real secret");

      // a bad payload: the enclave's typed error is relayed
      byte[] tampered = send(k, policy("real-2", List.of(a.fingerprint()), false), "x");
      EnclaveApi.SendPayload p = Json.decode(tampered, 1 << 20, EnclaveApi.SendPayload.class);
      byte[] ct = Base64Url.decode("c", p.ciphertext(), 1 << 20);
      ct[0] ^= 1;
      EnclaveApi.SendPayload altered =
          new EnclaveApi.SendPayload(
              1, p.suite(), p.keySetId(), p.policy(), p.enc(), Base64Url.encode(ct), p.sender());
      // altered after the sender signed: refused (issue 23), and nothing is stored
      HttpResponse<byte[]> unsigned = post(base(host) + "/v1/sends", Json.encode(altered));
      assertThat(unsigned.statusCode()).as(text(unsigned)).isEqualTo(401);
      assertThat(text(unsigned)).contains("sender_signature_invalid");
      HttpResponse<byte[]> bad =
          post(base(host) + "/v1/sends", Json.encode(HostTestSupport.signed(altered)));
      assertThat(bad.statusCode()).isEqualTo(400);
      assertThat(text(bad)).contains("decryption_failed");

      // restart host and enclave state: the stored sealed key set is unsealed
      host.shutdown();
      keys.forget();
      host =
          new HostProxy(
              cfg,
              SqliteArtefactStore.open(dir.resolve("r.db")),
              "test",
              new StaticCredentials("AKID", "s", null),
              Clock.systemUTC(),
              dev.keycast.host.server.UploadLimits.defaults(),
              senders);
      host.start();
      assertThat(host.awaitReady(Duration.ofSeconds(20))).isTrue();
      assertThat(json(post(base(host) + "/v1/sends", body), HostApi.SendResult.class).replayed())
          .isTrue();
      // issue 23: the unsealed enclave got its sender set back from the host's sealed copy
      EnclaveApi.SenderSetView view =
          json(get(base(host) + "/v1/senders"), EnclaveApi.SenderSetView.class);
      assertThat(view.senderFingerprints())
          .containsExactly(HostTestSupport.SENDER.publicKey().fingerprint());
      assertThat(view.sealedSenderSet()).isNull();
      HttpResponse<byte[]> afterRestart =
          post(
              base(host) + "/v1/sends",
              send(k, policy("real-3", List.of(a.fingerprint()), false), "after the restart"));
      assertThat(afterRestart.statusCode()).as(text(afterRestart)).isEqualTo(200);
    } finally {
      host.shutdown();
      enclave.close();
    }
  }
}
