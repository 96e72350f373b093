package dev.keycast.cli;

import dev.keycast.protocol.Json;
import dev.keycast.protocol.MalformedInputException;
import dev.keycast.protocol.api.EnclaveApi;
import dev.keycast.protocol.api.ErrorBody;
import dev.keycast.protocol.api.HostApi;
import dev.keycast.protocol.api.RecipientProof;
import dev.keycast.protocol.sender.SenderRequestSignature;
import dev.keycast.protocol.sender.SenderSigningKey;
import java.io.IOException;
import java.io.InputStream;
import java.net.ConnectException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.regex.Pattern;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLException;

/**
 * The host proxy's public API (api.md section 2) over {@link HttpClient}. Every answer is read with
 * a size cap before it is parsed; an error answer becomes a {@link HostException} carrying the
 * server's {@code error} code and message.
 */
final class HostClient {
  /** Largest attestation answer read. */
  static final int MAX_ATTESTATION_BYTES = 256 * 1024;

  /** Largest send result read: a 64 MiB receipt in base64url plus the delivery list. */
  static final int MAX_SEND_RESULT_BYTES = Json.MAX_STRING_LENGTH + 64 * 1024 * 1024;

  /** Largest small JSON answer (recipient, delivery page, error). */
  static final int MAX_SMALL_BYTES = 8 * 1024 * 1024;

  /** Largest receipt view read. */
  static final int MAX_RECEIPT_VIEW_BYTES = Json.MAX_STRING_LENGTH;

  /** Largest envelope read (the formats' own cap). */
  static final int MAX_ENVELOPE_BYTES = 1 << 20;

  private static final int MAX_ERROR_BYTES = 64 * 1024;

  private static final Pattern SESSION_TOKEN = Pattern.compile("[A-Za-z0-9_-]{1,256}");
  private static final Pattern PATH_SEGMENT = Pattern.compile("[A-Za-z0-9._:-]{1,128}");

  private final URI base;
  private final Duration timeout;
  private final HttpClient http;

  HostClient(URI base, Duration timeout, SSLContext ssl) {
    this.base = base;
    this.timeout = timeout;
    HttpClient.Builder b =
        HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(15))
            .followRedirects(HttpClient.Redirect.NEVER);
    if (ssl != null) {
      b.sslContext(ssl);
    }
    this.http = b.build();
  }

  URI base() {
    return base;
  }

  /** GET /v1/attestation?nonce=... */
  EnclaveApi.AttestationResponse attestation(String nonceB64) throws HostException {
    return getJson(
        "/v1/attestation?nonce=" + URLEncoder.encode(nonceB64, StandardCharsets.US_ASCII),
        MAX_ATTESTATION_BYTES,
        EnclaveApi.AttestationResponse.class);
  }

  /** POST /v1/sends. */
  HostApi.SendResult send(EnclaveApi.SendPayload payload) throws HostException {
    return postJson("/v1/sends", payload, MAX_SEND_RESULT_BYTES, HostApi.SendResult.class);
  }

  /** GET /v1/senders: the sender set in force, as the host relays it (check it: {@link SenderSets}). */
  EnclaveApi.SenderSetView senders() throws HostException {
    return getJson("/v1/senders", MAX_SENDER_SET_BYTES, EnclaveApi.SenderSetView.class);
  }

  /** POST /v1/senders: an owner-signed sender-set update. */
  EnclaveApi.SenderSetView updateSenders(dev.keycast.protocol.sender.SenderSetUpdate.Json update)
      throws HostException {
    return postJson("/v1/senders", update, MAX_SENDER_SET_BYTES, EnclaveApi.SenderSetView.class);
  }

  /** Largest KDM zip read (the host answers at most 256 MiB of KDMs per zip). */
  static final int MAX_KDM_ZIP_BYTES = 320 << 20;

  /** POST /v1/screens, signed by {@code sender} (api.md section 2.4). */
  HostApi.Screen registerScreen(HostApi.RegisterScreen body, SenderSigningKey sender)
      throws HostException {
    return postSigned("/v1/screens", body, sender, MAX_SMALL_BYTES, HostApi.Screen.class);
  }

  /** POST {@code path} with a JSON body, signed by {@code sender} ({@code Authorization: Keycast-Sender}). */
  <T> T postSigned(String path, Object body, SenderSigningKey sender, int max, Class<T> type)
      throws HostException {
    String target = base.getRawPath() + path;
    byte[] json = Json.encode(body);
    HttpRequest req =
        HttpRequest.newBuilder(base.resolve(target))
            .timeout(timeout)
            .header("Content-Type", "application/json")
            .header("Accept", "application/json")
            .header(
                "Authorization",
                SenderRequestSignature.authorization(
                    sender, "POST", target, json, java.time.Instant.now()))
            .POST(HttpRequest.BodyPublishers.ofByteArray(json))
            .build();
    return decode(path, exchange(req, max), max, type);
  }

  /** GET {@code pathAndQuery} as JSON, signed by {@code sender}. */
  <T> T getSigned(String pathAndQuery, SenderSigningKey sender, int max, Class<T> type)
      throws HostException {
    String target = base.getRawPath() + pathAndQuery;
    HttpRequest req =
        HttpRequest.newBuilder(base.resolve(target))
            .timeout(timeout)
            .header("Accept", "application/json")
            .header(
                "Authorization",
                SenderRequestSignature.authorization(
                    sender, "GET", target, null, java.time.Instant.now()))
            .GET()
            .build();
    return decode(pathAndQuery, exchange(req, max), max, type);
  }

  /**
   * POST /v1/sends/{id}/mail (issue 25, api.md section 2.7), signed by {@code sender}: queues the
   * send's KDM mail (one message per cinema, or to {@code body.cinema()} only); the host answers 202.
   */
  HostApi.MailStatus mailKdms(String sendId, HostApi.MailRequest body, SenderSigningKey sender)
      throws HostException {
    return postSigned(
        "/v1/sends/" + pathSegment(sendId) + "/mail",
        body,
        sender,
        MAX_SMALL_BYTES,
        HostApi.MailStatus.class);
  }

  /** GET /v1/sends/{id}/mail, signed by {@code sender}: the state of every KDM mail of the send. */
  HostApi.MailStatus kdmMailStatus(String sendId, SenderSigningKey sender) throws HostException {
    return getSigned(
        "/v1/sends/" + pathSegment(sendId) + "/mail",
        sender,
        MAX_SMALL_BYTES,
        HostApi.MailStatus.class);
  }

  /** GET /v1/ready: the readiness the host reports (its key-set id is the host's word, unverified). */
  EnclaveApi.Readiness ready() throws HostException {
    return getJson("/v1/ready", MAX_SMALL_BYTES, EnclaveApi.Readiness.class);
  }

  /** POST /v1/dkdms (issue 25, api.md section 2.5), the request signed by {@code sender}. */
  EnclaveApi.DkdmIngestResponse ingestDkdm(
      EnclaveApi.DkdmIngestRequest body, SenderSigningKey sender) throws HostException {
    return postSigned(
        "/v1/dkdms", body, sender, MAX_SMALL_BYTES, EnclaveApi.DkdmIngestResponse.class);
  }

  /**
   * GET {@code path} (a KDM zip route, path segments already encoded), signed by {@code sender}:
   * the zip's bytes, at most {@link #MAX_KDM_ZIP_BYTES}.
   */
  byte[] kdmZip(String path, SenderSigningKey sender) throws HostException {
    String target = base.getRawPath() + path;
    HttpRequest req =
        HttpRequest.newBuilder(base.resolve(target))
            .timeout(timeout)
            .header("Accept", "application/zip")
            .header(
                "Authorization",
                SenderRequestSignature.authorization(
                    sender, "GET", target, null, java.time.Instant.now()))
            .GET()
            .build();
    return exchange(req, MAX_KDM_ZIP_BYTES);
  }

  /**
   * POST {@code body} (of {@code contentType}) to an admin route {@code pathAndQuery} of this base
   * (the host's admin listener) and read the answer, at most {@code max} bytes.
   */
  byte[] postAdmin(String pathAndQuery, byte[] body, String contentType, String accept, int max)
      throws HostException {
    HttpRequest req =
        HttpRequest.newBuilder(base.resolve(base.getRawPath() + pathAndQuery))
            .timeout(timeout)
            .header("Content-Type", contentType)
            .header("Accept", accept)
            .POST(HttpRequest.BodyPublishers.ofByteArray(body))
            .build();
    return exchange(req, max);
  }

  /** {@code s} as one URL path segment (UTF-8, percent-encoded; a space is {@code %20}). */
  static String pathSegment(String s) {
    return URLEncoder.encode(s, StandardCharsets.UTF_8).replace("+", "%20");
  }

  /** Largest sender-set answer read (1,024 senders with fingerprints, base64url). */
  static final int MAX_SENDER_SET_BYTES = 512 * 1024;

  /** POST /v1/recipients. */
  HostApi.Recipient register(HostApi.RegisterRecipient body) throws HostException {
    return postJson("/v1/recipients", body, MAX_SMALL_BYTES, HostApi.Recipient.class);
  }

  /** POST /v1/recipients/challenge. */
  RecipientProof.Challenge challenge(String key) throws HostException {
    return postJson(
        "/v1/recipients/challenge",
        new RecipientProof.ChallengeRequest(key),
        MAX_SMALL_BYTES,
        RecipientProof.Challenge.class);
  }

  /**
   * A session token for {@code key}'s owner: POST /v1/recipients/challenge, then
   * POST /v1/recipients/{fingerprint}/sessions with the proof of possession.
   */
  String session(RecipientPrivateKey key) throws HostException, CliException {
    RecipientProof.Challenge c = challenge(key.publicKeyPem());
    RecipientProof.Session s =
        postJson(
            "/v1/recipients/" + segment(key.fingerprint()) + "/sessions",
            new RecipientProof.SessionRequest(c.token(), key.prove(c)),
            MAX_SMALL_BYTES,
            RecipientProof.Session.class);
    if (s.sessionToken() == null || s.sessionToken().isEmpty()) {
      throw HostException.unreachable(
          where("/v1/recipients/" + key.fingerprint() + "/sessions")
              + " answered no session token");
    }
    return s.sessionToken();
  }

  /** GET /v1/recipients/{fingerprint} with a session token of that recipient. */
  HostApi.Recipient recipient(String fingerprint, String sessionToken) throws HostException {
    String path = "/v1/recipients/" + segment(fingerprint);
    return decode(
        path,
        exchange(get(path, sessionToken), MAX_SMALL_BYTES),
        MAX_SMALL_BYTES,
        HostApi.Recipient.class);
  }

  /** GET /v1/recipients/{fingerprint}/deliveries?after=...&limit=... with a session token. */
  HostApi.DeliveryPage deliveries(String fingerprint, String sessionToken, String after, int limit)
      throws HostException {
    String q = "?limit=" + limit + (after == null ? "" : "&after=" + segment(after));
    String path = "/v1/recipients/" + segment(fingerprint) + "/deliveries" + q;
    return decode(
        path,
        exchange(get(path, sessionToken), MAX_SMALL_BYTES),
        MAX_SMALL_BYTES,
        HostApi.DeliveryPage.class);
  }

  /** GET /v1/deliveries/{id} with a session token of its recipient: the envelope bytes. */
  byte[] envelope(String deliveryId, String sessionToken) throws HostException {
    return exchange(get("/v1/deliveries/" + segment(deliveryId), sessionToken), MAX_ENVELOPE_BYTES);
  }

  /** GET /v1/receipts/{id} as a recipient the receipt names, with its session token. */
  HostApi.ReceiptView receipt(String receiptId, String sessionToken) throws HostException {
    String path = "/v1/receipts/" + segment(receiptId);
    return decode(
        path,
        exchange(get(path, sessionToken), MAX_RECEIPT_VIEW_BYTES),
        MAX_RECEIPT_VIEW_BYTES,
        HostApi.ReceiptView.class);
  }

  /** GET /v1/receipts/{id} as the receipt's sender: a request signed with its sender key. */
  HostApi.ReceiptView receipt(String receiptId, SenderSigningKey sender) throws HostException {
    String path = "/v1/receipts/" + segment(receiptId);
    String target = base.getRawPath() + path;
    HttpRequest req =
        HttpRequest.newBuilder(base.resolve(target))
            .timeout(timeout)
            .header("Accept", "application/json")
            .header(
                "Authorization",
                SenderRequestSignature.authorization(
                    sender, "GET", target, null, java.time.Instant.now()))
            .GET()
            .build();
    return decode(
        path,
        exchange(req, MAX_RECEIPT_VIEW_BYTES),
        MAX_RECEIPT_VIEW_BYTES,
        HostApi.ReceiptView.class);
  }

  /** An id used in a path: the receipt/delivery id syntax, so nothing can escape the path. */
  static String segment(String id) throws HostException {
    if (id == null || !PATH_SEGMENT.matcher(id).matches()) {
      throw HostException.unreachable(
          "refusing to use \""
              + abbreviate(String.valueOf(id))
              + "\" in a URL: ids are 1..128 characters of [A-Za-z0-9._:-]");
    }
    return id;
  }

  private <T> T getJson(String path, int max, Class<T> type) throws HostException {
    return decode(path, exchange(get(path), max), max, type);
  }

  private <T> T postJson(String path, Object body, int max, Class<T> type) throws HostException {
    HttpRequest req =
        HttpRequest.newBuilder(base.resolve(base.getRawPath() + path))
            .timeout(timeout)
            .header("Content-Type", "application/json")
            .header("Accept", "application/json")
            .POST(HttpRequest.BodyPublishers.ofByteArray(Json.encode(body)))
            .build();
    return decode(path, exchange(req, max), max, type);
  }

  private HttpRequest get(String path) {
    return HttpRequest.newBuilder(base.resolve(base.getRawPath() + path))
        .timeout(timeout)
        .GET()
        .build();
  }

  private HttpRequest get(String path, String sessionToken) throws HostException {
    if (sessionToken == null || !SESSION_TOKEN.matcher(sessionToken).matches()) {
      throw HostException.unreachable(
          "the host's session token is not 1..256 base64url characters");
    }
    return HttpRequest.newBuilder(base.resolve(base.getRawPath() + path))
        .timeout(timeout)
        .header("Authorization", "Bearer " + sessionToken)
        .GET()
        .build();
  }

  private <T> T decode(String path, byte[] body, int max, Class<T> type) throws HostException {
    try {
      return Json.decode(body, max, type);
    } catch (MalformedInputException e) {
      throw HostException.unreachable(
          where(path)
              + " answered a body that is not a Keycast "
              + type.getSimpleName()
              + ": "
              + e.getMessage());
    }
  }

  private byte[] exchange(HttpRequest req, int max) throws HostException {
    HttpResponse<InputStream> resp;
    try {
      resp = http.send(req, HttpResponse.BodyHandlers.ofInputStream());
    } catch (HttpConnectTimeoutException e) {
      throw HostException.unreachable("cannot reach " + base + ": connection timed out");
    } catch (HttpTimeoutException e) {
      throw HostException.unreachable(
          where(req.uri().getRawPath())
              + " did not answer within "
              + timeout
              + " (raise --timeout)");
    } catch (ConnectException e) {
      throw HostException.unreachable("cannot reach " + base + ": connection refused");
    } catch (javax.net.ssl.SSLHandshakeException e) {
      throw HostException.unreachable(
          "TLS handshake with "
              + base
              + " failed: its certificate is not"
              + " trusted or does not name the host (pass --ca-cert PEM for a private CA)");
    } catch (SSLException e) {
      throw HostException.unreachable(
          "TLS with " + base + " failed (" + e.getClass().getSimpleName() + ")");
    } catch (IOException e) {
      throw HostException.unreachable(
          "cannot reach "
              + base
              + ": "
              + e.getClass().getSimpleName()
              + (e.getMessage() == null ? "" : " " + e.getMessage()));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw HostException.unreachable("interrupted while waiting for " + base);
    }
    int status = resp.statusCode();
    try (InputStream in = resp.body()) {
      if (status / 100 == 2) {
        byte[] body = in.readNBytes(max + 1);
        if (body.length > max) {
          throw HostException.unreachable(
              where(req.uri().getRawPath()) + " answered more than " + max + " bytes");
        }
        return body;
      }
      byte[] body = in.readNBytes(MAX_ERROR_BYTES);
      ErrorBody error;
      try {
        error = Json.decode(body, MAX_ERROR_BYTES, ErrorBody.class);
      } catch (MalformedInputException e) {
        error = null;
      }
      if (error == null || error.error() == null) {
        throw HostException.unreachable(
            where(req.uri().getRawPath())
                + " answered HTTP "
                + status
                + " without a Keycast error body (is "
                + base
                + " a Keycast host proxy?)");
      }
      String retry =
          resp.headers()
              .firstValue("Retry-After")
              .map(v -> " (retry after " + v + " s)")
              .orElse("");
      throw HostException.answered(
          status,
          error.error(),
          "host answered "
              + status
              + " "
              + error.error()
              + ": "
              + (error.message() == null ? "" : error.message())
              + retry
              + hint(error.error()));
    } catch (IOException e) {
      throw HostException.unreachable(
          where(req.uri().getRawPath())
              + ": answer cut short ("
              + e.getClass().getSimpleName()
              + ")");
    }
  }

  private static String hint(String code) {
    return switch (code) {
      case "not_ready" -> "; the enclave has not unsealed its key set yet: retry in a moment";
      case "wrong_key_set" ->
          "; the enclave's key set changed since attestation: run the command again";
      case "policy_not_valid_now" -> "; check --not-before/--not-after against the current time";
      case "too_many_recipients" -> "; raise --max-recipients or narrow the selection";
      case "proof_invalid" -> "; the --key must be the private key of the key registered";
      case "session_expired" -> "; run the command again for a new session";
      case "sender_required", "sender_signature_invalid" ->
          "; pass --sender-key with your sender key";
      case "sender_unknown" ->
          "; the key set's owner must admit your sender key (keycast sender add)";
      case "sender_timestamp_out_of_window" -> "; check this machine's clock";
      case "kdm_signer_chain_key_mismatch" ->
          "; the chain must certify the key of the enclave's current CSR"
              + " (keycast kdm signer-csr)";
      case "kdm_signer_chain_invalid" ->
          "; the distributor's CA must issue an ST 430-2 signer chain (leaf first,"
              + " root last, role CS, valid now)";
      default -> "";
    };
  }

  private String where(String path) {
    int q = path.indexOf('?');
    return base.getScheme()
        + "://"
        + base.getRawAuthority()
        + (q < 0 ? path : path.substring(0, q));
  }

  private static String abbreviate(String s) {
    return s.length() > 40 ? s.substring(0, 40) + "..." : s;
  }
}
