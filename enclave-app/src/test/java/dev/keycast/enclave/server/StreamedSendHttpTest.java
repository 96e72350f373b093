package dev.keycast.enclave.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keycast.mock.nitro.MockAttester;
import dev.keycast.protocol.Json;
import dev.keycast.protocol.hpke.X25519PrivateKey;
import dev.keycast.protocol.keyset.KeyBundle;
import dev.keycast.transport.Endpoint;
import dev.keycast.transport.TcpEndpoint;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.security.SecureRandom;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** {@code POST /v1/send} over a socket with its body arriving piece by piece, and the body pipe's bounds. */
@Timeout(120)
class StreamedSendHttpTest {

  static String body(KeyBundle bundle, List<X25519PrivateKey> rs, String candidatesTail)
      throws Exception {
    byte[] policy =
        TestKit.policy(
                "s",
                rs.stream().map(k -> k.publicKey().fingerprint()).toList(),
                List.of(),
                Map.of(),
                false,
                10)
            .toJson();
    String payload =
        new String(
            Json.encode(TestKit.payload(bundle, policy, new byte[] {1, 2, 3})),
            StandardCharsets.UTF_8);
    String cs =
        new String(
            Json.encode(rs.stream().map(TestKit::candidate).toList()), StandardCharsets.UTF_8);
    return "{\"payload\":"
        + payload
        + ",\"candidates\":"
        + cs.substring(0, cs.length() - 1)
        + candidatesTail;
  }

  /** Sends {@code body} chunked, in pieces of 7 bytes with pauses, then a health check; returns all read. */
  static String exchange(int port, String body) throws Exception {
    try (Socket s = new Socket("127.0.0.1", port)) {
      s.setSoTimeout(30_000);
      OutputStream out = s.getOutputStream();
      out.write(
          ("POST /v1/send HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  + "Transfer-Encoding: chunked\r\n\r\n")
              .getBytes(StandardCharsets.US_ASCII));
      byte[] b = body.getBytes(StandardCharsets.UTF_8);
      for (int i = 0; i < b.length; i += 7) {
        int n = Math.min(7, b.length - i);
        out.write((Integer.toHexString(n) + "\r\n").getBytes(StandardCharsets.US_ASCII));
        out.write(b, i, n);
        out.write("\r\n".getBytes(StandardCharsets.US_ASCII));
        if (i % 700 == 0) {
          out.flush();
          Thread.sleep(
              1); // deliberate pacing (the body must reach the server in many reads), not a wait
        }
      }
      out.write(
          "0\r\n\r\nGET /v1/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
              .getBytes(StandardCharsets.US_ASCII));
      out.flush();
      InputStream in = s.getInputStream();
      ByteArrayOutputStream got = new ByteArrayOutputStream();
      byte[] buf = new byte[8192];
      int n;
      while ((n = in.read(buf)) >= 0) {
        got.write(buf, 0, n);
      }
      return got.toString(StandardCharsets.UTF_8);
    }
  }

  @Test
  void aSendWhoseBodyTricklesInIsAnsweredAndTheConnectionStaysUsable() throws Exception {
    FakeKeySetService keys = new FakeKeySetService().ready();
    KeyBundle bundle = keys.keySet.bundle(FakeKeySetService.KMS_KEY_ID);
    MockAttester attester =
        MockAttester.create(Files.createTempDirectory("streamed-send").resolve("state"));
    try (EnclaveServer server =
        EnclaveServer.start(
            Endpoint.parse("tcp://127.0.0.1:0"),
            keys,
            attester,
            new SecureRandom(),
            Clock.systemUTC(),
            2,
            new EnclaveMetrics())) {
      TestKit.establishSenders(server, keys.keySet.id());
      int port = ((TcpEndpoint) server.endpoint()).port();
      List<X25519PrivateKey> rs = List.of(TestKit.x25519(), TestKit.x25519(), TestKit.x25519());
      String ok = exchange(port, body(bundle, rs, "]}"));
      assertThat(ok).startsWith("HTTP/1.1 200 ");
      assertThat(ok).contains("\"deliveries\":[{").contains(rs.get(2).publicKey().fingerprint());
      assertThat(ok)
          .contains("{\"status\":\"ok\"}"); // the pipelined health check on the same connection

      // malformed JSON after the candidates: 400, nothing delivered, and the connection still
      // serves
      String bad = exchange(port, body(bundle, rs, ",{\"key\":}]}"));
      assertThat(bad).startsWith("HTTP/1.1 400 ");
      assertThat(bad).contains("malformed_request").doesNotContain("\"deliveries\"");
      assertThat(bad).contains("{\"status\":\"ok\"}");

      // candidates before the payload: a clear 400
      String reordered = exchange(port, "{\"candidates\":[],\"payload\":{}}");
      assertThat(reordered)
          .startsWith("HTTP/1.1 400 ")
          .contains("payload must come before candidates");
    }
  }

  @Test
  void thePipeCapsTheBodyAndPausesReading() throws Exception {
    EmbeddedChannel ch = new EmbeddedChannel();
    BodyPipe pipe = new BodyPipe(ch, 10);
    pipe.offer(Unpooled.wrappedBuffer(new byte[6]));
    pipe.offer(Unpooled.wrappedBuffer(new byte[5])); // 11 > 10
    assertThat(pipe.tooLarge()).isTrue();
    assertThatThrownBy(() -> pipe.read(new byte[4], 0, 4))
        .isInstanceOf(BodyPipe.TooLargeException.class);

    BodyPipe big = new BodyPipe(ch, Long.MAX_VALUE);
    big.offer(Unpooled.wrappedBuffer(new byte[BodyPipe.HIGH_WATER + 1]));
    assertThat(ch.config().isAutoRead()).isFalse();
    byte[] sink = new byte[1 << 16];
    int total = 0;
    while (total < BodyPipe.HIGH_WATER + 1 - BodyPipe.LOW_WATER + 1) {
      total += big.read(sink, 0, sink.length);
    }
    ch.runPendingTasks();
    assertThat(ch.config().isAutoRead()).isTrue();
    big.end();
    big.skipRest();
    assertThat(big.consumedToEnd()).isTrue();
    big.close();
    ch.finishAndReleaseAll();
  }
}
