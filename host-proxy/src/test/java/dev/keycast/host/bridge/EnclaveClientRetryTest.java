package dev.keycast.host.bridge;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keycast.protocol.api.ErrorCode;
import dev.keycast.transport.TcpEndpoint;
import dev.keycast.transport.Transports;
import io.netty.channel.EventLoopGroup;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntPredicate;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The one retry of {@link EnclaveClient}: a request whose reused keep-alive connection closes
 * before any answer is sent again once on a fresh connection; the decision is by
 * {@link EnclaveException.Failure}, not by the exception's message.
 */
class EnclaveClientRetryTest {
  private ServerSocket server;
  private EventLoopGroup group;
  private EnclaveClient client;
  private final AtomicInteger connections = new AtomicInteger();
  private final AtomicInteger requests = new AtomicInteger();

  /**
   * A server that answers each request with {@code {}} and keep-alive, except that it closes the
   * connection unanswered at the request numbered (1-based, on that connection) as {@code closeAt}
   * tells for the connection's number.
   */
  private void start(IntPredicate closeFirstRequestOfConnection, int closeAtRequestOnFirst)
      throws IOException {
    server = new ServerSocket(0, 16, InetAddress.getLoopbackAddress());
    Thread.ofVirtual()
        .start(
            () -> {
              while (!server.isClosed()) {
                Socket s;
                try {
                  s = server.accept();
                } catch (IOException e) {
                  return;
                }
                int n = connections.incrementAndGet();
                Thread.ofVirtual()
                    .start(() -> serve(s, n, closeFirstRequestOfConnection, closeAtRequestOnFirst));
              }
            });
    group = Transports.newEventLoopGroup(1);
    client =
        new EnclaveClient(
            EnclaveClient.Settings.defaults(new TcpEndpoint("127.0.0.1", server.getLocalPort()))
                .withMaxConnections(1),
            group);
  }

  private void serve(Socket s, int connection, IntPredicate closeFirst, int closeAtOnFirst) {
    try (s;
        InputStream in = s.getInputStream();
        OutputStream out = s.getOutputStream()) {
      for (int onThis = 1; readHead(in); onThis++) {
        requests.incrementAndGet();
        if ((onThis == 1 && closeFirst.test(connection))
            || (connection == 1 && onThis == closeAtOnFirst)) {
          return; // closed unanswered
        }
        out.write(
            ("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n"
                    + "Connection: keep-alive\r\n\r\n{}")
                .getBytes(StandardCharsets.US_ASCII));
        out.flush();
      }
    } catch (IOException e) {
      // the client went away
    }
  }

  /** Reads one request head (the requests here have no body); false at the end of the stream. */
  private static boolean readHead(InputStream in) throws IOException {
    int matched = 0;
    byte[] end = "\r\n\r\n".getBytes(StandardCharsets.US_ASCII);
    for (int c; (c = in.read()) >= 0; ) {
      matched = c == end[matched] ? matched + 1 : (c == '\r' ? 1 : 0);
      if (matched == end.length) {
        return true;
      }
    }
    return false;
  }

  @AfterEach
  void stop() throws IOException {
    if (client != null) {
      client.close();
      group.shutdownGracefully();
      server.close();
    }
  }

  @Test
  void aStaleKeepAliveConnectionIsRetriedOnceOnAFreshOne() throws Exception {
    start(connection -> false, 2);
    assertThat(client.get("/v1/health").status()).isEqualTo(200);
    // the second request goes out on the kept-alive connection, which closes unanswered
    assertThat(client.get("/v1/health").status()).isEqualTo(200);
    assertThat(connections.get()).isEqualTo(2);
    assertThat(requests.get()).isEqualTo(3);
  }

  @Test
  void aFreshConnectionClosedBeforeTheAnswerIsNotRetried() throws Exception {
    start(connection -> true, 0);
    assertThatThrownBy(() -> client.get("/v1/health"))
        .isInstanceOfSatisfying(
            EnclaveException.class,
            e -> {
              assertThat(e.code()).isEqualTo(ErrorCode.ENCLAVE_UNAVAILABLE);
              assertThat(e.failure()).isEqualTo(EnclaveException.Failure.CLOSED_BEFORE_ANSWER);
            });
    assertThat(connections.get()).isEqualTo(1);
    assertThat(requests.get()).isEqualTo(1);
  }

  @Test
  void theRetryDecisionIsTheFailureTypeNotTheMessage() {
    EnclaveException lookalike = EnclaveException.unavailable("the enclave closed the connection");
    assertThat(lookalike.failure()).isEqualTo(EnclaveException.Failure.UNREACHABLE);
    assertThat(EnclaveException.closedBeforeAnswer("any words").failure())
        .isEqualTo(EnclaveException.Failure.CLOSED_BEFORE_ANSWER);
    assertThat(new EnclaveException(ErrorCode.INVALID_POLICY, 422, "no").failure())
        .isEqualTo(EnclaveException.Failure.ANSWERED_OR_REFUSED);
  }
}
