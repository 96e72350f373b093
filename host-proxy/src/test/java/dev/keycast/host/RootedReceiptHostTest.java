package dev.keycast.host;

import static dev.keycast.host.HostTestSupport.base;
import static dev.keycast.host.HostTestSupport.json;
import static dev.keycast.host.HostTestSupport.post;
import static dev.keycast.host.HostTestSupport.text;
import static org.assertj.core.api.Assertions.assertThat;

import dev.keycast.enclave.server.EnclaveMetrics;
import dev.keycast.enclave.server.EnclaveServer;
import dev.keycast.host.HostTestSupport.Recipient;
import dev.keycast.host.egress.StaticCredentials;
import dev.keycast.host.store.RecipientRecord;
import dev.keycast.host.store.SqliteArtefactStore;
import dev.keycast.host.store.StoredKey;
import dev.keycast.mock.nitro.MockAttester;
import dev.keycast.protocol.Base64Url;
import dev.keycast.protocol.Json;
import dev.keycast.protocol.api.HostApi;
import dev.keycast.protocol.crypto.Sha256;
import dev.keycast.protocol.envelope.HpkeDeliveryFormat;
import dev.keycast.protocol.envelope.X25519RecipientKey;
import dev.keycast.protocol.hpke.X25519PrivateKey;
import dev.keycast.protocol.keyset.KeySet;
import dev.keycast.protocol.policy.SendPolicy;
import dev.keycast.protocol.receipt.Receipt;
import dev.keycast.protocol.receipt.ReceiptBuilder;
import dev.keycast.protocol.receipt.ReceiptVerifier;
import dev.keycast.transport.Endpoint;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A send above {@link ReceiptBuilder#DEFAULT_ROOTED_ABOVE} entries through the host and the real
 * enclave (issue 28): the enclave signs a version 3 head, the host assembles the bundle from the
 * enclave's streamed answer, stores it and answers it, and the bundle verifies under the key set's
 * signing key to exactly the deliveries made.
 */
class RootedReceiptHostTest {
  @TempDir Path dir;

  /** The host's temporary answer and result files now in the JVM's temporary directory. */
  private static Set<Path> spoolFiles() throws java.io.IOException {
    try (Stream<Path> files = Files.list(Path.of(System.getProperty("java.io.tmpdir")))) {
      return files
          .filter(
              f -> {
                String name = f.getFileName().toString();
                return name.startsWith("keycast-answer-") || name.startsWith("keycast-result-");
              })
          .collect(java.util.stream.Collectors.toSet());
    }
  }

  @Test
  void aSendPastTheThresholdIsAnsweredWithAVerifiableVersion3Bundle() throws Exception {
    int n = ReceiptBuilder.DEFAULT_ROOTED_ABOVE + 100;
    Set<Path> before = spoolFiles();
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
            dev.keycast.host.bridge.EnclaveClient.Settings.defaults(ep)
                .withResponseTimeout(Duration.ofSeconds(120)),
            b.shutdownGrace(),
            b.idleTimeout(),
            b.credentialsRefresh());
    SqliteArtefactStore store = SqliteArtefactStore.open(dir.resolve("r.db"));
    HostProxy host =
        new HostProxy(
            cfg,
            store,
            "test",
            new StaticCredentials("AKID", "s", null),
            Clock.systemUTC(),
            dev.keycast.host.server.UploadLimits.defaults(),
            HostTestSupport.senderSettings(dir.resolve("sender-set.bin")));
    try {
      host.start();
      assertThat(host.awaitReady(Duration.ofSeconds(20))).isTrue();
      KeySet k = keys.current().orElseThrow();
      // the recipients go straight into the store: registration is not what is tested here
      SecureRandom random = new SecureRandom();
      List<String> fingerprints = new ArrayList<>(n);
      X25519PrivateKey first = null;
      List<RecipientRecord> records = new ArrayList<>(n);
      for (int i = 0; i < n; i++) {
        X25519PrivateKey key = X25519PrivateKey.generate(random);
        first = first == null ? key : first;
        fingerprints.add(key.publicKey().fingerprint());
        records.add(
            new RecipientRecord(
                key.publicKey().fingerprint(),
                RecipientRecord.KIND_X25519,
                StoredKey.encode(new X25519RecipientKey(key.publicKey(), List.of())),
                Map.of(),
                Instant.now()));
      }
      // in parallel, so that the store's group commit writes many per transaction
      try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
        List<Future<RecipientRecord>> puts = new ArrayList<>(n);
        for (RecipientRecord rec : records) {
          puts.add(pool.submit(() -> store.putRecipient(rec)));
        }
        for (Future<RecipientRecord> f : puts) {
          f.get();
        }
      }
      Instant now = Instant.now().truncatedTo(ChronoUnit.SECONDS);
      SendPolicy policy =
          new SendPolicy(
              SendPolicy.VERSION,
              "rooted-1",
              "tests",
              now.minusSeconds(60),
              now.plus(Duration.ofDays(1)),
              new SendPolicy.RecipientSelector(fingerprints, null, null),
              false,
              n,
              null);
      byte[] body =
          Json.encode(
              HostTestSupport.signed(
                  HostTestSupport.payload(
                      k, policy, "many screens".getBytes(StandardCharsets.UTF_8))));
      HttpResponse<byte[]> r = post(base(host) + "/v1/sends", body);
      assertThat(r.statusCode()).as(text(r)).isEqualTo(200);
      HostApi.SendResult result = json(r, HostApi.SendResult.class);
      assertThat(result.delivered()).hasSize(n);

      byte[] bundle = Base64Url.decode("receipt", result.receipt(), 1 << 26);
      assertThat(bundle[0] & 0xff).as("a bundle, [head, deliveries, skipped]").isEqualTo(0x83);
      Receipt receipt = ReceiptVerifier.verify(bundle, k.signingPublicKey());
      assertThat(receipt.version()).isEqualTo(Receipt.VERSION_ROOTED);
      assertThat(receipt.sendId()).isEqualTo(result.sendId());
      assertThat(receipt.deliveries()).hasSize(n);
      Set<String> delivered = new HashSet<>();
      receipt.deliveries().forEach(d -> delivered.add(d.recipientFingerprint()));
      assertThat(delivered).isEqualTo(new HashSet<>(fingerprints));

      // the first recipient's envelope, fetched from the host, is the one the receipt hashes
      X25519PrivateKey key = first;
      String fp = key.publicKey().fingerprint();
      Receipt.Delivery mine =
          receipt.deliveries().stream()
              .filter(d -> d.recipientFingerprint().equals(fp))
              .findFirst()
              .orElseThrow();
      Recipient me = new Recipient(key, fp, Base64Url.encode(key.publicKey().toSpkiDer()));
      byte[] envelope = me.getAuthorized(base(host), "/v1/deliveries/" + mine.deliveryId()).body();
      assertThat(Sha256.digest(envelope)).isEqualTo(mine.envelopeSha256());
      assertThat(
              new String(
                  HpkeDeliveryFormat.INSTANCE.open(key, envelope).secret(), StandardCharsets.UTF_8))
          .isEqualTo("many screens");

      // a retried send is a replay with the same stored bundle
      HostApi.SendResult again =
          json(post(base(host) + "/v1/sends", body), HostApi.SendResult.class);
      assertThat(again.replayed()).isTrue();
      assertThat(again.receipt()).isEqualTo(result.receipt());
      assertThat(again.delivered())
          .extracting(HostApi.DeliverySummary::deliveryId)
          .containsExactlyElementsOf(
              result.delivered().stream().map(HostApi.DeliverySummary::deliveryId).toList());

      // the spooled enclave answer and the result file were deleted once used
      Awaitility.await()
          .atMost(Duration.ofSeconds(30))
          .untilAsserted(() -> assertThat(spoolFiles()).isSubsetOf(before));
    } finally {
      host.shutdown();
      enclave.close();
    }
  }
}
