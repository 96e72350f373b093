package dev.keycast.host.store;

import java.time.Instant;
import java.util.Arrays;
import java.util.Objects;

/**
 * A signed receipt (opaque bytes) for a send or for a forward of that send.
 *
 * @param receiptId unique id of the receipt
 * @param sendId the send it belongs to
 * @param bytes the signed receipt (at most 64 MiB)
 * @param createdAt when it was stored, millisecond precision
 */
public record ReceiptRecord(String receiptId, String sendId, byte[] bytes, Instant createdAt) {
  public ReceiptRecord {
    Checks.id("receipt id", receiptId);
    Checks.id("send id", sendId);
    bytes = Checks.bytes("receipt", bytes, Checks.MAX_RECEIPT);
    createdAt = Checks.millis(Objects.requireNonNull(createdAt, "createdAt"));
  }

  @Override
  public byte[] bytes() {
    return bytes.clone();
  }

  byte[] bytesUnsafe() {
    return bytes;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof ReceiptRecord r
        && r.receiptId.equals(receiptId)
        && r.sendId.equals(sendId)
        && Arrays.equals(r.bytes, bytes)
        && r.createdAt.equals(createdAt);
  }

  @Override
  public int hashCode() {
    return Objects.hash(receiptId, sendId, Arrays.hashCode(bytes), createdAt);
  }

  @Override
  public String toString() {
    return "ReceiptRecord[" + receiptId + " for send " + sendId + ", " + bytes.length + " bytes]";
  }
}
