package dev.keycast.host;

import static dev.keycast.host.HostTestSupport.base;
import static dev.keycast.host.HostTestSupport.get;
import static dev.keycast.host.HostTestSupport.json;
import static dev.keycast.host.HostTestSupport.post;
import static dev.keycast.host.HostTestSupport.text;
import static org.assertj.core.api.Assertions.assertThat;

import dev.keycast.enclave.server.EnclaveMetrics;
import dev.keycast.enclave.server.EnclaveServer;
import dev.keycast.host.HostTestSupport.Recipient;
import dev.keycast.host.egress.StaticCredentials;
import dev.keycast.host.store.ArtefactStore;
import dev.keycast.host.store.SqliteArtefactStore;
import dev.keycast.mock.nitro.MockAttester;
import dev.keycast.protocol.Json;
import dev.keycast.protocol.api.EnclaveApi;
import dev.keycast.protocol.keyset.KeySet;
import dev.keycast.protocol.sender.SenderSet;
import dev.keycast.protocol.sender.SenderSetUpdate;
import dev.keycast.protocol.sender.SenderSigningKey;
import dev.keycast.transport.Endpoint;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The sealed sender set kept in the artefact store (issue 23, storage.md): a restarted enclave
 * gets it back from the store alone (no {@code --sender-state} file, as on a fresh parent over an
 * S3 store), a file of an older host is imported into a store that holds none, and the version
 * handed back is the highest stored. A real enclave server (mock attester, in-memory key sealing)
 * behind a real host on SQLite; each restart is a new enclave process over the same key sealing.
 */
class SenderSetStoreTest {
  @TempDir Path dir;
  InMemoryKeySets keys;
  MockAttester attester;
  EnclaveServer enclave;
  HostProxy host;

  @BeforeEach
  void setUp() throws Exception {
    keys = new InMemoryKeySets();
    attester = MockAttester.create(dir.resolve("mock-pki"));
  }

  @AfterEach
  void tearDown() throws Exception {
    if (host != null) {
      host.shutdown();
    }
    if (enclave != null) {
      enclave.close();
    }
  }

  /** A new enclave process (the key sealing survives, the sender set in force does not). */
  void startEnclave() throws Exception {
    if (enclave != null) {
      enclave.close();
      keys.forget();
    }
    enclave =
        EnclaveServer.start(
            Endpoint.parse("tcp://127.0.0.1:0"),
            keys,
            attester,
            new SecureRandom(),
            Clock.systemUTC(),
            2,
            new EnclaveMetrics());
  }

  /** Stops host and enclave, then starts a new enclave process and a host with {@code senders}. */
  void restart(SenderSetKeeper.Settings senders) throws Exception {
    host.shutdown();
    host = null;
    startEnclave();
    startHost(store(), senders);
  }

  void startHost(ArtefactStore store, SenderSetKeeper.Settings senders) throws Exception {
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
    host =
        new HostProxy(
            cfg,
            store,
            "test",
            new StaticCredentials("AKID", "s", null),
            Clock.systemUTC(),
            dev.keycast.host.server.UploadLimits.defaults(),
            senders);
    host.start();
    assertThat(host.awaitReady(Duration.ofSeconds(20))).isTrue();
  }

  SqliteArtefactStore store() throws Exception {
    return SqliteArtefactStore.open(dir.resolve("store.db"));
  }

  /** Settings that establish {OWNER; SENDER} at init, with or without the deprecated file. */
  static SenderSetKeeper.Settings genesis(Path file) {
    return HostTestSupport.senderSettings(file);
  }

  /** Settings of a later start: no genesis keys, no file (a fresh parent over the same store). */
  static SenderSetKeeper.Settings nothing() {
    return new SenderSetKeeper.Settings(null, List.of(), List.of());
  }

  int sendStatus() throws Exception {
    KeySet k = keys.current().orElseThrow();
    Recipient a = Recipient.generate();
    HttpResponse<byte[]> reg = post(base(host) + "/v1/recipients", a.registration(base(host)));
    assertThat(reg.statusCode()).as(text(reg)).isEqualTo(201);
    HttpResponse<byte[]> r =
        post(
            base(host) + "/v1/sends",
            Json.encode(
                HostTestSupport.payload(
                    k,
                    HostTestSupport.policy(
                        "store-" + System.nanoTime(), List.of(a.fingerprint()), false),
                    "secret".getBytes(StandardCharsets.UTF_8))));
    return r.statusCode();
  }

  EnclaveApi.SenderSetView senders() throws Exception {
    HttpResponse<byte[]> r = get(base(host) + "/v1/senders");
    assertThat(r.statusCode()).as(text(r)).isEqualTo(200);
    return json(r, EnclaveApi.SenderSetView.class);
  }

  @Test
  void aRestartedEnclaveGetsItsSenderSetFromTheStoreAlone() throws Exception {
    startEnclave();
    startHost(store(), genesis(null)); // no file at all: the store keeps the set
    assertThat(sendStatus()).isEqualTo(200);
    restart(nothing());
    assertThat(senders().senderFingerprints())
        .containsExactly(HostTestSupport.SENDER.publicKey().fingerprint());
    assertThat(sendStatus()).isEqualTo(200);
  }

  @Test
  void theSenderStateFileOfAnOlderHostIsImportedIntoAStoreThatHasNone() throws Exception {
    Path file = dir.resolve("sender-set.bin");
    startEnclave();
    startHost(store(), genesis(file));
    assertThat(file).exists(); // still written (deprecated)
    host.shutdown();
    // the store as an older host left it: no sender set in it, only in the file
    try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + dir.resolve("store.db"));
        Statement s = c.createStatement()) {
      assertThat(s.executeUpdate("DELETE FROM sender_sets")).isEqualTo(1);
    }
    startEnclave();
    startHost(store(), new SenderSetKeeper.Settings(file, List.of(), List.of()));
    assertThat(sendStatus()).isEqualTo(200);
    Files.delete(file); // imported: the store alone is enough from now on
    restart(nothing());
    assertThat(senders().version()).isEqualTo(1);
    assertThat(sendStatus()).isEqualTo(200);
  }

  @Test
  void anUpdatedSenderSetIsTheOneHandedBackAfterARestart() throws Exception {
    startEnclave();
    startHost(store(), genesis(null));
    SenderSigningKey second = SenderSigningKey.generate(new SecureRandom());
    KeySet k = keys.current().orElseThrow();
    SenderSet now = enclave.services().senders().current().orElseThrow();
    SenderSetUpdate u =
        SenderSetUpdate.sign(k.id(), now.withSender(second.publicKey()), HostTestSupport.OWNER);
    HttpResponse<byte[]> r = post(base(host) + "/v1/senders", Json.encode(u.toJson()));
    assertThat(r.statusCode()).as(text(r)).isEqualTo(200);
    restart(nothing());
    // version 2 (two senders), not the genesis version 1 also in the store
    assertThat(senders().version()).isEqualTo(2);
    assertThat(senders().senderFingerprints()).contains(second.publicKey().fingerprint());
  }
}
