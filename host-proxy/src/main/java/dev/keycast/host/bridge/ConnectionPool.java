package dev.keycast.host.bridge;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import java.util.Objects;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The enclave client's keep-alive connections, taken and given back by the calling thread itself
 * (a virtual thread that may block): at most {@code maxConnections} are lent at once (a fair
 * semaphore: first come, first served), at most {@code maxWaiting} callers wait for one, each for at
 * most the acquire timeout. Idle connections are reused last-in first-out and only while active.
 *
 * <p>Unlike Netty's {@code FixedChannelPool}, taking and giving back a connection costs no task on
 * an event loop (no wake-up of the loop, no {@code eventfd} write): a small send used to make
 * two or three such hops for its one enclave request.
 */
final class ConnectionPool implements AutoCloseable {
  /** Why a connection could not be had. */
  enum Failure {
    /** More callers than {@code maxWaiting} were already waiting. */
    TOO_MANY_WAITING,
    /** No connection became free within the acquire timeout. */
    TIMED_OUT,
    /** The pool is closed. */
    CLOSED,
    /** A new connection could not be opened. */
    CONNECT
  }

  /** A connection could not be had; {@link #failure()} says why. */
  static final class AcquireException extends Exception {
    private final Failure failure;

    AcquireException(Failure failure, String message, Throwable cause) {
      super(message, cause);
      this.failure = failure;
    }

    Failure failure() {
      return failure;
    }
  }

  private final Bootstrap bootstrap;
  private final Semaphore permits;
  private final int maxWaiting;
  private final long acquireTimeoutNanos;
  private final AtomicInteger waiting = new AtomicInteger();
  private final ConcurrentLinkedDeque<Channel> idle = new ConcurrentLinkedDeque<>();
  private volatile boolean closed;

  /**
   * A pool whose new connections come from {@code bootstrap} (with its handler and connect timeout
   * set).
   */
  ConnectionPool(
      Bootstrap bootstrap, int maxConnections, int maxWaiting, long acquireTimeoutNanos) {
    this.bootstrap = Objects.requireNonNull(bootstrap, "bootstrap");
    if (maxConnections < 1 || maxWaiting < 1 || acquireTimeoutNanos <= 0) {
      throw new IllegalArgumentException(
          "maxConnections, maxWaiting and the timeout must be positive");
    }
    this.permits = new Semaphore(maxConnections, true);
    this.maxWaiting = maxWaiting;
    this.acquireTimeoutNanos = acquireTimeoutNanos;
  }

  /** A connection of this pool, idle or new; blocks (see the class comment). */
  Channel acquire() throws AcquireException, InterruptedException {
    if (closed) {
      throw new AcquireException(Failure.CLOSED, "the enclave client is closed", null);
    }
    // tryAcquire with a timeout, unlike tryAcquire(), honours the semaphore's fairness
    if (!permits.tryAcquire(0, TimeUnit.NANOSECONDS)) {
      if (waiting.incrementAndGet() > maxWaiting) {
        waiting.decrementAndGet();
        throw new AcquireException(Failure.TOO_MANY_WAITING, "too many requests waiting", null);
      }
      try {
        if (!permits.tryAcquire(acquireTimeoutNanos, TimeUnit.NANOSECONDS)) {
          throw new AcquireException(Failure.TIMED_OUT, "no connection became free in time", null);
        }
      } finally {
        waiting.decrementAndGet();
      }
    }
    boolean lent = false;
    try {
      Channel ch = takeIdle();
      if (ch == null) {
        ch = connect();
      }
      lent = true;
      return ch;
    } finally {
      if (!lent) {
        permits.release();
      }
    }
  }

  /** How many callers are waiting for a connection now (bounded by {@code maxWaiting}). */
  int waitingCount() {
    return waiting.get();
  }

  private Channel takeIdle() {
    Channel ch;
    while ((ch = idle.pollFirst()) != null) {
      if (ch.isActive()) {
        return ch;
      }
      ch.close();
    }
    return null;
  }

  private Channel connect() throws AcquireException, InterruptedException {
    ChannelFuture f = bootstrap.connect();
    try {
      f.await(); // the bootstrap's connect timeout bounds this
    } catch (InterruptedException e) {
      closeQuietly(f.channel());
      throw e;
    }
    if (!f.isSuccess()) {
      closeQuietly(f.channel());
      throw new AcquireException(Failure.CONNECT, "connect failed", f.cause());
    }
    if (closed) {
      f.channel().close();
      throw new AcquireException(Failure.CLOSED, "the enclave client is closed", null);
    }
    return f.channel();
  }

  /** Closes a channel whose connect failed (one that never got registered has nothing to close). */
  private static void closeQuietly(Channel ch) {
    if (ch.isRegistered()) {
      ch.close();
    }
  }

  /**
   * Gives back a connection that {@link #acquire()} lent: kept for reuse when {@code reusable} and
   * still active, closed otherwise. Exactly once per acquired connection; any thread.
   */
  void release(Channel ch, boolean reusable) {
    try {
      if (reusable && !closed && ch.isActive()) {
        idle.offerFirst(ch);
        if (closed && idle.remove(ch)) {
          ch.close(); // raced with close(): do not leave it idle
        }
      } else {
        ch.close();
      }
    } finally {
      permits.release();
    }
  }

  /** Closes the idle connections; later acquires fail. Lent connections are closed on release. */
  @Override
  public void close() {
    closed = true;
    Channel ch;
    while ((ch = idle.pollFirst()) != null) {
      ch.close();
    }
  }
}
