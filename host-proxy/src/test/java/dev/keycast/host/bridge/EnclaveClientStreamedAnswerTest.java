package dev.keycast.host.bridge;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keycast.protocol.Base64Url;
import dev.keycast.protocol.api.EnclaveApi;
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
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Streamed ({@code Transfer-Encoding: chunked}) enclave answers (api.md section 1, "Streamed
 * answers"): a whole one is the answer; one whose request failed after part of it was sent is the
 * error its trailers carry, never a 200; one cut off by a close is {@code enclave_unavailable} and
 * is not retried, even on a reused keep-alive connection (the request was taken, and part of its
 * answer came).
 */
class EnclaveClientStreamedAnswerTest {
  private static final String PARTIAL =
      "{\"send_id\":\"00\",\"deliveries\":[{\"delivery_id\":\"a\"},";
  private ServerSocket server;
  private EventLoopGroup group;
  private EnclaveClient client;
  private final AtomicInteger requests = new AtomicInteger();

  /** How the fake enclave ends the streamed answer of its second request on a connection. */
  enum Ending {
    WHOLE,
    ERROR_TRAILERS,
    CUT_OFF,
    BAD_TRAILERS
  }

  private void start(Ending ending) throws IOException {
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
                Thread.ofVirtual().start(() -> serve(s, ending));
              }
            });
    group = Transports.newEventLoopGroup(1);
    client =
        new EnclaveClient(
            EnclaveClient.Settings.defaults(new TcpEndpoint("127.0.0.1", server.getLocalPort()))
                .withMaxConnections(1),
            group);
  }

  /** The first request on a connection gets a small whole answer; the next a streamed one. */
  private void serve(Socket s, Ending ending) {
    try (s;
        InputStream in = s.getInputStream();
        OutputStream out = s.getOutputStream()) {
      for (int onThis = 1; readHead(in); onThis++) {
        requests.incrementAndGet();
        if (onThis == 1) {
          out.write(
              ("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n"
                      + "Connection: keep-alive\r\n\r\n{}")
                  .getBytes(StandardCharsets.US_ASCII));
          out.flush();
          continue;
        }
        out.write(
            ("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
                    + "Connection: keep-alive\r\n\r\n")
                .getBytes(StandardCharsets.US_ASCII));
        out.write(chunk(PARTIAL));
        out.flush();
        switch (ending) {
          case WHOLE ->
              out.write(
                  (new String(chunk("{\"delivery_id\":\"b\"}]}"), StandardCharsets.US_ASCII)
                          + "0\r\n\r\n")
                      .getBytes(StandardCharsets.US_ASCII));
          case ERROR_TRAILERS ->
              out.write(
                  ("0\r\n"
                          + EnclaveApi.ANSWER_ERROR_STATUS_TRAILER
                          + ": 422\r\n"
                          + EnclaveApi.ANSWER_ERROR_TRAILER
                          + ": "
                          + Base64Url.encode(
                              "{\"error\":\"too_many_recipients\",\"message\":\"more than 1\"}"
                                  .getBytes(StandardCharsets.UTF_8))
                          + "\r\n\r\n")
                      .getBytes(StandardCharsets.US_ASCII));
          case BAD_TRAILERS ->
              out.write(
                  ("0\r\n"
                          + EnclaveApi.ANSWER_ERROR_STATUS_TRAILER
                          + ": 200\r\n"
                          + EnclaveApi.ANSWER_ERROR_TRAILER
                          + ": e30\r\n\r\n")
                      .getBytes(StandardCharsets.US_ASCII));
          case CUT_OFF -> {
            return; // closed without the last chunk
          }
        }
        out.flush();
      }
    } catch (IOException e) {
      // the client went away
    }
  }

  /** Reads one request head (a body, if any, is left unread); false at the end of the stream. */
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

  private static byte[] chunk(String text) {
    byte[] b = text.getBytes(StandardCharsets.UTF_8);
    return (Integer.toHexString(b.length) + "\r\n" + text + "\r\n")
        .getBytes(StandardCharsets.UTF_8);
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
  void aWholeStreamedAnswerIsTheAnswer() throws Exception {
    start(Ending.WHOLE);
    assertThat(client.get("/v1/health").status()).isEqualTo(200);
    EnclaveResponse r =
        client.call(io.netty.handler.codec.http.HttpMethod.POST, "/v1/send", new byte[] {'{', '}'});
    assertThat(r.status()).isEqualTo(200);
    assertThat(new String(r.body(), StandardCharsets.UTF_8))
        .isEqualTo(PARTIAL + "{\"delivery_id\":\"b\"}]}");
  }

  @Test
  void aStreamedAnswerEndedByErrorTrailersIsThatErrorAndNeverItsPartialBody() throws Exception {
    start(Ending.ERROR_TRAILERS);
    client.get("/v1/health");
    EnclaveResponse r =
        client.call(io.netty.handler.codec.http.HttpMethod.POST, "/v1/send", new byte[] {'{', '}'});
    assertThat(r.status()).isEqualTo(422);
    assertThat(new String(r.body(), StandardCharsets.UTF_8))
        .isEqualTo("{\"error\":\"too_many_recipients\",\"message\":\"more than 1\"}")
        .doesNotContain("delivery_id");
    assertThatThrownBy(() -> r.decode(Object.class, 1 << 20))
        .isInstanceOfSatisfying(
            EnclaveException.class,
            e -> assertThat(e.code()).isEqualTo(ErrorCode.TOO_MANY_RECIPIENTS));
  }

  @Test
  void errorTrailersThatDoNotReadAreNoAnswer() throws Exception {
    start(Ending.BAD_TRAILERS);
    client.get("/v1/health");
    assertThatThrownBy(
            () ->
                client.call(
                    io.netty.handler.codec.http.HttpMethod.POST, "/v1/send", new byte[] {'{', '}'}))
        .isInstanceOfSatisfying(
            EnclaveException.class,
            e -> assertThat(e.code()).isEqualTo(ErrorCode.ENCLAVE_UNAVAILABLE));
  }

  @Test
  void aStreamedAnswerCutOffIsUnavailableAndNotRetriedOnAReusedConnection() throws Exception {
    start(Ending.CUT_OFF);
    client.get("/v1/health");
    // the send goes out on the kept-alive connection; its answer starts, then the connection closes
    assertThatThrownBy(
            () ->
                client.call(
                    io.netty.handler.codec.http.HttpMethod.POST, "/v1/send", new byte[] {'{', '}'}))
        .isInstanceOfSatisfying(
            EnclaveException.class,
            e -> {
              assertThat(e.code()).isEqualTo(ErrorCode.ENCLAVE_UNAVAILABLE);
              assertThat(e.failure()).isEqualTo(EnclaveException.Failure.UNREACHABLE);
            });
    assertThat(requests.get()).isEqualTo(2); // health, then the send once: no retry
  }
}
