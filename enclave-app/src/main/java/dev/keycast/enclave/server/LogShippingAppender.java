package dev.keycast.enclave.server;

import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.IThrowableProxy;
import ch.qos.logback.core.AppenderBase;
import com.fasterxml.jackson.core.JsonGenerator;
import dev.keycast.protocol.Json;
import dev.keycast.transport.Endpoint;
import dev.keycast.transport.Transports;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoopGroup;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;

/**
 * Ships log events, one JSON object per line, to a stream endpoint: in an enclave {@code
 * vsock://3:<log port>} (the parent, which writes them into its own log marked as enclave output);
 * in mock mode any {@code tcp://} or {@code unix:} endpoint.
 *
 * <p>Line format: {@code {"ts":"<RFC 3339>","level":"INFO","logger":"...","thread":"...",
 * "msg":"...","error":"<exception class>: <message>"}} ({@code error} only with a throwable).
 * Messages are the application's own formatted log messages, which never carry secrets.
 *
 * <p>Never blocks the logging thread: events go into a bounded queue ({@code capacity} lines); when
 * the queue is full (the host is not listening or is slow) new lines are dropped and counted
 * ({@link #dropped()}). One daemon thread connects (through keycast-transport), reconnects with
 * back-off, and writes batches. Netty's own log events are not shipped (they would recurse).
 */
public final class LogShippingAppender extends AppenderBase<ILoggingEvent> {
  private static final int MAX_LINE = 16 * 1024;
  private static final int BATCH = 256;

  private final Endpoint endpoint;
  private final BlockingQueue<byte[]> queue;
  private final LongAdder dropped = new LongAdder();
  private final LongAdder shipped = new LongAdder();
  private EventLoopGroup group;
  private Thread shipper;
  private volatile boolean running;

  public LogShippingAppender(Endpoint endpoint, int capacity) {
    this.endpoint = endpoint;
    this.queue = new ArrayBlockingQueue<>(capacity);
    setName("ship-" + endpoint);
  }

  /** Lines dropped because the queue was full. */
  public long dropped() {
    return dropped.sum();
  }

  /** Lines written to the endpoint. */
  public long shipped() {
    return shipped.sum();
  }

  @Override
  public void start() {
    group = Transports.newEventLoopGroup(1);
    running = true;
    shipper = new Thread(this::ship, "keycast-log-shipper");
    shipper.setDaemon(true);
    shipper.start();
    super.start();
  }

  @Override
  public void stop() {
    super.stop();
    running = false;
    if (shipper != null) {
      try {
        shipper.join(2000); // drains what it can while connected
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      shipper.interrupt();
    }
    if (group != null) {
      group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
    }
  }

  @Override
  protected void append(ILoggingEvent event) {
    if (event.getLoggerName().startsWith("io.netty") || Thread.currentThread() == shipper) {
      return;
    }
    if (!queue.offer(encode(event))) {
      dropped.increment();
    }
  }

  static byte[] encode(ILoggingEvent e) {
    ByteArrayOutputStream out = new ByteArrayOutputStream(256);
    try (JsonGenerator g = Json.mapper().getFactory().createGenerator(out)) {
      g.writeStartObject();
      g.writeStringField("ts", Instant.ofEpochMilli(e.getTimeStamp()).toString());
      g.writeStringField("level", e.getLevel().toString());
      g.writeStringField("logger", e.getLoggerName());
      g.writeStringField("thread", e.getThreadName());
      g.writeStringField("msg", cap(e.getFormattedMessage()));
      IThrowableProxy t = e.getThrowableProxy();
      if (t != null) {
        g.writeStringField(
            "error", cap(t.getClassName() + (t.getMessage() == null ? "" : ": " + t.getMessage())));
      }
      g.writeEndObject();
    } catch (IOException ex) {
      throw new IllegalStateException("cannot encode a log line", ex);
    }
    out.write('\n');
    return out.toByteArray();
  }

  private static String cap(String s) {
    return s == null ? "" : s.length() > MAX_LINE ? s.substring(0, MAX_LINE) + "..." : s;
  }

  private void ship() {
    Channel ch = null;
    long backoffMs = 100;
    List<byte[]> batch = new ArrayList<>(BATCH);
    while (running || !queue.isEmpty()) {
      try {
        if (ch == null || !ch.isActive()) {
          ch = connect();
          if (ch == null) {
            if (!running) {
              return;
            }
            Thread.sleep(backoffMs);
            backoffMs = Math.min(backoffMs * 2, 5_000);
            continue;
          }
          backoffMs = 100;
        }
        byte[] first = queue.poll(200, TimeUnit.MILLISECONDS);
        if (first == null) {
          continue;
        }
        batch.add(first);
        queue.drainTo(batch, BATCH - 1);
        ByteBuf buf = Unpooled.buffer();
        for (byte[] line : batch) {
          buf.writeBytes(line);
        }
        ChannelFuture f = ch.writeAndFlush(buf).await();
        if (f.isSuccess()) {
          shipped.add(batch.size());
        } else {
          dropped.add(batch.size()); // the connection broke under this batch
        }
        batch.clear();
      } catch (InterruptedException e) {
        break;
      }
    }
    if (ch != null) {
      ch.close();
    }
  }

  private Channel connect() throws InterruptedException {
    ChannelFuture f =
        Transports.connect(
                endpoint, group, new ChannelInboundHandlerAdapter(), Duration.ofSeconds(2))
            .await();
    return f.isSuccess() ? f.channel() : null;
  }
}
