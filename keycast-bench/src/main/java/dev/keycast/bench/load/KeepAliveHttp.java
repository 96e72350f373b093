package dev.keycast.bench.load;

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
    return exchange(method, pathAndQuery, json, null);
  }

  /** One exchange with an optional {@code Authorization} header value (one line, no CR/LF). */
  HostClient.Answer exchange(String method, String pathAndQuery, byte[] json, String authorization)
      throws IOException {
    if (authorization != null
        && (authorization.indexOf('\r') >= 0 || authorization.indexOf('\n') >= 0)) {
      throw new IllegalArgumentException("an Authorization header is one line");
    }
    byte[] request = request(method, pathAndQuery, json, authorization);
    Conn c = idle.poll();
    boolean mayHaveArrived = false;
    if (c != null) {
      try {
        return c.exchange(request);
      } catch (StaleConnectionException e) {
        c.close();
        mayHaveArrived = true;
      }
    }
    try {
      c = new Conn();
    } catch (IOException e) {
      if (mayHaveArrived) {
        // not a plain "connection refused": the request went out on the pooled connection, which
        // broke without an answer (a server killed after it read it?); its outcome is unknown
        throw new IOException(
            "a pooled connection broke without an answer, and a new one failed (" + e + ")", e);
      }
      throw e;
    }
    try {
      return c.exchange(request);
    } catch (StaleConnectionException e) {
      c.close();
      throw new IOException("the server closed a new connection before answering", e);
    }
  }

  private byte[] request(String method, String pathAndQuery, byte[] json, String authorization) {
    StringBuilder b =
        new StringBuilder(160)
            .append(method)
            .append(' ')
            .append(pathAndQuery)
            .append(" HTTP/1.1\r\nHost: ")
            .append(hostHeader)
            .append("\r\n");
    if (authorization != null) {
      b.append("Authorization: ").append(authorization).append("\r\n");
    }
    if (json != null) {
      b.append("Content-Type: application/json\r\nContent-Length: ")
          .append(json.length)
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

    /** Read buffer: bytes {@code [pos, lim)} are read from the socket and not yet consumed. */
    private final byte[] buf = new byte[16 * 1024];

    private int pos;
    private int lim;

    Conn() throws IOException {
      socket = new Socket();
      socket.setTcpNoDelay(true);
      socket.connect(new InetSocketAddress(host, port), 10_000);
      socket.setSoTimeout(timeoutMillis);
      in = socket.getInputStream();
      out = socket.getOutputStream();
    }

    HostClient.Answer exchange(byte[] request) throws IOException {
      boolean reusable = false;
      try {
        try {
          out.write(request);
        } catch (IOException e) {
          throw new StaleConnectionException(e.toString());
        }
        if (pos == lim && fill() < 0) {
          throw new StaleConnectionException("connection closed");
        }
        int headEnd = readHead(); // index of the first body byte in buf
        Head h = parseHead(buf, pos, headEnd);
        pos = headEnd;
        if (h.length < 0 || h.length > maxBodyBytes) {
          throw new IOException("answer without a usable content-length: " + h.length);
        }
        byte[] body = new byte[(int) h.length];
        int have = Math.min(lim - pos, body.length);
        System.arraycopy(buf, pos, body, 0, have);
        pos += have;
        if (have < body.length) {
          int n = in.readNBytes(body, have, body.length - have);
          if (have + n != body.length) {
            throw new IOException(
                "answer ended after " + (have + n) + " of " + h.length + " bytes");
          }
        }
        reusable = !h.close;
        return new HostClient.Answer(h.status, body);
      } finally {
        if (reusable && !closed) {
          idle.add(this);
        } else if (!reusable) {
          close();
        }
      }
    }

    /** Reads until the buffer holds a whole head; returns the index just past its CRLFCRLF. */
    private int readHead() throws IOException {
      int scanned = 0; // bytes after pos already searched (fill() may move pos to 0)
      while (true) {
        for (int i = pos + Math.max(scanned, 3); i < lim; i++) {
          if (buf[i] == '\n' && buf[i - 1] == '\r' && buf[i - 2] == '\n' && buf[i - 3] == '\r') {
            return i + 1;
          }
        }
        scanned = lim - pos;
        if (lim - pos >= MAX_HEAD_BYTES) {
          throw new IOException("answer head exceeds " + MAX_HEAD_BYTES + " bytes");
        }
        if (fill() < 0) {
          throw new IOException("answer head cut short");
        }
      }
    }

    /** Reads more bytes into the buffer (compacting it first); -1 at end of stream. */
    private int fill() throws IOException {
      if (pos > 0) {
        System.arraycopy(buf, pos, buf, 0, lim - pos);
        lim -= pos;
        pos = 0;
      }
      if (lim == buf.length) {
        throw new IOException("answer head exceeds " + buf.length + " bytes");
      }
      int n = in.read(buf, lim, buf.length - lim);
      if (n > 0) {
        lim += n;
      }
      return n;
    }

    void close() {
      try {
        socket.close();
      } catch (IOException ignored) {
        // closing
      }
    }
  }

  /** What the tool needs of an answer head. */
  private record Head(int status, long length, boolean close) {}

  /**
   * Parses an HTTP/1.x answer head {@code b[from, to)} (ending with CRLFCRLF): the status, {@code
   * Content-Length} (-1 when absent) and whether the server closes the connection. Bytes, not
   * Strings: this runs once per request on the same cores as the system under test.
   */
  static Head parseHead(byte[] b, int from, int to) throws IOException {
    int lineEnd = indexOfCrlf(b, from, to);
    if (lineEnd - from < 12 || !startsWith(b, from, "HTTP/1.") || b[from + 8] != ' ') {
      throw new IOException(
          "not an HTTP/1.x answer: "
              + new String(b, from, Math.min(lineEnd - from, 80), StandardCharsets.ISO_8859_1));
    }
    int status = 0;
    for (int i = from + 9; i < from + 12; i++) {
      if (b[i] < '0' || b[i] > '9') {
        throw new IOException(
            "malformed status line: "
                + new String(b, from, Math.min(lineEnd - from, 80), StandardCharsets.ISO_8859_1));
      }
      status = status * 10 + (b[i] - '0');
    }
    boolean close = b[from + 7] == '0'; // HTTP/1.0
    long length = -1;
    for (int line = lineEnd + 2; line < to - 2; ) {
      int end = indexOfCrlf(b, line, to);
      int colon = line;
      while (colon < end && b[colon] != ':') {
        colon++;
      }
      if (colon < end) {
        int v = colon + 1;
        int ve = end;
        while (v < ve && (b[v] == ' ' || b[v] == '\t')) {
          v++;
        }
        while (ve > v && (b[ve - 1] == ' ' || b[ve - 1] == '\t')) {
          ve--;
        }
        if (nameIs(b, line, colon, "content-length")) {
          if (v == ve || ve - v > 18) {
            throw new IOException("malformed content-length");
          }
          length = 0;
          for (int i = v; i < ve; i++) {
            if (b[i] < '0' || b[i] > '9') {
              throw new IOException("malformed content-length");
            }
            length = length * 10 + (b[i] - '0');
          }
        } else if (nameIs(b, line, colon, "connection")) {
          close = nameIs(b, v, ve, "close");
        } else if (nameIs(b, line, colon, "transfer-encoding")) {
          throw new IOException(
              "transfer-encoding "
                  + new String(b, v, ve - v, StandardCharsets.ISO_8859_1)
                  + " is not supported");
        }
      }
      line = end + 2;
    }
    return new Head(status, length, close);
  }

  private static int indexOfCrlf(byte[] b, int from, int to) {
    for (int i = from; i + 1 < to; i++) {
      if (b[i] == '\r' && b[i + 1] == '\n') {
        return i;
      }
    }
    return to;
  }

  private static boolean startsWith(byte[] b, int from, String ascii) {
    for (int i = 0; i < ascii.length(); i++) {
      if (b[from + i] != ascii.charAt(i)) {
        return false;
      }
    }
    return true;
  }

  /** Case-insensitive ASCII comparison of {@code b[from, to)} with a lowercase name. */
  private static boolean nameIs(byte[] b, int from, int to, String lower) {
    if (to - from != lower.length()) {
      return false;
    }
    for (int i = 0; i < lower.length(); i++) {
      int c = b[from + i];
      if (c >= 'A' && c <= 'Z') {
        c += 'a' - 'A';
      }
      if (c != lower.charAt(i)) {
        return false;
      }
    }
    return true;
  }
}
