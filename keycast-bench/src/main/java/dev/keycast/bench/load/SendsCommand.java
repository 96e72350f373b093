package dev.keycast.bench.load;

import dev.keycast.protocol.Fingerprints;
import dev.keycast.protocol.Json;
import dev.keycast.protocol.MalformedInputException;
import dev.keycast.protocol.api.HostApi;
import dev.keycast.protocol.policy.SendPolicy;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import java.util.stream.IntStream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * Small sends at a steady concurrency (performance target 3): each of {@code --concurrency}
 * virtual users sends one-recipient sends over keep-alive connections for {@code --duration}, then
 * the tool reports throughput, latency percentiles and errors by code, and with {@code --verify}
 * fetches {@code GET /v1/receipts/{id}} for every acknowledged send.
 *
 * <p>Without {@code --rate} the users send back to back (a closed loop: the service's maximum
 * throughput, and latencies that are mostly the queue that 64 waiting clients make). With {@code
 * --rate R} send {@code i} is scheduled at {@code i / R} seconds into the run and taken by the next
 * free user; its latency is counted from that scheduled time, not from when a user got to it, so a
 * stall delays every send scheduled during it and shows in the percentiles (no coordinated
 * omission). A send that starts more than {@link #LATE_START_MILLIS} ms after its time is counted
 * as started late: the service (or the tool) did not keep up with the offered rate.
 */
@Command(
    name = "sends",
    mixinStandardHelpOptions = true,
    description = "Many small sends (one recipient each) from concurrent keep-alive clients.")
public final class SendsCommand implements Callable<Integer> {
  /** A send that starts this much after its scheduled time (with {@code --rate}) started late. */
  static final long LATE_START_MILLIS = 5;

  @Spec CommandSpec spec;

  @Mixin HostOptions host = new HostOptions();

  @Option(
      names = "--concurrency",
      defaultValue = "64",
      description = "Concurrent clients (default ${DEFAULT-VALUE}).")
  int concurrency;

  @Option(
      names = "--duration",
      defaultValue = "60s",
      converter = DurationConverter.class,
      description = "Measured run time (default ${DEFAULT-VALUE}).")
  Duration duration;

  @Option(
      names = "--rate",
      defaultValue = "0",
      paramLabel = "SENDS_PER_SECOND",
      description =
          "Offered load: sends scheduled at this total rate, latency counted from each "
              + "send's scheduled time (default 0: every client sends back to back).")
  double rate;

  @Option(
      names = "--warmup",
      defaultValue = "0s",
      converter = DurationConverter.class,
      description = "Unmeasured sends before the measured run (default ${DEFAULT-VALUE}).")
  Duration warmup;

  @Option(
      names = "--recipients-file",
      required = true,
      paramLabel = "FILE",
      description =
          "Registered recipients: a cache written by 'register' or one fingerprint per line.")
  Path recipientsFile;

  @Option(
      names = "--presealed",
      defaultValue = "-1",
      paramLabel = "N",
      description =
          "Payloads sealed before the clock starts (default: 3,000 per second of warm-up and run, "
              + "at most 500,000); later sends seal inline.")
  int presealed;

  @Option(
      names = "--secret-bytes",
      defaultValue = "32",
      description = "Secret size (default ${DEFAULT-VALUE}).")
  int secretBytes;

  @Option(
      names = "--verify",
      description = "After the run, GET /v1/receipts/{id} for every acknowledged send.")
  boolean verify;

  @Option(names = "--json", paramLabel = "FILE", description = "Also write the summary as JSON.")
  Path json;

  @Option(
      names = "--samples",
      paramLabel = "FILE",
      description =
          "Also write every measured send as a line 'end_ms latency_us' (ms since the "
              + "measured run started), in completion order per client: for plotting the latency over time.")
  Path samples;

  @Override
  public Integer call() throws Exception {
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    if (concurrency < 1 || concurrency > 10_000) {
      throw new IllegalArgumentException("--concurrency must be 1..10000");
    }
    if (!(rate >= 0 && rate <= 1_000_000)) {
      throw new IllegalArgumentException("--rate must be 0..1000000 sends per second, not " + rate);
    }
    if (secretBytes < 1 || secretBytes > 65536) {
      throw new IllegalArgumentException("--secret-bytes must be 1..65536");
    }
    List<String> fingerprints = readFingerprints(recipientsFile);
    SecureRandom random = new SecureRandom();
    try (ExecutorService executor = HostOptions.newExecutor()) {
      HostClient client = host.client(executor);
      SendSealer sealer = host.sealer(client, random, err);
      long total =
          presealed >= 0
              ? presealed
              : Math.min(500_000, 3_000L * (duration.toSeconds() + warmup.toSeconds()));
      String run = Long.toHexString(random.nextLong());
      Instant now = Instant.now().truncatedTo(ChronoUnit.SECONDS);
      PayloadSource source = new PayloadSource(sealer, fingerprints, run, now, secretBytes);
      long t0 = System.nanoTime();
      source.preseal((int) total);
      out.printf(
          "sealed %,d payloads in %.1f s (key set %s, %d recipients in %s)%n",
          total,
          (System.nanoTime() - t0) / 1e9,
          sealer.bundle().keySetId(),
          fingerprints.size(),
          recipientsFile);
      out.flush();

      Results results = new Results();
      long begin = System.nanoTime();
      long start = begin + warmup.toNanos();
      Thread[] users =
          startUsers(client, source, begin, start, start + duration.toNanos(), results);
      if (!warmup.isZero()) {
        // The warm-up runs into the measured run without a pause (the same users and schedule);
        // this line marks the boundary for a caller that samples the processes' CPU time.
        waitUntil(start);
        out.printf("warm-up of %s done%n", warmup);
        out.flush();
      }
      for (Thread user : users) {
        user.join();
      }
      if (results.userFailure.get() != null) {
        throw new IllegalStateException("client failed", results.userFailure.get());
      }
      double seconds = (System.nanoTime() - start) / 1e9;
      Summary s = results.summary(seconds, concurrency, rate, source.sealedInline());
      // Printed before the verification pass, so that a caller measuring CPU per send (for
      // example scripts/bench-small-sends) can stop counting here: the GETs of --verify are not
      // part of the sends.
      out.printf("measured run done: %,d sends in %.1f s%n", s.acknowledged(), seconds);
      out.flush();
      if (samples != null) {
        results.writeSamples(samples, start);
      }
      if (verify) {
        s = s.withVerification(verifyAll(client, executor, results.acknowledged, sealer.sender()));
      }
      out.print(s.render());
      out.flush();
      if (json != null) {
        Files.write(json, Json.encode(s));
      }
      return s.errors().isEmpty() && s.missing() == 0 ? 0 : 1;
    }
  }

  /**
   * Starts the users: sends from {@code begin} until {@code end}; those started (back to back) or
   * scheduled ({@code --rate}) at or after {@code measureFrom} are counted in {@code results}.
   */
  private Thread[] startUsers(
      HostClient client,
      PayloadSource source,
      long begin,
      long measureFrom,
      long end,
      Results results) {
    Schedule schedule = rate > 0 ? new Schedule(begin, rate) : null;
    // One platform thread per client: a blocking socket read parks the thread in the kernel,
    // where a virtual thread goes through the JDK's poller (an extra read, epoll registration and
    // a hand-off per answer). The tool shares the cores with the system under test.
    Thread[] users = new Thread[concurrency];
    for (int u = 0; u < concurrency; u++) {
      users[u] =
          Thread.ofPlatform()
              .name("load-client-" + u)
              .daemon(true)
              .stackSize(256 * 1024)
              .uncaughtExceptionHandler((thread, e) -> results.userFailure.compareAndSet(null, e))
              .start(
                  () -> {
                    while (true) {
                      long due = schedule == null ? System.nanoTime() : schedule.next();
                      if (due >= end) {
                        return;
                      }
                      if (schedule != null) {
                        schedule.awaitAndCount(due, due >= measureFrom ? results : null);
                      }
                      byte[] payload = source.next();
                      // Back to back: from the request. At a rate: from the scheduled time (class
                      // comment).
                      long t = schedule == null ? System.nanoTime() : due;
                      Results counted = t >= measureFrom ? results : null;
                      try {
                        HostClient.Answer a = client.postJson("/v1/sends", payload);
                        long micros = (System.nanoTime() - t) / 1000;
                        // The warm-up reads the answers as the measured run does, so that the
                        // measured
                        // run does not start with the answer decoder's first (slow, unwarmed) use.
                        if (a.status() == 200) {
                          HostApi.SendResult r = a.as(HostApi.SendResult.class);
                          if (counted != null) {
                            counted.ok(micros, r);
                            counted.sample(System.nanoTime(), micros);
                          }
                        } else if (counted != null) {
                          counted.error(a.errorCode());
                        }
                      } catch (IOException e) {
                        if (counted != null) {
                          counted.error("io_" + e.getClass().getSimpleName());
                        }
                      } catch (MalformedInputException e) {
                        if (counted != null) {
                          counted.error("bad_answer");
                        }
                      } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        return;
                      }
                    }
                  });
    }
    return users;
  }

  /** Parks the calling thread until {@link System#nanoTime()} reaches {@code nanoTime}; returns it. */
  static long waitUntil(long nanoTime) {
    long now;
    while ((now = System.nanoTime()) < nanoTime) {
      java.util.concurrent.locks.LockSupport.parkNanos(nanoTime - now);
    }
    return now;
  }

  /** Returns the number of acknowledged sends whose receipt is not retrievable. */
  private long verifyAll(
      HostClient client,
      ExecutorService executor,
      ConcurrentLinkedQueue<String[]> acked,
      dev.keycast.protocol.sender.SenderSigningKey sender)
      throws InterruptedException {
    LongAdder missing = new LongAdder();
    java.util.concurrent.Semaphore gate = new java.util.concurrent.Semaphore(concurrency);
    List<Future<?>> fs = new ArrayList<>();
    for (String[] ids : acked) {
      gate.acquire();
      fs.add(
          executor.submit(
              () -> {
                try {
                  // a receipt is answered to its sender: a request signed with the sender key of
                  // the sends
                  HostClient.Answer a =
                      sender == null
                          ? client.get("/v1/receipts/" + ids[0])
                          : client.getSigned("/v1/receipts/" + ids[0], sender);
                  HostApi.ReceiptView v =
                      a.status() == 200 ? a.as(HostApi.ReceiptView.class) : null;
                  if (v == null
                      || !ids[0].equals(v.receiptId())
                      || !ids[1].equals(v.sendId())
                      || v.receipt() == null
                      || v.receipt().isEmpty()) {
                    missing.increment();
                  }
                } catch (IOException | MalformedInputException e) {
                  missing.increment();
                } catch (InterruptedException e) {
                  Thread.currentThread().interrupt();
                } finally {
                  gate.release();
                }
              }));
    }
    for (Future<?> f : fs) {
      try {
        f.get(1, TimeUnit.HOURS);
      } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
        missing.increment();
      }
    }
    return missing.sum();
  }

  /** Fingerprints from a 'register' cache or from a plain list (one per line, '#' comments). */
  static List<String> readFingerprints(Path file) throws IOException {
    List<String> lines = Files.readAllLines(file, StandardCharsets.US_ASCII);
    if (!lines.isEmpty() && lines.getFirst().startsWith("anchor ")) {
      return Recipients.read(file).recipients().stream()
          .map(Recipients.Generated::fingerprint)
          .toList();
    }
    List<String> out = new ArrayList<>();
    for (int i = 0; i < lines.size(); i++) {
      String l = lines.get(i).strip();
      if (l.isEmpty() || l.startsWith("#")) {
        continue;
      }
      if (!Fingerprints.isWellFormed(l)) {
        throw new IOException(
            file
                + " line "
                + (i + 1)
                + ": not a fingerprint (64 lowercase hex): "
                + (l.length() > 70 ? l.substring(0, 70) + "..." : l));
      }
      out.add(l);
    }
    if (out.isEmpty()) {
      throw new IOException(file + " lists no recipients");
    }
    return out;
  }

  /** The scheduled start times of {@code --rate}: send {@code i} at {@code begin + i / rate}. */
  static final class Schedule {
    private final long begin;
    private final double intervalNanos;
    private final java.util.concurrent.atomic.AtomicLong tickets =
        new java.util.concurrent.atomic.AtomicLong();

    Schedule(long begin, double rate) {
      this.begin = begin;
      this.intervalNanos = 1e9 / rate;
    }

    /** The scheduled start ({@link System#nanoTime()}) of the next send not yet taken. */
    long next() {
      return begin + (long) (tickets.getAndIncrement() * intervalNanos);
    }

    /** Waits until {@code due}; counts the send as started late in {@code results} if it is. */
    void awaitAndCount(long due, Results results) {
      long now = waitUntil(due);
      if (results != null && now - due > LATE_START_MILLIS * 1_000_000) {
        results.lateStarts.increment();
      }
    }
  }

  /** Unique one-recipient payloads: sealed ahead of time, then inline when the pool runs out. */
  static final class PayloadSource {
    private final SendSealer sealer;
    private final List<String> fingerprints;
    private final String run;
    private final Instant now;
    private final int secretBytes;
    private final AtomicInteger next = new AtomicInteger();
    private final LongAdder inline = new LongAdder();
    private byte[][] pool = new byte[0][];

    PayloadSource(
        SendSealer sealer, List<String> fingerprints, String run, Instant now, int secretBytes) {
      this.sealer = sealer;
      this.fingerprints = fingerprints;
      this.run = run;
      this.now = now;
      this.secretBytes = secretBytes;
    }

    void preseal(int n) {
      SecureRandom random = new SecureRandom();
      pool = IntStream.range(0, n).parallel().mapToObj(i -> make(i, random)).toArray(byte[][]::new);
    }

    byte[] next() {
      int i = next.getAndIncrement();
      if (i < pool.length) {
        byte[] p = pool[i];
        pool[i] = null;
        return p;
      }
      inline.increment();
      return make(i, new SecureRandom());
    }

    long sealedInline() {
      return inline.sum();
    }

    private byte[] make(int i, SecureRandom random) {
      SendPolicy policy =
          new SendPolicy(
              1,
              "load-" + run + "-" + i,
              "keycast-load",
              now.minus(1, ChronoUnit.HOURS),
              now.plus(1, ChronoUnit.DAYS),
              new SendPolicy.RecipientSelector(
                  List.of(fingerprints.get(i % fingerprints.size())), null, null),
              false,
              1,
              null);
      byte[] secret = new byte[secretBytes];
      random.nextBytes(secret);
      try {
        return sealer.seal(policy, secret, random);
      } finally {
        java.util.Arrays.fill(secret, (byte) 0);
      }
    }
  }

  /** One client thread's (end time in ns, latency in µs) pairs. */
  static final class Samples {
    long[] data = new long[1 << 14];
    int size;

    void add(long endNanos, long micros) {
      if (size + 2 > data.length) {
        data = java.util.Arrays.copyOf(data, data.length * 2);
      }
      data[size++] = endNanos;
      data[size++] = micros;
    }
  }

  /** What the clients saw during the measured run. */
  static final class Results {
    final LatencyHistogram latency = new LatencyHistogram();
    final Map<String, LongAdder> errors = new ConcurrentHashMap<>();
    final ConcurrentLinkedQueue<String[]> acknowledged = new ConcurrentLinkedQueue<>();
    final LongAdder replayed = new LongAdder();
    final LongAdder lateStarts = new LongAdder();

    /** The first exception a user thread did not handle (a bug in the tool: the run is void). */
    final java.util.concurrent.atomic.AtomicReference<Throwable> userFailure =
        new java.util.concurrent.atomic.AtomicReference<>();

    /** Each client thread's samples (appended by that thread only; read after the run). */
    final ConcurrentLinkedQueue<Samples> samples = new ConcurrentLinkedQueue<>();

    private final ThreadLocal<Samples> ownSamples =
        ThreadLocal.withInitial(
            () -> {
              Samples own = new Samples();
              samples.add(own);
              return own;
            });

    void sample(long endNanos, long micros) {
      ownSamples.get().add(endNanos, micros);
    }

    void writeSamples(Path file, long startNanos) throws IOException {
      try (var w = Files.newBufferedWriter(file)) {
        for (Samples own : samples) {
          for (int i = 0; i < own.size; i += 2) {
            w.write((own.data[i] - startNanos) / 1_000_000 + " " + own.data[i + 1] + "\n");
          }
        }
      }
    }

    void ok(long micros, HostApi.SendResult r) {
      latency.record(micros);
      acknowledged.add(new String[] {r.receiptId(), r.sendId()});
      if (r.replayed()) {
        replayed.increment();
      }
    }

    void error(String code) {
      errors.computeIfAbsent(code, k -> new LongAdder()).increment();
    }

    Summary summary(double seconds, int concurrency, double rate, long inline) {
      Map<String, Long> e = new LinkedHashMap<>();
      errors.entrySet().stream()
          .sorted(Map.Entry.comparingByKey())
          .forEach(x -> e.put(x.getKey(), x.getValue().sum()));
      long ok = latency.count();
      return new Summary(
          concurrency,
          rate,
          seconds,
          ok,
          ok / seconds,
          latency.percentile(50) / 1000.0,
          latency.percentile(90) / 1000.0,
          latency.percentile(99) / 1000.0,
          latency.max() / 1000.0,
          latency.mean() / 1000.0,
          lateStarts.sum(),
          replayed.sum(),
          inline,
          e,
          null,
          0);
    }
  }

  /**
   * The report of one run (latencies in milliseconds). {@code offeredRate} is {@code --rate} (0 for
   * back-to-back sends); {@code lateStarts} counts the sends that started late against it.
   */
  record Summary(
      int concurrency,
      double offeredRate,
      double seconds,
      long acknowledged,
      double sendsPerSecond,
      double p50Ms,
      double p90Ms,
      double p99Ms,
      double maxMs,
      double meanMs,
      long lateStarts,
      long replayed,
      long sealedInline,
      Map<String, Long> errors,
      Long verified,
      long missing) {

    Summary withVerification(long missingCount) {
      return new Summary(
          concurrency,
          offeredRate,
          seconds,
          acknowledged,
          sendsPerSecond,
          p50Ms,
          p90Ms,
          p99Ms,
          maxMs,
          meanMs,
          lateStarts,
          replayed,
          sealedInline,
          errors,
          acknowledged - missingCount,
          missingCount);
    }

    String render() {
      StringBuilder b = new StringBuilder();
      b.append(
          String.format(
              "concurrency %d, %.1f s: %,d sends acknowledged, %,.0f sends/s%n",
              concurrency, seconds, acknowledged, sendsPerSecond));
      if (offeredRate > 0) {
        b.append(
            String.format(
                "offered rate %,.0f sends/s: latency counted from each send's scheduled"
                    + " time; %,d sends started more than %d ms late%n",
                offeredRate, lateStarts, LATE_START_MILLIS));
      }
      b.append(
          String.format(
              "latency ms: p50 %.2f  p90 %.2f  p99 %.2f  max %.2f  mean %.2f%n",
              p50Ms, p90Ms, p99Ms, maxMs, meanMs));
      long errorCount = errors.values().stream().mapToLong(Long::longValue).sum();
      b.append(String.format("errors: %,d%s%n", errorCount, errors.isEmpty() ? "" : " " + errors));
      if (replayed > 0) {
        b.append(
            String.format(
                "replayed answers: %,d (payloads are unique; the host answered replayed)%n",
                replayed));
      }
      if (sealedInline > 0) {
        b.append(String.format("sealed inline (pool exhausted): %,d%n", sealedInline));
      }
      if (verified != null) {
        b.append(
            String.format(
                "verified: %,d of %,d acknowledged sends retrievable, %,d missing%n",
                verified, acknowledged, missing));
      }
      return b.toString();
    }
  }
}
