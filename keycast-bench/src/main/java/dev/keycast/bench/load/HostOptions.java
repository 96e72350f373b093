package dev.keycast.bench.load;

import dev.keycast.protocol.MalformedInputException;
import dev.keycast.protocol.attestation.ExpectedPcrs;
import dev.keycast.protocol.attestation.TrustRoot;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import picocli.CommandLine.Option;

/** Options every subcommand shares: where the host is and how its attestation is checked. */
final class HostOptions {
  @Option(
      names = "--sender-key",
      paramLabel = "FILE",
      description =
          "The sender's Ed25519 private key (PEM, keycast sender keygen): every payload is"
              + " signed when it is sealed. The enclave refuses unsigned sends; presealed payloads must be"
              + " sent within its 300 s window.")
  Path senderKey;

  @Option(
      names = "--host",
      required = true,
      paramLabel = "URL",
      description = "Host proxy base URL, e.g. http://127.0.0.1:8080")
  URI host;

  @Option(
      names = "--timeout",
      paramLabel = "DURATION",
      defaultValue = "30s",
      converter = DurationConverter.class,
      description = "Per-request timeout (default ${DEFAULT-VALUE}).")
  Duration timeout;

  @Option(
      names = "--expect-pcrs",
      paramLabel = "FILE",
      description =
          "Expected PCRs JSON (wire-format.md 6.4); without it any enclave image is accepted (with a warning).")
  Path expectPcrs;

  @Option(
      names = "--trust-root",
      paramLabel = "PEM",
      description = "Also trust this attestation root (e.g. the mock enclave's); repeatable.")
  List<Path> trustRoots = new ArrayList<>();

  @Option(names = "--allow-debug", description = "Accept debug-mode enclaves (PCR0 all zeros).")
  boolean allowDebug;

  @Option(
      names = "--insecure-skip-attestation",
      description =
          "Do not verify the attestation (load runs against a mock enclave only); prints a warning.")
  boolean skipAttestation;

  HostClient client(ExecutorService executor) {
    if (!"http".equals(host.getScheme()) && !"https".equals(host.getScheme())) {
      throw new IllegalArgumentException("--host must be an http:// or https:// URL: " + host);
    }
    return new HostClient(host, timeout, executor);
  }

  SendSealer sealer(HostClient client, SecureRandom random, PrintWriter err)
      throws IOException, InterruptedException {
    ExpectedPcrs pcrs = null;
    List<TrustRoot> roots = new ArrayList<>();
    try {
      if (expectPcrs != null) {
        pcrs = ExpectedPcrs.parseJson(readCapped(expectPcrs, ExpectedPcrs.MAX_FILE_BYTES));
      }
      for (Path p : trustRoots) {
        roots.add(TrustRoot.fromPem(p.getFileName().toString(), readCapped(p, 64 * 1024)));
      }
    } catch (MalformedInputException e) {
      throw new IOException(e.getMessage(), e);
    }
    SendSealer sealer =
        SendSealer.attest(
            client,
            new SendSealer.AttestationCheck(skipAttestation, pcrs, roots, allowDebug),
            random,
            err);
    if (senderKey == null) {
      err.println(
          "load: no --sender-key: the sends are unsigned, and the enclave refuses them (api.md 2.3)");
      return sealer;
    }
    try {
      return sealer.signingWith(dev.keycast.protocol.sender.SenderKeyFiles.readPrivate(senderKey));
    } catch (MalformedInputException e) {
      throw new IOException(
          "--sender-key " + senderKey + ": not a PEM Ed25519 private key (keycast sender keygen)",
          e);
    }
  }

  static ExecutorService newExecutor() {
    return Executors.newVirtualThreadPerTaskExecutor();
  }

  private static byte[] readCapped(Path p, int max) throws IOException {
    long size = Files.size(p);
    if (size > max) {
      throw new IOException(p + " is " + size + " bytes, limit " + max);
    }
    return Files.readAllBytes(p);
  }
}
