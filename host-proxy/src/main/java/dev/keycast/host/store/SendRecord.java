package dev.keycast.host.store;

import java.util.Objects;

/**
 * Everything a send produces, committed by {@link ArtefactStore#commitSend} in one durable step.
 *
 * <p>{@code deliveries} is iterated once, lazily, while the commit is written, so a caller can
 * stream 100,000 deliveries without materialising them; it is not iterated at all when the
 * payload hash is already stored (idempotent retry). Each recipient appears at most once, and each
 * delivery's id MUST be {@link dev.keycast.protocol.DeliveryIds#of}{@code (sendId, fingerprint)}
 * (api.md 1.1 step 7): the stores refuse any other id when they write it. A collection (rather
 * than a lazy stream) lets a store know the count before it writes.
 *
 * @param metadata the send itself
 * @param receipt the signed receipt listing every delivery; its send id and its receipt id are the
 *     send's id (api.md 1.1 step 8: a send's receipt id is its send id)
 * @param deliveries the deliveries, possibly a single-pass stream
 */
public record SendRecord(
    SendMetadata metadata, ReceiptRecord receipt, Iterable<Delivery> deliveries) {
  public SendRecord {
    Objects.requireNonNull(metadata, "metadata");
    Objects.requireNonNull(receipt, "receipt");
    Objects.requireNonNull(deliveries, "deliveries");
    if (!receipt.sendId().equals(metadata.sendId())) {
      throw new IllegalArgumentException(
          "receipt belongs to send " + receipt.sendId() + ", not " + metadata.sendId());
    }
    if (!receipt.receiptId().equals(metadata.sendId())) {
      throw new IllegalArgumentException(
          "a send's receipt id must be its send id: receipt "
              + receipt.receiptId()
              + " for send "
              + metadata.sendId());
    }
  }

  public String sendId() {
    return metadata.sendId();
  }
}
