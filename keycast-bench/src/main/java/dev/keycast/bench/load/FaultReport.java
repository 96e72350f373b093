package dev.keycast.bench.load;

import dev.keycast.bench.load.FaultCampaignCommand.FaultResult;
import dev.keycast.bench.load.FaultCampaignCommand.Kind;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/** The fault campaign's table (Markdown), as storage.md shows it. */
final class FaultReport {
  /** Problems that are not a lost acknowledged send. */
  private static final Set<String> NOT_LOSSES =
      Set.of("visible_unacknowledged", "disk_full_not_seen", "host_crashed", "host_dead");

  private FaultReport() {}

  static String render(
      List<FaultResult> results,
      FaultStream stream,
      long verifiedAtEnd,
      List<FaultVerifier.Problem> finalProblems,
      Instant began,
      Instant ended,
      long seed) {
    long total = stream.ackedCount();
    StringBuilder b = new StringBuilder();
    b.append(
        "| fault | injected | sends acknowledged after it | answers lost in flight (replayed on retry)"
            + " | refused answers | sends verified after it | losses | visible unacknowledged"
            + " | time to recover min / median / max |\n");
    b.append("|---|---:|---:|---:|---|---:|---:|---:|---|\n");
    for (Kind k : Kind.values()) {
      List<FaultResult> of = new ArrayList<>();
      long acked = 0;
      for (int i = 0; i < results.size(); i++) {
        FaultResult r = results.get(i);
        if (r.kind() != k) {
          continue;
        }
        of.add(r);
        long next = i + 1 < results.size() ? results.get(i + 1).ackedBefore() : total;
        acked += next - r.ackedBefore();
      }
      if (of.isEmpty()) {
        continue;
      }
      Map<String, Long> codes = new TreeMap<>();
      of.forEach(r -> r.refusedCodes().forEach((c, n) -> codes.merge(c, n, Long::sum)));
      List<Long> times = of.stream().map(FaultResult::recoverMillis).sorted().toList();
      b.append(
          String.format(
              "| %s | %d | %,d | %d (%d) | %s | %,d | %d | %d | %s / %s / %s |%n",
              k.label,
              of.size(),
              acked,
              of.stream().mapToLong(FaultResult::lostInFlight).sum(),
              of.stream().mapToLong(FaultResult::replayedOnRetry).sum(),
              codes.isEmpty() ? "none" : codes.toString().replaceAll("[{}]", ""),
              of.stream().mapToLong(FaultResult::verified).sum(),
              losses(of.stream().flatMap(r -> r.problems().stream()).toList()),
              leaks(of.stream().flatMap(r -> r.problems().stream()).toList()),
              seconds(times.getFirst()),
              seconds(median(times)),
              seconds(times.getLast())));
    }
    b.append(
        String.format(
            "| **whole campaign** (final check) | %d | %,d | | | %,d | %d | %d | |%n",
            results.size(), total, verifiedAtEnd, losses(finalProblems), leaks(finalProblems)));
    b.append(
        String.format(
            "%nRun %s to %s (%s), seed %d; answers: %s.%n",
            began,
            ended,
            Duration.between(began, ended).toSeconds() + " s",
            seed,
            FaultCampaignCommand.snapshotOf(stream.answers)));
    List<FaultVerifier.Problem> other = new ArrayList<>(finalProblems);
    results.forEach(r -> other.addAll(r.problems()));
    if (!other.isEmpty()) {
      b.append("\nPROBLEMS:\n");
      other.stream().limit(50).forEach(p -> b.append("- ").append(p).append('\n'));
    }
    return b.toString();
  }

  private static long losses(List<FaultVerifier.Problem> problems) {
    return problems.stream()
        .filter(p -> !NOT_LOSSES.contains(p.kind()))
        .map(FaultVerifier.Problem::sendId)
        .distinct()
        .count();
  }

  private static long leaks(List<FaultVerifier.Problem> problems) {
    return problems.stream()
        .filter(p -> p.kind().equals("visible_unacknowledged"))
        .map(FaultVerifier.Problem::sendId)
        .distinct()
        .count();
  }

  private static long median(List<Long> sorted) {
    int n = sorted.size();
    return n % 2 == 1 ? sorted.get(n / 2) : (sorted.get(n / 2 - 1) + sorted.get(n / 2)) / 2;
  }

  private static String seconds(long millis) {
    return String.format("%.2f s", millis / 1000.0);
  }
}
