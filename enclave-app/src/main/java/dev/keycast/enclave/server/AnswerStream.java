package dev.keycast.enclave.server;

import dev.keycast.enclave.server.EnclaveApiService.Answer;
import dev.keycast.protocol.Base64Url;
import dev.keycast.protocol.api.EnclaveApi;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.CompositeByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.DefaultLastHttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import java.io.IOException;
import java.io.OutputStream;

/**
 * The body of an answer that a request's worker writes as it produces it ({@link
 * EnclaveServerHandler#run}), in pieces of {@link EnclaveServerHandler#ANSWER_PIECE} bytes.
 *
 * <p>An answer of at most one piece is held and sent whole, with a {@code Content-Length}, as
 * every answer was before (errors included). When the answer outgrows its first piece and the
 * stream has a channel, the answer is <em>committed</em>: the head ({@code 200}, JSON, {@code
 * Transfer-Encoding: chunked}) and every full piece are written to the channel as they fill up,
 * so a KDM send to 10,000 screens (about 150 MB of KDMs) never holds more than {@link #WINDOW}
 * bytes of its answer. The worker blocks while {@link #WINDOW} bytes or more are written and not
 * yet taken by the connection (back-pressure), for at most {@link #STALL_MILLIS}.
 *
 * <p>A failure after the commit cannot change the status any more (api.md section 1, "Streamed
 * answers"): the answer is ended by a last chunk that carries the error in the trailers {@link
 * EnclaveApi#ANSWER_ERROR_STATUS_TRAILER} and {@link EnclaveApi#ANSWER_ERROR_TRAILER} ({@link
 * #failLate}), and its JSON is left unfinished (the top-level object is never closed, the receipt
 * never written), so a reader that ignored the trailers still could not parse it; when the
 * connection itself failed, it is closed without a last chunk. Either way the host never holds a
 * complete answer of a failed request.
 *
 * <p>Without a channel (tests) the whole answer is held, as before streaming. Written by one
 * thread (the worker); the channel's write completions arrive on its event loop.
 */
final class AnswerStream extends OutputStream {
  /** Most answer bytes written to the channel and not yet taken by it before the worker waits. */
  static final int WINDOW = 1 << 20;

  /** Longest wait for the connection to take earlier pieces before the answer fails. */
  static final long STALL_MILLIS = 300_000;

  /** Longest error body sent in a trailer; a longer one is cut to its code (never happens: messages are short). */
  static final int MAX_TRAILER_BODY = 4096;

  private final ByteBufAllocator alloc;

  /** Null: hold the whole answer (never commit). */
  private final ChannelHandlerContext ctx;

  private final boolean keepAlive;

  /** Without a channel, the whole answer (with one, the answer before a commit is {@link #piece}). */
  private final CompositeByteBuf held;

  private ByteBuf piece;
  private boolean committed;
  private long sent;

  /** Fails a waiting worker when the connection closes; removed when the answer ends. */
  private final io.netty.util.concurrent.GenericFutureListener<
          io.netty.util.concurrent.Future<? super Void>>
      onClose = f -> fail(new IOException("the connection closed"));

  // guarded by "this": the window, shared with the event loop's write completions
  private long unsent;
  private Throwable broken;

  /**
   * A stream that commits to {@code ctx}'s channel once the answer outgrows a piece ({@code ctx}
   * null: never), with {@code keepAlive} the head's connection header.
   */
  AnswerStream(ByteBufAllocator alloc, ChannelHandlerContext ctx, boolean keepAlive) {
    this.alloc = alloc;
    this.ctx = ctx;
    this.keepAlive = keepAlive;
    this.held = alloc.compositeBuffer(Integer.MAX_VALUE);
  }

  @Override
  public void write(int b) throws IOException {
    room().writeByte(b);
  }

  @Override
  public void write(byte[] b, int off, int len) throws IOException {
    java.util.Objects.checkFromIndexSize(off, len, b.length);
    while (len > 0) {
      ByteBuf p = room();
      int n = Math.min(len, p.writableBytes());
      p.writeBytes(b, off, n);
      off += n;
      len -= n;
    }
  }

  /** A piece with room: the full one goes to the held answer, or to the channel once committed. */
  private ByteBuf room() throws IOException {
    if (piece != null && piece.isWritable()) {
      return piece;
    }
    if (piece != null) {
      ByteBuf full = piece;
      piece = null; // owned by the held answer or the channel from here on
      if (ctx == null) {
        held.addComponent(true, full);
      } else {
        if (!committed) {
          commit();
        }
        send(full);
      }
    }
    piece = alloc.buffer(EnclaveServerHandler.ANSWER_PIECE, EnclaveServerHandler.ANSWER_PIECE);
    return piece;
  }

  /** Whether the head and part of the body went to the channel: the status can no longer change. */
  boolean committed() {
    return committed;
  }

  /** Body bytes handed to the channel so far. */
  long sentBytes() {
    return sent;
  }

  private void commit() throws IOException {
    HttpResponse head = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
    head.headers().set(HttpHeaderNames.CONTENT_TYPE, EnclaveApiService.JSON);
    HttpUtil.setTransferEncodingChunked(head, true);
    HttpUtil.setKeepAlive(head, keepAlive);
    committed = true;
    ctx.channel().closeFuture().addListener(onClose);
    ctx.writeAndFlush(head)
        .addListener(
            f -> {
              if (!f.isSuccess()) {
                fail(f.cause());
              }
            });
  }

  /** Writes one piece (the stream gives up its reference), first waiting for the window. */
  private void send(ByteBuf b) throws IOException {
    int n = b.readableBytes();
    try {
      awaitWindow();
    } catch (IOException e) {
      b.release();
      throw e;
    }
    synchronized (this) {
      unsent += n;
    }
    sent += n;
    ctx.writeAndFlush(new DefaultHttpContent(b))
        .addListener(
            f -> {
              synchronized (this) {
                unsent -= n;
                if (!f.isSuccess() && broken == null) {
                  broken = f.cause() == null ? new IOException("write failed") : f.cause();
                }
                notifyAll();
              }
            });
  }

  private synchronized void fail(Throwable cause) {
    if (broken == null) {
      broken = cause == null ? new IOException("the connection failed") : cause;
    }
    notifyAll();
  }

  private synchronized void awaitWindow() throws IOException {
    long deadline = System.nanoTime() + STALL_MILLIS * 1_000_000;
    while (broken == null && unsent >= WINDOW) {
      long left = deadline - System.nanoTime();
      if (left <= 0) {
        throw new IOException("the connection took no answer bytes for " + STALL_MILLIS + " ms");
      }
      try {
        wait(Math.max(1, left / 1_000_000));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new java.io.InterruptedIOException("interrupted while streaming the answer");
      }
    }
    if (broken != null) {
      throw new IOException(
          "the connection failed while the answer was streamed: " + broken.getMessage(), broken);
    }
  }

  /** Whether the connection failed (a committed answer can then only be cut off). */
  synchronized boolean connectionFailed() {
    return broken != null;
  }

  /**
   * Before a commit: the whole answer, and the stream is done. After one: the last chunk (what
   * was not sent yet), to be written on the event loop when the answer ends.
   */
  ByteBuf finish() {
    stopWatchingClose();
    ByteBuf rest = piece;
    piece = null;
    if (!committed) {
      if (rest != null) {
        held.addComponent(true, rest);
      }
      return held;
    }
    held.release();
    return rest == null ? Unpooled.EMPTY_BUFFER : rest;
  }

  /** Releases what is held; idempotent with respect to what {@link #finish} handed over. */
  void discard() {
    stopWatchingClose();
    if (piece != null) {
      piece.release();
      piece = null;
    }
    if (held.refCnt() > 0) {
      held.release();
    }
  }

  /** A keep-alive connection carries many answers: each answer's close listener goes with it. */
  private void stopWatchingClose() {
    if (committed) {
      ctx.channel().closeFuture().removeListener(onClose);
    }
  }

  /**
   * The last chunk of a committed answer whose request failed after the commit: no body, the
   * error in trailers (api.md section 1, "Streamed answers").
   */
  static LastHttpContent failLate(Answer error) {
    DefaultLastHttpContent last = new DefaultLastHttpContent(Unpooled.EMPTY_BUFFER);
    byte[] body = error.body();
    if (body == null || body.length > MAX_TRAILER_BODY) {
      body =
          EnclaveApiService.error(
                  dev.keycast.protocol.api.ErrorCode.INTERNAL,
                  "the request failed after its answer was partly sent")
              .body();
    }
    last.trailingHeaders()
        .set(EnclaveApi.ANSWER_ERROR_STATUS_TRAILER, Integer.toString(error.status()));
    last.trailingHeaders().set(EnclaveApi.ANSWER_ERROR_TRAILER, Base64Url.encode(body));
    return last;
  }
}
