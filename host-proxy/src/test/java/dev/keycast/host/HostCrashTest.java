package dev.keycast.host;

import static dev.keycast.host.HostTestSupport.get;
import static dev.keycast.host.HostTestSupport.json;
import static dev.keycast.host.HostTestSupport.payload;
import static dev.keycast.host.HostTestSupport.policy;
import static dev.keycast.host.HostTestSupport.post;
import static org.assertj.core.api.Assertions.assertThat;

import dev.keycast.enclave.server.EnclaveMetrics;
import dev.keycast.enclave.server.EnclaveServer;
import dev.keycast.host.HostTestSupport.Recipient;
import dev.keycast.host.store.SqliteArtefactStore;
import dev.keycast.host.store.StoredDelivery;
import dev.keycast.mock.nitro.MockAttester;
import dev.keycast.protocol.Json;
import dev.keycast.protocol.api.HostApi;
import dev.keycast.protocol.envelope.HpkeDeliveryFormat;
import dev.keycast.transport.Endpoint;
import java.net.ServerSocket;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The host proxy as a separate process ({@code HostProxyMain}, bridged to the real enclave server
 * running in the test JVM), killed with SIGKILL in the middle
 * of a stream of sends and restarted: every send it acknowledged is complete in the store, its
 * deliveries decrypt, and the restarted host serves its receipt.
 */
class HostCrashTest {
  @TempDir Path dir;

  private static int freePort() throws Exception {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  private Process startHost(String enclave, Path db, int port, String logName) throws Exception {
    List<String> cmd =
        new java.util.ArrayList<>(
            List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED",
                "-cp",
                System.getProperty("java.class.path"),
                HostProxyMain.class.getName(),
                "--enclave",
                enclave,
                "--listen",
                "tcp://127.0.0.1:" + port,
                "--admin",
                "none",
                "--store",
                "sqlite:" + db,
                "--region",
                "eu-west-1",
                "--kms-egress-listen",
                "none",
                "--enclave-log-listen",
                "none",
                "--mock",
                "--credentials",
                "static",
                "--access-key-id",
                "AKIDTEST",
                "--secret-access-key",
                "not-a-secret",
                "--init-kms-key-id",
                "alias/crash"));
    cmd.addAll(HostTestSupport.senderFlags(dir)); // issue 23: the sender set, kept across the kill
    return new ProcessBuilder(cmd)
        .redirectErrorStream(true)
        .redirectOutput(dir.resolve(logName).toFile())
        .start();
  }

  private static void awaitReady(String base) {
    // an IOException means not listening yet; Awaitility retries it like a false
    org.awaitility.Awaitility.await()
        .alias("host ready")
        .atMost(java.time.Duration.ofSeconds(30))
        .pollInterval(java.time.Duration.ofMillis(50))
        .ignoreExceptionsInstanceOf(java.io.IOException.class)
        .until(() -> get(base + "/v1/ready").statusCode() == 200);
  }

  @Test
  void everyAcknowledgedSendSurvivesSigkill() throws Exception {
    InMemoryKeySets keys = new InMemoryKeySets();
    try (EnclaveServer enclave =
        EnclaveServer.start(
            Endpoint.parse("tcp://127.0.0.1:0"),
            keys,
            MockAttester.create(dir.resolve("pki")),
            new SecureRandom(),
            Clock.systemUTC(),
            2,
            new EnclaveMetrics())) {
      String enclaveAddress = enclave.endpoint().toString();
      Path db = dir.resolve("crash.db");
      int port = freePort();
      String base = "http://127.0.0.1:" + port;
      Process host = startHost(enclaveAddress, db, port, "host1.log");
      List<HostApi.SendResult> acked = new ArrayList<>();
      Recipient r;
      try {
        awaitReady(base);
        r = Recipient.generate();
        assertThat(post(base + "/v1/recipients", r.registration(base)).statusCode()).isEqualTo(201);

        ConcurrentHashMap<String, HostApi.SendResult> ok = new ConcurrentHashMap<>();
        AtomicBoolean stop = new AtomicBoolean();
        ExecutorService senders = Executors.newVirtualThreadPerTaskExecutor();
        for (int t = 0; t < 4; t++) {
          int thread = t;
          senders.submit(
              () -> {
                for (int i = 0; !stop.get(); i++) {
                  try {
                    byte[] body =
                        Json.encode(
                            payload(
                                keys.current().orElseThrow(),
                                policy("c" + thread + "-" + i, List.of(r.fingerprint()), false),
                                ("secret " + thread + "-" + i).getBytes(StandardCharsets.UTF_8)));
                    HttpResponse<byte[]> resp = post(base + "/v1/sends", body);
                    if (resp.statusCode() == 200) {
                      HostApi.SendResult s = json(resp, HostApi.SendResult.class);
                      ok.put(s.sendId(), s);
                    }
                  } catch (Exception killed) {
                    // the host died under this request: not acknowledged
                  }
                }
                return null;
              });
        }
        org.awaitility.Awaitility.await()
            .atMost(java.time.Duration.ofSeconds(20))
            .pollInterval(java.time.Duration.ofMillis(5))
            .until(() -> ok.size() >= 20);
        host.destroyForcibly(); // SIGKILL on Linux
        host.waitFor(10, TimeUnit.SECONDS);
        stop.set(true);
        senders.shutdown();
        senders.awaitTermination(10, TimeUnit.SECONDS);
        acked.addAll(ok.values());
      } finally {
        host.destroyForcibly();
      }
      assertThat(acked).hasSizeGreaterThanOrEqualTo(20);

      // the store after the crash: every acknowledged send is complete and decrypts
      try (SqliteArtefactStore store = SqliteArtefactStore.open(db)) {
        for (HostApi.SendResult s : acked) {
          assertThat(store.getSend(s.sendId())).as(s.sendId()).isPresent();
          assertThat(store.getReceipt(s.receiptId())).isPresent();
          assertThat(s.delivered()).hasSize(1);
          StoredDelivery d = store.getDelivery(s.delivered().get(0).deliveryId()).orElseThrow();
          byte[] secret =
              HpkeDeliveryFormat.INSTANCE.open(r.key(), d.delivery().envelope()).secret();
          assertThat(new String(secret, StandardCharsets.UTF_8)).startsWith("secret ");
        }
      }

      // restart (the enclave restarted too): unseal, then the receipts are served again
      keys.forget();
      Process again = startHost(enclaveAddress, db, port, "host2.log");
      try {
        awaitReady(base);
        assertThat(keys.unseals.get()).isEqualTo(1);
        for (HostApi.SendResult s : acked) {
          assertThat(r.getAuthorized(base, "/v1/receipts/" + s.receiptId()).statusCode())
              .isEqualTo(200);
        }
      } finally {
        again.destroy();
        assertThat(again.waitFor(20, TimeUnit.SECONDS)).isTrue();
      }
    }
  }
}
