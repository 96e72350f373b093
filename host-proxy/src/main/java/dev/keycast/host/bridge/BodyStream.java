package dev.keycast.host.bridge;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.EmptyHttpHeaders;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.LastHttpContent;
import java.io.IOException;
import java.io.OutputStream;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * The body of one streamed request: pieces of {@link #BODY_PIECE} bytes written as HTTP chunks,
 * at most {@link EnclaveClient#BODY_WINDOW} bytes in flight. The request head is held back until the first
 * piece is full (it then goes out with that piece) or the body is finished: a body that fits in
 * one piece (a small send) goes out as one request with a {@code Content-Length}, in one write
 * and one flush (one task for the event loop and one system call, instead of three of each for
 * head, chunk and last chunk).
 */
final class BodyStream extends OutputStream {
  private static final int BODY_PIECE = 64 * 1024;
  private static final int FIRST_PIECE = 4 * 1024;

  /** The answer arrived or the connection failed: stop writing. */
  static final class Interrupted extends IOException {
    Interrupted() {
      super("the enclave answered or the connection closed before the body was complete");
    }
  }

  private final Channel ch;
  private final CompletableFuture<EnclaveResponse> answer;
  private final long max;
  private final java.util.concurrent.Semaphore window =
      new java.util.concurrent.Semaphore(EnclaveClient.BODY_WINDOW / BODY_PIECE);

  /**
   * The piece being filled: starts at {@link #FIRST_PIECE} bytes and doubles up to {@link
   * #BODY_PIECE} (a small send's body is a few KiB: a 64 KiB array for each request was about
   * 45 % of the host's allocation per small send, 122 KB; performance.md section 3, "Phase 10").
   */
  private byte[] piece = new byte[FIRST_PIECE];

  private HttpRequest head;
  private int used;
  private long total;
  private volatile boolean failed;

  BodyStream(Channel ch, CompletableFuture<EnclaveResponse> answer, long max) {
    this.ch = ch;
    this.answer = answer;
    this.max = max;
  }

  /** Holds {@code head} (chunked) back until the first piece or the end of the body. */
  void start(HttpRequest head) {
    this.head = head;
  }

  void send(Object msg) throws IOException {
    send(msg, true);
  }

  private void send(Object msg, boolean flush) throws IOException {
    check();
    acquire();
    ChannelFuture written = flush ? ch.writeAndFlush(msg) : ch.write(msg);
    written.addListener(
        w -> {
          if (!w.isSuccess()) {
            failed = true;
            answer.completeExceptionally(
                EnclaveException.closedBeforeAnswer(
                    EnclaveClient.CLOSED
                        + ": cannot write to the enclave: "
                        + EnclaveClient.describe(w.cause())));
            ch.close();
          }
          window.release();
        });
  }

  private void acquire() throws IOException {
    try {
      while (!window.tryAcquire(100, TimeUnit.MILLISECONDS)) {
        check();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new java.io.InterruptedIOException("interrupted while writing to the enclave");
    }
  }

  private void check() throws Interrupted {
    if (failed || answer.isDone()) {
      throw new Interrupted();
    }
  }

  @Override
  public void write(int b) throws IOException {
    if (used == piece.length) {
      makeRoom();
    }
    count(1);
    piece[used++] = (byte) b;
  }

  @Override
  public void write(byte[] b, int off, int len) throws IOException {
    Objects.checkFromIndexSize(off, len, b.length);
    count(len);
    while (len > 0) {
      if (used == piece.length) {
        makeRoom();
      }
      int n = Math.min(len, piece.length - used);
      System.arraycopy(b, off, piece, used, n);
      used += n;
      off += n;
      len -= n;
    }
  }

  private void count(int n) throws EnclaveClient.BodyTooLargeException {
    total += n;
    if (total > max) {
      throw new EnclaveClient.BodyTooLargeException(max);
    }
  }

  /** The piece is full: grows it up to {@link #BODY_PIECE} bytes, then sends it. */
  private void makeRoom() throws IOException {
    if (piece.length < BODY_PIECE) {
      piece = java.util.Arrays.copyOf(piece, Math.min(BODY_PIECE, piece.length * 2));
    } else {
      flushPiece();
    }
  }

  private void flushPiece() throws IOException {
    if (used > 0) {
      ByteBuf buf = ch.alloc().buffer(used, used);
      buf.writeBytes(piece, 0, used);
      used = 0;
      if (head != null) {
        HttpRequest h = head;
        head = null;
        try {
          send(h, false); // not flushed: goes out with the piece below, in the same write
        } catch (IOException | RuntimeException e) {
          buf.release();
          throw e;
        }
      }
      send(new DefaultHttpContent(buf));
    }
  }

  void finish() throws IOException {
    if (head != null) {
      // the whole body is in the piece: one request with Content-Length
      HttpRequest h = head;
      head = null;
      ByteBuf buf = used == 0 ? Unpooled.EMPTY_BUFFER : ch.alloc().buffer(used, used);
      buf.writeBytes(piece, 0, used);
      used = 0;
      FullHttpRequest full =
          new DefaultFullHttpRequest(
              h.protocolVersion(),
              h.method(),
              h.uri(),
              buf,
              h.headers(),
              EmptyHttpHeaders.INSTANCE);
      HttpUtil.setTransferEncodingChunked(full, false);
      HttpUtil.setContentLength(full, buf.readableBytes());
      try {
        send(full);
      } catch (IOException | RuntimeException e) {
        full.release();
        throw e;
      }
      return;
    }
    flushPiece();
    send(LastHttpContent.EMPTY_LAST_CONTENT);
  }

  /** Nothing of this stream is held after this (pieces in flight belong to the channel). */
  void release() {
    used = 0;
    head = null;
  }
}
