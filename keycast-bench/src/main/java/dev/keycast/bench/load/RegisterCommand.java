package dev.keycast.bench.load;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** Generates test recipients, registers them, and writes the cache that 'sends' and 'big-send' read. */
@Command(
    name = "register",
    mixinStandardHelpOptions = true,
    description = "Generate and register test recipients; write them to --out for reuse.")
public final class RegisterCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Mixin HostOptions host = new HostOptions();

  @Option(names = "--count", required = true, description = "How many recipients.")
  int count;

  @Option(
      names = "--kind",
      defaultValue = "x25519",
      description =
          "x25519 or rsa2048 (synthetic public keys, see the docs) (default ${DEFAULT-VALUE}).")
  String kind;

  @Option(
      names = "--with-chain",
      description = "Certify each key by a per-run test CA and register the chain.")
  boolean withChain;

  @Option(
      names = "--out",
      required = true,
      paramLabel = "FILE",
      description = "Recipients cache to write.")
  Path out;

  @Option(
      names = "--concurrency",
      defaultValue = "16",
      description = "Concurrent registrations (default ${DEFAULT-VALUE}).")
  int concurrency;

  @Override
  public Integer call() throws Exception {
    PrintWriter o = spec.commandLine().getOut();
    if (count < 1 || count > 1_000_000) {
      throw new IllegalArgumentException("--count must be 1..1000000");
    }
    long t0 = System.nanoTime();
    Recipients.Batch batch = Recipients.generate(kind, count, withChain, new SecureRandom());
    o.printf(
        "generated %,d %s recipients%s in %.1f s%n",
        count, kind, withChain ? " with chains" : "", (System.nanoTime() - t0) / 1e9);
    Recipients.write(out, batch);
    try (ExecutorService executor = HostOptions.newExecutor()) {
      HostClient client = host.client(executor);
      Registrar.Outcome r =
          Registrar.register(
              client, executor, batch.recipients(), concurrency, Map.of("source", "keycast-load"));
      o.printf(
          "registered in %.1f s: %,d new, %,d already known, failures %s; written to %s%n",
          r.seconds(), r.created(), r.existing(), r.failures(), out);
      return r.failures().isEmpty() ? 0 : 1;
    }
  }
}
