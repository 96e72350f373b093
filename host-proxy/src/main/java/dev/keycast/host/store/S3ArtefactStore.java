package dev.keycast.host.store;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.keycast.protocol.Fingerprints;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.TreeSet;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.Semaphore;
import software.amazon.awssdk.auth.credentials.AwsCredentialsProvider;
import software.amazon.awssdk.core.ResponseInputStream;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.http.apache.ApacheHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.GetObjectRequest;
import software.amazon.awssdk.services.s3.model.GetObjectResponse;
import software.amazon.awssdk.services.s3.model.HeadObjectRequest;
import software.amazon.awssdk.services.s3.model.HeadObjectResponse;
import software.amazon.awssdk.services.s3.model.ListObjectsV2Request;
import software.amazon.awssdk.services.s3.model.ListObjectsV2Response;
import software.amazon.awssdk.services.s3.model.PutObjectRequest;
import software.amazon.awssdk.services.s3.model.S3Exception;
import software.amazon.awssdk.services.s3.model.S3Object;

/**
 * {@link ArtefactStore} in an S3 bucket, for several parents that share one enclave identity.
 *
 * <p>Layout (all keys under an optional prefix; ids are {@code [A-Za-z0-9_-]}, fingerprints hex):
 * <pre>
 * keysets/v{version, 10 digits}             sealed key set bytes            If-None-Match: *
 * recipients/{fp}                           recipient JSON                  If-None-Match: *
 * sends/{sendId}/ref                        payload hash hex                If-None-Match: *
 * sends/{sendId}/recipients/{fp}            delivery id                     If-None-Match: *
 * receipts/{receiptId}                      receipt JSON + commit ref       If-None-Match: *
 * deliveries/by-id/{deliveryId}             delivery JSON + commit ref      If-None-Match: *
 * deliveries/by-recipient/{fp}/{deliveryId} send id (index for listing)
 * open-sends/{sendId}                       payload hash hex (late-allowed sends only)
 * payload-hash/{hex}                        SEND MANIFEST: the commit point If-None-Match: *
 * sends/{sendId}/forwards/{fp}              FORWARD MANIFEST: commit point  If-None-Match: *
 * </pre>
 *
 * <p>Commit protocol: every object a send or forward needs is written first; the manifest is
 * written last with a conditional put, and that put is the commit. Each receipt and delivery object
 * names its commit reference (the manifest key and the send or receipt id the manifest must name);
 * readers return an object only when that manifest exists and names it. A crash or failure before
 * the manifest leaves orphans that no reader ever returns; two parents committing the same payload
 * race on the manifest and the loser returns the winner's send as a replay.
 */
public final class S3ArtefactStore implements ArtefactStore {

  private static final int MAX_SMALL_OBJECT = 4 << 20;
  private static final int MAX_RECEIPT_OBJECT = (Checks.MAX_RECEIPT / 3 + 1) * 4 + (1 << 16);
  private static final int COMMIT_CACHE_LIMIT = 100_000;
  private static final String WRITE_ID = "keycast-write-id";

  private final S3Client s3;
  private final boolean ownsClient;
  private final String bucket;
  private final String prefix;
  private final ExecutorService executor = Executors.newVirtualThreadPerTaskExecutor();
  private final Semaphore inFlight;
  private final ObjectMapper json = new ObjectMapper();
  /** Manifests are immutable once written, so a positive check can be remembered. */
  private final ConcurrentHashMap<String, String> committed = new ConcurrentHashMap<>();
  private volatile boolean closed;

  /**
   * A store on {@code bucket} (which must exist) under {@code keyPrefix} ("" or ending in "/").
   *
   * @param s3 the client; closed with the store only if {@code ownsClient}
   * @param parallelism concurrent S3 requests per batch operation (1..256)
   */
  public S3ArtefactStore(S3Client s3, boolean ownsClient, String bucket, String keyPrefix,
      int parallelism) {
    this.s3 = Objects.requireNonNull(s3, "s3");
    this.ownsClient = ownsClient;
    this.bucket = Objects.requireNonNull(bucket, "bucket");
    this.prefix = Objects.requireNonNull(keyPrefix, "keyPrefix");
    if (!prefix.isEmpty() && !prefix.endsWith("/")) {
      throw new IllegalArgumentException("key prefix must be empty or end with '/'");
    }
    if (parallelism < 1 || parallelism > 256) {
      throw new IllegalArgumentException("parallelism must be 1..256");
    }
    this.inFlight = new Semaphore(parallelism);
  }

  /**
   * An S3 client on Apache HttpClient (pooled keep-alive connections, one per parallel request,
   * and retries of requests whose connection the server closed) for {@code endpoint} (null = AWS)
   * with path-style addressing when an endpoint is given.
   */
  public static S3Client client(URI endpoint, Region region, AwsCredentialsProvider credentials,
      int maxConnections) {
    var b = S3Client.builder()
        .httpClientBuilder(ApacheHttpClient.builder().maxConnections(maxConnections))
        .region(region)
        .credentialsProvider(credentials);
    if (endpoint != null) {
      b.endpointOverride(endpoint).forcePathStyle(true);
    }
    return b.build();
  }

  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    executor.close();
    if (ownsClient) {
      s3.close();
    }
  }

  // ------------------------------------------------------------------ S3 plumbing

  private void ensureOpen() throws StoreException {
    if (closed) {
      throw new StoreException(StoreException.Code.STORE_UNAVAILABLE, "store is closed");
    }
  }

  /** Puts an object. Returns false if {@code ifAbsent} and the key already exists. */
  private boolean put(String key, byte[] body, boolean ifAbsent) throws StoreException {
    PutObjectRequest.Builder req = PutObjectRequest.builder().bucket(bucket).key(prefix + key);
    // A conditional put whose answer is lost is retried by the SDK and then sees its own object
    // (412). Each logical write carries a random id so such a retry is recognised as success.
    String writeId = UUID.randomUUID().toString();
    if (ifAbsent) {
      req.ifNoneMatch("*").metadata(Map.of(WRITE_ID, writeId));
    }
    PutObjectRequest request = req.build();
    for (int attempt = 1; ; attempt++) {
      try {
        s3.putObject(request, RequestBody.fromBytes(body));
        return true;
      } catch (S3Exception e) {
        if (ifAbsent && e.statusCode() == 412) {
          return writtenBy(key, writeId);
        }
        if (e.statusCode() == 409 && attempt < 5) {
          // ConditionalRequestConflict: a concurrent conditional write on the key; S3 asks to retry
          pause(attempt);
          continue;
        }
        throw map(e, "put " + key);
      } catch (SdkException e) {
        throw map(e, "put " + key);
      }
    }
  }

  /** True when the object at {@code key} was written by the logical write {@code writeId}. */
  private boolean writtenBy(String key, String writeId) throws StoreException {
    try {
      HeadObjectResponse head =
          s3.headObject(HeadObjectRequest.builder().bucket(bucket).key(prefix + key).build());
      return writeId.equals(head.metadata().get(WRITE_ID));
    } catch (S3Exception e) {
      if (e.statusCode() == 404) {
        return false;
      }
      throw map(e, "head " + key);
    } catch (SdkException e) {
      throw map(e, "head " + key);
    }
  }

  private static void pause(int attempt) throws StoreException {
    try {
      Thread.sleep(20L * attempt);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new StoreException(StoreException.Code.STORE_UNAVAILABLE, "interrupted", e);
    }
  }

  /** Gets an object of at most {@code cap} bytes. */
  private Optional<byte[]> get(String key, int cap) throws StoreException {
    GetObjectRequest req = GetObjectRequest.builder().bucket(bucket).key(prefix + key).build();
    try (ResponseInputStream<GetObjectResponse> in = s3.getObject(req)) {
      Long len = in.response().contentLength();
      if (len != null && len > cap) {
        throw new StoreException(StoreException.Code.STORE_CORRUPT,
            "object " + key + " is " + len + " bytes, limit " + cap);
      }
      byte[] body = readCapped(in, cap);
      if (body == null) {
        throw new StoreException(StoreException.Code.STORE_CORRUPT,
            "object " + key + " is over " + cap + " bytes");
      }
      return Optional.of(body);
    } catch (S3Exception e) {
      if (e.statusCode() == 404) {
        return Optional.empty();
      }
      throw map(e, "get " + key);
    } catch (SdkException e) {
      throw map(e, "get " + key);
    } catch (IOException e) {
      throw new StoreException(StoreException.Code.STORE_UNAVAILABLE, "get " + key + " failed", e);
    }
  }

  private static byte[] readCapped(InputStream in, int cap) throws IOException {
    byte[] b = in.readNBytes(cap + 1);
    return b.length > cap ? null : b;
  }

  /** Keys (without the store prefix) under {@code sub}, after {@code startAfter}, at most max. */
  private List<String> list(String sub, String startAfter, int max) throws StoreException {
    List<String> keys = new ArrayList<>();
    String token = null;
    try {
      do {
        ListObjectsV2Request.Builder req = ListObjectsV2Request.builder()
            .bucket(bucket).prefix(prefix + sub).maxKeys(Math.min(1000, max - keys.size()));
        if (token != null) {
          req.continuationToken(token);
        } else if (startAfter != null) {
          req.startAfter(prefix + startAfter);
        }
        ListObjectsV2Response resp = s3.listObjectsV2(req.build());
        for (S3Object o : resp.contents()) {
          keys.add(o.key().substring(prefix.length()));
        }
        token = Boolean.TRUE.equals(resp.isTruncated()) ? resp.nextContinuationToken() : null;
      } while (token != null && keys.size() < max);
    } catch (SdkException e) {
      throw map(e, "list " + sub);
    }
    return keys;
  }

  static StoreException map(SdkException e, String what) {
    if (e instanceof S3Exception s3e) {
      int status = s3e.statusCode();
      String code = s3e.awsErrorDetails() == null ? "" : s3e.awsErrorDetails().errorCode();
      if (status == 412 || status == 409) {
        return new StoreException(StoreException.Code.CONFLICT, what + " failed (" + status + ")", e);
      }
      if ("EntityTooLarge".equals(code) || "QuotaExceeded".equals(code) || status == 507) {
        return new StoreException(StoreException.Code.STORE_FULL, what + " failed (" + code + ")", e);
      }
      return new StoreException(StoreException.Code.STORE_UNAVAILABLE,
          what + " failed (HTTP " + status + " " + code + ")", e);
    }
    return new StoreException(StoreException.Code.STORE_UNAVAILABLE,
        what + " failed (" + e.getClass().getSimpleName() + ")", e);
  }

  @FunctionalInterface
  private interface Task<T> {
    T call() throws StoreException;
  }

  /**
   * Runs tasks on virtual threads with at most {@code parallelism} in flight; {@link #submit}
   * blocks while that many are running, which gives back-pressure to a streaming producer.
   */
  private final class Batch<T> {
    private final List<Future<T>> futures = new ArrayList<>();
    private volatile StoreException failure;

    void submit(Task<T> task) throws StoreException {
      if (failure != null) {
        throw failure;
      }
      try {
        inFlight.acquire();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new StoreException(StoreException.Code.STORE_UNAVAILABLE, "interrupted", e);
      }
      futures.add(executor.submit(() -> {
        try {
          return task.call();
        } catch (StoreException e) {
          failure = e;
          throw e;
        } finally {
          inFlight.release();
        }
      }));
      if (futures.size() >= 4096) {
        drainDone();
      }
    }

    private void drainDone() throws StoreException {
      futures.removeIf(f -> f.isDone() && f.state() == Future.State.SUCCESS);
      if (failure != null) {
        throw failure;
      }
    }

    /** Waits for every task; the results of tasks still held, in submission order. */
    List<T> await() throws StoreException {
      List<T> out = new ArrayList<>(futures.size());
      StoreException first = null;
      for (Future<T> f : futures) {
        try {
          out.add(f.get());
        } catch (ExecutionException e) {
          if (first == null) {
            first = e.getCause() instanceof StoreException se ? se
                : new StoreException(StoreException.Code.STORE_UNAVAILABLE, "task failed",
                    e.getCause());
          }
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new StoreException(StoreException.Code.STORE_UNAVAILABLE, "interrupted", e);
        }
      }
      if (first != null) {
        throw first;
      }
      return out;
    }

    /** On failure of the producer: waits for tasks in flight, ignoring their results. */
    void abandon() {
      for (Future<T> f : futures) {
        try {
          f.get();
        } catch (ExecutionException | InterruptedException | java.util.concurrent.CancellationException ignored) {
          if (Thread.interrupted()) {
            Thread.currentThread().interrupt();
            return;
          }
        }
      }
    }
  }

  // ------------------------------------------------------------------ JSON

  private byte[] encode(ObjectNode node) {
    try {
      return json.writeValueAsBytes(node);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("JSON encoding failed", e);
    }
  }

  private JsonNode decode(String key, byte[] body) throws StoreException {
    try {
      JsonNode n = json.readTree(body);
      if (n == null || !n.isObject()) {
        throw new StoreException(StoreException.Code.STORE_CORRUPT, key + " is not a JSON object");
      }
      return n;
    } catch (IOException e) {
      throw new StoreException(StoreException.Code.STORE_CORRUPT, key + " is not JSON", e);
    }
  }

  private static String text(String key, JsonNode n, String field) throws StoreException {
    JsonNode v = n.get(field);
    if (v == null || !v.isTextual()) {
      throw new StoreException(StoreException.Code.STORE_CORRUPT, key + ": missing " + field);
    }
    return v.asText();
  }

  private static byte[] binary(String key, JsonNode n, String field) throws StoreException {
    try {
      return java.util.Base64.getDecoder().decode(text(key, n, field));
    } catch (IllegalArgumentException e) {
      throw new StoreException(StoreException.Code.STORE_CORRUPT, key + ": bad base64 in " + field);
    }
  }

  private static long number(String key, JsonNode n, String field) throws StoreException {
    JsonNode v = n.get(field);
    if (v == null || !v.canConvertToLong()) {
      throw new StoreException(StoreException.Code.STORE_CORRUPT, key + ": missing " + field);
    }
    return v.asLong();
  }

  private static Instant instantOrNull(String key, JsonNode n, String field)
      throws StoreException {
    JsonNode v = n.get(field);
    if (v == null || v.isNull()) {
      return null;
    }
    return Instant.ofEpochMilli(number(key, n, field));
  }

  private static String b64(byte[] b) {
    return java.util.Base64.getEncoder().encodeToString(b);
  }

  /** Wraps an {@link IllegalArgumentException} from a record built from stored data. */
  @FunctionalInterface
  private interface Decoder<T> {
    T decode() throws StoreException;
  }

  private static <T> T stored(String key, Decoder<T> d) throws StoreException {
    try {
      return d.decode();
    } catch (IllegalArgumentException | NullPointerException e) {
      throw new StoreException(StoreException.Code.STORE_CORRUPT, key + " is invalid", e);
    }
  }

  // ------------------------------------------------------------------ keys

  private static String keySetKey(int version) {
    return String.format("keysets/v%010d", version);
  }

  private static String manifestKey(String payloadHashHex) {
    return "payload-hash/" + payloadHashHex;
  }

  private static String forwardKey(String sendId, String fp) {
    return "sends/" + sendId + "/forwards/" + fp;
  }

  // ------------------------------------------------------------------ commit references

  /** True when the manifest at {@code key} exists and names {@code token} in {@code field}. */
  private boolean isCommitted(String key, String field, String token) throws StoreException {
    String cacheKey = key + "#" + field;
    if (token.equals(committed.get(cacheKey))) {
      return true;
    }
    Optional<byte[]> body = get(key, MAX_SMALL_OBJECT);
    if (body.isEmpty()) {
      return false;
    }
    String named = text(key, decode(key, body.get()), field);
    if (committed.size() > COMMIT_CACHE_LIMIT) {
      committed.clear();
    }
    committed.put(cacheKey, named);
    return named.equals(token);
  }

  private boolean isCommitted(JsonNode obj, String key) throws StoreException {
    JsonNode c = obj.get("commit");
    if (c == null || !c.isObject()) {
      throw new StoreException(StoreException.Code.STORE_CORRUPT, key + ": missing commit ref");
    }
    String ckey = text(key, c, "key");
    if (!ckey.startsWith("payload-hash/") && !ckey.startsWith("sends/")) {
      throw new StoreException(StoreException.Code.STORE_CORRUPT, key + ": bad commit ref");
    }
    return isCommitted(ckey, text(key, c, "field"), text(key, c, "token"));
  }

  private ObjectNode commitRef(String key, String field, String token) {
    ObjectNode c = json.createObjectNode();
    c.put("key", key);
    c.put("field", field);
    c.put("token", token);
    return c;
  }

  // ------------------------------------------------------------------ key sets

  @Override
  public void putSealedKeySet(int version, byte[] bytes) throws StoreException {
    ensureOpen();
    StoredKeySet k = new StoredKeySet(version, bytes);
    if (!put(keySetKey(version), k.bytes(), true)) {
      throw new StoreException(StoreException.Code.CONFLICT,
          "sealed key set version " + version + " already exists");
    }
  }

  @Override
  public Optional<StoredKeySet> latestSealedKeySet() throws StoreException {
    ensureOpen();
    List<String> keys = list("keysets/v", null, Integer.MAX_VALUE);
    for (int i = keys.size() - 1; i >= 0; i--) {
      String key = keys.get(i);
      int version;
      try {
        version = Integer.parseInt(key.substring("keysets/v".length()));
      } catch (NumberFormatException e) {
        continue; // not ours
      }
      Optional<byte[]> body = get(key, Checks.MAX_KEY_SET);
      if (body.isPresent()) {
        return Optional.of(stored(key, () -> new StoredKeySet(version, body.get())));
      }
    }
    return Optional.empty();
  }

  // ------------------------------------------------------------------ recipients

  @Override
  public RecipientRecord putRecipient(RecipientRecord r) throws StoreException {
    ensureOpen();
    ObjectNode n = json.createObjectNode();
    n.put("fingerprint", r.fingerprint());
    n.put("kind", r.kind());
    n.put("publicKey", b64(r.publicKeyOrChain()));
    n.set("labels", LabelsCodec.toJson(json, r.labels()));
    n.put("registeredAt", r.registeredAt().toEpochMilli());
    String key = "recipients/" + r.fingerprint();
    if (put(key, encode(n), true)) {
      return r;
    }
    return getRecipient(r.fingerprint()).orElseThrow(() -> new StoreException(
        StoreException.Code.STORE_UNAVAILABLE, "recipient exists but cannot be read"));
  }

  @Override
  public RecipientRecord replaceRecipient(RecipientRecord r) throws StoreException {
    ensureOpen();
    ObjectNode n = json.createObjectNode();
    n.put("fingerprint", r.fingerprint());
    n.put("kind", r.kind());
    n.put("publicKey", b64(r.publicKeyOrChain()));
    n.set("labels", LabelsCodec.toJson(json, r.labels()));
    n.put("registeredAt", r.registeredAt().toEpochMilli());
    put("recipients/" + r.fingerprint(), encode(n), false);
    return r;
  }

  private Optional<RecipientRecord> getRecipient(String fp) throws StoreException {
    String key = "recipients/" + fp;
    Optional<byte[]> body = get(key, MAX_SMALL_OBJECT);
    if (body.isEmpty()) {
      return Optional.empty();
    }
    JsonNode n = decode(key, body.get());
    RecipientRecord r = stored(key, () -> new RecipientRecord(text(key, n, "fingerprint"),
        text(key, n, "kind"), binary(key, n, "publicKey"), LabelsCodec.fromJson(n.get("labels")),
        Instant.ofEpochMilli(number(key, n, "registeredAt"))));
    if (!r.fingerprint().equals(fp)) {
      throw new StoreException(StoreException.Code.STORE_CORRUPT, key + " names another key");
    }
    return Optional.of(r);
  }

  @Override
  public List<RecipientRecord> findRecipients(Collection<String> fingerprints)
      throws StoreException {
    ensureOpen();
    TreeSet<String> fps = new TreeSet<>();
    for (String fp : fingerprints) {
      fps.add(Checks.fingerprint(fp));
    }
    if (fps.size() > MAX_PAGE) {
      throw new IllegalArgumentException("at most " + MAX_PAGE + " fingerprints per lookup");
    }
    return fetchRecipients(fps);
  }

  private List<RecipientRecord> fetchRecipients(Collection<String> fps) throws StoreException {
    Batch<Optional<RecipientRecord>> batch = new Batch<>();
    for (String fp : fps) {
      batch.submit(() -> getRecipient(fp));
    }
    List<RecipientRecord> out = new ArrayList<>();
    for (Optional<RecipientRecord> r : batch.await()) {
      r.ifPresent(out::add);
    }
    return out;
  }

  @Override
  public List<RecipientRecord> listRecipients(String afterFingerprint, int limit)
      throws StoreException {
    ensureOpen();
    int n = SqliteArtefactStore.page(limit);
    List<String> fps = new ArrayList<>();
    for (String key : list("recipients/",
        afterFingerprint == null ? null : "recipients/" + afterFingerprint, n)) {
      String fp = key.substring("recipients/".length());
      if (Fingerprints.isWellFormed(fp)) {
        fps.add(fp);
      }
    }
    return fetchRecipients(fps);
  }

  @Override
  public long countRecipients() throws StoreException {
    ensureOpen();
    long count = 0;
    String token = null;
    try {
      do {
        ListObjectsV2Request.Builder req = ListObjectsV2Request.builder()
            .bucket(bucket).prefix(prefix + "recipients/").maxKeys(1000);
        if (token != null) {
          req.continuationToken(token);
        }
        ListObjectsV2Response resp = s3.listObjectsV2(req.build());
        count += resp.contents().size();
        token = Boolean.TRUE.equals(resp.isTruncated()) ? resp.nextContinuationToken() : null;
      } while (token != null);
    } catch (SdkException e) {
      throw map(e, "count recipients");
    }
    return count;
  }

  // ------------------------------------------------------------------ sends

  private ObjectNode manifest(SendMetadata m, String receiptId, long count) {
    ObjectNode n = json.createObjectNode();
    n.put("sendId", m.sendId());
    n.put("payloadHash", m.payloadHashHex());
    n.put("policy", b64(m.policyUnsafe()));
    n.put("lateRecipientsAllowed", m.lateRecipientsAllowed());
    if (m.notBefore() != null) {
      n.put("notBefore", m.notBefore().toEpochMilli());
    }
    if (m.notAfter() != null) {
      n.put("notAfter", m.notAfter().toEpochMilli());
    }
    n.put("sealedSecret", b64(m.sealedSecretUnsafe()));
    n.put("createdAt", m.createdAt().toEpochMilli());
    n.put("receiptId", receiptId);
    n.put("deliveryCount", count);
    return n;
  }

  private Optional<StoredSend> readManifest(String payloadHashHex) throws StoreException {
    String key = manifestKey(payloadHashHex);
    Optional<byte[]> body = get(key, MAX_SMALL_OBJECT);
    if (body.isEmpty()) {
      return Optional.empty();
    }
    JsonNode n = decode(key, body.get());
    StoredSend s = stored(key, () -> {
      JsonNode late = n.get("lateRecipientsAllowed");
      if (late == null || !late.isBoolean()) {
        throw new StoreException(StoreException.Code.STORE_CORRUPT, key + ": bad flags");
      }
      SendMetadata m = new SendMetadata(text(key, n, "sendId"),
          HexFormat.of().parseHex(text(key, n, "payloadHash")), binary(key, n, "policy"),
          late.asBoolean(), instantOrNull(key, n, "notBefore"), instantOrNull(key, n, "notAfter"),
          binary(key, n, "sealedSecret"), Instant.ofEpochMilli(number(key, n, "createdAt")));
      return new StoredSend(m, text(key, n, "receiptId"), number(key, n, "deliveryCount"));
    });
    if (!s.metadata().payloadHashHex().equals(payloadHashHex)) {
      throw new StoreException(StoreException.Code.STORE_CORRUPT, key + " names another payload");
    }
    committed.put(key + "#sendId", s.sendId());
    return Optional.of(s);
  }

  private ReceiptRecord requireReceipt(String receiptId) throws StoreException {
    return getReceipt(receiptId).orElseThrow(() -> new StoreException(
        StoreException.Code.STORE_CORRUPT, "receipt " + receiptId + " is missing"));
  }

  private byte[] receiptObject(ReceiptRecord r, ObjectNode commit) {
    ObjectNode n = json.createObjectNode();
    n.put("receiptId", r.receiptId());
    n.put("sendId", r.sendId());
    n.put("createdAt", r.createdAt().toEpochMilli());
    n.set("commit", commit);
    n.put("bytes", b64(r.bytesUnsafe()));
    return encode(n);
  }

  private byte[] deliveryObject(String sendId, String receiptId, Delivery d, ObjectNode commit) {
    ObjectNode n = json.createObjectNode();
    n.put("deliveryId", d.deliveryId());
    n.put("sendId", sendId);
    n.put("receiptId", receiptId);
    n.put("recipient", d.recipientFingerprint());
    n.put("format", d.formatId());
    n.set("commit", commit);
    n.put("envelope", b64(d.envelopeUnsafe()));
    return encode(n);
  }

  private void putNew(String key, byte[] body, String what) throws StoreException {
    if (!put(key, body, true)) {
      throw new StoreException(StoreException.Code.CONFLICT, what + " already exists (" + key + ")");
    }
  }

  @Override
  public SendCommit commitSend(SendRecord record) throws StoreException {
    ensureOpen();
    SendMetadata m = record.metadata();
    String sendId = m.sendId();
    String hex = m.payloadHashHex();
    Optional<StoredSend> existing = readManifest(hex);
    if (existing.isPresent()) {
      return new SendCommit(existing.get(), requireReceipt(existing.get().receiptId()), true);
    }
    // 1. the send id is ours (a retry of this very commit may find its own ref)
    String refKey = "sends/" + sendId + "/ref";
    if (!put(refKey, hex.getBytes(StandardCharsets.US_ASCII), true)) {
      Optional<byte[]> ref = get(refKey, 256);
      if (ref.isEmpty() || !new String(ref.get(), StandardCharsets.US_ASCII).equals(hex)) {
        throw new StoreException(StoreException.Code.CONFLICT, "send id " + sendId + " is taken");
      }
    }
    ObjectNode commit = commitRef(manifestKey(hex), "sendId", sendId);
    String receiptId = record.receipt().receiptId();
    // 2. receipt, deliveries and indexes, in parallel, streamed from the caller's iterable
    Batch<Void> batch = new Batch<>();
    long count = 0;
    try {
      batch.submit(() -> {
        putNew("receipts/" + receiptId, receiptObject(record.receipt(), commit),
            "receipt " + receiptId);
        return null;
      });
      for (Delivery each : record.deliveries()) {
        Delivery d = Checks.derivedDeliveryId(sendId, each);
        count++;
        batch.submit(() -> {
          putNew("deliveries/by-id/" + d.deliveryId(),
              deliveryObject(sendId, receiptId, d, commit), "delivery " + d.deliveryId());
          putNew("sends/" + sendId + "/recipients/" + d.recipientFingerprint(),
              d.deliveryId().getBytes(StandardCharsets.US_ASCII),
              "delivery to " + d.recipientFingerprint() + " in send " + sendId);
          put("deliveries/by-recipient/" + d.recipientFingerprint() + "/" + d.deliveryId(),
              sendId.getBytes(StandardCharsets.US_ASCII), false);
          return null;
        });
      }
      if (m.lateRecipientsAllowed()) {
        batch.submit(() -> {
          put("open-sends/" + sendId, hex.getBytes(StandardCharsets.US_ASCII), false);
          return null;
        });
      }
      batch.await();
    } catch (StoreException | RuntimeException | Error e) {
      batch.abandon();
      throw e;
    }
    // 3. the manifest: the commit point
    StoredSend send = new StoredSend(m, receiptId, count);
    if (!put(manifestKey(hex), encode(manifest(m, receiptId, count)), true)) {
      StoredSend winner = readManifest(hex).orElseThrow(() -> new StoreException(
          StoreException.Code.STORE_UNAVAILABLE, "manifest " + hex + " exists but cannot be read"));
      return new SendCommit(winner, requireReceipt(winner.receiptId()), true);
    }
    committed.put(manifestKey(hex) + "#sendId", sendId);
    return new SendCommit(send, record.receipt(), false);
  }

  @Override
  public Optional<StoredSend> findSend(String sendId, byte[] payloadHash) throws StoreException {
    ensureOpen();
    Checks.id("send id", sendId);
    if (payloadHash.length != 32) {
      throw new IllegalArgumentException("payload hash must be 32 bytes");
    }
    // the manifest is keyed by the payload hash (the commit point of a send, see commitSend)
    return readManifest(HexFormat.of().formatHex(payloadHash))
        .filter(s -> s.sendId().equals(sendId));
  }

  @Override
  public Optional<StoredSend> getSend(String sendId) throws StoreException {
    ensureOpen();
    Checks.id("send id", sendId);
    Optional<byte[]> ref = get("sends/" + sendId + "/ref", 256);
    if (ref.isEmpty()) {
      return Optional.empty();
    }
    String hex = new String(ref.get(), StandardCharsets.US_ASCII);
    if (!Fingerprints.isWellFormed(hex)) {
      throw new StoreException(StoreException.Code.STORE_CORRUPT, "bad ref for send " + sendId);
    }
    return readManifest(hex).filter(s -> s.sendId().equals(sendId));
  }

  @Override
  public Optional<ReceiptRecord> getReceipt(String receiptId) throws StoreException {
    ensureOpen();
    Checks.id("receipt id", receiptId);
    String key = "receipts/" + receiptId;
    Optional<byte[]> body = get(key, MAX_RECEIPT_OBJECT);
    if (body.isEmpty()) {
      return Optional.empty();
    }
    JsonNode n = decode(key, body.get());
    if (!isCommitted(n, key)) {
      return Optional.empty();
    }
    ReceiptRecord r = stored(key, () -> new ReceiptRecord(text(key, n, "receiptId"),
        text(key, n, "sendId"), binary(key, n, "bytes"),
        Instant.ofEpochMilli(number(key, n, "createdAt"))));
    if (!r.receiptId().equals(receiptId)) {
      throw new StoreException(StoreException.Code.STORE_CORRUPT, key + " names another receipt");
    }
    return Optional.of(r);
  }

  @Override
  public List<ReceiptRecord> receiptsForSend(String sendId) throws StoreException {
    Optional<StoredSend> send = getSend(sendId);
    if (send.isEmpty()) {
      return List.of();
    }
    List<ReceiptRecord> out = new ArrayList<>();
    out.add(requireReceipt(send.get().receiptId()));
    String sub = "sends/" + sendId + "/forwards/";
    List<ReceiptRecord> forwards = new ArrayList<>();
    String after = null;
    while (true) {
      List<String> keys = list(sub, after, 1000);
      if (keys.isEmpty()) {
        break;
      }
      Batch<Optional<ReceiptRecord>> batch = new Batch<>();
      for (String key : keys) {
        batch.submit(() -> {
          Optional<byte[]> body = get(key, MAX_SMALL_OBJECT);
          if (body.isEmpty()) {
            return Optional.empty();
          }
          return getReceipt(text(key, decode(key, body.get()), "receiptId"));
        });
      }
      for (Optional<ReceiptRecord> r : batch.await()) {
        r.ifPresent(forwards::add);
      }
      after = keys.getLast();
    }
    forwards.sort(Comparator.comparing(ReceiptRecord::receiptId));
    out.addAll(forwards);
    return out;
  }

  @Override
  public Optional<StoredDelivery> getDelivery(String deliveryId) throws StoreException {
    ensureOpen();
    Checks.id("delivery id", deliveryId);
    String key = "deliveries/by-id/" + deliveryId;
    Optional<byte[]> body = get(key, MAX_SMALL_OBJECT);
    if (body.isEmpty()) {
      return Optional.empty();
    }
    JsonNode n = decode(key, body.get());
    if (!isCommitted(n, key)) {
      return Optional.empty();
    }
    StoredDelivery d = stored(key, () -> new StoredDelivery(text(key, n, "sendId"),
        text(key, n, "receiptId"), new Delivery(text(key, n, "deliveryId"),
            text(key, n, "recipient"), text(key, n, "format"), binary(key, n, "envelope"))));
    if (!d.deliveryId().equals(deliveryId)) {
      throw new StoreException(StoreException.Code.STORE_CORRUPT, key + " names another delivery");
    }
    return Optional.of(d);
  }

  @Override
  public List<StoredDelivery> listDeliveries(String recipientFingerprint, String afterDeliveryId,
      int limit) throws StoreException {
    ensureOpen();
    Checks.fingerprint(recipientFingerprint);
    int n = SqliteArtefactStore.page(limit);
    String sub = "deliveries/by-recipient/" + recipientFingerprint + "/";
    List<StoredDelivery> out = new ArrayList<>();
    String after = afterDeliveryId == null ? null : sub + afterDeliveryId;
    while (out.size() < n) {
      List<String> keys = list(sub, after, n - out.size());
      if (keys.isEmpty()) {
        break;
      }
      Batch<Optional<StoredDelivery>> batch = new Batch<>();
      for (String key : keys) {
        String id = key.substring(sub.length());
        if (!Checks.ID.matches(id)) {
          continue;
        }
        batch.submit(() -> getDelivery(id));
      }
      for (Optional<StoredDelivery> d : batch.await()) {
        // skip orphans of uncommitted sends and index entries that point elsewhere
        d.filter(x -> x.recipientFingerprint().equals(recipientFingerprint)).ifPresent(out::add);
      }
      after = keys.getLast();
    }
    return out;
  }

  @Override
  public List<StoredSend> sealedSecretsOpenForLateRecipients(Instant now, String afterSendId,
      int limit) throws StoreException {
    ensureOpen();
    Objects.requireNonNull(now, "now");
    int n = SqliteArtefactStore.page(limit);
    List<StoredSend> out = new ArrayList<>();
    String after = afterSendId == null ? null : "open-sends/" + afterSendId;
    while (out.size() < n) {
      List<String> keys = list("open-sends/", after, n - out.size());
      if (keys.isEmpty()) {
        break;
      }
      Batch<Optional<StoredSend>> batch = new Batch<>();
      for (String key : keys) {
        String sendId = key.substring("open-sends/".length());
        if (!Checks.ID.matches(sendId)) {
          continue;
        }
        batch.submit(() -> getSend(sendId));
      }
      for (Optional<StoredSend> s : batch.await()) {
        s.filter(x -> x.metadata().openForLateRecipients(now)).ifPresent(out::add);
      }
      after = keys.getLast();
    }
    return out;
  }

  @Override
  public ForwardCommit commitForward(ForwardRecord f) throws StoreException {
    ensureOpen();
    String fp = f.recipientFingerprint();
    StoredSend send = getSend(f.sendId()).orElseThrow(() -> new StoreException(
        StoreException.Code.NOT_FOUND, "send " + f.sendId() + " is not committed"));
    Delivery d = Checks.derivedDeliveryId(f.sendId(), f.delivery());
    Optional<String> covering = coveringReceipt(send, fp);
    if (covering.isPresent()) {
      return new ForwardCommit(requireReceipt(covering.get()), true);
    }
    String fkey = forwardKey(f.sendId(), fp);
    String receiptId = f.receipt().receiptId();
    ObjectNode commit = commitRef(fkey, "receiptId", receiptId);
    putNew("receipts/" + receiptId, receiptObject(f.receipt(), commit), "receipt " + receiptId);
    putNew("deliveries/by-id/" + d.deliveryId(),
        deliveryObject(f.sendId(), receiptId, d, commit), "delivery " + d.deliveryId());
    put("deliveries/by-recipient/" + fp + "/" + d.deliveryId(),
        f.sendId().getBytes(StandardCharsets.US_ASCII), false);
    ObjectNode manifest = json.createObjectNode();
    manifest.put("receiptId", receiptId);
    manifest.put("deliveryId", d.deliveryId());
    if (!put(fkey, encode(manifest), true)) {
      Optional<String> winner = forwardReceipt(f.sendId(), fp);
      return new ForwardCommit(requireReceipt(winner.orElseThrow(() -> new StoreException(
          StoreException.Code.STORE_UNAVAILABLE, "forward manifest cannot be read"))), true);
    }
    committed.put(fkey + "#receiptId", receiptId);
    return new ForwardCommit(f.receipt(), false);
  }

  /** The receipt covering the recipient's committed delivery of {@code send}, if any. */
  private Optional<String> coveringReceipt(StoredSend send, String fp) throws StoreException {
    Optional<byte[]> ref = get("sends/" + send.sendId() + "/recipients/" + fp, 256);
    if (ref.isPresent()) {
      String deliveryId = new String(ref.get(), StandardCharsets.US_ASCII);
      if (Checks.ID.matches(deliveryId)) {
        Optional<StoredDelivery> d = getDelivery(deliveryId);
        if (d.isPresent() && d.get().sendId().equals(send.sendId())
            && d.get().recipientFingerprint().equals(fp)) {
          return Optional.of(d.get().receiptId());
        }
      }
    }
    return forwardReceipt(send.sendId(), fp);
  }

  private Optional<String> forwardReceipt(String sendId, String fp) throws StoreException {
    String key = forwardKey(sendId, fp);
    Optional<byte[]> body = get(key, MAX_SMALL_OBJECT);
    if (body.isEmpty()) {
      return Optional.empty();
    }
    return Optional.of(text(key, decode(key, body.get()), "receiptId"));
  }

  @Override
  public boolean hasDelivery(String sendId, String recipientFingerprint) throws StoreException {
    ensureOpen();
    Checks.fingerprint(recipientFingerprint);
    Optional<StoredSend> send = getSend(sendId);
    return send.isPresent() && coveringReceipt(send.get(), recipientFingerprint).isPresent();
  }
}
