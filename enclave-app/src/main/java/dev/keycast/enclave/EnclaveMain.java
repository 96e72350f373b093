package dev.keycast.enclave;

import dev.keycast.enclave.attest.EnclaveRandom;
import dev.keycast.enclave.attest.IoctlNsmDevice;
import dev.keycast.enclave.attest.NsmAttester;
import dev.keycast.enclave.attest.NsmClient;
import dev.keycast.enclave.attest.NsmDeviceException;
import dev.keycast.enclave.kms.KmsConnector;
import dev.keycast.enclave.net.LoopbackException;
import dev.keycast.enclave.net.LoopbackInterface;
import dev.keycast.protocol.attestation.Attester;
import dev.keycast.transport.Endpoint;
import dev.keycast.transport.VsockEndpoint;
import java.security.SecureRandom;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * The production enclave application: {@code keycast-enclave --listen vsock://ANY:5000 --kms-egress
 * vsock://3:8000 --log-port 5001} inside a Nitro Enclave, attesting through the NSM and trusting
 * only the Amazon Trust Services roots for KMS. It has no mock mode: the mock attester and its
 * launcher live in the dev modules {@code mock-nitro} and {@code enclave-mock}, which the
 * production jar does not contain (architecture.md, "Trust tiers").
 *
 * <p>Start-up does no heavy work: the key set arrives later through {@code /v1/keyset/init} or
 * {@code /v1/keyset/unseal}. SIGTERM stops accepting, lets running requests finish (10 s) and
 * exits.
 */
@Command(
    name = "keycast-enclave",
    mixinStandardHelpOptions = true,
    description = "Keycast enclave server (HTTP API over vsock://, unix: or tcp://).")
public final class EnclaveMain implements Callable<Integer> {
  private static final org.slf4j.Logger log = LoggerFactory.getLogger(EnclaveMain.class);

  @Mixin ServerOptions server;

  @Spec CommandSpec spec;

  @Option(
      names = "--log-port",
      defaultValue = "5001",
      description = "ship logs to vsock://3:PORT (default ${DEFAULT-VALUE})")
  int logPort;

  private final EnclaveLauncher.KeySetServiceFactory keySets;
  final CountDownLatch started = new CountDownLatch(1);
  private volatile EnclaveLauncher launcher;

  public EnclaveMain(EnclaveLauncher.KeySetServiceFactory keySets) {
    this.keySets = keySets;
  }

  public static void main(String[] args) {
    System.exit(new CommandLine(new EnclaveMain(EnclaveLauncher::kmsKeySetService)).execute(args));
  }

  @Override
  public Integer call() throws Exception {
    dev.keycast.protocol.upgrade.ImageApprovers approvers =
        server.imageApprovers(spec.commandLine());
    Endpoint endpoint = Endpoint.parse(server.listen());
    Endpoint egress = Endpoint.parse(server.kmsEgress());
    NsmClient nsm;
    try {
      nsm = new NsmClient(IoctlNsmDevice.open());
    } catch (NsmDeviceException e) { // no NSM: not an enclave, fail now with one line
      System.err.println(
          "keycast-enclave: not inside a Nitro Enclave ("
              + e.getMessage()
              + "): this image runs only as an EIF under nitro-cli; on plain Docker or a local machine"
              + " use the mock image or jar (keycast-enclave-mock.jar, Dockerfile.enclave target mock)");
      return 1;
    }
    CompletableFuture<Attester> attester =
        CompletableFuture.completedFuture(NsmAttester.create(nsm));
    SecureRandom random = EnclaveRandom.seededFromNsm(nsm);
    // A Nitro Enclave boots with lo down and the image has no shell: bring it up here, before
    // the KMS connector's in-process pipe listens on 127.0.0.1. Without it no KMS call can work,
    // so the key set service then reports "failed" with the reason (visible in /v1/ready).
    String noLoopback = null;
    try {
      log.info("loopback interface {}", LoopbackInterface.bringUp().describe());
    } catch (LoopbackException e) {
      log.error("{}; KMS is unreachable, the key set service will not start", e.getMessage());
      noLoopback = e.getMessage();
    }
    EnclaveLauncher.Settings settings =
        new EnclaveLauncher.Settings(
            endpoint,
            () -> KmsConnector.production(egress),
            server.kmsKeyArns(),
            server.workers(),
            new VsockEndpoint(VsockEndpoint.CID_NITRO_PARENT, logPort),
            false,
            approvers);
    launcher = EnclaveLauncher.start(settings, attester, random, noLoopback, keySets);
    return launcher.serveUntilStopped(started);
  }

  /** Graceful stop, as on SIGTERM. */
  void stop() {
    EnclaveLauncher l = launcher;
    if (l != null) {
      l.stop();
    }
  }
}
