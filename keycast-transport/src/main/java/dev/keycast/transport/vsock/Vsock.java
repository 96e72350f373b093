package dev.keycast.transport.vsock;

import dev.keycast.transport.VsockEndpoint;
import io.netty.channel.epoll.LinuxSocket;
import io.netty.channel.epoll.VSockAddress;
import java.io.IOException;

/** VSOCK helpers: address conversion and a capability probe. */
public final class Vsock {
  private Vsock() {}

  /** The Netty address of an endpoint. */
  public static VSockAddress address(VsockEndpoint endpoint) {
    return new VSockAddress(endpoint.cid(), endpoint.port());
  }

  /** The endpoint of a Netty address. */
  public static VsockEndpoint endpoint(VSockAddress address) {
    return new VsockEndpoint(address.getCid(), address.getPort());
  }

  /**
   * Whether this machine can create and bind an AF_VSOCK stream socket (binds {@code ANY:ANY} and
   * closes it). A {@code true} answer says nothing about whether connecting works: without a VSOCK
   * transport to a peer (or the {@code vsock_loopback} module) a connect to CID 1 times out.
   *
   * @return null if VSOCK sockets work, else the reason they do not
   */
  public static Throwable unavailabilityCause() {
    LinuxSocket s;
    try {
      s = LinuxSocket.newVSockStream();
    } catch (Throwable t) {
      return t;
    }
    try {
      s.bindVSock(new VSockAddress(VSockAddress.VMADDR_CID_ANY, VSockAddress.VMADDR_PORT_ANY));
      return null;
    } catch (Throwable t) {
      return t;
    } finally {
      try {
        s.close();
      } catch (IOException ignored) {
        // nothing to do: the probe socket is gone either way
      }
    }
  }
}
