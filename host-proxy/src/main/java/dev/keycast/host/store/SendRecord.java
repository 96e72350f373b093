package dev.keycast.host.store;

import java.util.Objects;

/**
 * Everything a send produces, committed by {@link ArtefactStore#commitSend} in one durable step.
 *
 * <p>{@code deliveries} is iterated once, lazily, while the commit is written, so a caller can
 * stream 100,000 deliveries without materialising them; it is not iterated at all when the
 * payload hash is already stored (idempotent retry). Each recipient appears at most once.
 *
 * @param metadata the send itself
 * @param receipt the signed receipt listing every delivery (its send id must be the send's)
 * @param deliveries the deliveries, possibly a single-pass stream
 */
public record SendRecord(SendMetadata metadata, ReceiptRecord receipt, Iterable<Delivery> deliveries) {
  public SendRecord {
    Objects.requireNonNull(metadata, "metadata");
    Objects.requireNonNull(receipt, "receipt");
    Objects.requireNonNull(deliveries, "deliveries");
    if (!receipt.sendId().equals(metadata.sendId())) {
      throw new IllegalArgumentException("receipt belongs to send " + receipt.sendId()
          + ", not " + metadata.sendId());
    }
  }

  public String sendId() {
    return metadata.sendId();
  }
}
