package dev.keycast.enclave.server;

import dev.keycast.enclave.keyset.KeySetService;
import dev.keycast.protocol.attestation.Attester;
import dev.keycast.transport.Endpoint;
import dev.keycast.transport.EndpointServer;
import dev.keycast.transport.TcpEndpoint;
import dev.keycast.transport.Transports;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import java.io.IOException;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The enclave's HTTP server: binds {@code vsock://}, {@code unix:} or {@code tcp://} (through
 * keycast-transport's epoll bootstraps) and serves the enclave API with {@link
 * EnclaveServerInitializer}'s pipeline.
 *
 * <p>Threads: one acceptor, one I/O event loop per core, a bounded request pool that runs what the
 * event loop must not (KMS calls, attestation, sends), and a fan-out pool of {@code workers}
 * threads for per-recipient work.
 */
public final class EnclaveServer implements AutoCloseable {
  /** Connections idle this long (no request in flight) are closed. */
  public static final Duration IDLE_TIMEOUT = Duration.ofSeconds(120);

  /** Requests queued beyond the running ones before the server answers 503 overloaded. */
  public static final int REQUEST_QUEUE = 256;

  private final EventLoopGroup boss;
  private final EventLoopGroup io;
  private final ExecutorService requests;
  private final ExecutorService fanout;
  private final EndpointServer server;
  private final EnclaveServices services;

  private EnclaveServer(
      EventLoopGroup boss,
      EventLoopGroup io,
      ExecutorService requests,
      ExecutorService fanout,
      EndpointServer server,
      EnclaveServices services) {
    this.boss = boss;
    this.io = io;
    this.requests = requests;
    this.fanout = fanout;
    this.server = server;
    this.services = services;
  }

  /**
   * Builds the services and binds {@code listen}.
   *
   * @param workers fan-out threads (use the number of cores)
   * @throws IOException if the bind fails (everything started is stopped again)
   */
  public static EnclaveServer start(
      Endpoint listen,
      KeySetService keys,
      Attester attester,
      SecureRandom random,
      Clock clock,
      int workers,
      EnclaveMetrics metrics)
      throws IOException, InterruptedException {
    // KDM sends sign with the key set's sealed signer (KeySetService#kdmSigner, issue 24)
    return start(listen, keys, attester, random, clock, workers, metrics, KdmSignerSource.of(keys));
  }

  /**
   * {@link #start(Endpoint, KeySetService, Attester, SecureRandom, Clock, int, EnclaveMetrics)}
   * with the source of the KDM signer that KDM sends sign with.
   */
  public static EnclaveServer start(
      Endpoint listen,
      KeySetService keys,
      Attester attester,
      SecureRandom random,
      Clock clock,
      int workers,
      EnclaveMetrics metrics,
      KdmSignerSource kdmSigners)
      throws IOException, InterruptedException {
    if (workers < 1) {
      throw new IllegalArgumentException("workers must be at least 1, got " + workers);
    }
    ExecutorService fanout = Executors.newFixedThreadPool(workers, named("keycast-fanout"));
    int requestThreads = Math.max(4, workers);
    ExecutorService requests =
        new ThreadPoolExecutor(
            requestThreads,
            requestThreads,
            60,
            TimeUnit.SECONDS,
            new ArrayBlockingQueue<>(REQUEST_QUEUE),
            named("keycast-request"),
            new ThreadPoolExecutor.AbortPolicy());
    SenderAuthorizer senders = new SenderAuthorizer(keys, clock);
    EnclaveServices services =
        new EnclaveServices(
            keys,
            new AttestationService(attester, keys, senders),
            senders,
            new SendService(keys, senders, fanout, workers, random, clock, metrics, kdmSigners),
            new RecipientValidator(),
            metrics,
            requests,
            new DkdmIngestRoute(keys, senders, kdmSigners, random, clock));
    EventLoopGroup boss = Transports.newEventLoopGroup(1);
    EventLoopGroup io =
        Transports.newEventLoopGroup(Math.max(1, Runtime.getRuntime().availableProcessors()));
    try {
      EndpointServer server =
          Transports.bind(
              listen,
              boss,
              io,
              new EnclaveServerInitializer(services, IDLE_TIMEOUT),
              listen instanceof TcpEndpoint ? Map.of(ChannelOption.TCP_NODELAY, true) : Map.of());
      return new EnclaveServer(boss, io, requests, fanout, server, services);
    } catch (IOException | InterruptedException | RuntimeException e) {
      boss.shutdownGracefully(0, 0, TimeUnit.SECONDS);
      io.shutdownGracefully(0, 0, TimeUnit.SECONDS);
      requests.shutdownNow();
      fanout.shutdownNow();
      throw e;
    }
  }

  /** The address really bound (a {@code tcp://host:0} request reports its port). */
  public Endpoint endpoint() {
    return server.endpoint();
  }

  public EnclaveServices services() {
    return services;
  }

  /** Blocks until the server channel closes. */
  public void awaitClose() throws InterruptedException {
    server.closeFuture().sync();
  }

  /**
   * Stops accepting, lets running requests finish (up to {@code grace}), then stops every thread.
   */
  public void shutdown(Duration grace) {
    server.close();
    requests.shutdown();
    try {
      requests.awaitTermination(grace.toMillis(), TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    requests.shutdownNow();
    fanout.shutdownNow();
    boss.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    io.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
  }

  @Override
  public void close() {
    shutdown(Duration.ofSeconds(10));
  }

  private static ThreadFactory named(String prefix) {
    AtomicInteger n = new AtomicInteger();
    return r -> {
      Thread t = new Thread(r, prefix + "-" + n.incrementAndGet());
      t.setDaemon(true);
      return t;
    };
  }
}
