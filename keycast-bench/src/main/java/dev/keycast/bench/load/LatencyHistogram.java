package dev.keycast.bench.load;

import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.LongAccumulator;
import java.util.concurrent.atomic.LongAdder;

/**
 * A log-linear histogram of non-negative values (latencies in microseconds), in the manner of
 * HdrHistogram: values 0..255 are counted exactly; above that, each power-of-two range is split
 * into 128 equal sub-buckets, so a reported percentile is at most 1/128 (0.8 %) above the true
 * value and never below it. Recording is lock-free and safe from many threads; min, max, count and
 * mean are exact.
 */
public final class LatencyHistogram {
  static final int SUB_BITS = 7;
  static final int SUB_COUNT = 1 << SUB_BITS; // 128
  private static final int EXACT = 2 * SUB_COUNT; // 0..255 exact

  /** Enough slots for any non-negative long. */
  static final int SLOTS = EXACT + (63 - SUB_BITS) * SUB_COUNT;

  private final AtomicLongArray counts = new AtomicLongArray(SLOTS);
  private final LongAdder count = new LongAdder();
  private final LongAdder sum = new LongAdder();
  private final LongAccumulator min = new LongAccumulator(Math::min, Long.MAX_VALUE);
  private final LongAccumulator max = new LongAccumulator(Math::max, Long.MIN_VALUE);

  /** The slot that counts {@code value}. */
  static int slotOf(long value) {
    if (value < EXACT) {
      return (int) value;
    }
    int shift = 63 - Long.numberOfLeadingZeros(value) - SUB_BITS; // >= 1
    int sub = (int) (value >>> shift) - SUB_COUNT; // 0..127
    return EXACT + (shift - 1) * SUB_COUNT + sub;
  }

  /** The largest value counted in {@code slot}. */
  static long highestInSlot(int slot) {
    if (slot < EXACT) {
      return slot;
    }
    int shift = (slot - EXACT) / SUB_COUNT + 1;
    long sub = (slot - EXACT) % SUB_COUNT + SUB_COUNT;
    long lowest = sub << shift;
    return lowest + (1L << shift) - 1;
  }

  /**
   * Records one value.
   *
   * @throws IllegalArgumentException if {@code value} is negative
   */
  public void record(long value) {
    if (value < 0) {
      throw new IllegalArgumentException("negative value " + value);
    }
    counts.incrementAndGet(slotOf(value));
    count.increment();
    sum.add(value);
    min.accumulate(value);
    max.accumulate(value);
  }

  public long count() {
    return count.sum();
  }

  /** Smallest recorded value, or 0 when empty. */
  public long min() {
    return count() == 0 ? 0 : min.get();
  }

  /** Largest recorded value, or 0 when empty. */
  public long max() {
    return count() == 0 ? 0 : max.get();
  }

  /** Arithmetic mean, or 0 when empty. */
  public double mean() {
    long n = count();
    return n == 0 ? 0 : (double) sum.sum() / n;
  }

  /**
   * The value at {@code percentile} (0 &lt; p &lt;= 100): the smallest recorded value v such that
   * at least p % of the values are &lt;= v, reported as the upper edge of its bucket (capped at
   * {@link #max()}). 0 when empty.
   */
  public long percentile(double percentile) {
    if (!(percentile > 0 && percentile <= 100)) {
      throw new IllegalArgumentException("percentile must be in (0, 100]: " + percentile);
    }
    long n = count();
    if (n == 0) {
      return 0;
    }
    long rank = Math.max(1, (long) Math.ceil(percentile / 100.0 * n));
    long seen = 0;
    for (int i = 0; i < SLOTS; i++) {
      seen += counts.get(i);
      if (seen >= rank) {
        return Math.min(highestInSlot(i), max());
      }
    }
    return max();
  }
}
