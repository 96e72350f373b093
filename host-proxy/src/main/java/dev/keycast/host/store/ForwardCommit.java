package dev.keycast.host.store;

import java.util.Objects;

/**
 * Result of {@link ArtefactStore#commitForward}.
 *
 * @param receipt the receipt covering the recipient's delivery of that send: the new one, or on a
 *     replay the one already stored (the original send's receipt if the recipient was in it)
 * @param replayed true when the recipient already had a delivery of that send and nothing was written
 */
public record ForwardCommit(ReceiptRecord receipt, boolean replayed) {
  public ForwardCommit {
    Objects.requireNonNull(receipt, "receipt");
  }
}
