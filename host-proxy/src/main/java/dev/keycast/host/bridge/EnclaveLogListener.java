package dev.keycast.host.bridge;

import com.fasterxml.jackson.databind.JsonNode;
import dev.keycast.protocol.Json;
import dev.keycast.transport.Endpoint;
import dev.keycast.transport.EndpointServer;
import dev.keycast.transport.Transports;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.LineBasedFrameDecoder;
import io.netty.handler.codec.TooLongFrameException;
import io.netty.handler.codec.string.StringDecoder;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

/**
 * Receives the enclave's log stream: newline-delimited JSON lines on a VSOCK port (or {@code unix:}
 * / {@code tcp://} in mock mode), written to the host's logger named {@code enclave} with MDC
 * {@code source=enclave}. A JSON line's {@code level} picks the log level and its {@code msg} (or
 * {@code message}) the text, followed by {@code error} when present, with its {@code logger} and
 * {@code ts} in MDC {@code enclave_logger} and {@code enclave_ts} (the enclave's
 * {@code LogShippingAppender} line format); any other line
 * is logged as it is. Lines longer than {@link #MAX_LINE_BYTES} are dropped and counted; control
 * characters are replaced so a line cannot forge host log lines.
 */
public final class EnclaveLogListener implements AutoCloseable {
  /** Longest line accepted, in bytes. */
  public static final int MAX_LINE_BYTES = 16 * 1024;

  private static final Logger ENCLAVE = LoggerFactory.getLogger("enclave");
  private static final Logger LOG = LoggerFactory.getLogger(EnclaveLogListener.class);

  private final AtomicLong lines = new AtomicLong();
  private final AtomicLong dropped = new AtomicLong();
  private EndpointServer server;

  /** Binds {@code listen}; returns the endpoint really bound. */
  public Endpoint start(Endpoint listen, EventLoopGroup parent, EventLoopGroup child)
      throws IOException, InterruptedException {
    server =
        Transports.bind(
            listen,
            parent,
            child,
            new ChannelInitializer<Channel>() {
              @Override
              protected void initChannel(Channel ch) {
                ch.pipeline()
                    .addLast(
                        new LineBasedFrameDecoder(MAX_LINE_BYTES, true, false),
                        new StringDecoder(StandardCharsets.UTF_8),
                        new LineHandler());
              }
            },
            Map.of());
    return server.endpoint();
  }

  /** Lines written to the log so far. */
  public long lines() {
    return lines.get();
  }

  /** Over-long lines dropped so far. */
  public long dropped() {
    return dropped.get();
  }

  /** Writes one line from the enclave to the {@code enclave} logger. */
  void log(String line) {
    String text = line;
    String level = "info";
    String logger = null;
    String ts = null;
    if (line.startsWith("{")) {
      try {
        JsonNode n = Json.mapper().readTree(line);
        if (n != null && n.isObject()) {
          level = n.path("level").asText("info").toLowerCase(java.util.Locale.ROOT);
          JsonNode m = n.has("message") ? n.get("message") : n.get("msg");
          text = m == null ? line : m.asText();
          if (n.hasNonNull("error")) {
            text = text + " [" + n.get("error").asText() + "]";
          }
          logger = n.hasNonNull("logger") ? n.get("logger").asText() : null;
          ts = n.hasNonNull("ts") ? n.get("ts").asText() : null;
        }
      } catch (IOException | RuntimeException notJson) {
        text = line;
      }
    }
    text = clean(text);
    MDC.put("source", "enclave");
    if (logger != null) {
      MDC.put("enclave_logger", clean(logger));
    }
    if (ts != null) {
      MDC.put("enclave_ts", clean(ts));
    }
    try {
      switch (level) {
        case "error" -> ENCLAVE.error("{}", text);
        case "warn", "warning" -> ENCLAVE.warn("{}", text);
        case "debug" -> ENCLAVE.debug("{}", text);
        case "trace" -> ENCLAVE.trace("{}", text);
        default -> ENCLAVE.info("{}", text);
      }
    } finally {
      MDC.remove("source");
      MDC.remove("enclave_logger");
      MDC.remove("enclave_ts");
    }
    lines.incrementAndGet();
  }

  private static String clean(String s) {
    StringBuilder b = new StringBuilder(s.length());
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      b.append(Character.isISOControl(c) ? '?' : c);
    }
    return b.toString();
  }

  @Override
  public void close() {
    if (server != null) {
      server.close();
    }
  }

  private final class LineHandler extends SimpleChannelInboundHandler<String> {
    @Override
    protected void channelRead0(ChannelHandlerContext ctx, String line) {
      if (!line.isBlank()) {
        log(line);
      }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      if (cause instanceof TooLongFrameException
          || cause.getCause() instanceof TooLongFrameException) {
        dropped.incrementAndGet();
        LOG.warn("dropped an enclave log line longer than {} bytes", MAX_LINE_BYTES);
        return; // the decoder skips to the next newline
      }
      LOG.warn("enclave log stream failed: {}", cause.toString());
      ctx.close();
    }
  }
}
