package dev.keycast.host.server;

import java.util.LinkedHashSet;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A bounded queue of late-forward jobs, one job a recipient (its fingerprint the key): at most
 * {@code workers} jobs run at once and at most {@code capacity} wait; nothing here grows with the
 * number of registrations but the deferred set, which is bounded too.
 *
 * <p><b>When the queue is full</b> a submitted job is not run and not waited for: its key is
 * <em>deferred</em> ({@link #submit} answers empty), so the registration that triggered it still
 * succeeds at once. A deferred key is submitted again on the next trigger: when a job ends
 * successfully or another job is submitted, as many deferred keys as the queue has room for are
 * submitted, oldest first. A job that fails is deferred the same way (but its own failure
 * triggers nothing, so a failing enclave is not retried in a loop). When even the deferred set
 * (at most {@code maxDeferred} keys) is full, the key is dropped and counted: that recipient gets
 * its late deliveries on its next registration, which runs every forward again.
 */
final class ForwardQueue implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(ForwardQueue.class);

  /** The work of one key: the late deliveries it made. */
  @FunctionalInterface
  interface Job {
    int run(String key) throws Exception;
  }

  private final Job job;
  private final ThreadPoolExecutor executor;
  private final int maxDeferred;
  private final HostMetrics metrics;
  private final LinkedHashSet<String> deferred = new LinkedHashSet<>();

  ForwardQueue(Job job, int workers, int capacity, int maxDeferred, HostMetrics metrics) {
    if (workers < 1 || capacity < 1 || maxDeferred < 0) {
      throw new IllegalArgumentException("workers and capacity must be positive");
    }
    this.job = Objects.requireNonNull(job, "job");
    this.maxDeferred = maxDeferred;
    this.metrics = Objects.requireNonNull(metrics, "metrics");
    this.executor =
        new ThreadPoolExecutor(
            workers,
            workers,
            30,
            TimeUnit.SECONDS,
            new ArrayBlockingQueue<>(capacity),
            Thread.ofVirtual().name("late-forward-", 0).factory(),
            new ThreadPoolExecutor.AbortPolicy());
    this.executor.allowCoreThreadTimeOut(true);
  }

  /**
   * Queues the job of {@code key}: its future (the deliveries it made), or empty when the queue was
   * full and the key was deferred. Deferred keys are submitted first, while there is room (the
   * oldest wait longest).
   */
  Optional<CompletableFuture<Integer>> submit(String key) {
    drainDeferred();
    Optional<CompletableFuture<Integer>> queued = tryQueue(key);
    if (queued.isEmpty()) {
      defer(key);
    }
    return queued;
  }

  /** Keys waiting for room in the queue. */
  synchronized int deferredCount() {
    return deferred.size();
  }

  private Optional<CompletableFuture<Integer>> tryQueue(String key) {
    CompletableFuture<Integer> done = new CompletableFuture<>();
    try {
      executor.execute(() -> run(key, done));
      return Optional.of(done);
    } catch (RejectedExecutionException e) {
      return Optional.empty();
    }
  }

  private void run(String key, CompletableFuture<Integer> done) {
    try {
      done.complete(job.run(key));
    } catch (Exception | Error e) {
      LOG.warn(
          "late forward to {} failed ({}); retried on the next trigger",
          key,
          e.getClass().getSimpleName());
      defer(key);
      done.completeExceptionally(e);
      return;
    }
    drainDeferred();
  }

  private synchronized void defer(String key) {
    if (deferred.contains(key)) {
      return;
    }
    if (deferred.size() >= maxDeferred) {
      metrics.inc(
          "keycast_host_late_forwards_dropped_total",
          "late forwards neither queued nor deferred (the recipient's next registration runs them)");
      LOG.warn("late forward to {} dropped: queue and deferred set are full", key);
      return;
    }
    deferred.add(key);
    metrics.inc(
        "keycast_host_late_forwards_deferred_total",
        "late forwards deferred because the forward queue was full or the forward failed");
  }

  private void drainDeferred() {
    while (true) {
      String next;
      synchronized (this) {
        if (deferred.isEmpty() || executor.getQueue().remainingCapacity() == 0) {
          return;
        }
        next = deferred.removeFirst();
      }
      if (tryQueue(next).isEmpty()) {
        synchronized (this) {
          deferred.addFirst(next);
        }
        return;
      }
    }
  }

  /** Stops taking jobs; running ones are interrupted. */
  @Override
  public void close() {
    executor.shutdownNow();
  }
}
