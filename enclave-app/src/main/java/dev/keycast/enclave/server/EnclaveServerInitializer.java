package dev.keycast.enclave.server;

import dev.keycast.protocol.api.EnclaveApi;
import dev.keycast.protocol.api.ErrorCode;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http.HttpMessage;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpServerKeepAliveHandler;
import io.netty.handler.timeout.IdleStateHandler;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * The enclave's HTTP/1.1 pipeline, the same over {@code vsock://}, {@code unix:} and {@code tcp://}.
 */
public final class EnclaveServerInitializer extends ChannelInitializer<Channel> {
  /** Longest request line accepted; longer is {@code 413 payload_too_large} and a close. */
  public static final int MAX_INITIAL_LINE = 8 * 1024;

  /** Largest header block accepted; larger is {@code 413 payload_too_large} and a close. */
  public static final int MAX_HEADER_SIZE = 16 * 1024;

  private final EnclaveServices services;
  private final EnclaveApiService api;
  private final Duration idleTimeout;

  public EnclaveServerInitializer(EnclaveServices services, Duration idleTimeout) {
    this.services = services;
    this.api = new EnclaveApiService(services);
    this.idleTimeout = idleTimeout;
  }

  @Override
  protected void initChannel(Channel ch) {
    ChannelPipeline p = ch.pipeline();
    p.addLast("idle", new IdleStateHandler(0, 0, idleTimeout.toMillis(), TimeUnit.MILLISECONDS));
    p.addLast(
        "http",
        new HttpServerCodec(
            new HttpDecoderConfig()
                .setMaxInitialLineLength(MAX_INITIAL_LINE)
                .setMaxHeaderSize(MAX_HEADER_SIZE)));
    p.addLast("keep-alive", new HttpServerKeepAliveHandler());
    p.addLast("send-stream", new SendBodyStream(EnclaveApi.MAX_SEND_REQUEST_BYTES));
    p.addLast("body-limit", new BodyLimit(EnclaveApi.MAX_REQUEST_BYTES));
    p.addLast("router", new EnclaveServerHandler(services, api));
  }

  /**
   * Aggregates a request body up to the limit; a declared or received body over it is answered
   * {@code 413 payload_too_large} (JSON) before anything more is buffered, and the connection is
   * closed.
   */
  static final class BodyLimit extends HttpObjectAggregator {
    BodyLimit(int maxContentLength) {
      super(maxContentLength);
    }

    /**
     * Netty answers an unsupported {@code Expect} (417) or an {@code Expect: 100-continue} with an
     * oversized declared length (413) itself, with an empty body; the API promises a JSON error
     * body for every error, so those become {@code 400 malformed_request} and {@code 413
     * payload_too_large} with one (found by EnclaveHttpFuzzTest).
     */
    @Override
    protected Object newContinueResponse(
        HttpMessage start, int maxContentLength, ChannelPipeline pipeline) {
      Object answer = super.newContinueResponse(start, maxContentLength, pipeline);
      if (answer instanceof FullHttpResponse r && r.status().code() >= 400) {
        boolean tooLarge = r.status().code() == 413;
        r.release();
        return EnclaveServerHandler.error(
            pipeline.channel().alloc(),
            tooLarge ? ErrorCode.PAYLOAD_TOO_LARGE : ErrorCode.MALFORMED_REQUEST,
            tooLarge
                ? "request body exceeds " + EnclaveApi.MAX_REQUEST_BYTES + " bytes"
                : "unsupported Expect header; only 100-continue is supported",
            true);
      }
      return answer;
    }

    @Override
    protected void handleOversizedMessage(ChannelHandlerContext ctx, HttpMessage oversized) {
      ctx.writeAndFlush(
              EnclaveServerHandler.error(
                  ctx.alloc(),
                  ErrorCode.PAYLOAD_TOO_LARGE,
                  "request body exceeds " + EnclaveApi.MAX_REQUEST_BYTES + " bytes",
                  true))
          .addListener(ChannelFutureListener.CLOSE);
    }
  }
}
