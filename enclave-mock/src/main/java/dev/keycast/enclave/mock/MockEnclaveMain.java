package dev.keycast.enclave.mock;

import dev.keycast.enclave.EnclaveLauncher;
import dev.keycast.enclave.ServerOptions;
import dev.keycast.enclave.attest.EnclaveRandom;
import dev.keycast.enclave.kms.KmsConnector;
import dev.keycast.mock.nitro.MockAttester;
import dev.keycast.protocol.attestation.Attester;
import dev.keycast.transport.Endpoint;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CountDownLatch;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * Mock-enclave mode, NOT AN ENCLAVE: {@code java -jar keycast-enclave-mock.jar --state DIR
 * --listen tcp://...|unix:...}. The production enclave server with the mock attester of {@code
 * mock-nitro} (a local mock root signs documents in the NSM's format) and, optionally, one PEM
 * certificate trusted for KMS TLS (the mock KMS's). Prints a banner and logs a warning on start.
 *
 * <p>Dev tier: this class and the mock attester are in {@code keycast-enclave-mock.jar} only; the
 * production {@code keycast-enclave.jar} has neither (enclave-app's {@code ProductionJarIT}).
 */
@Command(
    name = "keycast-enclave-mock",
    mixinStandardHelpOptions = true,
    description =
        "Keycast enclave server in MOCK mode (NOT AN ENCLAVE): mock attester, local state.")
public final class MockEnclaveMain implements Callable<Integer> {
  private static final org.slf4j.Logger log = LoggerFactory.getLogger(MockEnclaveMain.class);

  /** What the mock launcher prints and logs on start. */
  public static final String MOCK_BANNER =
      """

      ##############################################################################
      ##  NOT AN ENCLAVE: keycast-enclave runs in MOCK mode.                      ##
      ##  Attestation documents are signed by a local mock root, not AWS Nitro.   ##
      ##  Secrets handled by this process are NOT protected by an enclave.        ##
      ##############################################################################
      """;

  @Mixin ServerOptions server;

  @Spec CommandSpec spec;

  @Option(
      names = "--state",
      required = true,
      description = "directory of the mock PKI and measurements.json (created on first start)")
  Path state;

  @Option(
      names = "--kms-tls-cert",
      description =
          "PEM certificate to trust for KMS TLS (the mock KMS's); default: the Amazon roots")
  Path kmsTlsCert;

  @Option(names = "--log-to", description = "also ship logs to this tcp:// or unix: endpoint")
  String logTo;

  private final EnclaveLauncher.KeySetServiceFactory keySets;
  final CountDownLatch started = new CountDownLatch(1);
  private volatile EnclaveLauncher launcher;

  public MockEnclaveMain(EnclaveLauncher.KeySetServiceFactory keySets) {
    this.keySets = keySets;
  }

  public static void main(String[] args) {
    System.exit(
        new CommandLine(new MockEnclaveMain(EnclaveLauncher::kmsKeySetService)).execute(args));
  }

  @Override
  public Integer call() throws Exception {
    dev.keycast.protocol.upgrade.ImageApprovers approvers =
        server.imageApprovers(spec.commandLine());
    Endpoint endpoint = Endpoint.parse(server.listen());
    Endpoint egress = Endpoint.parse(server.kmsEgress());
    Endpoint logTarget = logTo == null ? null : Endpoint.parse(logTo);
    System.err.println(MOCK_BANNER);
    // The mock PKI and measurements (key generation, hashing the jar) take a moment: the listener
    // comes up first and /v1/ready says "starting" meanwhile.
    Path dir = state;
    CompletableFuture<Attester> attester =
        CompletableFuture.supplyAsync(
            () -> {
              try {
                return MockAttester.create(dir);
              } catch (Exception e) {
                throw new CompletionException(e);
              }
            },
            task -> Thread.ofPlatform().name("keycast-startup").daemon().start(task));
    Path cert = kmsTlsCert;
    EnclaveLauncher.KmsConnectorSource kms =
        cert == null
            ? () -> KmsConnector.production(egress)
            : () -> KmsConnector.trusting(egress, cert);
    EnclaveLauncher.Settings settings =
        new EnclaveLauncher.Settings(
            endpoint, kms, server.kmsKeyArns(), server.workers(), logTarget, true, approvers);
    launcher =
        EnclaveLauncher.start(settings, attester, EnclaveRandom.seededFromOs(), null, keySets);
    log.warn("NOT AN ENCLAVE: mock mode, attestation by a local mock root in {}", state);
    return launcher.serveUntilStopped(started);
  }

  /** Graceful stop, as on SIGTERM. */
  void stop() {
    EnclaveLauncher l = launcher;
    if (l != null) {
      l.stop();
    }
  }

  /** The running launcher (for tests), else null. */
  EnclaveLauncher launcher() {
    return launcher;
  }
}
