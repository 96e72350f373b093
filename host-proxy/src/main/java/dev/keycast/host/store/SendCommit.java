package dev.keycast.host.store;

import java.util.Objects;

/**
 * Result of {@link ArtefactStore#commitSend}: the committed send and its receipt.
 *
 * @param send the send as stored; on a replay, the original send (another send id)
 * @param receipt the receipt to return to the sender
 * @param replayed true when the payload hash was already stored and nothing new was written
 */
public record SendCommit(StoredSend send, ReceiptRecord receipt, boolean replayed) {
  public SendCommit {
    Objects.requireNonNull(send, "send");
    Objects.requireNonNull(receipt, "receipt");
  }
}
