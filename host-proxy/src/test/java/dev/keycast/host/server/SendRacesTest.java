package dev.keycast.host.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keycast.host.store.ArtefactStore;
import dev.keycast.host.store.ReceiptRecord;
import dev.keycast.host.store.SendCommit;
import dev.keycast.host.store.SendMetadata;
import dev.keycast.host.store.SendRecord;
import dev.keycast.host.store.StoreException;
import dev.keycast.host.store.StoredSend;
import java.lang.reflect.Proxy;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * {@link SendRaces} against a scripted store: the store's {@code conflict} for a second attempt
 * of one payload becomes the racer's send as a replay once its manifest is there, and {@code
 * empty} (the host's {@code 409 send_conflict}) when none comes within the wait.
 */
class SendRacesTest {
  private static final Instant T0 = Instant.parse("2026-12-08T00:00:00Z");

  private final SendRecord record = record("send-raced");
  private final StoredSend stored = new StoredSend(record.metadata(), "send-raced", 1);

  /** A store whose commitSend does {@code commit}, and whose findSend finds the send from call n. */
  private static ArtefactStore store(
      StoreOp commit,
      int foundFromCall,
      StoredSend stored,
      ReceiptRecord receipt,
      AtomicInteger finds) {
    return (ArtefactStore)
        Proxy.newProxyInstance(
            ArtefactStore.class.getClassLoader(),
            new Class<?>[] {ArtefactStore.class},
            (proxy, method, args) ->
                switch (method.getName()) {
                  case "commitSend" -> commit.run();
                  case "findSend" ->
                      finds.incrementAndGet() >= foundFromCall
                          ? Optional.of(stored)
                          : Optional.empty();
                  case "getReceipt" -> Optional.of(receipt);
                  default -> throw new UnsupportedOperationException(method.getName());
                });
  }

  @FunctionalInterface
  private interface StoreOp {
    Object run() throws StoreException;
  }

  @Test
  void aCommitIsPassedOn() throws Exception {
    SendCommit c = new SendCommit(stored, record.receipt(), false);
    AtomicInteger finds = new AtomicInteger();
    assertThat(
            SendRaces.commit(
                store(() -> c, 1, stored, record.receipt(), finds), record, Duration.ZERO))
        .contains(c);
    assertThat(finds).hasValue(0);
  }

  @Test
  void aConflictBecomesTheRacersReplayOnceItCommits() throws Exception {
    AtomicInteger finds = new AtomicInteger();
    ArtefactStore s =
        store(
            () -> {
              throw new StoreException(StoreException.Code.CONFLICT, "receipt exists");
            },
            3,
            stored,
            record.receipt(),
            finds);
    Optional<SendCommit> c = SendRaces.commit(s, record, Duration.ofSeconds(30));
    assertThat(c).isPresent();
    assertThat(c.get().replayed()).isTrue();
    assertThat(c.get().send()).isEqualTo(stored);
    assertThat(c.get().receipt()).isEqualTo(record.receipt());
    assertThat(finds).hasValue(3);
  }

  @Test
  void aConflictWithoutACommitIsEmptyAfterTheWait() throws Exception {
    AtomicInteger finds = new AtomicInteger();
    ArtefactStore s =
        store(
            () -> {
              throw new StoreException(StoreException.Code.CONFLICT, "receipt exists");
            },
            Integer.MAX_VALUE,
            stored,
            record.receipt(),
            finds);
    long t0 = System.nanoTime();
    assertThat(SendRaces.commit(s, record, Duration.ofMillis(300))).isEmpty();
    assertThat(Duration.ofNanos(System.nanoTime() - t0))
        .isGreaterThanOrEqualTo(Duration.ofMillis(300));
    assertThat(finds.get()).isGreaterThan(1);
  }

  @Test
  void otherStoreFailuresArePassedOn() {
    AtomicInteger finds = new AtomicInteger();
    ArtefactStore s =
        store(
            () -> {
              throw new StoreException(StoreException.Code.STORE_UNAVAILABLE, "down");
            },
            1,
            stored,
            record.receipt(),
            finds);
    assertThatThrownBy(() -> SendRaces.commit(s, record, Duration.ofSeconds(30)))
        .isInstanceOfSatisfying(
            StoreException.class,
            e -> assertThat(e.code()).isEqualTo(StoreException.Code.STORE_UNAVAILABLE));
    assertThat(finds).hasValue(0);
  }

  private static SendRecord record(String sendId) {
    byte[] hash;
    try {
      hash = MessageDigest.getInstance("SHA-256").digest(sendId.getBytes(StandardCharsets.UTF_8));
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new AssertionError(e);
    }
    SendMetadata m =
        new SendMetadata(
            sendId,
            hash,
            "{}".getBytes(StandardCharsets.UTF_8),
            false,
            T0,
            null,
            "sealed".getBytes(StandardCharsets.UTF_8),
            T0);
    return new SendRecord(
        m,
        new ReceiptRecord(sendId, sendId, "receipt".getBytes(StandardCharsets.UTF_8), T0),
        List.of());
  }
}
