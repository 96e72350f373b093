package dev.keycast.enclave.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.keycast.mock.nitro.MockAttester;
import dev.keycast.protocol.Json;
import dev.keycast.protocol.api.EnclaveApi;
import dev.keycast.protocol.api.ErrorBody;
import dev.keycast.protocol.api.ErrorCode;
import dev.keycast.transport.Endpoint;
import dev.keycast.transport.TcpEndpoint;
import dev.keycast.transport.Transports;
import dev.keycast.transport.UnixEndpoint;
import dev.keycast.transport.VsockEndpoint;
import dev.keycast.transport.vsock.Vsock;
import io.netty.buffer.ByteBufUtil;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpVersion;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

/**
 * What arrives before the router: malformed HTTP and oversized requests on a raw TCP socket; a
 * not-ready enclave; the same pipeline over {@code unix:} through keycast-transport's client; and
 * the {@code vsock://} bind.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(60)
class EnclaveServerSocketTest {
  Path tmp;
  FakeKeySetService keys;
  MockAttester attester;
  EnclaveServer server;
  int port;

  @BeforeAll
  void start() throws Exception {
    tmp = Files.createTempDirectory("enclave-socket-test");
    keys = new FakeKeySetService(); // not ready
    attester = MockAttester.create(tmp.resolve("mock-state"));
    server =
        EnclaveServer.start(
            Endpoint.parse("tcp://127.0.0.1:0"),
            keys,
            attester,
            new SecureRandom(),
            Clock.systemUTC(),
            1,
            new EnclaveMetrics());
    port = ((TcpEndpoint) server.endpoint()).port();
  }

  @AfterAll
  void stop() {
    server.close();
  }

  /** Writes {@code request}, reads until the server closes, returns everything read. */
  String exchange(byte[] request) throws IOException {
    try (Socket s = new Socket("127.0.0.1", port)) {
      s.setSoTimeout(10_000);
      OutputStream out = s.getOutputStream();
      out.write(request);
      out.flush();
      InputStream in = s.getInputStream();
      ByteArrayOutputStream got = new ByteArrayOutputStream();
      byte[] buf = new byte[8192];
      int n;
      while ((n = in.read(buf)) >= 0) { // -1: the server closed the connection
        got.write(buf, 0, n);
      }
      return got.toString(StandardCharsets.ISO_8859_1);
    }
  }

  static void assertJsonError(String raw, int status, ErrorCode code) throws Exception {
    assertThat(raw).startsWith("HTTP/1.1 " + status + " ");
    String body = raw.substring(raw.indexOf("\r\n\r\n") + 4);
    assertThat(
            Json.decode(body.getBytes(StandardCharsets.ISO_8859_1), 1 << 16, ErrorBody.class)
                .error())
        .isEqualTo(code.code());
  }

  @Test
  void garbageBytesAre400AndClose() throws Exception {
    byte[] garbage = new byte[300];
    new SecureRandom().nextBytes(garbage);
    garbage[0] = 0x01;
    garbage[garbage.length - 2] = '\r';
    garbage[garbage.length - 1] = '\n';
    assertJsonError(exchange(garbage), 400, ErrorCode.MALFORMED_REQUEST);
    assertJsonError(
        exchange(
            "GET /v1/health HTTP/1.1\r\nno colon here\r\n\r\n".getBytes(StandardCharsets.US_ASCII)),
        400,
        ErrorCode.MALFORMED_REQUEST);
  }

  @Test
  void declaredBodyOverTheLimitIs413BeforeAnyBodyIsSent() throws Exception {
    String req =
        "POST /v1/send HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: "
            + (EnclaveApi.MAX_SEND_REQUEST_BYTES + 1L)
            + "\r\n\r\n{";
    assertJsonError(
        exchange(req.getBytes(StandardCharsets.US_ASCII)), 413, ErrorCode.PAYLOAD_TOO_LARGE);
  }

  @Test
  void headersOverTheLimitAre413() throws Exception {
    String req =
        "GET /v1/health HTTP/1.1\r\nHost: x\r\nX-Big: "
            + "a".repeat(EnclaveServerInitializer.MAX_HEADER_SIZE + 10)
            + "\r\n\r\n";
    assertJsonError(
        exchange(req.getBytes(StandardCharsets.US_ASCII)), 413, ErrorCode.PAYLOAD_TOO_LARGE);
  }

  @Test
  void notReadyIs503WithRetryAfter() throws Exception {
    TestKit.Http http = new TestKit.Http("http://127.0.0.1:" + port);
    HttpResponse<String> ready = http.get("/v1/ready");
    assertThat(ready.statusCode()).isEqualTo(503);
    assertThat(ready.headers().firstValue("retry-after")).hasValue("5");
    assertThat(TestKit.Http.json(ready, EnclaveApi.Readiness.class).ready()).isFalse();
    assertThat(http.get("/v1/health").statusCode()).isEqualTo(200);

    EnclaveApi.SendPayload p =
        TestKit.payload(
            keys.keySet.bundle(FakeKeySetService.KMS_KEY_ID),
            TestKit.policy(
                    "s",
                    java.util.List.of("0".repeat(64)),
                    java.util.List.of(),
                    java.util.Map.of(),
                    false,
                    1)
                .toJson(),
            new byte[] {1});
    for (HttpResponse<String> r :
        java.util.List.of(
            http.post("/v1/send", new EnclaveApi.SendRequest(p, java.util.List.of())),
            http.get("/v1/attestation?nonce=AAAA"))) {
      assertThat(r.statusCode()).isEqualTo(503);
      assertThat(r.headers().firstValue("retry-after")).hasValue("5");
      assertThat(TestKit.Http.json(r, ErrorBody.class).error()).isEqualTo("not_ready");
    }
  }

  @Test
  void keepAliveServesSeveralRequestsOnOneConnection() throws Exception {
    String two =
        "GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\nGET /v1/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    String raw = exchange(two.getBytes(StandardCharsets.US_ASCII));
    assertThat(raw.split("HTTP/1.1 200 OK", -1)).hasSize(3);
  }

  @Test
  void pipelinedRequestsAreAnsweredInOrder() throws Exception {
    String body = "{\"recipients\":[{\"key\":\"AAAA\"}]}";
    String req =
        "POST /v1/recipients/validate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            + "Content-Length: "
            + body.length()
            + "\r\n\r\n"
            + body
            + "GET /v1/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    String raw = exchange(req.getBytes(StandardCharsets.US_ASCII));
    int validate = raw.indexOf("\"recipients\"");
    int health = raw.indexOf("{\"status\":\"ok\"}");
    assertThat(validate).isPositive();
    assertThat(health).isGreaterThan(validate);
  }

  @Test
  void unixSocketThroughKeycastTransport() throws Exception {
    Path sock = tmp.resolve("enclave.sock");
    EventLoopGroup group = Transports.newEventLoopGroup(1);
    try (EnclaveServer unix =
        EnclaveServer.start(
            new UnixEndpoint(sock),
            new FakeKeySetService().ready(),
            attester,
            new SecureRandom(),
            Clock.systemUTC(),
            1,
            new EnclaveMetrics())) {
      CompletableFuture<FullHttpResponse> answer = new CompletableFuture<>();
      Channel ch =
          Transports.connect(
                  unix.endpoint(),
                  group,
                  new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel c) {
                      c.pipeline()
                          .addLast(
                              new HttpClientCodec(),
                              new HttpObjectAggregator(1 << 20),
                              new SimpleChannelInboundHandler<FullHttpResponse>() {
                                @Override
                                protected void channelRead0(
                                    ChannelHandlerContext ctx, FullHttpResponse r) {
                                  answer.complete(r.retainedDuplicate());
                                }
                              });
                    }
                  },
                  Duration.ofSeconds(5))
              .sync()
              .channel();
      DefaultFullHttpRequest req =
          new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, "/v1/ready");
      req.headers().set(HttpHeaderNames.HOST, "enclave");
      ch.writeAndFlush(req);
      FullHttpResponse r = answer.get(10, TimeUnit.SECONDS);
      try {
        assertThat(r.status().code()).isEqualTo(200);
        EnclaveApi.Readiness ready =
            Json.decode(ByteBufUtil.getBytes(r.content()), 1 << 16, EnclaveApi.Readiness.class);
        assertThat(ready.ready()).isTrue();
      } finally {
        r.release();
        ch.close().sync();
      }
    } finally {
      group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }
  }

  @Test
  void vsockBind() throws Exception {
    Throwable cause = Vsock.unavailabilityCause();
    assumeTrue(cause == null, () -> "AF_VSOCK unavailable on this machine: " + cause);
    try (EnclaveServer vsock =
        EnclaveServer.start(
            new VsockEndpoint(VsockEndpoint.CID_ANY, VsockEndpoint.PORT_ANY),
            new FakeKeySetService(),
            attester,
            new SecureRandom(),
            Clock.systemUTC(),
            1,
            new EnclaveMetrics())) {
      VsockEndpoint bound = (VsockEndpoint) vsock.endpoint();
      assertThat(bound.cid()).isEqualTo(VsockEndpoint.CID_ANY);
      assertThat(bound.port()).isNotEqualTo(VsockEndpoint.PORT_ANY);
    }
  }
}
