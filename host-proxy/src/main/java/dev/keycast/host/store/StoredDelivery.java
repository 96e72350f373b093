package dev.keycast.host.store;

import java.util.Objects;

/**
 * A committed delivery with the send it belongs to and the receipt that lists it (the send's
 * receipt, or the receipt of the forward that produced it).
 */
public record StoredDelivery(String sendId, String receiptId, Delivery delivery) {
  public StoredDelivery {
    Checks.id("send id", sendId);
    Checks.id("receipt id", receiptId);
    Objects.requireNonNull(delivery, "delivery");
  }

  public String deliveryId() {
    return delivery.deliveryId();
  }

  public String recipientFingerprint() {
    return delivery.recipientFingerprint();
  }
}
