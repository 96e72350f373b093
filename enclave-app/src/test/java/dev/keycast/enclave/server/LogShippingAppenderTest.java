package dev.keycast.enclave.server;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.LoggingEvent;
import com.fasterxml.jackson.databind.JsonNode;
import dev.keycast.protocol.Json;
import dev.keycast.transport.Endpoint;
import dev.keycast.transport.UnixEndpoint;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(30)
class LogShippingAppenderTest {
  final LoggerContext ctx = new LoggerContext();

  @TempDir Path tmp;

  LoggingEvent event(String message, Throwable t) {
    return new LoggingEvent("x", ctx.getLogger("dev.keycast.test"), Level.INFO, message, t, null);
  }

  @Test
  void dropsAndCountsWhenTheHostIsNotListening() throws Exception {
    int closedPort;
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      closedPort = s.getLocalPort();
    }
    LogShippingAppender a =
        new LogShippingAppender(Endpoint.parse("tcp://127.0.0.1:" + closedPort), 10);
    a.setContext(ctx);
    a.start();
    try {
      for (int i = 0; i < 50; i++) {
        a.doAppend(event("line " + i, null));
      }
      assertThat(a.dropped()).isEqualTo(40);
      assertThat(a.shipped()).isZero();
    } finally {
      a.stop();
    }
  }

  @Test
  void shipsJsonLinesOverUnixSocketsAndSkipsNetty() throws Exception {
    Path sock = tmp.resolve("logs.sock");
    List<String> lines = new CopyOnWriteArrayList<>();
    try (ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
      server.bind(UnixDomainSocketAddress.of(sock));
      Thread reader =
          Thread.ofVirtual()
              .start(
                  () -> {
                    try (SocketChannel c = server.accept();
                        BufferedReader r =
                            new BufferedReader(
                                new InputStreamReader(
                                    Channels.newInputStream(c), StandardCharsets.UTF_8))) {
                      String line;
                      while ((line = r.readLine()) != null) {
                        lines.add(line);
                      }
                    } catch (Exception ignored) {
                      // closed
                    }
                  });
      LogShippingAppender a = new LogShippingAppender(new UnixEndpoint(sock), 100);
      a.setContext(ctx);
      a.start();
      try {
        a.doAppend(event("hello \"enclave\"\nsecond line", null));
        a.doAppend(
            new LoggingEvent(
                "x", ctx.getLogger("io.netty.channel"), Level.WARN, "netty", null, null));
        a.doAppend(event("failed", new IllegalStateException("boom")));
        org.awaitility.Awaitility.await()
            .atMost(java.time.Duration.ofSeconds(10))
            .pollInterval(java.time.Duration.ofMillis(20))
            .until(() -> lines.size() >= 2);
      } finally {
        a.stop();
      }
      reader.join(2000);
      assertThat(lines).hasSize(2);
      JsonNode first = Json.mapper().readTree(lines.get(0));
      assertThat(first.get("msg").asText()).isEqualTo("hello \"enclave\"\nsecond line");
      assertThat(first.get("level").asText()).isEqualTo("INFO");
      assertThat(first.get("logger").asText()).isEqualTo("dev.keycast.test");
      assertThat(first.has("ts")).isTrue();
      JsonNode second = Json.mapper().readTree(lines.get(1));
      assertThat(second.get("error").asText()).isEqualTo("java.lang.IllegalStateException: boom");
      assertThat(a.dropped()).isZero();
      assertThat(a.shipped()).isEqualTo(2);
    }
  }
}
