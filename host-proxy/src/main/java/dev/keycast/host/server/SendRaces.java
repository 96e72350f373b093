package dev.keycast.host.server;

import dev.keycast.host.store.ArtefactStore;
import dev.keycast.host.store.ReceiptRecord;
import dev.keycast.host.store.SendCommit;
import dev.keycast.host.store.SendRecord;
import dev.keycast.host.store.StoreException;
import dev.keycast.host.store.StoredSend;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Optional;

/**
 * A send's commit when another attempt of the very same payload may be committing it at the same
 * time: a retry racing the first attempt, through this parent or another one sharing an S3 store
 * (storage.md 3, known limitation). The store answers the later attempt {@code conflict} when it
 * meets an object the earlier one wrote (the ids are functions of the payload); that attempt then
 * waits, for at most {@link #WAIT}, for the racer's manifest and answers it as the replay, exactly
 * as a retry after the commit would be answered. When no commit appears (the earlier attempt
 * failed part-way and left its objects, or is still writing a large send), the conflict stands:
 * {@code 409 send_conflict}, nothing acknowledged, and the client seals the secret again.
 */
final class SendRaces {
  /** How long a conflicting attempt waits for the racing attempt's commit. */
  static final Duration WAIT = Duration.ofSeconds(10);

  private SendRaces() {}

  /**
   * {@link ArtefactStore#commitSend}, or the racing attempt's send as a replay; empty when the
   * store answered {@code conflict} and no commit of this payload appeared within {@code wait}.
   */
  static Optional<SendCommit> commit(ArtefactStore store, SendRecord record, Duration wait)
      throws StoreException {
    try {
      return Optional.of(store.commitSend(record));
    } catch (StoreException e) {
      if (e.code() != StoreException.Code.CONFLICT) {
        throw e;
      }
    }
    String sendId = record.metadata().sendId();
    byte[] hash = HexFormat.of().parseHex(record.metadata().payloadHashHex());
    long deadline = System.nanoTime() + wait.toNanos();
    long delayMillis = 50;
    while (true) {
      Optional<StoredSend> committed = store.findSend(sendId, hash);
      if (committed.isPresent()) {
        Optional<ReceiptRecord> receipt = store.getReceipt(committed.get().receiptId());
        if (receipt.isEmpty()) {
          throw new StoreException(
              StoreException.Code.STORE_CORRUPT,
              "send " + sendId + " is committed without its receipt");
        }
        return Optional.of(new SendCommit(committed.get(), receipt.get(), true));
      }
      if (System.nanoTime() >= deadline) {
        return Optional.empty();
      }
      try {
        Thread.sleep(delayMillis); // a bounded back-off between checks of the racer's commit
      } catch (InterruptedException ie) {
        Thread.currentThread().interrupt();
        throw new StoreException(StoreException.Code.STORE_UNAVAILABLE, "interrupted", ie);
      }
      delayMillis = Math.min(500, delayMillis * 2);
    }
  }
}
