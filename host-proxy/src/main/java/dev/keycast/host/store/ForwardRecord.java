package dev.keycast.host.store;

import java.util.Objects;

/**
 * A forward of an existing send to one late recipient: its delivery plus the receipt listing it.
 * A send holds at most one delivery per recipient, so a forward is idempotent per
 * (send, recipient).
 *
 * @param sendId the existing send
 * @param receipt the forward's receipt (its send id must be {@code sendId})
 * @param delivery the new delivery
 */
public record ForwardRecord(String sendId, ReceiptRecord receipt, Delivery delivery) {
  public ForwardRecord {
    Checks.id("send id", sendId);
    Objects.requireNonNull(receipt, "receipt");
    Objects.requireNonNull(delivery, "delivery");
    if (!receipt.sendId().equals(sendId)) {
      throw new IllegalArgumentException(
          "receipt belongs to send " + receipt.sendId() + ", not " + sendId);
    }
  }

  public String recipientFingerprint() {
    return delivery.recipientFingerprint();
  }
}
