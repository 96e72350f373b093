package dev.keycast.enclave;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.PatternLayoutEncoder;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.ConsoleAppender;
import dev.keycast.enclave.keyset.KeySetException;
import dev.keycast.enclave.keyset.KeySetService;
import dev.keycast.enclave.kms.KmsConnector;
import dev.keycast.enclave.server.EnclaveMetrics;
import dev.keycast.enclave.server.EnclaveServer;
import dev.keycast.enclave.server.LogShippingAppender;
import dev.keycast.protocol.attestation.Attester;
import dev.keycast.protocol.attestation.AttesterException;
import dev.keycast.protocol.crypto.CryptoBackends;
import dev.keycast.protocol.upgrade.ImageApprovers;
import dev.keycast.transport.Endpoint;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CountDownLatch;
import org.slf4j.LoggerFactory;

/**
 * Starts and stops the enclave server, whichever attester it runs with: the production {@link
 * EnclaveMain} (NSM attester, this jar) and the dev launcher {@code MockEnclaveMain} (mock attester,
 * module {@code enclave-mock}, never in the production jar) both end here.
 *
 * <p>Start-up does no heavy work on the caller's thread: the listener comes up at once, {@code
 * /v1/ready} says "starting" until the attester and the key set service exist (both built in the
 * background), and calls that need them wait for them, off the event loop.
 */
public final class EnclaveLauncher {
  private static final org.slf4j.Logger log = LoggerFactory.getLogger(EnclaveLauncher.class);

  /** Builds the key set service (KMS sealing through the egress pipe). */
  @FunctionalInterface
  public interface KeySetServiceFactory {
    KeySetService create(
        Attester attester, SecureRandom random, KmsConnectorSource kms, Set<String> kmsKeyArns)
        throws Exception;
  }

  /** Opens the KMS connector: the Amazon roots in production, a named CA in mock mode. */
  @FunctionalInterface
  public interface KmsConnectorSource {
    KmsConnector open() throws Exception;
  }

  /**
   * What the server needs to run.
   *
   * @param listen where the HTTP API listens
   * @param kms how to reach KMS (opened in the background)
   * @param kmsKeyArns the KMS keys the key set may be sealed under; empty: any
   * @param workers fan-out threads
   * @param logTarget where logs are shipped as well as stderr; null: stderr only
   * @param mock true when the attester is a mock (reported on every status line)
   * @param imageApprovers who may approve a successor image (kms-sealing.md section 7)
   */
  public record Settings(
      Endpoint listen,
      KmsConnectorSource kms,
      Set<String> kmsKeyArns,
      int workers,
      Endpoint logTarget,
      boolean mock,
      ImageApprovers imageApprovers) {
    public Settings {
      kmsKeyArns = Set.copyOf(kmsKeyArns);
      if (imageApprovers == null) {
        imageApprovers = ImageApprovers.NONE;
      }
      if (workers < 1) {
        throw new IllegalArgumentException("workers must be at least 1");
      }
    }
  }

  /**
   * The production key set service: {@link dev.keycast.enclave.keyset.KmsKeySetService} over the
   * given connector, sealing only under the pinned KMS keys when there are any.
   */
  public static KeySetService kmsKeySetService(
      Attester attester, SecureRandom random, KmsConnectorSource kms, Set<String> kmsKeyArns)
      throws Exception {
    KmsConnector connector = kms.open();
    return kmsKeyArns.isEmpty()
        ? dev.keycast.enclave.keyset.KmsKeySetService.create(attester, random, connector)
        : dev.keycast.enclave.keyset.KmsKeySetService.create(
            attester, random, connector, kmsKeyArns);
  }

  private final CountDownLatch stopped = new CountDownLatch(1);
  private final EnclaveServer server;
  private final LogShippingAppender shipping;

  private EnclaveLauncher(EnclaveServer server, LogShippingAppender shipping) {
    this.server = server;
    this.shipping = shipping;
  }

  /**
   * Configures logging, starts the server and returns at once; the attester and the key set
   * service come up in the background.
   *
   * @param attesterReady the attester, or how it fails
   * @param random the enclave DRBG
   * @param unavailable non-null: why no key set service can work (e.g. no loopback interface)
   */
  public static EnclaveLauncher start(
      Settings settings,
      CompletableFuture<Attester> attesterReady,
      SecureRandom random,
      String unavailable,
      KeySetServiceFactory keySets)
      throws Exception {
    EnclaveMetrics metrics = new EnclaveMetrics();
    LogShippingAppender shipping = configureLogging(metrics, settings.logTarget());
    CompletableFuture<KeySetService> keysReady =
        attesterReady.handle(
            (attester, failure) -> {
              if (failure != null) {
                log.error("the attester could not be created: {}", failure.getMessage());
                return new UnavailableKeySetService("no attester: " + failure.getMessage());
              }
              if (unavailable != null) {
                return new UnavailableKeySetService(unavailable);
              }
              try {
                KeySetService k =
                    keySets.create(attester, random, settings.kms(), settings.kmsKeyArns());
                if (k instanceof dev.keycast.enclave.keyset.KmsKeySetService kms
                    && !settings.imageApprovers().isEmpty()) {
                  k = kms.withImageApprovers(settings.imageApprovers());
                }
                log.info("key set service ready ({})", attester.describe());
                return k;
              } catch (Exception e) {
                log.error(
                    "the key set service could not be created ({}); serving as not ready",
                    e.getMessage());
                return new UnavailableKeySetService(e.getMessage());
              }
            });
    EnclaveServer server =
        EnclaveServer.start(
            settings.listen(),
            new DeferredKeySetService(keysReady),
            new DeferredAttester(attesterReady, settings.mock()),
            random,
            Clock.systemUTC(),
            settings.workers(),
            metrics);
    log.info(
        "serving on {} ({} attester; {} workers)",
        server.endpoint(),
        settings.mock() ? "MOCK" : "NSM",
        settings.workers());
    // Chooses the RSA/X25519 backend now (libcrypto load + known-answer self-test) rather than on
    // the first send, and says which one serves: "openssl" or "java"
    // (keycast.crypto=auto|openssl|java).
    log.info("crypto backend: {}", CryptoBackends.description());
    return new EnclaveLauncher(server, shipping);
  }

  /**
   * Runs a started launcher until it stops: installs the SIGTERM hook, counts {@code started}
   * down, and blocks until the server has closed and {@link #stop()} ran. Returns the exit status.
   */
  public int serveUntilStopped(CountDownLatch started) throws InterruptedException {
    Runtime.getRuntime().addShutdownHook(new Thread(this::stop, "keycast-shutdown"));
    started.countDown();
    awaitStopped();
    return 0;
  }

  /** The server (its bound endpoint, for tests and logs). */
  public EnclaveServer server() {
    return server;
  }

  /** Blocks until the server's channel closes and {@link #stop()} has run. */
  public void awaitStopped() throws InterruptedException {
    server.awaitClose();
    stopped.await();
  }

  /** Graceful stop (the SIGTERM hook): no new connections, running requests finish (10 s). */
  public void stop() {
    if (stopped.getCount() > 0) {
      log.info("stopping");
      server.shutdown(Duration.ofSeconds(10));
      if (shipping != null) {
        shipping.stop();
      }
      stopped.countDown();
    }
  }

  /** A key set service still being created: not ready ("starting"); calls wait for it. */
  private static final class DeferredKeySetService implements KeySetService {
    private final CompletableFuture<KeySetService> delegate;

    DeferredKeySetService(CompletableFuture<KeySetService> delegate) {
      this.delegate = delegate;
    }

    @Override
    public dev.keycast.protocol.api.EnclaveApi.Readiness readiness() {
      KeySetService k = delegate.getNow(null);
      return k != null
          ? k.readiness()
          : new dev.keycast.protocol.api.EnclaveApi.Readiness(
              false, "starting", null, "starting up");
    }

    @Override
    public java.util.Optional<dev.keycast.protocol.keyset.KeySet> current() {
      KeySetService k = delegate.getNow(null);
      return k == null ? java.util.Optional.empty() : k.current();
    }

    @Override
    public java.util.Optional<dev.keycast.protocol.keyset.KeyBundle> currentBundle() {
      KeySetService k = delegate.getNow(null);
      return k == null ? java.util.Optional.empty() : k.currentBundle();
    }

    @Override
    public Initialized init(
        String kmsKeyId,
        String region,
        dev.keycast.protocol.api.EnclaveApi.AwsCredentials credentials)
        throws KeySetException {
      return delegate.join().init(kmsKeyId, region, credentials);
    }

    @Override
    public dev.keycast.protocol.keyset.KeyBundle unseal(
        byte[] sealedKeySet,
        String region,
        dev.keycast.protocol.api.EnclaveApi.AwsCredentials credentials)
        throws KeySetException {
      return delegate.join().unseal(sealedKeySet, region, credentials);
    }

    @Override
    public Unsealed unsealAndMigrate(
        byte[] sealedKeySet,
        String region,
        dev.keycast.protocol.api.EnclaveApi.AwsCredentials credentials)
        throws KeySetException {
      return delegate.join().unsealAndMigrate(sealedKeySet, region, credentials);
    }

    @Override
    public java.util.Optional<dev.keycast.protocol.cinema.KdmSigner> kdmSigner() {
      KeySetService k = delegate.getNow(null);
      return k == null ? java.util.Optional.empty() : k.kdmSigner();
    }

    @Override
    public byte[] kdmSignerCsr(String organization, String organizationalUnit, String entity)
        throws KeySetException {
      return delegate.join().kdmSignerCsr(organization, organizationalUnit, entity);
    }

    @Override
    public Initialized importKdmSignerChain(
        java.util.List<byte[]> chainDer,
        dev.keycast.protocol.api.EnclaveApi.AwsCredentials credentials)
        throws KeySetException {
      return delegate.join().importKdmSignerChain(chainDer, credentials);
    }

    @Override
    public Initialized rewrap(
        dev.keycast.protocol.upgrade.ImageApproval approval,
        dev.keycast.protocol.api.EnclaveApi.AwsCredentials credentials)
        throws KeySetException {
      return delegate.join().rewrap(approval, credentials);
    }

    @Override
    public void updateCredentials(dev.keycast.protocol.api.EnclaveApi.AwsCredentials credentials) {
      delegate.join().updateCredentials(credentials);
    }
  }

  /** An attester still being created; {@link #attest} waits for it. */
  private static final class DeferredAttester implements Attester {
    private final CompletableFuture<Attester> delegate;
    private final boolean mock;

    DeferredAttester(CompletableFuture<Attester> delegate, boolean mock) {
      this.delegate = delegate;
      this.mock = mock;
    }

    @Override
    public byte[] attest(byte[] userData, byte[] nonce, byte[] publicKey) throws AttesterException {
      Attester a;
      try {
        a = delegate.join();
      } catch (CompletionException e) {
        throw new AttesterException("the attester could not be created", e.getCause());
      }
      return a.attest(userData, nonce, publicKey);
    }

    @Override
    public boolean isMock() {
      return mock;
    }

    @Override
    public String describe() {
      Attester a = delegate.getNow(null);
      return a != null
          ? a.describe()
          : (mock ? "MOCK attester (starting)" : "NSM attester (starting)");
    }
  }

  /** Answers every key set call with {@code kms_unavailable} and reports {@code failed}. */
  private static final class UnavailableKeySetService implements KeySetService {
    private final String reason;

    UnavailableKeySetService(String reason) {
      this.reason = "key set service unavailable: " + reason;
    }

    @Override
    public dev.keycast.protocol.api.EnclaveApi.Readiness readiness() {
      return new dev.keycast.protocol.api.EnclaveApi.Readiness(false, "failed", null, reason);
    }

    @Override
    public java.util.Optional<dev.keycast.protocol.keyset.KeySet> current() {
      return java.util.Optional.empty();
    }

    @Override
    public java.util.Optional<dev.keycast.protocol.keyset.KeyBundle> currentBundle() {
      return java.util.Optional.empty();
    }

    @Override
    public Initialized init(
        String kmsKeyId,
        String region,
        dev.keycast.protocol.api.EnclaveApi.AwsCredentials credentials)
        throws KeySetException {
      throw new KeySetException(dev.keycast.protocol.api.ErrorCode.KMS_UNAVAILABLE, reason);
    }

    @Override
    public dev.keycast.protocol.keyset.KeyBundle unseal(
        byte[] sealedKeySet,
        String region,
        dev.keycast.protocol.api.EnclaveApi.AwsCredentials credentials)
        throws KeySetException {
      throw new KeySetException(dev.keycast.protocol.api.ErrorCode.KMS_UNAVAILABLE, reason);
    }

    @Override
    public void updateCredentials(dev.keycast.protocol.api.EnclaveApi.AwsCredentials credentials) {}
  }

  /** Console on stderr always; shipping to {@code target} when there is one. */
  private static LogShippingAppender configureLogging(EnclaveMetrics metrics, Endpoint target) {
    if (!(LoggerFactory.getILoggerFactory() instanceof LoggerContext ctx)) {
      return null;
    }
    ctx.reset();
    Logger root = ctx.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
    root.setLevel(Level.INFO);
    ctx.getLogger("io.netty").setLevel(Level.WARN);
    PatternLayoutEncoder enc = new PatternLayoutEncoder();
    enc.setContext(ctx);
    enc.setPattern("%d{ISO8601,UTC} %-5level [%thread] %logger{36} - %msg%n");
    enc.start();
    ConsoleAppender<ILoggingEvent> console = new ConsoleAppender<>();
    console.setContext(ctx);
    console.setTarget("System.err");
    console.setEncoder(enc);
    console.start();
    root.addAppender(console);
    if (target == null) {
      return null;
    }
    LogShippingAppender shipping = new LogShippingAppender(target, 10_000);
    shipping.setContext(ctx);
    shipping.start();
    root.addAppender(shipping);
    metrics.counter("log_lines_dropped_total", shipping::dropped);
    return shipping;
  }
}
