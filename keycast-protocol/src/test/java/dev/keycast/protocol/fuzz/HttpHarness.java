package dev.keycast.protocol.fuzz;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keycast.protocol.Json;
import dev.keycast.protocol.MalformedInputException;
import dev.keycast.protocol.api.ErrorBody;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.LastHttpContent;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.AbstractExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Drives an HTTP pipeline in an {@link EmbeddedChannel} on one thread, deterministically: request
 * work the handler hands to its pool is queued and run by the harness between event-loop steps,
 * so nothing touches the channel from another thread. When the input ends inside a streamed
 * {@code POST} body, the harness closes the channel before running that work, as the idle timeout
 * would for a client that stopped sending. Used by the enclave's and the host's HTTP fuzz targets
 * (Netty is a test dependency of this module for them only).
 */
public final class HttpHarness {
  /** The request pool: runs nothing until the harness says so. */
  public static final class DeferredExecutor extends AbstractExecutorService {
    private final ArrayDeque<Runnable> tasks = new ArrayDeque<>();

    @Override
    public void execute(Runnable command) {
      tasks.add(command);
    }

    public Runnable next() {
      return tasks.poll();
    }

    @Override
    public void shutdown() {}

    @Override
    public List<Runnable> shutdownNow() {
      return List.of();
    }

    @Override
    public boolean isShutdown() {
      return false;
    }

    @Override
    public boolean isTerminated() {
      return false;
    }

    @Override
    public boolean awaitTermination(long timeout, TimeUnit unit) {
      return true;
    }
  }

  /** Sits behind the HTTP codec and tracks whether a streamed POST body is still unfinished. */
  public static final class BodyTracker extends ChannelInboundHandlerAdapter {
    private final String streamedPath;
    private boolean inStreamedBody;

    public BodyTracker(String streamedPath) {
      this.streamedPath = streamedPath;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      if (msg instanceof HttpRequest r
          && HttpMethod.POST.equals(r.method())
          && r.uri().startsWith(streamedPath)
          && r.decoderResult().isSuccess()) {
        inStreamedBody = !(msg instanceof LastHttpContent);
      } else if (msg instanceof LastHttpContent) {
        inStreamedBody = false;
      }
      ctx.fireChannelRead(msg);
    }

    public boolean inStreamedBody() {
      return inStreamedBody;
    }
  }

  /** One parsed response. */
  public record Response(int status, String headers, byte[] body) {}

  private HttpHarness() {}

  /**
   * Writes {@code input} into {@code ch}, runs all work to completion and returns the bytes the
   * pipeline wrote. Rethrows any exception that reached the end of the pipeline.
   */
  public static byte[] exchange(
      EmbeddedChannel ch, DeferredExecutor pool, BodyTracker tracker, byte[] input) {
    ch.writeInbound(Unpooled.wrappedBuffer(input));
    while (true) {
      ch.runPendingTasks();
      Runnable task = pool.next();
      if (task == null) {
        break;
      }
      if (tracker != null && tracker.inStreamedBody() && ch.isOpen()) {
        ch.close();
      }
      task.run();
    }
    ch.runPendingTasks();
    ch.checkException();
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    for (Object o = ch.readOutbound(); o != null; o = ch.readOutbound()) {
      if (o instanceof ByteBuf b) {
        byte[] bytes = new byte[b.readableBytes()];
        b.readBytes(bytes);
        out.writeBytes(bytes);
      }
      io.netty.util.ReferenceCountUtil.release(o);
    }
    ch.finishAndReleaseAll();
    return out.toByteArray();
  }

  /** Splits a stream of HTTP/1.1 responses (Content-Length framed, as both servers write them). */
  public static List<Response> parse(byte[] out) {
    List<Response> responses = new ArrayList<>();
    int pos = 0;
    while (pos < out.length) {
      int headEnd = indexOf(out, "\r\n\r\n".getBytes(StandardCharsets.US_ASCII), pos);
      assertThat(headEnd).as("response head ends").isGreaterThanOrEqualTo(0);
      String head = new String(out, pos, headEnd - pos, StandardCharsets.ISO_8859_1);
      assertThat(head).matches("(?s)HTTP/1\\.1 [1-5][0-9][0-9] .*");
      int status = Integer.parseInt(head.substring(9, 12));
      int length = 0;
      for (String line : head.split("\r\n")) {
        if (line.toLowerCase(Locale.ROOT).startsWith("content-length:")) {
          length = Integer.parseInt(line.substring(15).strip());
        }
      }
      int bodyStart = headEnd + 4;
      if (status == 100) {
        pos = bodyStart;
        continue;
      }
      assertThat(out.length - bodyStart)
          .as("body of %d bytes present", length)
          .isGreaterThanOrEqualTo(length);
      byte[] body = java.util.Arrays.copyOfRange(out, bodyStart, bodyStart + length);
      responses.add(new Response(status, head, body));
      pos = bodyStart + length;
    }
    return responses;
  }

  /**
   * The contract for every answer to untrusted bytes: never {@code 500} (an untyped failure
   * inside), and every error is a JSON error body with a stable code and a message.
   */
  public static void checkAnswers(List<Response> responses) {
    for (Response r : responses) {
      assertThat(r.status())
          .as(
              "an internal error answered untrusted input:%n%s%n%s",
              r.headers(), new String(r.body(), StandardCharsets.UTF_8))
          .isNotEqualTo(500);
      if (r.status() >= 400) {
        ErrorBody e;
        try {
          e = Json.decode(r.body(), 64 * 1024, ErrorBody.class);
        } catch (MalformedInputException ex) {
          throw new AssertionError(
              "error answer is not an error body: " + new String(r.body(), StandardCharsets.UTF_8),
              ex);
        }
        assertThat(e.error()).matches("[a-z][a-z0-9_]*");
        assertThat(e.message()).isNotBlank();
      }
    }
  }

  private static int indexOf(byte[] hay, byte[] needle, int from) {
    outer:
    for (int i = from; i <= hay.length - needle.length; i++) {
      for (int j = 0; j < needle.length; j++) {
        if (hay[i + j] != needle[j]) {
          continue outer;
        }
      }
      return i;
    }
    return -1;
  }
}
