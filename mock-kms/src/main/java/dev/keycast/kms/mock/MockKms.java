package dev.keycast.kms.mock;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A running mock KMS: AWS KMS's JSON 1.1 protocol ({@code POST /}, {@code X-Amz-Target:
 * TrentService.<Op>}) over real HTTP or HTTPS, with SigV4 authentication, key policies conditioned
 * on Recipient attestation, and keys persisted in a state directory.
 *
 * <pre>{@code
 * try (MockKms kms = MockKms.start(config)) {
 *   KmsClient c = KmsClient.builder().endpointOverride(kms.endpoint())...
 * }
 * }</pre>
 *
 * <p>THIS IS A MOCK. Its keys live in plain files; it protects nothing.
 */
public final class MockKms implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(MockKms.class);
  static final String JSON_11 = "application/x-amz-json-1.1";
  private static final String TARGET_PREFIX = "TrentService.";

  private final MockKmsConfig config;
  private final HttpServer server;
  private final ExecutorService executor;
  private final KeyStore keys;
  private final KmsOperations operations;
  private final SigV4Verifier sigv4;
  private final ObjectMapper json;
  private final Optional<SelfSignedTls> tls;

  private MockKms(MockKmsConfig config) throws IOException, GeneralSecurityException {
    this.config = config;
    this.json =
        JsonMapper.builder(
                JsonFactory.builder()
                    .streamReadConstraints(
                        StreamReadConstraints.builder()
                            .maxNestingDepth(32)
                            .maxStringLength(1 << 20)
                            .build())
                    .build())
            .build();
    SecureRandom random = new SecureRandom();
    this.keys = new KeyStore(config.stateDirectory(), json, random);
    this.operations =
        new KmsOperations(
            keys,
            config.recipientVerifier(),
            json,
            random,
            config.region(),
            config.accountId(),
            config.clock(),
            config.iamPolicies());
    this.sigv4 =
        new SigV4Verifier(
            config.credentials(), config.region(), config.clockSkew(), config.clock());
    if (config.tls()) {
      SelfSignedTls t =
          SelfSignedTls.loadOrCreate(config.stateDirectory(), config.region(), random);
      HttpsServer s = HttpsServer.create(config.listen(), 64);
      s.setHttpsConfigurator(new HttpsConfigurator(t.context));
      this.server = s;
      this.tls = Optional.of(t);
    } else {
      this.server = HttpServer.create(config.listen(), 64);
      this.tls = Optional.empty();
    }
    this.executor = Executors.newVirtualThreadPerTaskExecutor();
    server.setExecutor(executor);
    server.createContext("/", this::handle);
  }

  /** Binds, starts serving and returns the running server. */
  public static MockKms start(MockKmsConfig config) throws IOException, GeneralSecurityException {
    MockKms kms = new MockKms(config);
    kms.server.start();
    LOG.warn(
        "MOCK KMS (not AWS) listening on {} state={} region={} account={}",
        kms.endpoint(),
        config.stateDirectory(),
        config.region(),
        config.accountId());
    return kms;
  }

  /** The bound TCP port (the ephemeral one when the configuration asked for port 0). */
  public int port() {
    return server.getAddress().getPort();
  }

  /** {@code http://host:port} or {@code https://host:port}, for {@code endpointOverride}. */
  public URI endpoint() {
    String host = server.getAddress().getAddress().getHostAddress();
    if (host.contains(":")) {
      host = "[" + host + "]";
    }
    return URI.create((tls.isPresent() ? "https://" : "http://") + host + ":" + port());
  }

  /** The self-signed server certificate, when TLS is on; clients trust exactly this. */
  public Optional<X509Certificate> tlsCertificate() {
    return tls.map(t -> t.certificate);
  }

  /** The PEM file holding {@link #tlsCertificate()}, when TLS is on. */
  public Optional<Path> tlsCertificateFile() {
    return tls.map(t -> t.certificateFile);
  }

  /** The configuration this server runs with. */
  public MockKmsConfig config() {
    return config;
  }

  @Override
  public void close() {
    server.stop(0);
    executor.shutdownNow();
    keys.close();
  }

  // ---- HTTP ---------------------------------------------------------------------------------

  private void handle(HttpExchange ex) throws IOException {
    String requestId = UUID.randomUUID().toString();
    Map<String, String> note = new LinkedHashMap<>();
    String target = ex.getRequestHeaders().getFirst("X-Amz-Target");
    String op =
        target != null && target.startsWith(TARGET_PREFIX)
            ? target.substring(TARGET_PREFIX.length())
            : "?";
    String principal = "-";
    try (ex) {
      try {
        if (!ex.getRequestMethod().equals("POST") || !"/".equals(ex.getRequestURI().getRawPath())) {
          throw new KmsException("UnknownOperationException", 404, "only POST / is served");
        }
        byte[] body = readBody(ex);
        String ct = ex.getRequestHeaders().getFirst("Content-Type");
        if (ct == null || !ct.toLowerCase(Locale.ROOT).startsWith(JSON_11)) {
          throw KmsException.serialization("Content-Type must be " + JSON_11);
        }
        StaticCredential caller =
            sigv4.verify(
                ex.getRequestMethod(),
                ex.getRequestURI().getRawPath(),
                ex.getRequestURI().getRawQuery(),
                name -> ex.getRequestHeaders().get(name),
                body);
        principal = caller.principalArn();
        if (op.equals("?")) {
          throw KmsException.unknownOperation("X-Amz-Target must be TrentService.<Operation>");
        }
        JsonNode req;
        try {
          req = body.length == 0 ? json.createObjectNode() : json.readTree(body);
        } catch (JsonProcessingException e) {
          throw KmsException.serialization("request body is not valid JSON");
        }
        if (req == null) {
          req = json.createObjectNode();
        }
        ObjectNode out = operations.call(op, caller, req, note);
        send(ex, 200, json.writeValueAsBytes(out), requestId);
        LOG.info("kms call op={} principal={} {} -> OK id={}", op, principal, fmt(note), requestId);
      } catch (KmsException e) {
        ObjectNode err = json.createObjectNode();
        err.put("__type", e.type());
        if (e.getMessage() != null) {
          err.put("message", e.getMessage());
        }
        send(ex, e.httpStatus(), json.writeValueAsBytes(err), requestId);
        LOG.info(
            "kms call op={} principal={} {} -> {} ({}) id={}",
            op,
            principal,
            fmt(note),
            e.type(),
            e.getMessage(),
            requestId);
      } catch (RuntimeException e) {
        LOG.error("kms call op={} failed unexpectedly id={}", op, requestId, e);
        ObjectNode err = json.createObjectNode();
        err.put("__type", "KMSInternalException");
        err.put("message", "internal error " + requestId);
        send(ex, 500, json.writeValueAsBytes(err), requestId);
      }
    }
  }

  private static String fmt(Map<String, String> note) {
    StringBuilder sb = new StringBuilder();
    note.forEach((k, v) -> sb.append(k).append('=').append(v).append(' '));
    return sb.toString().strip();
  }

  private byte[] readBody(HttpExchange ex) throws IOException, KmsException {
    int max = config.maxRequestBytes();
    String cl = ex.getRequestHeaders().getFirst("Content-Length");
    if (cl != null) {
      long len;
      try {
        len = Long.parseLong(cl.strip());
      } catch (NumberFormatException e) {
        throw KmsException.serialization("Content-Length is not a number");
      }
      if (len > max) {
        discard(ex.getRequestBody(), len);
        throw KmsException.tooLarge(
            "request body of " + len + " bytes exceeds the limit of " + max);
      }
    }
    InputStream in = ex.getRequestBody();
    byte[] body = in.readNBytes(max + 1);
    if (body.length > max) {
      discard(in, DRAIN_LIMIT);
      throw KmsException.tooLarge("request body exceeds the limit of " + max + " bytes");
    }
    return body;
  }

  /** Most bytes of a refused body read and dropped so that the client gets its 413. */
  static final long DRAIN_LIMIT = 8L << 20;

  /**
   * Reads and drops up to {@code bytes} (at most {@link #DRAIN_LIMIT}) of a refused request body,
   * a small buffer at a time. Closing a connection whose unread request bytes are still arriving
   * makes the kernel answer with a reset, which can destroy the 413 before the client reads it
   * (the JDK server itself drains only 64 KiB). A larger body is not drained: the client may then
   * see a reset instead of the 413.
   */
  private static void discard(InputStream in, long bytes) throws IOException {
    if (bytes > DRAIN_LIMIT) {
      return;
    }
    byte[] buf = new byte[8192];
    long left = bytes;
    int n;
    while (left > 0 && (n = in.read(buf, 0, (int) Math.min(buf.length, left))) > 0) {
      left -= n;
    }
  }

  private static void send(HttpExchange ex, int status, byte[] body, String requestId)
      throws IOException {
    ex.getResponseHeaders().set("Content-Type", JSON_11);
    ex.getResponseHeaders().set("x-amzn-RequestId", requestId);
    if (status == 413) {
      ex.getResponseHeaders().set("Connection", "close");
    }
    ex.sendResponseHeaders(status, body.length);
    ex.getResponseBody().write(body);
  }

  static List<String> banner() {
    return List.of(
        "****************************************************************************",
        "*  KEYCAST MOCK KMS -- THIS IS NOT AWS KMS.                                 *",
        "*  Keys are plain files in the state directory. It protects NOTHING.        *",
        "*  Use it for development and tests only, never with real secrets.          *",
        "****************************************************************************");
  }
}
