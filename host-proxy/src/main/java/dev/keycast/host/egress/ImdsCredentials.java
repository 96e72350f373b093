package dev.keycast.host.egress;

import com.fasterxml.jackson.databind.JsonNode;
import dev.keycast.protocol.Json;
import dev.keycast.protocol.api.EnclaveApi.AwsCredentials;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.Objects;

/**
 * Instance-role credentials from the EC2 instance metadata service, IMDSv2 only: a session token
 * ({@code PUT /latest/api/token} with {@code X-aws-ec2-metadata-token-ttl-seconds}), then the role
 * name ({@code GET /latest/meta-data/iam/security-credentials/}) and its credentials
 * ({@code GET .../<role>}), both with {@code X-aws-ec2-metadata-token}. Credentials are cached and
 * fetched again when they expire within {@link #REFRESH_BEFORE}. Bodies are capped; nothing secret
 * is logged or put in an exception message.
 */
public final class ImdsCredentials implements CredentialsProvider {
  /** The IMDS address on EC2. */
  public static final URI DEFAULT_ENDPOINT = URI.create("http://169.254.169.254");

  /** Credentials that expire sooner than this are fetched again. */
  public static final Duration REFRESH_BEFORE = Duration.ofMinutes(10);

  /** Lifetime asked for the IMDSv2 session token, in seconds. */
  public static final int TOKEN_TTL_SECONDS = 21600;

  private static final int MAX_BODY = 64 * 1024;

  private final URI endpoint;
  private final Clock clock;
  private final HttpClient http;
  private AwsCredentials cached;
  private String token;
  private Instant tokenExpiry = Instant.EPOCH;

  /** A provider asking {@code endpoint} (e.g. {@link #DEFAULT_ENDPOINT}). */
  public ImdsCredentials(URI endpoint, Clock clock) {
    this.endpoint = Objects.requireNonNull(endpoint, "endpoint");
    this.clock = Objects.requireNonNull(clock, "clock");
    this.http =
        HttpClient.newBuilder()
            .connectTimeout(Duration.ofSeconds(2))
            .version(HttpClient.Version.HTTP_1_1)
            .build();
  }

  @Override
  public synchronized AwsCredentials credentials() throws IOException, InterruptedException {
    Instant now = clock.instant();
    if (cached != null
        && (cached.expiration() == null || cached.expiration().isAfter(now.plus(REFRESH_BEFORE)))) {
      return cached;
    }
    String role =
        get("/latest/meta-data/iam/security-credentials/")
            .lines()
            .map(String::strip)
            .filter(s -> !s.isEmpty())
            .findFirst()
            .orElseThrow(() -> new IOException("IMDS lists no instance role"));
    if (!role.matches("[\\w+=,.@-]{1,128}")) {
      throw new IOException("IMDS returned an unusable role name");
    }
    JsonNode n;
    try {
      n = Json.mapper().readTree(get("/latest/meta-data/iam/security-credentials/" + role));
    } catch (IOException e) {
      throw new IOException("IMDS credentials of role " + role + " are not JSON");
    }
    if (n == null || !"Success".equals(n.path("Code").asText())) {
      throw new IOException(
          "IMDS credentials of role "
              + role
              + " not available (Code "
              + (n == null ? "missing" : n.path("Code").asText("missing"))
              + ")");
    }
    String id = n.path("AccessKeyId").asText(null);
    String secret = n.path("SecretAccessKey").asText(null);
    String session = n.path("Token").asText(null);
    Instant expiration;
    try {
      expiration = Instant.parse(n.path("Expiration").asText(""));
    } catch (DateTimeParseException e) {
      throw new IOException("IMDS credentials of role " + role + " have no valid Expiration");
    }
    if (id == null || secret == null) {
      throw new IOException(
          "IMDS credentials of role " + role + " lack AccessKeyId or SecretAccessKey");
    }
    cached = new AwsCredentials(id, secret, session, expiration);
    return cached;
  }

  private String sessionToken() throws IOException, InterruptedException {
    Instant now = clock.instant();
    if (token != null && tokenExpiry.isAfter(now.plusSeconds(60))) {
      return token;
    }
    HttpRequest req =
        HttpRequest.newBuilder(endpoint.resolve("/latest/api/token"))
            .timeout(Duration.ofSeconds(2))
            .header("X-aws-ec2-metadata-token-ttl-seconds", Integer.toString(TOKEN_TTL_SECONDS))
            .PUT(HttpRequest.BodyPublishers.noBody())
            .build();
    HttpResponse<byte[]> r = http.send(req, HttpResponse.BodyHandlers.ofByteArray());
    if (r.statusCode() != 200) {
      throw new IOException("IMDSv2 token request answered HTTP " + r.statusCode());
    }
    token = body(r).strip();
    tokenExpiry = now.plusSeconds(TOKEN_TTL_SECONDS);
    return token;
  }

  private String get(String path) throws IOException, InterruptedException {
    for (int attempt = 0; ; attempt++) {
      HttpRequest req =
          HttpRequest.newBuilder(endpoint.resolve(path))
              .timeout(Duration.ofSeconds(2))
              .header("X-aws-ec2-metadata-token", sessionToken())
              .GET()
              .build();
      HttpResponse<byte[]> r = http.send(req, HttpResponse.BodyHandlers.ofByteArray());
      if (r.statusCode() == 401 && attempt == 0) {
        token = null; // expired session token: get a new one once
        continue;
      }
      if (r.statusCode() != 200) {
        throw new IOException(
            "IMDS " + path.replaceAll("[^/]+$", "<role>") + " answered HTTP " + r.statusCode());
      }
      return body(r);
    }
  }

  private static String body(HttpResponse<byte[]> r) throws IOException {
    if (r.body().length > MAX_BODY) {
      throw new IOException("IMDS answer longer than " + MAX_BODY + " bytes");
    }
    return new String(r.body(), java.nio.charset.StandardCharsets.UTF_8);
  }

  @Override
  public String describe() {
    return "imds (" + endpoint + ")";
  }

  @Override
  public String toString() {
    return "ImdsCredentials[" + endpoint + "]";
  }
}
