package dev.keycast.host.store;

import static dev.keycast.host.store.ArtefactStoreContract.delivery;
import static dev.keycast.host.store.ArtefactStoreContract.fp;
import static dev.keycast.host.store.ArtefactStoreContract.generated;
import static dev.keycast.host.store.ArtefactStoreContract.meta;
import static dev.keycast.host.store.ArtefactStoreContract.recipient;
import static dev.keycast.host.store.ArtefactStoreContract.send;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.nio.file.Path;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Group commit of {@link SqliteArtefactStore}: concurrent writes share one transaction and one WAL
 * sync, each is acknowledged only after its group's {@code COMMIT}, a failing commit fails exactly
 * the writes of its group and stores nothing of them, and a write that fails on its own is rolled
 * back to its savepoint without harming the others.
 */
class SqliteGroupCommitTest {
  @TempDir Path dir;

  private final ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor();
  private SqliteArtefactStore store;

  @AfterEach
  void tearDown() throws Exception {
    pool.shutdownNow();
    if (store != null) {
      store.close();
    }
  }

  private SqliteArtefactStore open(GroupCommitWriter.CommitHook hook) throws Exception {
    store =
        SqliteArtefactStore.open(
            dir.resolve("keycast.db"), SqliteArtefactStore.Options.defaults(), hook);
    return store;
  }

  private static SendRecord smallSend(String id) {
    return send(id, "payload " + id, List.of(delivery(id, "r-" + id, 0)));
  }

  private Future<SendCommit> submit(SendRecord r) {
    return pool.submit(() -> store.commitSend(r));
  }

  /** Waits until the writer thread has {@code n} jobs queued behind the group it is running. */
  private void awaitQueued(int n) {
    await()
        .atMost(Duration.ofSeconds(20))
        .pollInterval(Duration.ofMillis(2))
        .alias(n + " writes queued")
        .until(() -> store.queuedWrites() >= n);
  }

  /** A hook whose first call blocks until {@link #release}; later calls run {@code then}. */
  private static final class Gate implements GroupCommitWriter.CommitHook {
    final CountDownLatch entered = new CountDownLatch(1);
    final CountDownLatch release = new CountDownLatch(1);
    final List<Integer> groupSizes = new ArrayList<>();
    final GroupCommitWriter.CommitHook then;

    Gate(GroupCommitWriter.CommitHook then) {
      this.then = then;
    }

    @Override
    public synchronized void beforeCommit(int jobs) throws SQLException {
      groupSizes.add(jobs);
      if (groupSizes.size() == 1) {
        entered.countDown();
        try {
          if (!release.await(30, TimeUnit.SECONDS)) {
            throw new AssertionError("gate never released");
          }
        } catch (InterruptedException e) {
          throw new AssertionError(e);
        }
        return;
      }
      then.beforeCommit(jobs);
    }
  }

  @Test
  void concurrentSendsShareOneCommitAndAreAllDurable() throws Exception {
    Gate gate = new Gate(GroupCommitWriter.CommitHook.NONE);
    open(gate);
    Future<SendCommit> first = submit(smallSend("s-first"));
    assertThat(gate.entered.await(10, TimeUnit.SECONDS)).isTrue();
    List<Future<SendCommit>> rest = new ArrayList<>();
    for (int i = 0; i < 63; i++) {
      rest.add(submit(smallSend("s-" + i)));
    }
    awaitQueued(63);
    gate.release.countDown();
    assertThat(first.get(10, TimeUnit.SECONDS).replayed()).isFalse();
    for (Future<SendCommit> f : rest) {
      assertThat(f.get(10, TimeUnit.SECONDS).replayed()).isFalse();
    }
    // the 63 queued behind the first group went into one transaction
    assertThat(gate.groupSizes).containsExactly(1, 63);
    assertThat(store.groupCommits()).isEqualTo(2);
    assertThat(store.committedWrites()).isEqualTo(64);

    store.close();
    store = SqliteArtefactStore.open(dir.resolve("keycast.db"));
    for (int i = 0; i < 63; i++) {
      String id = "s-" + i;
      assertThat(store.getSend(id)).as(id).isPresent();
      assertThat(store.receiptsForSend(id)).hasSize(1);
      assertThat(store.hasDelivery(id, fp("r-" + id))).isTrue();
    }
    assertThat(store.getSend("s-first")).isPresent();
  }

  @Test
  void aWriteIsAcknowledgedOnlyAfterItsGroupCommitted() throws Exception {
    Gate gate = new Gate(GroupCommitWriter.CommitHook.NONE);
    open(gate);
    Future<SendCommit> f = submit(smallSend("s-1"));
    assertThat(gate.entered.await(10, TimeUnit.SECONDS)).isTrue();
    Future<RecipientRecord> r = pool.submit(() -> store.putRecipient(recipient("bob")));
    awaitQueued(1); // bob's registration waits behind the running group
    // the writer is inside the group, before COMMIT: nothing may be acknowledged while it stays
    // there
    await()
        .during(Duration.ofMillis(300))
        .atMost(Duration.ofSeconds(2))
        .until(() -> !f.isDone() && !r.isDone());
    assertThat(store.getSend("s-1")).isEmpty(); // readers do not see the open transaction
    gate.release.countDown();
    assertThat(f.get(10, TimeUnit.SECONDS).send().sendId()).isEqualTo("s-1");
    assertThat(r.get(10, TimeUnit.SECONDS).fingerprint()).isEqualTo(fp("bob"));
    assertThat(store.getSend("s-1")).isPresent();
  }

  @Test
  void aFailingCommitFailsExactlyItsGroupAndStoresNothingOfIt() throws Exception {
    AtomicInteger calls = new AtomicInteger();
    Gate gate =
        new Gate(
            jobs -> {
              if (calls.incrementAndGet() == 1) {
                throw new SQLException("database or disk is full", null, 13); // SQLITE_FULL
              }
              if (calls.get() == 2) {
                throw new SQLException("disk I/O error", null, 10); // SQLITE_IOERR
              }
            });
    open(gate);
    Future<SendCommit> before = submit(smallSend("s-before"));
    assertThat(gate.entered.await(10, TimeUnit.SECONDS)).isTrue();
    List<Future<SendCommit>> full = new ArrayList<>();
    for (int i = 0; i < 8; i++) {
      full.add(submit(smallSend("s-full-" + i)));
    }
    awaitQueued(8);
    gate.release.countDown();
    assertThat(before.get(10, TimeUnit.SECONDS).replayed()).isFalse();
    for (Future<SendCommit> f : full) {
      assertThatThrownBy(() -> f.get(10, TimeUnit.SECONDS))
          .cause()
          .isInstanceOfSatisfying(
              StoreException.class,
              e -> assertThat(e.code()).isEqualTo(StoreException.Code.STORE_FULL));
    }
    Future<SendCommit> io = submit(smallSend("s-io"));
    assertThatThrownBy(() -> io.get(10, TimeUnit.SECONDS))
        .cause()
        .isInstanceOfSatisfying(
            StoreException.class,
            e -> assertThat(e.code()).isEqualTo(StoreException.Code.STORE_UNAVAILABLE));
    SendCommit after = submit(smallSend("s-after")).get(10, TimeUnit.SECONDS);
    assertThat(after.replayed()).isFalse();
    assertThat(gate.groupSizes).containsExactly(1, 8, 1, 1);

    store.close();
    store = SqliteArtefactStore.open(dir.resolve("keycast.db"));
    for (int i = 0; i < 8; i++) {
      String id = "s-full-" + i;
      assertThat(store.getSend(id)).as(id).isEmpty();
      assertThat(store.findSend(id, ArtefactStoreContract.sha256("payload " + id))).isEmpty();
      assertThat(store.hasDelivery(id, fp("r-" + id))).isFalse();
      assertThat(store.listDeliveries(fp("r-" + id), null, 10)).isEmpty();
    }
    assertThat(store.getSend("s-io")).isEmpty();
    assertThat(store.getSend("s-before")).isPresent();
    assertThat(store.getSend("s-after")).isPresent();
    // a retry of a failed send is not a replay: it was never stored
    assertThat(store.commitSend(smallSend("s-full-0")).replayed()).isFalse();
  }

  @Test
  void aWriteThatFailsAloneLeavesItsGroupIntact() throws Exception {
    Gate gate = new Gate(GroupCommitWriter.CommitHook.NONE);
    open(gate);
    Future<SendCommit> blocker = submit(smallSend("s-0"));
    assertThat(gate.entered.await(10, TimeUnit.SECONDS)).isTrue();
    Future<SendCommit> ok1 = submit(smallSend("s-1"));
    awaitQueued(1);
    // the enclave's answer turns out not to parse half-way through the deliveries
    Iterable<Delivery> broken =
        () ->
            new Iterator<>() {
              int i;

              @Override
              public boolean hasNext() {
                return true;
              }

              @Override
              public Delivery next() {
                if (i == 3) {
                  throw new IllegalArgumentException("malformed envelope");
                }
                return delivery("s-broken", "b" + i, i++);
              }
            };
    Future<SendCommit> bad = submit(send(meta("s-broken", "payload broken", true, null), broken));
    awaitQueued(2);
    // same send id, other payload: the primary key refuses it
    Future<SendCommit> conflict = submit(send("s-1", "another payload", List.of()));
    awaitQueued(3);
    Future<SendCommit> ok2 = submit(smallSend("s-2"));
    awaitQueued(4);
    gate.release.countDown();

    assertThat(blocker.get(10, TimeUnit.SECONDS).replayed()).isFalse();
    assertThat(ok1.get(10, TimeUnit.SECONDS).replayed()).isFalse();
    assertThat(ok2.get(10, TimeUnit.SECONDS).replayed()).isFalse();
    assertThatThrownBy(() -> bad.get(10, TimeUnit.SECONDS))
        .cause()
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("malformed envelope");
    assertThatThrownBy(() -> conflict.get(10, TimeUnit.SECONDS))
        .cause()
        .isInstanceOfSatisfying(
            StoreException.class,
            e -> assertThat(e.code()).isEqualTo(StoreException.Code.CONFLICT));
    assertThat(gate.groupSizes).containsExactly(1, 2);
    assertThat(store.getSend("s-broken")).isEmpty();
    for (int i = 0; i < 3; i++) {
      assertThat(store.hasDelivery("s-broken", fp("b" + i))).isFalse();
    }
    assertThat(store.getSend("s-1").orElseThrow().deliveryCount()).isEqualTo(1);
    assertThat(store.getSend("s-2")).isPresent();
  }

  @Test
  void aFullDiskMidGroupFailsTheWritesThatRanAndRetriesTheRest() throws Exception {
    Gate gate = new Gate(GroupCommitWriter.CommitHook.NONE);
    store =
        SqliteArtefactStore.open(
            dir.resolve("keycast.db"),
            SqliteArtefactStore.Options.defaults().withMaxPageCount(200),
            gate);
    Future<SendCommit> blocker = submit(smallSend("s-0"));
    assertThat(gate.entered.await(10, TimeUnit.SECONDS)).isTrue();
    Future<SendCommit> a = submit(smallSend("s-a"));
    awaitQueued(1);
    Future<SendCommit> big =
        submit(send(meta("s-big", "payload big", true, null), generated("s-big", 20_000)));
    awaitQueued(2);
    Future<SendCommit> c = submit(smallSend("s-c"));
    awaitQueued(3);
    gate.release.countDown();

    assertThat(blocker.get(10, TimeUnit.SECONDS).replayed()).isFalse();
    for (Future<SendCommit> f : List.of(a, big)) {
      assertThatThrownBy(() -> f.get(30, TimeUnit.SECONDS))
          .cause()
          .isInstanceOfSatisfying(
              StoreException.class,
              e -> assertThat(e.code()).isEqualTo(StoreException.Code.STORE_FULL));
    }
    // s-c had not run when the transaction was abandoned: it went into the next group
    assertThat(c.get(30, TimeUnit.SECONDS).replayed()).isFalse();
    assertThat(store.getSend("s-a")).isEmpty();
    assertThat(store.getSend("s-big")).isEmpty();
    assertThat(store.listDeliveries(fp("g0"), null, 10)).isEmpty();
    assertThat(store.getSend("s-c")).isPresent();
  }

  @Test
  void closingFailsQueuedWritesInsteadOfLosingThem() throws Exception {
    Gate gate = new Gate(GroupCommitWriter.CommitHook.NONE);
    open(gate);
    Future<SendCommit> running = submit(smallSend("s-0"));
    assertThat(gate.entered.await(10, TimeUnit.SECONDS)).isTrue();
    Future<SendCommit> queued = submit(smallSend("s-1"));
    awaitQueued(1);
    Future<?> closing =
        pool.submit(
            () -> {
              store.close();
              return null;
            });
    awaitQueued(2); // close() queued its stop behind s-1
    gate.release.countDown();
    closing.get(10, TimeUnit.SECONDS);
    // the group that was running completes; the queued write fails, it is not left hanging
    assertThat(running.get(10, TimeUnit.SECONDS).replayed()).isFalse();
    assertThatThrownBy(() -> queued.get(10, TimeUnit.SECONDS))
        .cause()
        .isInstanceOfSatisfying(
            StoreException.class,
            e -> assertThat(e.code()).isEqualTo(StoreException.Code.STORE_UNAVAILABLE));
    assertThatThrownBy(() -> store.commitSend(smallSend("s-2"))).isInstanceOf(StoreException.class);
    store = SqliteArtefactStore.open(dir.resolve("keycast.db"));
    assertThat(store.getSend("s-0")).isPresent();
    assertThat(store.getSend("s-1")).isEmpty();
  }
}
