package dev.keycast.enclave;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.PatternLayoutEncoder;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.ConsoleAppender;
import dev.keycast.enclave.attest.AttesterException;
import dev.keycast.enclave.attest.Attester;
import dev.keycast.enclave.attest.EnclaveRandom;
import dev.keycast.enclave.attest.IoctlNsmDevice;
import dev.keycast.enclave.attest.MockAttester;
import dev.keycast.enclave.attest.NsmAttester;
import dev.keycast.enclave.attest.NsmClient;
import dev.keycast.enclave.attest.NsmDeviceException;
import dev.keycast.enclave.keyset.KeySetException;
import dev.keycast.enclave.keyset.KeySetService;
import dev.keycast.enclave.keyset.KmsKeySetService;
import dev.keycast.enclave.kms.KmsConnector;
import dev.keycast.enclave.net.LoopbackException;
import dev.keycast.enclave.net.LoopbackInterface;
import dev.keycast.enclave.server.EnclaveMetrics;
import dev.keycast.enclave.server.EnclaveServer;
import dev.keycast.enclave.server.LogShippingAppender;
import dev.keycast.protocol.crypto.CryptoBackends;
import dev.keycast.transport.Endpoint;
import dev.keycast.transport.VsockEndpoint;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CountDownLatch;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The enclave application: {@code keycast-enclave --listen vsock://ANY:5000 --kms-egress
 * vsock://3:8000 --log-port 5001} inside a Nitro Enclave, or {@code --mock --listen tcp://...
 * --state DIR} on an ordinary machine (mock attester, loud banner).
 *
 * <p>Start-up does no heavy work: the key set arrives later through {@code /v1/keyset/init} or
 * {@code /v1/keyset/unseal}. SIGTERM stops accepting, lets running requests finish (10 s) and
 * exits.
 */
@Command(name = "keycast-enclave", mixinStandardHelpOptions = true,
    description = "Keycast enclave server (HTTP API over vsock://, unix: or tcp://).")
public final class EnclaveMain implements Callable<Integer> {
  private static final org.slf4j.Logger log = LoggerFactory.getLogger(EnclaveMain.class);

  /** What the enclave prints and logs when it runs with the mock attester. */
  public static final String MOCK_BANNER = """

      ##############################################################################
      ##  NOT AN ENCLAVE: keycast-enclave runs in MOCK mode.                      ##
      ##  Attestation documents are signed by a local mock root, not AWS Nitro.   ##
      ##  Secrets handled by this process are NOT protected by an enclave.        ##
      ##############################################################################
      """;

  /** Builds the key set service (KMS sealing through the egress pipe). */
  @FunctionalInterface
  public interface KeySetServiceFactory {
    KeySetService create(Attester attester, SecureRandom random, Endpoint kmsEgress, Path kmsTlsCert,
        java.util.Set<String> kmsKeyArns) throws Exception;
  }

  @Option(names = "--listen", required = true,
      description = "vsock://ANY:5000, unix:/path or tcp://host:port")
  String listen;

  @Option(names = "--mock", description = "mock attester (NOT AN ENCLAVE); needs --state")
  boolean mock;

  @Option(names = "--state", description = "mock mode: directory of the mock PKI and measurements")
  Path state;

  @Option(names = "--kms-egress", defaultValue = "vsock://3:8000",
      description = "where the host pipes the enclave's TLS connections to KMS (default ${DEFAULT-VALUE})")
  String kmsEgress;

  @Option(names = "--kms-tls-cert", description = "mock mode only: PEM certificate to trust for KMS TLS")
  Path kmsTlsCert;

  @Option(names = "--kms-key-arn", description = "pin the KMS key(s) the key set may be sealed under (repeatable)")
  java.util.List<String> kmsKeyArns;

  @Option(names = "--log-port", defaultValue = "5001",
      description = "production: ship logs to vsock://3:PORT (default ${DEFAULT-VALUE})")
  int logPort;

  @Option(names = "--log-to", description = "mock mode only: also ship logs to this tcp:// or unix: endpoint")
  String logTo;

  @Option(names = "--workers", description = "fan-out threads (default: the number of cores)")
  Integer workers;

  private final KeySetServiceFactory keySets;
  private final CountDownLatch stopped = new CountDownLatch(1);
  final CountDownLatch started = new CountDownLatch(1);
  private volatile LogShippingAppender shipping;
  private volatile EnclaveServer server;

  public EnclaveMain(KeySetServiceFactory keySets) {
    this.keySets = keySets;
  }

  public static void main(String[] args) {
    System.exit(new CommandLine(new EnclaveMain(EnclaveMain::kmsKeySetService)).execute(args));
  }

  /**
   * The key set service: {@link KmsKeySetService} reaching KMS through the host's egress pipe,
   * trusting the Amazon Trust Services roots of the image (production) or exactly {@code
   * --kms-tls-cert} (mock mode), sealing
   * only under the pinned KMS keys when {@code --kms-key-arn} is given.
   */
  static KeySetService kmsKeySetService(Attester attester, SecureRandom random, Endpoint kmsEgress,
      Path kmsTlsCert, java.util.Set<String> kmsKeyArns) throws Exception {
    KmsConnector connector = kmsTlsCert == null
        ? KmsConnector.production(kmsEgress)
        : KmsConnector.trusting(kmsEgress, kmsTlsCert);
    return kmsKeyArns.isEmpty()
        ? KmsKeySetService.create(attester, random, connector)
        : KmsKeySetService.create(attester, random, connector, kmsKeyArns);
  }

  @Override
  public Integer call() throws Exception {
    Endpoint endpoint = Endpoint.parse(listen);
    Endpoint egress = Endpoint.parse(kmsEgress);
    if (!mock && (kmsTlsCert != null || logTo != null || state != null)) {
      throw new CommandLine.ParameterException(new CommandLine(this),
          "--kms-tls-cert, --log-to and --state are for --mock only");
    }
    if (mock && state == null) {
      throw new CommandLine.ParameterException(new CommandLine(this), "--mock needs --state DIR");
    }
    int threads = workers != null ? workers : Runtime.getRuntime().availableProcessors();
    EnclaveMetrics metrics = new EnclaveMetrics();
    LogShippingAppender shipping = configureLogging(metrics);

    // Heavy start-up work (the mock PKI and measurements, the KMS client) runs in the background
    // while the listener comes up: /v1/health answers at once, /v1/ready says "starting" until the
    // key set service exists, and calls that need it wait for it (off the event loop).
    CompletableFuture<Attester> attesterReady;
    SecureRandom random;
    String noLoopback = null;
    if (mock) {
      System.err.println(MOCK_BANNER);
      log.warn("NOT AN ENCLAVE: mock mode, attestation by a local mock root in {}", state);
      Path dir = state;
      attesterReady = CompletableFuture.supplyAsync(() -> {
        try {
          return MockAttester.create(dir);
        } catch (Exception e) {
          throw new CompletionException(e);
        }
      }, task -> Thread.ofPlatform().name("keycast-startup").daemon().start(task));
      random = EnclaveRandom.seededFromOs();
    } else {
      NsmClient nsm;
      try {
        nsm = new NsmClient(IoctlNsmDevice.open());
      } catch (NsmDeviceException e) { // no NSM: not an enclave, fail now with one line
        System.err.println("keycast-enclave: not inside a Nitro Enclave (" + e.getMessage()
            + "): this image runs only as an EIF under nitro-cli; on plain Docker or a local machine"
            + " use the mock target (--mock)");
        return 1;
      }
      attesterReady = CompletableFuture.completedFuture(NsmAttester.create(nsm));
      random = EnclaveRandom.seededFromNsm(nsm);
      // A Nitro Enclave boots with lo down and the image has no shell: bring it up here, before
      // the KMS connector's in-process pipe listens on 127.0.0.1. Without it no KMS call can work,
      // so the key set service then reports "failed" with the reason (visible in /v1/ready).
      try {
        log.info("loopback interface {}", LoopbackInterface.bringUp().describe());
      } catch (LoopbackException e) {
        log.error("{}; KMS is unreachable, the key set service will not start", e.getMessage());
        noLoopback = e.getMessage();
      }
    }
    String loopbackFailure = noLoopback;
    CompletableFuture<KeySetService> keysReady = attesterReady.handle((attester, failure) -> {
      if (failure != null) {
        log.error("the attester could not be created: {}", failure.getMessage());
        return new UnavailableKeySetService("no attester: " + failure.getMessage());
      }
      if (loopbackFailure != null) {
        return new UnavailableKeySetService(loopbackFailure);
      }
      try {
        KeySetService k = keySets.create(attester, random, egress, kmsTlsCert,
            kmsKeyArns == null ? java.util.Set.of() : java.util.Set.copyOf(kmsKeyArns));
        log.info("key set service ready ({})", attester.describe());
        return k;
      } catch (Exception e) {
        log.error("the key set service could not be created ({}); serving as not ready", e.getMessage());
        return new UnavailableKeySetService(e.getMessage());
      }
    });
    server = EnclaveServer.start(endpoint, new DeferredKeySetService(keysReady),
        new DeferredAttester(attesterReady, mock), random, Clock.systemUTC(), threads, metrics);
    log.info("serving on {} ({}; {} workers)", server.endpoint(),
        mock ? "MOCK attester, NOT AN ENCLAVE" : "NSM attester", threads);
    // Chooses the RSA/X25519 backend now (libcrypto load + known-answer self-test) rather than on
    // the first send, and says which one serves: "openssl" or "java" (keycast.crypto=auto|openssl|java).
    log.info("crypto backend: {}", CryptoBackends.description());
    this.shipping = shipping;
    Runtime.getRuntime().addShutdownHook(new Thread(this::stop, "keycast-shutdown"));
    started.countDown();
    server.awaitClose();
    stopped.await();
    return 0;
  }

  /** Graceful stop (the SIGTERM hook): no new connections, running requests finish (10 s). */
  void stop() {
    EnclaveServer s = server;
    if (s != null && stopped.getCount() > 0) {
      log.info("stopping");
      s.shutdown(Duration.ofSeconds(10));
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
      return k != null ? k.readiness()
          : new dev.keycast.protocol.api.EnclaveApi.Readiness(false, "starting", null, "starting up");
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
    public Initialized init(String kmsKeyId, String region,
        dev.keycast.protocol.api.EnclaveApi.AwsCredentials credentials) throws KeySetException {
      return delegate.join().init(kmsKeyId, region, credentials);
    }

    @Override
    public dev.keycast.protocol.keyset.KeyBundle unseal(byte[] sealedKeySet, String region,
        dev.keycast.protocol.api.EnclaveApi.AwsCredentials credentials) throws KeySetException {
      return delegate.join().unseal(sealedKeySet, region, credentials);
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
      return a != null ? a.describe() : (mock ? "MOCK attester (starting)" : "NSM attester (starting)");
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
    public Initialized init(String kmsKeyId, String region,
        dev.keycast.protocol.api.EnclaveApi.AwsCredentials credentials) throws KeySetException {
      throw new KeySetException(dev.keycast.protocol.api.ErrorCode.KMS_UNAVAILABLE, reason);
    }

    @Override
    public dev.keycast.protocol.keyset.KeyBundle unseal(byte[] sealedKeySet, String region,
        dev.keycast.protocol.api.EnclaveApi.AwsCredentials credentials) throws KeySetException {
      throw new KeySetException(dev.keycast.protocol.api.ErrorCode.KMS_UNAVAILABLE, reason);
    }

    @Override
    public void updateCredentials(dev.keycast.protocol.api.EnclaveApi.AwsCredentials credentials) {}
  }

  /** Console on stderr always; shipping to the host (production) or to {@code --log-to} (mock). */
  private LogShippingAppender configureLogging(EnclaveMetrics metrics) {
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
    Endpoint target = mock
        ? (logTo == null ? null : Endpoint.parse(logTo))
        : new VsockEndpoint(VsockEndpoint.CID_NITRO_PARENT, logPort);
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

  /** The bound endpoint once started (for tests), else null. */
  EnclaveServer server() {
    return server;
  }
}
