package dev.keycast.host.egress;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.sun.net.httpserver.HttpServer;
import dev.keycast.protocol.api.EnclaveApi.AwsCredentials;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** {@link ImdsCredentials} against a fake IMDSv2 server on 127.0.0.1. */
class ImdsCredentialsTest {
  HttpServer imds;
  final List<String> log = new CopyOnWriteArrayList<>();
  final AtomicInteger fetches = new AtomicInteger();
  final AtomicReference<Instant> expiration =
      new AtomicReference<>(Instant.parse("2030-01-01T12:00:00Z"));
  volatile String code = "Success";

  @BeforeEach
  void start() throws IOException {
    imds = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 8);
    imds.createContext(
        "/",
        ex -> {
          try (ex) {
            String path = ex.getRequestURI().getPath();
            String token = ex.getRequestHeaders().getFirst("X-aws-ec2-metadata-token");
            log.add(ex.getRequestMethod() + " " + path);
            byte[] out;
            int status = 200;
            if (path.equals("/latest/api/token")) {
              String ttl = ex.getRequestHeaders().getFirst("X-aws-ec2-metadata-token-ttl-seconds");
              if (!ex.getRequestMethod().equals("PUT") || ttl == null) {
                status = 400;
                out = new byte[0];
              } else {
                out = "TOKEN-1".getBytes(StandardCharsets.UTF_8);
              }
            } else if (!"TOKEN-1".equals(token)) {
              status = 401;
              out = new byte[0];
            } else if (path.equals("/latest/meta-data/iam/security-credentials/")) {
              out = "keycast-parent\n".getBytes(StandardCharsets.UTF_8);
            } else if (path.equals("/latest/meta-data/iam/security-credentials/keycast-parent")) {
              int n = fetches.incrementAndGet();
              out =
                  ("{\"Code\":\""
                          + code
                          + "\",\"LastUpdated\":\"2030-01-01T00:00:00Z\","
                          + "\"Type\":\"AWS-HMAC\",\"AccessKeyId\":\"ASIA"
                          + n
                          + "\","
                          + "\"SecretAccessKey\":\"sk"
                          + n
                          + "\",\"Token\":\"tok"
                          + n
                          + "\","
                          + "\"Expiration\":\""
                          + expiration.get()
                          + "\"}")
                      .getBytes(StandardCharsets.UTF_8);
            } else {
              status = 404;
              out = new byte[0];
            }
            ex.sendResponseHeaders(status, out.length == 0 ? -1 : out.length);
            if (out.length > 0) {
              ex.getResponseBody().write(out);
            }
          }
        });
    imds.start();
  }

  @AfterEach
  void stop() {
    imds.stop(0);
  }

  private URI uri() {
    return URI.create("http://127.0.0.1:" + imds.getAddress().getPort());
  }

  @Test
  void fetchesWithAnImdsV2TokenAndCachesUntilNearExpiry() throws Exception {
    MutableClock clock = new MutableClock(Instant.parse("2030-01-01T10:00:00Z"));
    ImdsCredentials p = new ImdsCredentials(uri(), clock);
    AwsCredentials c = p.credentials();
    assertThat(c.accessKeyId()).isEqualTo("ASIA1");
    assertThat(c.secretAccessKey()).isEqualTo("sk1");
    assertThat(c.sessionToken()).isEqualTo("tok1");
    assertThat(c.expiration()).isEqualTo(Instant.parse("2030-01-01T12:00:00Z"));
    assertThat(log)
        .startsWith(
            "PUT /latest/api/token",
            "GET /latest/meta-data/iam/security-credentials/",
            "GET /latest/meta-data/iam/security-credentials/keycast-parent");
    assertThat(c.toString()).doesNotContain("sk1");

    clock.now = Instant.parse("2030-01-01T11:45:00Z"); // 15 min left: cached
    assertThat(p.credentials().accessKeyId()).isEqualTo("ASIA1");
    assertThat(fetches.get()).isEqualTo(1);

    expiration.set(Instant.parse("2030-01-01T18:00:00Z"));
    clock.now = Instant.parse("2030-01-01T11:55:00Z"); // 5 min left: refreshed
    assertThat(p.credentials().accessKeyId()).isEqualTo("ASIA2");
    assertThat(fetches.get()).isEqualTo(2);
    assertThat(log.stream().filter(l -> l.startsWith("PUT")).count()).isEqualTo(1);
  }

  @Test
  void failedCredentialsAreAnErrorWithoutSecrets() {
    code = "Failure";
    ImdsCredentials p =
        new ImdsCredentials(
            uri(), Clock.fixed(Instant.parse("2030-01-01T10:00:00Z"), ZoneOffset.UTC));
    assertThatThrownBy(p::credentials)
        .isInstanceOf(IOException.class)
        .hasMessageContaining("not available")
        .hasMessageNotContaining("sk1");
  }

  @Test
  void unreachableImdsIsAnIoError() {
    ImdsCredentials p = new ImdsCredentials(URI.create("http://127.0.0.1:1"), Clock.systemUTC());
    assertThatThrownBy(p::credentials).isInstanceOf(IOException.class);
  }

  static final class MutableClock extends Clock {
    volatile Instant now;

    MutableClock(Instant now) {
      this.now = now;
    }

    @Override
    public java.time.ZoneId getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(java.time.ZoneId zone) {
      return this;
    }

    @Override
    public Instant instant() {
      return now;
    }
  }
}
