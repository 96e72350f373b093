package dev.keycast.host.store;

import java.util.Objects;

/**
 * A committed send: its metadata, the id of its original receipt and how many deliveries it made.
 */
public record StoredSend(SendMetadata metadata, String receiptId, long deliveryCount) {
  public StoredSend {
    Objects.requireNonNull(metadata, "metadata");
    Checks.id("receipt id", receiptId);
    if (deliveryCount < 0) {
      throw new IllegalArgumentException("negative delivery count");
    }
  }

  public String sendId() {
    return metadata.sendId();
  }
}
