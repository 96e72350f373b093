package dev.keycast.host.bridge;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.DecoderResult;
import io.netty.handler.codec.TooLongFrameException;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.LastHttpContent;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Collects one enclave answer, in place of an aggregator that would hold it whole: up to {@link
 * #IN_MEMORY} bytes in memory, beyond that in a temporary file (owner-only, deleted when the answer
 * is closed or the connection fails), so a send answer that carries 250,000 envelopes (about 300
 * MB) costs the host disk, not heap (issue 28). More than {@code maxBytes} fails the answer like an
 * aggregator's limit. Emits one {@link Whole} per answer.
 */
final class AnswerSpool extends ChannelInboundHandlerAdapter {
  private static final Logger LOG = LoggerFactory.getLogger(AnswerSpool.class);

  /** Largest answer kept in memory. */
  static final int IN_MEMORY = 1 << 20;

  /** One whole answer: its head, trailers, and its body in memory or in a file. */
  record Whole(
      HttpResponse head,
      HttpHeaders trailers,
      byte[] body,
      SpooledFile file,
      DecoderResult result) {}

  private final long maxBytes;
  private HttpResponse head;
  private ByteArrayOutputStream memory;
  private Path file;
  private FileChannel channel;
  private long length;

  AnswerSpool(long maxBytes) {
    this.maxBytes = maxBytes;
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) throws Exception {
    if (msg instanceof HttpResponse r) {
      discard();
      head = r;
      long declared = HttpUtil.getContentLength(r, -1L);
      memory = new ByteArrayOutputStream((int) Math.min(Math.max(declared, 256), IN_MEMORY));
      length = 0;
      if (!r.decoderResult().isSuccess()) {
        ctx.fireChannelRead(new Whole(r, null, new byte[0], null, r.decoderResult()));
        head = null;
        return;
      }
    }
    if (msg instanceof HttpContent c) {
      try {
        if (head == null) {
          return; // content after a failed head: dropped
        }
        if (!c.decoderResult().isSuccess()) {
          HttpResponse h = head;
          discard();
          ctx.fireChannelRead(new Whole(h, null, new byte[0], null, c.decoderResult()));
          return;
        }
        if (!append(c.content())) {
          discard();
          ctx.fireExceptionCaught(
              new TooLongFrameException("the enclave's answer exceeds " + maxBytes + " bytes"));
          return;
        }
        if (c instanceof LastHttpContent last) {
          Whole w = finish(last.trailingHeaders());
          ctx.fireChannelRead(w);
        }
      } finally {
        c.release();
      }
    } else if (!(msg instanceof HttpResponse)) {
      ctx.fireChannelRead(msg);
    }
  }

  private boolean append(ByteBuf content) throws IOException {
    int n = content.readableBytes();
    if (length + n > maxBytes) {
      return false;
    }
    if (channel == null && length + n > IN_MEMORY) {
      file = Files.createTempFile("keycast-answer-", ".json");
      channel = FileChannel.open(file, StandardOpenOption.WRITE);
      memory.writeTo(java.nio.channels.Channels.newOutputStream(channel));
      memory = null;
    }
    if (channel != null) {
      while (content.isReadable()) {
        content.readBytes(channel, content.readableBytes());
      }
    } else {
      content.readBytes(memory, n);
    }
    length += n;
    return true;
  }

  private Whole finish(HttpHeaders trailers) throws IOException {
    Whole w;
    if (channel != null) {
      channel.close();
      w = new Whole(head, trailers, null, new SpooledFile(file), DecoderResult.SUCCESS);
    } else {
      w = new Whole(head, trailers, memory.toByteArray(), null, DecoderResult.SUCCESS);
    }
    head = null;
    memory = null;
    channel = null;
    file = null; // now the answer's: deleted when it is closed
    return w;
  }

  /** Drops a partial answer (and its file); never throws (a failure is logged). */
  private void discard() {
    head = null;
    memory = null;
    FileChannel c = channel;
    Path f = file;
    channel = null;
    file = null;
    if (c != null) {
      try {
        c.close();
      } catch (IOException e) {
        LOG.debug("a partial answer's file did not close: {}", e.getClass().getSimpleName());
      }
    }
    if (f != null) {
      new SpooledFile(f).close();
    }
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) throws Exception {
    discard();
    super.channelInactive(ctx);
  }

  @Override
  public void handlerRemoved(ChannelHandlerContext ctx) {
    discard();
  }
}
