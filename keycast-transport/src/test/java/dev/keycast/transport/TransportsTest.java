package dev.keycast.transport;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.epoll.EpollDomainSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import java.io.IOException;
import java.net.ConnectException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(60)
class TransportsTest {
  static EventLoopGroup boss;
  static EventLoopGroup workers;
  @TempDir Path tmp;

  @BeforeAll
  static void groups() {
    boss = Transports.newEventLoopGroup(1);
    workers = Transports.newEventLoopGroup(2);
  }

  @AfterAll
  static void shutdown() {
    boss.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    workers.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
  }

  static EndpointServer echoServer(Endpoint e) throws Exception {
    return Transports.bind(
        e,
        boss,
        workers,
        new EchoHandler(),
        Map.of(ChannelOption.AUTO_READ, false, ChannelOption.ALLOW_HALF_CLOSURE, true));
  }

  @Test
  void tcpPortZeroReportsTheRealPort() throws Exception {
    try (EndpointServer s = echoServer(Endpoint.parse("tcp://127.0.0.1:0"))) {
      TcpEndpoint bound = (TcpEndpoint) s.endpoint();
      assertThat(bound.host()).isEqualTo("127.0.0.1");
      assertThat(bound.port()).isBetween(1, 65535);
      assertThat(s.channel().isActive()).isTrue();
      // a plain JDK client reaches that port
      try (SocketChannel c =
          SocketChannel.open(new java.net.InetSocketAddress("127.0.0.1", bound.port()))) {
        assertThat(roundTrip(c, "ping")).isEqualTo("ping");
      }
    }
  }

  @Test
  void tcpIpv6Loopback() throws Exception {
    try (EndpointServer s = echoServer(Endpoint.parse("tcp://[::1]:0"))) {
      assertThat(s.endpoint().toString()).startsWith("tcp://[::1]:");
      Channel c = connectEcho(s.endpoint());
      assertThat(c).isInstanceOf(EpollSocketChannel.class);
      c.close().sync();
    }
  }

  @Test
  void unixBindCreatesSocketAndCloseRemovesIt() throws Exception {
    Path p = tmp.resolve("s.sock");
    EndpointServer s = echoServer(new UnixEndpoint(p));
    assertThat(s.endpoint()).isEqualTo(new UnixEndpoint(p));
    assertThat(Files.exists(p)).isTrue();
    try (SocketChannel c = SocketChannel.open(UnixDomainSocketAddress.of(p))) {
      assertThat(roundTrip(c, "über")).isEqualTo("über");
    }
    s.close();
    assertThat(s.closeFuture().isDone()).isTrue();
    assertThat(Files.exists(p)).isFalse();
  }

  @Test
  void unixStaleSocketIsReplacedButOtherFilesAndLiveSocketsAreNot() throws Exception {
    Path stale = tmp.resolve("stale.sock");
    // leave a socket file with no listener behind
    ServerSocketChannel old = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
    old.bind(UnixDomainSocketAddress.of(stale));
    old.close();
    assertThat(Files.exists(stale)).isTrue();
    try (EndpointServer s = echoServer(new UnixEndpoint(stale))) {
      assertThat(s.channel().isActive()).isTrue();
      // live socket: a second bind must fail and leave the first working
      assertThatThrownBy(() -> echoServer(new UnixEndpoint(stale)))
          .isInstanceOf(java.net.BindException.class)
          .hasMessageContaining("listening");
      try (SocketChannel c = SocketChannel.open(UnixDomainSocketAddress.of(stale))) {
        assertThat(roundTrip(c, "still")).isEqualTo("still");
      }
    }
    Path regular = tmp.resolve("regular");
    Files.writeString(regular, "keep me");
    assertThatThrownBy(() -> echoServer(new UnixEndpoint(regular)))
        .isInstanceOf(FileAlreadyExistsException.class);
    assertThat(Files.readString(regular)).isEqualTo("keep me");
  }

  @Test
  void echoOverTcpAndUnixThroughBothBootstraps() throws Exception {
    for (Endpoint e :
        new Endpoint[] {
          Endpoint.parse("tcp://127.0.0.1:0"), new UnixEndpoint(tmp.resolve("e.sock"))
        }) {
      try (EndpointServer s = echoServer(e)) {
        Channel c = connectEcho(s.endpoint());
        if (e instanceof UnixEndpoint) {
          assertThat(c).isInstanceOf(EpollDomainSocketChannel.class);
        }
        c.close().sync();
      }
    }
  }

  @Test
  void connectToNothingFailsPromptly() throws Exception {
    try (ServerSocketChannel probe = ServerSocketChannel.open()) {
      probe.bind(new java.net.InetSocketAddress("127.0.0.1", 0));
      int port = ((java.net.InetSocketAddress) probe.getLocalAddress()).getPort();
      probe.close();
      ChannelFuture f =
          Transports.connect(
              new TcpEndpoint("127.0.0.1", port),
              workers,
              new io.netty.channel.ChannelInboundHandlerAdapter(),
              Duration.ofSeconds(5));
      assertThat(f.await(10, TimeUnit.SECONDS)).isTrue();
      assertThat(f.cause()).isInstanceOf(ConnectException.class);
    }
    ChannelFuture f =
        Transports.connect(
            new UnixEndpoint(tmp.resolve("none.sock")),
            workers,
            new io.netty.channel.ChannelInboundHandlerAdapter(),
            Duration.ofSeconds(5));
    assertThat(f.await(10, TimeUnit.SECONDS)).isTrue();
    assertThat(f.cause()).isInstanceOf(IOException.class);
  }

  @Test
  void bindFailureIsAnIoExceptionNamingTheEndpoint() throws Exception {
    try (EndpointServer s = echoServer(Endpoint.parse("tcp://127.0.0.1:0"))) {
      // SO_REUSEADDR does not allow two listeners on one port
      Endpoint same = s.endpoint();
      assertThatThrownBy(() -> echoServer(same))
          .isInstanceOf(IOException.class)
          .hasMessageContaining(same.toString());
    }
    assertThatThrownBy(() -> Transports.bootstrap(new TcpEndpoint("h", 1), workers, Duration.ZERO))
        .isInstanceOf(IllegalArgumentException.class);
  }

  /** Connects with {@link Transports#connect}, sends lines and checks the echo. */
  static Channel connectEcho(Endpoint e) throws Exception {
    CompletableFuture<String> got = new CompletableFuture<>();
    StringBuilder acc = new StringBuilder();
    String msg = "hello over " + e;
    ChannelFuture f =
        Transports.connect(
            e,
            workers,
            new ChannelInitializer<Channel>() {
              @Override
              protected void initChannel(Channel ch) {
                ch.pipeline()
                    .addLast(
                        new SimpleChannelInboundHandler<ByteBuf>() {
                          @Override
                          protected void channelRead0(ChannelHandlerContext ctx, ByteBuf b) {
                            acc.append(b.toString(StandardCharsets.UTF_8));
                            if (acc.length() >= msg.length()) {
                              got.complete(acc.toString());
                            }
                          }
                        });
              }
            },
            Duration.ofSeconds(5));
    Channel c = f.sync().channel();
    c.writeAndFlush(Unpooled.copiedBuffer(msg, StandardCharsets.UTF_8)).sync();
    assertThat(got.get(10, TimeUnit.SECONDS)).isEqualTo(msg);
    return c;
  }

  static String roundTrip(SocketChannel c, String s) throws IOException {
    byte[] b = s.getBytes(StandardCharsets.UTF_8);
    c.write(ByteBuffer.wrap(b));
    ByteBuffer in = ByteBuffer.allocate(b.length);
    while (in.hasRemaining()) {
      if (c.read(in) < 0) {
        break;
      }
    }
    return new String(in.array(), 0, in.position(), StandardCharsets.UTF_8);
  }
}
