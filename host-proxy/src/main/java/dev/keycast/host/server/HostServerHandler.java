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
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.QueryStringDecoder;
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
                ctx.executor().execute(() -> write(ctx, a, ka && !server.isDraining()));
              });
    } catch (java.util.concurrent.RejectedExecutionException e) {
      write(ctx, HttpAnswer.error(ErrorCode.OVERLOADED, "the host is shutting down"), false);
    }
  }

  private void write(ChannelHandlerContext ctx, HttpAnswer a, boolean keepAlive) {
    FullHttpResponse resp =
        new DefaultFullHttpResponse(
            HttpVersion.HTTP_1_1,
            HttpResponseStatus.valueOf(a.status()),
            Unpooled.wrappedBuffer(a.body()));
    resp.headers().set(HttpHeaderNames.CONTENT_TYPE, a.contentType());
    HttpUtil.setContentLength(resp, a.body().length);
    if (a.retryAfterSeconds() > 0) {
      resp.headers().set(HttpHeaderNames.RETRY_AFTER, a.retryAfterSeconds());
    }
    resp.headers().set(HttpHeaderNames.CACHE_CONTROL, "no-store");
    if (!keepAlive) {
      resp.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
    }
    ctx.writeAndFlush(resp)
        .addListener(
            (ChannelFutureListener)
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
                });
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
