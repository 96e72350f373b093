package dev.keycast.enclave.mock;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keycast.enclave.server.FakeKeySetService;
import dev.keycast.transport.TcpEndpoint;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** The command line in mock mode: starts, serves, ships its logs (with the banner) and stops. */
@Timeout(60)
class MockEnclaveMainTest {
  @TempDir Path tmp;

  @Test
  void mockModeServesAndShipsLogsWithTheBanner() throws Exception {
    List<String> lines = new CopyOnWriteArrayList<>();
    try (ServerSocket logSink = new ServerSocket(0, 10, InetAddress.getLoopbackAddress())) {
      Thread reader =
          Thread.ofVirtual()
              .start(
                  () -> {
                    try (Socket s = logSink.accept();
                        BufferedReader r =
                            new BufferedReader(
                                new InputStreamReader(
                                    s.getInputStream(), StandardCharsets.UTF_8))) {
                      String line;
                      while ((line = r.readLine()) != null) {
                        lines.add(line);
                      }
                    } catch (Exception ignored) {
                      // the test ends
                    }
                  });
      MockEnclaveMain main =
          new MockEnclaveMain((a, r, k, arns) -> new FakeKeySetService().ready());
      long t0 = System.nanoTime();
      CompletableFuture<Integer> exit =
          CompletableFuture.supplyAsync(
              () ->
                  new CommandLine(main)
                      .execute(
                          "--listen",
                          "tcp://127.0.0.1:0",
                          "--state",
                          tmp.resolve("state").toString(),
                          "--log-to",
                          "tcp://127.0.0.1:" + logSink.getLocalPort(),
                          "--workers",
                          "1"));
      assertThat(main.started.await(30, TimeUnit.SECONDS)).isTrue();
      int port = ((TcpEndpoint) main.launcher().server().endpoint()).port();
      HttpResponse<String> health =
          HttpClient.newHttpClient()
              .send(
                  HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/v1/health"))
                      .build(),
                  HttpResponse.BodyHandlers.ofString());
      System.err.println(
          "in-process start to first answer: " + (System.nanoTime() - t0) / 1_000_000 + " ms");
      assertThat(health.statusCode()).isEqualTo(200);
      // readiness follows once the background start-up has built the key set service
      HttpResponse<String> ready =
          org.awaitility.Awaitility.await()
              .atMost(java.time.Duration.ofSeconds(20))
              .pollInterval(java.time.Duration.ofMillis(20))
              .until(
                  () ->
                      HttpClient.newHttpClient()
                          .send(
                              HttpRequest.newBuilder(
                                      URI.create("http://127.0.0.1:" + port + "/v1/ready"))
                                  .build(),
                              HttpResponse.BodyHandlers.ofString()),
                  r -> r.statusCode() == 200);
      assertThat(ready.statusCode()).as(ready.body()).isEqualTo(200);
      HttpResponse<String> attestation =
          HttpClient.newHttpClient()
              .send(
                  HttpRequest.newBuilder(
                          URI.create("http://127.0.0.1:" + port + "/v1/attestation?nonce=AQID"))
                      .build(),
                  HttpResponse.BodyHandlers.ofString());
      assertThat(attestation.statusCode()).as(attestation.body()).isEqualTo(200);
      org.awaitility.Awaitility.await()
          .atMost(java.time.Duration.ofSeconds(10))
          .until(() -> lines.stream().anyMatch(l -> l.contains("key set service ready")));
      assertThat(lines)
          .anyMatch(l -> l.contains("NOT AN ENCLAVE") && l.contains("\"level\":\"WARN\""));
      assertThat(lines).anyMatch(l -> l.contains("serving on tcp://127.0.0.1:" + port));
      main.stop();
      assertThat(exit.get(20, TimeUnit.SECONDS)).isZero();
      reader.interrupt();
    }
  }

  @Test
  void mockModeNeedsItsStateDirectory() {
    int code =
        new CommandLine(new MockEnclaveMain((a, r, k, arns) -> new FakeKeySetService()))
            .execute("--listen", "tcp://127.0.0.1:0");
    assertThat(code).isNotZero();
  }
}
