package dev.keycast.transport;

import dev.keycast.transport.vsock.Vsock;
import dev.keycast.transport.vsock.VsockChannel;
import dev.keycast.transport.vsock.VsockServerChannel;
import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.EpollDomainSocketChannel;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerDomainSocketChannel;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.unix.DomainSocketAddress;
import java.io.IOException;
import java.net.BindException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

/**
 * Server and client bootstraps for every {@link Endpoint} on Netty's native epoll transport.
 *
 * <p>{@code tcp://} uses {@link EpollServerSocketChannel}/{@link EpollSocketChannel}, {@code unix:}
 * uses {@link EpollServerDomainSocketChannel}/{@link EpollDomainSocketChannel}, and
 * {@code vsock://} uses {@link VsockServerChannel}/{@link VsockChannel}. Event loop groups are
 * owned by the caller (make them with {@link #newEventLoopGroup(int)}), so servers and clients
 * share them.
 *
 * <pre>{@code
 * EventLoopGroup boss = Transports.newEventLoopGroup(1), workers = Transports.newEventLoopGroup(0);
 * try (EndpointServer server = Transports.bind(Endpoint.parse("vsock://ANY:5000"), boss, workers,
 *     new MyServerInitializer(), Map.of(ChannelOption.ALLOW_HALF_CLOSURE, true))) {
 *   server.closeFuture().sync();
 * }
 * }</pre>
 */
public final class Transports {
  private static final int S_IFMT = 0170000;
  private static final int S_IFSOCK = 0140000;

  private Transports() {}

  /** An epoll event loop group with {@code threads} threads (0: Netty's default, 2 x cores). */
  public static EventLoopGroup newEventLoopGroup(int threads) {
    return new MultiThreadIoEventLoopGroup(threads, EpollIoHandler.newFactory());
  }

  /** The Netty socket address of an endpoint (TCP host names are resolved when connecting). */
  public static SocketAddress socketAddress(Endpoint endpoint) {
    return switch (endpoint) {
      case TcpEndpoint t -> InetSocketAddress.createUnresolved(t.host(), t.port());
      case UnixEndpoint u -> new DomainSocketAddress(u.path().toString());
      case VsockEndpoint v -> Vsock.address(v);
    };
  }

  /**
   * A server bootstrap for {@code endpoint}: group, channel type and child handler set; the
   * caller may add options before {@code bind(Transports.bindAddress(endpoint))}. Prefer
   * {@link #bind}, which also reports the real bound address and cleans up stale socket files.
   */
  public static ServerBootstrap serverBootstrap(
      Endpoint endpoint, EventLoopGroup parent, EventLoopGroup child, ChannelHandler childHandler) {
    ServerBootstrap b = new ServerBootstrap().group(parent, child).childHandler(childHandler);
    switch (endpoint) {
      case TcpEndpoint t -> b.channel(EpollServerSocketChannel.class);
      case UnixEndpoint u -> b.channel(EpollServerDomainSocketChannel.class);
      case VsockEndpoint v -> b.channelFactory(VsockServerChannel::new);
    }
    return b;
  }

  /**
   * Binds a server on {@code endpoint} and waits for the bind to finish.
   *
   * <p>For {@code unix:} an existing file at the path is deleted first only if it is a socket
   * that nobody is listening on; any other file, or a live socket, fails the bind.
   *
   * @param childOptions options applied to every accepted channel (may be empty)
   * @return the running server, with the address it really bound
   * @throws IOException if the bind fails
   */
  public static EndpointServer bind(
      Endpoint endpoint,
      EventLoopGroup parent,
      EventLoopGroup child,
      ChannelHandler childHandler,
      Map<ChannelOption<?>, Object> childOptions)
      throws IOException, InterruptedException {
    ServerBootstrap b = serverBootstrap(endpoint, parent, child, childHandler);
    childOptions.forEach(
        (k, v) -> {
          @SuppressWarnings("unchecked")
          ChannelOption<Object> o = (ChannelOption<Object>) k;
          b.childOption(o, v);
        });
    SocketAddress address;
    if (endpoint instanceof TcpEndpoint t) {
      address = new InetSocketAddress(t.host(), t.port());
      if (((InetSocketAddress) address).isUnresolved()) {
        throw new IOException("cannot resolve host of " + endpoint);
      }
      b.option(ChannelOption.SO_REUSEADDR, true);
    } else {
      if (endpoint instanceof UnixEndpoint u) {
        removeStaleSocket(u.path());
      }
      address = socketAddress(endpoint);
    }
    ChannelFuture f = b.bind(address).await();
    if (!f.isSuccess()) {
      Throwable c = f.cause();
      IOException e =
          c instanceof IOException io
              ? new IOException("cannot bind " + endpoint + ": " + io.getMessage(), io)
              : new IOException("cannot bind " + endpoint + ": " + c, c);
      throw e;
    }
    Channel ch = f.channel();
    return new EndpointServer(boundEndpoint(endpoint, ch.localAddress()), ch);
  }

  /**
   * A client bootstrap for {@code endpoint} on {@code group}: channel type, remote address and
   * connect timeout set; the caller sets the handler and options and calls {@code connect()}.
   */
  public static Bootstrap bootstrap(
      Endpoint endpoint, EventLoopGroup group, Duration connectTimeout) {
    Bootstrap b = new Bootstrap().group(group).remoteAddress(socketAddress(endpoint));
    switch (endpoint) {
      case TcpEndpoint t -> b.channel(EpollSocketChannel.class);
      case UnixEndpoint u -> b.channel(EpollDomainSocketChannel.class);
      case VsockEndpoint v -> b.channelFactory(VsockChannel::new);
    }
    long ms = connectTimeout.toMillis();
    if (ms <= 0 || ms > Integer.MAX_VALUE) {
      throw new IllegalArgumentException("connect timeout out of range: " + connectTimeout);
    }
    return b.option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) ms);
  }

  /** Connects to {@code endpoint}; the future fails on error or after {@code connectTimeout}. */
  public static ChannelFuture connect(
      Endpoint endpoint, EventLoopGroup group, ChannelHandler handler, Duration connectTimeout) {
    return bootstrap(endpoint, group, connectTimeout).handler(handler).connect();
  }

  /**
   * Works around a Netty 4.2.18 epoll bug that breaks half-closed channels: gives {@code ch} a
   * fresh epoll registration on its event loop. Pending writes are kept and flushed again.
   *
   * <p>When a channel's epoll interest set becomes empty (its input is shut down, so neither
   * EPOLLIN nor EPOLLRDHUP is wanted, and no EPOLLOUT is pending), {@code EpollIoHandler}'s
   * registration removes the descriptor from epoll ({@code EPOLL_CTL_DEL}) but keeps its state
   * "added"; the next write that has to wait for EPOLLOUT then fails with
   * {@code epoll_ctl(..) failed with error(-2)} (ENOENT), Netty shuts the output and the unwritten
   * bytes are lost. A new registration starts in state "new", so its next interest is added with
   * {@code EPOLL_CTL_ADD}.
   *
   * <p>The repair is short-lived: deregistering resets Netty's interest set to its initial
   * EPOLLRDHUP, which fires again on the next epoll poll (the peer's end of stream is still
   * there); Netty clears it, the set is empty again and the bug is back. So code that writes to a
   * channel after its input ended must call this <em>immediately before each write</em> and issue
   * the write from the returned future's listener, which runs before the event loop polls again
   * ({@link L4Pipe} does, holding other writes meanwhile). Deregistering also drops a pending
   * EPOLLOUT; this method flushes the channel once it is registered again so that bytes already
   * queued resume (without that they would wait forever). It also sets the channel's write spin
   * count to {@link Integer#MAX_VALUE}: Netty clears EPOLLOUT when a flush uses up its quantum
   * without filling the socket, which would empty the interest set in the middle of a write.
   *
   * @return completes on the channel's event loop once the channel is registered again
   */
  public static io.netty.util.concurrent.Future<Void> reRegister(Channel ch) {
    io.netty.channel.EventLoop loop = ch.eventLoop();
    io.netty.util.concurrent.Promise<Void> done = loop.newPromise();
    ch.deregister()
        .addListener(
            f -> {
              if (!f.isSuccess() || !ch.isOpen()) {
                done.trySuccess(null);
                return;
              }
              loop.register(ch)
                  .addListener(
                      g -> {
                        if (!g.isSuccess()) {
                          ch.close();
                        } else {
                          // A flush that writes writeSpinCount times without filling the socket
                          // clears EPOLLOUT and reschedules itself; once the re-armed EPOLLRDHUP
                          // was consumed that clear empties the interest set (EPOLL_CTL_DEL) and
                          // the rescheduled flush's EPOLL_CTL_MOD fails. An unbounded quantum
                          // makes every incomplete flush end on a full socket and keep EPOLLOUT.
                          ch.config().setWriteSpinCount(Integer.MAX_VALUE);
                          // The deregistration dropped any pending EPOLLOUT: resume queued writes.
                          ch.flush();
                        }
                        done.trySuccess(null);
                      });
            });
    return done;
  }

  private static Endpoint boundEndpoint(Endpoint requested, SocketAddress actual) {
    return switch (requested) {
      case TcpEndpoint t -> new TcpEndpoint(t.host(), ((InetSocketAddress) actual).getPort());
      case UnixEndpoint u -> u;
      case VsockEndpoint v ->
          actual instanceof io.netty.channel.epoll.VSockAddress a ? Vsock.endpoint(a) : v;
    };
  }

  /** Deletes {@code path} if it is a socket file nobody listens on; fails on any other file. */
  static void removeStaleSocket(Path path) throws IOException {
    int mode;
    try {
      mode = (Integer) Files.getAttribute(path, "unix:mode", LinkOption.NOFOLLOW_LINKS);
    } catch (NoSuchFileException e) {
      return;
    }
    if ((mode & S_IFMT) != S_IFSOCK) {
      throw new FileAlreadyExistsException(path.toString(), null, "exists and is not a socket");
    }
    try (var probe = java.nio.channels.SocketChannel.open(StandardProtocolFamily.UNIX)) {
      probe.connect(UnixDomainSocketAddress.of(path));
      throw new BindException("a server is listening on " + path);
    } catch (BindException e) {
      throw e;
    } catch (IOException refused) {
      Files.deleteIfExists(path); // stale: nobody accepts on it
    }
  }
}
