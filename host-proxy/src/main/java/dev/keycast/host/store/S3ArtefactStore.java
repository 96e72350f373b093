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
 * return only what a manifest names), the {@link S3Objects} (requests, batches, error codes), and
 * the objects of each kind of record apart from sends: {@link S3SealedSets}, {@link S3ScreenObjects}
 * (cinemas, screens), {@link S3MailOutbox} and {@link S3DkdmObjects} (DKDMs, studio rules, legacy
 * DKDM keys).
 */
public final class S3ArtefactStore implements ArtefactStore {

  private static final int MAX_RECEIPT_OBJECT = (Checks.MAX_RECEIPT / 3 + 1) * 4 + (1 << 16);

  private final S3Objects objects;
  private final S3RecordCodec codec = new S3RecordCodec();
  private final S3CommitProtocol commits;
  private final S3SealedSets sealedSets;
  private final S3ScreenObjects screens;
  private final S3MailOutbox mails;
  private final S3DkdmObjects dkdms;
  private volatile boolean closed;

  /**
   * A store on {@code bucket} (which must exist) under {@code keyPrefix} ("" or ending in "/").
   *
   * @param s3 the client; closed with the store only if {@code ownsClient}
   * @param parallelism concurrent S3 requests per batch operation (1..256)
   */
  public S3ArtefactStore(
      S3Client s3, boolean ownsClient, String bucket, String keyPrefix, int parallelism) {
    this.objects = new S3Objects(s3, ownsClient, bucket, keyPrefix, parallelism);
    this.commits = new S3CommitProtocol(objects, codec);
    this.sealedSets = new S3SealedSets(objects);
    this.screens = new S3ScreenObjects(objects, codec);
    this.mails = new S3MailOutbox(objects, codec);
    this.dkdms = new S3DkdmObjects(objects, codec);
  }

  /**
   * An S3 client on Apache HttpClient (pooled keep-alive connections, one per parallel request,
   * and retries of requests whose connection the server closed) for {@code endpoint} (null = AWS)
   * with path-style addressing when an endpoint is given.
   */
  public static S3Client client(
      URI endpoint, Region region, AwsCredentialsProvider credentials, int maxConnections) {
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

  // ------------------------------------------------------------------ key sets and sender sets

  @Override
  public void putSealedKeySet(int version, byte[] bytes) throws StoreException {
    ensureOpen();
    sealedSets.putKeySet(new StoredKeySet(version, bytes));
  }

  @Override
  public Optional<StoredKeySet> latestSealedKeySet() throws StoreException {
    ensureOpen();
    return sealedSets.latestKeySet();
  }

  @Override
  public void putSealedSenderSet(long version, byte[] bytes) throws StoreException {
    ensureOpen();
    sealedSets.putSenderSet(new StoredSenderSet(version, bytes));
  }

  @Override
  public Optional<StoredSenderSet> latestSealedSenderSet() throws StoreException {
    ensureOpen();
    return sealedSets.latestSenderSet();
  }

  // ------------------------------------------------------------------ recipients

  @Override
  public RecipientRecord putRecipient(RecipientRecord r) throws StoreException {
    ensureOpen();
    if (objects.put(S3Layout.recipient(r.fingerprint()), codec.recipient(r), true)) {
      return r;
    }
    return getRecipient(r.fingerprint())
        .orElseThrow(
            () ->
                new StoreException(
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
    Optional<byte[]> body = objects.get(key, S3Objects.MAX_SMALL_OBJECT);
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
    int n = Checks.page(limit);
    List<String> fps = new ArrayList<>();
    for (String key :
        objects.list(
            S3Layout.RECIPIENTS,
            afterFingerprint == null ? null : S3Layout.recipient(afterFingerprint),
            n)) {
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

  // ------------------------------------------------------------------ cinemas, screens, mail
  // outbox, DKDMs

  @Override
  public CinemaRecord putCinema(CinemaRecord cinema) throws StoreException {
    ensureOpen();
    return screens.putCinema(cinema);
  }

  @Override
  public Optional<CinemaRecord> getCinema(String name) throws StoreException {
    ensureOpen();
    return screens.getCinema(name);
  }

  @Override
  public ScreenRecord putScreen(ScreenRecord s) throws StoreException {
    ensureOpen();
    return screens.putScreen(s);
  }

  @Override
  public List<ScreenRecord> findScreens(Collection<String> thumbprints) throws StoreException {
    ensureOpen();
    return screens.findScreens(thumbprints);
  }

  @Override
  public List<ScreenRecord> findScreensByFingerprint(Collection<String> fingerprints)
      throws StoreException {
    ensureOpen();
    return screens.findScreensByFingerprint(fingerprints);
  }

  @Override
  public List<ScreenRecord> listScreens(String cinema, String afterThumbprint, int limit)
      throws StoreException {
    ensureOpen();
    return screens.listScreens(cinema, afterThumbprint, limit);
  }

  @Override
  public MailRecord queueMail(MailRecord m) throws StoreException {
    ensureOpen();
    return mails.queueMail(m);
  }

  @Override
  public void updateMail(MailRecord m) throws StoreException {
    ensureOpen();
    mails.updateMail(m);
  }

  @Override
  public List<MailRecord> mailsOfSend(String sendId) throws StoreException {
    ensureOpen();
    return mails.mailsOfSend(sendId);
  }

  @Override
  public List<MailRecord> dueMails(Instant now, int limit) throws StoreException {
    ensureOpen();
    return mails.dueMails(now, limit);
  }

  @Override
  public DkdmRecord putDkdm(DkdmRecord d) throws StoreException {
    ensureOpen();
    return dkdms.putDkdm(d);
  }

  @Override
  public List<DkdmRecord> findDkdms(String cplId) throws StoreException {
    ensureOpen();
    return dkdms.findDkdms(cplId);
  }

  @Override
  public RulesRecord putRules(RulesRecord r) throws StoreException {
    ensureOpen();
    return dkdms.putRules(r);
  }

  @Override
  public Optional<RulesRecord> getRules(String cplId) throws StoreException {
    ensureOpen();
    return dkdms.getRules(cplId);
  }

  @Override
  public LegacyKeyRecord putLegacyKey(LegacyKeyRecord k) throws StoreException {
    ensureOpen();
    return dkdms.putLegacyKey(k);
  }

  @Override
  public List<LegacyKeyRecord> listLegacyKeys() throws StoreException {
    ensureOpen();
    return dkdms.listLegacyKeys();
  }

  // ------------------------------------------------------------------ sends

  private Optional<StoredSend> readManifest(String payloadHashHex) throws StoreException {
    String key = S3Layout.manifest(payloadHashHex);
    Optional<byte[]> body = objects.get(key, S3Objects.MAX_SMALL_OBJECT);
    if (body.isEmpty()) {
      return Optional.empty();
    }
    StoredSend s = codec.manifest(key, body.get(), payloadHashHex);
    commits.remember(key, "sendId", s.sendId());
    return Optional.of(s);
  }

  private ReceiptRecord requireReceipt(String receiptId) throws StoreException {
    return getReceipt(receiptId)
        .orElseThrow(
            () ->
                new StoreException(
                    StoreException.Code.STORE_CORRUPT, "receipt " + receiptId + " is missing"));
  }

  private void putNew(String key, byte[] body, String what) throws StoreException {
    if (!objects.put(key, body, true)) {
      throw new StoreException(
          StoreException.Code.CONFLICT, what + " already exists (" + key + ")");
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
      batch.submit(
          () -> {
            putNew(
                S3Layout.receipt(receiptId),
                codec.receipt(record.receipt(), commit),
                "receipt " + receiptId);
            return null;
          });
      for (Delivery each : record.deliveries()) {
        Delivery d = Checks.derivedDeliveryId(sendId, each);
        count++;
        batch.submit(
            () -> {
              putNew(
                  S3Layout.delivery(d.deliveryId()),
                  codec.delivery(sendId, receiptId, d, commit),
                  "delivery " + d.deliveryId());
              putNew(
                  S3Layout.sendRecipient(sendId, d.recipientFingerprint()),
                  d.deliveryId().getBytes(StandardCharsets.US_ASCII),
                  "delivery to " + d.recipientFingerprint() + " in send " + sendId);
              objects.put(
                  S3Layout.byRecipient(d.recipientFingerprint()) + d.deliveryId(),
                  sendId.getBytes(StandardCharsets.US_ASCII),
                  false);
              return null;
            });
      }
      if (m.lateRecipientsAllowed()) {
        batch.submit(
            () -> {
              objects.put(
                  S3Layout.openSend(sendId), hex.getBytes(StandardCharsets.US_ASCII), false);
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
      StoredSend winner =
          readManifest(hex)
              .orElseThrow(
                  () ->
                      new StoreException(
                          StoreException.Code.STORE_UNAVAILABLE,
                          "manifest " + hex + " exists but cannot be read"));
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
        batch.submit(
            () -> {
              Optional<byte[]> body = objects.get(key, S3Objects.MAX_SMALL_OBJECT);
              if (body.isEmpty()) {
                return Optional.empty();
              }
              return getReceipt(
                  S3RecordCodec.text(key, codec.decode(key, body.get()), "receiptId"));
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
    Optional<byte[]> body = objects.get(key, S3Objects.MAX_SMALL_OBJECT);
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
  public List<StoredDelivery> listDeliveries(
      String recipientFingerprint, String afterDeliveryId, int limit) throws StoreException {
    ensureOpen();
    Checks.fingerprint(recipientFingerprint);
    int n = Checks.page(limit);
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
  public List<StoredSend> sealedSecretsOpenForLateRecipients(
      Instant now, String afterSendId, int limit) throws StoreException {
    ensureOpen();
    Objects.requireNonNull(now, "now");
    int n = Checks.page(limit);
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
    StoredSend send =
        getSend(f.sendId())
            .orElseThrow(
                () ->
                    new StoreException(
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
    putNew(
        S3Layout.delivery(d.deliveryId()),
        codec.delivery(f.sendId(), receiptId, d, commit),
        "delivery " + d.deliveryId());
    objects.put(
        S3Layout.byRecipient(fp) + d.deliveryId(),
        f.sendId().getBytes(StandardCharsets.US_ASCII),
        false);
    if (!objects.put(fkey, codec.forwardManifest(receiptId, d.deliveryId()), true)) {
      Optional<String> winner = forwardReceipt(f.sendId(), fp);
      return new ForwardCommit(
          requireReceipt(
              winner.orElseThrow(
                  () ->
                      new StoreException(
                          StoreException.Code.STORE_UNAVAILABLE,
                          "forward manifest cannot be read"))),
          true);
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
        if (d.isPresent()
            && d.get().sendId().equals(send.sendId())
            && d.get().recipientFingerprint().equals(fp)) {
          return Optional.of(d.get().receiptId());
        }
      }
    }
    return forwardReceipt(send.sendId(), fp);
  }

  private Optional<String> forwardReceipt(String sendId, String fp) throws StoreException {
    String key = S3Layout.forward(sendId, fp);
    Optional<byte[]> body = objects.get(key, S3Objects.MAX_SMALL_OBJECT);
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
