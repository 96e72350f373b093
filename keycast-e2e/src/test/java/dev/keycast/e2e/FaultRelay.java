package dev.keycast.e2e;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A TCP relay on 127.0.0.1 in front of an HTTP server (the S3 server of the tests), whose mode the
 * test switches while requests flow: {@link Mode#PASS} relays bytes both ways; {@link
 * Mode#HTTP_500} and {@link Mode#HTTP_503} answer each new connection's first request with that
 * status (an S3 error document, {@code Connection: close}) without reaching the server; {@link
 * Mode#STALL} accepts and reads but never answers; {@link Mode#CUT} resets each new connection. A
 * mode switch closes every open connection (relayed or stalled), so that a client's pooled
 * connections meet the new mode at once and a stalled request ends. Reusable by a fault campaign:
 * nothing in it knows Keycast.
 */
final class FaultRelay implements AutoCloseable {
  /** What the relay does with a connection. */
  enum Mode {
    PASS,
    HTTP_500,
    HTTP_503,
    STALL,
    CUT
  }

  /** Counters since the relay started. */
  record Counts(long relayed, long answered, long stalled, long cut, long bytesToServer) {}

  private static final int MAX_HEAD = 64 * 1024;

  private final InetSocketAddress target;
  private final ServerSocket server;
  private final AtomicReference<Mode> mode = new AtomicReference<>(Mode.PASS);
  private final Set<Socket> open = ConcurrentHashMap.newKeySet();
  private final ExecutorService threads = Executors.newVirtualThreadPerTaskExecutor();
  private final AtomicLong relayed = new AtomicLong();
  private final AtomicLong answered = new AtomicLong();
  private final AtomicLong stalled = new AtomicLong();
  private final AtomicLong cut = new AtomicLong();
  private final AtomicLong bytesToServer = new AtomicLong();

  private FaultRelay(InetSocketAddress target, ServerSocket server) {
    this.target = target;
    this.server = server;
  }

  /** A relay on a free port of 127.0.0.1 to {@code targetPort} of 127.0.0.1, in mode PASS. */
  static FaultRelay start(int targetPort) throws IOException {
    ServerSocket server = new ServerSocket(0, 200, InetAddress.getLoopbackAddress());
    FaultRelay r =
        new FaultRelay(new InetSocketAddress(InetAddress.getLoopbackAddress(), targetPort), server);
    r.threads.submit(r::acceptLoop);
    return r;
  }

  int port() {
    return server.getLocalPort();
  }

  Mode mode() {
    return mode.get();
  }

  /** Switches to {@code m} and closes every open connection. */
  void mode(Mode m) {
    mode.set(m);
    for (Socket s : open) {
      closeQuietly(s);
    }
  }

  Counts counts() {
    return new Counts(relayed.get(), answered.get(), stalled.get(), cut.get(), bytesToServer.get());
  }

  private void acceptLoop() {
    while (!server.isClosed()) {
      Socket client;
      try {
        client = server.accept();
      } catch (IOException e) {
        return; // closed
      }
      Mode m = mode.get();
      threads.submit(() -> serve(client, m));
    }
  }

  private void serve(Socket client, Mode m) {
    try {
      switch (m) {
        case PASS -> relay(client);
        case HTTP_500 -> answer(client, 500, "Internal Server Error", "InternalError");
        case HTTP_503 -> answer(client, 503, "Slow Down", "SlowDown");
        case STALL -> stall(client);
        case CUT -> {
          cut.incrementAndGet();
          client.setSoLinger(true, 0); // RST, not FIN
          client.close();
        }
      }
    } catch (IOException e) {
      closeQuietly(client);
    }
  }

  private void relay(Socket client) throws IOException {
    Socket upstream = new Socket();
    open.add(client);
    open.add(upstream);
    try {
      upstream.connect(target, 5000);
    } catch (IOException e) {
      forget(client, upstream);
      throw e;
    }
    if (mode.get() != Mode.PASS) { // switched while connecting: the new mode's close missed us
      forget(client, upstream);
      return;
    }
    relayed.incrementAndGet();
    java.util.concurrent.atomic.AtomicInteger ends =
        new java.util.concurrent.atomic.AtomicInteger();
    threads.submit(() -> pump(client, upstream, bytesToServer, ends));
    pump(upstream, client, new AtomicLong(), ends);
  }

  /** Copies until end of stream (then half-closes; both ends done: closes both) or an error. */
  private void pump(
      Socket from, Socket to, AtomicLong count, java.util.concurrent.atomic.AtomicInteger ends) {
    byte[] buf = new byte[16 * 1024];
    try {
      InputStream in = from.getInputStream();
      OutputStream out = to.getOutputStream();
      int n;
      while ((n = in.read(buf)) >= 0) {
        out.write(buf, 0, n);
        out.flush();
        count.addAndGet(n);
      }
      to.shutdownOutput();
    } catch (IOException e) {
      forget(from, to); // one side closed or reset: end both
      return;
    }
    if (ends.incrementAndGet() == 2) {
      forget(from, to);
    }
  }

  private void answer(Socket client, int status, String reason, String code) throws IOException {
    open.add(client);
    try {
      client.setSoTimeout(5000);
      readHead(client.getInputStream());
      byte[] body =
          ("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>"
                  + code
                  + "</Code><Message>injected by FaultRelay</Message></Error>")
              .getBytes(StandardCharsets.UTF_8);
      OutputStream out = client.getOutputStream();
      out.write(
          ("HTTP/1.1 "
                  + status
                  + " "
                  + reason
                  + "\r\nContent-Type: application/xml\r\nContent-Length: "
                  + body.length
                  + "\r\nConnection: close\r\n\r\n")
              .getBytes(StandardCharsets.US_ASCII));
      out.write(body);
      out.flush();
      answered.incrementAndGet();
      client.shutdownOutput();
      // drain what the client still sends (a request body) so that it reads the answer, not a reset
      client.getInputStream().transferTo(OutputStream.nullOutputStream());
    } catch (SocketException e) {
      // the client gave up first
    } finally {
      forget(client);
    }
  }

  private static void readHead(InputStream in) throws IOException {
    ByteArrayOutputStream head = new ByteArrayOutputStream();
    int matched = 0;
    byte[] end = {'\r', '\n', '\r', '\n'};
    while (matched < 4 && head.size() < MAX_HEAD) {
      int b = in.read();
      if (b < 0) {
        return;
      }
      head.write(b);
      matched = b == end[matched] ? matched + 1 : (b == '\r' ? 1 : 0);
    }
  }

  private void stall(Socket client) throws IOException {
    open.add(client);
    if (mode.get() != Mode.STALL) { // switched since the accept
      forget(client);
      return;
    }
    stalled.incrementAndGet();
    try (InputStream in = client.getInputStream()) {
      in.transferTo(OutputStream.nullOutputStream()); // until the client or a mode switch closes it
    } catch (IOException e) {
      // closed by the switch
    } finally {
      forget(client);
    }
  }

  private void forget(Socket... sockets) {
    for (Socket s : sockets) {
      open.remove(s);
      closeQuietly(s);
    }
  }

  private static void closeQuietly(Socket s) {
    try {
      s.close();
    } catch (IOException ignored) {
      // closing
    }
  }

  @Override
  public void close() {
    try {
      server.close();
    } catch (IOException ignored) {
      // closing
    }
    mode(Mode.CUT);
    threads.shutdownNow();
  }
}
