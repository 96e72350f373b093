package dev.keycast.host.bridge;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.keycast.transport.Endpoint;
import dev.keycast.transport.TcpEndpoint;
import dev.keycast.transport.Transports;
import io.netty.channel.EventLoopGroup;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/** The enclave's log stream over a real socket, into the {@code enclave} logger. */
class EnclaveLogListenerTest {
  @Test
  void linesReachTheEnclaveLoggerTaggedAndCapped() throws Exception {
    Logger logger = (Logger) LoggerFactory.getLogger("enclave");
    ListAppender<ILoggingEvent> events = new ListAppender<>();
    events.start();
    logger.addAppender(events);
    logger.setLevel(ch.qos.logback.classic.Level.DEBUG);
    EventLoopGroup group = Transports.newEventLoopGroup(1);
    try (EnclaveLogListener l = new EnclaveLogListener()) {
      TcpEndpoint bound = (TcpEndpoint) l.start(Endpoint.parse("tcp://127.0.0.1:0"), group, group);
      try (Socket s = new Socket("127.0.0.1", bound.port())) {
        OutputStream out = s.getOutputStream();
        out.write(
            ("{\"level\":\"WARN\",\"logger\":\"dev.keycast.enclave.X\",\"msg\":\"kms slow\",\"ts\":\"2026-01-01T00:00:00Z\",\"thread\":\"t\",\"error\":\"java.io.IOException: reset\"}\n"
                    + "x".repeat(EnclaveLogListener.MAX_LINE_BYTES + 10)
                    + "\n"
                    + "plain line with \u001b[31m escape\n")
                .getBytes(StandardCharsets.UTF_8));
        out.flush();
      }
      // the counters move after the line is logged: wait for both, not only for the events
      org.awaitility.Awaitility.await()
          .atMost(java.time.Duration.ofSeconds(10))
          .pollInterval(java.time.Duration.ofMillis(10))
          .until(() -> events.list.size() >= 2 && l.lines() >= 2 && l.dropped() >= 1);
      assertThat(events.list).hasSize(2);
      ILoggingEvent first = events.list.get(0);
      assertThat(first.getLevel()).isEqualTo(ch.qos.logback.classic.Level.WARN);
      assertThat(first.getFormattedMessage()).isEqualTo("kms slow [java.io.IOException: reset]");
      assertThat(first.getMDCPropertyMap())
          .containsEntry("source", "enclave")
          .containsEntry("enclave_logger", "dev.keycast.enclave.X")
          .containsEntry("enclave_ts", "2026-01-01T00:00:00Z");
      assertThat(events.list.get(1).getFormattedMessage())
          .isEqualTo("plain line with ?[31m escape");
      assertThat(l.lines()).isEqualTo(2);
      assertThat(l.dropped()).isEqualTo(1);
    } finally {
      logger.detachAppender(events);
      group.shutdownGracefully().sync();
    }
  }
}
