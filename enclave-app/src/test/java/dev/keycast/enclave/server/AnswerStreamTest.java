package dev.keycast.enclave.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keycast.protocol.Base64Url;
import dev.keycast.protocol.api.EnclaveApi;
import dev.keycast.protocol.api.ErrorCode;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.UnpooledByteBufAllocator;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseEncoder;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.util.ReferenceCountUtil;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * {@link AnswerStream} through {@link EnclaveServerHandler#run}: a large answer leaves in pieces
 * while it is produced (never held whole), with back-pressure; a failure after the first piece
 * left ends the answer with the error in its trailers and leaves its JSON unfinished, so the host
 * never reads a complete answer of a failed request (api.md section 1, "Streamed answers").
 */
class AnswerStreamTest {
  private static final int PIECE = EnclaveServerHandler.ANSWER_PIECE;

  /** Writes {@code n} bytes of a JSON answer that is never closed (no final brace). */
  private static byte[] unfinishedJson(int n) {
    byte[] b = new byte[n];
    Arrays.fill(b, (byte) ' ');
    byte[] open = "{\"deliveries\":[".getBytes(StandardCharsets.US_ASCII);
    System.arraycopy(open, 0, b, 0, open.length);
    return b;
  }

  @Test
  void anAnswerOfOnePieceIsHeldAndSentWholeAsBefore() {
    EmbeddedChannel ch = new EmbeddedChannel(new io.netty.channel.ChannelInboundHandlerAdapter());
    ChannelHandlerContext ctx = ch.pipeline().firstContext();
    EnclaveServerHandler.Response r =
        EnclaveServerHandler.run(
            new AnswerStream(UnpooledByteBufAllocator.DEFAULT, ctx, true),
            out -> {
              out.write(new byte[PIECE]);
              return EnclaveApiService.Answer.streamedJson();
            },
            null);
    try {
      assertThat(r.streamed()).isFalse();
      assertThat(r.body().readableBytes()).isEqualTo(PIECE);
      assertThat((Object) ch.readOutbound())
          .isNull(); // nothing left before the handler writes it whole
    } finally {
      r.body().release();
      ch.finishAndReleaseAll();
    }
  }

  @Test
  void aSmallAnswerThatFailsIsAnErrorAnswerAsBefore() {
    EmbeddedChannel ch = new EmbeddedChannel(new io.netty.channel.ChannelInboundHandlerAdapter());
    EnclaveServerHandler.Response r =
        EnclaveServerHandler.run(
            new AnswerStream(UnpooledByteBufAllocator.DEFAULT, ch.pipeline().firstContext(), true),
            out -> {
              out.write(new byte[1000]);
              throw new EnclaveApiException(ErrorCode.TOO_MANY_RECIPIENTS, "more than 1");
            },
            null);
    try {
      assertThat(r.streamed()).isFalse();
      assertThat(r.head().status()).isEqualTo(422);
      assertThat((Object) ch.readOutbound()).isNull();
    } finally {
      r.body().release();
      ch.finishAndReleaseAll();
    }
  }

  @Test
  void aLargeAnswerLeavesInPiecesWhileItIsWritten() {
    EmbeddedChannel ch = new EmbeddedChannel(new io.netty.channel.ChannelInboundHandlerAdapter());
    int total = 5 * PIECE + 123;
    byte[] answer = new byte[total];
    new java.util.Random(7).nextBytes(answer);
    EnclaveServerHandler.Response r =
        EnclaveServerHandler.run(
            new AnswerStream(UnpooledByteBufAllocator.DEFAULT, ch.pipeline().firstContext(), true),
            out -> {
              for (int off = 0; off < total; off += 1000) {
                out.write(answer, off, Math.min(1000, total - off));
              }
              return EnclaveApiService.Answer.streamedJson();
            },
            null);
    ByteArrayOutputStream got = new ByteArrayOutputStream();
    try {
      assertThat(r.streamed()).isTrue();
      HttpResponse head = ch.readOutbound();
      assertThat(head.status().code()).isEqualTo(200);
      assertThat(HttpUtil.isTransferEncodingChunked(head)).isTrue();
      for (Object m; (m = ch.readOutbound()) != null; ) {
        HttpContent c = (HttpContent) m;
        assertThat(c.content().readableBytes())
            .isEqualTo(PIECE); // never the whole answer in one buffer
        got.writeBytes(io.netty.buffer.ByteBufUtil.getBytes(c.content()));
        c.release();
      }
      got.writeBytes(io.netty.buffer.ByteBufUtil.getBytes(r.body())); // the last chunk
      assertThat(got.toByteArray()).isEqualTo(answer);
    } finally {
      r.body().release();
      ch.finishAndReleaseAll();
    }
  }

  @Test
  void theWorkerWaitsWhileTheConnectionHasNotTakenAWindowOfTheAnswer() throws Exception {
    ConcurrentLinkedQueue<ChannelPromise> held = new ConcurrentLinkedQueue<>();
    ConcurrentLinkedQueue<Object> written = new ConcurrentLinkedQueue<>();
    EmbeddedChannel ch =
        new EmbeddedChannel(
            new ChannelOutboundHandlerAdapter() {
              @Override
              public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
                written.add(msg); // taken, never sent: the promise completes when the test says so
                held.add(promise);
              }
            },
            new io.netty.channel
                .ChannelInboundHandlerAdapter()); // the router's place: writes pass the holder
    ChannelHandlerContext ctx = ch.pipeline().lastContext();
    int total = 20 * PIECE;
    AtomicReference<EnclaveServerHandler.Response> result = new AtomicReference<>();
    Thread worker =
        Thread.ofPlatform()
            .start(
                () ->
                    result.set(
                        EnclaveServerHandler.run(
                            new AnswerStream(UnpooledByteBufAllocator.DEFAULT, ctx, true),
                            out -> {
                              out.write(new byte[total]);
                              return EnclaveApiService.Answer.streamedJson();
                            },
                            null)));
    // the worker stops once a window of pieces is written and not taken
    int window = AnswerStream.WINDOW / PIECE;
    while (!(worker.getState() == Thread.State.WAITING
            || worker.getState() == Thread.State.TIMED_WAITING)
        || held.size() < 1 + window) {
      assertThat(worker.isAlive()).isTrue();
      Thread.onSpinWait();
    }
    assertThat(held).hasSize(1 + window); // the head and a window of pieces, no more
    while (worker.isAlive()) {
      ChannelPromise p = held.poll();
      if (p != null) {
        p.setSuccess();
      } else {
        Thread.onSpinWait();
      }
    }
    worker.join();
    try {
      assertThat(result.get().streamed()).isTrue();
      assertThat(written).hasSize(1 + total / PIECE - 1); // the head and every piece but the last
    } finally {
      result.get().body().release();
      written.forEach(ReferenceCountUtil::release);
      ch.finishAndReleaseAll();
    }
  }

  @Test
  void aFailureAfterTheFirstPieceLeftEndsTheAnswerWithTheErrorInTrailersAndUnfinishedJson() {
    // the enclave's encoder and the host's decoder: what the host reads of such an answer
    EmbeddedChannel enclave =
        new EmbeddedChannel(
            new HttpResponseEncoder(),
            new io.netty.channel
                .ChannelInboundHandlerAdapter()); // the router's place, behind the encoder
    byte[] partial = unfinishedJson(2 * PIECE + 10);
    EnclaveServerHandler.Response r =
        EnclaveServerHandler.run(
            new AnswerStream(
                UnpooledByteBufAllocator.DEFAULT, enclave.pipeline().lastContext(), true),
            out -> {
              out.write(partial);
              throw new EnclaveApiException(
                  ErrorCode.TOO_MANY_RECIPIENTS, "more than 1 eligible recipients");
            },
            null);
    assertThat(r.streamed()).isTrue();
    assertThat(r.head().status()).isEqualTo(422);
    assertThat(r.body().readableBytes()).isZero(); // the bytes not yet sent are dropped
    enclave.writeOutbound(AnswerStream.failLate(r.head()));

    EmbeddedChannel host =
        new EmbeddedChannel(new HttpClientCodec(), new HttpObjectAggregator(16 << 20));
    host.writeOutbound(
        new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.POST, "/v1/send"));
    host.releaseOutbound();
    for (Object b; (b = enclave.readOutbound()) != null; ) {
      host.writeInbound(b);
    }
    FullHttpResponse got = host.readInbound();
    try {
      assertThat(got.status().code()).isEqualTo(200); // the head left before the failure
      String status = got.trailingHeaders().get(EnclaveApi.ANSWER_ERROR_STATUS_TRAILER);
      String error = got.trailingHeaders().get(EnclaveApi.ANSWER_ERROR_TRAILER);
      assertThat(status).isEqualTo("422");
      assertThat(new String(java.util.Base64.getUrlDecoder().decode(error), StandardCharsets.UTF_8))
          .contains("\"error\":\"too_many_recipients\"");
      // what had left is a prefix of the answer, an unfinished JSON object
      ByteBuf body = got.content();
      assertThat(body.readableBytes()).isEqualTo(2 * PIECE);
      assertThat(body.toString(StandardCharsets.US_ASCII))
          .startsWith("{\"deliveries\":[")
          .doesNotContain("}");
    } finally {
      got.release();
      enclave.finishAndReleaseAll();
      host.finishAndReleaseAll();
    }
    assertThat(Base64Url.encode(new byte[] {1}))
        .isEqualTo("AQ"); // the trailer's alphabet: no padding
  }

  @Test
  void aStreamedAnswerWhoseConnectionClosedFailsTheWorker() {
    EmbeddedChannel ch = new EmbeddedChannel(new io.netty.channel.ChannelInboundHandlerAdapter());
    ChannelHandlerContext ctx = ch.pipeline().firstContext();
    EnclaveServerHandler.Response r =
        EnclaveServerHandler.run(
            new AnswerStream(UnpooledByteBufAllocator.DEFAULT, ctx, true),
            out -> {
              out.write(new byte[PIECE + 1]); // committed
              ch.close();
              out.write(new byte[8 * PIECE]); // the connection is gone: this fails
              return EnclaveApiService.Answer.streamedJson();
            },
            null);
    try {
      assertThat(r.streamed()).isTrue();
      assertThat(r.head().status()).isEqualTo(500);
    } finally {
      r.body().release();
      ch.finishAndReleaseAll();
    }
  }
}
