package dev.keycast.bench.load;

import dev.keycast.protocol.attestation.ExpectedPcrs;
import dev.keycast.protocol.attestation.TrustRoot;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * Issue 28's fault campaign against a private SQLite stack ({@link FaultStack}): a continuous
 * stream of sends ({@link FaultStream}) while the host is killed with SIGKILL, the enclave is
 * killed with SIGKILL, and the SQLite store's file system is filled up and freed, in a random
 * order. The campaign plays the supervisor (it starts a killed process again with the same command
 * on the same state, nothing else). After each fault it waits for the next acknowledged send (the
 * time to recover), then checks through the public API ({@link FaultVerifier}) that every
 * acknowledged send is present and decrypts to its secret and that no other send is visible.
 * Exit status 0 only when nothing was lost, nothing leaked and the stack always recovered.
 */
@Command(
    name = "fault-campaign",
    mixinStandardHelpOptions = true,
    description =
        "Kills the host and the enclave with SIGKILL and fills the store's disk during a stream of"
            + " sends on a private stack; verifies every acknowledged send after each fault.")
public final class FaultCampaignCommand implements Callable<Integer> {
  /** The kinds of fault, as the report names them. */
  enum Kind {
    HOST_KILL("host SIGKILL"),
    ENCLAVE_KILL("enclave SIGKILL"),
    DISK_FULL("disk full (SQLite)");

    final String label;

    Kind(String label) {
      this.label = label;
    }
  }

  /** What one fault did and what was seen after it. */
  record FaultResult(
      int index,
      Kind kind,
      long recoverMillis,
      long ackedBefore,
      long lostInFlight,
      long replayedOnRetry,
      Map<String, Long> refusedCodes,
      long verified,
      List<FaultVerifier.Problem> problems) {}

  @Spec CommandSpec spec;

  @Option(names = "--repo", defaultValue = ".", description = "The repository (jars, scripts).")
  Path repo;

  @Option(names = "--state", required = true, description = "A new, empty state directory.")
  Path state;

  @Option(
      names = "--db-dir",
      description =
          "Where the SQLite store lives (default STATE/db); give a small file system of its own"
              + " (a size-limited tmpfs) for --disk-fulls.")
  Path dbDir;

  @Option(names = "--host-kills", defaultValue = "20", description = "Default ${DEFAULT-VALUE}.")
  int hostKills;

  @Option(names = "--enclave-kills", defaultValue = "5", description = "Default ${DEFAULT-VALUE}.")
  int enclaveKills;

  @Option(names = "--disk-fulls", defaultValue = "2", description = "Default ${DEFAULT-VALUE}.")
  int diskFulls;

  @Option(names = "--in-flight", defaultValue = "4", description = "Concurrent sends.")
  int inFlight;

  @Option(names = "--recipients", defaultValue = "6", description = "X25519 recipients.")
  int recipientCount;

  @Option(
      names = "--between",
      defaultValue = "2000",
      paramLabel = "MILLIS",
      description =
          "Longest stream time between recovery and the next fault (random, from 1/4 of it).")
  long betweenMillis;

  @Option(names = "--seed", description = "Seed of the fault order and timing (default: random).")
  Long seed;

  @Option(
      names = "--recover-timeout",
      defaultValue = "180",
      paramLabel = "SECONDS",
      description = "A fault after which no send is acknowledged this long fails the campaign.")
  long recoverTimeoutSeconds;

  @Option(names = "--report", paramLabel = "FILE", description = "Also write the table (Markdown).")
  Path report;

  @Override
  public Integer call() throws Exception {
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    long s = seed != null ? seed : new SecureRandom().nextLong();
    Random random = new Random(s);
    if (Files.exists(state)) {
      try (var entries = Files.list(state)) {
        if (entries.findAny().isPresent()) {
          throw new IllegalArgumentException("--state " + state + " must be new or empty");
        }
      }
    }
    Path db = dbDir != null ? dbDir : state.resolve("db");
    List<Kind> schedule = new ArrayList<>();
    schedule.addAll(Collections.nCopies(hostKills, Kind.HOST_KILL));
    schedule.addAll(Collections.nCopies(enclaveKills, Kind.ENCLAVE_KILL));
    schedule.addAll(Collections.nCopies(diskFulls, Kind.DISK_FULL));
    Collections.shuffle(schedule, random);
    out.printf(
        "fault campaign: %d host kills, %d enclave kills, %d disk fulls, seed %d, state %s, store %s%n",
        hostKills, enclaveKills, diskFulls, s, state, db);
    out.flush();
    Instant began = Instant.now();
    List<FaultResult> results = new ArrayList<>();
    List<FaultVerifier.Problem> finalProblems;
    FaultStream stream;
    long verifiedAtEnd;
    try (FaultStack stack =
            FaultStack.start(
                new FaultStack.Layout(repo.toAbsolutePath(), state.toAbsolutePath(), db));
        ExecutorService executor = HostOptions.newExecutor()) {
      HostClient client =
          new HostClient(URI.create(stack.hostUrl()), Duration.ofSeconds(20), executor);
      awaitReady(client, stack);
      SendSealer sealer =
          SendSealer.attest(
                  client,
                  new SendSealer.AttestationCheck(
                      false,
                      ExpectedPcrs.parseJson(Files.readAllBytes(stack.measurements())),
                      List.of(TrustRoot.fromPem("mock-root", Files.readAllBytes(stack.mockRoot()))),
                      false),
                  new SecureRandom(),
                  err)
              .signingWith(stack.sender());
      List<Recipients.Generated> recipients =
          Recipients.generate("x25519", recipientCount, false, new SecureRandom()).recipients();
      Registrar.Outcome reg = Registrar.register(client, executor, recipients, 4, Map.of());
      if (reg.created() != recipientCount) {
        throw new IllegalStateException("registering the recipients failed: " + reg.failures());
      }
      FaultVerifier verifier =
          new FaultVerifier(client, sealer.bundle(), stack.sender(), recipients, 8);
      stream =
          new FaultStream(
              client,
              sealer,
              recipients.stream().map(Recipients.Generated::fingerprint).toList(),
              inFlight);
      long streamStart = System.nanoTime();
      stream.start();
      stream.resume();
      awaitRecovery(stream, streamStart, stack); // the first acknowledged send, before any fault
      List<FaultStream.Acked> unverified = new ArrayList<>();
      java.util.Set<String> reported = new java.util.HashSet<>();
      int verifiedUpTo = 0;
      for (int i = 0; i < schedule.size(); i++) {
        Kind kind = schedule.get(i);
        long minBetween = betweenMillis / 4;
        Thread.sleep(minBetween + (long) (random.nextDouble() * (betweenMillis - minBetween)));
        long ackedBefore = stream.ackedCount();
        int refusedBefore = stream.refused.size();
        List<FaultVerifier.Problem> problems = new ArrayList<>();
        long t0 = inject(kind, stack, stream, db, problems, err);
        long recovered = awaitRecovery(stream, t0, stack);
        long recoverMillis = (recovered - t0) / 1_000_000;
        stream.pause();
        long lostInFlight = stream.lost.size();
        long replayed =
            stream.retryLost(System.nanoTime() + recoverTimeoutSeconds * 1_000_000_000L);
        List<FaultStream.Acked> all = List.copyOf(stream.acked);
        unverified.addAll(all.subList(verifiedUpTo, all.size()));
        verifiedUpTo = all.size();
        List<FaultVerifier.Problem> found = new ArrayList<>(verifier.verifyAcked(unverified));
        found.addAll(verifier.verifyInvisible(all, refusedAttempts(stream)));
        for (FaultVerifier.Problem p : found) {
          if (reported.add(p.kind() + " " + p.sendId())) {
            problems.add(p); // each problem counts once, at the first fault after which it shows
          }
        }
        Map<String, Long> codes = new TreeMap<>();
        stream.refused.stream()
            .skip(refusedBefore)
            .forEach(r -> codes.merge(r.status() + " " + r.code(), 1L, Long::sum));
        FaultResult fr =
            new FaultResult(
                i + 1,
                kind,
                recoverMillis,
                ackedBefore,
                lostInFlight,
                replayed,
                codes,
                unverified.size(),
                problems);
        results.add(fr);
        unverified.clear();
        out.printf(
            "%2d/%d %-18s recovered in %,6d ms; %,d acknowledged so far; %d answers lost in flight"
                + " (%d replayed on retry); refused %s; %s%n",
            i + 1,
            schedule.size(),
            kind.label,
            recoverMillis,
            ackedBefore,
            lostInFlight,
            replayed,
            codes,
            problems.isEmpty() ? "all verified" : "PROBLEMS " + problems);
        out.flush();
        stream.resume();
      }
      Thread.sleep(betweenMillis);
      stream.stop();
      stream.retryLost(System.nanoTime() + recoverTimeoutSeconds * 1_000_000_000L);
      List<FaultStream.Acked> all = List.copyOf(stream.acked);
      finalProblems = new ArrayList<>(verifier.verifyAcked(all));
      finalProblems.addAll(verifier.verifyInvisible(all, refusedAttempts(stream)));
      verifiedAtEnd =
          all.size() - finalProblems.stream().map(FaultVerifier.Problem::sendId).distinct().count();
      if (!stack.hostAlive()) {
        finalProblems.add(new FaultVerifier.Problem("host_dead", "-", "at the end"));
      }
    }
    String table =
        FaultReport.render(results, stream, verifiedAtEnd, finalProblems, began, Instant.now(), s);
    out.print(table);
    out.flush();
    if (report != null) {
      Files.writeString(report, table);
    }
    boolean clean =
        finalProblems.isEmpty() && results.stream().allMatch(r -> r.problems().isEmpty());
    return clean ? 0 : 1;
  }

  private static List<FaultStream.Attempt> refusedAttempts(FaultStream stream) {
    return stream.refused.stream().map(FaultStream.Refused::attempt).toList();
  }

  /** Injects one fault; returns the instant (nanoTime) the recovery is measured from. */
  private static long inject(
      Kind kind,
      FaultStack stack,
      FaultStream stream,
      Path db,
      List<FaultVerifier.Problem> problems,
      PrintWriter err)
      throws IOException, InterruptedException {
    switch (kind) {
      case HOST_KILL -> {
        long t0 = System.nanoTime();
        stack.killHost();
        stack.startHost();
        return t0;
      }
      case ENCLAVE_KILL -> {
        long t0 = System.nanoTime();
        stack.killEnclave();
        stack.startEnclave();
        return t0;
      }
      case DISK_FULL -> {
        Path filler = db.resolve("filler");
        long filledAt = System.nanoTime();
        long bytes = fill(filler);
        // The store must refuse sends with a clear code while the disk is full; keep it full until
        // it did (SQLite may first use space its files already hold), at most two minutes.
        long deadline = System.nanoTime() + Duration.ofMinutes(2).toNanos();
        boolean bitten = false;
        while (System.nanoTime() < deadline && stack.hostAlive()) {
          bitten =
              stream.refused.stream()
                  .anyMatch(r -> r.atNanos() > filledAt && "store_full".equals(r.code()));
          if (bitten) {
            break;
          }
          fill(db.resolve("filler-" + System.nanoTime())); // space freed by SQLite meanwhile
          Thread.sleep(100);
        }
        Thread.sleep(2000); // full for a while: the host must keep answering, not crash or hang
        if (!bitten) {
          problems.add(
              new FaultVerifier.Problem("disk_full_not_seen", "-", "no store_full answer"));
        }
        if (!stack.hostAlive()) {
          problems.add(
              new FaultVerifier.Problem(
                  "host_crashed", "-", "disk full: " + stack.hostLogTail(20)));
          stack.startHost();
        }
        err.printf("disk full: %,d bytes of filler%n", bytes);
        try (var files = Files.list(db)) {
          for (Path p :
              files.filter(p -> p.getFileName().toString().startsWith("filler")).toList()) {
            Files.delete(p);
          }
        }
        return System.nanoTime();
      }
    }
    throw new IllegalStateException("unknown fault " + kind);
  }

  /** Writes {@code file} until the file system is full; returns the bytes written. */
  static long fill(Path file) throws IOException {
    long written = 0;
    byte[] chunk = new byte[1 << 20];
    try (OutputStream o = Files.newOutputStream(file)) {
      for (int size = chunk.length; size >= 512; ) {
        try {
          o.write(chunk, 0, size);
          o.flush();
          written += size;
        } catch (IOException full) {
          size /= 2;
        }
      }
    } catch (IOException e) {
      // closing may fail on a full file system too: what was written stays
    }
    return written;
  }

  private long awaitRecovery(FaultStream stream, long t0, FaultStack stack)
      throws InterruptedException {
    long deadline = t0 + recoverTimeoutSeconds * 1_000_000_000L;
    while (System.nanoTime() < deadline) {
      long ack = stream.firstAckOfSendStartedAfter(t0);
      if (ack > 0) {
        return ack;
      }
      stream.checkHealthy();
      Thread.sleep(10);
    }
    throw new IllegalStateException(
        "no send acknowledged within "
            + recoverTimeoutSeconds
            + " s of the fault: the stack did not recover by itself; host log:\n"
            + stack.hostLogTail(40));
  }

  private static void awaitReady(HostClient client, FaultStack stack)
      throws IOException, InterruptedException {
    long deadline = System.nanoTime() + Duration.ofMinutes(4).toNanos();
    while (System.nanoTime() < deadline) {
      try {
        if (client.get("/v1/ready").status() == 200) {
          return;
        }
      } catch (IOException e) {
        // not listening yet
      }
      if (!stack.hostAlive()) {
        throw new IOException("the host exited while starting: " + stack.hostLogTail(30));
      }
      Thread.sleep(200);
    }
    throw new IOException("the host did not become ready: " + stack.hostLogTail(30));
  }

  /** The counts of {@code m}, sorted by key. */
  static Map<String, Long> snapshotOf(Map<String, java.util.concurrent.atomic.LongAdder> m) {
    Map<String, Long> out = new TreeMap<>();
    m.forEach((k, v) -> out.put(k, v.sum()));
    return out;
  }
}
