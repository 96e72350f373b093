package dev.keycast.host;

import dev.keycast.host.bridge.EnclaveClient;
import dev.keycast.host.bridge.EnclaveLogListener;
import dev.keycast.host.egress.CredentialsProvider;
import dev.keycast.host.egress.KmsEgress;
import dev.keycast.host.server.ApiException;
import dev.keycast.host.server.HostApiService;
import dev.keycast.host.server.HostControl;
import dev.keycast.host.server.HostMetrics;
import dev.keycast.host.server.HostServer;
import dev.keycast.host.server.MailSettings;
import dev.keycast.host.server.RecipientAuth;
import dev.keycast.host.server.SenderLimits;
import dev.keycast.host.server.UploadLimits;
import dev.keycast.host.store.ArtefactStore;
import dev.keycast.host.store.StoreException;
import dev.keycast.protocol.api.EnclaveApi;
import dev.keycast.protocol.api.HostApi;
import dev.keycast.transport.Endpoint;
import dev.keycast.transport.Transports;
import io.netty.channel.EventLoopGroup;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The host proxy: its listeners, the bridge to the enclave, the KMS egress pipe, the enclave's log
 * stream, and the threads of the boot sequence and the credentials refresh ({@link KeySetKeeper}).
 *
 * <p>Boot: wait for the enclave's {@code /v1/health} (backoff 100 ms doubling to 5 s); if the
 * enclave is already ready (the host restarted), serve; else if the store holds a sealed key set,
 * unseal it; else, when a KMS key id is configured (or on {@code POST /admin/keyset/init}), init
 * once and store the sealed key set durably before serving. Until then the API answers
 * {@code 503 not_ready} and {@code /v1/ready} says which state the host is in. Credentials are
 * handed to the enclave in init and unseal, and refreshed through {@code /v1/credentials} when
 * they change. An enclave that loses its key set while the host serves (it restarted) is unsealed
 * again by itself (issue 28; {@code KeySetKeeper#watchLoop}).
 */
public final class HostProxy implements HostControl, AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(HostProxy.class);

  /**
   * Settings of a host proxy.
   *
   * @param enclave the enclave's API address
   * @param listen public listener
   * @param admin admin listener (loopback or unix:), or null
   * @param region AWS region handed to the enclave
   * @param initKmsKeyId KMS key to create the key set with on first boot, or null (wait for admin)
   * @param tlsCert PEM certificate chain of the public listener, or null
   * @param tlsKey PEM PKCS#8 key, or null
   * @param kmsEgressListen where the enclave's KMS traffic arrives, or null for no egress pipe
   * @param kmsTarget where it goes (must be allowlisted)
   * @param kmsExtraAllowed one more allowed target (the mock KMS), or null
   * @param enclaveLogListen where the enclave's log stream arrives, or null
   * @param enclaveClient connection settings of the bridge
   * @param shutdownGrace how long shutdown waits for requests in flight
   * @param idleTimeout idle connection timeout of the listeners
   * @param credentialsRefresh how often credentials are checked for a change
   */
  public record Config(
      Endpoint enclave,
      Endpoint listen,
      Endpoint admin,
      String region,
      String initKmsKeyId,
      Path tlsCert,
      Path tlsKey,
      Endpoint kmsEgressListen,
      Endpoint kmsTarget,
      Endpoint kmsExtraAllowed,
      Endpoint enclaveLogListen,
      EnclaveClient.Settings enclaveClient,
      Duration shutdownGrace,
      Duration idleTimeout,
      Duration credentialsRefresh) {
    /** Validates the settings. */
    public Config {
      Objects.requireNonNull(enclave, "enclave");
      Objects.requireNonNull(listen, "listen");
      Objects.requireNonNull(region, "region");
      Objects.requireNonNull(enclaveClient, "enclaveClient");
      Objects.requireNonNull(shutdownGrace, "shutdownGrace");
      Objects.requireNonNull(idleTimeout, "idleTimeout");
      Objects.requireNonNull(credentialsRefresh, "credentialsRefresh");
      if (kmsEgressListen != null) {
        Objects.requireNonNull(kmsTarget, "kmsTarget");
      }
    }
  }

  private final Config config;
  private final ArtefactStore store;
  private final String storeDescription;
  private final CredentialsProvider credentials;
  private final Clock clock;
  private final HostMetrics metrics = new HostMetrics();
  private final EventLoopGroup boss = Transports.newEventLoopGroup(1);
  private final EventLoopGroup workers = Transports.newEventLoopGroup(0);
  private final EnclaveClient enclave;

  /** Sender identity (issue 23): the sealed sender set, its genesis, restore and updates. */
  private final SenderSetKeeper senders;

  private final HostServer server;
  private final HostApiService service;
  private final EnclaveLogListener logListener = new EnclaveLogListener();
  private KmsEgress egress;
  private volatile Endpoint egressBound;
  private Thread bootThread;
  private Thread refreshThread;
  private Thread senderSyncThread;
  private Thread watchThread;

  /** The key set: boot sequence, admin operations, readiness. */
  private final KeySetKeeper keySet;

  /** A host proxy over an open store (which it closes on shutdown), default upload limits. */
  public HostProxy(
      Config config,
      ArtefactStore store,
      String storeDescription,
      CredentialsProvider credentials,
      Clock clock) {
    this(config, store, storeDescription, credentials, clock, UploadLimits.defaults());
  }

  /** A host proxy over an open store (which it closes on shutdown). */
  public HostProxy(
      Config config,
      ArtefactStore store,
      String storeDescription,
      CredentialsProvider credentials,
      Clock clock,
      UploadLimits uploads) {
    this(
        config,
        store,
        storeDescription,
        credentials,
        clock,
        uploads,
        SenderSetKeeper.Settings.none());
  }

  /**
   * A host proxy over an open store that keeps the key set's sealed sender set (issue 23), with
   * the default per-sender limits ({@link SenderLimits#defaults()}).
   */
  public HostProxy(
      Config config,
      ArtefactStore store,
      String storeDescription,
      CredentialsProvider credentials,
      Clock clock,
      UploadLimits uploads,
      SenderSetKeeper.Settings senderSettings) {
    this(
        config,
        store,
        storeDescription,
        credentials,
        clock,
        uploads,
        senderSettings,
        SenderLimits.defaults());
  }

  /** A host proxy with its own per-sender limits of sends (issue 23, {@link SenderLimits}), no KDM mail. */
  public HostProxy(
      Config config,
      ArtefactStore store,
      String storeDescription,
      CredentialsProvider credentials,
      Clock clock,
      UploadLimits uploads,
      SenderSetKeeper.Settings senderSettings,
      SenderLimits senderLimits) {
    this(
        config,
        store,
        storeDescription,
        credentials,
        clock,
        uploads,
        senderSettings,
        senderLimits,
        MailSettings.none());
  }

  /** A host proxy that e-mails KDMs as {@code mail} says (issue 25; {@link MailSettings#none()}: no mail). */
  public HostProxy(
      Config config,
      ArtefactStore store,
      String storeDescription,
      CredentialsProvider credentials,
      Clock clock,
      UploadLimits uploads,
      SenderSetKeeper.Settings senderSettings,
      SenderLimits senderLimits,
      MailSettings mail) {
    this.config = Objects.requireNonNull(config, "config");
    this.store = Objects.requireNonNull(store, "store");
    this.storeDescription = storeDescription;
    this.credentials = Objects.requireNonNull(credentials, "credentials");
    this.clock = Objects.requireNonNull(clock, "clock");
    this.enclave = new EnclaveClient(config.enclaveClient(), workers);
    this.senders = new SenderSetKeeper(enclave, store, senderSettings);
    this.keySet = new KeySetKeeper(config, store, credentials, enclave, senders);
    this.service =
        new HostApiService(
            store,
            enclave,
            metrics,
            this,
            clock,
            RecipientAuth.withRandomSecret(clock),
            senderLimits,
            mail);
    this.server =
        new HostServer(
            new HostServer.Settings(
                config.listen(),
                config.admin(),
                HostApi.MAX_REQUEST_BYTES,
                config.idleTimeout(),
                config.tlsCert(),
                config.tlsKey(),
                uploads),
            service);
    metrics.gauge(
        "keycast_host_in_flight_requests", "gauge", "requests in flight", server::inFlight);
    metrics.gauge(
        "keycast_host_enclave_requests_total",
        "counter",
        "requests sent to the enclave",
        enclave::requestCount);
    metrics.gauge(
        "keycast_host_enclave_transport_errors_total",
        "counter",
        "enclave requests that got no answer",
        enclave::transportErrorCount);
    metrics.gauge(
        "keycast_host_enclave_log_lines_total",
        "counter",
        "enclave log lines written",
        logListener::lines);
    metrics.gauge(
        "keycast_host_enclave_log_dropped_total",
        "counter",
        "enclave log lines dropped (too long)",
        logListener::dropped);
    metrics.gauge(
        "keycast_host_ready",
        "gauge",
        "1 when the host serves sends",
        () -> keySet.readiness().ready() ? 1 : 0);
  }

  /** Binds every listener and starts the boot sequence in the background. */
  public void start() throws IOException, InterruptedException {
    if (config.kmsEgressListen() != null) {
      egress =
          new KmsEgress(
              config.kmsEgressListen(),
              config.kmsTarget(),
              config.region(),
              config.kmsExtraAllowed(),
              256);
      Endpoint bound = egress.start(boss, workers);
      egressBound = bound;
      KmsEgress e = egress;
      metrics.gauge(
          "keycast_host_kms_egress_connections_total",
          "counter",
          "KMS egress connections accepted",
          () -> e.stats().accepted());
      metrics.gauge(
          "keycast_host_kms_egress_active",
          "gauge",
          "KMS egress connections open",
          () -> e.stats().active());
      metrics.gauge(
          "keycast_host_kms_egress_connect_failures_total",
          "counter",
          "KMS egress connects that failed",
          () -> e.stats().connectFailures());
      metrics.gauge(
          "keycast_host_kms_egress_upstream_bytes_total",
          "counter",
          "bytes from the enclave to KMS",
          () -> e.stats().bytesUpstream());
      metrics.gauge(
          "keycast_host_kms_egress_downstream_bytes_total",
          "counter",
          "bytes from KMS to the enclave",
          () -> e.stats().bytesDownstream());
      LOG.info("KMS egress {} -> {}", bound, egress.target());
    }
    if (config.enclaveLogListen() != null) {
      Endpoint bound = logListener.start(config.enclaveLogListen(), boss, workers);
      LOG.info("enclave log stream on {}", bound);
    }
    server.start(boss, workers);
    bootThread = Thread.ofVirtual().name("keycast-boot").start(keySet::boot);
    refreshThread = Thread.ofVirtual().name("keycast-credentials").start(keySet::refreshLoop);
    senderSyncThread = Thread.ofVirtual().name("keycast-sender-sync").start(this::senderSyncLoop);
    watchThread = Thread.ofVirtual().name("keycast-enclave-watch").start(keySet::watchLoop);
  }

  /**
   * Every {@link SenderSetKeeper#SYNC_INTERVAL} while ready: the sender set another parent sharing
   * the store changed reaches this parent's enclave ({@link SenderSetKeeper#syncFromStore}).
   */
  private void senderSyncLoop() {
    try {
      while (!Thread.currentThread().isInterrupted()) {
        Thread.sleep(SenderSetKeeper.SYNC_INTERVAL.toMillis());
        if (keySet.readiness().ready()) {
          senders.syncFromStore();
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** The public listener's bound address. */
  public Endpoint publicEndpoint() {
    return server.publicEndpoint();
  }

  /** The admin listener's bound address, or null. */
  public Endpoint adminEndpoint() {
    return server.adminEndpoint();
  }

  /** The KMS egress listener's bound address, or null. */
  public Endpoint kmsEgressEndpoint() {
    return egressBound;
  }

  /** The metrics registry. */
  public HostMetrics metrics() {
    return metrics;
  }

  /** Waits until ready (or the timeout); returns whether ready. */
  public boolean awaitReady(Duration timeout) throws InterruptedException {
    long end = System.nanoTime() + timeout.toNanos();
    while (!keySet.readiness().ready() && System.nanoTime() < end) {
      Thread.sleep(20);
    }
    return keySet.readiness().ready();
  }

  // ------------------------------------------------------------------ HostControl

  @Override
  public HostApi.Status initKeySet(String kmsKeyId) throws ApiException, InterruptedException {
    keySet.initKeySet(kmsKeyId);
    return status();
  }

  @Override
  public EnclaveApi.KeySetResponse rewrapKeySet(byte[] approval)
      throws ApiException, InterruptedException {
    return keySet.rewrapKeySet(approval);
  }

  @Override
  public dev.keycast.host.server.HttpAnswer kdmSignerCsr(
      String organization, String organizationalUnit, String entity)
      throws ApiException, InterruptedException {
    return keySet.kdmSignerCsr(organization, organizationalUnit, entity);
  }

  @Override
  public EnclaveApi.KeySetResponse importKdmSignerChain(byte[] pemChain)
      throws ApiException, InterruptedException {
    return keySet.importKdmSignerChain(pemChain);
  }

  @Override
  public EnclaveApi.Readiness readiness() {
    return keySet.readiness();
  }

  @Override
  public EnclaveApi.KeyBundle keyBundle() {
    return keySet.keyBundle();
  }

  @Override
  public HostApi.Status status() {
    EnclaveApi.Readiness r = keySet.readiness();
    return new HostApi.Status(
        r.state(),
        r.keySetId(),
        keySet.sealedVersion(),
        config.enclave().toString(),
        storeDescription);
  }

  // ------------------------------------------------------------------ shutdown

  /** Stops accepting, drains requests in flight for the configured grace, closes everything. */
  public void shutdown() throws InterruptedException {
    LOG.info(
        "shutting down: draining requests in flight for at most {} s",
        config.shutdownGrace().toSeconds());
    if (bootThread != null) {
      bootThread.interrupt();
    }
    if (refreshThread != null) {
      refreshThread.interrupt();
    }
    if (senderSyncThread != null) {
      senderSyncThread.interrupt();
    }
    if (watchThread != null) {
      watchThread.interrupt();
    }
    server.shutdown(config.shutdownGrace());
    service.close();
    if (egress != null) {
      egress.close();
    }
    logListener.close();
    enclave.close();
    boss.shutdownGracefully(0, 1, TimeUnit.SECONDS).await(5, TimeUnit.SECONDS);
    workers.shutdownGracefully(0, 1, TimeUnit.SECONDS).await(5, TimeUnit.SECONDS);
    try {
      store.close();
    } catch (StoreException e) {
      LOG.warn("closing the store failed: {}", e.code().id());
    }
  }

  @Override
  public void close() throws InterruptedException {
    shutdown();
  }

  /** The allowlist check of {@link KmsEgress}, for option validation. */
  static Set<Endpoint> kmsAllowlist(String region) {
    return KmsEgress.allowlist(region);
  }

  @Override
  public dev.keycast.host.server.HttpAnswer senders(String method, byte[] body)
      throws ApiException, InterruptedException {
    return senders.handle(method, body);
  }

  @Override
  public java.util.List<dev.keycast.protocol.sender.SenderKey> senderKeys(boolean refresh)
      throws InterruptedException {
    return senders.allowedSenders(refresh);
  }
}
