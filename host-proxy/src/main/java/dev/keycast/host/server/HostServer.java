package dev.keycast.host.server;

import dev.keycast.transport.Endpoint;
import dev.keycast.transport.EndpointServer;
import dev.keycast.transport.TcpEndpoint;
import dev.keycast.transport.Transports;
import dev.keycast.transport.UnixEndpoint;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.util.concurrent.GlobalEventExecutor;
import java.io.IOException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The host's two HTTP/1.1 listeners: the public API (TLS when a certificate is configured) and the
 * admin API, which binds only to a loopback address or a {@code unix:} socket. Requests run on
 * virtual threads (one per request; no worker cap); {@link #shutdown(Duration)} stops accepting and
 * drains the requests in flight.
 */
public final class HostServer implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(HostServer.class);

  /**
   * Settings of the listeners.
   *
   * @param listen public listener
   * @param admin admin listener (loopback or unix: only); null for none
   * @param maxRequestBytes largest request body
   * @param idleTimeout an idle connection with nothing in flight is closed after this
   * @param tlsCert PEM certificate chain of the public listener, or null for plain HTTP
   * @param tlsKey PEM PKCS#8 private key of {@code tlsCert}, or null
   * @param uploads the budget of body bytes in flight and the slowest accepted upload
   */
  public record Settings(
      Endpoint listen,
      Endpoint admin,
      int maxRequestBytes,
      Duration idleTimeout,
      Path tlsCert,
      Path tlsKey,
      UploadLimits uploads) {
    /** Validates the settings. */
    public Settings {
      Objects.requireNonNull(listen, "listen");
      Objects.requireNonNull(idleTimeout, "idleTimeout");
      Objects.requireNonNull(uploads, "uploads");
      if (uploads.maxBytesInFlight() < maxRequestBytes) {
        throw new IllegalArgumentException(
            "the upload budget ("
                + uploads.maxBytesInFlight()
                + " bytes) must hold at least one largest request ("
                + maxRequestBytes
                + " bytes)");
      }
      if (maxRequestBytes < 1) {
        throw new IllegalArgumentException("maxRequestBytes must be positive");
      }
      if ((tlsCert == null) != (tlsKey == null)) {
        throw new IllegalArgumentException("--tls-cert and --tls-key go together");
      }
    }
  }

  private final Settings settings;
  private final HostApiService service;
  private final ExecutorService executor;
  private final ChannelGroup channels = new DefaultChannelGroup(GlobalEventExecutor.INSTANCE);
  private final AtomicInteger inFlight = new AtomicInteger();
  private final UploadBudget uploadBudget;
  private volatile boolean draining;
  private EndpointServer publicServer;
  private EndpointServer adminServer;

  /** A server that is not yet listening. */
  public HostServer(Settings settings, HostApiService service) {
    this(settings, service, Executors.newVirtualThreadPerTaskExecutor());
  }

  /** A server whose requests run on {@code requests} (tests drive it deterministically). */
  HostServer(Settings settings, HostApiService service, ExecutorService requests) {
    this.settings = Objects.requireNonNull(settings, "settings");
    this.service = Objects.requireNonNull(service, "service");
    this.executor = Objects.requireNonNull(requests, "requests");
    this.uploadBudget = new UploadBudget(settings.uploads().maxBytesInFlight());
    service
        .metrics()
        .gauge(
            "keycast_host_upload_bytes_in_flight",
            "gauge",
            "request body bytes held (upload budget in use)",
            uploadBudget::held);
    service
        .metrics()
        .gauge(
            "keycast_host_upload_bytes_in_flight_peak",
            "gauge",
            "most request body bytes held at once",
            uploadBudget::peak);
    service
        .metrics()
        .gauge(
            "keycast_host_upload_budget_refusals_total",
            "counter",
            "requests refused because the upload budget was spent",
            uploadBudget::refused);
    if (settings.admin() != null) {
      requireLocal(settings.admin());
    }
  }

  /** Refuses an admin address that other machines could reach. */
  public static void requireLocal(Endpoint admin) {
    switch (admin) {
      case UnixEndpoint u -> {}
      case TcpEndpoint t -> {
        if (!isLocal(t)) {
          throw new IllegalArgumentException(
              "the admin listener must bind a loopback address, not " + t);
        }
      }
      default ->
          throw new IllegalArgumentException(
              "the admin listener must be tcp://127.0.0.1:PORT or unix:, not " + admin);
    }
  }

  /**
   * Whether only this machine can reach {@code listen}: a {@code unix:} socket or a TCP loopback
   * address. ({@code vsock://} is reachable from the enclave, so it is not local.)
   */
  public static boolean isLocal(Endpoint listen) {
    return switch (listen) {
      case UnixEndpoint u -> true;
      case TcpEndpoint t -> {
        try {
          yield InetAddress.getByName(t.host()).isLoopbackAddress();
        } catch (UnknownHostException e) {
          yield false;
        }
      }
      default -> false;
    };
  }

  /** Binds both listeners. */
  public void start(EventLoopGroup parent, EventLoopGroup child)
      throws IOException, InterruptedException {
    SslContext ssl = null;
    if (settings.tlsCert() != null) {
      ssl =
          SslContextBuilder.forServer(settings.tlsCert().toFile(), settings.tlsKey().toFile())
              .build();
    }
    Map<ChannelOption<?>, Object> opts = Map.of();
    publicServer =
        Transports.bind(
            settings.listen(), parent, child, new HostServerInitializer(this, ssl, false), opts);
    if (settings.admin() != null) {
      adminServer =
          Transports.bind(
              settings.admin(), parent, child, new HostServerInitializer(this, null, true), opts);
    }
    LOG.info(
        "serving the public API on {}{} and the admin API on {}",
        publicServer.endpoint(),
        ssl == null ? " (plain HTTP)" : " (TLS)",
        adminServer == null ? "-" : adminServer.endpoint());
  }

  /** Where the public listener is bound. */
  public Endpoint publicEndpoint() {
    return publicServer.endpoint();
  }

  /** Where the admin listener is bound, or null. */
  public Endpoint adminEndpoint() {
    return adminServer == null ? null : adminServer.endpoint();
  }

  /** Requests in flight. */
  public int inFlight() {
    return inFlight.get();
  }

  /**
   * Stops accepting connections, lets requests in flight finish for at most {@code grace} (their
   * connections close after the answer), then closes every connection.
   *
   * @return true when every request in flight finished in time
   */
  public boolean shutdown(Duration grace) throws InterruptedException {
    draining = true;
    if (publicServer != null) {
      publicServer.close();
    }
    if (adminServer != null) {
      adminServer.close();
    }
    long deadline = System.nanoTime() + grace.toNanos();
    while (inFlight.get() > 0 && System.nanoTime() < deadline) {
      Thread.sleep(20);
    }
    boolean drained = inFlight.get() == 0;
    if (!drained) {
      LOG.warn(
          "{} requests still in flight after {} s; closing", inFlight.get(), grace.toSeconds());
    }
    channels.close().awaitUninterruptibly(5_000);
    executor.shutdown();
    return drained;
  }

  @Override
  public void close() throws InterruptedException {
    shutdown(Duration.ZERO);
  }

  Settings settings() {
    return settings;
  }

  UploadBudget uploadBudget() {
    return uploadBudget;
  }

  HostApiService service() {
    return service;
  }

  ExecutorService executor() {
    return executor;
  }

  ChannelGroup channels() {
    return channels;
  }

  boolean isDraining() {
    return draining;
  }

  void requestStarted() {
    inFlight.incrementAndGet();
  }

  void requestFinished() {
    inFlight.decrementAndGet();
  }
}
