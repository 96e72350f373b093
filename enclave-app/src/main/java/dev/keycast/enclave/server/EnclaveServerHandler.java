package dev.keycast.enclave.server;

import dev.keycast.enclave.server.EnclaveApiService.Answer;
import dev.keycast.enclave.server.EnclaveApiService.Route;
import dev.keycast.protocol.Json;
import dev.keycast.protocol.api.ErrorBody;
import dev.keycast.protocol.api.ErrorCode;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufInputStream;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.TooLongFrameException;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultLastHttpContent;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.util.ReferenceCountUtil;
import java.io.IOException;
import java.io.OutputStream;
import java.util.ArrayDeque;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Netty side of the enclave API: takes a request off the connection, runs it on the right
 * thread and writes its answer back; what a request means (routes, JSON, error mapping) is {@link
 * EnclaveApiService}'s. Answers from memory (health, ready, metrics) are written on the event loop;
 * everything else runs on {@link EnclaveServices#requests()} and its answer is written back on the
 * channel's event loop. While a request runs the channel stops reading (back-pressure); pipelined
 * requests wait, in order.
 *
 * <p>One instance per connection.
 */
final class EnclaveServerHandler extends SimpleChannelInboundHandler<Object> {
  private static final Logger log = LoggerFactory.getLogger(EnclaveServerHandler.class);

  /** Pipelined requests held while one runs; more closes the connection. */
  static final int MAX_PIPELINED = 16;

  /** Size of each piece of a streamed answer. */
  static final int ANSWER_PIECE = 256 * 1024;

  private final EnclaveServices services;
  private final EnclaveApiService api;

  /** Requests that arrived (pipelined) while one was in flight; answered in order. */
  private final ArrayDeque<Object> pending = new ArrayDeque<>();

  private boolean inFlight;

  EnclaveServerHandler(EnclaveServices services, EnclaveApiService api) {
    this.services = services;
    this.api = api;
  }

  /**
   * An answer ready to write: the service's head and its body as a buffer. A {@code streamed}
   * answer ({@link AnswerStream}) already went out in part: {@code body} is its last chunk, or,
   * when {@code head} is an error (a failure after the commit), nothing, and the error ends the
   * answer in trailers ({@link AnswerStream#failLate}) or, when the connection failed, a close.
   */
  record Response(Answer head, ByteBuf body, boolean streamed) {
    Response(Answer head, ByteBuf body) {
      this(head, body, false);
    }

    static Response of(Answer a) {
      return new Response(a, Unpooled.wrappedBuffer(a.body()));
    }
  }

  /** What runs off the event loop: an answer, its large body streamed into {@code out}. */
  interface Work {
    Answer run(OutputStream out) throws EnclaveApiException, IOException;
  }

  @Override
  protected void channelRead0(ChannelHandlerContext ctx, Object msg) {
    if (inFlight) {
      if (pending.size() >= MAX_PIPELINED) {
        if (msg instanceof SendBodyStream.StreamedRequest s) {
          s.body().close();
        }
        ctx.close();
        return;
      }
      pending.add(ReferenceCountUtil.retain(msg));
      return;
    }
    if (msg instanceof SendBodyStream.StreamedRequest s) {
      streamedSend(ctx, s);
      return;
    }
    if (!(msg instanceof FullHttpRequest req)) {
      return; // nothing else reaches the router
    }
    long start = System.nanoTime();
    if (req.decoderResult().isFailure()) {
      boolean tooLong = req.decoderResult().cause() instanceof TooLongFrameException;
      ErrorCode code = tooLong ? ErrorCode.PAYLOAD_TOO_LARGE : ErrorCode.MALFORMED_REQUEST;
      services.metrics().request("malformed", code.status(), System.nanoTime() - start);
      ctx.writeAndFlush(
              error(
                  ctx.alloc(),
                  code,
                  tooLong ? "request line or headers too long" : "malformed HTTP request",
                  true))
          .addListener(ChannelFutureListener.CLOSE);
      return;
    }
    boolean keepAlive = HttpUtil.isKeepAlive(req);
    QueryStringDecoder uri = new QueryStringDecoder(req.uri());
    Route route;
    try {
      route = EnclaveApiService.route(req.method().name(), uri.path());
    } catch (EnclaveApiException e) {
      Route known = Route.forPath(uri.path());
      finish(
          ctx,
          known == null ? "other" : known.path,
          start,
          keepAlive,
          Response.of(EnclaveApiService.error(e)));
      return;
    }
    if (route.fromMemory()) {
      finish(ctx, route.path, start, keepAlive, Response.of(api.fromMemory(route)));
      return;
    }
    offload(ctx, route, uri, req.retain(), start, keepAlive);
  }

  private void offload(
      ChannelHandlerContext ctx,
      Route route,
      QueryStringDecoder uri,
      FullHttpRequest req,
      long start,
      boolean keepAlive) {
    inFlight = true;
    ctx.channel().config().setAutoRead(false);
    try {
      services
          .requests()
          .execute(
              () -> {
                // this task owns one reference to the request; it gives it up exactly once
                AtomicBoolean released = new AtomicBoolean();
                Runnable free =
                    () -> {
                      if (released.compareAndSet(false, true)) {
                        req.release();
                      }
                    };
                Response response;
                try (ByteBufInputStream in = new ByteBufInputStream(req.content().duplicate())) {
                  int length = req.content().readableBytes();
                  response =
                      run(
                          new AnswerStream(ctx.alloc(), ctx, keepAlive),
                          out -> api.handle(route, uri.parameters(), in, length, free, out),
                          null);
                } catch (IOException e) {
                  response = Response.of(EnclaveApiService.internal(e));
                } finally {
                  free.run();
                }
                Response done = response;
                ctx.channel()
                    .eventLoop()
                    .execute(() -> finish(ctx, route.path, start, keepAlive, done));
              });
    } catch (RejectedExecutionException e) {
      req.release();
      finish(ctx, route.path, start, keepAlive, overloaded());
    }
  }

  /**
   * {@code POST /v1/send} with its body still arriving: runs on the request pool reading the body
   * from its pipe; the channel keeps reading (the pipe applies back-pressure). When the answer is
   * ready before the whole body was read (an error), the connection is closed after the answer.
   */
  private void streamedSend(ChannelHandlerContext ctx, SendBodyStream.StreamedRequest s) {
    long start = System.nanoTime();
    String route = Route.SEND.path;
    boolean keepAlive = HttpUtil.isKeepAlive(s.head());
    inFlight = true;
    try {
      services
          .requests()
          .execute(
              () -> {
                Response response =
                    run(
                        new AnswerStream(ctx.alloc(), ctx, keepAlive),
                        out -> api.send(s.body(), out),
                        s.body());
                if (!s.body().consumedToEnd() && !s.body().tooLarge() && !response.streamed()) {
                  s.body()
                      .skipRest(); // an early answer: read the rest so the connection stays usable
                } // (a streamed answer that failed closes the connection: its body is not read on)
                boolean drained = s.body().consumedToEnd();
                s.body().close();
                if (response.head().status() != 200) {
                  log.info(
                      "send refused after {} ms: {}{}",
                      (System.nanoTime() - start) / 1_000_000,
                      HttpResponseStatus.valueOf(response.head().status()),
                      drained ? "" : " (body not read to its end; closing)");
                }
                ctx.channel()
                    .eventLoop()
                    .execute(() -> finish(ctx, route, start, keepAlive && drained, response));
              });
    } catch (RejectedExecutionException e) {
      s.body().close();
      finish(ctx, route, start, false, overloaded());
    }
  }

  private static Response overloaded() {
    return Response.of(
        EnclaveApiService.error(ErrorCode.OVERLOADED, "the enclave is busy; retry later"));
  }

  /**
   * {@link #run(AnswerStream, Work, BodyPipe)} with an answer held whole in memory (no channel:
   * tests).
   */
  static Response run(ByteBufAllocator alloc, Work work, BodyPipe body) {
    return run(new AnswerStream(alloc, null, false), work, body);
  }

  /**
   * Runs {@code work} with {@code out} as its answer stream ({@link AnswerStream}: pieces of {@link
   * #ANSWER_PIECE} bytes, streamed to the connection once the answer outgrows one) and turns every
   * failure into an error answer: what was held is then discarded; what was already streamed is
   * ended by the error ({@link Response#streamed()}). A failure to read a streamed {@code body}
   * that did not arrive whole is the client's: {@code malformed_request}.
   */
  static Response run(AnswerStream out, Work work, BodyPipe body) {
    boolean ok = false;
    Answer whole; // an answer with its body: a route's own (not streamed), or a whole's
    try {
      Answer a = work.run(out);
      if (a.body() == null) {
        ok = true;
        return new Response(a, out.finish(), out.committed());
      }
      whole =
          out.committed() // a whole answer after a streamed one: a bug, never a mixed answer
              ? EnclaveApiService.internal(
                  new IllegalStateException("a whole answer after a streamed one"))
              : a;
    } catch (EnclaveApiException e) {
      whole = EnclaveApiService.error(e);
    } catch (BodyPipe.TooLargeException e) {
      whole = EnclaveApiService.error(ErrorCode.PAYLOAD_TOO_LARGE, e.getMessage());
    } catch (OutOfMemoryError e) {
      // the enclave's memory (the heap; the answer itself is streamed, at most AnswerStream.WINDOW
      // of it in direct memory, unless it is held whole) is the enclave's limit, not the client's
      // fault: never malformed_request
      log.warn(
          "out of memory while answering ({}): {}", e.getClass().getSimpleName(), e.getMessage());
      whole =
          EnclaveApiService.error(
              ErrorCode.OVERLOADED,
              "the enclave ran out of memory for this"
                  + " request's answer: split the send into smaller ones (fewer recipients or screens), or retry later");
    } catch (RuntimeException | IOException | Error e) {
      if (body == null || body.consumedToEnd() || body.tooLarge() || out.connectionFailed()) {
        whole = EnclaveApiService.internal(e);
      } else {
        log.info("send body unreadable: {}: {}", e.getClass().getSimpleName(), e.getMessage(), e);
        whole = EnclaveApiService.error(ErrorCode.MALFORMED_REQUEST, "request body unreadable");
      }
    } finally {
      if (!ok) {
        out.discard();
      }
    }
    if (!out.committed()) {
      return Response.of(whole);
    }
    log.warn(
        "answer failed after {} bytes of it were streamed: {}; ended with the error in its trailers{}",
        out.sentBytes(),
        whole.status(),
        out.connectionFailed() ? " (the connection failed: closed instead)" : "");
    return new Response(whole, Unpooled.EMPTY_BUFFER, true);
  }

  private void finish(
      ChannelHandlerContext ctx, String route, long start, boolean keepAlive, Response r) {
    Answer a = r.head();
    if (r.streamed()) {
      finishStreamed(ctx, route, start, keepAlive, r);
      return;
    }
    FullHttpResponse res =
        new DefaultFullHttpResponse(
            HttpVersion.HTTP_1_1, HttpResponseStatus.valueOf(a.status()), r.body());
    if (a.contentType() != null) {
      res.headers().set(HttpHeaderNames.CONTENT_TYPE, a.contentType());
    }
    res.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, r.body().readableBytes());
    if (a.retryAfter()) {
      res.headers().set(HttpHeaderNames.RETRY_AFTER, EnclaveApiService.RETRY_AFTER_SECONDS);
    }
    HttpUtil.setKeepAlive(res, keepAlive);
    services.metrics().request(route, a.status(), System.nanoTime() - start);
    inFlight = false;
    var f = ctx.writeAndFlush(res);
    if (!keepAlive) {
      f.addListener(ChannelFutureListener.CLOSE);
    }
    next(ctx);
  }

  /**
   * Ends an answer whose head and first pieces were streamed ({@link AnswerStream}): its last
   * chunk, or, for a request that failed after the commit, an empty last chunk with the error in
   * the trailers and a close (the connection's state is no longer known to both sides).
   */
  private void finishStreamed(
      ChannelHandlerContext ctx, String route, long start, boolean keepAlive, Response r) {
    Answer a = r.head();
    services.metrics().request(route, a.status(), System.nanoTime() - start);
    inFlight = false;
    boolean failed = a.body() != null;
    var f =
        ctx.writeAndFlush(failed ? AnswerStream.failLate(a) : new DefaultLastHttpContent(r.body()));
    if (failed || !keepAlive) {
      f.addListener(ChannelFutureListener.CLOSE);
      return; // pipelined requests are dropped with the connection (channelInactive)
    }
    next(ctx);
  }

  /** Takes the next pipelined request, or reads again. */
  private void next(ChannelHandlerContext ctx) {
    Object next = pending.poll();
    if (next != null) {
      try {
        channelRead0(ctx, next);
      } finally {
        ReferenceCountUtil.release(next);
      }
      return;
    }
    ctx.channel().config().setAutoRead(true);
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) throws Exception {
    Object r;
    while ((r = pending.poll()) != null) {
      if (r instanceof SendBodyStream.StreamedRequest s) {
        s.body().close();
      }
      ReferenceCountUtil.release(r);
    }
    super.channelInactive(ctx);
  }

  /** A complete JSON error response, for handlers ahead of the router. */
  static FullHttpResponse error(
      ByteBufAllocator alloc, ErrorCode code, String message, boolean close) {
    byte[] body = Json.encode(ErrorBody.of(code, message));
    FullHttpResponse res =
        new DefaultFullHttpResponse(
            HttpVersion.HTTP_1_1,
            HttpResponseStatus.valueOf(code.status()),
            alloc.buffer(body.length).writeBytes(body));
    res.headers().set(HttpHeaderNames.CONTENT_TYPE, EnclaveApiService.JSON);
    res.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, body.length);
    if (close) {
      res.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
    }
    return res;
  }

  @Override
  public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
    if (evt instanceof IdleStateEvent && !inFlight) {
      ctx.close();
      return;
    }
    super.userEventTriggered(ctx, evt);
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    log.debug("connection error: {}", cause.getClass().getSimpleName());
    ctx.close();
  }
}
