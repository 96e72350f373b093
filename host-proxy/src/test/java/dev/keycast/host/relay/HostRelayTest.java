package dev.keycast.host.relay;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keycast.transport.Endpoint;
import dev.keycast.transport.TcpEndpoint;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * The host proxy's raw relay, TCP in front of an HTTP backend on a Unix socket: bytes pass both
 * ways unchanged (keep-alive HTTP), a half-close reaches the backend and its answer still comes
 * back, a slow reader holds the relay to one read buffer (back-pressure), and connections beyond
 * the limit are closed at once.
 */
class HostRelayTest {
  @TempDir Path dir;

  private final ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor();
  private ServerSocketChannel backend;
  private HostRelay relay;

  @AfterEach
  void tearDown() throws Exception {
    if (relay != null) {
      relay.close();
    }
    if (backend != null) {
      backend.close();
    }
    pool.shutdownNow();
  }

  /** What one backend connection does with its streams. */
  private interface Conversation {
    void run(InputStream in, OutputStream out) throws IOException, InterruptedException;
  }

  private Path startBackend(Conversation conversation) throws IOException {
    Path sock = dir.resolve("backend.sock");
    backend = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
    // a Unix socket refuses connects at once when its backlog is full (TCP would retry): room
    // for every relayed connection of a test
    backend.bind(UnixDomainSocketAddress.of(sock), 1024);
    pool.submit(
        () -> {
          while (true) {
            SocketChannel ch = backend.accept();
            pool.submit(
                () -> {
                  try (ch) {
                    conversation.run(Channels.newInputStream(ch), Channels.newOutputStream(ch));
                  }
                  return null;
                });
          }
        });
    return sock;
  }

  private TcpEndpoint startRelay(Path sock, int maxConnections) throws Exception {
    relay =
        new HostRelay(
            new HostRelay.Config(
                Endpoint.parse("tcp://127.0.0.1:0"),
                Endpoint.parse("unix:" + sock),
                2,
                maxConnections,
                Duration.ofSeconds(5),
                Duration.ofSeconds(30)));
    return (TcpEndpoint) relay.start();
  }

  /** Reads one HTTP/1.1 request head (no body); null at end of input. */
  private static String readHead(InputStream in) throws IOException {
    ByteArrayOutputStream b = new ByteArrayOutputStream();
    int matched = 0;
    while (matched < 4) {
      int c = in.read();
      if (c < 0) {
        return b.size() == 0 ? null : b.toString(StandardCharsets.US_ASCII);
      }
      b.write(c);
      matched = (c == "\r\n\r\n".charAt(matched)) ? matched + 1 : (c == '\r' ? 1 : 0);
    }
    return b.toString(StandardCharsets.US_ASCII);
  }

  /** A keep-alive HTTP server: answers each request with its request line as the body. */
  private static final Conversation HTTP =
      (in, out) -> {
        for (String head; (head = readHead(in)) != null; ) {
          String line = head.substring(0, head.indexOf('\r'));
          byte[] body = ("you asked: " + line).getBytes(StandardCharsets.US_ASCII);
          out.write(
              ("HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: "
                      + body.length
                      + "\r\n\r\n")
                  .getBytes(StandardCharsets.US_ASCII));
          out.write(body);
          out.flush();
        }
      };

  private static String readAnswer(InputStream in) throws IOException {
    String head = readHead(in);
    assertThat(head).startsWith("HTTP/1.1 200 OK\r\n");
    int i = head.indexOf("content-length: ") + "content-length: ".length();
    int len = Integer.parseInt(head.substring(i, head.indexOf('\r', i)));
    return new String(in.readNBytes(len), StandardCharsets.US_ASCII);
  }

  @Test
  void keepAliveHttpPassesUnchangedBothWays() throws Exception {
    TcpEndpoint at = startRelay(startBackend(HTTP), 16);
    long up = 0;
    try (Socket s = new Socket(at.host(), at.port())) {
      s.setSoTimeout(10_000);
      OutputStream out = s.getOutputStream();
      for (int i = 0; i < 200; i++) {
        byte[] req =
            ("GET /v1/health?i=" + i + " HTTP/1.1\r\nhost: x\r\n\r\n")
                .getBytes(StandardCharsets.US_ASCII);
        up += req.length;
        out.write(req);
        out.flush();
        assertThat(readAnswer(s.getInputStream()))
            .isEqualTo("you asked: GET /v1/health?i=" + i + " HTTP/1.1");
      }
    }
    long sent = up;
    awaitTrue(() -> relay.stats().bytesUpstream() == sent);
    assertThat(relay.stats().accepted()).isEqualTo(1);
    awaitTrue(() -> relay.stats().active() == 0);
  }

  @Test
  void aHalfCloseReachesTheBackendAndTheAnswerStillComesBack() throws Exception {
    AtomicReference<String> seen = new AtomicReference<>();
    TcpEndpoint at =
        startRelay(
            startBackend(
                (in, out) -> {
                  // like an HTTP/1.0 server that reads to the end of the request before answering
                  String all = new String(in.readAllBytes(), StandardCharsets.US_ASCII);
                  seen.set(all);
                  out.write(
                      ("HTTP/1.0 200 OK\r\n\r\nread " + all.length() + " bytes")
                          .getBytes(StandardCharsets.US_ASCII));
                  out.flush();
                }),
            16);
    try (Socket s = new Socket(at.host(), at.port())) {
      s.setSoTimeout(10_000);
      String req = "POST /v1/x HTTP/1.0\r\ncontent-length: 5\r\n\r\nhello";
      s.getOutputStream().write(req.getBytes(StandardCharsets.US_ASCII));
      s.shutdownOutput();
      String answer = new String(s.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
      assertThat(answer).isEqualTo("HTTP/1.0 200 OK\r\n\r\nread " + req.length() + " bytes");
      assertThat(seen.get()).isEqualTo(req);
    }
  }

  @Test
  void aSlowReaderHoldsTheRelayToOneBufferPerDirection() throws Exception {
    int size = 32 << 20;
    byte[] expected = new byte[size];
    new Random(7).nextBytes(expected);
    CountDownLatch clientDone = new CountDownLatch(1);
    TcpEndpoint at =
        startRelay(
            startBackend(
                (in, out) -> {
                  readHead(in);
                  out.write(
                      ("HTTP/1.1 200 OK\r\ncontent-length: " + size + "\r\n\r\n")
                          .getBytes(StandardCharsets.US_ASCII));
                  for (int off = 0; off < size; off += 1 << 20) {
                    out.write(expected, off, 1 << 20);
                  }
                  out.flush();
                  // keep the connection open (keep-alive): an end of input would let Netty's epoll
                  // transport
                  // drain the socket's kernel buffer in one go, which is not the relay's reading
                  clientDone.await(30, TimeUnit.SECONDS);
                }),
            16);
    try (Socket s = new Socket(at.host(), at.port())) {
      s.setReceiveBufferSize(16 * 1024);
      s.setSoTimeout(30_000);
      s.getOutputStream().write("GET /big HTTP/1.1\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
      InputStream in = s.getInputStream();
      readHead(in);
      // a stalled reader (deliberate pacing, not a wait for a condition): the backend runs far
      // ahead and the relay must not buffer its output
      Thread.sleep(500);
      long heldWhileStalled = relay.stats().pendingBytes();
      MessageDigest got = MessageDigest.getInstance("SHA-256");
      byte[] buf = new byte[8192];
      long read = 0;
      while (read < size) {
        int n = in.read(buf, 0, (int) Math.min(buf.length, size - read));
        assertThat(n).isPositive();
        got.update(buf, 0, n);
        read += n;
        if (read % (4 << 20) < n) {
          Thread.sleep(20); // a deliberately slow reader (the test's subject), not a wait
        }
      }
      assertThat(got.digest()).isEqualTo(MessageDigest.getInstance("SHA-256").digest(expected));
      clientDone.countDown();
      assertThat(heldWhileStalled).isLessThanOrEqualTo(2L * 64 * 1024);
      assertThat(relay.stats().maxPendingBytes()).isLessThanOrEqualTo(2L * 64 * 1024);
    }
  }

  @Test
  void connectionsBeyondTheLimitAreClosedAtOnce() throws Exception {
    TcpEndpoint at = startRelay(startBackend(HTTP), 2);
    try (Socket a = new Socket(at.host(), at.port());
        Socket b = new Socket(at.host(), at.port())) {
      for (Socket s : new Socket[] {a, b}) {
        s.setSoTimeout(10_000);
        s.getOutputStream().write("GET /a HTTP/1.1\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
        assertThat(readAnswer(s.getInputStream())).isEqualTo("you asked: GET /a HTTP/1.1");
      }
      try (Socket c = new Socket(at.host(), at.port())) {
        c.setSoTimeout(10_000);
        c.getOutputStream().write("GET /c HTTP/1.1\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
        int first;
        try {
          first = c.getInputStream().read();
        } catch (java.net.SocketException reset) {
          first = -1;
        }
        assertThat(first).isEqualTo(-1);
      }
      assertThat(relay.stats().rejected()).isEqualTo(1);
      // the admitted connections still work
      a.getOutputStream().write("GET /again HTTP/1.1\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
      assertThat(readAnswer(a.getInputStream())).isEqualTo("you asked: GET /again HTTP/1.1");
    }
  }

  @Test
  void manyConcurrentKeepAliveClients() throws Exception {
    TcpEndpoint at = startRelay(startBackend(HTTP), 128);
    AtomicInteger ok = new AtomicInteger();
    AtomicReference<Throwable> failure = new AtomicReference<>();
    CountDownLatch done = new CountDownLatch(64);
    for (int c = 0; c < 64; c++) {
      int client = c;
      pool.submit(
          () -> {
            try (Socket s = new Socket(at.host(), at.port())) {
              s.setSoTimeout(10_000);
              for (int i = 0; i < 50; i++) {
                s.getOutputStream()
                    .write(
                        ("GET /c" + client + "/" + i + " HTTP/1.1\r\n\r\n")
                            .getBytes(StandardCharsets.US_ASCII));
                if (readAnswer(s.getInputStream())
                    .equals("you asked: GET /c" + client + "/" + i + " HTTP/1.1")) {
                  ok.incrementAndGet();
                }
              }
            } catch (IOException | RuntimeException e) {
              failure.compareAndSet(null, e);
            } finally {
              done.countDown();
            }
            return null;
          });
    }
    assertThat(done.await(60, TimeUnit.SECONDS)).isTrue();
    assertThat(failure.get()).isNull();
    assertThat(ok.get()).isEqualTo(64 * 50);
  }

  @Test
  void commandLineOptions() {
    RelayMain m = new RelayMain();
    new CommandLine(m)
        .parseArgs(
            "--listen",
            "tcp://127.0.0.1:9002",
            "--to",
            "unix:/run/b.sock",
            "--max-connections",
            "10",
            "--threads",
            "1");
    HostRelay.Config c = m.config();
    assertThat(c.listen()).isEqualTo(Endpoint.parse("tcp://127.0.0.1:9002"));
    assertThat(c.target()).isEqualTo(Endpoint.parse("unix:/run/b.sock"));
    assertThat(c.maxConnections()).isEqualTo(10);
    assertThat(c.threads()).isEqualTo(1);
    RelayMain bad = new RelayMain();
    new CommandLine(bad)
        .parseArgs("--listen", "tcp://127.0.0.1:9002", "--to", "unix:/x", "--max-connections", "0");
    assertThatThrownBy(bad::config)
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("--max-connections");
    assertThat(new CommandLine(new RelayMain()).execute("--listen", "tcp://127.0.0.1:1"))
        .isEqualTo(2); // --to is required
  }

  private static void awaitTrue(java.util.function.BooleanSupplier cond) {
    org.awaitility.Awaitility.await()
        .atMost(java.time.Duration.ofSeconds(10))
        .pollInterval(java.time.Duration.ofMillis(10))
        .until(cond::getAsBoolean);
  }
}
