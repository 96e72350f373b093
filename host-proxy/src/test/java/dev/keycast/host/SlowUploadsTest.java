package dev.keycast.host;

import static dev.keycast.host.HostTestSupport.base;
import static dev.keycast.host.HostTestSupport.get;
import static dev.keycast.host.HostTestSupport.payload;
import static dev.keycast.host.HostTestSupport.policy;
import static dev.keycast.host.HostTestSupport.post;
import static dev.keycast.host.HostTestSupport.text;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.keycast.host.HostTestSupport.Recipient;
import dev.keycast.host.server.UploadLimits;
import dev.keycast.host.store.SqliteArtefactStore;
import dev.keycast.protocol.Json;
import dev.keycast.transport.TcpEndpoint;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufAllocatorMetric;
import io.netty.buffer.ByteBufAllocatorMetricProvider;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Unauthenticated clients that open many connections and upload slowly or too much must not
 * exhaust the host's memory: a budget of body bytes across connections, per-route body caps and a
 * minimum upload rate ({@link UploadLimits}), all over real sockets.
 */
class SlowUploadsTest {
  private static final long BUDGET = 64L << 20; // the smallest budget: one largest request
  private static final int DECLARED = 4 << 20;
  private static final int SENT = 2 << 20;

  @TempDir Path dir;
  FakeEnclave enclave;
  HostProxy host;

  @AfterEach
  void tearDown() throws Exception {
    HostTestSupport.stop(host, enclave);
  }

  private void start(UploadLimits limits) throws Exception {
    enclave = new FakeEnclave().start();
    host =
        HostTestSupport.start(
            enclave, SqliteArtefactStore.open(dir.resolve("k.db")), "alias/k", limits);
    assertThat(host.awaitReady(Duration.ofSeconds(20))).isTrue();
  }

  private int port() {
    return ((TcpEndpoint) host.publicEndpoint()).port();
  }

  /** Bytes Netty's default allocator holds now (direct and heap buffers). */
  private static long nettyBytesInUse() {
    if (ByteBufAllocator.DEFAULT instanceof ByteBufAllocatorMetricProvider p) {
      ByteBufAllocatorMetric m = p.metric();
      return m.usedDirectMemory() + m.usedHeapMemory();
    }
    throw new AssertionError(
        "the default allocator reports no metrics: " + ByteBufAllocator.DEFAULT.getClass());
  }

  private long metric(String name) throws Exception {
    Matcher m =
        Pattern.compile("(?m)^" + name + " (\\d+)").matcher(text(get(base(host) + "/metrics")));
    assertThat(m.find()).as(name).isTrue();
    return Long.parseLong(m.group(1));
  }

  /** What one slow client saw: the status of the answer, or "closed" when none came. */
  private String slowUpload(int declared, int sent) {
    try (Socket s = new Socket("127.0.0.1", port())) {
      s.setSoTimeout(60_000);
      OutputStream out = s.getOutputStream();
      out.write(
          ("POST /v1/sends HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  + "Content-Length: "
                  + declared
                  + "\r\n\r\n")
              .getBytes(StandardCharsets.US_ASCII));
      try {
        byte[] piece = new byte[64 << 10];
        for (int n = 0; n < sent; n += piece.length) {
          out.write(piece, 0, Math.min(piece.length, sent - n));
        }
        out.flush();
      } catch (IOException refusedWhileWriting) {
        // the host answered and closed while we wrote: read its answer below
      }
      // ... and then nothing more: the rest of the declared body never comes
      InputStream in = s.getInputStream();
      byte[] head = in.readNBytes(12);
      if (head.length < 12) {
        return "closed";
      }
      String status = new String(head, StandardCharsets.US_ASCII).substring(9, 12);
      String rest = new String(in.readAllBytes(), StandardCharsets.UTF_8);
      if (status.equals("503")) {
        assertThat(rest)
            .contains("\"error\":\"overloaded\"")
            .containsIgnoringCase("retry-after: 1");
      } else if (status.equals("408")) {
        assertThat(rest).contains("\"error\":\"request_timeout\"");
      }
      return status;
    } catch (IOException e) {
      return "closed";
    }
  }

  @Test
  void threeHundredSlowUploadsCannotExhaustTheHostsMemory() throws Exception {
    start(new UploadLimits(BUDGET, 1 << 20, Duration.ofSeconds(1), Duration.ofMillis(100)));
    long before = nettyBytesInUse();
    AtomicLong peak = new AtomicLong(before);
    AtomicBoolean sampling = new AtomicBoolean(true);
    Thread sampler =
        Thread.ofPlatform()
            .daemon()
            .start(
                () -> {
                  while (sampling.get()) {
                    peak.accumulateAndGet(nettyBytesInUse(), Math::max);
                    java.util.concurrent.locks.LockSupport.parkNanos(
                        2_000_000); // a sample every 2 ms
                  }
                });
    Map<String, AtomicInteger> outcomes = new ConcurrentHashMap<>();
    try (ExecutorService clients = Executors.newVirtualThreadPerTaskExecutor()) {
      List<Future<String>> all = new ArrayList<>();
      for (int i = 0; i < 300; i++) {
        all.add(clients.submit(() -> slowUpload(DECLARED, SENT)));
      }
      for (Future<String> f : all) {
        outcomes.computeIfAbsent(f.get(), k -> new AtomicInteger()).incrementAndGet();
      }
    } finally {
      sampling.set(false);
      sampler.join();
    }
    long grew = peak.get() - before;
    System.err.printf(
        "300 slow uploads of %d of %d declared bytes: outcomes %s; Netty buffers "
            + "grew by at most %.1f MiB (budget %d MiB); budget peak %d bytes%n",
        SENT,
        DECLARED,
        outcomes,
        grew / 1048576.0,
        BUDGET >> 20,
        metric("keycast_host_upload_bytes_in_flight_peak"));
    // the budget admitted at most BUDGET / DECLARED uploads at once; the others were refused at
    // their head, and every admitted one was cut off for its rate
    assertThat(outcomes.keySet()).containsAnyOf("503").contains("408").doesNotContain("200", "400");
    assertThat(outcomes.get("503").get()).isGreaterThanOrEqualTo(100);
    assertThat(metric("keycast_host_upload_bytes_in_flight_peak")).isLessThanOrEqualTo(BUDGET);
    // without the budget 256 connections would hold 2 MiB each (512 MiB)
    assertThat(grew).isLessThan(BUDGET + (32L << 20));
    await()
        .atMost(Duration.ofSeconds(10))
        .until(() -> metric("keycast_host_upload_bytes_in_flight") == 0);
    assertThat(metric("keycast_host_slow_uploads_total")).isEqualTo(outcomes.get("408").get());

    // the host still serves an honest send afterwards, and nothing of the refused ones was stored
    Recipient a = Recipient.generate();
    assertThat(post(base(host) + "/v1/recipients", a.registration(base(host))).statusCode())
        .isEqualTo(201);
    HttpResponse<byte[]> ok =
        post(
            base(host) + "/v1/sends",
            Json.encode(
                payload(
                    enclave.keySet(),
                    policy("after-the-flood", List.of(a.fingerprint()), false),
                    new byte[] {1})));
    assertThat(ok.statusCode()).as(text(ok)).isEqualTo(200);
    assertThat(enclave.hits("/v1/send")).isEqualTo(1);
  }

  @Test
  void anOversizedDeclaredBodyIsRefusedAtItsHeadPerRoute() throws Exception {
    start(UploadLimits.defaults());
    // a registration is a key or a chain: 1 MiB at most, refused before any of the body is read
    try (Socket s = new Socket("127.0.0.1", port())) {
      s.setSoTimeout(10_000);
      s.getOutputStream()
          .write(
              ("POST /v1/recipients HTTP/1.1\r\nHost: x\r\nContent-Length: "
                      + (2 << 20)
                      + "\r\n\r\n")
                  .getBytes(StandardCharsets.US_ASCII));
      String answer = new String(s.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      assertThat(answer).startsWith("HTTP/1.1 413").contains("\"error\":\"payload_too_large\"");
    }
    // a GET carries no body worth parking
    try (Socket s = new Socket("127.0.0.1", port())) {
      s.setSoTimeout(10_000);
      s.getOutputStream()
          .write(
              ("GET /v1/health HTTP/1.1\r\nHost: x\r\nContent-Length: " + (1 << 20) + "\r\n\r\n")
                  .getBytes(StandardCharsets.US_ASCII));
      String answer = new String(s.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      assertThat(answer).startsWith("HTTP/1.1 413").contains("\"error\":\"payload_too_large\"");
    }
    assertThat(metric("keycast_host_upload_bytes_in_flight")).isZero();
  }

  @Test
  void aChunkedBodyIsCountedAsItArrivesAndCappedPerRoute() throws Exception {
    start(UploadLimits.defaults());
    try (Socket s = new Socket("127.0.0.1", port())) {
      s.setSoTimeout(10_000);
      OutputStream out = s.getOutputStream();
      out.write(
          "POST /v1/recipients HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
              .getBytes(StandardCharsets.US_ASCII));
      byte[] chunk = new byte[256 << 10];
      String answer;
      try {
        for (int i = 0; i < 8; i++) {
          out.write(
              (Integer.toHexString(chunk.length) + "\r\n").getBytes(StandardCharsets.US_ASCII));
          out.write(chunk);
          out.write("\r\n".getBytes(StandardCharsets.US_ASCII));
        }
      } catch (IOException closedWhileWriting) {
        // the host refused and closed: its answer is still readable
      }
      answer = new String(s.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      assertThat(answer).startsWith("HTTP/1.1 413").contains("\"error\":\"payload_too_large\"");
    }
    await()
        .atMost(Duration.ofSeconds(10))
        .until(() -> metric("keycast_host_upload_bytes_in_flight") == 0);
  }

  @Test
  void theBudgetIsGivenBackWhenAnswersAreWritten() throws Exception {
    start(UploadLimits.defaults());
    Recipient a = Recipient.generate();
    for (int i = 0; i < 20; i++) {
      assertThat(
              post(base(host) + "/v1/recipients", Recipient.generate().registration(base(host)))
                  .statusCode())
          .isEqualTo(201);
    }
    assertThat(post(base(host) + "/v1/recipients", a.registration(base(host))).statusCode())
        .isEqualTo(201);
    HttpResponse<byte[]> ok =
        post(
            base(host) + "/v1/sends",
            Json.encode(
                payload(
                    enclave.keySet(),
                    policy("budget", List.of(a.fingerprint()), false),
                    new byte[] {1})));
    assertThat(ok.statusCode()).as(text(ok)).isEqualTo(200);
    await()
        .atMost(Duration.ofSeconds(10))
        .until(() -> metric("keycast_host_upload_bytes_in_flight") == 0);
    assertThat(metric("keycast_host_upload_bytes_in_flight_peak")).isPositive();
  }
}
