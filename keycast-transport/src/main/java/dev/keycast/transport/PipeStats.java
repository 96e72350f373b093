package dev.keycast.transport;

import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/**
 * Counters of an {@link L4Pipe}, safe to read from any thread. "Upstream" is from the accepted
 * client to the target, "downstream" the reverse. No payload ever reaches these counters.
 */
public final class PipeStats {
  final LongAdder accepted = new LongAdder();
  final LongAdder rejected = new LongAdder();
  final LongAdder connectFailures = new LongAdder();
  final LongAdder idleTimeouts = new LongAdder();
  final LongAdder bytesUpstream = new LongAdder();
  final LongAdder bytesDownstream = new LongAdder();
  final AtomicLong active = new AtomicLong();
  final AtomicLong pendingBytes = new AtomicLong();
  final AtomicLong maxPendingBytes = new AtomicLong();

  PipeStats() {}

  /** Connections accepted and admitted (within the connection limit). */
  public long accepted() {
    return accepted.sum();
  }

  /** Connections closed at once because the connection limit was reached. */
  public long rejected() {
    return rejected.sum();
  }

  /** Admitted connections whose connect to the target failed or timed out. */
  public long connectFailures() {
    return connectFailures.sum();
  }

  /** Connection pairs closed by the idle timeout. */
  public long idleTimeouts() {
    return idleTimeouts.sum();
  }

  /** Admitted connections not yet fully closed. */
  public long active() {
    return active.get();
  }

  /** Bytes read from clients and written to the target. */
  public long bytesUpstream() {
    return bytesUpstream.sum();
  }

  /** Bytes read from the target and written to clients. */
  public long bytesDownstream() {
    return bytesDownstream.sum();
  }

  /** Bytes read from one side whose write to the other side has not completed yet. */
  public long pendingBytes() {
    return pendingBytes.get();
  }

  /**
   * The highest {@link #pendingBytes()} seen. While both sides are open it is at most
   * {@link L4Pipe#READ_BUFFER_BYTES} per direction and connection; when a side half-closes, Netty's
   * epoll transport reads what is left in that socket's kernel receive buffer at once, so the
   * bound is then that buffer's size.
   */
  public long maxPendingBytes() {
    return maxPendingBytes.get();
  }

  void addPending(long n) {
    long now = pendingBytes.addAndGet(n);
    maxPendingBytes.accumulateAndGet(now, Math::max);
  }

  @Override
  public String toString() {
    return "PipeStats[accepted="
        + accepted()
        + ", rejected="
        + rejected()
        + ", active="
        + active()
        + ", connectFailures="
        + connectFailures()
        + ", idleTimeouts="
        + idleTimeouts()
        + ", up="
        + bytesUpstream()
        + ", down="
        + bytesDownstream()
        + "]";
  }
}
