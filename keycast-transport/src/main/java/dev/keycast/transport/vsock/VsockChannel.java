package dev.keycast.transport.vsock;

import io.netty.channel.Channel;
import io.netty.channel.epoll.AbstractEpollStreamChannel;
import io.netty.channel.epoll.EpollIoOps;
import io.netty.channel.epoll.LinuxSocket;
import io.netty.channel.epoll.VSockAddress;
import java.net.SocketAddress;
import java.nio.channels.AlreadyConnectedException;
import java.nio.channels.UnsupportedAddressTypeException;

/**
 * An AF_VSOCK stream channel on Netty's native epoll transport.
 *
 * <p>Netty 4.2.18 has VSOCK sockets ({@link LinuxSocket#newVSockStream()}, {@code connectVSock},
 * {@code bindVSock}) but no channel for them, and its {@code EpollSocketChannel} cannot wrap a
 * VSOCK descriptor: its config sets {@code TCP_NODELAY} in the constructor, which AF_VSOCK rejects
 * ({@code ENOPROTOOPT}). This class extends Netty's public {@link AbstractEpollStreamChannel}, so
 * reads, writes, back-pressure and half-closure are Netty's own code; it differs only in its config
 * ({@link VsockChannelConfig}), its addresses ({@link VSockAddress}, read from the socket with
 * {@code getsockname}/{@code getpeername}) and {@link #doConnect}, which calls
 * {@code connectVSock} and lets Netty's epoll loop finish a non-blocking connect (EPOLLOUT, then
 * {@code SO_ERROR}) under {@code CONNECT_TIMEOUT_MILLIS}.
 *
 * <p><b>Not exercised on the development machines</b>: they have no VSOCK loopback, so no
 * connection was ever established through this class there. Construction, registration and a
 * connect attempt that fails or times out within its deadline are tested; data transfer over a
 * real VSOCK connection has not been run. Accepted children share every line of code with the
 * client side after the connect.
 */
public final class VsockChannel extends AbstractEpollStreamChannel {
  private final VsockChannelConfig config;
  private volatile VSockAddress remote;

  /** A new unconnected VSOCK stream channel, to be used with {@code Bootstrap.channelFactory}. */
  public VsockChannel() {
    super(LinuxSocket.newVSockStream(), false);
    this.config = new VsockChannelConfig(this);
  }

  /** A channel for a descriptor accepted by {@link VsockServerChannel}. */
  VsockChannel(Channel parent, int fd) {
    super(parent, fd);
    this.config = new VsockChannelConfig(this);
    this.remote = socket.remoteVSockAddress();
  }

  LinuxSocket socket() {
    return socket;
  }

  @Override
  public VsockChannelConfig config() {
    return config;
  }

  @Override
  public VsockServerChannel parent() {
    return (VsockServerChannel) super.parent();
  }

  @Override
  public VSockAddress localAddress() {
    return (VSockAddress) super.localAddress();
  }

  @Override
  public VSockAddress remoteAddress() {
    return (VSockAddress) super.remoteAddress();
  }

  @Override
  protected SocketAddress localAddress0() {
    return socket.isOpen() ? socket.localVSockAddress() : null;
  }

  @Override
  protected SocketAddress remoteAddress0() {
    return remote;
  }

  @Override
  protected void doBind(SocketAddress local) throws Exception {
    if (!(local instanceof VSockAddress v)) {
      throw new UnsupportedAddressTypeException();
    }
    socket.bindVSock(v);
  }

  @Override
  protected boolean doConnect(SocketAddress remoteAddress, SocketAddress localAddress)
      throws Exception {
    if (!(remoteAddress instanceof VSockAddress target)) {
      throw new UnsupportedAddressTypeException();
    }
    if (remote != null) {
      throw new AlreadyConnectedException();
    }
    if (localAddress != null) {
      doBind(localAddress);
    }
    boolean connected = socket.connectVSock(target);
    remote = target;
    if (!connected) {
      // EINPROGRESS: Netty's epoll loop calls finishConnect() on EPOLLOUT and enforces the
      // connect timeout.
      setFlag(EpollIoOps.EPOLLOUT.value());
    }
    return connected;
  }
}
