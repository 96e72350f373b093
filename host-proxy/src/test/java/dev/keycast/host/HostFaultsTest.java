package dev.keycast.host;

import static dev.keycast.host.HostTestSupport.base;
import static dev.keycast.host.HostTestSupport.json;
import static dev.keycast.host.HostTestSupport.payload;
import static dev.keycast.host.HostTestSupport.policy;
import static dev.keycast.host.HostTestSupport.post;
import static dev.keycast.host.HostTestSupport.text;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.keycast.host.HostTestSupport.Recipient;
import dev.keycast.host.egress.StaticCredentials;
import dev.keycast.host.store.SqliteArtefactStore;
import dev.keycast.protocol.Json;
import dev.keycast.protocol.api.ErrorBody;
import dev.keycast.protocol.api.HostApi;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Faults that need their own host: a full disk, a slow enclave, shutdown, connection limits. */
class HostFaultsTest {
  @TempDir Path dir;
  FakeEnclave enclave;
  HostProxy host;

  @AfterEach
  void tearDown() throws Exception {
    HostTestSupport.stop(host, enclave);
  }

  private static long pageCount(Path db) throws Exception {
    try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + db);
        ResultSet rs = c.createStatement().executeQuery("PRAGMA page_count")) {
      rs.next();
      return rs.getLong(1);
    }
  }

  @Test
  void fullDiskAnswers507AndAcknowledgesNothing() throws Exception {
    enclave = new FakeEnclave().start();
    Path db = dir.resolve("small.db");
    host = HostTestSupport.start(enclave, SqliteArtefactStore.open(db), "alias/k");
    assertThat(host.awaitReady(Duration.ofSeconds(10))).isTrue();
    Recipient a = Recipient.generate();
    assertThat(post(base(host) + "/v1/recipients", a.registration(base(host))).statusCode())
        .isEqualTo(201);
    host.shutdown();

    long pages = pageCount(db);
    SqliteArtefactStore capped =
        SqliteArtefactStore.open(
            db, SqliteArtefactStore.Options.defaults().withMaxPageCount(pages + 2));
    host = HostTestSupport.start(enclave, capped, "alias/k");
    assertThat(host.awaitReady(Duration.ofSeconds(10))).isTrue();
    // a policy of ~200 KB (stored with the send) does not fit in two more pages
    List<String> fps = new ArrayList<>();
    fps.add(a.fingerprint());
    for (int i = 0; i < 3000; i++) {
      byte[] b = new byte[32];
      HostTestSupport.RANDOM.nextBytes(b);
      fps.add(HexFormat.of().formatHex(b));
    }
    byte[] body = Json.encode(payload(enclave.keySet(), policy("big", fps, true), new byte[] {7}));
    HttpResponse<byte[]> r = post(base(host) + "/v1/sends", body);
    assertThat(r.statusCode()).as(text(r)).isEqualTo(507);
    assertThat(json(r, ErrorBody.class).error()).isEqualTo("store_full");
    assertThat(enclave.hits("/v1/send")).isEqualTo(1);
    assertThat(capped.listDeliveries(a.fingerprint(), null, 10)).isEmpty();
    assertThat(capped.sealedSecretsOpenForLateRecipients(Instant.now(), null, 10)).isEmpty();
    // reads keep working
    assertThat(a.getAuthorized(base(host), "/v1/recipients/" + a.fingerprint()).statusCode())
        .isEqualTo(200);
  }

  @Test
  void connectionLimitQueuesRequestsInsteadOfFailing() throws Exception {
    enclave = new FakeEnclave().start();
    HostProxy.Config base = HostTestSupport.config(enclave, "alias/k");
    HostProxy.Config one =
        new HostProxy.Config(
            base.enclave(),
            base.listen(),
            base.admin(),
            base.region(),
            base.initKmsKeyId(),
            null,
            null,
            null,
            null,
            null,
            null,
            base.enclaveClient().withMaxConnections(1),
            base.shutdownGrace(),
            base.idleTimeout(),
            base.credentialsRefresh());
    host =
        new HostProxy(
            one,
            SqliteArtefactStore.open(dir.resolve("q.db")),
            "test",
            new StaticCredentials("AKID", "s", null),
            Clock.systemUTC());
    host.start();
    assertThat(host.awaitReady(Duration.ofSeconds(10))).isTrue();
    Recipient a = Recipient.generate();
    assertThat(post(base(host) + "/v1/recipients", a.registration(base(host))).statusCode())
        .isEqualTo(201);
    enclave.delay(100);
    ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor();
    List<Future<HttpResponse<byte[]>>> fs = new ArrayList<>();
    for (int i = 0; i < 8; i++) {
      byte[] body =
          Json.encode(
              payload(
                  enclave.keySet(),
                  policy("q" + i, List.of(a.fingerprint()), false),
                  new byte[] {(byte) i}));
      fs.add(pool.submit(() -> post(base(host) + "/v1/sends", body)));
    }
    for (Future<HttpResponse<byte[]>> f : fs) {
      assertThat(f.get().statusCode()).isEqualTo(200);
    }
    assertThat(enclave.maxConcurrent()).isEqualTo(1);
    pool.shutdown();
  }

  @Test
  void aSlowEnclaveTimesOutAs503AndTheConnectionIsNotReused() throws Exception {
    enclave = new FakeEnclave().start();
    HostProxy.Config b = HostTestSupport.config(enclave, "alias/k");
    HostProxy.Config quick =
        new HostProxy.Config(
            b.enclave(),
            b.listen(),
            b.admin(),
            b.region(),
            b.initKmsKeyId(),
            null,
            null,
            null,
            null,
            null,
            null,
            b.enclaveClient().withResponseTimeout(Duration.ofMillis(700)).withMaxConnections(1),
            b.shutdownGrace(),
            b.idleTimeout(),
            b.credentialsRefresh());
    SqliteArtefactStore store = SqliteArtefactStore.open(dir.resolve("slow.db"));
    host =
        new HostProxy(
            quick, store, "test", new StaticCredentials("AKID", "s", null), Clock.systemUTC());
    host.start();
    assertThat(host.awaitReady(Duration.ofSeconds(10))).isTrue();
    Recipient a = Recipient.generate();
    assertThat(post(base(host) + "/v1/recipients", a.registration(base(host))).statusCode())
        .isEqualTo(201);
    enclave.delay(1500);
    byte[] body =
        Json.encode(
            payload(
                enclave.keySet(), policy("slow", List.of(a.fingerprint()), false), new byte[] {1}));
    HttpResponse<byte[]> r = post(base(host) + "/v1/sends", body);
    assertThat(r.statusCode()).isEqualTo(503);
    assertThat(json(r, ErrorBody.class).error()).isEqualTo("enclave_unavailable");
    assertThat(r.headers().firstValue("retry-after")).isPresent();
    assertThat(store.listDeliveries(a.fingerprint(), null, 10)).isEmpty();
    // the late answer of the timed-out request must not be taken for the next one
    enclave.delay(0);
    await().atMost(Duration.ofSeconds(10)).until(() -> enclave.answered("/v1/send") == 1);
    HttpResponse<byte[]> ok = post(base(host) + "/v1/sends", body);
    assertThat(ok.statusCode()).as(text(ok)).isEqualTo(200);
    assertThat(json(ok, HostApi.SendResult.class).delivered()).hasSize(1);
  }

  @Test
  void bridgesToTheEnclaveOverAUnixSocket() throws Exception {
    enclave = new FakeEnclave().start();
    io.netty.channel.EventLoopGroup group = dev.keycast.transport.Transports.newEventLoopGroup(1);
    Path sock = Path.of("/tmp", "keycast-host-test-" + ProcessHandle.current().pid() + ".sock");
    try (dev.keycast.transport.L4Pipe pipe =
        new dev.keycast.transport.L4Pipe(
            new dev.keycast.transport.L4Pipe.Config(
                dev.keycast.transport.Endpoint.parse("unix:" + sock),
                dev.keycast.transport.Endpoint.parse(enclave.endpoint()),
                Duration.ofSeconds(2),
                Duration.ofSeconds(30),
                16),
            java.util.Set.of(dev.keycast.transport.Endpoint.parse(enclave.endpoint())))) {
      pipe.start(group, group);
      HostProxy.Config b = HostTestSupport.config(enclave, "alias/k");
      dev.keycast.transport.Endpoint unix = dev.keycast.transport.Endpoint.parse("unix:" + sock);
      HostProxy.Config viaUnix =
          new HostProxy.Config(
              unix,
              b.listen(),
              b.admin(),
              b.region(),
              b.initKmsKeyId(),
              null,
              null,
              null,
              null,
              null,
              null,
              dev.keycast.host.bridge.EnclaveClient.Settings.defaults(unix),
              b.shutdownGrace(),
              b.idleTimeout(),
              b.credentialsRefresh());
      host =
          new HostProxy(
              viaUnix,
              SqliteArtefactStore.open(dir.resolve("u.db")),
              "test",
              new StaticCredentials("AKID", "s", null),
              Clock.systemUTC());
      host.start();
      assertThat(host.awaitReady(Duration.ofSeconds(10))).isTrue();
      Recipient a = Recipient.generate();
      assertThat(post(base(host) + "/v1/recipients", a.registration(base(host))).statusCode())
          .isEqualTo(201);
      HttpResponse<byte[]> r =
          post(
              base(host) + "/v1/sends",
              Json.encode(
                  payload(
                      enclave.keySet(),
                      policy("unix", List.of(a.fingerprint()), false),
                      new byte[] {1})));
      assertThat(r.statusCode()).as(text(r)).isEqualTo(200);
      assertThat(pipe.stats().accepted()).isPositive();
      host.shutdown();
      host = null;
    } finally {
      group.shutdownGracefully().sync();
      java.nio.file.Files.deleteIfExists(sock);
    }
  }

  @Test
  void firstBootRetriesATransientKmsFailureAndPipesKmsEgress() throws Exception {
    enclave = new FakeEnclave().start();
    enclave.failInits.set(2);
    try (java.net.ServerSocket kms =
        new java.net.ServerSocket(0, 4, java.net.InetAddress.getLoopbackAddress())) {
      dev.keycast.transport.Endpoint kmsEp =
          dev.keycast.transport.Endpoint.parse("tcp://127.0.0.1:" + kms.getLocalPort());
      HostProxy.Config b = HostTestSupport.config(enclave, "alias/k");
      HostProxy.Config withEgress =
          new HostProxy.Config(
              b.enclave(),
              b.listen(),
              b.admin(),
              b.region(),
              b.initKmsKeyId(),
              null,
              null,
              dev.keycast.transport.Endpoint.parse("tcp://127.0.0.1:0"),
              kmsEp,
              kmsEp,
              null,
              b.enclaveClient(),
              b.shutdownGrace(),
              b.idleTimeout(),
              b.credentialsRefresh());
      host =
          new HostProxy(
              withEgress,
              SqliteArtefactStore.open(dir.resolve("e.db")),
              "test",
              new StaticCredentials("AKID", "s", null),
              Clock.systemUTC());
      host.start();
      assertThat(host.awaitReady(Duration.ofSeconds(15))).isTrue();
      assertThat(enclave.hits("/v1/keyset/init")).isEqualTo(3);

      int port = ((dev.keycast.transport.TcpEndpoint) host.kmsEgressEndpoint()).port();
      try (java.net.Socket s = new java.net.Socket("127.0.0.1", port);
          java.net.Socket far = kms.accept()) {
        s.getOutputStream().write("hello kms".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
        far.setSoTimeout(5000);
        assertThat(
                new String(
                    far.getInputStream().readNBytes(9), java.nio.charset.StandardCharsets.US_ASCII))
            .isEqualTo("hello kms");
      }
      // the pipe counts bytes when its write completes, which may be after the far end read them
      String m =
          await()
              .atMost(Duration.ofSeconds(10))
              .until(
                  () -> text(HostTestSupport.get(base(host) + "/metrics")),
                  t -> t.contains("keycast_host_kms_egress_upstream_bytes_total 9"));
      assertThat(m).contains("keycast_host_kms_egress_connections_total 1");
      assertThat(m).contains("keycast_host_kms_egress_upstream_bytes_total 9");
    }
  }

  @Test
  void shutdownDrainsRequestsInFlight() throws Exception {
    enclave = new FakeEnclave().start();
    host = HostTestSupport.start(enclave, SqliteArtefactStore.open(dir.resolve("d.db")), "alias/k");
    assertThat(host.awaitReady(Duration.ofSeconds(10))).isTrue();
    Recipient a = Recipient.generate();
    assertThat(post(base(host) + "/v1/recipients", a.registration(base(host))).statusCode())
        .isEqualTo(201);
    enclave.delay(1500);
    byte[] body =
        Json.encode(
            payload(
                enclave.keySet(), policy("d", List.of(a.fingerprint()), false), new byte[] {1}));
    String url = base(host) + "/v1/sends";
    ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor();
    Future<HttpResponse<byte[]>> inFlight = pool.submit(() -> post(url, body));
    await().atMost(Duration.ofSeconds(10)).until(() -> enclave.hits("/v1/send") == 1);
    HostProxy stopping = host;
    host = null;
    stopping.shutdown();
    HttpResponse<byte[]> r = inFlight.get();
    assertThat(r.statusCode()).as(text(r)).isEqualTo(200);
    assertThat(json(r, HostApi.SendResult.class).delivered()).hasSize(1);
    // no new connections after shutdown
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> post(url, body))
        .isInstanceOf(java.io.IOException.class);
    pool.shutdown();
  }

  @Test
  void credentialsAreRefreshedWhenTheyChange() throws Exception {
    enclave = new FakeEnclave().start();
    java.util.concurrent.atomic.AtomicReference<String> id =
        new java.util.concurrent.atomic.AtomicReference<>("AKID1");
    java.util.concurrent.atomic.AtomicInteger looks =
        new java.util.concurrent.atomic.AtomicInteger();
    dev.keycast.host.egress.CredentialsProvider rotating =
        new dev.keycast.host.egress.CredentialsProvider() {
          @Override
          public dev.keycast.protocol.api.EnclaveApi.AwsCredentials credentials() {
            looks.incrementAndGet();
            return new dev.keycast.protocol.api.EnclaveApi.AwsCredentials(
                id.get(),
                "secret",
                "token",
                Instant.now().plusSeconds(3600).truncatedTo(java.time.temporal.ChronoUnit.HOURS));
          }

          @Override
          public String describe() {
            return "rotating";
          }
        };
    host =
        new HostProxy(
            HostTestSupport.config(enclave, "alias/k"),
            SqliteArtefactStore.open(dir.resolve("c.db")),
            "test",
            rotating,
            Clock.systemUTC());
    host.start();
    assertThat(host.awaitReady(Duration.ofSeconds(10))).isTrue();
    // two refresh rounds looked at unchanged credentials: nothing may have been handed over
    int atReady = looks.get();
    await().atMost(Duration.ofSeconds(10)).until(() -> looks.get() >= atReady + 2);
    assertThat(enclave.credentials).isEmpty();
    id.set("AKID2");
    await().atMost(Duration.ofSeconds(10)).until(() -> !enclave.credentials.isEmpty());
    assertThat(enclave.credentials).extracting(c -> c.accessKeyId()).containsExactly("AKID2");
  }
}
