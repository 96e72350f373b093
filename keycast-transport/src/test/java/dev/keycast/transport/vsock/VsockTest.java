package dev.keycast.transport.vsock;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.keycast.transport.Endpoint;
import dev.keycast.transport.EndpointServer;
import dev.keycast.transport.Transports;
import dev.keycast.transport.VsockEndpoint;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelException;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.epoll.LinuxSocket;
import io.netty.channel.epoll.VSockAddress;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * VSOCK at the level these machines allow: socket creation, bind, listen, registration, a connect
 * attempt bounded by its timeout. Skipped (with the reason) where AF_VSOCK cannot even be bound.
 * Where CID 1 (loopback) accepts connections, {@link #connectAttemptEndsWithinItsTimeout} also
 * runs an echo over the connection; on the development machines it times out instead.
 */
@Timeout(60)
class VsockTest {
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

  @BeforeEach
  void requireVsock() {
    Throwable cause = Vsock.unavailabilityCause();
    assumeTrue(cause == null, () -> "AF_VSOCK unavailable on this machine: " + cause);
  }

  static EndpointServer echoServer(Endpoint e) throws Exception {
    return Transports.bind(
        e,
        boss,
        workers,
        new EchoBack(),
        Map.of(ChannelOption.ALLOW_HALF_CLOSURE, true, ChannelOption.TCP_NODELAY, true));
  }

  @Test
  void bindAnyPortReportsTheRealVsockAddress() throws Exception {
    try (EndpointServer s =
        echoServer(new VsockEndpoint(VsockEndpoint.CID_ANY, VsockEndpoint.PORT_ANY))) {
      assertThat(s.channel()).isInstanceOf(VsockServerChannel.class);
      assertThat(s.channel().isActive()).isTrue();
      assertThat(s.channel().isRegistered()).isTrue();
      VsockEndpoint bound = (VsockEndpoint) s.endpoint();
      assertThat(bound.cid()).isEqualTo(VsockEndpoint.CID_ANY);
      assertThat(bound.port()).isNotEqualTo(VsockEndpoint.PORT_ANY);
      VSockAddress local = ((VsockServerChannel) s.channel()).localAddress();
      assertThat(local.getPort()).isEqualTo(bound.port());
      assertThat(s.channel().config().getOption(ChannelOption.SO_BACKLOG)).isEqualTo(128);

      // the same port again: EADDRINUSE, reported as an IOException naming the endpoint
      assertThatThrownBy(() -> echoServer(bound))
          .isInstanceOf(IOException.class)
          .hasMessageContaining(bound.toString());
    }
  }

  @Test
  void bindFixedPortParsedFromText() throws Exception {
    // a high port, unlikely to be in use; retry a few if it is
    for (int port = 40_000_017, tries = 0; tries < 5; port += 7919, tries++) {
      Endpoint e = Endpoint.parse("vsock://ANY:" + port);
      EndpointServer s;
      try {
        s = echoServer(e);
      } catch (IOException inUse) {
        continue;
      }
      try (s) {
        assertThat(s.endpoint()).isEqualTo(e);
        assertThat(s.endpoint().toString()).isEqualTo("vsock://ANY:" + port);
      }
      return;
    }
    throw new AssertionError("no free VSOCK port found");
  }

  @Test
  void connectAttemptEndsWithinItsTimeout() throws Exception {
    try (EndpointServer s =
        echoServer(new VsockEndpoint(VsockEndpoint.CID_ANY, VsockEndpoint.PORT_ANY))) {
      VsockEndpoint target =
          new VsockEndpoint(VsockEndpoint.CID_LOCAL, ((VsockEndpoint) s.endpoint()).port());
      CompletableFuture<String> echoed = new CompletableFuture<>();
      ChannelFuture f =
          Transports.connect(
              target,
              workers,
              new SimpleChannelInboundHandler<ByteBuf>() {
                @Override
                protected void channelRead0(ChannelHandlerContext ctx, ByteBuf msg) {
                  echoed.complete(msg.toString(StandardCharsets.UTF_8));
                }
              },
              Duration.ofSeconds(2));
      assertThat(f.channel()).isInstanceOf(VsockChannel.class);
      assertThat(f.await(20, TimeUnit.SECONDS)).as("connect finished within its deadline").isTrue();
      if (f.isSuccess()) {
        // A machine with VSOCK loopback: the whole path works, accepted child included.
        Channel c = f.channel();
        assertThat(((VsockChannel) c).remoteAddress().getCid()).isEqualTo(VsockEndpoint.CID_LOCAL);
        c.writeAndFlush(Unpooled.copiedBuffer("vsock!", StandardCharsets.UTF_8)).sync();
        assertThat(echoed.get(10, TimeUnit.SECONDS)).isEqualTo("vsock!");
        c.close().sync();
      } else {
        assertThat(f.cause()).isInstanceOf(IOException.class);
        assertThat(f.channel().closeFuture().await(5, TimeUnit.SECONDS)).isTrue();
        assertThat(f.channel().isOpen()).isFalse();
      }
    }
  }

  @Test
  void connectRejectsNonVsockAddress() throws Exception {
    VsockChannel c = new VsockChannel();
    workers.register(c).sync();
    ChannelFuture f = c.connect(new java.net.InetSocketAddress("127.0.0.1", 1)).await();
    assertThat(f.cause()).isInstanceOf(java.nio.channels.UnsupportedAddressTypeException.class);
    c.close().sync();
  }

  @Test
  void vsockChannelConfigAcceptsTcpOptionsAndHonoursHalfClosure() throws Exception {
    VsockChannel c = new VsockChannel();
    try {
      VsockChannelConfig cfg = c.config();
      assertThat(cfg.setOption(ChannelOption.TCP_NODELAY, true)).isTrue();
      assertThat(cfg.isTcpNoDelay()).isFalse();
      assertThat(cfg.getOption(ChannelOption.ALLOW_HALF_CLOSURE)).isFalse();
      assertThat(cfg.setOption(ChannelOption.ALLOW_HALF_CLOSURE, true)).isTrue();
      assertThat(cfg.isAllowHalfClosure()).isTrue();
      assertThat(cfg.setOption(ChannelOption.AUTO_READ, false)).isTrue();
      assertThat(cfg.isAutoRead()).isFalse();
      assertThat(cfg.getOption(ChannelOption.SO_SNDBUF)).isPositive();
      assertThat(c.isActive()).isFalse();
      assertThat(c.remoteAddress()).isNull();
    } finally {
      c.unsafe().closeForcibly();
    }
  }

  /**
   * The accepted-child constructor on a real (bound, unconnected) VSOCK descriptor: it must not
   * touch TCP options, and its addresses come from getsockname/getpeername.
   */
  @Test
  void acceptedChildConstructorWorksOnAVsockDescriptor() throws Exception {
    LinuxSocket s = LinuxSocket.newVSockStream();
    s.bindVSock(new VSockAddress(VSockAddress.VMADDR_CID_ANY, VSockAddress.VMADDR_PORT_ANY));
    VsockChannel child = new VsockChannel(null, s.intValue());
    try {
      child.config().setOption(ChannelOption.ALLOW_HALF_CLOSURE, true);
      workers.register(child).sync();
      assertThat(child.isRegistered()).isTrue();
      assertThat(child.localAddress().getCid()).isEqualTo(VSockAddress.VMADDR_CID_ANY);
    } finally {
      child.close().sync();
    }
    assertThat(child.isOpen()).isFalse();
  }

  /** Why the adapter has its own channels: Netty's EpollSocketChannel cannot wrap a VSOCK fd. */
  @Test
  void nettyEpollSocketChannelRejectsVsockDescriptors() throws Exception {
    LinuxSocket s = LinuxSocket.newVSockStream();
    try {
      assertThatThrownBy(() -> new EpollSocketChannel(s.intValue()))
          .isInstanceOf(ChannelException.class)
          .hasMessageContaining("setsockopt");
    } finally {
      s.close();
    }
  }

  @io.netty.channel.ChannelHandler.Sharable
  static final class EchoBack extends ChannelInboundHandlerAdapter {
    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      ctx.writeAndFlush(msg);
    }
  }
}
