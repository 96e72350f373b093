package dev.keycast.protocol.receipt;

import dev.keycast.protocol.cbor.CborWriter;
import dev.keycast.protocol.keyset.KeySet;
import java.time.Instant;
import java.util.List;
import java.util.Objects;

/**
 * Builds and signs a large receipt incrementally: each delivery or skipped entry is validated and
 * encoded as it is added, so a send to 100,000 recipients never holds 100,000 entry objects. The
 * signed bytes are identical to {@link ReceiptSigner#sign(Receipt, byte[])} of the equivalent
 * {@link Receipt}. Adding is thread-safe (entries keep the order in which they were added).
 */
public final class ReceiptBuilder {
  private final Receipt header;
  private final CborWriter deliveries = new CborWriter(4096);
  private final CborWriter skipped = new CborWriter(1024);
  private int deliveryCount;
  private int skippedCount;

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
    ReceiptCodec.writeDelivery(deliveries, delivery);
    deliveryCount++;
    return this;
  }

  /** Appends a skipped entry. @throws IllegalStateException beyond {@link Receipt#MAX_ENTRIES} entries */
  public synchronized ReceiptBuilder add(Receipt.Skipped entry) {
    Objects.requireNonNull(entry, "entry");
    checkRoom();
    ReceiptCodec.writeSkipped(skipped, entry);
    skippedCount++;
    return this;
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
