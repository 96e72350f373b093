package dev.keycast.bench.load;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * A small blocking HTTP/1.1 client over plain TCP for the load tool: a pool of keep-alive
 * connections, each used by one request at a time (a virtual thread blocks on it), answers read
 * by {@code Content-Length}. It exists because the JDK {@code HttpClient}'s asynchronous machinery
 * cost the tool more CPU per request than the host spent on a send, on the same 2 cores. A request
 * on a pooled connection that fails before any answer byte (the server closed an idle
 * connection) is repeated once on a new connection; every API call the tool makes is safe to
 * repeat (sends are idempotent by payload). Thread-safe.
 */
final class KeepAliveHttp implements AutoCloseable {
  private static final int MAX_HEAD_BYTES = 64 * 1024;

  private final String host;
  private final int port;
  private final String hostHeader;
  private final int timeoutMillis;
  private final int maxBodyBytes;
  private final ConcurrentLinkedQueue<Conn> idle = new ConcurrentLinkedQueue<>();
  private volatile boolean closed;

  KeepAliveHttp(String host, int port, Duration timeout, int maxBodyBytes) {
    this.host = host;
    this.port = port;
    this.hostHeader = host.contains(":") ? "[" + host + "]:" + port : host + ":" + port;
    this.timeoutMillis = (int) Math.min(Integer.MAX_VALUE, timeout.toMillis());
    this.maxBodyBytes = maxBodyBytes;
  }

  /** One exchange: {@code method} {@code pathAndQuery} with an optional JSON body. */
  HostClient.Answer exchange(String method, String pathAndQuery, byte[] json) throws IOException {
    byte[] request = request(method, pathAndQuery, json);
    Conn c = idle.poll();
    if (c != null) {
      try {
        return c.exchange(request);
      } catch (StaleConnectionException e) {
        c.close();
      }
    }
    c = new Conn();
    try {
      return c.exchange(request);
    } catch (StaleConnectionException e) {
      c.close();
      throw new IOException("the server closed a new connection before answering", e);
    }
  }

  private byte[] request(String method, String pathAndQuery, byte[] json) {
    StringBuilder b = new StringBuilder(160).append(method).append(' ').append(pathAndQuery)
        .append(" HTTP/1.1\r\nHost: ").append(hostHeader).append("\r\n");
    if (json != null) {
      b.append("Content-Type: application/json\r\nContent-Length: ").append(json.length)
          .append("\r\n");
    }
    byte[] head = b.append("\r\n").toString().getBytes(StandardCharsets.ISO_8859_1);
    if (json == null) {
      return head;
    }
    byte[] all = new byte[head.length + json.length];
    System.arraycopy(head, 0, all, 0, head.length);
    System.arraycopy(json, 0, all, head.length, json.length);
    return all;
  }

  @Override
  public void close() {
    closed = true;
    for (Conn c; (c = idle.poll()) != null; ) {
      c.close();
    }
  }

  /** No answer byte arrived on a connection that had been idle in the pool. */
  private static final class StaleConnectionException extends IOException {
    StaleConnectionException(String m) {
      super(m);
    }
  }

  private final class Conn {
    private final Socket socket;
    private final InputStream in;
    private final OutputStream out;

    Conn() throws IOException {
      socket = new Socket();
      socket.setTcpNoDelay(true);
      socket.connect(new InetSocketAddress(host, port), 10_000);
      socket.setSoTimeout(timeoutMillis);
      in = new BufferedInputStream(socket.getInputStream(), 16 * 1024);
      out = socket.getOutputStream();
    }

    HostClient.Answer exchange(byte[] request) throws IOException {
      boolean reusable = false;
      try {
        try {
          out.write(request);
          out.flush();
        } catch (IOException e) {
          throw new StaleConnectionException(e.toString());
        }
        int first = in.read();
        if (first < 0) {
          throw new StaleConnectionException("connection closed");
        }
        String head = readHead(first);
        int sp = head.indexOf(' ');
        if (!head.startsWith("HTTP/1.") || sp < 0 || head.length() < sp + 4) {
          throw new IOException("not an HTTP/1.x answer: " + head.lines().findFirst().orElse(""));
        }
        int status = Integer.parseInt(head.substring(sp + 1, sp + 4));
        long length = -1;
        boolean close = head.startsWith("HTTP/1.0");
        for (String line : head.split("\r\n")) {
          int colon = line.indexOf(':');
          if (colon < 0) {
            continue;
          }
          String name = line.substring(0, colon).trim();
          String value = line.substring(colon + 1).trim();
          if (name.equalsIgnoreCase("content-length")) {
            length = Long.parseLong(value);
          } else if (name.equalsIgnoreCase("connection")) {
            close = value.equalsIgnoreCase("close");
          } else if (name.equalsIgnoreCase("transfer-encoding")) {
            throw new IOException("transfer-encoding " + value + " is not supported");
          }
        }
        if (length < 0 || length > maxBodyBytes) {
          throw new IOException("answer without a usable content-length: " + length);
        }
        byte[] body = in.readNBytes((int) length);
        if (body.length != length) {
          throw new IOException("answer ended after " + body.length + " of " + length + " bytes");
        }
        reusable = !close;
        return new HostClient.Answer(status, body);
      } catch (NumberFormatException e) {
        throw new IOException("malformed answer head", e);
      } finally {
        if (reusable && !closed) {
          idle.add(this);
        } else if (!reusable) {
          close();
        }
      }
    }

    private String readHead(int first) throws IOException {
      ByteArrayOutputStream b = new ByteArrayOutputStream(256);
      b.write(first);
      int tail = first == '\r' ? 1 : 0;
      while (tail < 4) {
        int c = in.read();
        if (c < 0) {
          throw new IOException("answer head cut short");
        }
        b.write(c);
        if (b.size() > MAX_HEAD_BYTES) {
          throw new IOException("answer head exceeds " + MAX_HEAD_BYTES + " bytes");
        }
        tail = c == "\r\n\r\n".charAt(tail) ? tail + 1 : (c == '\r' ? 1 : 0);
      }
      return b.toString(StandardCharsets.ISO_8859_1);
    }

    void close() {
      try {
        socket.close();
      } catch (IOException ignored) {
        // closing
      }
    }
  }
}
