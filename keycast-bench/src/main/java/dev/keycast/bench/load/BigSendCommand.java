package dev.keycast.bench.load;

import dev.keycast.protocol.Base64Url;
import dev.keycast.protocol.Json;
import dev.keycast.protocol.MalformedInputException;
import dev.keycast.protocol.api.HostApi;
import dev.keycast.protocol.policy.SendPolicy;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * One send to many recipients (performance target 2): registers {@code --recipients} test
 * recipients (or reuses a cache), seals one send whose policy selects them, and reports the wall
 * time of {@code POST /v1/sends} (sealed, delivered, durably stored, receipt returned).
 */
@Command(
    name = "big-send",
    mixinStandardHelpOptions = true,
    description = "Register N recipients, then time one send to all of them.")
public final class BigSendCommand implements Callable<Integer> {
  /** Fingerprint lists longer than this do not fit the 256 KiB policy; above it, select by anchor. */
  static final int MAX_LISTED = 3_000;

  @Spec CommandSpec spec;

  @Mixin HostOptions host = new HostOptions();

  @Option(
      names = "--recipients",
      required = true,
      paramLabel = "N",
      description = "Number of recipients.")
  int recipients;

  @Option(
      names = "--kind",
      defaultValue = "rsa2048",
      description = "rsa2048 (synthetic public keys) or x25519 (default ${DEFAULT-VALUE}).")
  String kind;

  @Option(
      names = "--key-cache",
      paramLabel = "FILE",
      description =
          "Reuse the recipients in FILE when it holds at least N of the same selection mode; "
              + "otherwise generate and write it.")
  Path keyCache;

  @Option(
      names = "--select",
      defaultValue = "auto",
      description =
          "How the policy selects them: fingerprints, anchor (certificate chains from a test CA), "
              + "or auto (anchor above "
              + MAX_LISTED
              + ") (default ${DEFAULT-VALUE}).")
  String select;

  @Option(names = "--skip-register", description = "The cached recipients are already registered.")
  boolean skipRegister;

  @Option(
      names = "--register-concurrency",
      defaultValue = "16",
      description = "Concurrent registrations (default ${DEFAULT-VALUE}).")
  int registerConcurrency;

  @Option(
      names = "--verify",
      description = "Fetch the receipt afterwards with GET /v1/receipts/{id}.")
  boolean verify;

  @Override
  public Integer call() throws Exception {
    PrintWriter out = spec.commandLine().getOut();
    if (recipients < 1 || recipients > SendPolicy.MAX_RECIPIENTS) {
      throw new IllegalArgumentException("--recipients must be 1.." + SendPolicy.MAX_RECIPIENTS);
    }
    boolean anchor =
        switch (select) {
          case "anchor" -> true;
          case "fingerprints" -> {
            if (recipients > MAX_LISTED) {
              throw new IllegalArgumentException(
                  "--select fingerprints allows at most "
                      + MAX_LISTED
                      + " recipients (256 KiB policy)");
            }
            yield false;
          }
          case "auto" -> recipients > MAX_LISTED;
          default ->
              throw new IllegalArgumentException("--select must be auto, fingerprints or anchor");
        };
    SecureRandom random = new SecureRandom();
    Recipients.Batch batch = null;
    if (keyCache != null && Files.exists(keyCache)) {
      Recipients.Batch cached = Recipients.read(keyCache);
      if (cached.recipients().size() >= recipients && cached.chained() == anchor) {
        batch =
            new Recipients.Batch(cached.recipients().subList(0, recipients), cached.anchorDer());
        out.printf("reusing %,d recipients from %s%n", recipients, keyCache);
      }
    }
    if (batch == null) {
      long t0 = System.nanoTime();
      batch = Recipients.generate(kind, recipients, anchor, random);
      out.printf(
          "generated %,d %s recipients%s in %.1f s%n",
          recipients, kind, anchor ? " with chains" : "", (System.nanoTime() - t0) / 1e9);
      if (keyCache != null) {
        Recipients.write(keyCache, batch);
      }
    }
    try (ExecutorService executor = HostOptions.newExecutor()) {
      HostClient client = host.client(executor);
      if (!skipRegister) {
        Registrar.Outcome r =
            Registrar.register(
                client,
                executor,
                batch.recipients(),
                registerConcurrency,
                Map.of("source", "keycast-load"));
        out.printf(
            "registered in %.1f s: %,d new, %,d already known, failures %s%n",
            r.seconds(), r.created(), r.existing(), r.failures());
        if (!r.failures().isEmpty()) {
          return 1;
        }
      }
      SendSealer sealer = host.sealer(client, random, spec.commandLine().getErr());
      Instant now = Instant.now().truncatedTo(ChronoUnit.SECONDS);
      SendPolicy.RecipientSelector selector =
          anchor
              ? new SendPolicy.RecipientSelector(
                  null, List.of(Base64Url.encode(batch.anchorDer())), null)
              : new SendPolicy.RecipientSelector(
                  batch.recipients().stream().map(Recipients.Generated::fingerprint).toList(),
                  null,
                  null);
      SendPolicy policy =
          new SendPolicy(
              1,
              "big-send-" + Long.toHexString(random.nextLong()),
              "keycast-load",
              now.minus(1, ChronoUnit.HOURS),
              now.plus(1, ChronoUnit.DAYS),
              selector,
              false,
              recipients,
              null);
      byte[] secret = new byte[32];
      random.nextBytes(secret);
      byte[] payload = sealer.seal(policy, secret, random);
      java.util.Arrays.fill(secret, (byte) 0);

      long t0 = System.nanoTime();
      HostClient.Answer a = client.postJson("/v1/sends", payload);
      double seconds = (System.nanoTime() - t0) / 1e9;
      if (a.status() != 200) {
        out.printf(
            "POST /v1/sends answered %d %s after %.3f s%n", a.status(), a.errorCode(), seconds);
        return 1;
      }
      HostApi.SendResult r = a.as(HostApi.SendResult.class);
      out.printf(
          "one send to %,d recipients: %.3f s wall time (POST /v1/sends to 200), "
              + "%,d delivered, %,d skipped, answer %,d bytes, receipt %s%n",
          recipients,
          seconds,
          r.delivered().size(),
          r.skipped().size(),
          a.body().length,
          r.receiptId());
      if (!r.skipped().isEmpty()) {
        Map<String, Long> reasons =
            r.skipped().stream()
                .collect(
                    java.util.stream.Collectors.groupingBy(
                        s -> s.reason(),
                        java.util.TreeMap::new,
                        java.util.stream.Collectors.counting()));
        out.printf("skipped by reason: %s%n", reasons);
      }
      int status = r.delivered().size() >= recipients ? 0 : 1;
      if (verify) {
        HostClient.Answer v = client.get("/v1/receipts/" + r.receiptId());
        boolean ok = v.status() == 200 && verifyView(v, r);
        out.printf(
            "receipt %s: %s%n",
            r.receiptId(), ok ? "retrievable" : "NOT retrievable (" + v.status() + ")");
        status = ok ? status : 1;
      }
      return status;
    }
  }

  private static boolean verifyView(HostClient.Answer v, HostApi.SendResult r) {
    try {
      HostApi.ReceiptView view = v.as(HostApi.ReceiptView.class);
      return r.receiptId().equals(view.receiptId())
          && r.sendId().equals(view.sendId())
          && view.receipt() != null
          && !view.receipt().isEmpty();
    } catch (MalformedInputException e) {
      return false;
    }
  }

  static byte[] json(Object o) {
    return Json.encode(o);
  }
}
