package dev.keycast.enclave.server;

import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.LongSupplier;

/**
 * The enclave's counters and histograms, rendered as Prometheus text (exposition format 0.0.4) by
 * {@code GET /v1/metrics}.
 *
 * <p>Labels are only fixed vocabularies: the route (a known path template, or {@code other}), the
 * HTTP status, the delivery format id and the skipped reason code. Never a fingerprint, a key-set
 * id, a secret id or anything a sender chose. Thread-safe.
 */
public final class EnclaveMetrics {
  private static final double[] LATENCY_BUCKETS = {
    0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120
  };
  private static final double[] FANOUT_BUCKETS = {1, 10, 100, 1_000, 10_000, 100_000, 1_000_000};

  private final Map<String, LongAdder> requests = new ConcurrentHashMap<>();
  private final Map<String, Histogram> latency = new ConcurrentHashMap<>();
  private final Map<String, LongAdder> deliveries = new ConcurrentHashMap<>();
  private final Map<String, LongAdder> skipped = new ConcurrentHashMap<>();
  private final Histogram fanout = new Histogram(FANOUT_BUCKETS);
  private final Map<String, LongSupplier> gauges = new ConcurrentHashMap<>();

  /** Counts one answered request and its latency. {@code route} must be a fixed template. */
  public void request(String route, int status, long nanos) {
    requests.computeIfAbsent(route + '\0' + status, k -> new LongAdder()).increment();
    latency.computeIfAbsent(route, k -> new Histogram(LATENCY_BUCKETS)).observe(nanos / 1e9);
  }

  /** Counts deliveries made in one format. */
  public void delivered(String formatId, long count) {
    if (count > 0) {
      deliveries.computeIfAbsent(formatId, k -> new LongAdder()).add(count);
    }
  }

  /** Counts one skipped candidate by its stable reason code. */
  public void skipped(String reason) {
    skipped.computeIfAbsent(reason, k -> new LongAdder()).increment();
  }

  /** Records the number of eligible recipients of one send or forward. */
  public void fanout(int eligible) {
    fanout.observe(eligible);
  }

  /** Exposes a counter owned elsewhere (e.g. dropped log lines) as {@code keycast_enclave_<name>}. */
  public void counter(String name, LongSupplier value) {
    gauges.put(name, value);
  }

  /** The Prometheus text exposition. */
  public String render() {
    StringBuilder b = new StringBuilder(4096);
    b.append(
        "# HELP keycast_enclave_requests_total HTTP requests answered, by route and status.\n");
    b.append("# TYPE keycast_enclave_requests_total counter\n");
    new TreeMap<>(requests)
        .forEach(
            (k, v) -> {
              int z = k.indexOf('\0');
              b.append("keycast_enclave_requests_total{route=\"")
                  .append(k, 0, z)
                  .append("\",status=\"")
                  .append(k.substring(z + 1))
                  .append("\"} ")
                  .append(v.sum())
                  .append('\n');
            });
    b.append("# HELP keycast_enclave_request_seconds Request latency, by route.\n");
    b.append("# TYPE keycast_enclave_request_seconds histogram\n");
    new TreeMap<>(latency)
        .forEach(
            (route, h) ->
                h.render(b, "keycast_enclave_request_seconds", "route=\"" + route + "\","));
    b.append("# HELP keycast_enclave_deliveries_total Envelopes produced, by delivery format.\n");
    b.append("# TYPE keycast_enclave_deliveries_total counter\n");
    new TreeMap<>(deliveries)
        .forEach(
            (f, v) ->
                b.append("keycast_enclave_deliveries_total{format=\"")
                    .append(f)
                    .append("\"} ")
                    .append(v.sum())
                    .append('\n'));
    b.append("# HELP keycast_enclave_skipped_total Candidates not delivered to, by reason.\n");
    b.append("# TYPE keycast_enclave_skipped_total counter\n");
    new TreeMap<>(skipped)
        .forEach(
            (r, v) ->
                b.append("keycast_enclave_skipped_total{reason=\"")
                    .append(r)
                    .append("\"} ")
                    .append(v.sum())
                    .append('\n'));
    b.append("# HELP keycast_enclave_fanout_recipients Eligible recipients per send or forward.\n");
    b.append("# TYPE keycast_enclave_fanout_recipients histogram\n");
    fanout.render(b, "keycast_enclave_fanout_recipients", "");
    new TreeMap<>(gauges)
        .forEach(
            (name, v) -> {
              b.append("# TYPE keycast_enclave_").append(name).append(" counter\n");
              b.append("keycast_enclave_")
                  .append(name)
                  .append(' ')
                  .append(v.getAsLong())
                  .append('\n');
            });
    return b.toString();
  }

  /** A cumulative histogram with fixed upper bounds. */
  private static final class Histogram {
    private final double[] bounds;
    private final AtomicLongArray counts;
    private final LongAdder count = new LongAdder();
    private final java.util.concurrent.atomic.DoubleAdder sum =
        new java.util.concurrent.atomic.DoubleAdder();

    Histogram(double[] bounds) {
      this.bounds = bounds;
      this.counts = new AtomicLongArray(bounds.length);
    }

    void observe(double v) {
      for (int i = 0; i < bounds.length; i++) {
        if (v <= bounds[i]) {
          counts.incrementAndGet(i);
          break;
        }
      }
      count.increment();
      sum.add(v);
    }

    void render(StringBuilder b, String name, String labels) {
      long cumulative = 0;
      for (int i = 0; i < bounds.length; i++) {
        cumulative += counts.get(i);
        b.append(name)
            .append("_bucket{")
            .append(labels)
            .append("le=\"")
            .append(format(bounds[i]))
            .append("\"} ")
            .append(cumulative)
            .append('\n');
      }
      b.append(name)
          .append("_bucket{")
          .append(labels)
          .append("le=\"+Inf\"} ")
          .append(count.sum())
          .append('\n');
      String l = labels.isEmpty() ? "" : "{" + labels.substring(0, labels.length() - 1) + "}";
      b.append(name).append("_sum").append(l).append(' ').append(sum.sum()).append('\n');
      b.append(name).append("_count").append(l).append(' ').append(count.sum()).append('\n');
    }

    private static String format(double d) {
      return d == Math.rint(d) ? Long.toString((long) d) : Double.toString(d);
    }
  }
}
