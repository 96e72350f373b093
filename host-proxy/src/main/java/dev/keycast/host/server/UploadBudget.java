package dev.keycast.host.server;

import java.util.concurrent.atomic.AtomicLong;

/**
 * The body bytes that a server's connections hold at once, capped ({@link UploadLimits}).
 * Thread-safe; one per server, shared by its listeners.
 */
final class UploadBudget {
  private final long max;
  private final AtomicLong held = new AtomicLong();
  private final AtomicLong peak = new AtomicLong();
  private final AtomicLong refused = new AtomicLong();

  UploadBudget(long max) {
    if (max < 1) {
      throw new IllegalArgumentException("the upload budget must be positive");
    }
    this.max = max;
  }

  /** Takes {@code bytes} from the budget, or nothing and false when they do not fit. */
  boolean tryReserve(long bytes) {
    if (bytes < 0) {
      throw new IllegalArgumentException("negative reservation");
    }
    while (true) {
      long now = held.get();
      long next = now + bytes;
      if (next > max || next < 0) {
        refused.incrementAndGet();
        return false;
      }
      if (held.compareAndSet(now, next)) {
        peak.accumulateAndGet(next, Math::max);
        return true;
      }
    }
  }

  /** Gives {@code bytes} back. */
  void release(long bytes) {
    if (bytes < 0) {
      throw new IllegalArgumentException("negative release");
    }
    long after = held.addAndGet(-bytes);
    if (after < 0) {
      throw new IllegalStateException("upload budget released more than it reserved");
    }
  }

  /** Bytes held now. */
  long held() {
    return held.get();
  }

  /** Most bytes ever held at once. */
  long peak() {
    return peak.get();
  }

  /** Reservations refused because the budget was spent. */
  long refused() {
    return refused.get();
  }

  /** The cap. */
  long max() {
    return max;
  }
}
