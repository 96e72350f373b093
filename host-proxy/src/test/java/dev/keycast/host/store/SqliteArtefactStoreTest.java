package dev.keycast.host.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SqliteArtefactStoreTest extends ArtefactStoreContract {

  @TempDir Path dir;

  @Test
  void connectionsDoNotFetchGeneratedKeysAfterEveryInsert() throws Exception {
    // The driver's default is on (an extra "SELECT last_insert_rowid()" per INSERT): pin that the
    // property this store sets exists and is what turns it off.
    try (Connection plain = DriverManager.getConnection("jdbc:sqlite:" + dir.resolve("plain.db"))) {
      assertThat(
              plain
                  .unwrap(org.sqlite.SQLiteConnection.class)
                  .getConnectionConfig()
                  .isGetGeneratedKeys())
          .isTrue();
    }
    for (boolean readOnly : new boolean[] {false, true}) {
      try (Connection c =
          SqliteConnections.connect(
              dir.resolve("keys.db"), SqliteArtefactStore.Options.defaults(), readOnly)) {
        assertThat(
                c.unwrap(org.sqlite.SQLiteConnection.class)
                    .getConnectionConfig()
                    .isGetGeneratedKeys())
            .as("generated keys on a %s connection", readOnly ? "reader" : "writer")
            .isFalse();
      }
    }
  }

  Path file() {
    return dir.resolve("keycast.db");
  }

  @Override
  protected ArtefactStore openFresh() throws Exception {
    return SqliteArtefactStore.open(file());
  }

  @Override
  protected ArtefactStore reopen(ArtefactStore current) throws Exception {
    current.close();
    return SqliteArtefactStore.open(file());
  }

  @Test
  void hundredThousandDeliveriesInOneSend() throws Exception {
    assertLargeSend(100_000);
  }

  @Test
  void committedSendsReachTheDatabaseFileWithoutTheWriterCheckpointing() throws Exception {
    SqliteArtefactStore sqlite = (SqliteArtefactStore) store;
    // the writer never checkpoints inside a COMMIT: the background checkpointer does
    assertThat(sqlite.writerPragma("wal_autocheckpoint")).isEqualTo("0");
    long before = sqlite.completedCheckpoints();
    store.commitSend(
        send(meta("send-ckpt", "payload-ckpt", false, null), generated("send-ckpt", 2_000)));
    // soon the database file alone (copied without the WAL beside it) holds the acknowledged send
    // (the checkpointer counts a checkpoint after it returns, so the file may hold the pages first)
    org.awaitility.Awaitility.await()
        .atMost(java.time.Duration.ofSeconds(20))
        .pollInterval(java.time.Duration.ofMillis(20))
        .until(
            () ->
                checkpointedDeliveriesOfSendCkpt() == 2_000
                    && sqlite.completedCheckpoints() > before);
    assertThat(checkpointedDeliveriesOfSendCkpt()).isEqualTo(2_000);
    assertThat(sqlite.completedCheckpoints()).isGreaterThan(before);
  }

  /** Deliveries of send-ckpt in a copy of the database file alone (-1: not even the schema). */
  private int checkpointedDeliveriesOfSendCkpt() throws Exception {
    int found;
    Path copy = dir.resolve("copy.db");
    java.nio.file.Files.copy(file(), copy, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + copy);
        Statement s = c.createStatement();
        ResultSet rs =
            s.executeQuery("SELECT count(*) FROM deliveries WHERE send_id = 'send-ckpt'")) {
      rs.next();
      found = rs.getInt(1);
    } catch (java.sql.SQLException e) {
      found = -1; // not even the schema is in the file yet
    }
    java.nio.file.Files.deleteIfExists(dir.resolve("copy.db-wal"));
    java.nio.file.Files.deleteIfExists(dir.resolve("copy.db-shm"));
    return found;
  }

  /** Closes the store and opens the same file with the log restarted past {@code frames}. */
  private SqliteArtefactStore reopenRestartingPast(int frames) throws Exception {
    store.close();
    SqliteArtefactStore sqlite =
        SqliteArtefactStore.open(
            file(),
            SqliteArtefactStore.Options.defaults(),
            GroupCommitWriter.CommitHook.NONE,
            frames);
    store = sqlite;
    return sqlite;
  }

  @Test
  void theLogStartsOverUnderSteadyWritesAndReads() throws Exception {
    // restart past 256 frames (1 MiB of 4 KiB pages) instead of 64 MiB
    SqliteArtefactStore sqlite = reopenRestartingPast(256);
    java.util.concurrent.atomic.AtomicBoolean stop =
        new java.util.concurrent.atomic.AtomicBoolean();
    java.util.concurrent.atomic.AtomicLong reads = new java.util.concurrent.atomic.AtomicLong();
    List<Thread> readers = new ArrayList<>();
    for (int t = 0; t < 2; t++) { // keep readers in the log all the time, as the send path does
      readers.add(
          Thread.ofPlatform()
              .start(
                  () -> {
                    while (!stop.get()) {
                      try {
                        String id = "wal-" + (reads.incrementAndGet() % 500);
                        sqlite.findSend(id, sha256(id));
                      } catch (StoreException e) {
                        throw new IllegalStateException(e);
                      }
                    }
                  }));
    }
    Path wal = dir.resolve("keycast.db-wal");
    long largest = 0;
    try {
      for (int i = 0; i < 1_500; i++) {
        store.commitSend(send(meta("wal-" + i, "wal-" + i, false, null), generated("wal-" + i, 4)));
        largest = Math.max(largest, java.nio.file.Files.size(wal));
      }
    } finally {
      stop.set(true);
      for (Thread t : readers) {
        t.join();
      }
    }
    assertThat(reads.get()).isGreaterThan(100);
    assertThat(sqlite.restartCheckpoints()).isPositive();
    // 1,500 sends write far more than 16 MiB of log frames; restarted, the file stays near 1 MiB
    assertThat(largest).isLessThan(16L << 20);
    assertThat(store.getSend("wal-0")).isPresent();
    assertThat(store.getSend("wal-1499")).isPresent();
  }

  @Test
  void aReaderPinningTheLogHoldsBackTheRestartNotTheWrites() throws Exception {
    // restart past 64 frames; up to 4 x 64 frames the writer does not wait for readers
    SqliteArtefactStore sqlite = reopenRestartingPast(64);
    store.commitSend(send(meta("pin-0", "pin-0", false, null), generated("pin-0", 2)));
    AtomicInteger committed = new AtomicInteger(1);
    try (Connection reader = DriverManager.getConnection("jdbc:sqlite:" + file());
        Statement s = reader.createStatement()) {
      // an open read transaction on the current snapshot: no checkpoint may copy past it, and no
      // RESTART can finish while it lasts
      s.execute("BEGIN");
      try (ResultSet rs = s.executeQuery("SELECT count(*) FROM sends")) {
        assertThat(rs.next()).isTrue();
        assertThat(rs.getInt(1)).isEqualTo(1);
      }
      Path wal = dir.resolve("keycast.db-wal");
      // write until the log is past the threshold and a passive checkpoint has asked for a
      // restart, but not yet 4 x past it (where the writer would wait for this reader); a send
      // a poll, so the checkpointer (every 50 ms) polls in between
      await()
          .atMost(Duration.ofSeconds(10))
          .pollDelay(Duration.ZERO)
          .pollInterval(Duration.ofMillis(5))
          .until(() -> java.nio.file.Files.size(wal) >= 2L * 64 * 4120 || !commitPin(committed));
      assertThat(java.nio.file.Files.size(wal)).isGreaterThanOrEqualTo(2L * 64 * 4120);
      assertThat(sqlite.restartCheckpoints()).isZero();
      s.execute("COMMIT");
    }
    // the reader is gone: a later group's attempt finishes the restart
    await()
        .atMost(Duration.ofSeconds(10))
        .pollDelay(Duration.ZERO)
        .pollInterval(Duration.ofMillis(5))
        .until(() -> sqlite.restartCheckpoints() > 0 || !commitPin(committed));
    assertThat(sqlite.restartCheckpoints()).isPositive();
    for (int i = 0; i < committed.get(); i++) {
      assertThat(store.getSend("pin-" + i)).as("pin-%d", i).isPresent();
    }
  }

  /** Commits the next send "pin-N"; always true (a step of an await condition). */
  private boolean commitPin(AtomicInteger committed) throws StoreException {
    String id = "pin-" + committed.getAndIncrement();
    store.commitSend(send(meta(id, id, false, null), generated(id, 2)));
    return true;
  }

  @Test
  void durabilitySettingsAreInForce() throws Exception {
    try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + file());
        Statement s = c.createStatement()) {
      try (ResultSet rs = s.executeQuery("PRAGMA journal_mode")) {
        rs.next();
        assertThat(rs.getString(1)).isEqualTo("wal"); // persistent in the file
      }
    }
    SqliteArtefactStore sqlite = (SqliteArtefactStore) store;
    assertThat(sqlite.writerPragma("synchronous")).isEqualTo("2"); // FULL
    assertThat(sqlite.writerPragma("foreign_keys")).isEqualTo("1");
    assertThat(sqlite.writerPragma("busy_timeout")).isEqualTo("10000");
    assertThat(sqlite.writerPragma("cache_size"))
        .isEqualTo(Integer.toString(-SqliteConnections.WRITER_CACHE_KIB));
    assertThat(sqlite.writerPragma("cache_spill"))
        .isEqualTo(Integer.toString(SqliteConnections.WRITER_SPILL_PAGES));
    assertThat(sqlite.schemaVersion()).isEqualTo(SqliteSchema.SCHEMA_VERSION);
  }

  @Test
  void listDeliveriesIsAnIndexRangeScan() throws Exception {
    List<String> plan = plan(SqliteSendTables.SQL_LIST_DELIVERIES, fp("a"), "", 10);
    assertThat(plan)
        .anySatisfy(
            line ->
                assertThat(line)
                    .contains(
                        "SEARCH d USING INDEX deliveries_by_recipient (recipient_fp=? AND delivery_id>?)"));
    assertThat(plan).noneMatch(line -> line.contains("SCAN"));
    assertThat(plan).noneMatch(line -> line.contains("TEMP B-TREE")); // no sort: index order

    List<String> open = plan(SqliteSendTables.SQL_OPEN_SENDS, "", 0L, 10);
    assertThat(open).anySatisfy(line -> assertThat(line).contains("sends_open_late"));
    assertThat(open).noneMatch(line -> line.contains("TEMP B-TREE"));
  }

  List<String> plan(String sql, Object... args) throws Exception {
    List<String> out = new ArrayList<>();
    try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + file());
        PreparedStatement ps = c.prepareStatement("EXPLAIN QUERY PLAN " + sql)) {
      for (int i = 0; i < args.length; i++) {
        ps.setObject(i + 1, args[i]);
      }
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          out.add(rs.getString("detail"));
        }
      }
    }
    System.out.println("plan: " + out);
    return out;
  }

  @Test
  void fullDiskFailsTheCommitCleanlyAndReadsKeepWorking() throws Exception {
    store.close();
    store =
        SqliteArtefactStore.open(
            file(),
            SqliteArtefactStore.Options.defaults().withMaxPageCount(64)); // 64 pages of 4 KiB
    store.commitSend(send("small", "p-small", List.of(delivery("small", "a", 1))));

    StoreException.Code c =
        code(
            () ->
                store.commitSend(
                    send(meta("huge", "p-huge", true, null), generated("huge", 5_000))));
    assertThat(c).isEqualTo(StoreException.Code.STORE_FULL);
    assertNothingOf("huge", "p-huge", List.of("g0", "g1", "g4999"));
    try (Connection conn = DriverManager.getConnection("jdbc:sqlite:" + file());
        Statement s = conn.createStatement();
        ResultSet rs = s.executeQuery("SELECT count(*) FROM deliveries")) {
      rs.next();
      assertThat(rs.getInt(1)).isEqualTo(1); // not one row of the failed send
    }

    // reads still work, and small writes too
    assertThat(store.getSend("small")).isPresent();
    assertThat(store.listDeliveries(fp("a"), null, 10)).hasSize(1);
    store.putRecipient(recipient("after-full"));
    assertThat(store.countRecipients()).isEqualTo(1);
  }

  @Test
  void newerSchemaIsRefused() throws Exception {
    store.close();
    try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + file());
        Statement s = c.createStatement()) {
      s.execute("INSERT INTO schema_version VALUES (99, 0)");
    }
    assertThat(code(() -> SqliteArtefactStore.open(file())))
        .isEqualTo(StoreException.Code.STORE_UNAVAILABLE);
    store = null;
  }
}
