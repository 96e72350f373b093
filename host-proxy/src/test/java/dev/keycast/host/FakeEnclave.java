package dev.keycast.host;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.keycast.protocol.Base64Url;
import dev.keycast.protocol.Json;
import dev.keycast.protocol.api.EnclaveApi;
import dev.keycast.protocol.api.ErrorBody;
import dev.keycast.protocol.api.ErrorCode;
import dev.keycast.protocol.envelope.DeliveryFormat;
import dev.keycast.protocol.envelope.DeliveryFormats;
import dev.keycast.protocol.envelope.DeliveryMetadata;
import dev.keycast.protocol.envelope.RecipientKey;
import dev.keycast.protocol.envelope.RecipientKeys;
import dev.keycast.protocol.hpke.Hpke;
import dev.keycast.protocol.hpke.HpkeCiphertext;
import dev.keycast.protocol.hpke.HpkeSuite;
import dev.keycast.protocol.hpke.X25519PrivateKey;
import dev.keycast.protocol.keyset.KeySet;
import dev.keycast.protocol.keyset.SealedSecret;
import dev.keycast.protocol.policy.SendPolicy;
import dev.keycast.protocol.receipt.Receipt;
import dev.keycast.protocol.receipt.ReceiptBuilder;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A stand-in for the enclave server in tests: api.md section 1 over a JDK HTTP server on
 * 127.0.0.1, with real protocol crypto (HPKE open of the sender's payload, real envelopes, signed
 * receipts, sealed secrets). It counts requests per path so tests can assert what reached it.
 */
public final class FakeEnclave implements AutoCloseable {
  private final SecureRandom random = new SecureRandom();
  private final Map<String, KeySet> sealed = new ConcurrentHashMap<>();
  private final Map<String, AtomicInteger> hits = new ConcurrentHashMap<>();
  private final Map<String, AtomicInteger> answered = new ConcurrentHashMap<>();
  private volatile KeySet keySet;
  private volatile long delayMillis;

  /** When set, send answers name another send id than the payload's (an enclave bug). */
  public volatile boolean answerAnotherSendId;

  /** Candidates of the last send request. */
  public volatile List<EnclaveApi.Candidate> lastCandidates = List.of();

  /** Candidates of the last forward request. */
  public volatile List<EnclaveApi.Candidate> lastForwardCandidates = List.of();

  /** When set, each /v1/send waits (after reading its body) until this latch opens. */
  public volatile java.util.concurrent.CountDownLatch holdSends;

  /** Sends waiting on {@link #holdSends}. */
  public final AtomicInteger heldSends = new AtomicInteger();

  /** The sender keys GET /v1/senders answers (empty: no sender set, sender_set_missing). */
  public volatile List<dev.keycast.protocol.sender.SenderKey> senders = List.of();

  private volatile dev.keycast.protocol.cinema.KdmSigner kdmSigner;
  private final AtomicInteger concurrent = new AtomicInteger();
  private final AtomicInteger maxConcurrent = new AtomicInteger();
  private HttpServer server;
  private int port;

  /** Credentials requests seen. */
  public final List<EnclaveApi.AwsCredentials> credentials =
      new java.util.concurrent.CopyOnWriteArrayList<>();

  /** Starts on an ephemeral port. */
  public FakeEnclave start() throws IOException {
    return start(0);
  }

  /** Starts on {@code port} (0: ephemeral). */
  public FakeEnclave start(int p) throws IOException {
    server = HttpServer.create(new InetSocketAddress("127.0.0.1", p), 64);
    server.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
    server.createContext("/", this::handle);
    server.start();
    port = server.getAddress().getPort();
    return this;
  }

  /** Stops answering (connections refused). */
  public void stop() {
    server.stop(0);
  }

  /** The port. */
  public int port() {
    return port;
  }

  /** The address to give the host. */
  public String endpoint() {
    return "tcp://127.0.0.1:" + port;
  }

  /** Requests seen on {@code path}. */
  public int hits(String path) {
    AtomicInteger n = hits.get(path);
    return n == null ? 0 : n.get();
  }

  /** Requests on {@code path} whose answer was written (or abandoned) and whose exchange closed. */
  public int answered(String path) {
    AtomicInteger n = answered.get(path);
    return n == null ? 0 : n.get();
  }

  /** Most requests seen in progress at once. */
  public int maxConcurrent() {
    return maxConcurrent.get();
  }

  /** Delays every answer (slow enclave). */
  public void delay(long millis) {
    delayMillis = millis;
  }

  /** The current key set (null before init/unseal). */
  public KeySet keySet() {
    return keySet;
  }

  /** Forgets the key set (as a restarted enclave). */
  public void restart() {
    keySet = null;
  }

  @Override
  public void close() {
    stop();
  }

  private void handle(HttpExchange ex) throws IOException {
    String path = ex.getRequestURI().getPath();
    try {
      answer(ex, path);
    } finally {
      answered.computeIfAbsent(path, k -> new AtomicInteger()).incrementAndGet();
    }
  }

  private void answer(HttpExchange ex, String path) throws IOException {
    try (ex) {
      hits.computeIfAbsent(path, k -> new AtomicInteger()).incrementAndGet();
      byte[] body = ex.getRequestBody().readAllBytes();
      java.util.concurrent.CountDownLatch hold = holdSends;
      if (hold != null && path.equals("/v1/send")) {
        heldSends.incrementAndGet();
        try {
          hold.await();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        } finally {
          heldSends.decrementAndGet();
        }
      }
      int now = concurrent.incrementAndGet();
      maxConcurrent.accumulateAndGet(now, Math::max);
      try {
        if (delayMillis > 0) {
          Thread.sleep(delayMillis); // a deliberately slow enclave (the test's subject), not a wait
        }
      } finally {
        concurrent.decrementAndGet();
      }
      Object answer;
      int status = 200;
      try {
        answer =
            switch (path) {
              case "/v1/health" -> Map.of("status", "ok");
              case "/v1/ready" -> {
                KeySet k = keySet;
                if (k == null) {
                  status = 503;
                  yield new EnclaveApi.Readiness(false, "not_initialized", null, "no key set");
                }
                yield new EnclaveApi.Readiness(true, "ready", k.id(), null);
              }
              case "/v1/attestation" ->
                  new EnclaveApi.AttestationResponse(
                      Base64Url.encode("fake-document".getBytes(StandardCharsets.UTF_8)),
                      bundle(need()));
              case "/v1/keyset/init" ->
                  init(Json.decode(body, 1 << 20, EnclaveApi.InitRequest.class));
              case "/v1/keyset/unseal" ->
                  unseal(Json.decode(body, 1 << 20, EnclaveApi.UnsealRequest.class));
              case "/v1/credentials" -> {
                credentials.add(
                    Json.decode(body, 1 << 20, EnclaveApi.CredentialsRequest.class).credentials());
                status = 204;
                yield null;
              }
              case "/v1/recipients/validate" ->
                  validate(Json.decode(body, 1 << 20, EnclaveApi.ValidateRequest.class));
              case "/v1/send" -> send(Json.decode(body, 256 << 20, EnclaveApi.SendRequest.class));
              case "/v1/senders" -> senderSet();
              case "/v1/forward" ->
                  forward(Json.decode(body, 256 << 20, EnclaveApi.ForwardRequest.class));
              case "/v1/keyset/rewrap" ->
                  throw new Failure(
                      Json.decode(body, 1 << 20, dev.keycast.protocol.upgrade.RewrapRequest.class)
                                  .credentials()
                              == null
                          ? ErrorCode.MALFORMED_REQUEST
                          : ErrorCode.IMAGE_APPROVAL_REFUSED,
                      "this fake enclave has no image approvers");
              default -> throw new Failure(ErrorCode.NOT_FOUND, "no such path");
            };
      } catch (Failure f) {
        status = f.code.status();
        answer = ErrorBody.of(f.code, f.getMessage());
      } catch (Exception e) {
        status = 400;
        answer = ErrorBody.of(ErrorCode.MALFORMED_REQUEST, String.valueOf(e.getMessage()));
      }
      if (answer == null) {
        ex.sendResponseHeaders(status, -1);
        return;
      }
      byte[] out = Json.encode(answer);
      ex.getResponseHeaders().set("Content-Type", "application/json");
      ex.sendResponseHeaders(status, out.length);
      ex.getResponseBody().write(out);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private static final class Failure extends Exception {
    final ErrorCode code;

    Failure(ErrorCode code, String message) {
      super(message);
      this.code = code;
    }
  }

  private KeySet need() throws Failure {
    KeySet k = keySet;
    if (k == null) {
      throw new Failure(ErrorCode.NOT_READY, "no key set");
    }
    return k;
  }

  /** The KMS key id the fake's key sets are "sealed" under (named in every bundle). */
  static final String KMS_KEY_ID = "arn:aws:kms:us-east-1:111122223333:key/fake-enclave-key";

  private static EnclaveApi.KeyBundle bundle(KeySet k) {
    dev.keycast.protocol.keyset.KeyBundle b = k.bundle(KMS_KEY_ID);
    return new EnclaveApi.KeyBundle(
        k.id(),
        Base64Url.encode(k.receivePublicKey()),
        Base64Url.encode(k.signingPublicKey()),
        KMS_KEY_ID,
        Base64Url.encode(b.userData()));
  }

  /** Init requests to fail with kms_unavailable before one succeeds. */
  public final AtomicInteger failInits = new AtomicInteger();

  private synchronized EnclaveApi.KeySetResponse init(EnclaveApi.InitRequest r) throws Failure {
    if (failInits.getAndDecrement() > 0) {
      throw new Failure(ErrorCode.KMS_UNAVAILABLE, "KMS could not be reached");
    }
    if (keySet != null) {
      throw new Failure(ErrorCode.ALREADY_INITIALIZED, "already initialized");
    }
    if (r.credentials() == null || r.kmsKeyId() == null) {
      throw new Failure(ErrorCode.MALFORMED_REQUEST, "credentials and kms key id required");
    }
    KeySet k = KeySet.generate(random);
    byte[] blob = new byte[48];
    random.nextBytes(blob);
    String b = Base64Url.encode(blob);
    sealed.put(b, k);
    keySet = k;
    return new EnclaveApi.KeySetResponse(b, bundle(k));
  }

  private synchronized EnclaveApi.KeySetResponse unseal(EnclaveApi.UnsealRequest r) throws Failure {
    if (r.credentials() == null) {
      throw new Failure(ErrorCode.MALFORMED_REQUEST, "credentials required");
    }
    KeySet k = sealed.computeIfAbsent(r.sealedKeySet(), s -> KeySet.generate(random));
    keySet = k;
    return new EnclaveApi.KeySetResponse(null, bundle(k));
  }

  private EnclaveApi.ValidateResponse validate(EnclaveApi.ValidateRequest r) throws Failure {
    need();
    List<EnclaveApi.RecipientCheck> out = new ArrayList<>();
    for (EnclaveApi.Candidate c : r.recipients()) {
      try {
        RecipientKey k = RecipientKeys.fromSpki(Base64Url.decode("key", c.key(), 1 << 16));
        out.add(
            new EnclaveApi.RecipientCheck(
                k.fingerprint(),
                k instanceof dev.keycast.protocol.envelope.RsaRecipientKey rsa
                    ? "rsa-" + rsa.bits()
                    : "x25519",
                true,
                null));
      } catch (Exception e) {
        out.add(
            new EnclaveApi.RecipientCheck(null, null, false, "unusable key: " + e.getMessage()));
      }
    }
    return new EnclaveApi.ValidateResponse(out);
  }

  private EnclaveApi.SendResponse send(EnclaveApi.SendRequest r) throws Exception {
    KeySet k = need();
    EnclaveApi.SendPayload p = r.payload();
    lastCandidates = r.candidates();
    if (!k.id().equals(p.keySetId())) {
      throw new Failure(ErrorCode.WRONG_KEY_SET, "wrong key set");
    }
    byte[] policyBytes = Base64Url.decode("policy", p.policy(), SendPolicy.MAX_BYTES);
    byte[] enc = Base64Url.decode("enc", p.enc(), 1024);
    byte[] ct = Base64Url.decode("ciphertext", p.ciphertext(), 1 << 20);
    byte[] secret;
    try {
      secret =
          Hpke.open(
              HpkeSuite.KEYCAST_V1,
              X25519PrivateKey.fromRaw(k.receivePrivateKey()),
              info(k.id()),
              policyBytes,
              new HpkeCiphertext(enc, ct));
    } catch (dev.keycast.protocol.DecryptionFailedException e) {
      throw new Failure(ErrorCode.DECRYPTION_FAILED, "decryption failed");
    }
    SendPolicy policy = SendPolicy.parse(policyBytes);
    String sendId = hex16(sha("keycast/v1/send-id", enc, ct));
    // a signed send's receipt names its sender (version 2), as the enclave's does
    Receipt.Sender sender =
        p.sender() == null
            ? null
            : new Receipt.Sender(
                HexFormat.of().formatHex(Base64Url.decode("sender key", p.sender().key(), 32)),
                Instant.ofEpochSecond(p.sender().timestamp()));
    ReceiptBuilder rb =
        new ReceiptBuilder(
            k.id(),
            sendId,
            Receipt.Kind.SEND,
            sha256(policyBytes),
            sha256(concat(enc, ct)),
            sender);
    List<EnclaveApi.Delivery> ds = deliver(k, sendId, policy, r.candidates(), secret, rb, false);
    SealedSecret s = SealedSecret.seal(k, policy.secretId(), secret, policyBytes, random);
    byte[] receipt = rb.sign(Instant.now().truncatedTo(ChronoUnit.MILLIS), k);
    String answered = answerAnotherSendId ? "0".repeat(32) : sendId;
    return new EnclaveApi.SendResponse(
        answered,
        policy.secretId(),
        answered,
        Base64Url.encode(receipt),
        Base64Url.encode(s.encode()),
        ds,
        List.of());
  }

  private EnclaveApi.SenderSetView senderSet() throws Failure {
    List<dev.keycast.protocol.sender.SenderKey> keys = senders;
    if (keys.isEmpty()) {
      throw new Failure(ErrorCode.SENDER_SET_MISSING, "no sender set");
    }
    return new EnclaveApi.SenderSetView(
        1,
        List.of(),
        keys.stream().map(key -> Base64Url.encode(key.raw())).toList(),
        keys.stream().map(dev.keycast.protocol.sender.SenderKey::fingerprint).toList(),
        null,
        null);
  }

  /** The fake's KDM signer chain (made on first use, valid from a day ago for 5 years). */
  public synchronized dev.keycast.protocol.cinema.KdmSigner kdmSigner() throws Exception {
    if (kdmSigner == null) {
      Instant start = Instant.now().minus(java.time.Duration.ofDays(1));
      var chain =
          dev.keycast.protocol.cinema.DcCertificateIssuer.issue(
              new dev.keycast.protocol.cinema.DcCertificateIssuer.ChainNames(
                  "KEYCAST.TEST", "FAKE.ENCLAVE", "ROOT", "CA", "CS", "FAKE.SIGNER"),
              start,
              5,
              random);
      kdmSigner =
          dev.keycast.protocol.cinema.KdmSigner.of(
              chain.leaf().getPrivate(), chain.chain(), Instant.now());
    }
    return kdmSigner;
  }

  private EnclaveApi.ForwardResponse forward(EnclaveApi.ForwardRequest r) throws Exception {
    lastForwardCandidates = r.candidates();
    KeySet k = need();
    byte[] policyBytes = Base64Url.decode("policy", r.policy(), SendPolicy.MAX_BYTES);
    SealedSecret s =
        SealedSecret.parse(Base64Url.decode("sealed_secret", r.sealedSecret(), 1 << 20));
    byte[] secret;
    try {
      secret = s.open(k, policyBytes);
    } catch (dev.keycast.protocol.DecryptionFailedException e) {
      throw new Failure(ErrorCode.POLICY_MISMATCH, "policy mismatch");
    }
    SendPolicy policy = SendPolicy.parse(policyBytes);
    ReceiptBuilder rb =
        new ReceiptBuilder(
            k.id(), r.sendId(), Receipt.Kind.FORWARD, sha256(policyBytes), new byte[32]);
    List<EnclaveApi.Delivery> ds = deliver(k, r.sendId(), policy, r.candidates(), secret, rb, true);
    TreeSet<String> fps = new TreeSet<>();
    ds.forEach(d -> fps.add(d.recipient()));
    String receiptId =
        r.sendId()
            + "-"
            + HexFormat.of()
                .formatHex(sha256(String.join("", fps).getBytes(StandardCharsets.UTF_8)), 0, 8);
    byte[] receipt = rb.sign(Instant.now().truncatedTo(ChronoUnit.MILLIS), k);
    return new EnclaveApi.ForwardResponse(
        r.sendId(), receiptId, Base64Url.encode(receipt), ds, List.of());
  }

  private List<EnclaveApi.Delivery> deliver(
      KeySet k,
      String sendId,
      SendPolicy policy,
      List<EnclaveApi.Candidate> candidates,
      byte[] secret,
      ReceiptBuilder rb,
      boolean late)
      throws Exception {
    List<EnclaveApi.Delivery> ds = new ArrayList<>();
    if (late && !policy.lateRecipients()) {
      return ds;
    }
    if (policy.isKdmSend()) {
      return deliverKdms(sendId, policy, candidates, secret, rb);
    }
    for (EnclaveApi.Candidate c : candidates) {
      RecipientKey key = RecipientKeys.fromSpki(Base64Url.decode("key", c.key(), 1 << 16));
      if (!policy.recipients().fingerprints().contains(key.fingerprint())) {
        continue;
      }
      DeliveryFormat<?> f = DeliveryFormats.defaultFor(key);
      DeliveryMetadata m =
          new DeliveryMetadata(
              DeliveryMetadata.VERSION_1,
              policy.secretId(),
              policy.sender(),
              policy.notBefore().truncatedTo(ChronoUnit.SECONDS),
              policy.notAfter().truncatedTo(ChronoUnit.SECONDS),
              key.fingerprint());
      byte[] env = f.seal(key, m, secret, random);
      String id =
          hex16(
              sha(
                  "keycast/v1/delivery-id",
                  (sendId + "\0" + key.fingerprint()).getBytes(StandardCharsets.UTF_8)));
      rb.add(new Receipt.Delivery(key.fingerprint(), f.id(), id, sha256(env)));
      ds.add(new EnclaveApi.Delivery(id, key.fingerprint(), f.id(), Base64Url.encode(env)));
    }
    return ds;
  }

  /**
   * A KDM send's deliveries as the enclave makes them (wire-format.md section 9.4), simplified:
   * each candidate's chain validated as a screen chain, one modified-transitional-1 KDM per screen
   * that the policy lists by thumbprint or fingerprint (or any screen when it names anchors).
   */
  private List<EnclaveApi.Delivery> deliverKdms(
      String sendId,
      SendPolicy policy,
      List<EnclaveApi.Candidate> candidates,
      byte[] secret,
      ReceiptBuilder rb)
      throws Exception {
    var keys = dev.keycast.protocol.cinema.ContentKeySetCodec.decode(secret);
    var cf = java.security.cert.CertificateFactory.getInstance("X.509");
    List<EnclaveApi.Delivery> ds = new ArrayList<>();
    for (EnclaveApi.Candidate c : candidates) {
      List<java.security.cert.X509Certificate> chain = new ArrayList<>();
      for (String der : c.chain()) {
        chain.add(
            (java.security.cert.X509Certificate)
                cf.generateCertificate(
                    new java.io.ByteArrayInputStream(Base64Url.decode("chain", der, 1 << 16))));
      }
      if (chain.isEmpty()) {
        continue;
      }
      var screen =
          dev.keycast.protocol.cinema.DcCertificateChainValidator.validateScreen(
              chain, Instant.now());
      String thumb = dev.keycast.protocol.cinema.DcCertificates.thumbprintBase64(screen.leaf());
      String fp = RecipientKeys.fromSpki(screen.leaf().getPublicKey().getEncoded()).fingerprint();
      if (!policy.recipients().thumbprints().contains(thumb)
          && !policy.recipients().fingerprints().contains(fp)
          && policy.recipients().anchors().isEmpty()) {
        continue;
      }
      java.time.ZoneOffset offset =
          java.time.ZoneOffset.of(c.utcOffset() == null ? "+00:00" : c.utcOffset());
      byte[] kdm =
          dev.keycast.protocol.cinema.KdmWriter.write(
              kdmSigner(),
              dev.keycast.protocol.cinema.KdmRequest.modifiedTransitional1(
                  keys,
                  screen,
                  policy.notBefore().atOffset(offset),
                  policy.notAfter().atOffset(offset),
                  java.util.UUID.randomUUID(),
                  Instant.now().truncatedTo(ChronoUnit.SECONDS).atOffset(offset)),
              random);
      String id =
          hex16(
              sha("keycast/v1/delivery-id", (sendId + "\0" + fp).getBytes(StandardCharsets.UTF_8)));
      rb.add(
          new Receipt.Delivery(
              fp, dev.keycast.protocol.cinema.KdmDeliveries.FORMAT_ID, id, sha256(kdm)));
      ds.add(
          new EnclaveApi.Delivery(
              id, fp, dev.keycast.protocol.cinema.KdmDeliveries.FORMAT_ID, Base64Url.encode(kdm)));
    }
    return ds;
  }

  /** HPKE info of a send to key set {@code keySetId}. */
  public static byte[] info(String keySetId) {
    return concat(
        "keycast/v1/send".getBytes(StandardCharsets.UTF_8),
        new byte[] {0},
        keySetId.getBytes(StandardCharsets.UTF_8));
  }

  static byte[] concat(byte[]... parts) {
    int n = 0;
    for (byte[] p : parts) {
      n += p.length;
    }
    byte[] out = new byte[n];
    int o = 0;
    for (byte[] p : parts) {
      System.arraycopy(p, 0, out, o, p.length);
      o += p.length;
    }
    return out;
  }

  static byte[] sha256(byte[] b) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(b);
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  private static byte[] sha(String label, byte[]... parts) {
    byte[][] all = new byte[parts.length + 2][];
    all[0] = label.getBytes(StandardCharsets.UTF_8);
    all[1] = new byte[] {0};
    System.arraycopy(parts, 0, all, 2, parts.length);
    return sha256(concat(all));
  }

  private static String hex16(byte[] d) {
    return HexFormat.of().formatHex(d, 0, 16);
  }
}
