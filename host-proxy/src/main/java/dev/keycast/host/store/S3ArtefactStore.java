package dev.keycast.host.store;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.keycast.protocol.Fingerprints;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.TreeSet;
import software.amazon.awssdk.auth.credentials.AwsCredentialsProvider;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * {@link ArtefactStore} in an S3 bucket, for several parents that share one enclave identity.
 * This class holds the store's operations; its parts are the {@link S3Layout} (which key holds
 * what), the {@link S3RecordCodec} (each record as a JSON object, and back), the
 * {@link S3CommitProtocol} (a manifest written last with a conditional put is the commit; readers
 * return only what a manifest names) and the {@link S3Objects} (requests, batches, error codes).
 */
public final class S3ArtefactStore implements ArtefactStore {

  static final int MAX_SMALL_OBJECT = 4 << 20;
  private static final int MAX_RECEIPT_OBJECT = (Checks.MAX_RECEIPT / 3 + 1) * 4 + (1 << 16);

  private final S3Objects objects;
  private final S3RecordCodec codec = new S3RecordCodec();
  private final S3CommitProtocol commits;
  private volatile boolean closed;

  /**
   * A store on {@code bucket} (which must exist) under {@code keyPrefix} ("" or ending in "/").
   *
   * @param s3 the client; closed with the store only if {@code ownsClient}
   * @param parallelism concurrent S3 requests per batch operation (1..256)
   */
  public S3ArtefactStore(S3Client s3, boolean ownsClient, String bucket, String keyPrefix,
      int parallelism) {
    this.objects = new S3Objects(s3, ownsClient, bucket, keyPrefix, parallelism);
    this.commits = new S3CommitProtocol(objects, codec);
  }

  /**
   * An S3 client on Apache HttpClient (pooled keep-alive connections, one per parallel request,
   * and retries of requests whose connection the server closed) for {@code endpoint} (null = AWS)
   * with path-style addressing when an endpoint is given.
   */
  public static S3Client client(URI endpoint, Region region, AwsCredentialsProvider credentials,
      int maxConnections) {
    return S3Objects.client(endpoint, region, credentials, maxConnections);
  }

  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    objects.close();
  }

  private void ensureOpen() throws StoreException {
    if (closed) {
      throw new StoreException(StoreException.Code.STORE_UNAVAILABLE, "store is closed");
    }
  }

  // ------------------------------------------------------------------ key sets

  @Override
  public void putSealedKeySet(int version, byte[] bytes) throws StoreException {
    ensureOpen();
    StoredKeySet k = new StoredKeySet(version, bytes);
    if (!objects.put(S3Layout.keySet(version), k.bytes(), true)) {
      throw new StoreException(StoreException.Code.CONFLICT,
          "sealed key set version " + version + " already exists");
    }
  }

  @Override
  public Optional<StoredKeySet> latestSealedKeySet() throws StoreException {
    ensureOpen();
    List<String> keys = objects.list(S3Layout.KEY_SETS, null, Integer.MAX_VALUE);
    for (int i = keys.size() - 1; i >= 0; i--) {
      String key = keys.get(i);
      int version;
      try {
        version = Integer.parseInt(key.substring(S3Layout.KEY_SETS.length()));
      } catch (NumberFormatException e) {
        continue; // not ours
      }
      Optional<byte[]> body = objects.get(key, Checks.MAX_KEY_SET);
      if (body.isPresent()) {
        return Optional.of(S3RecordCodec.stored(key, () -> new StoredKeySet(version, body.get())));
      }
    }
    return Optional.empty();
  }

  // ------------------------------------------------------------------ sender sets

  @Override
  public void putSealedSenderSet(long version, byte[] bytes) throws StoreException {
    ensureOpen();
    StoredSenderSet k = new StoredSenderSet(version, bytes);
    if (!objects.put(S3Layout.senderSet(version), k.bytes(), true)) {
      throw new StoreException(StoreException.Code.CONFLICT,
          "sealed sender set version " + version + " already exists");
    }
  }

  @Override
  public Optional<StoredSenderSet> latestSealedSenderSet() throws StoreException {
    ensureOpen();
    // keys are zero-padded to 19 digits, so the listing's byte order is the version order
    List<String> keys = objects.list(S3Layout.SENDER_SETS, null, Integer.MAX_VALUE);
    for (int i = keys.size() - 1; i >= 0; i--) {
      String key = keys.get(i);
      long version;
      try {
        version = Long.parseLong(key.substring(S3Layout.SENDER_SETS.length()));
      } catch (NumberFormatException e) {
        continue; // not ours
      }
      Optional<byte[]> body = objects.get(key, StoredSenderSet.MAX_BYTES);
      if (body.isPresent()) {
        return Optional.of(S3RecordCodec.stored(key, () -> new StoredSenderSet(version, body.get())));
      }
    }
    return Optional.empty();
  }

  // ------------------------------------------------------------------ recipients

  @Override
  public RecipientRecord putRecipient(RecipientRecord r) throws StoreException {
    ensureOpen();
    if (objects.put(S3Layout.recipient(r.fingerprint()), codec.recipient(r), true)) {
      return r;
    }
    return getRecipient(r.fingerprint()).orElseThrow(() -> new StoreException(
        StoreException.Code.STORE_UNAVAILABLE, "recipient exists but cannot be read"));
  }

  @Override
  public RecipientRecord replaceRecipient(RecipientRecord r) throws StoreException {
    ensureOpen();
    objects.put(S3Layout.recipient(r.fingerprint()), codec.recipient(r), false);
    return r;
  }

  private Optional<RecipientRecord> getRecipient(String fp) throws StoreException {
    String key = S3Layout.recipient(fp);
    Optional<byte[]> body = objects.get(key, MAX_SMALL_OBJECT);
    return body.isEmpty() ? Optional.empty() : Optional.of(codec.recipient(key, body.get(), fp));
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
    S3Objects.Batch<Optional<RecipientRecord>> batch = objects.batch();
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
    for (String key : objects.list(S3Layout.RECIPIENTS,
        afterFingerprint == null ? null : S3Layout.recipient(afterFingerprint), n)) {
      String fp = key.substring(S3Layout.RECIPIENTS.length());
      if (Fingerprints.isWellFormed(fp)) {
        fps.add(fp);
      }
    }
    return fetchRecipients(fps);
  }

  @Override
  public long countRecipients() throws StoreException {
    ensureOpen();
    return objects.count(S3Layout.RECIPIENTS);
  }

  // ------------------------------------------------------------------ cinemas and screens

  @Override
  public CinemaRecord putCinema(CinemaRecord cinema) throws StoreException {
    ensureOpen();
    objects.put(S3Layout.cinema(cinema.name()), codec.encode(codec.cinema(cinema)), false);
    return cinema;
  }

  // ------------------------------------------------------------------ mail outbox

  @Override
  public MailRecord queueMail(MailRecord m) throws StoreException {
    ensureOpen();
    String key = S3Layout.mail(m.sendId(), m.cinema());
    if (objects.put(key, codec.encode(codec.mail(m)), true)) {
      return m;
    }
    return readMail(key).orElseThrow(() -> new StoreException(StoreException.Code.STORE_UNAVAILABLE,
        key + " exists and cannot be read"));
  }

  @Override
  public void updateMail(MailRecord m) throws StoreException {
    ensureOpen();
    String key = S3Layout.mail(m.sendId(), m.cinema());
    if (readMail(key).isEmpty()) {
      throw new StoreException(StoreException.Code.NOT_FOUND, "no mail of send " + m.sendId() + " to cinema "
          + Checks.quote(m.cinema()));
    }
    objects.put(key, codec.encode(codec.mail(m)), false);
  }

  @Override
  public List<MailRecord> mailsOfSend(String sendId) throws StoreException {
    ensureOpen();
    Checks.id("send id", sendId);
    List<MailRecord> out = new ArrayList<>();
    for (String key : objects.list(S3Layout.mailsOfSend(sendId), null, MAX_PAGE)) {
      readMail(key).ifPresent(out::add);
    }
    out.sort(Comparator.comparing(MailRecord::cinema));
    return out;
  }

  /** Scans the outbox (S3 has no index by due time: the outbox holds one object per (send, cinema)). */
  @Override
  public List<MailRecord> dueMails(Instant now, int limit) throws StoreException {
    ensureOpen();
    int n = Math.min(Math.max(limit, 1), MAX_PAGE);
    List<MailRecord> due = new ArrayList<>();
    String after = null;
    while (true) {
      List<String> page = objects.list(S3Layout.MAIL, after, MAX_PAGE);
      for (String key : page) {
        Optional<MailRecord> m = readMail(key);
        if (m.isPresent() && m.get().state() == MailRecord.State.QUEUED && !m.get().nextAttemptAt().isAfter(now)) {
          due.add(m.get());
        }
      }
      if (page.size() < MAX_PAGE) {
        break;
      }
      after = page.getLast();
    }
    due.sort(Comparator.comparing(MailRecord::nextAttemptAt).thenComparing(MailRecord::sendId)
        .thenComparing(MailRecord::cinema));
    return List.copyOf(due.subList(0, Math.min(n, due.size())));
  }

  private Optional<MailRecord> readMail(String key) throws StoreException {
    Optional<byte[]> body = objects.get(key, MAX_SMALL_OBJECT);
    if (body.isEmpty()) {
      return Optional.empty();
    }
    MailRecord m = S3RecordCodec.mail(key, codec.decode(key, body.get()));
    if (!key.equals(S3Layout.mail(m.sendId(), m.cinema()))) {
      throw new StoreException(StoreException.Code.STORE_CORRUPT, key + " names another mail");
    }
    return Optional.of(m);
  }

  @Override
  public DkdmRecord putDkdm(DkdmRecord d) throws StoreException {
    ensureOpen();
    ObjectNode n = codec.object();
    n.put("messageId", d.messageId());
    n.put("cplId", d.cplId());
    n.put("keySetId", d.keySetId());
    n.put("notValidAfter", d.notValidAfter().getEpochSecond());
    n.put("signerThumbprint", d.signerThumbprint());
    n.put("sealedContentKeys", S3RecordCodec.b64(d.sealedContentKeys()));
    n.put("binding", S3RecordCodec.b64(d.binding()));
    n.put("ingestedAt", d.ingestedAt().toEpochMilli());
    objects.put(S3Layout.dkdmsOfCpl(uuidOf(d.cplId())) + uuidOf(d.messageId()), codec.encode(n), false);
    return d;
  }

  @Override
  public RulesRecord putRules(RulesRecord r) throws StoreException {
    ensureOpen();
    ObjectNode n = codec.object();
    n.put("cplId", r.cplId());
    n.put("statement", S3RecordCodec.b64(r.statement()));
    n.put("key", S3RecordCodec.b64(r.key()));
    n.put("signature", S3RecordCodec.b64(r.signature()));
    n.put("signerCertificate", S3RecordCodec.b64(r.signerCertificate()));
    n.put("signerSignature", S3RecordCodec.b64(r.signerSignature()));
    n.put("storedAt", r.storedAt().toEpochMilli());
    objects.put(S3Layout.rulesOfCpl(uuidOf(r.cplId())), codec.encode(n), false);
    return r;
  }

  @Override
  public Optional<RulesRecord> getRules(String cplId) throws StoreException {
    ensureOpen();
    if (cplId == null || !cplId.matches("urn:uuid:[0-9a-f-]{36}")) {
      throw new IllegalArgumentException("a CPL id is urn:uuid: and a lowercase UUID");
    }
    String key = S3Layout.rulesOfCpl(uuidOf(cplId));
    Optional<byte[]> body = objects.get(key, MAX_SMALL_OBJECT);
    if (body.isEmpty()) {
      return Optional.empty();
    }
    JsonNode n = codec.decode(key, body.get());
    RulesRecord r = S3RecordCodec.stored(key, () -> new RulesRecord(S3RecordCodec.text(key, n, "cplId"),
        S3RecordCodec.binary(key, n, "statement"), S3RecordCodec.binary(key, n, "key"),
        S3RecordCodec.binary(key, n, "signature"), S3RecordCodec.binary(key, n, "signerCertificate"),
        S3RecordCodec.binary(key, n, "signerSignature"), Instant.ofEpochMilli(S3RecordCodec.number(key, n, "storedAt"))));
    if (!r.cplId().equals(cplId)) {
      throw new StoreException(StoreException.Code.STORE_CORRUPT, key + " names another CPL");
    }
    return Optional.of(r);
  }

  @Override
  public LegacyKeyRecord putLegacyKey(LegacyKeyRecord k) throws StoreException {
    ensureOpen();
    ObjectNode n = codec.object();
    n.put("id", k.id());
    n.put("certificate", S3RecordCodec.b64(k.certificate()));
    n.put("sealedKey", S3RecordCodec.b64(k.sealedKey()));
    n.put("importedAt", k.importedAt().toEpochMilli());
    objects.put(S3Layout.LEGACY_KEYS + k.id(), codec.encode(n), false);
    return k;
  }

  @Override
  public List<LegacyKeyRecord> listLegacyKeys() throws StoreException {
    ensureOpen();
    List<LegacyKeyRecord> out = new ArrayList<>();
    for (String key : objects.list(S3Layout.LEGACY_KEYS, null, LegacyKeyRecord.MAX_KEYS)) {
      Optional<byte[]> body = objects.get(key, MAX_SMALL_OBJECT);
      if (body.isEmpty()) {
        continue;
      }
      JsonNode n = codec.decode(key, body.get());
      LegacyKeyRecord r = S3RecordCodec.stored(key, () -> new LegacyKeyRecord(S3RecordCodec.text(key, n, "id"),
          S3RecordCodec.binary(key, n, "certificate"), S3RecordCodec.binary(key, n, "sealedKey"),
          Instant.ofEpochMilli(S3RecordCodec.number(key, n, "importedAt"))));
      if (!key.equals(S3Layout.LEGACY_KEYS + r.id())) {
        throw new StoreException(StoreException.Code.STORE_CORRUPT, key + " names another legacy key");
      }
      out.add(r);
    }
    out.sort(Comparator.comparing(LegacyKeyRecord::id));
    return out;
  }

  @Override
  public List<DkdmRecord> findDkdms(String cplId) throws StoreException {
    ensureOpen();
    if (cplId == null || !cplId.matches("urn:uuid:[0-9a-f-]{36}")) {
      throw new IllegalArgumentException("a CPL id is urn:uuid: and a lowercase UUID");
    }
    String sub = S3Layout.dkdmsOfCpl(uuidOf(cplId));
    List<DkdmRecord> out = new ArrayList<>();
    for (String key : objects.list(sub, null, 1000)) {
      Optional<byte[]> body = objects.get(key, MAX_SMALL_OBJECT);
      if (body.isEmpty()) {
        continue;
      }
      JsonNode n = codec.decode(key, body.get());
      DkdmRecord d = S3RecordCodec.stored(key, () -> new DkdmRecord(S3RecordCodec.text(key, n, "messageId"),
          S3RecordCodec.text(key, n, "cplId"), S3RecordCodec.text(key, n, "keySetId"),
          Instant.ofEpochSecond(S3RecordCodec.number(key, n, "notValidAfter")),
          S3RecordCodec.text(key, n, "signerThumbprint"), S3RecordCodec.binary(key, n, "sealedContentKeys"),
          S3RecordCodec.binary(key, n, "binding"), Instant.ofEpochMilli(S3RecordCodec.number(key, n, "ingestedAt"))));
      if (!d.cplId().equals(cplId) || !key.endsWith("/" + uuidOf(d.messageId()))) {
        throw new StoreException(StoreException.Code.STORE_CORRUPT, key + " names another DKDM");
      }
      out.add(d);
    }
    out.sort(Comparator.comparing(DkdmRecord::messageId));
    return out;
  }

  private static String uuidOf(String urn) {
    return urn.substring("urn:uuid:".length());
  }

  @Override
  public Optional<CinemaRecord> getCinema(String name) throws StoreException {
    ensureOpen();
    CinemaRecord.checkName("cinema name", name);
    String key = S3Layout.cinema(name);
    Optional<byte[]> body = objects.get(key, MAX_SMALL_OBJECT);
    if (body.isEmpty()) {
      return Optional.empty();
    }
    JsonNode n = codec.decode(key, body.get());
    CinemaRecord c = S3RecordCodec.cinema(key, n);
    if (!c.name().equals(name)) {
      throw new StoreException(StoreException.Code.STORE_CORRUPT, key + " names another cinema");
    }
    return Optional.of(c);
  }

  @Override
  public ScreenRecord putScreen(ScreenRecord s) throws StoreException {
    ensureOpen();
    if (s.cinema() != null && getCinema(s.cinema()).isEmpty()) {
      throw new StoreException(StoreException.Code.NOT_FOUND, "cinema " + Checks.quote(s.cinema())
          + " is not stored");
    }
    String thumb = s.thumbprintUrl();
    // the indexes first: a screen object is only ever found through an index that names it, and a
    // stale index entry (a replaced screen's old key or cinema) is filtered out on read
    objects.put(S3Layout.screensByFingerprint(s.fingerprint()) + thumb, new byte[0], false);
    if (s.cinema() != null) {
      objects.put(S3Layout.screensByCinema(s.cinema()) + thumb, new byte[0], false);
    }
    ObjectNode n = codec.object();
    n.put("thumbprint", s.thumbprint());
    n.put("fingerprint", s.fingerprint());
    if (s.cinema() != null) {
      n.put("cinema", s.cinema());
    }
    if (s.screenName() != null) {
      n.put("screenName", s.screenName());
    }
    var chain = n.putArray("chain");
    s.chain().forEach(c -> chain.add(S3RecordCodec.b64(c)));
    var devices = n.putArray("trustedDevices");
    s.trustedDevices().forEach(devices::add);
    n.put("registeredAt", s.registeredAt().toEpochMilli());
    objects.put(S3Layout.screen(thumb), codec.encode(n), false);
    return s;
  }

  private Optional<ScreenRecord> getScreen(String thumbUrl) throws StoreException {
    String key = S3Layout.screen(thumbUrl);
    Optional<byte[]> body = objects.get(key, MAX_SMALL_OBJECT);
    if (body.isEmpty()) {
      return Optional.empty();
    }
    JsonNode n = codec.decode(key, body.get());
    ScreenRecord s = S3RecordCodec.stored(key, () -> {
      List<byte[]> chain = new ArrayList<>();
      JsonNode c = n.get("chain");
      if (c == null || !c.isArray() || c.size() > ScreenRecord.MAX_CHAIN) {
        throw new StoreException(StoreException.Code.STORE_CORRUPT, key + ": bad chain");
      }
      for (JsonNode der : c) {
        chain.add(java.util.Base64.getDecoder().decode(der.asText()));
      }
      List<String> devices = new ArrayList<>();
      JsonNode d = n.get("trustedDevices");
      if (d != null && d.isArray() && d.size() <= ScreenRecord.MAX_TRUSTED_DEVICES) {
        d.forEach(x -> devices.add(x.asText()));
      }
      return new ScreenRecord(S3RecordCodec.text(key, n, "thumbprint"),
          S3RecordCodec.text(key, n, "fingerprint"),
          n.hasNonNull("cinema") ? n.get("cinema").asText() : null,
          n.hasNonNull("screenName") ? n.get("screenName").asText() : null, chain, devices,
          Instant.ofEpochMilli(S3RecordCodec.number(key, n, "registeredAt")));
    });
    if (!s.thumbprintUrl().equals(thumbUrl)) {
      throw new StoreException(StoreException.Code.STORE_CORRUPT, key + " names another screen");
    }
    return Optional.of(s);
  }

  private List<ScreenRecord> fetchScreens(Collection<String> thumbUrls) throws StoreException {
    S3Objects.Batch<Optional<ScreenRecord>> batch = objects.batch();
    for (String t : thumbUrls) {
      batch.submit(() -> getScreen(t));
    }
    List<ScreenRecord> out = new ArrayList<>();
    for (Optional<ScreenRecord> r : batch.await()) {
      r.ifPresent(out::add);
    }
    return out;
  }

  @Override
  public List<ScreenRecord> findScreens(Collection<String> thumbprints) throws StoreException {
    ensureOpen();
    List<String> urls = new ArrayList<>();
    for (String t : SqliteArtefactStore.checkedSet(thumbprints, true)) {
      urls.add(ScreenRecord.toUrl(t));
    }
    List<ScreenRecord> out = new ArrayList<>(fetchScreens(urls));
    out.sort(Comparator.comparing(ScreenRecord::thumbprint));
    return out;
  }

  @Override
  public List<ScreenRecord> findScreensByFingerprint(Collection<String> fingerprints)
      throws StoreException {
    ensureOpen();
    TreeSet<String> urls = new TreeSet<>();
    var fps = SqliteArtefactStore.checkedSet(fingerprints, false);
    for (String fp : fps) {
      String sub = S3Layout.screensByFingerprint(fp);
      // one key has few certificates (re-issued leaves): a bounded listing
      for (String key : objects.list(sub, null, ScreenRecord.MAX_CHAIN * 16)) {
        String t = key.substring(sub.length());
        if (ScreenRecord.fromUrl(t) != null) {
          urls.add(t);
        }
      }
    }
    List<ScreenRecord> out = new ArrayList<>();
    for (ScreenRecord s : fetchScreens(urls)) {
      if (fps.contains(s.fingerprint())) {
        out.add(s);
      }
    }
    out.sort(Comparator.comparing(ScreenRecord::thumbprint));
    return out;
  }

  @Override
  public List<ScreenRecord> listScreens(String cinema, String afterThumbprint, int limit)
      throws StoreException {
    ensureOpen();
    int n = SqliteArtefactStore.page(limit);
    String sub = cinema == null ? S3Layout.SCREENS
        : S3Layout.screensByCinema(CinemaRecord.checkName("cinema name", cinema));
    List<ScreenRecord> out = new ArrayList<>();
    String after = afterThumbprint == null ? null : sub + ScreenRecord.toUrl(afterThumbprint);
    while (out.size() < n) {
      List<String> keys = objects.list(sub, after, n - out.size());
      if (keys.isEmpty()) {
        break;
      }
      List<String> urls = new ArrayList<>();
      for (String key : keys) {
        String t = key.substring(sub.length());
        if (ScreenRecord.fromUrl(t) != null) {
          urls.add(t);
        }
      }
      for (ScreenRecord s : fetchScreens(urls)) {
        if (cinema == null || cinema.equals(s.cinema())) {
          out.add(s);
        }
      }
      after = keys.getLast();
    }
    out.sort(Comparator.comparing(ScreenRecord::thumbprintUrl));
    return out;
  }

  // ------------------------------------------------------------------ sends

  private Optional<StoredSend> readManifest(String payloadHashHex) throws StoreException {
    String key = S3Layout.manifest(payloadHashHex);
    Optional<byte[]> body = objects.get(key, MAX_SMALL_OBJECT);
    if (body.isEmpty()) {
      return Optional.empty();
    }
    StoredSend s = codec.manifest(key, body.get(), payloadHashHex);
    commits.remember(key, "sendId", s.sendId());
    return Optional.of(s);
  }

  private ReceiptRecord requireReceipt(String receiptId) throws StoreException {
    return getReceipt(receiptId).orElseThrow(() -> new StoreException(
        StoreException.Code.STORE_CORRUPT, "receipt " + receiptId + " is missing"));
  }

  private void putNew(String key, byte[] body, String what) throws StoreException {
    if (!objects.put(key, body, true)) {
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
    String refKey = S3Layout.sendRef(sendId);
    if (!objects.put(refKey, hex.getBytes(StandardCharsets.US_ASCII), true)) {
      Optional<byte[]> ref = objects.get(refKey, 256);
      if (ref.isEmpty() || !new String(ref.get(), StandardCharsets.US_ASCII).equals(hex)) {
        throw new StoreException(StoreException.Code.CONFLICT, "send id " + sendId + " is taken");
      }
    }
    ObjectNode commit = commits.ref(S3Layout.manifest(hex), "sendId", sendId);
    String receiptId = record.receipt().receiptId();
    // 2. receipt, deliveries and indexes, in parallel, streamed from the caller's iterable
    S3Objects.Batch<Void> batch = objects.batch();
    long count = 0;
    try {
      batch.submit(() -> {
        putNew(S3Layout.receipt(receiptId), codec.receipt(record.receipt(), commit),
            "receipt " + receiptId);
        return null;
      });
      for (Delivery each : record.deliveries()) {
        Delivery d = Checks.derivedDeliveryId(sendId, each);
        count++;
        batch.submit(() -> {
          putNew(S3Layout.delivery(d.deliveryId()),
              codec.delivery(sendId, receiptId, d, commit), "delivery " + d.deliveryId());
          putNew(S3Layout.sendRecipient(sendId, d.recipientFingerprint()),
              d.deliveryId().getBytes(StandardCharsets.US_ASCII),
              "delivery to " + d.recipientFingerprint() + " in send " + sendId);
          objects.put(S3Layout.byRecipient(d.recipientFingerprint()) + d.deliveryId(),
              sendId.getBytes(StandardCharsets.US_ASCII), false);
          return null;
        });
      }
      if (m.lateRecipientsAllowed()) {
        batch.submit(() -> {
          objects.put(S3Layout.openSend(sendId), hex.getBytes(StandardCharsets.US_ASCII), false);
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
    if (!objects.put(S3Layout.manifest(hex), codec.manifest(m, receiptId, count), true)) {
      StoredSend winner = readManifest(hex).orElseThrow(() -> new StoreException(
          StoreException.Code.STORE_UNAVAILABLE, "manifest " + hex + " exists but cannot be read"));
      return new SendCommit(winner, requireReceipt(winner.receiptId()), true);
    }
    commits.remember(S3Layout.manifest(hex), "sendId", sendId);
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
    Optional<byte[]> ref = objects.get(S3Layout.sendRef(sendId), 256);
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
    String key = S3Layout.receipt(receiptId);
    Optional<byte[]> body = objects.get(key, MAX_RECEIPT_OBJECT);
    if (body.isEmpty()) {
      return Optional.empty();
    }
    JsonNode n = codec.decode(key, body.get());
    if (!commits.isCommitted(n, key)) {
      return Optional.empty();
    }
    return Optional.of(S3RecordCodec.receipt(key, n, receiptId));
  }

  @Override
  public List<ReceiptRecord> receiptsForSend(String sendId) throws StoreException {
    Optional<StoredSend> send = getSend(sendId);
    if (send.isEmpty()) {
      return List.of();
    }
    List<ReceiptRecord> out = new ArrayList<>();
    out.add(requireReceipt(send.get().receiptId()));
    String sub = S3Layout.forwards(sendId);
    List<ReceiptRecord> forwards = new ArrayList<>();
    String after = null;
    while (true) {
      List<String> keys = objects.list(sub, after, 1000);
      if (keys.isEmpty()) {
        break;
      }
      S3Objects.Batch<Optional<ReceiptRecord>> batch = objects.batch();
      for (String key : keys) {
        batch.submit(() -> {
          Optional<byte[]> body = objects.get(key, MAX_SMALL_OBJECT);
          if (body.isEmpty()) {
            return Optional.empty();
          }
          return getReceipt(S3RecordCodec.text(key, codec.decode(key, body.get()), "receiptId"));
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
    String key = S3Layout.delivery(deliveryId);
    Optional<byte[]> body = objects.get(key, MAX_SMALL_OBJECT);
    if (body.isEmpty()) {
      return Optional.empty();
    }
    JsonNode n = codec.decode(key, body.get());
    if (!commits.isCommitted(n, key)) {
      return Optional.empty();
    }
    return Optional.of(S3RecordCodec.delivery(key, n, deliveryId));
  }

  @Override
  public List<StoredDelivery> listDeliveries(String recipientFingerprint, String afterDeliveryId,
      int limit) throws StoreException {
    ensureOpen();
    Checks.fingerprint(recipientFingerprint);
    int n = SqliteArtefactStore.page(limit);
    String sub = S3Layout.byRecipient(recipientFingerprint);
    List<StoredDelivery> out = new ArrayList<>();
    String after = afterDeliveryId == null ? null : sub + afterDeliveryId;
    while (out.size() < n) {
      List<String> keys = objects.list(sub, after, n - out.size());
      if (keys.isEmpty()) {
        break;
      }
      S3Objects.Batch<Optional<StoredDelivery>> batch = objects.batch();
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
    String after = afterSendId == null ? null : S3Layout.openSend(afterSendId);
    while (out.size() < n) {
      List<String> keys = objects.list(S3Layout.OPEN_SENDS, after, n - out.size());
      if (keys.isEmpty()) {
        break;
      }
      S3Objects.Batch<Optional<StoredSend>> batch = objects.batch();
      for (String key : keys) {
        String sendId = key.substring(S3Layout.OPEN_SENDS.length());
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
    String fkey = S3Layout.forward(f.sendId(), fp);
    String receiptId = f.receipt().receiptId();
    ObjectNode commit = commits.ref(fkey, "receiptId", receiptId);
    putNew(S3Layout.receipt(receiptId), codec.receipt(f.receipt(), commit), "receipt " + receiptId);
    putNew(S3Layout.delivery(d.deliveryId()),
        codec.delivery(f.sendId(), receiptId, d, commit), "delivery " + d.deliveryId());
    objects.put(S3Layout.byRecipient(fp) + d.deliveryId(),
        f.sendId().getBytes(StandardCharsets.US_ASCII), false);
    if (!objects.put(fkey, codec.forwardManifest(receiptId, d.deliveryId()), true)) {
      Optional<String> winner = forwardReceipt(f.sendId(), fp);
      return new ForwardCommit(requireReceipt(winner.orElseThrow(() -> new StoreException(
          StoreException.Code.STORE_UNAVAILABLE, "forward manifest cannot be read"))), true);
    }
    commits.remember(fkey, "receiptId", receiptId);
    return new ForwardCommit(f.receipt(), false);
  }

  /** The receipt covering the recipient's committed delivery of {@code send}, if any. */
  private Optional<String> coveringReceipt(StoredSend send, String fp) throws StoreException {
    Optional<byte[]> ref = objects.get(S3Layout.sendRecipient(send.sendId(), fp), 256);
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
    String key = S3Layout.forward(sendId, fp);
    Optional<byte[]> body = objects.get(key, MAX_SMALL_OBJECT);
    if (body.isEmpty()) {
      return Optional.empty();
    }
    return Optional.of(S3RecordCodec.text(key, codec.decode(key, body.get()), "receiptId"));
  }

  @Override
  public boolean hasDelivery(String sendId, String recipientFingerprint) throws StoreException {
    ensureOpen();
    Checks.fingerprint(recipientFingerprint);
    Optional<StoredSend> send = getSend(sendId);
    return send.isPresent() && coveringReceipt(send.get(), recipientFingerprint).isPresent();
  }
}
