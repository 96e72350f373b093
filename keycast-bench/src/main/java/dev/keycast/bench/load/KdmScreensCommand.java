package dev.keycast.bench.load;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.keycast.cli.KeycastCli;
import dev.keycast.protocol.Json;
import dev.keycast.protocol.MalformedInputException;
import dev.keycast.protocol.api.HostApi;
import dev.keycast.protocol.cinema.CinemaException;
import dev.keycast.protocol.cinema.KdmReader;
import dev.keycast.protocol.cinema.VerifiedKdm;
import dev.keycast.protocol.policy.SendPolicy;
import dev.keycast.protocol.sender.SenderKeyFiles;
import dev.keycast.protocol.sender.SenderSigningKey;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.LongAdder;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * One CPL to many screens (issue 24's "must show": 10,000 screens x one CPL x four keys): registers
 * N cinema screens (ST 430-2 chains under one manufacturer root, cached) with {@code POST
 * /v1/screens}, then runs ONE {@code keycast kdm send} in this process (the CLI's own code:
 * attestation, HPKE seal, sender signature, {@code POST /v1/sends}, receipt verified) selecting them
 * by the manufacturer root, and reports its wall time and the KDMs issued. With {@code --check} it
 * then fetches one cinema's zip with {@code keycast kdm fetch} and verifies one KDM with
 * {@link KdmReader} against the attested signer root and the screen's key.
 */
@Command(
    name = "kdm-screens",
    mixinStandardHelpOptions = true,
    description =
        "Register N cinema screens, then time one KDM send (one CPL, --keys content keys) to all of them.")
public final class KdmScreensCommand implements Callable<Integer> {
  /** The most content keys a bench send carries. */
  static final int MAX_KEYS = 16;

  /** The content-key types the keys cycle through. */
  static final List<String> KEY_TYPES = List.of("MDIK", "MDAK", "MDSK", "MDEK");

  @Spec CommandSpec spec;

  @Mixin HostOptions host = new HostOptions();

  @Option(
      names = "--screens",
      required = true,
      paramLabel = "N",
      description = "Number of screens.")
  int screens;

  @Option(
      names = "--per-cinema",
      defaultValue = "100",
      paramLabel = "N",
      description = "Screens per cinema (default ${DEFAULT-VALUE}); each cinema has a UTC offset.")
  int perCinema;

  @Option(
      names = "--keys",
      defaultValue = "4",
      paramLabel = "N",
      description = "Content keys of the CPL (default ${DEFAULT-VALUE}).")
  int keys;

  @Option(
      names = "--cache",
      paramLabel = "FILE",
      description =
          "Reuse the screens in FILE when it holds at least N valid ones with the same --per-cinema;"
              + " otherwise generate them and write FILE (it holds private keys: owner-only).")
  Path cache;

  @Option(
      names = "--work-dir",
      paramLabel = "DIR",
      description =
          "Where the root PEM, the keys file, the signer chain and fetched KDMs go (default: a new temp dir).")
  Path workDir;

  @Option(names = "--skip-register", description = "The screens are already registered.")
  boolean skipRegister;

  @Option(
      names = "--register-concurrency",
      defaultValue = "16",
      paramLabel = "N",
      description = "Concurrent registrations (default ${DEFAULT-VALUE}).")
  int registerConcurrency;

  @Option(
      names = "--measure-pid",
      paramLabel = "NAME=PID",
      description =
          "A local process (e.g. enclave=1234) whose CPU seconds during the send are reported"
              + " (from /proc/PID/stat). Repeatable.")
  Map<String, Integer> measurePids = new java.util.LinkedHashMap<>();

  @Option(
      names = "--check",
      description =
          "Afterwards fetch the first cinema's KDM zip (keycast kdm fetch) and verify one KDM with its screen's key.")
  boolean check;

  /** What one {@code keycast kdm send --json} reported. */
  record SendReport(
      String sendId,
      String receiptId,
      int issued,
      Map<String, Long> refusedByReason,
      double seconds) {
    long refused() {
      return refusedByReason.values().stream().mapToLong(Long::longValue).sum();
    }
  }

  /** Refuses option values out of range with one line saying what to fix. */
  void validate() {
    if (screens < 1 || screens > SendPolicy.MAX_RECIPIENTS) {
      throw new IllegalArgumentException("--screens must be 1.." + SendPolicy.MAX_RECIPIENTS);
    }
    if (perCinema < 1 || perCinema > 10_000) {
      throw new IllegalArgumentException("--per-cinema must be 1..10000");
    }
    if (keys < 1 || keys > MAX_KEYS) {
      throw new IllegalArgumentException("--keys must be 1.." + MAX_KEYS);
    }
    if (registerConcurrency < 1 || registerConcurrency > 1024) {
      throw new IllegalArgumentException("--register-concurrency must be 1..1024");
    }
    if (host.expectPcrs == null) {
      throw new IllegalArgumentException(
          "--expect-pcrs is required (keycast kdm send verifies the enclave;"
              + " run-local writes STATE/measurements.json)");
    }
    if (host.skipAttestation) {
      throw new IllegalArgumentException(
          "--insecure-skip-attestation: keycast kdm send always verifies the enclave;"
              + " pass --expect-pcrs and --trust-root instead");
    }
    if (host.senderKey == null) {
      throw new IllegalArgumentException(
          "--sender-key is required (screen registration and sends are signed)");
    }
  }

  @Override
  public Integer call() throws Exception {
    validate();
    PrintWriter out = spec.commandLine().getOut();
    Path work =
        workDir != null
            ? Files.createDirectories(workDir)
            : Files.createTempDirectory("keycast-kdm-screens");
    ScreenFleet.Fleet fleet = fleet(out);
    Path rootPem = work.resolve("manufacturer-root.pem");
    Files.writeString(
        rootPem, ScreenFleet.pem(List.of(fleet.rootDer())), StandardCharsets.US_ASCII);

    try (ExecutorService executor = HostOptions.newExecutor()) {
      HostClient client = host.client(executor);
      if (!skipRegister) {
        Registration r;
        try (SenderSigningKey sender = readSender()) {
          r = register(client, executor, fleet.screens(), sender, registerConcurrency);
        }
        out.printf(
            "registered %,d screens in %.1f s (%.0f/s, %d concurrent): %,d new, %,d replaced, failures %s%n",
            fleet.screens().size(),
            r.seconds(),
            fleet.screens().size() / r.seconds(),
            registerConcurrency,
            r.created(),
            r.replaced(),
            r.failures());
        out.printf(
            "RESULT register screens=%d seconds=%.3f per_second=%.1f%n",
            fleet.screens().size(), r.seconds(), fleet.screens().size() / r.seconds());
        out.flush();
        if (!r.failures().isEmpty()) {
          return 1;
        }
      }
    }

    // keycast kdm signer: the attested signer chain (its root verifies the KDMs), and a warm-up of
    // the CLI's attestation path in this JVM before the timed send.
    Path signerPem = work.resolve("kdm-signer.pem");
    cli(out, "kdm", "signer", "--out", signerPem.toString());
    UUID cpl = UUID.randomUUID();
    Path keysFile = work.resolve("content-keys.txt");
    Files.writeString(keysFile, keysFile(keys, new SecureRandom()), StandardCharsets.US_ASCII);
    Instant now = Instant.now().truncatedTo(ChronoUnit.SECONDS);
    List<String> send =
        new ArrayList<>(
            List.of(
                "kdm",
                "send",
                "--cpl",
                cpl.toString(),
                "--title",
                "Keycast Bench Feature",
                "--keys-file",
                keysFile.toString(),
                "--screen-root",
                rootPem.toString(),
                "--not-before",
                now.minus(1, ChronoUnit.HOURS).toString(),
                "--not-after",
                now.plus(7, ChronoUnit.DAYS).toString(),
                "--max-screens",
                Integer.toString(fleet.screens().size()),
                "--sender",
                "keycast-load kdm-screens",
                "--sender-key",
                host.senderKey.toString(),
                "--json"));
    Map<String, Integer> pids = new java.util.LinkedHashMap<>(measurePids);
    pids.put("load-tool", (int) ProcessHandle.current().pid());
    Map<String, Double> cpuBefore = cpuSeconds(pids);
    long t0 = System.nanoTime();
    String json = cli(out, send.toArray(String[]::new));
    double seconds = (System.nanoTime() - t0) / 1e9;
    Map<String, Double> cpuAfter = cpuSeconds(pids);
    SendReport report = parseSendReport(json, seconds);
    int n = fleet.screens().size();
    out.printf(
        "one KDM send to %,d screens (%d keys): %.3f s wall (keycast kdm send: attestation, seal, sign,"
            + " POST /v1/sends, receipt verified), %,d KDMs issued, %,d refused, %.0f KDMs/s, receipt %s%n",
        n,
        keys,
        seconds,
        report.issued(),
        report.refused(),
        report.issued() / seconds,
        report.receiptId());
    if (!report.refusedByReason().isEmpty()) {
      out.printf("refused by reason: %s%n", report.refusedByReason());
    }
    out.printf(
        "RESULT send screens=%d keys=%d seconds=%.3f issued=%d refused=%d kdms_per_second=%.1f%n",
        n, keys, seconds, report.issued(), report.refused(), report.issued() / seconds);
    StringBuilder cpu = new StringBuilder("RESULT cpu_seconds_during_send");
    cpuAfter.forEach(
        (name, after) -> {
          Double before = cpuBefore.get(name);
          cpu.append(' ')
              .append(name)
              .append('=')
              .append(
                  before == null || after < 0 || before < 0
                      ? "?"
                      : String.format("%.2f", after - before));
        });
    out.println(cpu);
    out.flush();
    int status = report.issued() == n && report.refused() == 0 ? 0 : 1;
    if (check) {
      status = check(out, work, fleet, signerPem, cpl) ? status : 1;
    }
    return status;
  }

  private ScreenFleet.Fleet fleet(PrintWriter out)
      throws IOException, CinemaException, GeneralSecurityException {
    if (cache != null && Files.exists(cache)) {
      ScreenFleet.Fleet cached = ScreenFleet.read(cache);
      if (cached.screens().size() >= screens
          && sameLayout(cached, perCinema)
          && ScreenFleet.validAt(cached, Instant.now().plus(8, ChronoUnit.DAYS))) {
        ScreenFleet.Fleet f = cached.first(screens);
        out.printf("reusing %,d screens in %,d cinemas from %s%n", screens, f.cinemas(), cache);
        return f;
      }
      out.printf(
          "%s does not hold %,d valid screens of %d per cinema: generating%n",
          cache, screens, perCinema);
    }
    long t0 = System.nanoTime();
    ScreenFleet.Fleet f = ScreenFleet.generate(screens, perCinema, 2, new SecureRandom());
    out.printf(
        "generated %,d screens (ST 430-2 chains, one manufacturer root) in %,d cinemas in %.1f s%n",
        screens, f.cinemas(), (System.nanoTime() - t0) / 1e9);
    out.flush();
    if (cache != null) {
      ScreenFleet.write(cache, f);
    }
    return f;
  }

  /** Whether {@code fleet}'s screens sit in cinemas of {@code perCinema} (the cache's layout). */
  static boolean sameLayout(ScreenFleet.Fleet fleet, int perCinema) {
    List<ScreenFleet.Screen> s = fleet.screens();
    int probe = Math.min(s.size() - 1, perCinema);
    return s.isEmpty()
        || (s.getFirst().cinema().equals(ScreenFleet.cinemaName(0, perCinema))
            && s.get(probe).cinema().equals(ScreenFleet.cinemaName(probe, perCinema)));
  }

  private SenderSigningKey readSender() throws IOException {
    try {
      return SenderKeyFiles.readPrivate(host.senderKey);
    } catch (MalformedInputException e) {
      throw new IOException(
          "--sender-key " + host.senderKey + ": not a PEM Ed25519 private key", e);
    }
  }

  /** Outcome of the registrations: new (201), replaced (200), failures by code. */
  record Registration(long created, long replaced, Map<String, Long> failures, double seconds) {}

  static Registration register(
      HostClient client,
      ExecutorService executor,
      List<ScreenFleet.Screen> screens,
      SenderSigningKey sender,
      int concurrency)
      throws InterruptedException {
    LongAdder created = new LongAdder();
    LongAdder replaced = new LongAdder();
    Map<String, LongAdder> failures = new ConcurrentHashMap<>();
    Semaphore gate = new Semaphore(concurrency);
    List<Future<?>> fs = new ArrayList<>(screens.size());
    long t0 = System.nanoTime();
    for (ScreenFleet.Screen s : screens) {
      gate.acquire();
      fs.add(
          executor.submit(
              () -> {
                try {
                  List<String> chain =
                      s.chainDer().stream()
                          .map(d -> Base64.getEncoder().encodeToString(d))
                          .toList();
                  HostClient.Answer a =
                      client.postSigned(
                          "/v1/screens",
                          Json.encode(
                              new HostApi.RegisterScreen(
                                  chain, s.cinema(), s.screen(), s.utcOffset(), List.of())),
                          sender);
                  if (a.status() == 201) {
                    created.increment();
                  } else if (a.status() == 200) {
                    replaced.increment();
                  } else {
                    failures.computeIfAbsent(a.errorCode(), k -> new LongAdder()).increment();
                  }
                } catch (IOException e) {
                  failures
                      .computeIfAbsent("io_" + e.getClass().getSimpleName(), k -> new LongAdder())
                      .increment();
                } catch (InterruptedException e) {
                  Thread.currentThread().interrupt();
                } finally {
                  gate.release();
                }
              }));
    }
    for (Future<?> f : fs) {
      try {
        f.get();
      } catch (java.util.concurrent.ExecutionException e) {
        failures.computeIfAbsent("client_error", k -> new LongAdder()).increment();
      }
    }
    Map<String, Long> fails = new TreeMap<>();
    failures.forEach((k, v) -> fails.put(k, v.sum()));
    return new Registration(created.sum(), replaced.sum(), fails, (System.nanoTime() - t0) / 1e9);
  }

  /** Linux USER_HZ: the unit of utime and stime in /proc/PID/stat (100 on every Linux ABI). */
  static final double USER_HZ = 100.0;

  /** Each process's user + system CPU seconds so far; -1 where /proc cannot tell. */
  static Map<String, Double> cpuSeconds(Map<String, Integer> pids) {
    Map<String, Double> out = new java.util.LinkedHashMap<>();
    pids.forEach(
        (name, pid) -> {
          try {
            out.put(
                name,
                cpuSecondsOfStat(
                    Files.readString(Path.of("/proc", Integer.toString(pid), "stat"))));
          } catch (IOException | RuntimeException e) {
            out.put(name, -1.0);
          }
        });
    return out;
  }

  /**
   * utime + stime (fields 14 and 15) of a /proc/PID/stat line, in seconds; the command name (field
   * 2, in parentheses) may hold spaces, so fields are counted after its closing parenthesis.
   */
  static double cpuSecondsOfStat(String stat) {
    int close = stat.lastIndexOf(')');
    if (close < 0) {
      throw new IllegalArgumentException("not a /proc/PID/stat line");
    }
    String[] f = stat.substring(close + 1).strip().split(" +");
    return (Long.parseLong(f[11]) + Long.parseLong(f[12])) / USER_HZ;
  }

  /** {@code n} content keys, one {@code UUID:TYPE:HEX} a line (the format of {@code kdm send --keys-file}). */
  static String keysFile(int n, SecureRandom random) {
    StringBuilder b = new StringBuilder("# keycast-load kdm-screens: random content keys\n");
    for (int i = 0; i < n; i++) {
      byte[] k = new byte[16];
      random.nextBytes(k);
      b.append(UUID.randomUUID())
          .append(':')
          .append(KEY_TYPES.get(i % KEY_TYPES.size()))
          .append(':')
          .append(HexFormat.of().formatHex(k))
          .append('\n');
      java.util.Arrays.fill(k, (byte) 0);
    }
    return b.toString();
  }

  /** Reads {@code keycast kdm send --json}'s answer: ids, KDMs issued, screens refused by reason. */
  static SendReport parseSendReport(String json, double seconds) throws IOException {
    JsonNode root = new ObjectMapper().readTree(json);
    if (root == null || !root.path("issued").isArray() || !root.path("refused").isArray()) {
      throw new IOException("keycast kdm send --json printed no issued/refused lists");
    }
    Map<String, Long> refused = new TreeMap<>();
    for (JsonNode r : root.path("refused")) {
      refused.merge(r.path("reason").asText("?"), 1L, Long::sum);
    }
    return new SendReport(
        root.path("send_id").asText(null),
        root.path("receipt_id").asText(null),
        root.path("issued").size(),
        refused,
        seconds);
  }

  /** Runs {@code keycast <args>} in this process with the host and attestation options; its stdout. */
  private String cli(PrintWriter out, String... args) throws IOException {
    List<String> all = new ArrayList<>(List.of(args));
    all.addAll(
        List.of(
            "--host",
            host.host.toString(),
            "--expect-pcrs",
            host.expectPcrs.toString(),
            "--timeout",
            host.timeout.toSeconds() + "s"));
    for (Path p : host.trustRoots) {
      all.addAll(List.of("--trust-root", p.toString()));
    }
    if (host.allowDebug) {
      all.add("--allow-debug");
    }
    return cliRaw(all);
  }

  private static String cliRaw(List<String> args) throws IOException {
    StringWriter stdout = new StringWriter();
    StringWriter stderr = new StringWriter();
    int exit =
        KeycastCli.newCommandLine(new PrintWriter(stdout, true), new PrintWriter(stderr, true))
            .execute(args.toArray(String[]::new));
    if (exit != 0) {
      throw new IOException(
          "keycast "
              + String.join(" ", args.subList(0, 2))
              + " exited "
              + exit
              + ": "
              + stderr.toString().strip());
    }
    return stdout.toString();
  }

  /**
   * {@code keycast kdm fetch --cinema} of the first cinema, then one KDM of it verified with
   * {@link KdmReader} against the signer root and the screen's private key.
   */
  private boolean check(
      PrintWriter out, Path work, ScreenFleet.Fleet fleet, Path signerPem, UUID cpl)
      throws IOException, GeneralSecurityException {
    ScreenFleet.Screen first = fleet.screens().getFirst();
    long inCinema = fleet.screens().stream().filter(s -> s.cinema().equals(first.cinema())).count();
    Path dir = work.resolve("kdms");
    List<String> fetch =
        new ArrayList<>(
            List.of(
                "kdm",
                "fetch",
                "--host",
                host.host.toString(),
                "--cinema",
                first.cinema(),
                "--out-dir",
                dir.toString(),
                "--sender-key",
                host.senderKey.toString()));
    cliRaw(fetch);
    List<Path> files;
    try (Stream<Path> s = Files.list(dir)) {
      files = s.filter(p -> p.getFileName().toString().endsWith(".kdm.xml")).sorted().toList();
    }
    String part = "_" + first.screen().replace(' ', '-') + "_";
    Path mine =
        files.stream()
            .filter(
                p ->
                    p.getFileName().toString().contains(part)
                        && p.getFileName().toString().contains(cpl.toString()))
            .findFirst()
            .orElse(null);
    if (files.size() != inCinema || mine == null) {
      out.printf(
          "check: FAILED: the zip of %s holds %d KDM files (expected %d), %s%n",
          first.cinema(), files.size(), inCinema, mine == null ? "none for " + first.screen() : "");
      return false;
    }
    X509Certificate signerRoot = lastCertificate(Files.readAllBytes(signerPem));
    try {
      VerifiedKdm kdm = KdmReader.read(Files.readAllBytes(mine), signerRoot, first.privateKey());
      boolean ok =
          kdm.cplId().equals(cpl) && kdm.keyIds().size() == keys && kdm.blocks().size() == keys;
      out.printf(
          "check: %s: %d KDMs in the zip; %s verified against the attested signer root, %d keys opened"
              + " with the screen's key%s%n",
          first.cinema(),
          files.size(),
          mine.getFileName(),
          kdm.blocks().size(),
          ok ? "" : " (MISMATCH: wrong CPL or key count)");
      return ok;
    } catch (CinemaException e) {
      out.printf("check: FAILED: %s does not verify: %s%n", mine.getFileName(), e.getMessage());
      return false;
    }
  }

  private static X509Certificate lastCertificate(byte[] pem) throws IOException {
    try {
      List<? extends java.security.cert.Certificate> certs =
          new ArrayList<>(
              CertificateFactory.getInstance("X.509")
                  .generateCertificates(new ByteArrayInputStream(pem)));
      if (certs.isEmpty()) {
        throw new IOException("the signer chain file holds no certificate");
      }
      return (X509Certificate) certs.getLast();
    } catch (CertificateException e) {
      throw new IOException("the signer chain file is not PEM certificates", e);
    }
  }
}
