package dev.keycast.host.server;

import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Caps the number of open connections of one listener. Each connection may buffer a whole request
 * body (up to the listener's body limit) before anything else sees it, so without a cap the host's
 * memory is at the mercy of however many connections an unauthenticated client opens (and
 * slowloris clients, which trickle bytes past the idle timer, would hold their slots forever). A
 * connection over the cap is closed at once, before anything is read from it.
 *
 * <p>One instance per listener, shared by its connections; thread-safe.
 */
@ChannelHandler.Sharable
final class ConnectionLimiter extends ChannelInboundHandlerAdapter {
  /** Default cap of open connections per listener. */
  static final int DEFAULT_MAX_CONNECTIONS = 256;

  private final int max;
  private final AtomicInteger open = new AtomicInteger();

  ConnectionLimiter(int max) {
    if (max < 1) {
      throw new IllegalArgumentException("max connections must be positive");
    }
    this.max = max;
  }

  /** Connections currently counted. */
  int open() {
    return open.get();
  }

  @Override
  public void channelActive(ChannelHandlerContext ctx) throws Exception {
    if (open.incrementAndGet() > max) {
      open.decrementAndGet();
      ctx.channel().config().setAutoRead(false);
      ctx.close();
      return;
    }
    ctx.channel().closeFuture().addListener(f -> open.decrementAndGet());
    super.channelActive(ctx);
  }
}
