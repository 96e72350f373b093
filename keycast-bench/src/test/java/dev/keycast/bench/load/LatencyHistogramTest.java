package dev.keycast.bench.load;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class LatencyHistogramTest {

  @Test
  void smallValuesAreExact() {
    LatencyHistogram h = new LatencyHistogram();
    for (int v = 1; v <= 100; v++) {
      h.record(v);
    }
    assertThat(h.count()).isEqualTo(100);
    assertThat(h.percentile(50)).isEqualTo(50);
    assertThat(h.percentile(90)).isEqualTo(90);
    assertThat(h.percentile(99)).isEqualTo(99);
    assertThat(h.percentile(99.5)).isEqualTo(100);
    assertThat(h.percentile(100)).isEqualTo(100);
    assertThat(h.min()).isEqualTo(1);
    assertThat(h.max()).isEqualTo(100);
    assertThat(h.mean()).isEqualTo(50.5);
  }

  @Test
  void slotsCoverEveryValueWithoutGapsOrOverlap() {
    long previousHighest = -1;
    for (int slot = 0; slot < LatencyHistogram.SLOTS; slot++) {
      long hi = LatencyHistogram.highestInSlot(slot);
      assertThat(hi).as("slot %d", slot).isGreaterThan(previousHighest);
      assertThat(LatencyHistogram.slotOf(previousHighest + 1))
          .as("lowest of slot %d", slot)
          .isEqualTo(slot);
      assertThat(LatencyHistogram.slotOf(hi)).as("highest of slot %d", slot).isEqualTo(slot);
      previousHighest = hi;
      if (hi == Long.MAX_VALUE) {
        break;
      }
    }
    assertThat(previousHighest).isEqualTo(Long.MAX_VALUE);
    assertThat(LatencyHistogram.slotOf(Long.MAX_VALUE)).isLessThan(LatencyHistogram.SLOTS);
  }

  @ParameterizedTest
  @ValueSource(longs = {1, 7, 1000, 1_000_000_000L})
  void percentilesMatchASortedArrayWithinOneBucket(long scale) {
    SplittableRandom r = new SplittableRandom(scale);
    int n = 20_011;
    long[] values = new long[n];
    LatencyHistogram h = new LatencyHistogram();
    for (int i = 0; i < n; i++) {
      // log-normal-ish latencies with a long tail
      values[i] = (long) (scale * Math.exp(r.nextGaussian() * 1.5));
      h.record(values[i]);
    }
    Arrays.sort(values);
    for (double p : new double[] {1, 25, 50, 90, 99, 99.9, 100}) {
      long exact = values[(int) Math.ceil(p / 100 * n) - 1];
      long reported = h.percentile(p);
      assertThat(reported).as("p%s", p).isGreaterThanOrEqualTo(exact);
      assertThat(reported - exact).as("p%s error", p).isLessThanOrEqualTo(Math.max(0, exact / 128));
    }
    assertThat(h.max()).isEqualTo(values[n - 1]);
    assertThat(h.min()).isEqualTo(values[0]);
  }

  @Test
  void emptyAndInvalid() {
    LatencyHistogram h = new LatencyHistogram();
    assertThat(h.percentile(99)).isZero();
    assertThat(h.max()).isZero();
    assertThat(h.mean()).isZero();
    assertThatThrownBy(() -> h.record(-1)).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> h.percentile(0)).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> h.percentile(100.1)).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> h.percentile(Double.NaN)).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void concurrentRecordingLosesNothing() throws Exception {
    LatencyHistogram h = new LatencyHistogram();
    Thread[] ts = new Thread[4];
    for (int t = 0; t < ts.length; t++) {
      ts[t] =
          Thread.ofPlatform()
              .start(
                  () -> {
                    for (int i = 0; i < 50_000; i++) {
                      h.record(i % 1000);
                    }
                  });
    }
    for (Thread t : ts) {
      t.join();
    }
    assertThat(h.count()).isEqualTo(200_000);
    assertThat(h.percentile(100)).isEqualTo(999);
    assertThat(h.percentile(50)).isBetween(495L, 503L);
  }

  @Test
  void durations() {
    assertThat(DurationConverter.parse("60s")).hasSeconds(60);
    assertThat(DurationConverter.parse("500ms")).hasMillis(500);
    assertThat(DurationConverter.parse("2m")).hasMinutes(2);
    assertThat(DurationConverter.parse("PT1H")).hasHours(1);
    assertThatThrownBy(() -> DurationConverter.parse("60 seconds"))
        .hasMessageContaining("'60 seconds' is not a duration");
  }
}
