package dev.keycast.enclave.server;

import dev.keycast.protocol.api.ErrorCode;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;

/**
 * Takes {@code POST /v1/send} out of body aggregation: its request head goes on to the router at
 * once as a {@link StreamedRequest} whose {@link BodyPipe} receives the content as it arrives, so
 * the send starts while its body is still coming and never holds the whole body. Every other
 * request passes through untouched (and is aggregated behind this handler). A declared body over
 * the limit is answered {@code 413 payload_too_large} at once and the connection closed.
 *
 * <p>One instance per connection; runs on the channel's event loop.
 */
final class SendBodyStream extends ChannelInboundHandlerAdapter {
  static final String SEND_PATH = "/v1/send";

  /** A request whose body streams through {@code body}; not an {@code HttpObject}. */
  record StreamedRequest(HttpRequest head, BodyPipe body) {}

  private final long maxBytes;

  /** The body being received, or null. */
  private BodyPipe pipe;

  /** Content of a refused request, dropped until its last piece. */
  private boolean discarding;

  SendBodyStream(long maxBytes) {
    this.maxBytes = maxBytes;
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if ((pipe != null || discarding) && msg instanceof HttpContent c) {
      boolean last = msg instanceof LastHttpContent;
      if (discarding) {
        c.release();
      } else {
        if (c.decoderResult().isFailure()) {
          c.release();
          pipe.close(); // the worker's read fails; the router answers and closes
        } else {
          pipe.offer(c.content());
        }
      }
      if (last) {
        if (pipe != null) {
          pipe.end();
        }
        pipe = null;
        discarding = false;
      }
      return;
    }
    if (msg instanceof HttpRequest r
        && !(msg instanceof FullHttpRequest)
        && r.decoderResult().isSuccess()
        && HttpMethod.POST.equals(r.method())
        && isSendPath(r.uri())) {
      if (HttpUtil.getContentLength(r, -1L) > maxBytes) {
        ReferenceCountUtil.release(msg);
        discarding = !(msg instanceof LastHttpContent);
        ctx.writeAndFlush(
                EnclaveServerHandler.error(
                    ctx.alloc(),
                    ErrorCode.PAYLOAD_TOO_LARGE,
                    "request body exceeds " + maxBytes + " bytes",
                    true))
            .addListener(ChannelFutureListener.CLOSE);
        return;
      }
      if (HttpUtil.is100ContinueExpected(r)) {
        ctx.writeAndFlush(
            new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.CONTINUE));
        r.headers().remove(io.netty.handler.codec.http.HttpHeaderNames.EXPECT);
      }
      pipe = new BodyPipe(ctx.channel(), maxBytes);
      ctx.fireChannelRead(new StreamedRequest(r, pipe));
      return;
    }
    ctx.fireChannelRead(msg);
  }

  private static boolean isSendPath(String uri) {
    int q = uri.indexOf('?');
    return (q < 0 ? uri : uri.substring(0, q)).equals(SEND_PATH);
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) throws Exception {
    if (pipe != null) {
      pipe.close(); // a worker waiting for more body fails at once
      pipe = null;
    }
    super.channelInactive(ctx);
  }
}
