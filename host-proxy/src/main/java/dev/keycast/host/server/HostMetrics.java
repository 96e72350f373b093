package dev.keycast.host.server;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.DoubleAdder;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.LongSupplier;

/**
 * A small metrics registry rendered in the Prometheus text exposition format (version 0.0.4):
 * labelled counters, histograms with fixed buckets, and gauges read from suppliers. Label values
 * are routes, statuses, operations and error codes only: never ids, keys or secrets.
 */
public final class HostMetrics {
  /** Latency buckets, in seconds. */
  public static final double[] LATENCY_BUCKETS = {
    0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60
  };

  /** Fan-out buckets, in recipients. */
  public static final double[] FANOUT_BUCKETS = {0, 1, 10, 100, 1000, 10_000, 100_000, 1_000_000};

  private record Family(String name, String type, String help) {}

  private final Map<String, Family> families = new ConcurrentHashMap<>();
  private final Map<String, Map<String, LongAdder>> counters = new ConcurrentHashMap<>();
  private final Map<String, Map<String, Histogram>> histograms = new ConcurrentHashMap<>();
  private final List<Map.Entry<String, LongSupplier>> gauges = new CopyOnWriteArrayList<>();

  /** Adds one to counter {@code name} with labels given as alternating names and values. */
  public void inc(String name, String help, String... labels) {
    add(name, help, 1, labels);
  }

  /** Adds {@code n} to a counter. */
  public void add(String name, String help, long n, String... labels) {
    if (!families.containsKey(name)) {
      families.putIfAbsent(name, new Family(name, "counter", help));
    }
    counters
        .computeIfAbsent(name, k -> new ConcurrentHashMap<>())
        .computeIfAbsent(labels(labels), k -> new LongAdder())
        .add(n);
  }

  /** Records a value in histogram {@code name}. */
  public void observe(String name, String help, double[] buckets, double value, String... labels) {
    if (!families.containsKey(name)) {
      families.putIfAbsent(name, new Family(name, "histogram", help));
    }
    histograms
        .computeIfAbsent(name, k -> new ConcurrentHashMap<>())
        .computeIfAbsent(labels(labels), k -> new Histogram(buckets))
        .observe(value);
  }

  /** Registers a gauge (or a counter kept elsewhere, when {@code type} is {@code counter}). */
  public void gauge(String name, String type, String help, LongSupplier value) {
    families.put(name, new Family(name, type, help));
    gauges.add(Map.entry(name, value));
  }

  /** The current value of a counter, for tests and status pages (0 when absent). */
  public long counter(String name, String... labels) {
    Map<String, LongAdder> m = counters.get(name);
    LongAdder a = m == null ? null : m.get(labels(labels));
    return a == null ? 0 : a.sum();
  }

  private static String labels(String... kv) {
    if (kv.length == 0) {
      return "";
    }
    if (kv.length % 2 != 0) {
      throw new IllegalArgumentException("labels come in name/value pairs");
    }
    StringBuilder b = new StringBuilder("{");
    for (int i = 0; i < kv.length; i += 2) {
      if (i > 0) {
        b.append(',');
      }
      b.append(kv[i]).append("=\"").append(escape(kv[i + 1])).append('"');
    }
    return b.append('}').toString();
  }

  private static String escape(String v) {
    for (int i = 0; i < v.length(); i++) {
      char c = v.charAt(i);
      if (c == '\\' || c == '"' || c == '\n') {
        return v.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n");
      }
    }
    return v; // the usual case (routes, statuses, codes): nothing to escape, nothing allocated
  }

  /** The registry in Prometheus text format. */
  public String render() {
    StringBuilder out = new StringBuilder(4096);
    for (Family f : new TreeMap<>(families).values()) {
      out.append("# HELP ").append(f.name).append(' ').append(f.help).append('\n');
      out.append("# TYPE ").append(f.name).append(' ').append(f.type).append('\n');
      Map<String, LongAdder> c = counters.get(f.name);
      if (c != null) {
        new TreeMap<>(c)
            .forEach(
                (l, v) -> out.append(f.name).append(l).append(' ').append(v.sum()).append('\n'));
      }
      Map<String, Histogram> h = histograms.get(f.name);
      if (h != null) {
        new TreeMap<>(h).forEach((l, v) -> v.render(out, f.name, l));
      }
      for (Map.Entry<String, LongSupplier> g : gauges) {
        if (g.getKey().equals(f.name)) {
          out.append(f.name).append(' ').append(g.getValue().getAsLong()).append('\n');
        }
      }
    }
    return out.toString();
  }

  private static final class Histogram {
    private final double[] bounds;
    private final LongAdder[] counts;
    private final LongAdder count = new LongAdder();
    private final DoubleAdder sum = new DoubleAdder();

    Histogram(double[] bounds) {
      this.bounds = bounds.clone();
      this.counts = new LongAdder[bounds.length];
      for (int i = 0; i < counts.length; i++) {
        counts[i] = new LongAdder();
      }
    }

    void observe(double v) {
      for (int i = 0; i < bounds.length; i++) {
        if (v <= bounds[i]) {
          counts[i].increment();
          break;
        }
      }
      count.increment();
      sum.add(v);
    }

    void render(StringBuilder out, String name, String labels) {
      String inner = labels.isEmpty() ? "" : labels.substring(1, labels.length() - 1) + ",";
      long cumulative = 0;
      List<String> lines = new ArrayList<>();
      for (int i = 0; i < bounds.length; i++) {
        cumulative += counts[i].sum();
        lines.add(name + "_bucket{" + inner + "le=\"" + format(bounds[i]) + "\"} " + cumulative);
      }
      lines.add(name + "_bucket{" + inner + "le=\"+Inf\"} " + count.sum());
      lines.forEach(l -> out.append(l).append('\n'));
      out.append(name).append("_sum").append(labels).append(' ').append(sum.sum()).append('\n');
      out.append(name).append("_count").append(labels).append(' ').append(count.sum()).append('\n');
    }

    private static String format(double d) {
      return d == Math.rint(d) && Math.abs(d) < 1e15
          ? Long.toString((long) d) + ".0"
          : Double.toString(d);
    }
  }
}
