package dev.keycast.transport;

import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;

/**
 * A stream-socket address in one of three forms: {@code vsock://CID:PORT}, {@code unix:PATH} and
 * {@code tcp://HOST:PORT}. The syntax is specified in {@code src/site/markdown/transports.md}.
 *
 * <p>{@link #parse(String)} accepts exactly that syntax and throws {@link EndpointSyntaxException}
 * (an {@link IllegalArgumentException}) quoting the input otherwise. {@link #toString()} gives the
 * canonical form, which {@code parse} maps back to an equal endpoint.
 */
public sealed interface Endpoint permits VsockEndpoint, UnixEndpoint, TcpEndpoint {

  /** Longest accepted input, checked before anything else is done with it. */
  int MAX_LENGTH = 1024;

  /** The canonical text form, e.g. {@code vsock://ANY:8000}, {@code unix:/run/k.sock}. */
  @Override
  String toString();

  /**
   * Parses an endpoint address.
   *
   * @throws EndpointSyntaxException if {@code text} is null or not a valid address
   */
  static Endpoint parse(String text) {
    if (text == null) {
      throw new EndpointSyntaxException(null, "missing address");
    }
    if (text.length() > MAX_LENGTH) {
      throw new EndpointSyntaxException(text, "longer than " + MAX_LENGTH + " characters");
    }
    if (text.isEmpty()) {
      throw new EndpointSyntaxException(text, "empty address");
    }
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      if (c <= 0x20 || c == 0x7f) {
        throw new EndpointSyntaxException(text, "contains whitespace or a control character");
      }
    }
    if (text.startsWith("vsock://")) {
      return parseVsock(text, text.substring("vsock://".length()));
    }
    if (text.startsWith("tcp://")) {
      return parseTcp(text, text.substring("tcp://".length()));
    }
    if (text.startsWith("unix:")) {
      return parseUnix(text, text.substring("unix:".length()));
    }
    throw new EndpointSyntaxException(
        text, "unknown scheme (expected vsock://CID:PORT, unix:PATH or tcp://HOST:PORT)");
  }

  private static VsockEndpoint parseVsock(String text, String rest) {
    int colon = rest.indexOf(':');
    if (colon < 0 || rest.indexOf(':', colon + 1) >= 0) {
      throw new EndpointSyntaxException(text, "expected vsock://CID:PORT");
    }
    String cidText = rest.substring(0, colon);
    String portText = rest.substring(colon + 1);
    int cid;
    if (cidText.equals("ANY") || cidText.equals("-1")) {
      cid = VsockEndpoint.CID_ANY;
    } else {
      long v = parseUnsigned(text, cidText, "CID", 0xFFFF_FFFEL);
      cid = (int) v;
    }
    long port = parseUnsigned(text, portText, "port", 0xFFFF_FFFFL);
    return new VsockEndpoint(cid, (int) port);
  }

  private static UnixEndpoint parseUnix(String text, String rest) {
    if (rest.isEmpty()) {
      throw new EndpointSyntaxException(
          text, "empty path (expected unix:/abs/path or unix:rel/path)");
    }
    if (rest.startsWith("//")) {
      throw new EndpointSyntaxException(
          text, "unix: takes a path, not an authority (write unix:/abs/path)");
    }
    int bytes = rest.getBytes(StandardCharsets.UTF_8).length;
    if (bytes > UnixEndpoint.MAX_PATH_BYTES) {
      throw new EndpointSyntaxException(
          text,
          "path is "
              + bytes
              + " bytes; a socket path holds at most "
              + UnixEndpoint.MAX_PATH_BYTES);
    }
    try {
      return new UnixEndpoint(Path.of(rest));
    } catch (InvalidPathException e) {
      throw new EndpointSyntaxException(text, "not a valid path");
    }
  }

  private static TcpEndpoint parseTcp(String text, String rest) {
    String host;
    String portText;
    if (rest.startsWith("[")) {
      int close = rest.indexOf(']');
      if (close < 0) {
        throw new EndpointSyntaxException(text, "unclosed '[' in IPv6 literal");
      }
      host = rest.substring(1, close);
      String after = rest.substring(close + 1);
      if (!after.startsWith(":")) {
        throw new EndpointSyntaxException(text, "expected :PORT after the IPv6 literal");
      }
      portText = after.substring(1);
      if (host.isEmpty() || !host.contains(":") || !isIpLiteral(host) || host.contains("%")) {
        throw new EndpointSyntaxException(text, "not an IPv6 literal inside [ ]");
      }
    } else {
      int colon = rest.lastIndexOf(':');
      if (colon < 0) {
        throw new EndpointSyntaxException(text, "missing :PORT");
      }
      host = rest.substring(0, colon);
      portText = rest.substring(colon + 1);
      if (host.contains(":")) {
        throw new EndpointSyntaxException(text, "IPv6 literals must be written in [ ]");
      }
      if (host.isEmpty()) {
        throw new EndpointSyntaxException(text, "empty host");
      }
      if (!isHostName(host)) {
        throw new EndpointSyntaxException(text, "host is neither a DNS name nor an IPv4 address");
      }
      if (looksNumeric(host) && !isDottedQuad(host)) {
        throw new EndpointSyntaxException(text, "host is not a valid IPv4 address");
      }
    }
    long port = parseUnsigned(text, portText, "port", 65535);
    return new TcpEndpoint(host, (int) port);
  }

  private static long parseUnsigned(String text, String digits, String what, long max) {
    if (digits.isEmpty()) {
      throw new EndpointSyntaxException(text, "empty " + what);
    }
    if (digits.length() > 10) {
      throw new EndpointSyntaxException(text, what + " out of range 0.." + max);
    }
    for (int i = 0; i < digits.length(); i++) {
      char c = digits.charAt(i);
      if (c < '0' || c > '9') {
        throw new EndpointSyntaxException(text, what + " is not a decimal number");
      }
    }
    if (digits.length() > 1 && digits.charAt(0) == '0') {
      throw new EndpointSyntaxException(text, what + " has a leading zero");
    }
    long v = Long.parseLong(digits);
    if (v > max) {
      throw new EndpointSyntaxException(text, what + " out of range 0.." + max);
    }
    return v;
  }

  private static boolean isHostName(String host) {
    if (host.length() > 253) {
      return false;
    }
    String h = host.endsWith(".") ? host.substring(0, host.length() - 1) : host;
    if (h.isEmpty()) {
      return false;
    }
    for (String label : h.split("\\.", -1)) {
      if (label.isEmpty() || label.length() > 63) {
        return false;
      }
      if (label.charAt(0) == '-' || label.charAt(label.length() - 1) == '-') {
        return false;
      }
      for (int i = 0; i < label.length(); i++) {
        char c = label.charAt(i);
        boolean ok =
            (c >= 'a' && c <= 'z')
                || (c >= 'A' && c <= 'Z')
                || (c >= '0' && c <= '9')
                || c == '-'
                || c == '_';
        if (!ok) {
          return false;
        }
      }
    }
    return true;
  }

  private static boolean looksNumeric(String host) {
    for (int i = 0; i < host.length(); i++) {
      char c = host.charAt(i);
      if (!(c == '.' || (c >= '0' && c <= '9'))) {
        return false;
      }
    }
    return true;
  }

  private static boolean isDottedQuad(String host) {
    String[] parts = host.split("\\.", -1);
    if (parts.length != 4) {
      return false;
    }
    for (String p : parts) {
      if (p.isEmpty() || p.length() > 3 || (p.length() > 1 && p.charAt(0) == '0')) {
        return false;
      }
      if (Integer.parseInt(p) > 255) {
        return false;
      }
    }
    return true;
  }

  private static boolean isIpLiteral(String host) {
    try {
      InetAddress.ofLiteral(host);
      return true;
    } catch (IllegalArgumentException e) {
      return false;
    }
  }
}
