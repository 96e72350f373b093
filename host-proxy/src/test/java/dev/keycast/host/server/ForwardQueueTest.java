package dev.keycast.host.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * The late-forward queue's bound: a full queue defers a job (the registration is not held up),
 * and a deferred job runs on the next trigger (a job ending, or another submission).
 */
class ForwardQueueTest {
  private static final Duration WAIT = Duration.ofSeconds(20);

  @Test
  void aFullQueueDefersTheForwardAndRunsItWhenAJobEnds() throws Exception {
    CountDownLatch started = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    List<String> ran = new CopyOnWriteArrayList<>();
    HostMetrics metrics = new HostMetrics();
    try (ForwardQueue q =
        new ForwardQueue(
            key -> {
              if (key.equals("a")) {
                started.countDown();
                assertThat(release.await(30, TimeUnit.SECONDS)).isTrue();
              }
              ran.add(key);
              return 1;
            },
            1,
            1,
            10,
            metrics)) {
      Optional<CompletableFuture<Integer>> a = q.submit("a");
      assertThat(started.await(30, TimeUnit.SECONDS)).isTrue(); // the one worker is busy
      Optional<CompletableFuture<Integer>> b = q.submit("b"); // the one queue slot
      Optional<CompletableFuture<Integer>> c = q.submit("c"); // full: deferred, not waited for
      assertThat(a).isPresent();
      assertThat(b).isPresent();
      assertThat(c).isEmpty();
      assertThat(q.deferredCount()).isEqualTo(1);
      assertThat(ran).isEmpty();
      assertThat(metrics.render()).contains("keycast_host_late_forwards_deferred_total 1");

      release.countDown();
      assertThat(a.get().get(30, TimeUnit.SECONDS)).isEqualTo(1);
      await().atMost(WAIT).until(() -> ran.contains("c"));
      assertThat(ran).containsExactly("a", "b", "c");
      assertThat(q.deferredCount()).isZero();
    }
  }

  @Test
  void aFailedForwardIsRetriedOnTheNextSubmissionNotInALoop() throws Exception {
    AtomicInteger attempts = new AtomicInteger();
    List<String> ran = new CopyOnWriteArrayList<>();
    try (ForwardQueue q =
        new ForwardQueue(
            key -> {
              if (key.equals("x") && attempts.incrementAndGet() == 1) {
                throw new IllegalStateException("the enclave is down");
              }
              ran.add(key);
              return 0;
            },
            1,
            4,
            10,
            new HostMetrics())) {
      CompletableFuture<Integer> x = q.submit("x").orElseThrow();
      await().atMost(WAIT).until(x::isDone);
      assertThat(x).isCompletedExceptionally();
      assertThat(q.deferredCount()).isEqualTo(1);
      assertThat(attempts.get()).isEqualTo(1); // its own failure triggers no retry

      q.submit("y"); // the next trigger
      await().atMost(WAIT).until(() -> ran.contains("x") && ran.contains("y"));
      assertThat(attempts.get()).isEqualTo(2);
      assertThat(q.deferredCount()).isZero();
    }
  }

  @Test
  void whenEvenTheDeferredSetIsFullTheForwardIsDroppedAndCounted() throws Exception {
    CountDownLatch started = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    HostMetrics metrics = new HostMetrics();
    try (ForwardQueue q =
        new ForwardQueue(
            key -> {
              started.countDown();
              assertThat(release.await(30, TimeUnit.SECONDS)).isTrue();
              return 0;
            },
            1,
            1,
            1,
            metrics)) {
      q.submit("a");
      assertThat(started.await(30, TimeUnit.SECONDS)).isTrue();
      q.submit("b");
      assertThat(q.submit("c")).isEmpty(); // deferred
      assertThat(q.submit("d")).isEmpty(); // dropped
      assertThat(q.deferredCount()).isEqualTo(1);
      assertThat(metrics.render()).contains("keycast_host_late_forwards_dropped_total 1");
      release.countDown();
    }
  }
}
