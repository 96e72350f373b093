package dev.keycast.bench.load;

import dev.keycast.protocol.Json;
import dev.keycast.protocol.MalformedInputException;
import dev.keycast.protocol.api.ErrorBody;
import dev.keycast.protocol.sender.SenderRequestSignature;
import dev.keycast.protocol.sender.SenderSigningKey;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.Executor;

/**
 * The host proxy's public API (api.md section 2) over HTTP/1.1 keep-alive connections (one pooled
 * connection per concurrent request): {@link KeepAliveHttp} for {@code http://} (cheap in CPU, so
 * the tool takes little of a machine it shares with the system under test), the JDK
 * {@link HttpClient} for {@code https://}. Thread-safe.
 */
final class HostClient {
  /** Largest answer body the tool reads (a receipt of a 100,000-recipient send fits). */
  static final int MAX_RESPONSE_BYTES = 128 * 1024 * 1024;

  /** One HTTP answer: status and body. */
  record Answer(int status, byte[] body) {
    boolean ok() {
      return status / 100 == 2;
    }

    /** The stable error code of an error answer, else {@code http_<status>}. */
    String errorCode() {
      try {
        return Json.decode(body, 64 * 1024, ErrorBody.class).error();
      } catch (MalformedInputException | RuntimeException e) {
        return "http_" + status;
      }
    }

    <T> T as(Class<T> type) throws MalformedInputException {
      return Json.decode(body, MAX_RESPONSE_BYTES, type);
    }
  }

  private final URI base;
  private final HttpClient http;
  private final KeepAliveHttp plain;
  private final Duration timeout;

  HostClient(URI base, Duration timeout, Executor executor) {
    String s = base.toString();
    this.base = URI.create(s.endsWith("/") ? s.substring(0, s.length() - 1) : s);
    this.timeout = timeout;
    this.http =
        HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(10))
            .executor(executor)
            .build();
    this.plain =
        "http".equalsIgnoreCase(this.base.getScheme())
            ? new KeepAliveHttp(
                this.base.getHost(),
                this.base.getPort() < 0 ? 80 : this.base.getPort(),
                timeout,
                MAX_RESPONSE_BYTES)
            : null;
  }

  URI base() {
    return base;
  }

  Answer get(String pathAndQuery) throws IOException, InterruptedException {
    if (plain != null) {
      return plain.exchange("GET", base.getPath() + pathAndQuery, null);
    }
    return exchange(HttpRequest.newBuilder(base.resolve(base.getPath() + pathAndQuery)).GET());
  }

  Answer postJson(String path, byte[] json) throws IOException, InterruptedException {
    if (plain != null) {
      return plain.exchange("POST", base.getPath() + path, json);
    }
    return exchange(
        HttpRequest.newBuilder(base.resolve(base.getPath() + path))
            .header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofByteArray(json)));
  }

  /** GET signed by a sender (api.md section 2.4), e.g. a send's receipt, answered to its sender only. */
  Answer getSigned(String pathAndQuery, SenderSigningKey sender)
      throws IOException, InterruptedException {
    String target = base.getPath() + pathAndQuery;
    String authorization =
        SenderRequestSignature.authorization(sender, "GET", target, null, Instant.now());
    if (plain != null) {
      return plain.exchange("GET", target, null, authorization);
    }
    return exchange(
        HttpRequest.newBuilder(base.resolve(target)).header("Authorization", authorization).GET());
  }

  /** GET with a recipient's session token (api.md section 2.2: {@code Authorization: Bearer}). */
  Answer getBearer(String pathAndQuery, String sessionToken)
      throws IOException, InterruptedException {
    String target = base.getPath() + pathAndQuery;
    String authorization = "Bearer " + sessionToken;
    if (plain != null) {
      return plain.exchange("GET", target, null, authorization);
    }
    return exchange(
        HttpRequest.newBuilder(base.resolve(target)).header("Authorization", authorization).GET());
  }

  /**
   * POST of a JSON body signed by a sender (api.md section 2.4: {@code Authorization: Keycast-Sender
   * ...} over the method, the request target and the body).
   */
  Answer postSigned(String path, byte[] json, SenderSigningKey sender)
      throws IOException, InterruptedException {
    String target = base.getPath() + path;
    String authorization =
        SenderRequestSignature.authorization(sender, "POST", target, json, Instant.now());
    if (plain != null) {
      return plain.exchange("POST", target, json, authorization);
    }
    return exchange(
        HttpRequest.newBuilder(base.resolve(target))
            .header("Content-Type", "application/json")
            .header("Authorization", authorization)
            .POST(HttpRequest.BodyPublishers.ofByteArray(json)));
  }

  private Answer exchange(HttpRequest.Builder b) throws IOException, InterruptedException {
    HttpResponse<InputStream> r =
        http.send(b.timeout(timeout).build(), HttpResponse.BodyHandlers.ofInputStream());
    try (InputStream in = r.body()) {
      byte[] body = in.readNBytes(MAX_RESPONSE_BYTES + 1);
      if (body.length > MAX_RESPONSE_BYTES) {
        throw new IOException("answer exceeds " + MAX_RESPONSE_BYTES + " bytes");
      }
      return new Answer(r.statusCode(), body);
    }
  }
}
