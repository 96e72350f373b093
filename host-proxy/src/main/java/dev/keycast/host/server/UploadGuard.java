package dev.keycast.host.server;

import dev.keycast.protocol.Json;
import dev.keycast.protocol.api.ErrorBody;
import dev.keycast.protocol.api.ErrorCode;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.DuplexChannel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.concurrent.TimeUnit;

/**
 * Enforces {@link UploadLimits} on one connection: sits after the HTTP codec and before the
 * aggregator, so it sees each request head before any of its body is buffered. Per request it
 * reserves the body's bytes from the server's {@link UploadBudget} (the declared length at the
 * head, or chunk by chunk), checks the route's body cap ({@link RouteBodyCaps}) and, while the
 * body arrives, its average rate. The reservation of a request is held until its answer has been
 * written ({@link #REQUEST_DONE}, fired by {@link HostServerHandler} through the pipeline) or the
 * connection closes, so the bytes the host keeps for a request (the aggregated body and its copy)
 * stay counted while the request is processed.
 *
 * <p>A refused request is answered here with the API's JSON error and the connection is closed
 * after a short lingering read that drops what the client still sends; nothing of it reaches the
 * handler. Not sharable; all methods run on the connection's event loop.
 */
final class UploadGuard extends ChannelInboundHandlerAdapter {
  /** Fired from the pipeline's head when an answer has been written: the oldest reservation ends. */
  static final Object REQUEST_DONE =
      new Object() {
        @Override
        public String toString() {
          return "REQUEST_DONE";
        }
      };

  /** How long a refused connection's remaining input is read and dropped before it is closed. */
  static final Duration LINGER = Duration.ofSeconds(2);

  private final UploadBudget budget;
  private final UploadLimits limits;
  private final boolean admin;
  private final HostMetrics metrics;

  /** Reservations of requests passed on whose answers are not yet written, oldest first. */
  private final Deque<Long> passedOn = new ArrayDeque<>();

  /** Reserved for the body being received (0 when none). */
  private long reserved;

  private long received;
  private long cap;
  private boolean receiving;
  private boolean refused;

  /** Rate checks during which this connection was reading (back-pressure pauses excluded). */
  private long activeChecks;

  private ScheduledFuture<?> rateCheck;

  UploadGuard(UploadBudget budget, UploadLimits limits, boolean admin, HostMetrics metrics) {
    this.budget = budget;
    this.limits = limits;
    this.admin = admin;
    this.metrics = metrics;
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) throws Exception {
    if (refused) {
      ReferenceCountUtil.release(msg);
      return;
    }
    if (msg instanceof HttpRequest req && !head(ctx, req)) {
      ReferenceCountUtil.release(msg);
      return;
    }
    if (msg instanceof HttpContent c && !body(ctx, c)) {
      ReferenceCountUtil.release(msg);
      return;
    }
    ctx.fireChannelRead(msg);
  }

  /** A request head: its cap and its declared length's reservation. False when refused. */
  private boolean head(ChannelHandlerContext ctx, HttpRequest req) {
    if (!req.decoderResult().isSuccess()) {
      cap = 0; // the handler answers malformed_request; nothing of it is buffered
      startBody(0);
      return true;
    }
    cap =
        RouteBodyCaps.capFor(admin, req.method().name(), new QueryStringDecoder(req.uri()).path());
    long declared;
    try {
      declared = HttpUtil.getContentLength(req, 0L);
    } catch (NumberFormatException e) {
      refuse(ctx, ErrorCode.MALFORMED_REQUEST, "invalid Content-Length");
      return false;
    }
    if (declared < 0) {
      refuse(ctx, ErrorCode.MALFORMED_REQUEST, "invalid Content-Length");
      return false;
    }
    if (declared > cap) {
      refuse(
          ctx,
          ErrorCode.PAYLOAD_TOO_LARGE,
          "request body of " + declared + " bytes exceeds this route's limit of " + cap + " bytes");
      return false;
    }
    if (!budget.tryReserve(declared)) {
      refuse(ctx, ErrorCode.OVERLOADED, "too many request bytes in flight; retry later");
      return false;
    }
    startBody(declared);
    // a body that may take longer than one read gets its rate watched (a GET has none)
    if (!(req instanceof LastHttpContent)
        && (declared > 0 || HttpUtil.isTransferEncodingChunked(req))) {
      long every = limits.checkEvery().toMillis();
      rateCheck =
          ctx.executor()
              .scheduleAtFixedRate(() -> checkRate(ctx), every, every, TimeUnit.MILLISECONDS);
    }
    return true;
  }

  private void startBody(long reservation) {
    reserved = reservation;
    received = 0;
    receiving = true;
    activeChecks = 0;
  }

  /** A piece of a body: counted against the cap and the reservation. False when refused. */
  private boolean body(ChannelHandlerContext ctx, HttpContent c) {
    if (!receiving) {
      return true; // not a body the codec attributes to a request: the aggregator decides
    }
    received += c.content().readableBytes();
    if (received > cap) {
      refuse(
          ctx,
          ErrorCode.PAYLOAD_TOO_LARGE,
          "request body exceeds this route's limit of " + cap + " bytes");
      return false;
    }
    if (received > reserved) {
      if (!budget.tryReserve(received - reserved)) {
        refuse(ctx, ErrorCode.OVERLOADED, "too many request bytes in flight; retry later");
        return false;
      }
      reserved = received;
    }
    if (c instanceof LastHttpContent) {
      stopBody();
      passedOn.add(reserved);
      reserved = 0;
    }
    return true;
  }

  private void stopBody() {
    receiving = false;
    if (rateCheck != null) {
      rateCheck.cancel(false);
      rateCheck = null;
    }
  }

  private void checkRate(ChannelHandlerContext ctx) {
    if (!receiving || refused) {
      return;
    }
    if (ctx.channel().config().isAutoRead()) {
      activeChecks++;
    }
    long activeMillis = activeChecks * limits.checkEvery().toMillis();
    long enforcedMillis = activeMillis - limits.grace().toMillis();
    if (enforcedMillis > 0 && received * 1000 < limits.minBytesPerSecond() * enforcedMillis) {
      metrics.inc(
          "keycast_host_slow_uploads_total", "request bodies refused for arriving too slowly");
      refuse(
          ctx,
          ErrorCode.REQUEST_TIMEOUT,
          "the request body arrived slower than "
              + limits.minBytesPerSecond()
              + " bytes per second");
    }
  }

  /** Answers {@code code}, closes the connection and gives back this request's reservation. */
  private void refuse(ChannelHandlerContext ctx, ErrorCode code, String message) {
    refused = true;
    stopBody();
    budget.release(reserved);
    reserved = 0;
    metrics.inc(
        "keycast_host_requests_total",
        "HTTP requests by route and status",
        "route",
        "refused_upload",
        "status",
        Integer.toString(code.status()));
    byte[] body = Json.encode(ErrorBody.of(code, message));
    FullHttpResponse r =
        new DefaultFullHttpResponse(
            HttpVersion.HTTP_1_1,
            HttpResponseStatus.valueOf(code.status()),
            Unpooled.wrappedBuffer(body));
    r.headers().set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.APPLICATION_JSON);
    r.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
    r.headers().set(HttpHeaderNames.CACHE_CONTROL, "no-store");
    if (code.status() == 503) {
      r.headers().set(HttpHeaderNames.RETRY_AFTER, 1);
    }
    HttpUtil.setContentLength(r, body.length);
    // Lingering close: a client still sending its body would get a reset, and with it lose this
    // answer, if the connection closed with its bytes unread. So the answer is written, the
    // output shut (the client reads the answer, then the end of the stream), and what the client
    // still sends is read and dropped unbuffered (refused) until it closes or LINGER passes.
    ctx.writeAndFlush(r)
        .addListener(
            (ChannelFutureListener)
                f -> {
                  if (f.isSuccess() && f.channel() instanceof DuplexChannel d) {
                    d.shutdownOutput();
                    ctx.executor()
                        .schedule(
                            () -> {
                              ctx.close();
                            },
                            LINGER.toMillis(),
                            TimeUnit.MILLISECONDS);
                  } else {
                    ctx.close();
                  }
                });
  }

  @Override
  public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
    if (evt == REQUEST_DONE) {
      Long r = passedOn.poll();
      if (r != null) {
        budget.release(r);
      }
      return;
    }
    super.userEventTriggered(ctx, evt);
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) throws Exception {
    stopBody();
    long all = reserved;
    reserved = 0;
    for (Long r; (r = passedOn.poll()) != null; ) {
      all += r;
    }
    budget.release(all);
    super.channelInactive(ctx);
  }
}
