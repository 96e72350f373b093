package dev.keycast.transport;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.AdaptiveRecvByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.socket.ChannelInputShutdownReadComplete;
import io.netty.channel.socket.DuplexChannel;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.handler.timeout.IdleStateHandler;
import io.netty.util.ReferenceCountUtil;
import java.io.IOException;
import java.time.Duration;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * A layer-4 byte pipe, like nitro-cli's {@code vsock-proxy} and Netty's {@code HexDumpProxy}: it
 * listens on one {@link Endpoint} and, for each accepted connection, connects to one fixed target
 * endpoint and copies bytes both ways until both directions are closed.
 *
 * <ul>
 *   <li><b>Back-pressure</b>: both channels run with {@code AUTO_READ} off; a side is read again
 *       only after the previous read was written to the other side, so at most one read buffer
 *       (64 KiB) per direction and connection is held ({@link PipeStats#maxPendingBytes()});
 *       after a half-close Netty drains the closed side's kernel receive buffer in one go.
 *   <li><b>Half-close</b>: end of input on one side shuts down the output of the other after
 *       every byte before it was written; the pair is closed when both directions have ended.
 *   <li><b>Limits</b>: a connect timeout, an idle timeout (no byte either way), and a maximum
 *       number of concurrent connections (excess connections are closed at once).
 *   <li><b>Allowlist</b>: the target must be in the allowlist given at construction, compared
 *       exactly (like vsock-proxy's host name and port match).
 * </ul>
 *
 * <p>Deployments: on the host {@code vsock://ANY:8000 -> tcp://kms.REGION.amazonaws.com:443};
 * inside the enclave {@code tcp://127.0.0.1:P -> vsock://3:8000}; in mock mode {@code unix:} or
 * {@code tcp:} to the mock KMS.
 */
public final class L4Pipe implements AutoCloseable {
  /** Bytes read per read call on either side; bounds the bytes the pipe holds per direction. */
  public static final int READ_BUFFER_BYTES = 64 * 1024;

  /**
   * Settings of a pipe.
   *
   * @param listen where to accept connections
   * @param target where each accepted connection is forwarded
   * @param connectTimeout how long a connect to the target may take
   * @param idleTimeout a pair with no byte read either way for this long is closed
   * @param maxConnections most concurrent connections; further ones are closed on accept
   */
  public record Config(
      Endpoint listen,
      Endpoint target,
      Duration connectTimeout,
      Duration idleTimeout,
      int maxConnections) {
    /** Validates the settings. */
    public Config {
      Objects.requireNonNull(listen, "listen");
      Objects.requireNonNull(target, "target");
      Objects.requireNonNull(connectTimeout, "connectTimeout");
      Objects.requireNonNull(idleTimeout, "idleTimeout");
      if (connectTimeout.isNegative() || connectTimeout.isZero()) {
        throw new IllegalArgumentException("connectTimeout must be positive: " + connectTimeout);
      }
      if (idleTimeout.isNegative() || idleTimeout.isZero()) {
        throw new IllegalArgumentException("idleTimeout must be positive: " + idleTimeout);
      }
      if (maxConnections < 1) {
        throw new IllegalArgumentException("maxConnections must be >= 1: " + maxConnections);
      }
    }
  }

  /** Thrown at construction when the target is not in the allowlist. */
  public static final class TargetNotAllowedException extends IllegalArgumentException {
    TargetNotAllowedException(Endpoint target) {
      super("target " + target + " is not in the allowlist");
    }
  }

  private final Config config;
  private final PipeStats stats = new PipeStats();
  private volatile EndpointServer server;

  /**
   * A pipe that is not yet listening.
   *
   * @throws TargetNotAllowedException if {@code config.target()} is not in {@code allowlist}
   */
  public L4Pipe(Config config, Set<Endpoint> allowlist) {
    this.config = Objects.requireNonNull(config, "config");
    if (!allowlist.contains(config.target())) {
      throw new TargetNotAllowedException(config.target());
    }
  }

  /**
   * Binds the listening endpoint. Connections to the target run on the event loop of the
   * accepted connection.
   *
   * @return the endpoint really bound (the real port for {@code tcp://host:0})
   */
  public Endpoint start(EventLoopGroup parent, EventLoopGroup child)
      throws IOException, InterruptedException {
    if (server != null) {
      throw new IllegalStateException("already started");
    }
    server =
        Transports.bind(
            config.listen(),
            parent,
            child,
            new ChannelInitializer<Channel>() {
              @Override
              protected void initChannel(Channel ch) {
                ch.pipeline().addLast(idleHandler(), new FrontendHandler());
              }
            },
            Map.of(
                ChannelOption.AUTO_READ, false,
                ChannelOption.ALLOW_HALF_CLOSURE, true,
                ChannelOption.RECVBUF_ALLOCATOR, readAllocator()));
    return server.endpoint();
  }

  /** The endpoint bound by {@link #start}, or null before. */
  public Endpoint boundEndpoint() {
    EndpointServer s = server;
    return s == null ? null : s.endpoint();
  }

  /** The settings. */
  public Config config() {
    return config;
  }

  /** Live counters. */
  public PipeStats stats() {
    return stats;
  }

  /** Stops accepting; connections already piped keep running until they end. */
  @Override
  public void close() {
    EndpointServer s = server;
    if (s != null) {
      s.close();
    }
  }

  private IdleStateHandler idleHandler() {
    return new IdleStateHandler(0, 0, config.idleTimeout().toMillis(), TimeUnit.MILLISECONDS);
  }

  private static AdaptiveRecvByteBufAllocator readAllocator() {
    AdaptiveRecvByteBufAllocator a = new AdaptiveRecvByteBufAllocator(512, 8192, READ_BUFFER_BYTES);
    a.maxMessagesPerRead(1);
    return a;
  }

  /**
   * Handles one channel of a pair: copies what it reads into the peer, reading again only after
   * the write, and owns the writes to its own channel so that, once its input has ended, each
   * write follows a fresh registration (see {@link Transports#reRegister}).
   */
  private abstract class Relay extends ChannelInboundHandlerAdapter {
    volatile Channel peer;
    Relay peerRelay;
    Channel self;
    private boolean reRegistering;
    private final java.util.ArrayDeque<Runnable> held = new java.util.ArrayDeque<>();

    abstract void count(long bytes);

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
      self = ctx.channel();
    }

    /**
     * Writes to this relay's channel, in order. Once the channel's input has ended, every write is
     * preceded by a fresh registration and issued from its completion callback (see {@link
     * Transports#reRegister}); writes arriving meanwhile are held and issued in the same callback.
     */
    void send(Object msg, ChannelFutureListener done) {
      Runnable write = () -> self.writeAndFlush(msg).addListener(done);
      if (reRegistering) {
        held.add(write);
        return;
      }
      if (!(self instanceof DuplexChannel d) || !d.isInputShutdown() || !self.isOpen()) {
        write.run();
        return;
      }
      reRegistering = true;
      held.add(write);
      Transports.reRegister(self)
          .addListener(
              f -> {
                reRegistering = false;
                // Before the event loop polls epoll again, so the fresh registration still holds.
                while (!held.isEmpty()) {
                  held.poll().run();
                }
              });
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      Channel out = peer;
      Relay outRelay = peerRelay;
      if (!(msg instanceof ByteBuf buf) || out == null || outRelay == null || !out.isActive()) {
        ReferenceCountUtil.release(msg);
        return;
      }
      int n = buf.readableBytes();
      stats.addPending(n);
      outRelay.send(
          buf,
          f -> {
            stats.addPending(-n);
            if (f.isSuccess()) {
              count(n);
              readMore(ctx.channel());
            } else {
              closeBoth(ctx.channel());
            }
          });
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
      if (evt instanceof ChannelInputShutdownEvent) {
        Channel out = peer;
        Relay outRelay = peerRelay;
        Channel in = ctx.channel();
        if (out == null || outRelay == null || !out.isActive()) {
          in.close();
          return;
        }
        // The empty write completes after every earlier write: then end the peer's output.
        outRelay.send(
            Unpooled.EMPTY_BUFFER,
            f -> {
              if (!f.isSuccess() || !(out instanceof DuplexChannel d)) {
                closeBoth(in);
                return;
              }
              d.shutdownOutput()
                  .addListener(
                      (ChannelFutureListener)
                          g -> {
                            if (!g.isSuccess() || d.isInputShutdown()) {
                              closeBoth(in);
                            }
                          });
            });
      } else if (evt instanceof ChannelInputShutdownReadComplete) {
        // nothing more to read on this side; the event above already handled the end of input
      } else if (evt instanceof IdleStateEvent) {
        stats.idleTimeouts.increment();
        closeBoth(ctx.channel());
      } else {
        ctx.fireUserEventTriggered(evt);
      }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
      // Held writes now fail on the closed channel, which releases their buffers.
      while (!held.isEmpty()) {
        held.poll().run();
      }
      Channel out = peer;
      if (out != null) {
        closeOnFlush(out);
      }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      closeBoth(ctx.channel());
    }

    void closeBoth(Channel ch) {
      ch.close();
      Channel out = peer;
      if (out != null) {
        out.close();
      }
    }
  }

  /** On the accepted channel: admits it, connects to the target, then relays upstream. */
  private final class FrontendHandler extends Relay {
    private boolean admitted;
    // Epoll may deliver one read (on EPOLLRDHUP) before the target is connected: keep it.
    private final java.util.ArrayDeque<Object> early = new java.util.ArrayDeque<>();
    private boolean earlyInputShutdown;

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      if (peer == null && ctx.channel().isActive()) {
        early.add(msg);
        return;
      }
      super.channelRead(ctx, msg);
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
      if (peer == null && evt instanceof ChannelInputShutdownEvent) {
        earlyInputShutdown = true;
        return;
      }
      super.userEventTriggered(ctx, evt);
    }

    @Override
    void count(long bytes) {
      stats.bytesUpstream.add(bytes);
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
      Channel in = ctx.channel();
      if (stats.active.incrementAndGet() > config.maxConnections()) {
        stats.active.decrementAndGet();
        stats.rejected.increment();
        in.close();
        return;
      }
      admitted = true;
      stats.accepted.increment();
      BackendHandler backend = new BackendHandler(in);
      Transports.bootstrap(config.target(), in.eventLoop(), config.connectTimeout())
          .option(ChannelOption.AUTO_READ, false)
          .option(ChannelOption.ALLOW_HALF_CLOSURE, true)
          .option(ChannelOption.RECVBUF_ALLOCATOR, readAllocator())
          .handler(
              new ChannelInitializer<Channel>() {
                @Override
                protected void initChannel(Channel ch) {
                  ch.pipeline().addLast(idleHandler(), backend);
                }
              })
          .connect()
          .addListener(
              (ChannelFutureListener)
                  f -> {
                    if (f.isSuccess()) {
                      peer = f.channel();
                      peerRelay = backend;
                      backend.peerRelay = this;
                      if (!in.isActive()) {
                        f.channel().close();
                        return;
                      }
                      ChannelHandlerContext ctx2 = in.pipeline().context(this);
                      boolean replayed = !early.isEmpty();
                      while (!early.isEmpty()) {
                        super.channelRead(ctx2, early.poll());
                      }
                      if (earlyInputShutdown) {
                        super.userEventTriggered(ctx2, ChannelInputShutdownEvent.INSTANCE);
                      } else if (!replayed) {
                        readMore(in);
                      }
                      readMore(f.channel());
                    } else {
                      stats.connectFailures.increment();
                      in.close();
                    }
                  });
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
      early.forEach(ReferenceCountUtil::release);
      early.clear();
      if (admitted) {
        admitted = false;
        stats.active.decrementAndGet();
      }
      super.channelInactive(ctx);
    }
  }

  /** On the target channel: relays downstream. */
  private final class BackendHandler extends Relay {
    BackendHandler(Channel inbound) {
      this.peer = inbound;
    }

    @Override
    void count(long bytes) {
      stats.bytesDownstream.add(bytes);
    }
  }

  /** Asks for the next read unless the input has ended (reading then only fails). */
  static void readMore(Channel ch) {
    if (ch.isActive() && !(ch instanceof DuplexChannel d && d.isInputShutdown())) {
      ch.read();
    }
  }

  static void closeOnFlush(Channel ch) {
    if (ch.isActive()) {
      ch.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
    }
  }
}
