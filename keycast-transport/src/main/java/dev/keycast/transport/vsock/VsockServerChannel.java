package dev.keycast.transport.vsock;

import io.netty.channel.Channel;
import io.netty.channel.ChannelOption;
import io.netty.channel.epoll.AbstractEpollServerChannel;
import io.netty.channel.epoll.EpollChannelConfig;
import io.netty.channel.epoll.LinuxSocket;
import io.netty.channel.epoll.VSockAddress;
import java.net.SocketAddress;
import java.nio.channels.UnsupportedAddressTypeException;
import java.util.Map;

/**
 * A listening AF_VSOCK channel on Netty's native epoll transport, for {@code
 * ServerBootstrap.channelFactory(VsockServerChannel::new)} and {@code bind(new VSockAddress(...))}.
 *
 * <p>{@link #doBind} does {@code bindVSock} then {@code listen(SO_BACKLOG)}; the accepted
 * descriptors become {@link VsockChannel}s. {@link #localAddress()} is the real VSOCK address from
 * {@code getsockname} (Netty's {@code EpollServerSocketChannel} built on a VSOCK descriptor reports
 * a meaningless inet address, and its children fail because they set {@code TCP_NODELAY}).
 */
public final class VsockServerChannel extends AbstractEpollServerChannel {
  private final EpollChannelConfig config;
  private volatile int backlog = 128;

  /** A new unbound VSOCK server channel. */
  public VsockServerChannel() {
    super(LinuxSocket.newVSockStream(), false);
    this.config =
        new EpollChannelConfig(this) {
          @Override
          public Map<ChannelOption<?>, Object> getOptions() {
            return getOptions(super.getOptions(), ChannelOption.SO_BACKLOG);
          }

          @SuppressWarnings("unchecked")
          @Override
          public <T> T getOption(ChannelOption<T> option) {
            if (option == ChannelOption.SO_BACKLOG) {
              return (T) Integer.valueOf(backlog);
            }
            return super.getOption(option);
          }

          @Override
          public <T> boolean setOption(ChannelOption<T> option, T value) {
            validate(option, value);
            if (option == ChannelOption.SO_BACKLOG) {
              int b = (Integer) value;
              if (b < 0) {
                throw new IllegalArgumentException("backlog: " + b);
              }
              backlog = b;
              return true;
            }
            return super.setOption(option, value);
          }
        };
  }

  @Override
  public EpollChannelConfig config() {
    return config;
  }

  @Override
  public VSockAddress localAddress() {
    return (VSockAddress) super.localAddress();
  }

  @Override
  protected SocketAddress localAddress0() {
    return active && socket.isOpen() ? socket.localVSockAddress() : null;
  }

  @Override
  protected void doBind(SocketAddress local) throws Exception {
    if (!(local instanceof VSockAddress v)) {
      throw new UnsupportedAddressTypeException();
    }
    socket.bindVSock(v);
    socket.listen(backlog);
    active = true;
  }

  @Override
  protected Channel newChildChannel(int fd, byte[] remote, int offset, int len) {
    return new VsockChannel(this, fd);
  }
}
