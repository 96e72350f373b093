package dev.keycast.host.relay;

import dev.keycast.transport.Endpoint;
import dev.keycast.transport.L4Pipe;
import dev.keycast.transport.PipeStats;
import dev.keycast.transport.Transports;
import io.netty.channel.EventLoopGroup;
import java.io.IOException;
import java.time.Duration;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * The host proxy's raw relay: accepts connections on one endpoint and copies bytes both ways to
 * one fixed target, typically raw HTTP/1.1 from {@code tcp://} to a backend on a {@code unix:}
 * socket (what {@code socat TCP-LISTEN:PORT,fork UNIX-CONNECT:PATH} does, without a process per
 * connection). It is the host's {@link L4Pipe} (the same code that carries the enclave's KMS
 * traffic) on its own event loops: auto-read off on both sides (a side is read again only after its
 * last read was written to the other: at most one 64 KiB buffer per direction and connection),
 * half-close passed through, a connect timeout, an idle timeout and a connection limit. It does not
 * parse HTTP, so any request and answer, keep-alive or not, pass unchanged.
 */
public final class HostRelay implements AutoCloseable {

  /**
   * Settings of a relay.
   *
   * @param listen where clients connect
   * @param target where each connection is relayed
   * @param threads event loop threads (0: two per core, Netty's default: with 64 connections on
   *     2 shared cores, a preempted loop thread stalls fewer connections)
   * @param maxConnections most concurrent connections; further ones are closed on accept
   * @param connectTimeout limit of one connect to the target
   * @param idleTimeout a connection with no byte either way for this long is closed
   */
  public record Config(
      Endpoint listen,
      Endpoint target,
      int threads,
      int maxConnections,
      Duration connectTimeout,
      Duration idleTimeout) {
    /** Validates the settings. */
    public Config {
      Objects.requireNonNull(listen, "listen");
      Objects.requireNonNull(target, "target");
      if (threads < 0 || threads > 256) {
        throw new IllegalArgumentException("threads must be 0..256: " + threads);
      }
    }

    /** Two threads per core, 4,096 connections, 5 s connect, 300 s idle. */
    public static Config of(Endpoint listen, Endpoint target) {
      return new Config(listen, target, 0, 4096, Duration.ofSeconds(5), Duration.ofSeconds(300));
    }
  }

  private final Config config;
  private final L4Pipe pipe;
  private final EventLoopGroup boss;
  private final EventLoopGroup workers;
  private Endpoint bound;

  /** A relay that is not yet listening. */
  public HostRelay(Config config) {
    this.config = Objects.requireNonNull(config, "config");
    this.pipe =
        new L4Pipe(
            new L4Pipe.Config(
                config.listen(),
                config.target(),
                config.connectTimeout(),
                config.idleTimeout(),
                config.maxConnections()),
            Set.of(config.target()));
    int threads =
        config.threads() == 0 ? 2 * Runtime.getRuntime().availableProcessors() : config.threads();
    this.boss = Transports.newEventLoopGroup(1);
    this.workers = Transports.newEventLoopGroup(threads);
  }

  /** Binds the listener; returns the endpoint really bound (the port of {@code tcp://host:0}). */
  public Endpoint start() throws IOException, InterruptedException {
    bound = pipe.start(boss, workers);
    return bound;
  }

  /** The endpoint bound by {@link #start}, or null before. */
  public Endpoint boundEndpoint() {
    return bound;
  }

  /** The settings. */
  public Config config() {
    return config;
  }

  /** Live counters (connections, bytes, held bytes). */
  public PipeStats stats() {
    return pipe.stats();
  }

  /** Stops accepting and closes every relayed connection. */
  @Override
  public void close() throws InterruptedException {
    pipe.close();
    workers.shutdownGracefully(0, 1, TimeUnit.SECONDS).await(5, TimeUnit.SECONDS);
    boss.shutdownGracefully(0, 1, TimeUnit.SECONDS).await(5, TimeUnit.SECONDS);
  }
}
