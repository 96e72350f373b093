package dev.keycast.host.bridge;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.keycast.transport.TcpEndpoint;
import dev.keycast.transport.Transports;
import io.netty.channel.EventLoopGroup;
import io.netty.handler.codec.http.HttpMethod;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Random;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** {@link EnclaveClient#stream}: a request body written while it is produced. */
class EnclaveClientStreamTest {
  private HttpServer server;
  private EventLoopGroup group;
  private EnclaveClient client;
  private final AtomicReference<String> transferEncoding = new AtomicReference<>();

  /** A writer's own checked failure. */
  static final class WriterFailed extends Exception {
    WriterFailed() {
      super("the store failed");
    }
  }

  @BeforeEach
  void start() throws IOException {
    server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 16);
    server.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
    // answers the SHA-256 and length of the body it read
    server.createContext(
        "/digest",
        ex -> {
          transferEncoding.set(ex.getRequestHeaders().getFirst("Transfer-Encoding"));
          MessageDigest md;
          try {
            md = MessageDigest.getInstance("SHA-256");
          } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
          }
          long n = 0;
          try (InputStream in = ex.getRequestBody()) {
            byte[] buf = new byte[8192];
            for (int r; (r = in.read(buf)) > 0; ) {
              md.update(buf, 0, r);
              n += r;
            }
          }
          answer(
              ex,
              200,
              "{\"bytes\":" + n + ",\"sha\":\"" + HexFormat.of().formatHex(md.digest()) + "\"}");
        });
    // answers at once, as the enclave does for an early error, then reads the rest of the body
    server.createContext(
        "/early",
        ex -> {
          byte[] body =
              "{\"error\":\"invalid_recipient\",\"message\":\"candidate 0\"}"
                  .getBytes(StandardCharsets.UTF_8);
          ex.getResponseHeaders().set("Content-Type", "application/json");
          ex.sendResponseHeaders(422, body.length);
          OutputStream out = ex.getResponseBody();
          out.write(body);
          out.flush();
          try (InputStream in = ex.getRequestBody()) {
            in.transferTo(OutputStream.nullOutputStream());
          } catch (IOException ignored) {
            // the client abandoned the body
          }
          ex.close();
        });
    server.start();
    group = Transports.newEventLoopGroup(1);
    client =
        new EnclaveClient(
            EnclaveClient.Settings.defaults(
                    new TcpEndpoint("127.0.0.1", server.getAddress().getPort()))
                .withMaxConnections(1),
            group);
  }

  private static void answer(HttpExchange ex, int status, String json) throws IOException {
    byte[] b = json.getBytes(StandardCharsets.UTF_8);
    ex.getResponseHeaders().set("Content-Type", "application/json");
    ex.sendResponseHeaders(status, b.length);
    try (OutputStream out = ex.getResponseBody()) {
      out.write(b);
    }
  }

  @AfterEach
  void stop() {
    client.close();
    group.shutdownGracefully();
    server.stop(0);
  }

  private String digestCall(byte[] body) throws Exception {
    EnclaveResponse r = client.stream(HttpMethod.POST, "/digest", 1 << 30, out -> out.write(body));
    assertThat(r.status()).isEqualTo(200);
    return new String(r.body(), StandardCharsets.UTF_8);
  }

  @Test
  void aBodyManyTimesTheWindowArrivesWholeAndInOrder() throws Exception {
    byte[] body = new byte[5 * EnclaveClient.BODY_WINDOW + 12_345];
    new Random(7).nextBytes(body);
    EnclaveResponse r =
        client.stream(
            HttpMethod.POST,
            "/digest",
            body.length,
            out -> {
              // odd-sized writes, single bytes included
              int i = 0;
              for (int step = 1; i < body.length; step = step * 3 % 70_001 + 1) {
                int n = Math.min(step, body.length - i);
                if (n == 1) {
                  out.write(body[i]);
                } else {
                  out.write(body, i, n);
                }
                i += n;
              }
            });
    assertThat(r.status()).isEqualTo(200);
    assertThat(new String(r.body(), StandardCharsets.UTF_8))
        .isEqualTo(
            "{\"bytes\":"
                + body.length
                + ",\"sha\":\""
                + HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(body))
                + "\"}");
    assertThat(transferEncoding.get()).isEqualTo("chunked");
    // the connection is kept and serves the next request
    assertThat(digestCall(new byte[] {1, 2, 3})).startsWith("{\"bytes\":3,");
    assertThat(client.transportErrorCount()).isZero();
  }

  /**
   * The piece being filled starts at 4 KiB and grows to 64 KiB: bodies around each size arrive
   * whole, and one of at most 64 KiB still goes as one request with a Content-Length.
   */
  @ParameterizedTest
  @ValueSource(ints = {0, 1, 4095, 4096, 4097, 8193, 40_000, 65_535, 65_536, 65_537, 131_073})
  void bodiesAroundThePieceSizesArriveWhole(int size) throws Exception {
    byte[] body = new byte[size];
    new Random(size).nextBytes(body);
    EnclaveResponse r =
        client.stream(
            HttpMethod.POST,
            "/digest",
            body.length,
            out -> {
              int half = size / 2;
              for (int i = 0; i < half; i++) {
                out.write(body[i]); // single bytes through the first growths
              }
              out.write(body, half, size - half);
            });
    assertThat(r.status()).isEqualTo(200);
    assertThat(new String(r.body(), StandardCharsets.UTF_8))
        .isEqualTo(
            "{\"bytes\":"
                + size
                + ",\"sha\":\""
                + HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(body))
                + "\"}");
    assertThat(transferEncoding.get()).isEqualTo(size <= 65_536 ? null : "chunked");
  }

  @Test
  void aBodyOverItsLimitAbandonsTheRequest() throws Exception {
    AtomicLong written = new AtomicLong();
    assertThatThrownBy(
            () ->
                client.stream(
                    HttpMethod.POST,
                    "/digest",
                    100_000,
                    out -> {
                      byte[] piece = new byte[1000];
                      for (int i = 0; i < 1000; i++) {
                        out.write(piece);
                        written.addAndGet(piece.length);
                      }
                    }))
        .isInstanceOf(EnclaveClient.BodyTooLargeException.class)
        .hasMessageContaining("100000");
    assertThat(written.get()).isEqualTo(100_000); // the write that crossed the limit failed
    assertThat(digestCall(new byte[] {4, 5})).startsWith("{\"bytes\":2,");
  }

  @Test
  void aWriterFailureIsRethrownAndTheRequestAbandoned() throws Exception {
    assertThatThrownBy(
            () ->
                client.stream(
                    HttpMethod.POST,
                    "/digest",
                    1 << 30,
                    out -> {
                      out.write(new byte[300_000]);
                      throw new WriterFailed();
                    }))
        .isInstanceOf(WriterFailed.class);
    assertThatThrownBy(
            () ->
                client.stream(
                    HttpMethod.POST,
                    "/digest",
                    1 << 30,
                    out -> {
                      throw new IllegalStateException("a bug");
                    }))
        .isInstanceOf(IllegalStateException.class);
    assertThat(digestCall(new byte[] {6})).startsWith("{\"bytes\":1,");
  }

  @Test
  void anEarlyAnswerStopsTheWriterAndIsReturned() throws Exception {
    AtomicLong written = new AtomicLong();
    long limit = 256L << 20;
    EnclaveResponse r =
        client.stream(
            HttpMethod.POST,
            "/early",
            limit,
            out -> {
              byte[] piece = new byte[64 * 1024];
              while (true) { // only the client can stop this writer
                out.write(piece);
                written.addAndGet(piece.length);
              }
            });
    assertThat(r.status()).isEqualTo(422);
    assertThat(r.toException().code().code()).isEqualTo("invalid_recipient");
    assertThat(written.get()).isLessThan(limit);
    // the abandoned connection is not reused; a new one serves the next request
    assertThat(digestCall(new byte[] {7, 8, 9})).startsWith("{\"bytes\":3,");
  }
}
