package dev.keycast.transport;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(120)
class L4PipeTest {
  static EventLoopGroup boss;
  static EventLoopGroup workers;
  static final Duration CONNECT = Duration.ofSeconds(5);
  static final Duration IDLE = Duration.ofSeconds(30);
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

  static EndpointServer backend(Endpoint e, ChannelHandler h) throws Exception {
    return Transports.bind(
        e,
        boss,
        workers,
        h,
        Map.of(ChannelOption.AUTO_READ, false, ChannelOption.ALLOW_HALF_CLOSURE, true));
  }

  static L4Pipe pipe(Endpoint listen, Endpoint target, Duration idle, int max) throws Exception {
    L4Pipe p = new L4Pipe(new L4Pipe.Config(listen, target, CONNECT, idle, max), Set.of(target));
    p.start(boss, workers);
    return p;
  }

  static SocketAddress jdk(Endpoint e) {
    return switch (e) {
      case TcpEndpoint t -> new InetSocketAddress(t.host(), t.port());
      case UnixEndpoint u -> UnixDomainSocketAddress.of(u.path());
      case VsockEndpoint v -> throw new IllegalArgumentException("no JDK VSOCK client");
    };
  }

  /** Sends {@code size} seeded random bytes, half-closes, reads the echo to EOF; checks SHA-256. */
  static void echoTransfer(Endpoint at, long size, long seed) throws Exception {
    try (SocketChannel c = SocketChannel.open(jdk(at))) {
      MessageDigest sent = MessageDigest.getInstance("SHA-256");
      ExecutorService ex = Executors.newSingleThreadExecutor();
      try {
        Future<?> writer =
            ex.submit(
                () -> {
                  Random r = new Random(seed);
                  byte[] chunk = new byte[32 * 1024];
                  long left = size;
                  while (left > 0) {
                    int n = (int) Math.min(chunk.length, left);
                    r.nextBytes(chunk);
                    sent.update(chunk, 0, n);
                    ByteBuffer b = ByteBuffer.wrap(chunk, 0, n);
                    while (b.hasRemaining()) {
                      c.write(b);
                    }
                    left -= n;
                  }
                  c.shutdownOutput();
                  return null;
                });
        MessageDigest got = MessageDigest.getInstance("SHA-256");
        ByteBuffer in = ByteBuffer.allocate(64 * 1024);
        long total = 0;
        int n;
        while ((n = c.read(in)) >= 0) {
          got.update(in.array(), 0, n);
          total += n;
          in.clear();
        }
        writer.get(60, TimeUnit.SECONDS);
        assertThat(total).isEqualTo(size);
        assertThat(got.digest()).isEqualTo(sent.digest());
      } finally {
        ex.shutdownNow();
      }
    }
  }

  static void awaitTrue(java.util.function.BooleanSupplier cond, Duration max) {
    org.awaitility.Awaitility.await()
        .atMost(max)
        .pollInterval(Duration.ofMillis(20))
        .until(cond::getAsBoolean);
  }

  @Test
  void targetOutsideTheAllowlistIsRejectedAtConstruction() {
    Endpoint kms = Endpoint.parse("tcp://kms.us-east-1.amazonaws.com:443");
    L4Pipe.Config cfg =
        new L4Pipe.Config(
            Endpoint.parse("vsock://ANY:8000"),
            Endpoint.parse("tcp://evil.example:443"),
            CONNECT,
            IDLE,
            10);
    assertThatThrownBy(() -> new L4Pipe(cfg, Set.of(kms)))
        .isInstanceOf(L4Pipe.TargetNotAllowedException.class)
        .hasMessageContaining("tcp://evil.example:443");
    // the port must match too
    L4Pipe.Config port80 =
        new L4Pipe.Config(
            Endpoint.parse("vsock://ANY:8000"),
            Endpoint.parse("tcp://kms.us-east-1.amazonaws.com:80"),
            CONNECT,
            IDLE,
            10);
    assertThatThrownBy(() -> new L4Pipe(port80, Set.of(kms)))
        .isInstanceOf(L4Pipe.TargetNotAllowedException.class);
    assertThat(
            new L4Pipe(
                    new L4Pipe.Config(Endpoint.parse("vsock://ANY:8000"), kms, CONNECT, IDLE, 10),
                    Set.of(kms))
                .boundEndpoint())
        .isNull();
    assertThatThrownBy(() -> new L4Pipe.Config(kms, kms, CONNECT, IDLE, 0))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void sixtyFourMebibytesBothWaysAreByteExact() throws Exception {
    try (EndpointServer echo = backend(Endpoint.parse("tcp://127.0.0.1:0"), new EchoHandler());
        L4Pipe p = pipe(Endpoint.parse("tcp://127.0.0.1:0"), echo.endpoint(), IDLE, 4)) {
      long size = 64L << 20;
      echoTransfer(p.boundEndpoint(), size, 42);
      awaitTrue(() -> p.stats().active() == 0, Duration.ofSeconds(10));
      assertThat(p.stats().bytesUpstream()).isEqualTo(size);
      assertThat(p.stats().bytesDownstream()).isEqualTo(size);
      assertThat(p.stats().accepted()).isEqualTo(1);
      // Not 2 x 64 KiB here: when a peer half-closes, Netty's epoll transport drains that socket's
      // receive buffer in one go (EPOLLRDHUP), so the bound is the kernel buffer, not our reads.
      assertThat(p.stats().maxPendingBytes()).isLessThan(16L << 20);
    }
  }

  @Test
  void unixToTcpAndTcpToUnix() throws Exception {
    try (EndpointServer echoUnix =
            backend(new UnixEndpoint(tmp.resolve("echo.sock")), new EchoHandler());
        L4Pipe tcpToUnix = pipe(Endpoint.parse("tcp://127.0.0.1:0"), echoUnix.endpoint(), IDLE, 4);
        EndpointServer echoTcp = backend(Endpoint.parse("tcp://[::1]:0"), new EchoHandler());
        L4Pipe unixToTcp =
            pipe(new UnixEndpoint(tmp.resolve("pipe.sock")), echoTcp.endpoint(), IDLE, 4)) {
      echoTransfer(tcpToUnix.boundEndpoint(), 3 << 20, 1);
      echoTransfer(unixToTcp.boundEndpoint(), 3 << 20, 2);
      assertThat(tcpToUnix.stats().bytesDownstream()).isEqualTo(3 << 20);
      assertThat(unixToTcp.stats().bytesUpstream()).isEqualTo(3 << 20);
    }
  }

  @Test
  void manyConcurrentConnections() throws Exception {
    int clients = 48;
    try (EndpointServer echo = backend(Endpoint.parse("tcp://127.0.0.1:0"), new EchoHandler());
        L4Pipe p = pipe(Endpoint.parse("tcp://127.0.0.1:0"), echo.endpoint(), IDLE, clients)) {
      ExecutorService ex = Executors.newFixedThreadPool(clients);
      try {
        List<Future<?>> all = new ArrayList<>();
        for (int i = 0; i < clients; i++) {
          long seed = i;
          all.add(
              ex.submit(
                  () -> {
                    echoTransfer(p.boundEndpoint(), 256 * 1024 + seed * 1013, seed);
                    return null;
                  }));
        }
        for (Future<?> f : all) {
          f.get(90, TimeUnit.SECONDS);
        }
      } finally {
        ex.shutdownNow();
      }
      awaitTrue(() -> p.stats().active() == 0, Duration.ofSeconds(10));
      assertThat(p.stats().accepted()).isEqualTo(clients);
      assertThat(p.stats().rejected()).isZero();
      long expected = 0;
      for (int i = 0; i < clients; i++) {
        expected += 256 * 1024 + i * 1013L;
      }
      assertThat(p.stats().bytesUpstream()).isEqualTo(expected);
      assertThat(p.stats().bytesDownstream()).isEqualTo(expected);
    }
  }

  @Test
  void targetDownClosesTheClientPromptly() throws Exception {
    int deadPort;
    try (ServerSocketChannel s = ServerSocketChannel.open()) {
      s.bind(new InetSocketAddress("127.0.0.1", 0));
      deadPort = ((InetSocketAddress) s.getLocalAddress()).getPort();
    }
    try (L4Pipe p =
            pipe(
                Endpoint.parse("tcp://127.0.0.1:0"),
                new TcpEndpoint("127.0.0.1", deadPort),
                IDLE,
                4);
        SocketChannel c = SocketChannel.open(jdk(p.boundEndpoint()))) {
      c.socket().setSoTimeout(10_000);
      int r = readOrReset(c);
      assertThat(r).isEqualTo(-1);
      awaitTrue(
          () -> p.stats().connectFailures() == 1 && p.stats().active() == 0, Duration.ofSeconds(5));
    }
  }

  @Test
  void halfCloseReachesTheTargetAndTheReplyStillFlowsBack() throws Exception {
    // The backend answers only after it sees the end of the request.
    ChannelHandler replyAfterEof = new ReplyAfterEof();
    try (EndpointServer b = backend(Endpoint.parse("tcp://127.0.0.1:0"), replyAfterEof);
        L4Pipe p = pipe(Endpoint.parse("tcp://127.0.0.1:0"), b.endpoint(), IDLE, 4);
        SocketChannel c = SocketChannel.open(jdk(p.boundEndpoint()))) {
      c.write(ByteBuffer.wrap("request body".getBytes(StandardCharsets.UTF_8)));
      c.shutdownOutput();
      ByteBuffer in = ByteBuffer.allocate(256);
      while (c.read(in) >= 0) {
        // read to EOF
      }
      assertThat(new String(in.array(), 0, in.position(), StandardCharsets.UTF_8))
          .isEqualTo("got 12 bytes then EOF");
      awaitTrue(() -> p.stats().active() == 0, Duration.ofSeconds(5));
    }
  }

  @Test
  void connectionsBeyondTheLimitAreClosedAndCounted() throws Exception {
    try (EndpointServer echo = backend(Endpoint.parse("tcp://127.0.0.1:0"), new EchoHandler());
        L4Pipe p = pipe(Endpoint.parse("tcp://127.0.0.1:0"), echo.endpoint(), IDLE, 2)) {
      SocketChannel a = SocketChannel.open(jdk(p.boundEndpoint()));
      SocketChannel b = SocketChannel.open(jdk(p.boundEndpoint()));
      assertThat(TransportsTest.roundTrip(a, "a")).isEqualTo("a");
      assertThat(TransportsTest.roundTrip(b, "b")).isEqualTo("b");
      try (SocketChannel third = SocketChannel.open(jdk(p.boundEndpoint()))) {
        assertThat(readOrReset(third)).isEqualTo(-1);
      }
      assertThat(p.stats().rejected()).isEqualTo(1);
      assertThat(p.stats().active()).isEqualTo(2);
      a.close();
      awaitTrue(() -> p.stats().active() == 1, Duration.ofSeconds(5));
      try (SocketChannel again = SocketChannel.open(jdk(p.boundEndpoint()))) {
        assertThat(TransportsTest.roundTrip(again, "again")).isEqualTo("again");
      }
      b.close();
    }
  }

  @Test
  void idleConnectionsAreClosed() throws Exception {
    try (EndpointServer echo = backend(Endpoint.parse("tcp://127.0.0.1:0"), new EchoHandler());
        L4Pipe p =
            pipe(Endpoint.parse("tcp://127.0.0.1:0"), echo.endpoint(), Duration.ofMillis(300), 2);
        SocketChannel c = SocketChannel.open(jdk(p.boundEndpoint()))) {
      assertThat(TransportsTest.roundTrip(c, "x")).isEqualTo("x");
      assertThat(readOrReset(c)).isEqualTo(-1); // returns once the pipe closes the idle pair
      assertThat(p.stats().idleTimeouts()).isGreaterThanOrEqualTo(1);
    }
  }

  @Test
  void slowConsumerDoesNotMakeThePipeBuffer() throws Exception {
    // The backend accepts but never reads: everything the pipe forwards stays in kernel buffers.
    try (EndpointServer sink =
            backend(Endpoint.parse("tcp://127.0.0.1:0"), new ChannelInboundHandlerAdapter());
        // idle timeout: the only way out once the client half-closes towards a stalled target
        L4Pipe p =
            pipe(Endpoint.parse("tcp://127.0.0.1:0"), sink.endpoint(), Duration.ofSeconds(5), 2);
        SocketChannel c = SocketChannel.open(jdk(p.boundEndpoint()))) {
      long size = 64L << 20;
      ExecutorService ex = Executors.newSingleThreadExecutor();
      try {
        Future<?> writer =
            ex.submit(
                () -> {
                  ByteBuffer chunk = ByteBuffer.allocate(64 * 1024);
                  for (long sent = 0; sent < size; sent += chunk.capacity()) {
                    chunk.clear();
                    while (chunk.hasRemaining()) {
                      c.write(chunk);
                    }
                  }
                  return null;
                });
        // wait until the forwarded count stops growing: every buffer on the way is full
        long[] last = {-1};
        int[] stable = {0};
        org.awaitility.Awaitility.await()
            .atMost(Duration.ofSeconds(60))
            .pollInterval(Duration.ofMillis(200))
            .until(
                () -> {
                  long now = p.stats().bytesUpstream();
                  stable[0] = now == last[0] ? stable[0] + 1 : 0;
                  last[0] = now;
                  return stable[0] >= 5;
                });
        assertThat(writer.isDone()).as("the client is blocked by back-pressure").isFalse();
        assertThat(p.stats().bytesUpstream()).isLessThan(size);
        // the pipe itself holds at most one read buffer for this one direction
        assertThat(p.stats().pendingBytes()).isLessThanOrEqualTo(L4Pipe.READ_BUFFER_BYTES);
        assertThat(p.stats().maxPendingBytes()).isLessThanOrEqualTo(L4Pipe.READ_BUFFER_BYTES);
      } finally {
        c.close();
        ex.shutdownNow();
      }
      awaitTrue(() -> p.stats().active() == 0, Duration.ofSeconds(20));
      assertThat(p.stats().idleTimeouts()).isEqualTo(1);
      assertThat(p.stats().pendingBytes()).isZero();
    }
  }

  /** -1 on EOF or reset, else the byte count (a test failure if data arrives). */
  static int readOrReset(SocketChannel c) throws IOException {
    ByteBuffer b = ByteBuffer.allocate(16);
    try {
      return c.read(b);
    } catch (IOException reset) {
      return -1;
    }
  }

  @ChannelHandler.Sharable
  static final class ReplyAfterEof extends ChannelInboundHandlerAdapter {
    @Override
    public void channelActive(ChannelHandlerContext ctx) {
      ctx.channel().attr(COUNT).set(0);
      ctx.read();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      ByteBuf b = (ByteBuf) msg;
      ctx.channel().attr(COUNT).set(ctx.channel().attr(COUNT).get() + b.readableBytes());
      b.release();
      ctx.read();
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
      if (evt instanceof ChannelInputShutdownEvent) {
        String reply = "got " + ctx.channel().attr(COUNT).get() + " bytes then EOF";
        ctx.writeAndFlush(Unpooled.copiedBuffer(reply, StandardCharsets.UTF_8))
            .addListener(ChannelFutureListener.CLOSE);
      }
    }

    static final io.netty.util.AttributeKey<Integer> COUNT =
        io.netty.util.AttributeKey.valueOf("count");
  }
}
