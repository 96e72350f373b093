package dev.keycast.transport.vsock;

import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.ChannelException;
import io.netty.channel.ChannelOption;
import io.netty.channel.MessageSizeEstimator;
import io.netty.channel.RecvByteBufAllocator;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.epoll.EpollChannelConfig;
import io.netty.channel.socket.SocketChannelConfig;
import java.io.IOException;
import java.util.Map;

/**
 * Configuration of a {@link VsockChannel}.
 *
 * <p>It is a {@link SocketChannelConfig} so that Netty's epoll code honours
 * {@link ChannelOption#ALLOW_HALF_CLOSURE} for VSOCK streams. Options that only exist for TCP
 * ({@code TCP_NODELAY}, {@code IP_TOS}, {@code SO_REUSEADDR}, {@code SO_LINGER}, {@code SO_KEEPALIVE})
 * are accepted and ignored: AF_VSOCK rejects them with {@code ENOPROTOOPT}, which is exactly why
 * Netty's own {@code EpollSocketChannel} cannot wrap a VSOCK descriptor (its config turns on
 * {@code TCP_NODELAY} in its constructor). Buffer sizes ({@code SO_SNDBUF}, {@code SO_RCVBUF}) are
 * passed to the socket.
 */
public final class VsockChannelConfig extends EpollChannelConfig implements SocketChannelConfig {
  private final VsockChannel channel;
  private volatile boolean allowHalfClosure;

  VsockChannelConfig(VsockChannel channel) {
    super(channel);
    this.channel = channel;
  }

  @Override
  public Map<ChannelOption<?>, Object> getOptions() {
    return getOptions(
        super.getOptions(),
        ChannelOption.ALLOW_HALF_CLOSURE,
        ChannelOption.SO_RCVBUF,
        ChannelOption.SO_SNDBUF);
  }

  @SuppressWarnings("unchecked")
  @Override
  public <T> T getOption(ChannelOption<T> option) {
    if (option == ChannelOption.ALLOW_HALF_CLOSURE) {
      return (T) Boolean.valueOf(isAllowHalfClosure());
    }
    if (option == ChannelOption.SO_RCVBUF) {
      return (T) Integer.valueOf(getReceiveBufferSize());
    }
    if (option == ChannelOption.SO_SNDBUF) {
      return (T) Integer.valueOf(getSendBufferSize());
    }
    return super.getOption(option);
  }

  @Override
  public <T> boolean setOption(ChannelOption<T> option, T value) {
    validate(option, value);
    if (option == ChannelOption.ALLOW_HALF_CLOSURE) {
      setAllowHalfClosure((Boolean) value);
    } else if (option == ChannelOption.SO_RCVBUF) {
      setReceiveBufferSize((Integer) value);
    } else if (option == ChannelOption.SO_SNDBUF) {
      setSendBufferSize((Integer) value);
    } else if (option == ChannelOption.TCP_NODELAY
        || option == ChannelOption.SO_KEEPALIVE
        || option == ChannelOption.SO_LINGER
        || option == ChannelOption.IP_TOS
        || option == ChannelOption.SO_REUSEADDR) {
      return true; // not applicable to AF_VSOCK; accepted so shared option maps work
    } else {
      return super.setOption(option, value);
    }
    return true;
  }

  @Override
  public boolean isAllowHalfClosure() {
    return allowHalfClosure;
  }

  @Override
  public VsockChannelConfig setAllowHalfClosure(boolean allowHalfClosure) {
    this.allowHalfClosure = allowHalfClosure;
    return this;
  }

  @Override
  public int getReceiveBufferSize() {
    try {
      return channel.socket().getReceiveBufferSize();
    } catch (IOException e) {
      throw new ChannelException(e);
    }
  }

  @Override
  public VsockChannelConfig setReceiveBufferSize(int size) {
    try {
      channel.socket().setReceiveBufferSize(size);
      return this;
    } catch (IOException e) {
      throw new ChannelException(e);
    }
  }

  @Override
  public int getSendBufferSize() {
    try {
      return channel.socket().getSendBufferSize();
    } catch (IOException e) {
      throw new ChannelException(e);
    }
  }

  @Override
  public VsockChannelConfig setSendBufferSize(int size) {
    try {
      channel.socket().setSendBufferSize(size);
      return this;
    } catch (IOException e) {
      throw new ChannelException(e);
    }
  }

  /** Always {@code false}: AF_VSOCK has no Nagle algorithm. */
  @Override
  public boolean isTcpNoDelay() {
    return false;
  }

  /** Ignored (not applicable to AF_VSOCK). */
  @Override
  public VsockChannelConfig setTcpNoDelay(boolean tcpNoDelay) {
    return this;
  }

  @Override
  public int getSoLinger() {
    return -1;
  }

  /** Ignored (not applicable to AF_VSOCK). */
  @Override
  public VsockChannelConfig setSoLinger(int soLinger) {
    return this;
  }

  @Override
  public boolean isKeepAlive() {
    return false;
  }

  /** Ignored (not applicable to AF_VSOCK). */
  @Override
  public VsockChannelConfig setKeepAlive(boolean keepAlive) {
    return this;
  }

  @Override
  public int getTrafficClass() {
    return 0;
  }

  /** Ignored (not applicable to AF_VSOCK). */
  @Override
  public VsockChannelConfig setTrafficClass(int trafficClass) {
    return this;
  }

  @Override
  public boolean isReuseAddress() {
    return false;
  }

  /** Ignored (not applicable to AF_VSOCK). */
  @Override
  public VsockChannelConfig setReuseAddress(boolean reuseAddress) {
    return this;
  }

  /** Ignored. */
  @Override
  public VsockChannelConfig setPerformancePreferences(
      int connectionTime, int latency, int bandwidth) {
    return this;
  }

  @Override
  public VsockChannelConfig setConnectTimeoutMillis(int connectTimeoutMillis) {
    super.setConnectTimeoutMillis(connectTimeoutMillis);
    return this;
  }

  @Override
  @Deprecated
  public VsockChannelConfig setMaxMessagesPerRead(int maxMessagesPerRead) {
    super.setMaxMessagesPerRead(maxMessagesPerRead);
    return this;
  }

  @Override
  public VsockChannelConfig setWriteSpinCount(int writeSpinCount) {
    super.setWriteSpinCount(writeSpinCount);
    return this;
  }

  @Override
  public VsockChannelConfig setAllocator(ByteBufAllocator allocator) {
    super.setAllocator(allocator);
    return this;
  }

  @Override
  public VsockChannelConfig setRecvByteBufAllocator(RecvByteBufAllocator allocator) {
    super.setRecvByteBufAllocator(allocator);
    return this;
  }

  @Override
  public VsockChannelConfig setAutoRead(boolean autoRead) {
    super.setAutoRead(autoRead);
    return this;
  }

  @Override
  public VsockChannelConfig setAutoClose(boolean autoClose) {
    super.setAutoClose(autoClose);
    return this;
  }

  @Override
  @Deprecated
  public VsockChannelConfig setWriteBufferHighWaterMark(int writeBufferHighWaterMark) {
    super.setWriteBufferHighWaterMark(writeBufferHighWaterMark);
    return this;
  }

  @Override
  @Deprecated
  public VsockChannelConfig setWriteBufferLowWaterMark(int writeBufferLowWaterMark) {
    super.setWriteBufferLowWaterMark(writeBufferLowWaterMark);
    return this;
  }

  @Override
  public VsockChannelConfig setWriteBufferWaterMark(WriteBufferWaterMark writeBufferWaterMark) {
    super.setWriteBufferWaterMark(writeBufferWaterMark);
    return this;
  }

  @Override
  public VsockChannelConfig setMessageSizeEstimator(MessageSizeEstimator estimator) {
    super.setMessageSizeEstimator(estimator);
    return this;
  }
}
