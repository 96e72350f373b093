package dev.keycast.transport;

import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;

/**
 * A bound server: its real address and its listening channel. Closing it stops accepting; it does
 * not close accepted connections nor the event loop groups (those belong to the caller).
 */
public final class EndpointServer implements AutoCloseable {
  private final Endpoint endpoint;
  private final Channel channel;

  EndpointServer(Endpoint endpoint, Channel channel) {
    this.endpoint = endpoint;
    this.channel = channel;
  }

  /**
   * The address really bound: for {@code tcp://h:0} the port the kernel chose, for
   * {@code vsock://ANY:4294967295} the VSOCK port chosen; otherwise the requested endpoint.
   */
  public Endpoint endpoint() {
    return endpoint;
  }

  /** The listening channel. */
  public Channel channel() {
    return channel;
  }

  /** Completes when the listening channel is closed. */
  public ChannelFuture closeFuture() {
    return channel.closeFuture();
  }

  /** Closes the listening channel and waits for it (uninterruptibly). */
  @Override
  public void close() {
    channel.close().syncUninterruptibly();
  }

  @Override
  public String toString() {
    return "EndpointServer[" + endpoint + "]";
  }
}
