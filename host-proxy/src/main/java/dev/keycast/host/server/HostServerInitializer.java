package dev.keycast.host.server;

import dev.keycast.protocol.Json;
import dev.keycast.protocol.api.ErrorBody;
import dev.keycast.protocol.api.ErrorCode;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMessage;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.timeout.IdleStateHandler;
import java.util.concurrent.TimeUnit;

/**
 * Pipeline of a public or admin connection: a cap on the listener's open connections
 * ({@link ConnectionLimiter}), optional TLS, HTTP/1.1 codec (request line and headers
 * capped), an idle timer, the upload limits ({@link UploadGuard}: a budget of body bytes across
 * connections, per-route body caps, a minimum upload rate), an aggregator capped at the listener's body limit that answers
 * {@code 413 payload_too_large} and closes before any byte of an oversized body is buffered past
 * the cap (so nothing of it reaches the enclave), and {@link HostServerHandler}.
 */
public final class HostServerInitializer extends ChannelInitializer<Channel> {
  private final HostServer server;
  private final SslContext ssl;
  private final boolean admin;

  /** Shared by this listener's connections. */
  private final ConnectionLimiter limiter =
      new ConnectionLimiter(ConnectionLimiter.DEFAULT_MAX_CONNECTIONS);

  /** An initializer of {@code server}'s public or admin listener; {@code ssl} may be null. */
  public HostServerInitializer(HostServer server, SslContext ssl, boolean admin) {
    this.server = server;
    this.ssl = ssl;
    this.admin = admin;
  }

  @Override
  protected void initChannel(Channel ch) {
    server.channels().add(ch);
    ChannelPipeline p = ch.pipeline();
    HostServerHandler handler = new HostServerHandler(server, admin);
    p.addLast(limiter);
    p.addLast(handler.readGate());
    if (ssl != null) {
      p.addLast(ssl.newHandler(ch.alloc()));
    }
    p.addLast(new HttpServerCodec(8192, 32 * 1024, 64 * 1024));
    p.addLast(
        new IdleStateHandler(
            0, 0, server.settings().idleTimeout().toMillis(), TimeUnit.MILLISECONDS));
    p.addLast(
        new UploadGuard(
            server.uploadBudget(), server.settings().uploads(), admin, server.service().metrics()));
    p.addLast(new CappedAggregator(server.settings().maxRequestBytes(), server));
    p.addLast(handler);
  }

  /** An aggregator whose oversized answer is the API's JSON error. */
  private static final class CappedAggregator extends HttpObjectAggregator {
    private final HostServer server;
    private final int max;

    CappedAggregator(int max, HostServer server) {
      super(max);
      this.max = max;
      this.server = server;
    }

    /**
     * Netty answers an unsupported {@code Expect} (417) or an {@code Expect: 100-continue} with an
     * oversized declared length (413) itself, with an empty body; the API promises a JSON error
     * body for every error, so those become {@code 400 malformed_request} and {@code 413
     * payload_too_large} with one (found by HostHttpFuzzTest's sibling in the enclave).
     */
    @Override
    protected Object newContinueResponse(
        HttpMessage start, int maxContentLength, ChannelPipeline pipeline) {
      Object answer = super.newContinueResponse(start, maxContentLength, pipeline);
      if (answer instanceof FullHttpResponse r && r.status().code() >= 400) {
        boolean tooLarge = r.status().code() == 413;
        r.release();
        return jsonError(
            tooLarge ? ErrorCode.PAYLOAD_TOO_LARGE : ErrorCode.MALFORMED_REQUEST,
            tooLarge
                ? "request body exceeds " + max + " bytes"
                : "unsupported Expect header; only 100-continue is supported");
      }
      return answer;
    }

    private static FullHttpResponse jsonError(ErrorCode code, String message) {
      byte[] body = Json.encode(ErrorBody.of(code, message));
      FullHttpResponse r =
          new DefaultFullHttpResponse(
              HttpVersion.HTTP_1_1,
              HttpResponseStatus.valueOf(code.status()),
              Unpooled.wrappedBuffer(body));
      r.headers().set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.APPLICATION_JSON);
      r.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
      HttpUtil.setContentLength(r, body.length);
      return r;
    }

    @Override
    protected void handleOversizedMessage(ChannelHandlerContext ctx, HttpMessage oversized) {
      server
          .service()
          .metrics()
          .inc(
              "keycast_host_requests_total",
              "HTTP requests by route and status",
              "route",
              "oversized",
              "status",
              "413");
      byte[] body =
          Json.encode(
              ErrorBody.of(ErrorCode.PAYLOAD_TOO_LARGE, "request body exceeds " + max + " bytes"));
      FullHttpResponse r =
          new DefaultFullHttpResponse(
              HttpVersion.HTTP_1_1,
              HttpResponseStatus.REQUEST_ENTITY_TOO_LARGE,
              Unpooled.wrappedBuffer(body));
      r.headers().set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.APPLICATION_JSON);
      r.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
      HttpUtil.setContentLength(r, body.length);
      ctx.writeAndFlush(r).addListener(ChannelFutureListener.CLOSE);
    }
  }
}
