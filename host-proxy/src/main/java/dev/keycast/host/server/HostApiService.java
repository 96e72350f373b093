package dev.keycast.host.server;

import dev.keycast.host.bridge.EnclaveClient;
import dev.keycast.host.bridge.EnclaveException;
import dev.keycast.host.bridge.EnclaveResponse;
import dev.keycast.host.bridge.SendResponseReader;
import dev.keycast.host.store.ArtefactStore;
import dev.keycast.host.store.Delivery;
import dev.keycast.host.store.ForwardCommit;
import dev.keycast.host.store.ForwardRecord;
import dev.keycast.host.store.ReceiptRecord;
import dev.keycast.host.store.RecipientRecord;
import dev.keycast.host.store.SendCommit;
import dev.keycast.host.store.SendMetadata;
import dev.keycast.host.store.SendRecord;
import dev.keycast.host.store.StoreException;
import dev.keycast.host.store.StoredDelivery;
import dev.keycast.host.store.StoredSend;
import dev.keycast.protocol.Base64Url;
import dev.keycast.protocol.Json;
import dev.keycast.protocol.MalformedInputException;
import dev.keycast.protocol.SendIds;
import dev.keycast.protocol.Fingerprints;
import dev.keycast.protocol.TokenSyntax;
import dev.keycast.protocol.api.EnclaveApi;
import dev.keycast.protocol.api.EnclaveApi.Candidate;
import dev.keycast.protocol.api.ErrorCode;
import dev.keycast.protocol.api.HostApi;
import dev.keycast.protocol.api.RecipientProof;
import dev.keycast.protocol.envelope.RecipientKey;
import dev.keycast.protocol.envelope.RecipientKeys;
import dev.keycast.protocol.policy.SendPolicy;
import dev.keycast.protocol.receipt.Receipt;
import dev.keycast.protocol.receipt.ReceiptVerifier;
import io.netty.handler.codec.http.HttpMethod;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.cert.CertificateEncodingException;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.UUID;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The host's request logic, independent of Netty: answers every public and admin route of
 * {@code api.md} section 2. Methods block (store I/O, waiting for the enclave) and are meant to run
 * on virtual threads, never on an event loop.
 *
 * <p>Sends are answered only after {@link ArtefactStore#commitSend} returned; a store failure
 * answers {@code store_unavailable} (503) or {@code store_full} (507) and nothing is acknowledged.
 */
public final class HostApiService {
  private static final Logger LOG = LoggerFactory.getLogger(HostApiService.class);
  /** Content type of CMS deliveries. */
  public static final String CMS_TYPE = "application/pkcs7-mime";
  /** Content type of HPKE deliveries. */
  public static final String HPKE_TYPE = "application/vnd.keycast.hpke-envelope";
  /** Prometheus text content type. */
  public static final String METRICS_TYPE = "text/plain; version=0.0.4; charset=utf-8";

  private static final TokenSyntax ID = TokenSyntax.of("A-Za-z0-9_-", 1, 128);
  private static final TokenSyntax NONCE = TokenSyntax.of("A-Za-z0-9_-", 0, 128);
  private static final byte[] PAYLOAD_HASH_LABEL =
      "keycast/v1/send-payload".getBytes(StandardCharsets.US_ASCII);
  private static final int MAX_ENC = 1024;
  private static final int MAX_CIPHERTEXT = EnclaveApi.MAX_SECRET_BYTES + 1024;
  private static final int LATE_PAGE = 100;
  /** Most candidates one enclave request carries (api.md section 1). */
  public static final int MAX_CANDIDATES = 250_000;
  /**
   * Largest {@code POST /v1/recipients} body: a key (at most 64 KiB, PEM or base64url) and at most
   * 64 labels of at most 1024 characters each, JSON-escaped, fit well within it.
   */
  public static final int MAX_REGISTER_BYTES = 1024 * 1024;

  private final ArtefactStore store;
  private final EnclaveClient enclave;
  private final HostMetrics metrics;
  private final HostControl control;
  private final Clock clock;
  private final RecipientAuth auth;

  /** A service over its parts, with recipient authentication by a random per-process secret. */
  public HostApiService(ArtefactStore store, EnclaveClient enclave, HostMetrics metrics,
      HostControl control, Clock clock) {
    this(store, enclave, metrics, control, clock, RecipientAuth.withRandomSecret(clock));
  }

  /** A service over its parts. */
  public HostApiService(ArtefactStore store, EnclaveClient enclave, HostMetrics metrics,
      HostControl control, Clock clock, RecipientAuth auth) {
    this.auth = Objects.requireNonNull(auth, "auth");
    this.store = Objects.requireNonNull(store, "store");
    this.enclave = Objects.requireNonNull(enclave, "enclave");
    this.metrics = Objects.requireNonNull(metrics, "metrics");
    this.control = Objects.requireNonNull(control, "control");
    this.clock = Objects.requireNonNull(clock, "clock");
  }

  /** The metrics registry. */
  public HostMetrics metrics() {
    return metrics;
  }

  // ---------------------------------------------------------------- routing

  /** Answers a request of the public listener. */
  public HttpAnswer handlePublic(HttpCall call) {
    long start = System.nanoTime();
    String route = "unknown";
    HttpAnswer answer;
    try {
      String[] seg = segments(call.path());
      String m = call.method();
      if (seg.length == 2 && seg[0].equals("v1") && seg[1].equals("health")) {
        route = "health";
        answer = only(m, "GET", () -> HttpAnswer.json(200, Map.of("status", "ok")));
      } else if (seg.length == 2 && seg[0].equals("v1") && seg[1].equals("ready")) {
        route = "ready";
        answer = only(m, "GET", this::ready);
      } else if (seg.length == 1 && seg[0].equals("metrics")) {
        route = "metrics";
        answer = only(m, "GET", () -> HttpAnswer.text(200, METRICS_TYPE, metrics.render()));
      } else if (seg.length == 2 && seg[0].equals("v1") && seg[1].equals("attestation")) {
        route = "attestation";
        answer = only(m, "GET", () -> attestation(call.param("nonce")));
      } else if (seg.length == 2 && seg[0].equals("v1") && seg[1].equals("sends")) {
        route = "sends";
        answer = only(m, "POST", () -> send(call.body()));
      } else if (seg.length == 2 && seg[0].equals("v1") && seg[1].equals("recipients")) {
        route = "recipients";
        answer = only(m, "POST", () -> register(call.body()));
      } else if (seg.length == 3 && seg[0].equals("v1") && seg[1].equals("recipients")
          && seg[2].equals("challenge")) {
        route = "recipient_challenge";
        answer = only(m, "POST", () -> challenge(call.body()));
      } else if (seg.length == 4 && seg[0].equals("v1") && seg[1].equals("recipients")
          && seg[3].equals("sessions")) {
        route = "recipient_session";
        answer = only(m, "POST", () -> session(seg[2], call.body()));
      } else if (seg.length == 3 && seg[0].equals("v1") && seg[1].equals("recipients")) {
        route = "recipient";
        answer = only(m, "GET", () -> recipient(seg[2], call.authorization()));
      } else if (seg.length == 4 && seg[0].equals("v1") && seg[1].equals("recipients")
          && seg[3].equals("deliveries")) {
        route = "deliveries";
        answer = only(m, "GET", () -> deliveries(seg[2], call.param("after"), call.param("limit"),
            call.authorization()));
      } else if (seg.length == 3 && seg[0].equals("v1") && seg[1].equals("deliveries")) {
        route = "delivery";
        answer = only(m, "GET", () -> delivery(seg[2], call.authorization()));
      } else if (seg.length == 3 && seg[0].equals("v1") && seg[1].equals("receipts")) {
        route = "receipt";
        answer = only(m, "GET", () -> receipt(seg[2]));
      } else {
        answer = HttpAnswer.error(ErrorCode.NOT_FOUND, "no such path: " + quote(call.path()));
      }
    } catch (RuntimeException e) {
      answer = internal(e);
    }
    record(route, answer, start);
    return answer;
  }

  /** Answers a request of the admin listener. */
  public HttpAnswer handleAdmin(HttpCall call) {
    long start = System.nanoTime();
    String route = "unknown";
    HttpAnswer answer;
    try {
      String[] seg = segments(call.path());
      if (seg.length == 2 && seg[0].equals("admin") && seg[1].equals("status")) {
        route = "admin_status";
        answer = only(call.method(), "GET", () -> HttpAnswer.json(200, control.status()));
      } else if (seg.length == 3 && seg[0].equals("admin") && seg[1].equals("keyset")
          && seg[2].equals("init")) {
        route = "admin_init";
        answer = only(call.method(), "POST",
            () -> HttpAnswer.json(200, control.initKeySet(call.param("kms_key_id"))));
      } else if (seg.length == 3 && seg[0].equals("admin") && seg[1].equals("keyset")
          && seg[2].equals("rewrap")) {
        route = "admin_rewrap";
        answer = only(call.method(), "POST", () -> HttpAnswer.json(200, control.rewrapKeySet(call.body())));
      } else if (seg.length == 1 && seg[0].equals("metrics")) {
        route = "metrics";
        answer = only(call.method(), "GET", () -> HttpAnswer.text(200, METRICS_TYPE, metrics.render()));
      } else {
        answer = HttpAnswer.error(ErrorCode.NOT_FOUND, "no such path: " + quote(call.path()));
      }
    } catch (RuntimeException e) {
      answer = internal(e);
    }
    record(route, answer, start);
    return answer;
  }

  private void record(String route, HttpAnswer answer, long startNanos) {
    metrics.inc("keycast_host_requests_total", "HTTP requests by route and status",
        "route", route, "status", Integer.toString(answer.status()));
    metrics.observe("keycast_host_request_seconds", "HTTP request latency by route",
        HostMetrics.LATENCY_BUCKETS, (System.nanoTime() - startNanos) / 1e9, "route", route);
  }

  private static HttpAnswer internal(RuntimeException e) {
    String id = UUID.randomUUID().toString();
    LOG.error("internal error {}", id, e);
    return HttpAnswer.error(ErrorCode.INTERNAL, "internal error; correlation id " + id);
  }

  private interface Action {
    HttpAnswer run() throws ApiException, InterruptedException;
  }

  private static HttpAnswer only(String method, String allowed, Action action) {
    if (!method.equals(allowed)) {
      return HttpAnswer.error(ErrorCode.METHOD_NOT_ALLOWED, "use " + allowed);
    }
    try {
      return action.run();
    } catch (ApiException e) {
      return e.answer();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return HttpAnswer.error(ErrorCode.OVERLOADED, "the host is shutting down");
    }
  }

  private static String[] segments(String path) {
    String p = path.startsWith("/") ? path.substring(1) : path;
    if (p.endsWith("/")) {
      p = p.substring(0, p.length() - 1);
    }
    return p.isEmpty() ? new String[0] : p.split("/", -1);
  }

  // ---------------------------------------------------------------- simple routes

  private HttpAnswer ready() {
    EnclaveApi.Readiness r = control.readiness();
    HttpAnswer a = HttpAnswer.json(r.ready() ? 200 : 503, r);
    return r.ready() ? a : new HttpAnswer(503, a.contentType(), a.body(), 2);
  }

  private void requireReady() throws ApiException {
    EnclaveApi.Readiness r = control.readiness();
    if (!r.ready()) {
      throw new ApiException(ErrorCode.NOT_READY, "the host is not ready: " + r.state()
          + (r.reason() == null ? "" : " (" + r.reason() + ")"));
    }
  }

  private HttpAnswer attestation(String nonce) throws ApiException, InterruptedException {
    if (nonce != null && !NONCE.matches(nonce)) {
      throw new ApiException(ErrorCode.MALFORMED_REQUEST, "nonce must be base64url of at most "
          + EnclaveApi.MAX_NONCE_BYTES + " bytes");
    }
    EnclaveResponse r = callEnclave(HttpMethod.GET,
        "/v1/attestation" + (nonce == null ? "" : "?nonce=" + nonce), null);
    return new HttpAnswer(r.status(), r.contentType().isEmpty() ? HttpAnswer.JSON : r.contentType(),
        r.body(), r.status() == 503 ? 2 : 0);
  }

  private HttpAnswer recipient(String fingerprint, String authorization) throws ApiException {
    checkFingerprint(fingerprint);
    auth.checkSession(authorization, fingerprint);
    List<RecipientRecord> found = storeCall("find_recipients",
        () -> store.findRecipients(List.of(fingerprint)));
    if (found.isEmpty()) {
      throw new ApiException(ErrorCode.NOT_FOUND, "no recipient " + fingerprint);
    }
    RecipientRecord r = found.get(0);
    return HttpAnswer.json(200, new HostApi.Recipient(r.fingerprint(), r.kind(), r.labels(),
        r.registeredAt(), 0));
  }

  private HttpAnswer deliveries(String fingerprint, String after, String limitText,
      String authorization) throws ApiException {
    checkFingerprint(fingerprint);
    auth.checkSession(authorization, fingerprint);
    if (after != null && !ID.matches(after)) {
      throw new ApiException(ErrorCode.MALFORMED_REQUEST, "after must be a delivery id: "
          + quote(after));
    }
    int limit = 100;
    if (limitText != null) {
      try {
        limit = Integer.parseInt(limitText);
      } catch (NumberFormatException e) {
        limit = -1;
      }
      if (limit < 1 || limit > ArtefactStore.MAX_PAGE) {
        throw new ApiException(ErrorCode.MALFORMED_REQUEST, "limit must be 1.."
            + ArtefactStore.MAX_PAGE + ": " + quote(limitText));
      }
    }
    int n = limit;
    List<StoredDelivery> page = storeCall("list_deliveries",
        () -> store.listDeliveries(fingerprint, after, n + 1));
    boolean more = page.size() > n;
    List<StoredDelivery> shown = more ? page.subList(0, n) : page;
    List<HostApi.DeliverySummary> out = new ArrayList<>(shown.size());
    Map<String, Instant> sendTimes = new LinkedHashMap<>();
    for (StoredDelivery d : shown) {
      Instant created = sendTimes.get(d.receiptId());
      if (created == null) {
        created = storeCall("get_receipt", () -> store.getReceipt(d.receiptId()))
            .map(ReceiptRecord::createdAt).orElse(null);
        sendTimes.put(d.receiptId(), created);
      }
      out.add(new HostApi.DeliverySummary(d.deliveryId(), d.sendId(), d.recipientFingerprint(),
          d.delivery().formatId(), created));
    }
    String next = more ? shown.get(shown.size() - 1).deliveryId() : null;
    return HttpAnswer.json(200, new HostApi.DeliveryPage(out, next));
  }

  private HttpAnswer delivery(String id, String authorization) throws ApiException {
    checkId("delivery id", id);
    String holder = auth.sessionFingerprint(authorization);
    StoredDelivery d = storeCall("get_delivery", () -> store.getDelivery(id))
        // another recipient's delivery is answered as an absent one: no existence oracle
        .filter(found -> MessageDigest.isEqual(
            found.recipientFingerprint().getBytes(StandardCharsets.US_ASCII),
            holder.getBytes(StandardCharsets.US_ASCII)))
        .orElseThrow(() -> new ApiException(ErrorCode.NOT_FOUND, "no delivery " + id
            + " for this recipient"));
    String type = d.delivery().formatId().startsWith("cms") ? CMS_TYPE : HPKE_TYPE;
    return new HttpAnswer(200, type, d.delivery().envelope(), 0);
  }

  private HttpAnswer receipt(String id) throws ApiException {
    checkId("receipt id", id);
    ReceiptRecord r = storeCall("get_receipt", () -> store.getReceipt(id))
        .orElseThrow(() -> new ApiException(ErrorCode.NOT_FOUND, "no receipt " + id));
    return HttpAnswer.json(200,
        new HostApi.ReceiptView(r.receiptId(), r.sendId(), Base64Url.encode(r.bytes())));
  }

  // ---------------------------------------------------------------- sends

  /**
   * The idempotency key of a send: SHA-256 over {@code "keycast/v1/send-payload" || 0x00 ||
   * u32(version) || lp(UTF8(suite)) || lp(UTF8(key_set_id)) || lp(policy) || lp(enc) ||
   * lp(ciphertext)}, where {@code lp(x) = u32(len(x)) || x}, {@code u32} big-endian, and policy,
   * enc and ciphertext are the base64url-decoded bytes (see api.md section 2.1).
   */
  public static byte[] payloadHash(int version, String suite, String keySetId, byte[] policy,
      byte[] enc, byte[] ciphertext) {
    MessageDigest md = sha256();
    md.update(PAYLOAD_HASH_LABEL);
    md.update((byte) 0);
    md.update(ByteBuffer.allocate(4).putInt(version).array());
    for (byte[] part : new byte[][] {suite.getBytes(StandardCharsets.UTF_8),
        keySetId.getBytes(StandardCharsets.UTF_8), policy, enc, ciphertext}) {
      md.update(ByteBuffer.allocate(4).putInt(part.length).array());
      md.update(part);
    }
    return md.digest();
  }

  private HttpAnswer send(byte[] body) throws ApiException, InterruptedException {
    EnclaveApi.SendPayload p = decode(body, EnclaveApi.SendPayload.class);
    if (p.suite() == null || p.keySetId() == null || p.policy() == null || p.enc() == null
        || p.ciphertext() == null) {
      throw new ApiException(ErrorCode.MALFORMED_REQUEST,
          "a send payload needs version, suite, key_set_id, policy, enc and ciphertext");
    }
    if (p.suite().length() > 256 || p.keySetId().length() > 256) {
      throw new ApiException(ErrorCode.MALFORMED_REQUEST, "suite or key_set_id is too long");
    }
    byte[] policyBytes = b64("policy", p.policy(), SendPolicy.MAX_BYTES);
    byte[] enc = b64("enc", p.enc(), MAX_ENC);
    byte[] ciphertext = b64("ciphertext", p.ciphertext(), MAX_CIPHERTEXT);
    byte[] hash = payloadHash(p.version(), p.suite(), p.keySetId(), policyBytes, enc, ciphertext);
    // the id the enclave gives this payload (api.md 1.1 step 5): a retry is found by it
    String sendId = SendIds.of(enc, ciphertext);
    requireReady();

    var existing = storeCall("find_send", () -> store.findSend(sendId, hash));
    if (existing.isPresent()) {
      return HttpAnswer.json(200, replay(existing.get()));
    }
    SendPolicy policy;
    try {
      policy = SendPolicy.parse(policyBytes);
    } catch (MalformedInputException e) {
      throw new ApiException(e.code().equals("unsupported_version")
          ? ErrorCode.UNSUPPORTED_VERSION : ErrorCode.INVALID_POLICY, e.getMessage());
    }
    EnclaveResponse answer = streamSend(p, policy);
    if (!answer.ok()) {
      throw unavailable(answer.toException());
    }
    return HttpAnswer.json(200, commit(sendId, hash, policyBytes, policy, answer.body()));
  }

  /**
   * Sends with at most this many deliveries hand the store a parsed list (parsed on the request's
   * thread); bigger ones a stream parsed while the store's writer writes it (never held whole).
   */
  static final int MATERIALIZED_DELIVERIES = 64;

  private HostApi.SendResult commit(String expectedSendId, byte[] hash, byte[] policyBytes,
      SendPolicy policy, byte[] answer) throws ApiException {
    Instant now = clock.instant();
    SendResponseReader.Header r;
    try {
      r = SendResponseReader.header(answer);
    } catch (MalformedInputException e) {
      throw new ApiException(ErrorCode.INTERNAL, "the enclave's send answer is unusable: "
          + e.getMessage());
    }
    if (!expectedSendId.equals(r.sendId())) {
      // the store keys sends by this id: one payload, one id (ArtefactStore.commitSend)
      throw new ApiException(ErrorCode.INTERNAL, "the enclave's send answer is unusable: it names "
          + "another send id than this payload's (" + expectedSendId + ")");
    }
    byte[] receipt = b64Enclave("receipt", r.receipt());
    byte[] sealed = b64Enclave("sealed_secret", r.sealedSecret());
    List<HostApi.DeliverySummary> delivered = new ArrayList<>(r.deliveryCount());
    SendRecord record;
    try {
      Instant nb = policy.notBefore();
      Instant na = policy.notAfter();
      if (!nb.isBefore(na)) {
        nb = null;
      }
      SendMetadata meta = new SendMetadata(r.sendId(), hash, policyBytes, policy.lateRecipients(),
          nb, na, sealed, now);
      String sendId = r.sendId();
      Iterable<EnclaveApi.Delivery> ds = SendResponseReader.deliveries(answer);
      ReceiptRecord rr = new ReceiptRecord(r.receiptId(), r.sendId(), receipt, now);
      if (r.deliveryCount() <= MATERIALIZED_DELIVERIES) {
        // a small send: parse and check its deliveries here, on the request's own thread, so the
        // store's single writer thread (the serial stage of small sends) only writes rows
        List<Delivery> list = new ArrayList<>(r.deliveryCount());
        for (EnclaveApi.Delivery d : ds) {
          delivered.add(new HostApi.DeliverySummary(d.deliveryId(), sendId, d.recipient(),
              d.format(), now));
          list.add(toStoreDelivery(d));
        }
        record = new SendRecord(meta, rr, List.copyOf(list));
      } else {
        // a big send streams: the answer's deliveries are parsed while the store writes them
        record = new SendRecord(meta, rr, () -> mapped(ds.iterator(), d -> {
          delivered.add(new HostApi.DeliverySummary(d.deliveryId(), sendId, d.recipient(),
              d.format(), now));
          return toStoreDelivery(d);
        }));
      }
    } catch (IllegalArgumentException | NullPointerException | java.io.UncheckedIOException e) {
      throw new ApiException(ErrorCode.INTERNAL, "the enclave's send answer is unusable: "
          + e.getMessage());
    }
    SendCommit c = storeCall("commit_send", () -> store.commitSend(record));
    metrics.observe("keycast_host_send_deliveries", "deliveries per send",
        HostMetrics.FANOUT_BUCKETS, r.deliveryCount());
    if (c.replayed()) {
      return replay(c.send());
    }
    // DEBUG, not INFO: at small-send rates a line per send was a measurable share of the CPU
    // (performance.md section 3); keycast_host_request_seconds{route="sends"} and
    // keycast_host_send_deliveries count every send, and the store keeps every signed receipt.
    if (LOG.isDebugEnabled()) {
      LOG.debug("send {} stored: {} deliveries, {} skipped", r.sendId(), r.deliveryCount(),
          r.skipped().size());
    }
    return new HostApi.SendResult(r.sendId(), r.secretId(), r.receiptId(), r.receipt(), delivered,
        r.skipped(), false);
  }

  private static Delivery toStoreDelivery(EnclaveApi.Delivery d) {
    try {
      return new Delivery(d.deliveryId(), d.recipient(), d.format(),
          Base64Url.decode("envelope", d.envelope(), 1 << 20));
    } catch (MalformedInputException e) {
      throw new IllegalArgumentException("the enclave sent a malformed envelope: " + e.getMessage());
    }
  }

  private static <A, B> Iterator<B> mapped(Iterator<A> in, Function<A, B> f) {
    return new Iterator<>() {
      @Override
      public boolean hasNext() {
        return in.hasNext();
      }

      @Override
      public B next() {
        return f.apply(in.next());
      }
    };
  }

  /** The original result of a committed send, rebuilt from its stored, signed receipt. */
  private HostApi.SendResult replay(StoredSend s) throws ApiException {
    ReceiptRecord rr = storeCall("get_receipt", () -> store.getReceipt(s.receiptId()))
        .orElseThrow(() -> new ApiException(ErrorCode.STORE_UNAVAILABLE,
            "the receipt of send " + s.sendId() + " is missing"));
    String secretId = null;
    try {
      secretId = SendPolicy.parse(s.metadata().policyJson()).secretId();
    } catch (MalformedInputException e) {
      LOG.warn("stored policy of send {} does not parse", s.sendId());
    }
    List<HostApi.DeliverySummary> delivered = new ArrayList<>();
    List<EnclaveApi.Skipped> skipped = new ArrayList<>();
    EnclaveApi.KeyBundle bundle = control.keyBundle();
    if (bundle != null) {
      try {
        Receipt receipt = ReceiptVerifier.verify(rr.bytes(),
            Base64Url.decode("signing_public_key", bundle.signingPublicKey(), 64));
        for (Receipt.Delivery d : receipt.deliveries()) {
          delivered.add(new HostApi.DeliverySummary(d.deliveryId(), s.sendId(),
              d.recipientFingerprint(), d.formatId(), rr.createdAt()));
        }
        for (Receipt.Skipped k : receipt.skipped()) {
          skipped.add(new EnclaveApi.Skipped(k.recipientFingerprint(), k.reasonCode(), k.message()));
        }
      } catch (Exception e) {
        LOG.warn("stored receipt of send {} does not verify under the current key set: {}",
            s.sendId(), e.getClass().getSimpleName());
      }
    }
    return new HostApi.SendResult(s.sendId(), secretId, rr.receiptId(),
        Base64Url.encode(rr.bytes()), delivered, skipped, true);
  }

  /**
   * Sends the enclave's {@code POST /v1/send} body while it is written, as the candidates are read
   * from the store ({@link EnclaveClient#stream}: the enclave decides and seals the first
   * candidates while the host still reads the next ones, and the body is never held whole):
   * {@code payload} first, then {@code candidates} (api.md section 1.1 requires that order), each
   * registered recipient the policy may admit once, from its cleartext selector only. A body over
   * {@link EnclaveApi#MAX_REQUEST_BYTES} or more than {@link #MAX_CANDIDATES} candidates abandons
   * the request ({@code too_many_recipients}); a store failure abandons it too.
   */
  private EnclaveResponse streamSend(EnclaveApi.SendPayload payload, SendPolicy policy)
      throws ApiException, InterruptedException {
    byte[] payloadJson = Json.encode(payload);
    int[] attachedCount = new int[1];
    long start = System.nanoTime();
    try {
      EnclaveResponse r = enclave.stream(HttpMethod.POST, "/v1/send", EnclaveApi.MAX_REQUEST_BYTES,
          out -> attachedCount[0] = writeSendRequest(out, payloadJson, policy));
      if (!r.ok()) {
        metrics.inc("keycast_host_enclave_errors_total", "error answers and failures of the enclave",
            "code", r.toException().code().code());
      }
      return r;
    } catch (EnclaveClient.BodyTooLargeException e) {
      throw new ApiException(ErrorCode.TOO_MANY_RECIPIENTS,
          "the matching recipients do not fit in one enclave request");
    } catch (EnclaveException e) {
      metrics.inc("keycast_host_enclave_errors_total", "error answers and failures of the enclave",
          "code", e.code().code());
      throw unavailable(e);
    } finally {
      metrics.observe("keycast_host_enclave_seconds", "enclave request latency (send: including "
          + "the candidates' lookup while the request is written)", HostMetrics.LATENCY_BUCKETS,
          (System.nanoTime() - start) / 1e9, "route", "send");
      metrics.observe("keycast_host_send_candidates", "candidates attached per send",
          HostMetrics.FANOUT_BUCKETS, attachedCount[0]);
    }
  }

  private static final byte[] SEND_OPEN = "{\"payload\":".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] CANDIDATES_OPEN =
      ",\"candidates\":[".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] SEND_CLOSE = "]}".getBytes(StandardCharsets.US_ASCII);

  /** Writes one send request body to {@code out}; returns how many candidates it attached. */
  private int writeSendRequest(java.io.OutputStream out, byte[] payloadJson, SendPolicy policy)
      throws ApiException, java.io.IOException {
    java.util.Set<String> attached = new java.util.HashSet<>();
    StoredKey.Scan scan = new StoredKey.Scan();
    out.write(SEND_OPEN);
    out.write(payloadJson);
    out.write(CANDIDATES_OPEN);
    List<String> fps = policy.recipients().fingerprints();
    for (int i = 0; i < fps.size(); i += ArtefactStore.MAX_PAGE) {
      List<String> chunk = fps.subList(i, Math.min(fps.size(), i + ArtefactStore.MAX_PAGE));
      for (RecipientRecord r : storeCall("find_recipients", () -> store.findRecipients(chunk))) {
        attach(out, scan, attached, r.fingerprint(), r.publicKeyOrChain());
      }
    }
    if (!policy.recipients().anchors().isEmpty()) {
      String after = null;
      while (true) {
        String cursor = after;
        List<RecipientRecord> page = storeCall("list_recipients",
            () -> store.listRecipients(cursor, ArtefactStore.MAX_PAGE));
        for (RecipientRecord r : page) {
          byte[] stored = r.publicKeyOrChain();
          if (StoredKey.hasChain(stored)) {
            attach(out, scan, attached, r.fingerprint(), stored);
          }
        }
        if (page.size() < ArtefactStore.MAX_PAGE) {
          break;
        }
        after = page.get(page.size() - 1).fingerprint();
      }
    }
    out.write(SEND_CLOSE);
    return attached.size();
  }

  private static void attach(java.io.OutputStream out, StoredKey.Scan scan,
      java.util.Set<String> attached, String fingerprint, byte[] stored)
      throws ApiException, java.io.IOException {
    if (!attached.add(fingerprint)) {
      return;
    }
    if (attached.size() > MAX_CANDIDATES) {
      throw new ApiException(ErrorCode.TOO_MANY_RECIPIENTS, "more than " + MAX_CANDIDATES
          + " registered recipients match the policy; one send carries at most " + MAX_CANDIDATES);
    }
    if (attached.size() > 1) {
      out.write(',');
    }
    StoredKey.writeCandidate(stored, scan, out);
  }

  // ---------------------------------------------------------------- recipients

  private HttpAnswer register(byte[] body) throws ApiException, InterruptedException {
    if (body.length > MAX_REGISTER_BYTES) {
      // checked before decoding: a 64 MiB body of tiny labels would decode to millions of entries
      throw new ApiException(ErrorCode.PAYLOAD_TOO_LARGE, "a registration body is at most "
          + MAX_REGISTER_BYTES + " bytes, got " + body.length);
    }
    HostApi.RegisterRecipient req = decode(body, HostApi.RegisterRecipient.class);
    RecipientKey key = parseKey(req.key());
    // proof of possession before anything else: a refused registration stores nothing
    auth.checkProof(key, req.token(), req.proof());
    Map<String, String> labels = req.labels() == null ? Map.of() : req.labels();
    requireReady();
    byte[] stored = StoredKey.encode(key);
    Candidate candidate = StoredKey.candidate(stored);
    EnclaveApi.ValidateResponse v = decodeEnclave(callEnclave(HttpMethod.POST,
        "/v1/recipients/validate", Json.encode(new EnclaveApi.ValidateRequest(List.of(candidate)))),
        EnclaveApi.ValidateResponse.class);
    if (v.recipients() == null || v.recipients().size() != 1) {
      throw new ApiException(ErrorCode.INTERNAL, "the enclave's validation answer is unusable");
    }
    EnclaveApi.RecipientCheck check = v.recipients().get(0);
    if (!check.valid()) {
      throw new ApiException(ErrorCode.INVALID_RECIPIENT, "recipient 0: " + check.error());
    }
    if (!key.fingerprint().equals(check.fingerprint())) {
      throw new ApiException(ErrorCode.INTERNAL, "the enclave computed another fingerprint");
    }
    RecipientRecord record;
    try {
      record = new RecipientRecord(key.fingerprint(), storedKind(check.kind()), stored, labels,
          clock.instant());
    } catch (IllegalArgumentException e) {
      throw new ApiException(ErrorCode.MALFORMED_REQUEST, e.getMessage());
    }
    List<RecipientRecord> before = storeCall("find_recipients",
        () -> store.findRecipients(List.of(record.fingerprint())));
    // the key's owner proved possession: a registration again replaces the earlier one whole
    RecipientRecord saved = storeCall("replace_recipient", () -> store.replaceRecipient(record));
    int late = forwardLate(saved);
    HostApi.Recipient out = new HostApi.Recipient(saved.fingerprint(), saved.kind(), saved.labels(),
        saved.registeredAt(), late);
    return HttpAnswer.json(before.isEmpty() ? 201 : 200, out);
  }

  private static RecipientKey parseKey(String text) throws ApiException {
    if (text == null || text.isBlank()) {
      throw new ApiException(ErrorCode.MALFORMED_REQUEST, "key is required");
    }
    try {
      String k = text.strip();
      return k.startsWith("-----BEGIN")
          ? RecipientKeys.parsePem(k)
          : RecipientKeys.parseDer(Base64Url.decode("key", k, RecipientKeys.MAX_INPUT_LENGTH));
    } catch (MalformedInputException e) {
      throw new ApiException(ErrorCode.INVALID_RECIPIENT, "recipient 0: " + e.getMessage());
    }
  }

  /** POST /v1/recipients/challenge: a challenge token (and, for X25519, the sealed response). */
  private HttpAnswer challenge(byte[] body) throws ApiException {
    if (body.length > MAX_REGISTER_BYTES) {
      throw new ApiException(ErrorCode.PAYLOAD_TOO_LARGE, "a challenge request body is at most "
          + MAX_REGISTER_BYTES + " bytes, got " + body.length);
    }
    RecipientProof.ChallengeRequest req = decode(body, RecipientProof.ChallengeRequest.class);
    return HttpAnswer.json(200, auth.challenge(parseKey(req.key())));
  }

  /** POST /v1/recipients/{fp}/sessions: a session token for a registered key's owner. */
  private HttpAnswer session(String fingerprint, byte[] body) throws ApiException {
    checkFingerprint(fingerprint);
    RecipientProof.SessionRequest req = decode(body, RecipientProof.SessionRequest.class);
    List<RecipientRecord> found = storeCall("find_recipients",
        () -> store.findRecipients(List.of(fingerprint)));
    if (found.isEmpty()) {
      throw new ApiException(ErrorCode.NOT_FOUND, "no recipient " + fingerprint);
    }
    RecipientKey key;
    try {
      // the stored key's PUBLIC KEY block (the proof is of the key, not of its chain)
      key = RecipientKeys.fromSpki(Base64Url.decode("key",
          StoredKey.candidate(found.get(0).publicKeyOrChain()).key(), RecipientKeys.MAX_INPUT_LENGTH));
    } catch (MalformedInputException | IllegalStateException e) {
      throw new ApiException(ErrorCode.INTERNAL, "the stored key of " + fingerprint
          + " does not parse");
    }
    auth.checkProof(key, req.token(), req.proof());
    return HttpAnswer.json(200, auth.session(fingerprint));
  }

  /** The store's kind ({@code rsa} or {@code x25519}) of the enclave's kind ({@code rsa-2048}, ...). */
  private static String storedKind(String enclaveKind) throws ApiException {
    if (enclaveKind != null && enclaveKind.startsWith("rsa")) {
      return RecipientRecord.KIND_RSA;
    }
    if ("x25519".equals(enclaveKind)) {
      return RecipientRecord.KIND_X25519;
    }
    throw new ApiException(ErrorCode.INTERNAL, "the enclave answered an unknown key kind");
  }

  /** Offers every open sealed secret that may admit {@code r} to the enclave; returns deliveries made. */
  private int forwardLate(RecipientRecord r) throws ApiException, InterruptedException {
    boolean hasChain = StoredKey.hasChain(r.publicKeyOrChain());
    Candidate candidate = StoredKey.candidate(r.publicKeyOrChain());
    int made = 0;
    String after = null;
    Instant now = clock.instant();
    while (true) {
      String cursor = after;
      List<StoredSend> page = storeCall("open_sends",
          () -> store.sealedSecretsOpenForLateRecipients(now, cursor, LATE_PAGE));
      for (StoredSend s : page) {
        SendPolicy p = policyOf(s);
        if (p == null || !mayAdmit(p, r.fingerprint(), hasChain)
            || storeCall("has_delivery", () -> store.hasDelivery(s.sendId(), r.fingerprint()))) {
          continue;
        }
        // the enclave is stateless: the host counts earlier deliveries against max_recipients
        // (each forward this host makes delivers to one recipient, so one per forward receipt)
        long forwards = storeCall("receipts_for_send", () -> store.receiptsForSend(s.sendId()))
            .size() - 1L;
        if (s.deliveryCount() + Math.max(0, forwards) >= p.maxRecipients()) {
          continue;
        }
        EnclaveApi.ForwardResponse f;
        try {
          f = callEnclave(HttpMethod.POST, "/v1/forward", Json.encode(new EnclaveApi.ForwardRequest(
              s.sendId(), Base64Url.encode(s.metadata().policyJson()),
              Base64Url.encode(s.metadata().sealedSecret()), List.of(candidate))))
              .decode(EnclaveApi.ForwardResponse.class, Integer.MAX_VALUE);
        } catch (EnclaveException e) {
          if (e.isUnavailable()) {
            throw unavailable(e);
          }
          metrics.inc("keycast_host_forward_errors_total", "forwards the enclave refused",
              "code", e.code().code());
          LOG.warn("forward of send {} to {} refused: {}", s.sendId(), r.fingerprint(),
              e.code().code());
          continue;
        }
        for (EnclaveApi.Delivery d : f.deliveries() == null ? List.<EnclaveApi.Delivery>of()
            : f.deliveries()) {
          if (!d.recipient().equals(r.fingerprint())) {
            continue;
          }
          ForwardRecord fr;
          try {
            fr = new ForwardRecord(s.sendId(), new ReceiptRecord(f.receiptId(), s.sendId(),
                b64Enclave("receipt", f.receipt()), clock.instant()), toStoreDelivery(d));
          } catch (IllegalArgumentException e) {
            throw new ApiException(ErrorCode.INTERNAL, "the enclave's forward answer is unusable: "
                + e.getMessage());
          }
          ForwardCommit c = storeCall("commit_forward", () -> store.commitForward(fr));
          if (!c.replayed()) {
            made++;
          }
        }
      }
      if (page.size() < LATE_PAGE) {
        break;
      }
      after = page.get(page.size() - 1).sendId();
    }
    if (made > 0) {
      metrics.add("keycast_host_late_deliveries_total", "deliveries made to late recipients", made);
      LOG.info("recipient {} got {} late deliveries", r.fingerprint(), made);
    }
    return made;
  }

  private static SendPolicy policyOf(StoredSend s) {
    try {
      return SendPolicy.parse(s.metadata().policyJson());
    } catch (MalformedInputException e) {
      LOG.warn("stored policy of send {} does not parse", s.sendId());
      return null;
    }
  }

  private static boolean mayAdmit(SendPolicy p, String fingerprint, boolean hasChain) {
    return p.recipients().fingerprints().contains(fingerprint)
        || (hasChain && !p.recipients().anchors().isEmpty());
  }

  // ---------------------------------------------------------------- helpers

  private EnclaveResponse callEnclave(HttpMethod method, String path, byte[] body)
      throws ApiException, InterruptedException {
    try {
      EnclaveResponse r = enclave.call(method, path, body);
      if (!r.ok()) {
        EnclaveException e = r.toException();
        metrics.inc("keycast_host_enclave_errors_total", "error answers and failures of the enclave",
            "code", e.code().code());
      }
      return r;
    } catch (EnclaveException e) {
      metrics.inc("keycast_host_enclave_errors_total", "error answers and failures of the enclave",
          "code", e.code().code());
      throw unavailable(e);
    }
  }

  private static ApiException unavailable(EnclaveException e) {
    return new ApiException(e.code(), e.status(), e.getMessage());
  }

  private <T> T decodeEnclave(EnclaveResponse r, Class<T> type) throws ApiException {
    try {
      return r.decode(type, Integer.MAX_VALUE);
    } catch (EnclaveException e) {
      throw unavailable(e);
    }
  }

  private interface StoreOp<T> {
    T run() throws StoreException;
  }

  private <T> T storeCall(String op, StoreOp<T> action) throws ApiException {
    long start = System.nanoTime();
    try {
      return action.run();
    } catch (StoreException e) {
      metrics.inc("keycast_host_store_errors_total", "store failures by code", "code",
          e.code().id());
      LOG.warn("store {} failed: {}", op, e.code().id());
      throw switch (e.code()) {
        case STORE_FULL -> new ApiException(ErrorCode.STORE_FULL,
            "the store is full; nothing was acknowledged");
        case NOT_FOUND -> new ApiException(ErrorCode.NOT_FOUND, e.getMessage());
        case CONFLICT -> new ApiException(ErrorCode.INTERNAL, "store conflict: " + e.getMessage());
        default -> new ApiException(ErrorCode.STORE_UNAVAILABLE,
            "the store is unavailable; nothing was acknowledged");
      };
    } catch (java.io.UncheckedIOException | IllegalArgumentException e) {
      // a delivery of the enclave's answer that does not parse, met while the store iterated it
      LOG.error("enclave answer unusable during {}: {}", op, e.getMessage());
      throw new ApiException(ErrorCode.INTERNAL, "the enclave's answer is unusable; nothing was "
          + "acknowledged");
    } catch (RuntimeException e) {
      // a store implementation bug: nothing is acknowledged
      metrics.inc("keycast_host_store_errors_total", "store failures by code", "code", "exception");
      LOG.error("store {} failed", op, e);
      throw new ApiException(ErrorCode.STORE_UNAVAILABLE,
          "the store is unavailable; nothing was acknowledged");
    } finally {
      metrics.observe("keycast_host_store_seconds", "store operation latency",
          HostMetrics.LATENCY_BUCKETS, (System.nanoTime() - start) / 1e9, "op", op);
    }
  }

  private static <T> T decode(byte[] body, Class<T> type) throws ApiException {
    try {
      return Json.decode(body, HostApi.MAX_REQUEST_BYTES, type);
    } catch (MalformedInputException e) {
      throw new ApiException(e.code().equals("oversize") ? ErrorCode.PAYLOAD_TOO_LARGE
          : ErrorCode.MALFORMED_REQUEST, e.getMessage());
    }
  }

  private static byte[] b64(String field, String text, int max) throws ApiException {
    try {
      return Base64Url.decode(field, text, max);
    } catch (MalformedInputException e) {
      throw new ApiException(ErrorCode.MALFORMED_REQUEST, e.getMessage());
    }
  }

  private static byte[] b64Enclave(String field, String text) throws ApiException {
    try {
      return Base64Url.decode(field, Objects.requireNonNull(text, field), 96 << 20);
    } catch (MalformedInputException | NullPointerException e) {
      throw new ApiException(ErrorCode.INTERNAL, "the enclave's answer has no valid " + field);
    }
  }

  private static void checkFingerprint(String fp) throws ApiException {
    if (!Fingerprints.isWellFormed(fp)) {
      throw new ApiException(ErrorCode.MALFORMED_REQUEST,
          "fingerprint must be 64 lowercase hex characters: " + quote(fp));
    }
  }

  private static void checkId(String what, String id) throws ApiException {
    if (!ID.matches(id)) {
      throw new ApiException(ErrorCode.MALFORMED_REQUEST, what + " must match [A-Za-z0-9_-]{1,128}: "
          + quote(id));
    }
  }

  static String quote(String s) {
    String cut = s.length() > 80 ? s.substring(0, 80) + "..." : s;
    return "\"" + cut.replaceAll("[^\\x20-\\x7e]", "?") + "\"";
  }

  private static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /**
   * How the host stores a recipient's key: PEM text, a {@code PUBLIC KEY} block (SPKI DER)
   * followed, for certificate holders, by the chain's {@code CERTIFICATE} blocks, leaf first.
   */
  static final class StoredKey {
    private static final byte[] BEGIN = "-----BEGIN ".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] END_OF_LINE = "-----\n".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] END_PUBLIC_KEY =
        "-----END PUBLIC KEY-----".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] END_CERTIFICATE =
        "-----END CERTIFICATE-----".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] BEGIN_CERTIFICATE =
        "-----BEGIN CERTIFICATE-----".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] PUBLIC_KEY = "PUBLIC KEY".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] CERTIFICATE = "CERTIFICATE".getBytes(StandardCharsets.US_ASCII);

    /** Standard base64 alphabet to base64url; 0 for anything else. */
    private static final byte[] URL_SAFE = new byte[256];

    static {
      String std = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
      String url = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
      for (int i = 0; i < std.length(); i++) {
        URL_SAFE[std.charAt(i)] = (byte) url.charAt(i);
      }
    }

    private StoredKey() {}

    static byte[] encode(RecipientKey key) throws ApiException {
      StringBuilder b = new StringBuilder();
      pem(b, "PUBLIC KEY", key.spkiDer());
      // both key types keep their chain (an X25519 chain was once dropped here)
      for (X509Certificate c : key.certificateChain()) {
        try {
          pem(b, "CERTIFICATE", c.getEncoded());
        } catch (CertificateEncodingException e) {
          throw new ApiException(ErrorCode.INVALID_RECIPIENT, "recipient 0: certificate does not encode");
        }
      }
      return b.toString().getBytes(StandardCharsets.US_ASCII);
    }

    private static void pem(StringBuilder b, String type, byte[] der) {
      b.append("-----BEGIN ").append(type).append("-----\n")
          .append(Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(der))
          .append("\n-----END ").append(type).append("-----\n");
    }

    static boolean hasChain(byte[] stored) {
      return indexOf(stored, BEGIN_CERTIFICATE, 0) >= 0;
    }

    /**
     * The candidate of a stored key: its {@code PUBLIC KEY} and {@code CERTIFICATE} blocks, each
     * body re-spelled from base64 to unpadded base64url without decoding it (a send attaches
     * every registered recipient, so this runs 10,000 times per big send; a regex and a decode and
     * encode per block were most of the host's time). A block whose body holds anything but base64
     * characters and line feeds is ignored, as before.
     */
    static Candidate candidate(byte[] stored) {
      Scan scan = new Scan().of(stored);
      List<String> chain = new ArrayList<>(scan.chainCount);
      for (int k = 0; k < scan.chainCount; k++) {
        chain.add(scan.text(scan.chain[2 * k], scan.chain[2 * k + 1]));
      }
      return new Candidate(scan.text(scan.keyFrom, scan.keyTo), chain);
    }

    private static final byte[] KEY_OPEN = "{\"key\":\"".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] CHAIN_OPEN = "\",\"chain\":[\"".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] NEXT_CERT = "\",\"".getBytes(StandardCharsets.US_ASCII);

    /**
     * Writes the candidate of a stored key as the JSON object {@link #candidate} would encode to,
     * {@code {"key":"...","chain":["...",...]}} ({@code chain} only when not empty), straight from
     * the stored bytes: base64url needs no JSON escaping, so no String is made. {@code scan} is
     * scratch space reused from one call to the next.
     */
    static void writeCandidate(byte[] stored, Scan scan, java.io.OutputStream out)
        throws java.io.IOException {
      scan.of(stored);
      out.write(KEY_OPEN);
      out.write(scan.out, scan.keyFrom, scan.keyTo - scan.keyFrom);
      for (int k = 0; k < scan.chainCount; k++) {
        out.write(k == 0 ? CHAIN_OPEN : NEXT_CERT);
        out.write(scan.out, scan.chain[2 * k], scan.chain[2 * k + 1] - scan.chain[2 * k]);
      }
      out.write('"');
      if (scan.chainCount > 0) {
        out.write(']');
      }
      out.write('}');
    }

    /**
     * The blocks of one stored key, re-spelled from base64 to unpadded base64url into {@link #out}:
     * the {@code PUBLIC KEY} block's body at {@code [keyFrom, keyTo)} (the last one when there are
     * several), the {@code CERTIFICATE} blocks' bodies in order at {@code chain[2k], chain[2k+1]}.
     * A block whose body holds anything but base64 characters and line feeds is ignored. Reusable.
     */
    static final class Scan {
      byte[] out = new byte[0];
      int keyFrom;
      int keyTo;
      int[] chain = new int[8];
      int chainCount;
      private int used;

      /** Scans {@code stored}; throws IllegalStateException when it has no PUBLIC KEY block. */
      Scan of(byte[] stored) {
        if (out.length < stored.length) {
          out = new byte[Math.max(stored.length, 2 * out.length)];
        }
        used = 0;
        keyFrom = -1;
        keyTo = -1;
        chainCount = 0;
        int i = 0;
        while ((i = indexOf(stored, BEGIN, i)) >= 0) {
          int type = i + BEGIN.length;
          byte[] end;
          if (startsWith(stored, type, PUBLIC_KEY) && startsWith(stored, type + PUBLIC_KEY.length, END_OF_LINE)) {
            end = END_PUBLIC_KEY;
            i = type + PUBLIC_KEY.length + END_OF_LINE.length;
          } else if (startsWith(stored, type, CERTIFICATE)
              && startsWith(stored, type + CERTIFICATE.length, END_OF_LINE)) {
            end = END_CERTIFICATE;
            i = type + CERTIFICATE.length + END_OF_LINE.length;
          } else {
            i = type;
            continue;
          }
          int stop = indexOf(stored, end, i);
          if (stop < 0) {
            break;
          }
          int from = used;
          if (!base64UrlOf(stored, i, stop)) {
            used = from;
            continue; // not a base64 body: look for the next BEGIN after this one
          }
          if (end == END_PUBLIC_KEY) {
            keyFrom = from;
            keyTo = used;
          } else {
            if (2 * chainCount + 2 > chain.length) {
              chain = Arrays.copyOf(chain, 2 * chain.length);
            }
            chain[2 * chainCount] = from;
            chain[2 * chainCount + 1] = used;
            chainCount++;
          }
          i = stop + end.length;
        }
        if (keyFrom < 0) {
          throw new IllegalStateException("stored recipient key has no PUBLIC KEY block");
        }
        return this;
      }

      String text(int from, int to) {
        return new String(out, from, to - from, StandardCharsets.ISO_8859_1);
      }

      /**
       * Appends standard base64 with line feeds in [from, to) as unpadded base64url; false if it is
       * not base64.
       */
      private boolean base64UrlOf(byte[] b, int from, int to) {
        int start = used;
        int n = used;
        boolean padding = false;
        byte[] o = out;
        for (int i = from; i < to; i++) {
          byte c = b[i];
          byte m = URL_SAFE[c & 0xff];
          if (m > 0 && !padding) {
            o[n++] = m;
          } else if (c == '=') {
            padding = true;
          } else if (c != '\n') {
            return false; // a foreign character, or data after padding
          }
        }
        if ((n - start) % 4 == 1) {
          throw new IllegalStateException("stored recipient key holds a truncated base64 block");
        }
        used = n;
        return true;
      }
    }

    private static boolean startsWith(byte[] b, int at, byte[] prefix) {
      return at + prefix.length <= b.length
          && Arrays.equals(b, at, at + prefix.length, prefix, 0, prefix.length);
    }

    private static int indexOf(byte[] b, byte[] what, int from) {
      byte first = what[0];
      for (int i = from, last = b.length - what.length; i <= last; i++) {
        if (b[i] == first && Arrays.equals(b, i, i + what.length, what, 0, what.length)) {
          return i;
        }
      }
      return -1;
    }
  }

}
