package dev.keycast.host.server;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.keycast.host.bridge.EnclaveClient;
import dev.keycast.host.store.SqliteArtefactStore;
import dev.keycast.host.store.StoreException;
import dev.keycast.protocol.api.EnclaveApi;
import dev.keycast.protocol.api.HostApi;
import dev.keycast.protocol.fuzz.HttpHarness;
import dev.keycast.transport.Endpoint;
import dev.keycast.transport.Transports;
import io.netty.channel.embedded.EmbeddedChannel;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;

/**
 * Coverage-guided fuzz targets for the host's public and admin HTTP pipelines (connection limit,
 * read gate, codec, idle timer, capped aggregator, router and every public and admin handler) as
 * any client on the network drives them: arbitrary bytes on one connection, in an {@link
 * EmbeddedChannel}. The store is a real SQLite file; the enclave is unreachable, so routes that
 * need it answer its typed unavailability.
 *
 * <p>Contract: no exception reaches the end of the pipeline; every answer is well-framed HTTP/1.1;
 * no input is answered {@code 500}; every error answer is a JSON error body with a stable code and
 * a message.
 */
class HostHttpFuzzTest {
  private static final HttpHarness.DeferredExecutor POOL = new HttpHarness.DeferredExecutor();
  private static final HostServer SERVER = server();

  @FuzzTest
  void publicApi(byte[] input) {
    exchange(false, input);
  }

  @FuzzTest
  void adminApi(byte[] input) {
    exchange(true, input);
  }

  private static void exchange(boolean admin, byte[] input) {
    EmbeddedChannel ch = new EmbeddedChannel(new HostServerInitializer(SERVER, null, admin));
    byte[] out = HttpHarness.exchange(ch, POOL, null, input);
    HttpHarness.checkAnswers(HttpHarness.parse(out));
  }

  /** A host whose lifecycle is "ready" without an enclave key bundle. */
  private static final class ReadyControl implements HostControl {
    @Override
    public EnclaveApi.Readiness readiness() {
      return new EnclaveApi.Readiness(true, "ready", "ks-fuzz", null);
    }

    @Override
    public EnclaveApi.KeyBundle keyBundle() {
      return null;
    }

    @Override
    public HostApi.Status status() {
      return new HostApi.Status("ready", "ks-fuzz", 1, "unreachable", "sqlite");
    }

    @Override
    public HostApi.Status initKeySet(String kmsKeyId) {
      return status();
    }
  }

  private static HostServer server() {
    try {
      Path dir = Files.createTempDirectory("keycast-fuzz-host");
      SqliteArtefactStore store = SqliteArtefactStore.open(dir.resolve("fuzz.db"));
      EnclaveClient enclave =
          new EnclaveClient(
              EnclaveClient.Settings.defaults(Endpoint.parse("tcp://127.0.0.1:1"))
                  .withResponseTimeout(Duration.ofSeconds(2)),
              Transports.newEventLoopGroup(1));
      HostApiService service =
          new HostApiService(
              store, enclave, new HostMetrics(), new ReadyControl(), Clock.systemUTC());
      HostServer.Settings settings =
          new HostServer.Settings(
              Endpoint.parse("tcp://127.0.0.1:0"),
              null,
              HostApi.MAX_REQUEST_BYTES,
              Duration.ofMinutes(5),
              null,
              null,
              UploadLimits.defaults());
      return new HostServer(settings, service, POOL);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (StoreException e) {
      throw new IllegalStateException(e);
    }
  }
}
