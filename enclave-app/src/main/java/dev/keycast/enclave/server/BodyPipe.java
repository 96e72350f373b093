package dev.keycast.enclave.server;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayDeque;

/**
 * A request body handed from the event loop to the worker that decodes it, as an
 * {@link InputStream}: the event loop {@link #offer}s content as it arrives; the worker reads.
 * Bounded: above {@link #HIGH_WATER} buffered bytes the channel stops reading until the worker
 * has drained below {@link #LOW_WATER}; more than {@code maxBytes} in total fails the read with
 * {@link TooLargeException}. A body that stalls for {@link #STALL_MILLIS} fails the read.
 *
 * <p>Thread-safe: one producer (the channel's event loop), one consumer (the worker).
 */
final class BodyPipe extends InputStream {
  /** Buffered bytes above which the channel stops reading. */
  static final int HIGH_WATER = 1 << 20;

  /** Buffered bytes below which a stopped channel reads again. */
  static final int LOW_WATER = 256 * 1024;

  /** Longest wait for the next piece of body before the read fails. */
  static final long STALL_MILLIS = 300_000;

  /** The body exceeds the request limit; the caller answers 413 and closes the connection. */
  static final class TooLargeException extends IOException {
    TooLargeException(long max) {
      super("request body exceeds " + max + " bytes", null);
    }
  }

  private final Channel channel;
  private final long maxBytes;

  /** Pieces copied off the event loop's buffers (which are released at once, on the event loop). */
  private final ArrayDeque<byte[]> queue = new ArrayDeque<>();

  private byte[] current;
  private int currentPos;
  private long buffered;
  private long total;
  private boolean ended;
  private boolean closed;
  private boolean tooLarge;
  private boolean paused;
  private boolean eofSeen;

  BodyPipe(Channel channel, long maxBytes) {
    this.channel = channel;
    this.maxBytes = maxBytes;
  }

  /**
   * Event loop: one piece of the body; the pipe takes over the reference and releases it before
   * returning (the bytes are copied: no buffer is shared with, or released by, the worker).
   */
  void offer(ByteBuf content) {
    byte[] bytes;
    try {
      bytes = new byte[content.readableBytes()];
      content.readBytes(bytes);
    } finally {
      content.release();
    }
    synchronized (this) {
      if (closed || tooLarge) {
        return;
      }
      total += bytes.length;
      if (total > maxBytes) {
        tooLarge = true;
        notifyAll();
        return;
      }
      if (bytes.length == 0) {
        return;
      }
      queue.add(bytes);
      buffered += bytes.length;
      if (buffered > HIGH_WATER && !paused) {
        paused = true;
        channel.config().setAutoRead(false);
      }
      notifyAll();
    }
  }

  /** Event loop: the last piece has arrived. */
  synchronized void end() {
    ended = true;
    notifyAll();
  }

  /** Whether the whole body arrived and the worker read it to its end. */
  synchronized boolean consumedToEnd() {
    return ended && eofSeen && !tooLarge;
  }

  /** Whether the declared or received body exceeded the limit. */
  synchronized boolean tooLarge() {
    return tooLarge;
  }

  @Override
  public int read() throws IOException {
    byte[] one = new byte[1];
    return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
  }

  @Override
  public synchronized int read(byte[] b, int off, int len) throws IOException {
    if (len == 0) {
      return 0;
    }
    long deadline = System.currentTimeMillis() + STALL_MILLIS;
    while (true) {
      if (tooLarge) {
        throw new TooLargeException(maxBytes);
      }
      if (closed) {
        throw new IOException("request body closed");
      }
      if (current != null && currentPos < current.length) {
        int n = Math.min(len, current.length - currentPos);
        System.arraycopy(current, currentPos, b, off, n);
        currentPos += n;
        buffered -= n;
        resumeIfDrained();
        return n;
      }
      current = queue.poll();
      currentPos = 0;
      if (current == null) {
        if (ended) {
          eofSeen = true;
          return -1;
        }
        long left = deadline - System.currentTimeMillis();
        if (left <= 0) {
          throw new IOException("request body stalled for " + STALL_MILLIS + " ms");
        }
        try {
          wait(left);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new IOException("interrupted while reading the request body");
        }
      }
    }
  }

  /**
   * Reads and drops the rest of the body (after an early answer), so the connection can stay open
   * and the client is not reset while still sending. Gives up silently on a read failure.
   */
  void skipRest() {
    byte[] scratch = new byte[16 * 1024];
    try {
      while (read(scratch, 0, scratch.length) >= 0) {
        // dropped
      }
    } catch (IOException e) {
      // too large, closed or stalled: the caller closes the connection
    }
  }

  private void resumeIfDrained() {
    if (paused && buffered < LOW_WATER && !ended) {
      paused = false;
      channel.eventLoop().execute(() -> channel.config().setAutoRead(true));
    }
  }

  /** Releases what is buffered; later content is dropped on arrival. Idempotent. */
  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    current = null;
    queue.clear();
    buffered = 0;
    notifyAll();
  }
}
