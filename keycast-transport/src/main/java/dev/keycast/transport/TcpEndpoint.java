package dev.keycast.transport;

import java.util.Objects;

/**
 * A TCP address, {@code tcp://host:port} or {@code tcp://[ipv6]:port}.
 *
 * @param host a DNS name, an IPv4 literal or an IPv6 literal (without brackets)
 * @param port 0..65535; 0 asks for any free port when binding
 */
public record TcpEndpoint(String host, int port) implements Endpoint {
  /** Validates host and port. */
  public TcpEndpoint {
    Objects.requireNonNull(host, "host");
    if (host.isEmpty()) {
      throw new EndpointSyntaxException("tcp://:" + port, "empty host");
    }
    if (port < 0 || port > 65535) {
      throw new EndpointSyntaxException("tcp://" + host + ":" + port, "port out of range 0..65535");
    }
  }

  @Override
  public String toString() {
    return "tcp://" + (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + port;
  }
}
