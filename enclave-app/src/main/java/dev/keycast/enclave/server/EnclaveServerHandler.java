package dev.keycast.enclave.server;

import com.fasterxml.jackson.core.JsonProcessingException;
import dev.keycast.enclave.keyset.KeySetException;
import dev.keycast.protocol.Base64Url;
import dev.keycast.protocol.Json;
import dev.keycast.protocol.MalformedInputException;
import dev.keycast.protocol.api.EnclaveApi;
import dev.keycast.protocol.api.ErrorBody;
import dev.keycast.protocol.api.ErrorCode;
import dev.keycast.protocol.keyset.SealedKeySet;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufInputStream;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.TooLongFrameException;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.netty.handler.timeout.IdleStateEvent;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.RejectedExecutionException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Routes the enclave API (api.md section 1), decodes and encodes JSON, and maps failures to
 * {@link ErrorBody} answers. Answers from memory (health, ready, metrics) are written on the event
 * loop; everything else runs on {@link EnclaveServices#requests()} and its answer is written back
 * on the channel's event loop. While a request runs the channel stops reading (back-pressure).
 *
 * <p>One instance per connection.
 */
final class EnclaveServerHandler extends SimpleChannelInboundHandler<Object> {
  private static final Logger log = LoggerFactory.getLogger(EnclaveServerHandler.class);
  /** Seconds a client should wait before retrying a 503. */
  static final String RETRY_AFTER_SECONDS = "5";
  /** Pipelined requests held while one runs; more closes the connection. */
  static final int MAX_PIPELINED = 16;

  private final EnclaveServices services;
  /** Requests that arrived (pipelined) while one was in flight; answered in order. */
  private final java.util.ArrayDeque<Object> pending = new java.util.ArrayDeque<>();
  private boolean inFlight;

  EnclaveServerHandler(EnclaveServices services) {
    this.services = services;
  }

  /** The routes, with the path template that labels their metrics. */
  private enum Route {
    HEALTH(HttpMethod.GET, "/v1/health"),
    READY(HttpMethod.GET, "/v1/ready"),
    ATTESTATION(HttpMethod.GET, "/v1/attestation"),
    KEYSET_INIT(HttpMethod.POST, "/v1/keyset/init"),
    KEYSET_UNSEAL(HttpMethod.POST, "/v1/keyset/unseal"),
    KEYSET_REWRAP(HttpMethod.POST, "/v1/keyset/rewrap"),
    CREDENTIALS(HttpMethod.POST, "/v1/credentials"),
    VALIDATE(HttpMethod.POST, "/v1/recipients/validate"),
    SEND(HttpMethod.POST, "/v1/send"),
    FORWARD(HttpMethod.POST, "/v1/forward"),
    SENDERS(HttpMethod.GET, "/v1/senders"),
    SENDERS_GENESIS(HttpMethod.POST, "/v1/senders/genesis"),
    SENDERS_RESTORE(HttpMethod.POST, "/v1/senders/restore"),
    SENDERS_UPDATE(HttpMethod.POST, "/v1/senders/update"),
    METRICS(HttpMethod.GET, "/v1/metrics");

    final HttpMethod method;
    final String path;

    Route(HttpMethod method, String path) {
      this.method = method;
      this.path = path;
    }

    static Route forPath(String path) {
      for (Route r : values()) {
        if (r.path.equals(path)) {
          return r;
        }
      }
      return null;
    }
  }

  /** A finished answer: status, body, content type and extra headers. */
  private record Answer(HttpResponseStatus status, ByteBuf body, String contentType, boolean retryAfter) {
    static Answer json(HttpResponseStatus status, Object value) {
      return new Answer(status, Unpooled.wrappedBuffer(Json.encode(value)), JSON, false);
    }
  }

  private static final String JSON = "application/json";

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
      pending.add(io.netty.util.ReferenceCountUtil.retain(msg));
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
      Throwable cause = req.decoderResult().cause();
      ErrorCode code = cause instanceof TooLongFrameException
          ? ErrorCode.PAYLOAD_TOO_LARGE : ErrorCode.MALFORMED_REQUEST;
      String message = cause instanceof TooLongFrameException
          ? "request line or headers too long" : "malformed HTTP request";
      services.metrics().request("malformed", code.status(), System.nanoTime() - start);
      ctx.writeAndFlush(error(ctx.alloc(), code, message, true)).addListener(ChannelFutureListener.CLOSE);
      return;
    }
    boolean keepAlive = HttpUtil.isKeepAlive(req);
    QueryStringDecoder uri = new QueryStringDecoder(req.uri());
    Route route = Route.forPath(uri.path());
    if (route == null) {
      finish(ctx, "other", start, keepAlive,
          errorAnswer(new ApiException(ErrorCode.NOT_FOUND, "no such path")));
      return;
    }
    if (!route.method.equals(req.method())) {
      finish(ctx, route.path, start, keepAlive, errorAnswer(new ApiException(
          ErrorCode.METHOD_NOT_ALLOWED, route.path + " takes " + route.method)));
      return;
    }
    switch (route) {
      case HEALTH -> finish(ctx, route.path, start, keepAlive,
          Answer.json(HttpResponseStatus.OK, java.util.Map.of("status", "ok")));
      case READY -> {
        EnclaveApi.Readiness r = services.keys().readiness();
        Answer a = Answer.json(r.ready() ? HttpResponseStatus.OK : HttpResponseStatus.SERVICE_UNAVAILABLE, r);
        finish(ctx, route.path, start, keepAlive,
            r.ready() ? a : new Answer(a.status(), a.body(), JSON, true));
      }
      case METRICS -> finish(ctx, route.path, start, keepAlive, new Answer(HttpResponseStatus.OK,
          Unpooled.wrappedBuffer(services.metrics().render().getBytes(StandardCharsets.UTF_8)),
          "text/plain; version=0.0.4; charset=utf-8", false));
      default -> offload(ctx, route, uri, req.retain(), start, keepAlive);
    }
  }

  private void offload(ChannelHandlerContext ctx, Route route, QueryStringDecoder uri,
      FullHttpRequest req, long start, boolean keepAlive) {
    inFlight = true;
    ctx.channel().config().setAutoRead(false);
    try {
      services.requests().execute(() -> {
        // this task owns one reference to the request; it gives it up exactly once
        java.util.concurrent.atomic.AtomicBoolean released = new java.util.concurrent.atomic.AtomicBoolean();
        Runnable free = () -> {
          if (released.compareAndSet(false, true)) {
            req.release();
          }
        };
        Answer answer;
        try {
          answer = handle(ctx.alloc(), route, uri, req.content(), free);
        } catch (ApiException e) {
          answer = errorAnswer(e);
        } catch (RuntimeException | IOException | Error e) {
          answer = internal(e);
        } finally {
          free.run();
        }
        Answer done = answer;
        ctx.channel().eventLoop().execute(() -> finish(ctx, route.path, start, keepAlive, done));
      });
    } catch (RejectedExecutionException e) {
      req.release();
      finish(ctx, route.path, start, keepAlive, errorAnswer(
          new ApiException(ErrorCode.OVERLOADED, "the enclave is busy; retry later")));
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
      services.requests().execute(() -> {
        Answer answer;
        try {
          answer = streamed(ctx.alloc(), out -> services.send().send(s.body(), out));
        } catch (ApiException e) {
          log.info("send refused: {} {}", e.code().code(), e.getMessage());
          answer = errorAnswer(e);
        } catch (BodyPipe.TooLargeException e) {
          answer = errorAnswer(new ApiException(ErrorCode.PAYLOAD_TOO_LARGE, e.getMessage()));
        } catch (RuntimeException | IOException | Error e) {
          if (s.body().consumedToEnd() || s.body().tooLarge()) {
            answer = internal(e);
          } else {
            log.info("send body unreadable: {}: {}", e.getClass().getSimpleName(), e.getMessage(), e);
            answer = errorAnswer(new ApiException(ErrorCode.MALFORMED_REQUEST, "request body unreadable"));
          }
        }
        if (!s.body().consumedToEnd() && !s.body().tooLarge()) {
          s.body().skipRest(); // an early answer: read the rest so the connection stays usable
        }
        boolean drained = s.body().consumedToEnd();
        s.body().close();
        if (answer.status().code() != 200) {
          log.info("send refused after {} ms: {}{}", (System.nanoTime() - start) / 1_000_000,
              answer.status(), drained ? "" : " (body not read to its end; closing)");
        }
        Answer done = answer;
        ctx.channel().eventLoop().execute(() -> finish(ctx, route, start, keepAlive && drained, done));
      });
    } catch (RejectedExecutionException e) {
      s.body().close();
      finish(ctx, route, start, false, errorAnswer(
          new ApiException(ErrorCode.OVERLOADED, "the enclave is busy; retry later")));
    }
  }

  /** Runs one request off the event loop. */
  private Answer handle(ByteBufAllocator alloc, Route route, QueryStringDecoder uri, ByteBuf body,
      Runnable freeBody) throws ApiException, IOException {
    return switch (route) {
      case ATTESTATION -> {
        List<String> nonce = uri.parameters().get("nonce");
        if (nonce != null && nonce.size() > 1) {
          throw new ApiException(ErrorCode.MALFORMED_REQUEST, "nonce is given more than once");
        }
        yield Answer.json(HttpResponseStatus.OK,
            services.attestation().attest(nonce == null ? null : nonce.getFirst()));
      }
      case KEYSET_INIT -> {
        EnclaveApi.InitRequest r = decode(body, EnclaveApi.InitRequest.class);
        require(r.kmsKeyId(), "kms_key_id");
        require(r.region(), "region");
        require(r.credentials(), "credentials");
        try {
          var done = services.keys().init(r.kmsKeyId(), r.region(), r.credentials());
          log.info("key set {} initialized", done.bundle().keySetId());
          services.senders().keySetCreated(done.bundle().keySetId()); // issue 23: genesis allowed
          yield Answer.json(HttpResponseStatus.OK, new EnclaveApi.KeySetResponse(
              Base64Url.encode(done.sealedKeySet()), AttestationService.apiBundle(done.bundle())));
        } catch (KeySetException e) {
          throw new ApiException(e.code(), e.getMessage());
        }
      }
      case KEYSET_UNSEAL -> {
        EnclaveApi.UnsealRequest r = decode(body, EnclaveApi.UnsealRequest.class);
        require(r.region(), "region");
        require(r.credentials(), "credentials");
        byte[] sealed;
        try {
          sealed = Base64Url.decode("sealed_key_set", r.sealedKeySet(), SealedKeySet.MAX_ENCODED);
        } catch (MalformedInputException e) {
          throw new ApiException(ErrorCode.MALFORMED_REQUEST, e.getMessage());
        }
        try {
          var bundle = services.keys().unseal(sealed, r.region(), r.credentials());
          log.info("key set {} unsealed", bundle.keySetId());
          yield Answer.json(HttpResponseStatus.OK,
              new EnclaveApi.KeySetResponse(null, AttestationService.apiBundle(bundle)));
        } catch (KeySetException e) {
          throw new ApiException(e.code(), e.getMessage());
        }
      }
      case KEYSET_REWRAP -> Answer.json(HttpResponseStatus.OK, KeySetRewrapRoute.answer(services.keys(),
          decode(body, dev.keycast.protocol.upgrade.RewrapRequest.class)));
      case CREDENTIALS -> {
        EnclaveApi.CredentialsRequest r = decode(body, EnclaveApi.CredentialsRequest.class);
        require(r.credentials(), "credentials");
        services.keys().updateCredentials(r.credentials());
        yield new Answer(HttpResponseStatus.NO_CONTENT, Unpooled.EMPTY_BUFFER, null, false);
      }
      case VALIDATE -> Answer.json(HttpResponseStatus.OK,
          services.recipients().validate(decode(body, EnclaveApi.ValidateRequest.class)));
      case SEND -> {
        if (!body.isReadable()) {
          throw new ApiException(ErrorCode.MALFORMED_REQUEST, "empty body; expected a JSON object");
        }
        // read incrementally: candidates are decided and sealed chunk by chunk as they are parsed
        yield streamed(alloc, out -> {
          try (ByteBufInputStream in = new ByteBufInputStream(body.duplicate())) {
            services.send().send(in, out);
          }
        });
      }
      case FORWARD -> {
        EnclaveApi.ForwardRequest r = decode(body, EnclaveApi.ForwardRequest.class);
        freeBody.run();
        yield streamed(alloc, out -> services.send().forward(r, out));
      }
      // sender identity (issue 23): SenderAuthorizer
      case SENDERS -> Answer.json(HttpResponseStatus.OK, services.senders().view());
      case SENDERS_GENESIS -> Answer.json(HttpResponseStatus.OK,
          services.senders().genesis(decode(body, EnclaveApi.SenderGenesisRequest.class)));
      case SENDERS_RESTORE -> Answer.json(HttpResponseStatus.OK,
          services.senders().restore(decode(body, EnclaveApi.SenderRestoreRequest.class)));
      case SENDERS_UPDATE -> Answer.json(HttpResponseStatus.OK,
          services.senders().update(decode(body, dev.keycast.protocol.sender.SenderSetUpdate.Json.class)));
      case HEALTH, READY, METRICS -> throw new AssertionError("answered on the event loop");
    };
  }

  private interface JsonWriter {
    void write(OutputStream out) throws ApiException, IOException;
  }

  /** Size of each piece of a streamed answer. */
  static final int ANSWER_PIECE = 256 * 1024;

  /**
   * Collects an answer in pieces of {@link #ANSWER_PIECE} bytes (a composite buffer): a large
   * answer is never copied into a bigger buffer as it grows, so it costs its own size, once.
   */
  private static Answer streamed(ByteBufAllocator alloc, JsonWriter writer)
      throws ApiException, IOException {
    PiecesOutputStream out = new PiecesOutputStream(alloc);
    boolean ok = false;
    try {
      writer.write(out);
      Answer a = new Answer(HttpResponseStatus.OK, out.finish(), JSON, false);
      ok = true;
      return a;
    } finally {
      if (!ok) {
        out.discard();
      }
    }
  }

  /** An output stream into a composite buffer of fixed-size pieces. */
  private static final class PiecesOutputStream extends OutputStream {
    private final ByteBufAllocator alloc;
    private final io.netty.buffer.CompositeByteBuf answer;
    private ByteBuf piece;

    PiecesOutputStream(ByteBufAllocator alloc) {
      this.alloc = alloc;
      this.answer = alloc.compositeBuffer(Integer.MAX_VALUE);
    }

    @Override
    public void write(int b) {
      room().writeByte(b);
    }

    @Override
    public void write(byte[] b, int off, int len) {
      while (len > 0) {
        ByteBuf p = room();
        int n = Math.min(len, p.writableBytes());
        p.writeBytes(b, off, n);
        off += n;
        len -= n;
      }
    }

    private ByteBuf room() {
      if (piece == null || !piece.isWritable()) {
        if (piece != null) {
          ByteBuf full = piece;
          piece = null; // owned by the composite from here on
          answer.addComponent(true, full);
        }
        piece = alloc.buffer(ANSWER_PIECE, ANSWER_PIECE);
      }
      return piece;
    }

    /** The whole answer; the stream is done. */
    ByteBuf finish() {
      if (piece != null) {
        answer.addComponent(true, piece);
        piece = null;
      }
      return answer;
    }

    void discard() {
      if (piece != null) {
        piece.release();
        piece = null;
      }
      answer.release();
    }
  }

  /** Decodes a JSON body with the shared mapper, straight from the request buffer. */
  static <T> T decode(ByteBuf body, Class<T> type) throws ApiException {
    if (!body.isReadable()) {
      throw new ApiException(ErrorCode.MALFORMED_REQUEST, "empty body; expected a JSON object");
    }
    try (ByteBufInputStream in = new ByteBufInputStream(body.duplicate())) {
      T value = Json.mapper().readValue((java.io.InputStream) in, type);
      if (value == null) {
        throw new ApiException(ErrorCode.MALFORMED_REQUEST, "expected a JSON object, got null");
      }
      return value;
    } catch (JsonProcessingException e) {
      throw new ApiException(ErrorCode.MALFORMED_REQUEST, "malformed JSON: " + describe(e));
    } catch (IOException e) {
      throw new ApiException(ErrorCode.MALFORMED_REQUEST, "unreadable JSON body");
    } catch (IllegalArgumentException e) {
      throw new ApiException(ErrorCode.MALFORMED_REQUEST, String.valueOf(e.getMessage()));
    }
  }

  /**
   * Says what is wrong with a body without quoting it: Jackson's own messages quote the offending
   * token or value, and credentials bodies carry an AWS secret key and session token. Only the
   * location, the JSON path and our records' own validation messages (which quote no input) appear.
   */
  static String describe(JsonProcessingException e) {
    Throwable root = e;
    while (root.getCause() != null && root.getCause() != root) {
      root = root.getCause();
    }
    if (root instanceof IllegalArgumentException && root.getMessage() != null
        && e instanceof com.fasterxml.jackson.databind.exc.ValueInstantiationException) {
      String m = root.getMessage();
      return m.length() > 200 ? m.substring(0, 200) + "..." : m;
    }
    String where = e.getLocation() == null ? ""
        : " at line " + e.getLocation().getLineNr() + ", column " + e.getLocation().getColumnNr();
    if (e instanceof com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException u) {
      String name = String.valueOf(u.getPropertyName());
      return "unknown field \"" + (name.length() > 64 ? name.substring(0, 64) + "..." : name) + "\"" + where;
    }
    if (e instanceof com.fasterxml.jackson.databind.JsonMappingException m && !m.getPath().isEmpty()) {
      StringBuilder path = new StringBuilder();
      for (var ref : m.getPath()) {
        path.append(ref.getFieldName() != null ? "." + ref.getFieldName() : "[" + ref.getIndex() + "]");
      }
      return "value of the wrong type or format at " + path.substring(1) + where;
    }
    return "syntax error" + where;
  }

  private static void require(Object value, String field) throws ApiException {
    if (value == null) {
      throw new ApiException(ErrorCode.MALFORMED_REQUEST, field + " is missing");
    }
  }

  private void finish(ChannelHandlerContext ctx, String route, long start, boolean keepAlive, Answer a) {
    FullHttpResponse res = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, a.status(), a.body());
    if (a.contentType() != null) {
      res.headers().set(HttpHeaderNames.CONTENT_TYPE, a.contentType());
    }
    res.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, a.body().readableBytes());
    if (a.retryAfter()) {
      res.headers().set(HttpHeaderNames.RETRY_AFTER, RETRY_AFTER_SECONDS);
    }
    HttpUtil.setKeepAlive(res, keepAlive);
    services.metrics().request(route, a.status().code(), System.nanoTime() - start);
    inFlight = false;
    var f = ctx.writeAndFlush(res);
    if (!keepAlive) {
      f.addListener(ChannelFutureListener.CLOSE);
    }
    Object next = pending.poll();
    if (next != null) {
      try {
        channelRead0(ctx, next);
      } finally {
        io.netty.util.ReferenceCountUtil.release(next);
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
      io.netty.util.ReferenceCountUtil.release(r);
    }
    super.channelInactive(ctx);
  }

  private static Answer errorAnswer(ApiException e) {
    ErrorBody body = ErrorBody.of(e.code(), e.getMessage());
    return new Answer(HttpResponseStatus.valueOf(e.code().status()),
        Unpooled.wrappedBuffer(Json.encode(body)), JSON, e.code().status() == 503);
  }

  private static Answer internal(Throwable e) {
    String id = UUID.randomUUID().toString();
    log.error("internal error {}: {}", id, e.getClass().getName(), e);
    return errorAnswer(new ApiException(ErrorCode.INTERNAL, "internal error; correlation id " + id));
  }

  /** A complete JSON error response, for handlers ahead of the router. */
  static FullHttpResponse error(ByteBufAllocator alloc, ErrorCode code, String message, boolean close) {
    byte[] body = Json.encode(ErrorBody.of(code, message));
    FullHttpResponse res = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1,
        HttpResponseStatus.valueOf(code.status()), alloc.buffer(body.length).writeBytes(body));
    res.headers().set(HttpHeaderNames.CONTENT_TYPE, JSON);
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
