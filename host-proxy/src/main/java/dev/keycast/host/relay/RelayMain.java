package dev.keycast.host.relay;

import dev.keycast.transport.Endpoint;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code java -jar keycast-host.jar relay --listen tcp://127.0.0.1:9002 --to unix:/run/backend.sock}:
 * the host proxy's raw relay ({@link HostRelay}) on its own, until SIGTERM or SIGINT.
 */
@Command(
    name = "keycast-host relay",
    mixinStandardHelpOptions = true,
    description = {
      "Relays raw bytes (for example HTTP/1.1 requests) from one endpoint to another,"
          + " like 'socat TCP-LISTEN:PORT,fork UNIX-CONNECT:PATH' but on event loops: auto-read off"
          + " (back-pressure), half-close passed through, idle timeout, connection limit.",
      "Endpoints: tcp://HOST:PORT, unix:/path, vsock://CID:PORT."
    })
public final class RelayMain implements Callable<Integer> {
  private static final Logger LOG = LoggerFactory.getLogger(RelayMain.class);

  @Option(names = "--listen", required = true, description = "where clients connect")
  String listen;

  @Option(names = "--to", required = true, description = "where each connection is relayed")
  String to;

  @Option(
      names = "--threads",
      defaultValue = "0",
      description = "event loop threads (0: two per core; default ${DEFAULT-VALUE})")
  int threads;

  @Option(
      names = "--max-connections",
      defaultValue = "4096",
      description =
          "most concurrent connections; more are closed at once (default ${DEFAULT-VALUE})")
  int maxConnections;

  @Option(
      names = "--connect-timeout",
      defaultValue = "5",
      description = "seconds a connect to the target may take (default ${DEFAULT-VALUE})")
  int connectTimeout;

  @Option(
      names = "--idle-timeout",
      defaultValue = "300",
      description =
          "seconds without a byte either way before a connection is closed (default ${DEFAULT-VALUE})")
  int idleTimeout;

  /** Entry point ({@code keycast-host.jar relay ...} goes here). */
  public static void main(String[] args) {
    System.exit(new CommandLine(new RelayMain()).execute(args));
  }

  /** The relay these options describe. */
  HostRelay.Config config() {
    if (maxConnections < 1 || connectTimeout < 1 || idleTimeout < 1) {
      throw new IllegalArgumentException(
          "--max-connections, --connect-timeout and --idle-timeout must be positive");
    }
    return new HostRelay.Config(
        Endpoint.parse(listen),
        Endpoint.parse(to),
        threads,
        maxConnections,
        Duration.ofSeconds(connectTimeout),
        Duration.ofSeconds(idleTimeout));
  }

  @Override
  public Integer call() throws Exception {
    HostRelay relay = new HostRelay(config());
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  try {
                    relay.close();
                    LOG.info("relay stopped: {}", relay.stats());
                  } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                  } finally {
                    stopped.countDown();
                  }
                },
                "keycast-relay-shutdown"));
    Endpoint bound = relay.start();
    LOG.info("relaying {} -> {}", bound, relay.config().target());
    stopped.await();
    return 0;
  }
}
