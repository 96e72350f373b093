package dev.keycast.host.bridge;

import dev.keycast.protocol.Json;
import dev.keycast.protocol.api.ErrorCode;
import dev.keycast.transport.Endpoint;
import dev.keycast.transport.Transports;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.util.AttributeKey;
import io.netty.util.concurrent.ScheduledFuture;
import java.io.IOException;
import java.io.OutputStream;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * HTTP/1.1 client of the enclave API over {@code vsock://}, {@code unix:} or {@code tcp://}.
 *
 * <p>Connections are pooled and kept alive ({@link ConnectionPool}). At most
 * {@link Settings#maxConnections()} are lent at once; further requests wait, first come first
 * served, at most {@link Settings#maxWaiting()} of them, for at most
 * {@link Settings#acquireTimeout()} (then {@code overloaded}). Each request has a connect timeout
 * and a response timeout (then {@code enclave_unavailable}; the connection is closed). There is no
 * worker pool: the I/O runs on the event loop, and the calling thread takes a connection and waits
 * for the answer itself, blocking: {@link #call} and {@link #stream} are meant for virtual
 * threads.
 *
 * <p>A request that fails because a pooled keep-alive connection was closed by the enclave before
 * any answer byte arrived is retried once on a fresh connection. Every enclave API call is safe to
 * repeat (sends and forwards are deterministic by payload).
 */
public final class EnclaveClient implements AutoCloseable {

  /**
   * Settings of the client.
   *
   * @param endpoint the enclave's address
   * @param maxConnections most open connections (the enclave's concurrency)
   * @param maxWaiting most requests waiting for a connection
   * @param connectTimeout limit of one connect
   * @param acquireTimeout how long a request may wait for a free connection
   * @param responseTimeout limit from writing a request to its full answer
   * @param maxResponseBytes largest answer accepted (send answers carry every envelope)
   */
  public record Settings(
      Endpoint endpoint,
      int maxConnections,
      int maxWaiting,
      Duration connectTimeout,
      Duration acquireTimeout,
      Duration responseTimeout,
      int maxResponseBytes) {
    /** Validates the settings. */
    public Settings {
      Objects.requireNonNull(endpoint, "endpoint");
      if (maxConnections < 1 || maxWaiting < 1 || maxResponseBytes < 1024) {
        throw new IllegalArgumentException(
            "maxConnections, maxWaiting and maxResponseBytes must be positive");
      }
      for (Duration d : new Duration[] {connectTimeout, acquireTimeout, responseTimeout}) {
        if (d == null || d.isNegative() || d.isZero()) {
          throw new IllegalArgumentException("timeouts must be positive");
        }
      }
    }

    /** Defaults for {@code endpoint}: 64 connections, 10,000 waiting, 5 s connect, 30 s wait, 300 s answer, 1 GiB. */
    public static Settings defaults(Endpoint endpoint) {
      return new Settings(
          endpoint,
          64,
          10_000,
          Duration.ofSeconds(5),
          Duration.ofSeconds(30),
          Duration.ofSeconds(300),
          1 << 30);
    }

    /** A copy with another connection limit. */
    public Settings withMaxConnections(int n) {
      return new Settings(
          endpoint,
          n,
          maxWaiting,
          connectTimeout,
          acquireTimeout,
          responseTimeout,
          maxResponseBytes);
    }

    /** A copy with another response timeout. */
    public Settings withResponseTimeout(Duration d) {
      return new Settings(
          endpoint,
          maxConnections,
          maxWaiting,
          connectTimeout,
          acquireTimeout,
          d,
          maxResponseBytes);
    }
  }

  private static final AttributeKey<CompletableFuture<EnclaveResponse>> PENDING =
      AttributeKey.valueOf("keycast.enclave.pending");
  private static final AttributeKey<Boolean> USED = AttributeKey.valueOf("keycast.enclave.used");
  private static final AttributeKey<Boolean> REUSABLE =
      AttributeKey.valueOf("keycast.enclave.reusable");

  /** Whether the head of the pending request's answer arrived (its body may still be coming). */
  private static final AttributeKey<Boolean> STARTED =
      AttributeKey.valueOf("keycast.enclave.started");

  private final Settings settings;
  private final ConnectionPool pool;
  private final AtomicLong errors = new AtomicLong();
  private final AtomicLong requests = new AtomicLong();

  /** A client using {@code group} for its connections (the caller owns the group). */
  public EnclaveClient(Settings settings, EventLoopGroup group) {
    this.settings = Objects.requireNonNull(settings, "settings");
    this.pool =
        new ConnectionPool(
            Transports.bootstrap(settings.endpoint(), group, settings.connectTimeout())
                .handler(
                    new ChannelInitializer<Channel>() {
                      @Override
                      protected void initChannel(Channel ch) {
                        ch.pipeline()
                            .addLast(
                                new HttpClientCodec(4096, 16 * 1024, 64 * 1024),
                                new AnswerStarted(),
                                new AnswerSpool(settings.maxResponseBytes()),
                                new ResponseHandler());
                      }
                    }),
            settings.maxConnections(),
            settings.maxWaiting(),
            settings.acquireTimeout().toNanos());
  }

  /** The settings. */
  public Settings settings() {
    return settings;
  }

  /** Requests sent so far. */
  public long requestCount() {
    return requests.get();
  }

  /** Requests that failed to get any answer (connect, timeout, closed). */
  public long transportErrorCount() {
    return errors.get();
  }

  /** GET {@code path}, waiting for the answer. */
  public EnclaveResponse get(String path) throws EnclaveException, InterruptedException {
    return call(HttpMethod.GET, path, null);
  }

  /** POST {@code request} as JSON to {@code path} and decode a 2xx answer into {@code type}. */
  public <T> T post(String path, Object request, Class<T> type)
      throws EnclaveException, InterruptedException {
    return call(HttpMethod.POST, path, Json.encode(request))
        .decode(type, settings.maxResponseBytes());
  }

  /**
   * Sends a request and waits for its answer (any status). Blocks, also while waiting for a free
   * connection: intended for virtual threads.
   */
  public EnclaveResponse call(HttpMethod method, String path, byte[] body)
      throws EnclaveException, InterruptedException {
    start(method, path);
    for (int attempt = 0; ; attempt++) {
      Channel ch = acquire();
      boolean reused = Boolean.TRUE.equals(ch.attr(USED).get());
      CompletableFuture<EnclaveResponse> answer = expectAnswer(ch, method, path);
      CompletableFuture<Void> released =
          releaseWhenDone(ch, answer, CompletableFuture.completedFuture(true));
      FullHttpRequest req =
          new DefaultFullHttpRequest(
              HttpVersion.HTTP_1_1,
              method,
              path,
              body == null ? Unpooled.EMPTY_BUFFER : Unpooled.wrappedBuffer(body));
      req.headers().set(HttpHeaderNames.HOST, "enclave");
      req.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.KEEP_ALIVE);
      if (body != null) {
        req.headers().set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.APPLICATION_JSON);
      }
      HttpUtil.setContentLength(req, body == null ? 0 : body.length);
      ch.writeAndFlush(req)
          .addListener(
              w -> {
                if (!w.isSuccess()) {
                  answer.completeExceptionally(
                      EnclaveException.unavailable(
                          "cannot write to the enclave: " + describe(w.cause())));
                  ch.close();
                }
              });
      EnclaveResponse r;
      try {
        r = answer.get();
      } catch (InterruptedException e) {
        answer.thenAccept(EnclaveResponse::close); // an answer that still comes is let go
        throw e;
      } catch (ExecutionException e) {
        released.join();
        if (attempt == 0 && reused && closedBeforeAnswer(e.getCause())) {
          continue; // a stale keep-alive connection: once more on a fresh one
        }
        throw failed(e.getCause());
      }
      released.join();
      return r.inMemory(); // only streamed sends read a spooled answer in passes
    }
  }

  /** Checks a request's method and path and counts it. */
  private void start(HttpMethod method, String path) {
    Objects.requireNonNull(method, "method");
    if (path == null || !path.startsWith("/")) {
      throw new IllegalArgumentException("path must start with /");
    }
    requests.incrementAndGet();
  }

  /** A connection of the pool (blocks while none is free). */
  private Channel acquire() throws EnclaveException, InterruptedException {
    try {
      return pool.acquire();
    } catch (ConnectionPool.AcquireException e) {
      errors.incrementAndGet();
      throw switch (e.failure()) {
        case TOO_MANY_WAITING, TIMED_OUT ->
            new EnclaveException(
                ErrorCode.OVERLOADED, 503, "too many requests waiting for the enclave");
        case CLOSED -> EnclaveException.unavailable("the enclave client is closed");
        case CONNECT ->
            EnclaveException.unavailable(
                "cannot connect to the enclave at "
                    + settings.endpoint()
                    + ": "
                    + describe(e.getCause()));
      };
    }
  }

  /**
   * Marks {@code ch} as carrying one request and returns the future of its answer, which fails
   * after the response timeout (the connection is then closed).
   */
  private CompletableFuture<EnclaveResponse> expectAnswer(
      Channel ch, HttpMethod method, String path) {
    ch.attr(USED).set(true);
    ch.attr(REUSABLE).set(false);
    ch.attr(STARTED).set(false);
    CompletableFuture<EnclaveResponse> answer = new CompletableFuture<>();
    ch.attr(PENDING).set(answer);
    ScheduledFuture<?> timeout =
        ch.eventLoop()
            .schedule(
                () -> {
                  if (answer.completeExceptionally(
                      EnclaveException.unavailable(
                          "the enclave did not answer "
                              + method
                              + " "
                              + path
                              + " within "
                              + settings.responseTimeout().toSeconds()
                              + " s"))) {
                    ch.close();
                  }
                },
                settings.responseTimeout().toMillis(),
                TimeUnit.MILLISECONDS);
    answer.whenComplete((r, err) -> timeout.cancel(false));
    return answer;
  }

  /**
   * Gives {@code ch} back to the pool once its answer is had and its request body is no longer
   * being written ({@code bodyDone} completes with true when the whole body was written). The
   * connection is closed unless the answer allows keep-alive and the body was complete.
   */
  private CompletableFuture<Void> releaseWhenDone(
      Channel ch, CompletableFuture<EnclaveResponse> answer, CompletableFuture<Boolean> bodyDone) {
    return answer
        .handle((r, err) -> err == null)
        .thenAcceptBoth(
            bodyDone,
            (answered, complete) -> {
              ch.attr(PENDING).set(null);
              pool.release(
                  ch, answered && complete && Boolean.TRUE.equals(ch.attr(REUSABLE).get()));
            });
  }

  private static boolean closedBeforeAnswer(Throwable err) {
    return err instanceof EnclaveException ee
        && ee.failure() == EnclaveException.Failure.CLOSED_BEFORE_ANSWER;
  }

  static final String CLOSED = "the enclave closed the connection";
  static final String CLOSED_MID_ANSWER =
      "the enclave closed the connection in the middle of its answer" + " (nothing of it is used)";

  /**
   * Writes a request body as it is produced. May run twice for one request (a retry on a fresh
   * connection, see {@link EnclaveClient}): it must produce the same request each time.
   *
   * @param <X> the writer's own checked failure
   */
  @FunctionalInterface
  public interface BodyWriter<X extends Exception> {
    /** Writes the body to {@code out} (not closed by the writer). */
    void writeTo(OutputStream out) throws IOException, X;
  }

  /** The streamed body exceeded its limit; nothing more was sent and the request was abandoned. */
  public static final class BodyTooLargeException extends IOException {
    private final long limit;

    BodyTooLargeException(long limit) {
      super("the request body exceeds " + limit + " bytes");
      this.limit = limit;
    }

    /** The limit that was exceeded. */
    public long limit() {
      return limit;
    }
  }

  /**
   * Sends a request whose JSON body is written by {@code body} while it is produced, with chunked
   * transfer encoding, and waits for the answer (intended for virtual threads). At most
   * {@link #BODY_WINDOW} bytes of the body are buffered and unsent at any time: the writer blocks
   * until the enclave has taken earlier pieces (back-pressure), so a body of any size costs a
   * bounded amount of memory. More than {@code maxBodyBytes} abandons the request (the connection
   * is closed) with {@link BodyTooLargeException}. When the enclave answers before the body is
   * complete (an early error), writing stops, the answer is returned and the connection closed.
   * A failure of {@code body} itself abandons the request the same way and is rethrown.
   */
  public <X extends Exception> EnclaveResponse stream(
      HttpMethod method, String path, long maxBodyBytes, BodyWriter<X> body)
      throws EnclaveException, InterruptedException, BodyTooLargeException, X {
    Objects.requireNonNull(body, "body");
    start(method, path);
    for (int attempt = 0; ; attempt++) {
      Channel ch = acquire();
      boolean reused = Boolean.TRUE.equals(ch.attr(USED).get());
      CompletableFuture<EnclaveResponse> answer = expectAnswer(ch, method, path);
      CompletableFuture<Boolean> bodyDone = new CompletableFuture<>();
      CompletableFuture<Void> released = releaseWhenDone(ch, answer, bodyDone);
      BodyStream out = new BodyStream(ch, answer, maxBodyBytes);
      boolean complete = false;
      try {
        HttpRequest head = new DefaultHttpRequest(HttpVersion.HTTP_1_1, method, path);
        head.headers().set(HttpHeaderNames.HOST, "enclave");
        head.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.KEEP_ALIVE);
        head.headers().set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.APPLICATION_JSON);
        HttpUtil.setTransferEncodingChunked(head, true);
        out.start(head);
        body.writeTo(out);
        out.finish();
        complete = true;
      } catch (BodyStream.Interrupted e) {
        // the answer came (or the connection failed) while writing: the answer decides below
      } catch (BodyTooLargeException e) {
        abandon(ch, answer);
        throw e;
      } catch (java.io.InterruptedIOException e) {
        abandon(ch, answer);
        throw new InterruptedException(e.getMessage());
      } catch (IOException e) {
        abandon(ch, answer);
        errors.incrementAndGet();
        throw EnclaveException.unavailable("cannot write to the enclave: " + describe(e));
      } catch (Exception | Error e) {
        // the writer's own failure: abandon the request; the enclave sees a truncated body and
        // drops it
        abandon(ch, answer);
        throw e;
      } finally {
        out.release();
        bodyDone.complete(complete);
      }
      released.join();
      try {
        return answer.get(); // the caller closes it (a large answer is spooled)
      } catch (InterruptedException e) {
        answer.thenAccept(EnclaveResponse::close); // an answer that still comes is let go
        throw e;
      } catch (ExecutionException e) {
        if (attempt == 0 && reused && closedBeforeAnswer(e.getCause())) {
          continue; // a stale keep-alive connection: once more on a fresh one
        }
        throw failed(e.getCause());
      }
    }
  }

  private static void abandon(Channel ch, CompletableFuture<EnclaveResponse> answer) {
    answer.completeExceptionally(EnclaveException.unavailable("request abandoned"));
    ch.close();
  }

  /** Most body bytes written to a connection and not yet taken by it. */
  public static final int BODY_WINDOW = 1 << 20;

  static String describe(Throwable t) {
    if (t == null) {
      return "unknown error";
    }
    String m = t.getMessage();
    return t.getClass().getSimpleName() + (m == null ? "" : ": " + m);
  }

  /** Closes idle connections; requests in flight fail. The event loop group is not shut down. */
  @Override
  public void close() {
    pool.close();
  }

  /**
   * Notes that an answer's head arrived, ahead of the aggregation: a connection that closes after
   * it (a streamed answer cut off) is no stale keep-alive connection, and its request is not
   * retried.
   */
  private static final class AnswerStarted extends io.netty.channel.ChannelInboundHandlerAdapter {
    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      if (msg instanceof io.netty.handler.codec.http.HttpResponse) {
        ctx.channel().attr(STARTED).set(true);
      }
      ctx.fireChannelRead(msg);
    }
  }

  /**
   * The answer of a whole {@code msg}: itself, or, for a streamed answer whose request failed
   * after part of it was sent (api.md section 1, "Streamed answers"), the error its trailers
   * carry (its partial body is dropped). Null when those trailers are malformed.
   */
  static EnclaveResponse answerOf(AnswerSpool.Whole msg) {
    HttpHeaders trailers =
        msg.trailers() == null
            ? io.netty.handler.codec.http.EmptyHttpHeaders.INSTANCE
            : msg.trailers();
    String status = trailers.get(dev.keycast.protocol.api.EnclaveApi.ANSWER_ERROR_STATUS_TRAILER);
    String error = trailers.get(dev.keycast.protocol.api.EnclaveApi.ANSWER_ERROR_TRAILER);
    if (status == null && error == null) {
      String type = msg.head().headers().get(HttpHeaderNames.CONTENT_TYPE, "");
      return new EnclaveResponse(msg.head().status().code(), type, msg.body(), msg.file());
    }
    if (msg.file() != null) {
      msg.file().close(); // the partial body is dropped
    }
    try {
      int code = Integer.parseInt(status == null ? "" : status);
      if (code < 400 || code > 599 || error == null) {
        return null;
      }
      byte[] body = dev.keycast.protocol.Base64Url.decode("answer error", error, 64 * 1024);
      return new EnclaveResponse(code, "application/json", body);
    } catch (NumberFormatException | dev.keycast.protocol.MalformedInputException e) {
      return null;
    }
  }

  /** Completes the pending answer of its channel. */
  private static final class ResponseHandler
      extends SimpleChannelInboundHandler<AnswerSpool.Whole> {
    @Override
    protected void channelRead0(ChannelHandlerContext ctx, AnswerSpool.Whole msg) {
      CompletableFuture<EnclaveResponse> pending = ctx.channel().attr(PENDING).get();
      if (pending == null) {
        if (msg.file() != null) {
          msg.file().close();
        }
        ctx.close(); // an answer nobody asked for: the connection is out of step
        return;
      }
      if (!msg.result().isSuccess()) {
        pending.completeExceptionally(
            EnclaveException.unavailable(
                "malformed answer from the enclave: " + describe(msg.result().cause())));
        return;
      }
      EnclaveResponse answer = answerOf(msg);
      if (answer == null) {
        pending.completeExceptionally(
            EnclaveException.unavailable(
                "malformed answer from the enclave: its error trailers do not read"));
        ctx.close();
        return;
      }
      // an answer ended by an error in its trailers: the enclave closes the connection
      ctx.channel()
          .attr(REUSABLE)
          .set(HttpUtil.isKeepAlive(msg.head()) && msg.trailers().isEmpty());
      if (!pending.complete(answer)) {
        answer.close(); // nobody waits for it any more (abandoned): its file goes
      }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
      CompletableFuture<EnclaveResponse> pending = ctx.channel().attr(PENDING).get();
      if (pending != null) {
        pending.completeExceptionally(closed(ctx, CLOSED));
      }
      super.channelInactive(ctx);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      CompletableFuture<EnclaveResponse> pending = ctx.channel().attr(PENDING).get();
      if (pending != null) {
        pending.completeExceptionally(
            cause instanceof IOException
                ? closed(ctx, CLOSED + ": " + describe(cause))
                : EnclaveException.unavailable("bad answer from the enclave: " + describe(cause)));
      }
      ctx.close();
    }

    /** A close before the answer's head may be a stale connection (retried); after it, never. */
    private static EnclaveException closed(ChannelHandlerContext ctx, String message) {
      return Boolean.TRUE.equals(ctx.channel().attr(STARTED).get())
          ? EnclaveException.unavailable(CLOSED_MID_ANSWER)
          : EnclaveException.closedBeforeAnswer(message);
    }
  }

  /** Counts a failed request and gives the exception its caller throws. */
  private EnclaveException failed(Throwable cause) {
    errors.incrementAndGet();
    return cause instanceof EnclaveException ee
        ? ee
        : EnclaveException.unavailable("enclave request failed: " + cause);
  }
}
