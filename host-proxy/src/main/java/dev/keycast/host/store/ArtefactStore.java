package dev.keycast.host.store;

import java.time.Instant;
import java.util.Collection;
import java.util.List;
import java.util.Optional;

/**
 * Durable storage of everything the host keeps for the enclave: the sealed key set, registered
 * recipients, sends (metadata, sealed secret, receipt, deliveries) and forwards.
 *
 * <p>The host is untrusted for confidentiality: every byte array here is ciphertext or a signed
 * record, opaque to the store; only the ids, fingerprints, flags and times are cleartext metadata
 * for lookups.
 *
 * <p>Guarantees common to every implementation (see {@code storage.md}):
 * <ul>
 *   <li>A write that returns normally is durable; a write that throws {@link StoreException} has
 *       left nothing visible to readers.</li>
 *   <li>{@link #commitSend} and {@link #commitForward} are atomic and idempotent.</li>
 *   <li>Listings are ordered by their key (delivery id, fingerprint, send id; byte order) and
 *       paged with an exclusive "after" cursor; a null cursor starts at the beginning.</li>
 * </ul>
 * Implementations are safe for concurrent use by many threads.
 */
public interface ArtefactStore extends AutoCloseable {

  /** Largest page a listing returns; larger limits are clamped. */
  int MAX_PAGE = 1000;

  // ---- sealed key set

  /**
   * Stores a sealed key-set version. Never overwrites.
   *
   * @throws StoreException {@code conflict} if that version is already stored (whatever its bytes)
   */
  void putSealedKeySet(int version, byte[] bytes) throws StoreException;

  /** The highest stored key-set version, if any. */
  Optional<StoredKeySet> latestSealedKeySet() throws StoreException;

  // ---- sealed sender set (issue 23)

  /**
   * Stores a sealed sender-set version (compare-and-set on the version: it is written only if no
   * sender set of that version is stored). Never overwrites; a lower version than the highest
   * stored is stored beside it and never becomes {@link #latestSealedSenderSet()}.
   *
   * @throws StoreException {@code conflict} if that version is already stored (whatever its bytes)
   */
  void putSealedSenderSet(long version, byte[] bytes) throws StoreException;

  /** The highest stored sender-set version, if any. */
  Optional<StoredSenderSet> latestSealedSenderSet() throws StoreException;

  // ---- recipients

  /**
   * Registers a recipient, idempotent by fingerprint: if the fingerprint is already registered,
   * nothing is written and the stored record (first registration wins) is returned.
   */
  RecipientRecord putRecipient(RecipientRecord recipient) throws StoreException;

  /**
   * Registers a recipient or replaces its registration (kind, key or chain, labels, time) whole;
   * returns the stored record. Deliveries already made are not touched. The host calls it only
   * after the recipient proved possession of the key.
   */
  RecipientRecord replaceRecipient(RecipientRecord recipient) throws StoreException;

  /** The registered recipients among {@code fingerprints} (at most 1000), in fingerprint order. */
  List<RecipientRecord> findRecipients(Collection<String> fingerprints) throws StoreException;

  /** Recipients with a fingerprint greater than {@code afterFingerprint}, in fingerprint order. */
  List<RecipientRecord> listRecipients(String afterFingerprint, int limit) throws StoreException;

  /** Number of registered recipients. */
  long countRecipients() throws StoreException;

  // ---- cinemas and screens (wire-format.md section 9.3; never recipients)

  /** Creates a cinema or sets its offset (last write wins); returns the stored record. */
  CinemaRecord putCinema(CinemaRecord cinema) throws StoreException;

  /** A cinema by name. */
  Optional<CinemaRecord> getCinema(String name) throws StoreException;

  /**
   * Registers a screen or replaces its registration (keyed by leaf thumbprint) whole; returns the
   * stored record. Its cinema, when named, must have been put before. Deliveries already made are
   * not touched.
   *
   * @throws StoreException {@code not_found} if the screen's cinema is not stored
   */
  ScreenRecord putScreen(ScreenRecord screen) throws StoreException;

  /** The screens among {@code thumbprints} (at most 1000), in thumbprint order. */
  List<ScreenRecord> findScreens(Collection<String> thumbprints) throws StoreException;

  /** The screens whose leaf key has one of {@code fingerprints} (at most 1000), in thumbprint order. */
  List<ScreenRecord> findScreensByFingerprint(Collection<String> fingerprints)
      throws StoreException;

  /**
   * Screens after {@code afterThumbprint} in the store's key order (SQLite: the thumbprint; S3: its
   * base64url form), which pages every screen exactly once; only those of {@code cinema} when it
   * is not null.
   */
  List<ScreenRecord> listScreens(String cinema, String afterThumbprint, int limit)
      throws StoreException;

  // ---- ingested DKDMs (issue 25, wire-format.md section 10.5)

  /**
   * Stores an ingested DKDM's sealed keys (keyed by its message id; the same DKDM again replaces
   * the row whole). A store without DKDM storage refuses ({@code store_unavailable}): it never
   * pretends to have kept them.
   */
  default DkdmRecord putDkdm(DkdmRecord dkdm) throws StoreException {
    throw new StoreException(StoreException.Code.STORE_UNAVAILABLE, "this store keeps no DKDMs");
  }

  /** The DKDMs ingested for {@code cplId} ({@code urn:uuid:...}), in message-id order (at most 1000). */
  default java.util.List<DkdmRecord> findDkdms(String cplId) throws StoreException {
    throw new StoreException(StoreException.Code.STORE_UNAVAILABLE, "this store keeps no DKDMs");
  }

  // ---- studio rules (issue 25, wire-format.md section 11.1)

  /** Stores a studio's signed rules for their CPL, replacing earlier ones. */
  default RulesRecord putRules(RulesRecord rules) throws StoreException {
    throw new StoreException(
        StoreException.Code.STORE_UNAVAILABLE, "this store keeps no studio rules");
  }

  /** The rules stored for {@code cplId} ({@code urn:uuid:...}), if any. */
  default java.util.Optional<RulesRecord> getRules(String cplId) throws StoreException {
    throw new StoreException(
        StoreException.Code.STORE_UNAVAILABLE, "this store keeps no studio rules");
  }

  // ---- imported legacy DKDM keys (issue 25, wire-format.md section 10.6)

  /** Stores an imported legacy DKDM key (the same id again replaces it). */
  default LegacyKeyRecord putLegacyKey(LegacyKeyRecord key) throws StoreException {
    throw new StoreException(
        StoreException.Code.STORE_UNAVAILABLE, "this store keeps no legacy DKDM keys");
  }

  /** Every imported legacy DKDM key, in id order (at most {@link LegacyKeyRecord#MAX_KEYS}). */
  default List<LegacyKeyRecord> listLegacyKeys() throws StoreException {
    throw new StoreException(
        StoreException.Code.STORE_UNAVAILABLE, "this store keeps no legacy DKDM keys");
  }

  // ---- the KDM mail outbox (issue 25, storage.md)

  /**
   * Queues a KDM mail, keyed by (send, cinema): written when no message of that send to that
   * cinema is stored, else nothing is written and the stored one is returned (first queue wins;
   * the caller requeues a failed one with {@link #updateMail}). Durable when it returns.
   */
  default MailRecord queueMail(MailRecord mail) throws StoreException {
    throw new StoreException(
        StoreException.Code.STORE_UNAVAILABLE, "this store keeps no mail outbox");
  }

  /** Replaces a queued mail's state (by send and cinema); {@code not_found} when it is not stored. */
  default void updateMail(MailRecord mail) throws StoreException {
    throw new StoreException(
        StoreException.Code.STORE_UNAVAILABLE, "this store keeps no mail outbox");
  }

  /** The mails of a send, in cinema order (at most {@value #MAX_PAGE}). */
  default List<MailRecord> mailsOfSend(String sendId) throws StoreException {
    throw new StoreException(
        StoreException.Code.STORE_UNAVAILABLE, "this store keeps no mail outbox");
  }

  /** Queued mails due at {@code now} (next attempt not after it), earliest first, at most {@code limit}. */
  default List<MailRecord> dueMails(Instant now, int limit) throws StoreException {
    throw new StoreException(
        StoreException.Code.STORE_UNAVAILABLE, "this store keeps no mail outbox");
  }

  // ---- sends

  /**
   * Commits a send and all its artefacts in one durable step. Sends are keyed by send id, which
   * is a function of the sealed payload ({@link dev.keycast.protocol.SendIds}): if a send with this
   * id and the same payload hash is already committed, writes nothing and returns the original
   * with {@code replayed = true}. (Two ids with one payload hash cannot come from an enclave, and
   * the host refuses an answer whose id is not the payload's; a store need not detect them.)
   *
   * @throws StoreException {@code conflict} on a send id already committed with another payload
   *     hash, a reused receipt or delivery id or a recipient listed twice; {@code store_full} /
   *     {@code store_unavailable}: nothing was committed
   * @throws IllegalArgumentException if a delivery's id is not
   *     {@link dev.keycast.protocol.DeliveryIds#of}{@code (sendId, fingerprint)}: nothing was
   *     committed
   */
  SendCommit commitSend(SendRecord send) throws StoreException;

  /**
   * The committed send with id {@code sendId} if it was committed from the payload with this hash
   * (a retried send); empty when no send has the id, or the send that has it came from another
   * payload.
   */
  Optional<StoredSend> findSend(String sendId, byte[] payloadHash) throws StoreException;

  /** The committed send with this id. */
  Optional<StoredSend> getSend(String sendId) throws StoreException;

  /** A committed receipt (of a send or of a forward) by receipt id. */
  Optional<ReceiptRecord> getReceipt(String receiptId) throws StoreException;

  /** Every receipt of a send: the original first, then forwards in receipt-id order. */
  List<ReceiptRecord> receiptsForSend(String sendId) throws StoreException;

  /** A committed delivery by id. */
  Optional<StoredDelivery> getDelivery(String deliveryId) throws StoreException;

  /**
   * A recipient's deliveries with an id greater than {@code afterDeliveryId}, in delivery-id
   * order (an index range, never a scan).
   */
  List<StoredDelivery> listDeliveries(
      String recipientFingerprint, String afterDeliveryId, int limit) throws StoreException;

  /**
   * Sends whose sealed secret may still be forwarded to late recipients at {@code now}
   * ({@link SendMetadata#openForLateRecipients}), with a send id greater than
   * {@code afterSendId}, in send-id order.
   */
  List<StoredSend> sealedSecretsOpenForLateRecipients(Instant now, String afterSendId, int limit)
      throws StoreException;

  /**
   * Commits a forward atomically: its delivery and receipt. Idempotent per (send, recipient): if
   * the recipient already has a delivery of that send, writes nothing and returns the receipt that
   * covers it with {@code replayed = true}.
   *
   * @throws StoreException {@code not_found} if the send is not committed; {@code conflict} on a
   *     reused receipt id (also one that is a send's id)
   * @throws IllegalArgumentException if the delivery's id is not
   *     {@link dev.keycast.protocol.DeliveryIds#of}{@code (sendId, fingerprint)}
   */
  ForwardCommit commitForward(ForwardRecord forward) throws StoreException;

  /** Whether the recipient has a committed delivery of that send (from the send or a forward). */
  boolean hasDelivery(String sendId, String recipientFingerprint) throws StoreException;

  @Override
  void close() throws StoreException;
}
