package dev.keycast.transport;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.socket.DuplexChannel;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Netty 4.2.18 epoll: a half-closed channel whose interest set became empty cannot wait for
 * EPOLLOUT any more (EPOLL_CTL_DEL without a state change, then EPOLL_CTL_MOD fails with ENOENT).
 * {@link Transports#reRegister} repairs it. The control test pins the bug: when it starts failing,
 * Netty has fixed it and the workaround can go.
 */
@Timeout(60)
class HalfCloseEpollBugTest {
  static final int SIZE = 16 << 20;
  static EventLoopGroup boss;
  static EventLoopGroup workers;

  @BeforeAll
  static void groups() {
    boss = Transports.newEventLoopGroup(1);
    workers = Transports.newEventLoopGroup(1);
  }

  @AfterAll
  static void shutdown() {
    boss.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    workers.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
  }

  /**
   * Reads with AUTO_READ off (as the pipe does); after the client half-closes, answers with SIZE
   * bytes in one write, then ends its output.
   */
  @ChannelHandler.Sharable
  static final class BigReplyAfterEof extends ChannelInboundHandlerAdapter {
    final boolean workaround;

    BigReplyAfterEof(boolean workaround) {
      this.workaround = workaround;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
      ctx.read();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      io.netty.util.ReferenceCountUtil.release(msg);
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
      if (evt instanceof ChannelInputShutdownEvent) {
        Runnable reply =
            () ->
                ctx.writeAndFlush(Unpooled.wrappedBuffer(new byte[SIZE]))
                    .addListener(
                        (ChannelFutureListener)
                            f -> ((DuplexChannel) ctx.channel()).shutdownOutput());
        if (workaround) {
          Transports.reRegister(ctx.channel()).addListener(f -> reply.run());
        } else {
          // let the event loop finish the input shutdown (interest set becomes empty) first
          ctx.executor().execute(reply);
        }
      }
    }
  }

  /** How the server combines its reply with {@link Transports#reRegister}. */
  enum Order {
    /** Netty alone: reply once the input shutdown finished (the bug). */
    NONE,
    /** Re-register, then reply from the completion callback (the workaround). */
    REREGISTER_THEN_REPLY,
    /** Reply (it waits for EPOLLOUT: the client is not reading yet), then re-register. */
    REPLY_THEN_REREGISTER,
    /** Re-register, then reply later, after the event loop polled epoll again. */
    REREGISTER_THEN_REPLY_LATER
  }

  @ChannelHandler.Sharable
  static final class OrderedReply extends ChannelInboundHandlerAdapter {
    final Order order;

    OrderedReply(Order order) {
      this.order = order;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
      ctx.read();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      io.netty.util.ReferenceCountUtil.release(msg);
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
      if (!(evt instanceof ChannelInputShutdownEvent)) {
        return;
      }
      Runnable reply =
          () ->
              ctx.writeAndFlush(Unpooled.wrappedBuffer(new byte[SIZE]))
                  .addListener(
                      (ChannelFutureListener)
                          f -> ((DuplexChannel) ctx.channel()).shutdownOutput());
      switch (order) {
        case NONE -> ctx.executor().execute(reply);
        case REREGISTER_THEN_REPLY ->
            Transports.reRegister(ctx.channel()).addListener(f -> reply.run());
        case REPLY_THEN_REREGISTER -> {
          reply.run();
          Transports.reRegister(ctx.channel());
        }
        case REREGISTER_THEN_REPLY_LATER ->
            Transports.reRegister(ctx.channel())
                .addListener(f -> ctx.executor().schedule(reply, 100, TimeUnit.MILLISECONDS));
      }
    }
  }

  /** Bytes of the reply the client gets, reading until EOF, reset, or 15 s without EOF. */
  static long replyBytes(Order order) throws Exception {
    return replyBytes(
        order, Map.of(ChannelOption.ALLOW_HALF_CLOSURE, true, ChannelOption.AUTO_READ, false));
  }

  static long replyBytes(Order order, Map<ChannelOption<?>, Object> childOptions) throws Exception {
    try (EndpointServer s =
            Transports.bind(
                Endpoint.parse("tcp://127.0.0.1:0"),
                boss,
                workers,
                new OrderedReply(order),
                childOptions);
        SocketChannel c =
            SocketChannel.open(
                new InetSocketAddress("127.0.0.1", ((TcpEndpoint) s.endpoint()).port()))) {
      c.write(ByteBuffer.wrap(new byte[] {1}));
      c.shutdownOutput();
      Thread.sleep(
          300); // deliberately a client that does not read yet: the reply fills the kernel buffers
      // and the server must wait for EPOLLOUT
      java.util.concurrent.atomic.AtomicLong total = new java.util.concurrent.atomic.AtomicLong();
      java.util.concurrent.ExecutorService ex =
          java.util.concurrent.Executors.newSingleThreadExecutor();
      try {
        java.util.concurrent.Future<?> reader =
            ex.submit(
                () -> {
                  ByteBuffer in = ByteBuffer.allocate(1 << 16);
                  try {
                    int n;
                    while ((n = c.read(in)) >= 0) {
                      total.addAndGet(n);
                      in.clear();
                    }
                  } catch (java.io.IOException reset) {
                    // the server gave up (or the test closed the socket after the timeout)
                  }
                  return null;
                });
        try {
          reader.get(15, TimeUnit.SECONDS);
        } catch (java.util.concurrent.TimeoutException stalled) {
          // the server stopped writing without ending the stream: count what arrived
        }
      } finally {
        ex.shutdownNow();
      }
      return total.get();
    }
  }

  @Test
  void reRegisterWhileAWriteWaitsForEpolloutKeepsWriting() throws Exception {
    // Regression: re-registering resets Netty's interest set, dropping a pending EPOLLOUT; the
    // queued bytes then stalled until the L4 pipe's idle timeout cut the stream.
    assertThat(replyBytes(Order.REPLY_THEN_REREGISTER)).isEqualTo(SIZE);
  }

  @Test
  void aReRegistrationDoesNotOutliveTheNextEpollPoll() throws Exception {
    // Pins why L4Pipe re-registers immediately before each write and not once after the input
    // ended: the re-armed EPOLLRDHUP fires, Netty clears it, and the empty set hits the bug again.
    assertThat(replyBytes(Order.REREGISTER_THEN_REPLY_LATER))
        .as("Netty no longer drops a half-closed channel from epoll? Then remove the workaround.")
        .isLessThan(SIZE);
  }

  static long replyBytes(boolean workaround) throws Exception {
    try (EndpointServer s =
            Transports.bind(
                Endpoint.parse("tcp://127.0.0.1:0"),
                boss,
                workers,
                new BigReplyAfterEof(workaround),
                Map.of(ChannelOption.ALLOW_HALF_CLOSURE, true, ChannelOption.AUTO_READ, false));
        SocketChannel c =
            SocketChannel.open(
                new InetSocketAddress("127.0.0.1", ((TcpEndpoint) s.endpoint()).port()))) {
      c.write(ByteBuffer.wrap(new byte[] {1}));
      c.shutdownOutput();
      Thread.sleep(
          300); // deliberately a client that does not read yet: the reply fills the kernel buffers
      // and the server must wait for EPOLLOUT
      ByteBuffer in = ByteBuffer.allocate(1 << 16);
      long total = 0;
      try {
        int n;
        while ((n = c.read(in)) >= 0) {
          total += n;
          in.clear();
        }
      } catch (java.io.IOException reset) {
        // the server gave up: counted bytes so far
      }
      return total;
    }
  }

  @Test
  void reRegisterLetsAHalfClosedChannelWriteEverything() throws Exception {
    assertThat(replyBytes(true)).isEqualTo(SIZE);
    assertThat(replyBytes(Order.REREGISTER_THEN_REPLY)).isEqualTo(SIZE);
  }

  @Test
  void aWriteThatUsesItsWholeSpinQuantumKeepsWriting() throws Exception {
    // Regression (CI flake, 16,314,026 of 16,777,216 bytes): when a flush writes writeSpinCount
    // times without filling the socket, Netty clears EPOLLOUT and reschedules the flush. After the
    // re-armed EPOLLRDHUP was consumed, that clear empties the interest set (EPOLL_CTL_DEL) and the
    // rescheduled flush's EPOLL_CTL_MOD fails. A spin count of 1 makes every partial write do it.
    assertThat(
            replyBytes(
                Order.REREGISTER_THEN_REPLY,
                Map.of(
                    ChannelOption.ALLOW_HALF_CLOSURE,
                    true,
                    ChannelOption.AUTO_READ,
                    false,
                    ChannelOption.WRITE_SPIN_COUNT,
                    1)))
        .isEqualTo(SIZE);
  }

  @Test
  void withoutTheWorkaroundNetty4218LosesTheReply() throws Exception {
    assertThat(replyBytes(false))
        .as("Netty no longer drops a half-closed channel from epoll? Then remove the workaround.")
        .isLessThan(SIZE);
  }
}
