package dev.keycast.host.server;

import dev.keycast.protocol.api.ErrorCode;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelConfig;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpChunkedInput;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.netty.handler.stream.ChunkedNioFile;
import io.netty.handler.stream.ChunkedWriteHandler;
import io.netty.handler.timeout.IdleStateEvent;
import java.util.ArrayDeque;
import java.util.Deque;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Serves one connection of the public or admin listener. Each aggregated request is handed to
 * {@link HostApiService} on a virtual thread (store and enclave calls block there, never on the
 * event loop). While a request is in flight, the first bytes that arrive from the client turn the
 * connection's auto-read off ({@link #readGate()}, at the head of the pipeline): back-pressure, so
 * at most one read's worth of the next request is held until the answer is written; pipelined
 * requests already decoded wait in order. A client that waits for each answer before it sends the
 * next request (the usual keep-alive client) sends nothing while a request is in flight, so its
 * connection never toggles auto-read (two {@code epoll_ctl} calls per request saved). An idle
 * connection with nothing in flight is closed.
 */
public final class HostServerHandler extends SimpleChannelInboundHandler<FullHttpRequest> {
  private static final Logger LOG = LoggerFactory.getLogger(HostServerHandler.class);

  private final HostServer server;
  private final boolean admin;
  private final Deque<FullHttpRequest> queued = new ArrayDeque<>();
  private boolean busy;
  private final ReadGate gate = new ReadGate();

  /** A handler of {@code server}'s public ({@code admin == false}) or admin listener. */
  public HostServerHandler(HostServer server, boolean admin) {
    super(false);
    this.server = server;
    this.admin = admin;
  }

  /**
   * The handler to put first in this connection's pipeline (before TLS and the HTTP codec): any
   * inbound bytes while a request is in flight turn auto-read off, so no more is read from the
   * client until the answer is written. Same event loop as this handler; not sharable.
   */
  public ChannelInboundHandlerAdapter readGate() {
    return gate;
  }

  private final class ReadGate extends ChannelInboundHandlerAdapter {
    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) throws Exception {
      if (busy) {
        stopReading(ctx);
      }
      super.channelRead(ctx, msg);
    }
  }

  private static void stopReading(ChannelHandlerContext ctx) {
    ChannelConfig config = ctx.channel().config();
    if (config.isAutoRead()) {
      config.setAutoRead(false);
    }
  }

  @Override
  protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
    if (busy) {
      stopReading(ctx);
      queued.add(req);
      return;
    }
    start(ctx, req);
  }

  private void start(ChannelHandlerContext ctx, FullHttpRequest req) {
    busy = true;
    server.requestStarted();
    boolean keepAlive;
    HttpCall call;
    try {
      if (!req.decoderResult().isSuccess()) {
        write(ctx, HttpAnswer.error(ErrorCode.MALFORMED_REQUEST, "malformed HTTP request"), false);
        return;
      }
      keepAlive = HttpUtil.isKeepAlive(req);
      QueryStringDecoder q = new QueryStringDecoder(req.uri());
      call =
          new HttpCall(
              req.method().name(),
              q.path(),
              q.parameters(),
              ByteBufUtil.getBytes(req.content()),
              req.headers().get(io.netty.handler.codec.http.HttpHeaderNames.AUTHORIZATION),
              req.uri());
    } catch (RuntimeException e) {
      write(ctx, HttpAnswer.error(ErrorCode.MALFORMED_REQUEST, "malformed request line"), false);
      return;
    } finally {
      req.release();
    }
    boolean ka = keepAlive;
    try {
      server
          .executor()
          .execute(
              () -> {
                HttpAnswer answer;
                try {
                  answer =
                      admin
                          ? server.service().handleAdmin(call)
                          : server.service().handlePublic(call);
                } catch (Throwable t) {
                  LOG.error("unhandled error", t);
                  answer = HttpAnswer.error(ErrorCode.INTERNAL, "internal error");
                }
                HttpAnswer a = answer;
                try {
                  ctx.executor().execute(() -> write(ctx, a, ka && !server.isDraining()));
                } catch (java.util.concurrent.RejectedExecutionException e) {
                  if (a.file() != null) {
                    deleteQuietly(a.file()); // the event loop is gone: nobody sends it
                  }
                }
              });
    } catch (java.util.concurrent.RejectedExecutionException e) {
      write(ctx, HttpAnswer.error(ErrorCode.OVERLOADED, "the host is shutting down"), false);
    }
  }

  private void write(ChannelHandlerContext ctx, HttpAnswer a, boolean keepAlive) {
    if (a.file() != null) {
      writeFile(ctx, a, keepAlive);
      return;
    }
    FullHttpResponse resp =
        new DefaultFullHttpResponse(
            HttpVersion.HTTP_1_1,
            HttpResponseStatus.valueOf(a.status()),
            Unpooled.wrappedBuffer(a.body()));
    headers(resp, a, a.body().length, keepAlive);
    ctx.writeAndFlush(resp).addListener(done(ctx, keepAlive));
  }

  private static void headers(
      io.netty.handler.codec.http.HttpResponse resp, HttpAnswer a, long length, boolean keepAlive) {
    resp.headers().set(HttpHeaderNames.CONTENT_TYPE, a.contentType());
    HttpUtil.setContentLength(resp, length);
    if (a.retryAfterSeconds() > 0) {
      resp.headers().set(HttpHeaderNames.RETRY_AFTER, a.retryAfterSeconds());
    }
    resp.headers().set(HttpHeaderNames.CACHE_CONTROL, "no-store");
    if (!keepAlive) {
      resp.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
    }
  }

  /**
   * Sends an answer whose body is a file (a large send's result) in 64 KiB pieces as the
   * connection takes them, through a {@link ChunkedWriteHandler} added for this answer only (small
   * answers do not pay for it), and deletes the file when it is sent or the connection failed.
   */
  private void writeFile(ChannelHandlerContext ctx, HttpAnswer a, boolean keepAlive) {
    java.nio.file.Path file = a.file();
    HttpChunkedInput body;
    long length;
    try {
      ChunkedNioFile chunks = new ChunkedNioFile(file.toFile(), 1 << 16);
      length = chunks.length();
      body = new HttpChunkedInput(chunks);
    } catch (java.io.IOException e) {
      LOG.error("a result file cannot be read back", e);
      deleteQuietly(file);
      write(ctx, HttpAnswer.error(ErrorCode.INTERNAL, "internal error"), false);
      return;
    }
    io.netty.handler.codec.http.HttpResponse head =
        new io.netty.handler.codec.http.DefaultHttpResponse(
            HttpVersion.HTTP_1_1, HttpResponseStatus.valueOf(a.status()));
    headers(head, a, length, keepAlive);
    try {
      if (ctx.pipeline().get(CHUNKED) == null) {
        ctx.pipeline().addBefore(ctx.name(), CHUNKED, new ChunkedWriteHandler());
      }
      ctx.write(head);
    } catch (RuntimeException e) {
      closeQuietly(body);
      deleteQuietly(file);
      throw e;
    }
    ctx.writeAndFlush(body)
        .addListener(
            (ChannelFutureListener)
                f -> {
                  deleteQuietly(file);
                  if (f.channel().pipeline().get(CHUNKED) != null) {
                    f.channel().pipeline().remove(CHUNKED);
                  }
                })
        .addListener(done(ctx, keepAlive));
  }

  private static final String CHUNKED = "keycast-chunked-answer";

  private static void closeQuietly(HttpChunkedInput body) {
    try {
      body.close();
    } catch (Exception e) {
      LOG.debug("a result file did not close: {}", e.getClass().getSimpleName());
    }
  }

  private static void deleteQuietly(java.nio.file.Path file) {
    try {
      java.nio.file.Files.deleteIfExists(file);
    } catch (java.io.IOException e) {
      LOG.warn("a result file could not be deleted: {}", e.getClass().getSimpleName());
    }
  }

  /** After an answer is written: the next queued request, or the connection closed. */
  private ChannelFutureListener done(ChannelHandlerContext ctx, boolean keepAlive) {
    return (ChannelFutureListener)
        f -> {
          busy = false;
          server.requestFinished();
          // the request's body bytes leave the upload budget (UploadGuard, earlier in the
          // pipeline)
          f.channel().pipeline().fireUserEventTriggered(UploadGuard.REQUEST_DONE);
          if (!keepAlive || !f.isSuccess()) {
            queued.forEach(FullHttpRequest::release);
            queued.clear();
            f.channel().close();
            return;
          }
          FullHttpRequest next = queued.poll();
          if (next != null) {
            start(ctx, next);
          } else if (!f.channel().config().isAutoRead()) {
            f.channel()
                .config()
                .setAutoRead(true); // reads again (Netty calls read() on the change)
          }
        };
  }

  @Override
  public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
    if (evt instanceof IdleStateEvent && !busy) {
      ctx.close();
      return;
    }
    super.userEventTriggered(ctx, evt);
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) throws Exception {
    queued.forEach(FullHttpRequest::release);
    queued.clear();
    super.channelInactive(ctx);
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    LOG.debug("connection error: {}", cause.toString());
    ctx.close();
  }
}
