package dev.keycast.protocol.receipt;

import dev.keycast.protocol.cbor.CborWriter;
import dev.keycast.protocol.keyset.KeySet;
import java.time.Instant;
import java.util.List;
import java.util.Objects;

/**
 * Builds and signs a large receipt incrementally: each delivery or skipped entry is validated and
 * encoded as it is added, so a send to 100,000 recipients never holds 100,000 entry objects. Up to
 * {@code rootedAbove} entries the receipt is version 1 or 2 and its signed bytes are identical to
 * {@link ReceiptSigner#sign(Receipt, byte[])} of the equivalent {@link Receipt}. Beyond that the
 * builder turns into a version 3 receipt (wire-format.md 5.6): the entries encoded so far are
 * hashed into two Merkle trees ({@link MerkleTreeHash}) and dropped, every later entry is hashed
 * as it is added, and {@link #sign} returns the small signed head, which names each list's count
 * and tree hash; the entries themselves reach the verifier in a {@link ReceiptBundle}. Memory then
 * stays constant whatever the number of entries. Adding is thread-safe (entries keep the order in
 * which they were added).
 */
public final class ReceiptBuilder {
  /** Entries above which the enclave's receipts are version 3 (hashed, not held). */
  public static final int DEFAULT_ROOTED_ABOVE = 16_384;

  private final Receipt header;
  private final int rootedAbove;
  // buffered (version 1 or 2): the encoded entries and where each one ends
  private CborWriter deliveries = new CborWriter(4096);
  private CborWriter skipped = new CborWriter(1024);
  private int[] deliveryEnds = new int[64];
  private int[] skippedEnds = new int[16];
  // rooted (version 3): the two trees, once more than rootedAbove entries were added
  private MerkleTreeHash deliveryTree;
  private MerkleTreeHash skippedTree;
  private int deliveryCount;
  private int skippedCount;
  // bytes of every entry encoded so far: a version 3 bundle must fit the receipt limit too
  private long entryBytes;

  /** Starts a receipt; the arguments are validated as by {@link Receipt}. */
  public ReceiptBuilder(
      String keySetId,
      String sendId,
      Receipt.Kind kind,
      byte[] policySha256,
      byte[] payloadSha256) {
    this(keySetId, sendId, kind, policySha256, payloadSha256, null);
  }

  /** Starts a receipt that names the send's signed sender (version 2), or none (null). */
  public ReceiptBuilder(
      String keySetId,
      String sendId,
      Receipt.Kind kind,
      byte[] policySha256,
      byte[] payloadSha256,
      Receipt.Sender sender) {
    this(keySetId, sendId, kind, policySha256, payloadSha256, sender, DEFAULT_ROOTED_ABOVE);
  }

  /**
   * Starts a receipt that becomes version 3 once it holds more than {@code rootedAbove} entries.
   */
  public ReceiptBuilder(
      String keySetId,
      String sendId,
      Receipt.Kind kind,
      byte[] policySha256,
      byte[] payloadSha256,
      Receipt.Sender sender,
      int rootedAbove) {
    if (rootedAbove < 0) {
      throw new IllegalArgumentException("rootedAbove must not be negative");
    }
    this.rootedAbove = rootedAbove;
    this.header =
        new Receipt(
            sender == null ? Receipt.VERSION : Receipt.VERSION_WITH_SENDER,
            keySetId,
            sendId,
            kind,
            Instant.EPOCH,
            policySha256,
            payloadSha256,
            List.of(),
            List.of(),
            sender);
  }

  /** Appends a delivery. @throws IllegalStateException beyond {@link Receipt#MAX_ENTRIES} entries */
  public synchronized ReceiptBuilder add(Receipt.Delivery delivery) {
    Objects.requireNonNull(delivery, "delivery");
    checkRoom();
    if (deliveryTree != null) {
      CborWriter e = new CborWriter(160);
      ReceiptCodec.writeDelivery(e, delivery);
      deliveryTree.addLeaf(e.array(), 0, e.length());
      entryBytes += e.length();
    } else {
      int before = deliveries.length();
      ReceiptCodec.writeDelivery(deliveries, delivery);
      deliveryEnds = mark(deliveryEnds, deliveryCount, deliveries.length());
      entryBytes += deliveries.length() - before;
    }
    deliveryCount++;
    rootIfLarge();
    return this;
  }

  /** Appends a skipped entry. @throws IllegalStateException beyond {@link Receipt#MAX_ENTRIES} entries */
  public synchronized ReceiptBuilder add(Receipt.Skipped entry) {
    Objects.requireNonNull(entry, "entry");
    checkRoom();
    if (skippedTree != null) {
      CborWriter e = new CborWriter(160);
      ReceiptCodec.writeSkipped(e, entry);
      skippedTree.addLeaf(e.array(), 0, e.length());
      entryBytes += e.length();
    } else {
      int before = skipped.length();
      ReceiptCodec.writeSkipped(skipped, entry);
      skippedEnds = mark(skippedEnds, skippedCount, skipped.length());
      entryBytes += skipped.length() - before;
    }
    skippedCount++;
    rootIfLarge();
    return this;
  }

  /** Whether the receipt has become version 3 (its entries hashed and dropped). */
  public synchronized boolean rooted() {
    return deliveryTree != null;
  }

  private static int[] mark(int[] ends, int index, int end) {
    int[] e = index < ends.length ? ends : java.util.Arrays.copyOf(ends, ends.length * 2);
    e[index] = end;
    return e;
  }

  /** Past {@code rootedAbove} entries: hash what is held into the trees and let it go. */
  private void rootIfLarge() {
    if (deliveryTree != null || deliveryCount + skippedCount <= rootedAbove) {
      return;
    }
    deliveryTree = hashed(deliveries, deliveryEnds, deliveryCount);
    skippedTree = hashed(skipped, skippedEnds, skippedCount);
    deliveries = null;
    skipped = null;
    deliveryEnds = null;
    skippedEnds = null;
  }

  private static MerkleTreeHash hashed(CborWriter entries, int[] ends, int count) {
    MerkleTreeHash tree = new MerkleTreeHash();
    int start = 0;
    for (int i = 0; i < count; i++) {
      tree.addLeaf(entries.array(), start, ends[i] - start);
      start = ends[i];
    }
    return tree;
  }

  /** Number of entries added so far. */
  public synchronized int entries() {
    return deliveryCount + skippedCount;
  }

  private void checkRoom() {
    if (deliveryCount + skippedCount >= Receipt.MAX_ENTRIES) {
      throw new IllegalStateException(
          "a receipt holds at most " + Receipt.MAX_ENTRIES + " entries");
    }
  }

  /**
   * Encodes and signs with a raw Ed25519 private key. {@code issuedAt} is truncated to milliseconds.
   * Returns the whole receipt (version 1 or 2) or, once {@link #rooted()}, the version 3 head, which
   * {@link ReceiptBundle#assemble} joins to the entries.
   *
   * @throws IllegalArgumentException if the receipt would exceed {@link ReceiptSigner#MAX_ENCODED}
   */
  public byte[] sign(Instant issuedAt, byte[] signingPrivateKey) {
    Objects.requireNonNull(signingPrivateKey, "signingPrivateKey");
    CborWriter payload = encode(issuedAt);
    return ReceiptSigner.signPayload(payload.array(), payload.length(), signingPrivateKey);
  }

  private synchronized CborWriter encode(Instant issuedAt) {
    Objects.requireNonNull(issuedAt, "issuedAt");
    if (issuedAt.isBefore(Instant.EPOCH)) {
      throw new IllegalArgumentException("issuedAt must not be before the epoch");
    }
    if (deliveryTree != null) {
      // its bundle (head, two array heads, the entries) must be verifiable: refuse here, before
      // signing, as versions 1 and 2 do, rather than after the whole send
      if (1024L + entryBytes > ReceiptSigner.MAX_ENCODED) {
        throw new IllegalArgumentException(
            "receipt bundle would be about "
                + (1024L + entryBytes)
                + " bytes, limit "
                + ReceiptSigner.MAX_ENCODED);
      }
      CborWriter head = new CborWriter(512);
      ReceiptCodec.assembleRooted(
          head,
          new ReceiptCodec.RootedHead(
              header.keySetId(),
              header.sendId(),
              header.kind(),
              issuedAt.toEpochMilli(),
              header.policySha256Unsafe(),
              header.payloadSha256Unsafe(),
              deliveryCount,
              deliveryTree.root(),
              skippedCount,
              skippedTree.root(),
              header.sender()));
      return head;
    }
    long size = 256L + deliveries.length() + skipped.length();
    if (size > ReceiptSigner.MAX_ENCODED) {
      throw new IllegalArgumentException(
          "receipt would be " + size + " bytes, limit " + ReceiptSigner.MAX_ENCODED);
    }
    CborWriter payload = new CborWriter((int) size);
    ReceiptCodec.assemble(
        payload,
        header.keySetId(),
        header.sendId(),
        header.kind(),
        issuedAt.toEpochMilli(),
        header.policySha256Unsafe(),
        header.payloadSha256Unsafe(),
        deliveryCount,
        deliveries,
        skippedCount,
        skipped,
        header.sender());
    return payload;
  }

  /** Signs with {@code keySet}'s signing key; the receipt must name that key set. */
  public byte[] sign(Instant issuedAt, KeySet keySet) {
    if (!header.keySetId().equals(keySet.id())) {
      throw new IllegalArgumentException(
          "receipt names key set " + header.keySetId() + ", not " + keySet.id());
    }
    CborWriter payload = encode(issuedAt);
    return ReceiptSigner.signPayload(payload.array(), payload.length(), keySet);
  }
}
