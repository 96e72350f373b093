package dev.keycast.host.store;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Types;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Iterator;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Properties;
import java.util.TreeSet;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.atomic.AtomicLong;

/**
 * {@link ArtefactStore} in one SQLite database file: WAL journal, {@code synchronous=FULL} (a
 * returned commit survives power loss), a single writer connection owned by one writer thread,
 * and a small pool of read-only connections.
 *
 * <p><b>Group commit.</b> Every write (a send, a forward, a recipient, a key set) is a job handed to
 * the writer thread; the calling thread waits for it. The writer takes every job waiting (at most
 * {@value #MAX_GROUP}) into one transaction ({@code BEGIN IMMEDIATE}), runs each inside its own
 * {@code SAVEPOINT}, and then issues one {@code COMMIT}, so concurrent requests share one WAL
 * sync. A write method returns only after the {@code COMMIT} of its group returned, so nothing
 * is acknowledged before it is durable. A job that fails (a constraint, a conflict, an enclave
 * answer that does not parse while its deliveries are written) is rolled back to its savepoint
 * and fails alone. An error after which SQLite may have abandoned the transaction (full disk,
 * I/O error, ...) and a failing {@code COMMIT} fail every job of the group that had run, with
 * that error: the group is rolled back as a whole and nothing of it is stored. Jobs of the group
 * that had not run yet are carried over to the next transaction.
 *
 * <p>Large sends are inserted in batches of {@value #BATCH} prepared-statement rows inside the one
 * transaction, so a send of 100,000 deliveries costs one WAL sync at commit, not one per delivery.
 */
public final class SqliteArtefactStore implements ArtefactStore {

  /** Deliveries per JDBC batch. */
  static final int BATCH = 500;

  /** Most write jobs committed in one transaction. */
  static final int MAX_GROUP = 512;

  /** The schema version this code writes; see {@link #MIGRATIONS}. */
  static final int SCHEMA_VERSION = 3;

  /**
   * Migration {@code i} brings the schema from version {@code i} to {@code i + 1}.
   *
   * <p>Version 2 writes fewer random index leaves per send (each one a 4 KiB WAL frame at commit
   * and again at checkpoint): a send's own receipt (whose id is the send id, api.md 1.1 step 8)
   * lives in its {@code sends} row ({@code receipt}, {@code receipt_at}) instead of a
   * {@code receipts} row with two index entries, so {@code receipts} holds forward receipts (and
   * the send receipts of version 1, which stay where they are); and {@code deliveries} loses the
   * unique index on (send, recipient), which the primary key now provides: a delivery id is
   * derived from (send, recipient) ({@link Checks#derivedDeliveryId}, checked on every insert, and
   * for the rows of version 1 by {@link #checkDerivedDeliveryIds} during the migration). Its
   * {@code receipt_id} can name a receipt kept in {@code sends}, so the table is rebuilt without
   * that foreign key (SQLite cannot drop one in place); the copy runs once, in the migration's
   * transaction.
   *
   * <p>Version 3 drops the unique index on {@code sends.payload_hash}, one more random index leaf
   * per send: a send is found and kept unique by its id, which is a function of the sealed payload
   * ({@link dev.keycast.protocol.SendIds}; the host refuses an enclave answer that names another),
   * and a retry is recognised by the stored payload hash of that id ({@link #findSend},
   * {@link #commitSend}). SQLite cannot drop a column's {@code UNIQUE}, so {@code sends} is copied
   * into a table without it, which replaces it (foreign keys are off for the migration and checked
   * before it commits, see {@link #migrate}).
   */
  private static final List<List<String>> MIGRATIONS = List.of(List.of(
      """
      CREATE TABLE key_sets (
        version    INTEGER PRIMARY KEY CHECK (version >= 1),
        bytes      BLOB    NOT NULL,
        created_at INTEGER NOT NULL)""",
      """
      CREATE TABLE recipients (
        fingerprint   TEXT    PRIMARY KEY CHECK (length(fingerprint) = 64),
        kind          TEXT    NOT NULL CHECK (kind IN ('rsa', 'x25519')),
        public_key    BLOB    NOT NULL,
        labels        TEXT    NOT NULL,
        registered_at INTEGER NOT NULL) WITHOUT ROWID""",
      """
      CREATE TABLE sends (
        send_id        TEXT    PRIMARY KEY,
        payload_hash   BLOB    NOT NULL UNIQUE CHECK (length(payload_hash) = 32),
        policy         BLOB    NOT NULL,
        late_allowed   INTEGER NOT NULL CHECK (late_allowed IN (0, 1)),
        not_before     INTEGER,
        not_after      INTEGER,
        sealed_secret  BLOB    NOT NULL,
        receipt_id     TEXT    NOT NULL,
        delivery_count INTEGER NOT NULL,
        created_at     INTEGER NOT NULL)""",
      "CREATE INDEX sends_open_late ON sends (send_id) WHERE late_allowed = 1",
      """
      CREATE TABLE receipts (
        receipt_id TEXT    PRIMARY KEY,
        send_id    TEXT    NOT NULL REFERENCES sends (send_id),
        bytes      BLOB    NOT NULL,
        created_at INTEGER NOT NULL)""",
      "CREATE INDEX receipts_by_send ON receipts (send_id, receipt_id)",
      """
      CREATE TABLE deliveries (
        delivery_id  TEXT PRIMARY KEY,
        send_id      TEXT NOT NULL REFERENCES sends (send_id),
        receipt_id   TEXT NOT NULL REFERENCES receipts (receipt_id),
        recipient_fp TEXT NOT NULL,
        format_id    TEXT NOT NULL,
        envelope     BLOB NOT NULL)""",
      "CREATE UNIQUE INDEX deliveries_by_send_recipient ON deliveries (send_id, recipient_fp)",
      "CREATE INDEX deliveries_by_recipient ON deliveries (recipient_fp, delivery_id)"),
      // v1 -> v2
      List.of(
      "ALTER TABLE sends ADD COLUMN receipt BLOB",
      "ALTER TABLE sends ADD COLUMN receipt_at INTEGER",
      """
      CREATE TABLE deliveries_v2 (
        delivery_id  TEXT PRIMARY KEY,
        send_id      TEXT NOT NULL REFERENCES sends (send_id),
        receipt_id   TEXT NOT NULL,
        recipient_fp TEXT NOT NULL,
        format_id    TEXT NOT NULL,
        envelope     BLOB NOT NULL)""",
      """
      INSERT INTO deliveries_v2 (delivery_id, send_id, receipt_id, recipient_fp, format_id,
        envelope)
      SELECT delivery_id, send_id, receipt_id, recipient_fp, format_id, envelope
      FROM deliveries ORDER BY rowid""",
      "DROP TABLE deliveries",
      "ALTER TABLE deliveries_v2 RENAME TO deliveries",
      "CREATE INDEX deliveries_by_recipient ON deliveries (recipient_fp, delivery_id)"),
      // v2 -> v3
      List.of(
      """
      CREATE TABLE sends_v3 (
        send_id        TEXT    PRIMARY KEY,
        payload_hash   BLOB    NOT NULL CHECK (length(payload_hash) = 32),
        policy         BLOB    NOT NULL,
        late_allowed   INTEGER NOT NULL CHECK (late_allowed IN (0, 1)),
        not_before     INTEGER,
        not_after      INTEGER,
        sealed_secret  BLOB    NOT NULL,
        receipt_id     TEXT    NOT NULL,
        delivery_count INTEGER NOT NULL,
        created_at     INTEGER NOT NULL,
        receipt        BLOB,
        receipt_at     INTEGER)""",
      """
      INSERT INTO sends_v3 (send_id, payload_hash, policy, late_allowed, not_before, not_after,
        sealed_secret, receipt_id, delivery_count, created_at, receipt, receipt_at)
      SELECT send_id, payload_hash, policy, late_allowed, not_before, not_after, sealed_secret,
        receipt_id, delivery_count, created_at, receipt, receipt_at
      FROM sends ORDER BY rowid""",
      "DROP TABLE sends",
      "ALTER TABLE sends_v3 RENAME TO sends",
      "CREATE INDEX sends_open_late ON sends (send_id) WHERE late_allowed = 1"));

  /** The statements of migration {@code from} -> {@code from + 1} (tests build old databases). */
  static List<String> migration(int from) {
    return MIGRATIONS.get(from);
  }

  static final String SQL_LIST_DELIVERIES =
      "SELECT d.delivery_id, d.send_id, d.receipt_id, d.recipient_fp, d.format_id, d.envelope"
          + " FROM deliveries d WHERE d.recipient_fp = ? AND d.delivery_id > ?"
          + " ORDER BY d.delivery_id LIMIT ?";
  static final String SQL_OPEN_SENDS =
      "SELECT " + sendColumns() + " FROM sends WHERE late_allowed = 1 AND send_id > ?"
          + " AND (not_after IS NULL OR not_after > ?) ORDER BY send_id LIMIT ?";

  /** Tunables. */
  public record Options(int readConnections, long busyTimeoutMillis, long maxPageCount) {
    public Options {
      if (readConnections < 1 || readConnections > 64) {
        throw new IllegalArgumentException("readConnections must be 1..64");
      }
      if (busyTimeoutMillis < 0 || maxPageCount < 0) {
        throw new IllegalArgumentException("negative option");
      }
    }

    /** 4 readers, 10 s busy timeout, no size limit. */
    public static Options defaults() {
      return new Options(4, 10_000, 0);
    }

    /**
     * Caps the database at {@code maxPageCount} pages ({@code PRAGMA max_page_count}; 0 = no cap).
     * A write that would grow past it fails with {@code store_full} and leaves nothing behind.
     */
    public Options withMaxPageCount(long pages) {
      return new Options(readConnections, busyTimeoutMillis, pages);
    }
  }

  /**
   * Called by the writer thread just before each group's {@code COMMIT} (tests inject failures and
   * pauses here).
   */
  @FunctionalInterface
  interface CommitHook {
    /** No hook. */
    CommitHook NONE = jobs -> { };

    /** Runs before the {@code COMMIT} of a group of {@code jobs} write jobs; may throw. */
    void beforeCommit(int jobs) throws SQLException;
  }

  private final Path file;
  private final long busyTimeoutMillis;
  private final ObjectMapper json = new ObjectMapper();
  private final Connection writer;
  private final BlockingQueue<Connection> readers;
  private final List<Connection> allReaders = new ArrayList<>();
  private final LinkedBlockingQueue<WriteJob<?>> jobs = new LinkedBlockingQueue<>();
  private final CommitHook hook;
  private final AtomicLong groups = new AtomicLong();
  private final AtomicLong committedJobs = new AtomicLong();
  private final java.util.Map<String, PreparedStatement> writerStatements = new java.util.HashMap<>();
  /**
   * Prepared statements of each read connection, compiled on first use and kept: a small send
   * reads twice (the replay check and its recipient), and compiling the SQL each time cost about
   * as much as running it. Only the thread that took the connection from {@link #readers} touches
   * its map (the queue hands both over). Filled in {@link #open} before the store is shared.
   */
  private final java.util.Map<Connection, java.util.Map<String, PreparedStatement>> readerStatements =
      new java.util.IdentityHashMap<>();
  private final java.util.Map<String, PreparedStatement> writerControl = new java.util.HashMap<>();
  private volatile Thread writerThread;
  private volatile WalCheckpointer checkpointer;
  private volatile boolean closed;

  private SqliteArtefactStore(Path file, Connection writer, int readerCount, CommitHook hook,
      long busyTimeoutMillis) {
    this.busyTimeoutMillis = busyTimeoutMillis;
    this.file = file;
    this.writer = writer;
    this.readers = new ArrayBlockingQueue<>(readerCount);
    this.hook = hook;
  }

  /** Opens (creating if needed) and migrates the database at {@code file}. */
  public static SqliteArtefactStore open(Path file) throws StoreException {
    return open(file, Options.defaults());
  }

  /** Opens (creating if needed) and migrates the database at {@code file}. */
  public static SqliteArtefactStore open(Path file, Options options) throws StoreException {
    return open(file, options, CommitHook.NONE);
  }

  /** {@link #open(Path, Options)} with a hook run before every group commit (tests). */
  static SqliteArtefactStore open(Path file, Options options, CommitHook hook)
      throws StoreException {
    return open(file, options, hook, WalCheckpointer.RESTART_FRAMES);
  }

  /** {@link #open(Path, Options, CommitHook)} with the log restarted past {@code restartFrames}. */
  static SqliteArtefactStore open(Path file, Options options, CommitHook hook, int restartFrames)
      throws StoreException {
    Objects.requireNonNull(file, "file");
    Objects.requireNonNull(options, "options");
    Objects.requireNonNull(hook, "hook");
    Connection writer = null;
    SqliteArtefactStore store = null;
    try {
      writer = connect(file, options, false);
      store = new SqliteArtefactStore(file, writer, options.readConnections(), hook,
          options.busyTimeoutMillis());
      store.migrate();
      for (int i = 0; i < options.readConnections(); i++) {
        Connection r = connect(file, options, true);
        store.allReaders.add(r);
        store.readerStatements.put(r, new java.util.HashMap<>());
        store.readers.add(r);
      }
      store.checkpointer = new WalCheckpointer(file, connect(file, options, false), restartFrames);
      store.checkpointer.start();
      SqliteArtefactStore s = store;
      store.writerThread = Thread.ofPlatform().daemon().name("keycast-sqlite-writer")
          .start(s::writerLoop);
      return store;
    } catch (SQLException e) {
      closeQuietly(store, writer);
      throw map(e, "open " + file.getFileName());
    } catch (StoreException | RuntimeException e) {
      closeQuietly(store, writer);
      throw e;
    }
  }

  private static void closeQuietly(SqliteArtefactStore store, Connection writer) {
    try {
      if (store != null) {
        store.close();
      } else if (writer != null) {
        writer.close();
      }
    } catch (SQLException | StoreException ignored) {
      // already failing
    }
  }

  /** sqlite-jdbc's connection property that turns {@code getGeneratedKeys} support on or off. */
  static final String GENERATED_KEYS_PROPERTY = "jdbc.get_generated_keys";

  /** The writer connection's page cache, in KiB (readers keep 16 MiB each). */
  static final int WRITER_CACHE_KIB = 4 * 1024;
  /** Dirty pages a writer transaction keeps before spilling to the log (64 MiB of 4 KiB pages). */
  static final int WRITER_SPILL_PAGES = 16 * 1024;

  static Connection connect(Path file, Options options, boolean readOnly)
      throws SQLException {
    Properties p = new Properties();
    p.setProperty("journal_mode", "WAL");
    p.setProperty("synchronous", "FULL");
    p.setProperty("foreign_keys", "true");
    p.setProperty("busy_timeout", Long.toString(options.busyTimeoutMillis()));
    // No generated keys: the store never asks for them, and with them on the driver runs a regex
    // over every statement's SQL and, after each INSERT, compiles and runs a second statement
    // ("SELECT last_insert_rowid()"): three extra statements per small send on the writer thread.
    p.setProperty(GENERATED_KEYS_PROPERTY, "false");
    Connection c = DriverManager.getConnection("jdbc:sqlite:" + file.toAbsolutePath(), p);
    try (Statement s = c.createStatement()) {
      // Set explicitly too: the driver's properties are applied at open, these are authoritative.
      s.execute("PRAGMA busy_timeout = " + options.busyTimeoutMillis());
      s.execute("PRAGMA journal_mode = WAL");
      s.execute("PRAGMA synchronous = FULL");
      s.execute("PRAGMA foreign_keys = ON");
      // The writer reads pages through a memory map (no pread per page) and keeps a small page
      // cache: at the end of a transaction with a b-tree page split SQLite walks its whole page
      // cache hash table (pcache1TruncateUnsafe: the split rekeys a page through the lock-byte
      // page number, performance.md section 3), so with 64 MiB the walk was a quarter of the
      // writer's CPU time in a small-send load. The keys (ids, payload hashes, fingerprints) are
      // random, so a big cache bought few hits anyway. cache_spill keeps a big send's dirty pages
      // in memory up to 64 MiB (as the old cache size did) before spilling them to the log
      // mid-transaction.
      s.execute("PRAGMA cache_size = " + (readOnly ? -16 * 1024 : -WRITER_CACHE_KIB));
      if (!readOnly) {
        s.execute("PRAGMA cache_spill = " + WRITER_SPILL_PAGES);
      }
      s.execute("PRAGMA mmap_size = " + (readOnly ? 0 : 256L << 20));
      if (readOnly) {
        s.execute("PRAGMA query_only = 1");
      } else {
        // checkpoints run on their own thread and connection (WalCheckpointer), not inside the
        // COMMIT that crossed the automatic threshold
        s.execute("PRAGMA wal_autocheckpoint = 0");
        if (options.maxPageCount() > 0) {
          s.execute("PRAGMA max_page_count = " + options.maxPageCount());
        }
      }
    } catch (SQLException e) {
      c.close();
      throw e;
    }
    // Transactions are explicit (BEGIN IMMEDIATE ... COMMIT): the driver stays in auto-commit.
    return c;
  }

  /**
   * Applies the missing migrations in one transaction. Foreign keys are not enforced meanwhile
   * (a migration may replace a table others refer to: SQLite's documented procedure for schema
   * changes it cannot make in place); after a migration {@code PRAGMA foreign_key_check} must find
   * nothing before the transaction commits, and enforcement is back on afterwards, whatever
   * happened.
   */
  private void migrate() throws SQLException, StoreException {
    try (Statement off = writer.createStatement()) {
      off.execute("PRAGMA foreign_keys = OFF");
    }
    try {
      migrateInTransaction();
    } finally {
      try (Statement on = writer.createStatement()) {
        on.execute("PRAGMA foreign_keys = ON");
      }
    }
  }

  private void migrateInTransaction() throws SQLException, StoreException {
    try (Statement s = writer.createStatement()) {
      begin();
      s.execute("CREATE TABLE IF NOT EXISTS schema_version ("
          + "version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)");
      int current;
      try (ResultSet rs = s.executeQuery("SELECT coalesce(max(version), 0) FROM schema_version")) {
        current = rs.next() ? rs.getInt(1) : 0;
      }
      if (current > SCHEMA_VERSION) {
        throw new StoreException(StoreException.Code.STORE_UNAVAILABLE, "database schema version "
            + current + " is newer than this code (" + SCHEMA_VERSION + ")");
      }
      for (int v = current; v < SCHEMA_VERSION; v++) {
        if (v == 1) {
          checkDerivedDeliveryIds();
        }
        for (String sql : MIGRATIONS.get(v)) {
          s.execute(sql);
        }
        try (PreparedStatement ps =
            writer.prepareStatement("INSERT INTO schema_version VALUES (?, ?)")) {
          ps.setInt(1, v + 1);
          ps.setLong(2, System.currentTimeMillis());
          ps.executeUpdate();
        }
      }
      // only after a migration: the check reads every referring row
      if (current < SCHEMA_VERSION) {
        try (ResultSet rs = s.executeQuery("PRAGMA foreign_key_check")) {
          if (rs.next()) {
            throw new StoreException(StoreException.Code.STORE_CORRUPT, "cannot migrate to schema"
                + " version " + SCHEMA_VERSION + ": a row of table " + Checks.quote(rs.getString(1))
                + " refers to a missing row of " + Checks.quote(rs.getString(3)));
          }
        }
      }
      commit();
    } catch (SQLException | StoreException e) {
      rollback();
      throw e;
    }
  }

  /**
   * Migration 1 -> 2 drops the unique index on (send, recipient) because the delivery id is derived
   * from them: check that every stored delivery's id is that derivation before relying on it. A
   * database that holds another id (never written by a Keycast enclave) is refused with
   * {@code store_corrupt} and left at version 1.
   */
  private void checkDerivedDeliveryIds() throws SQLException, StoreException {
    try (Statement s = writer.createStatement();
        ResultSet rs = s.executeQuery(
            "SELECT delivery_id, send_id, recipient_fp FROM deliveries ORDER BY rowid")) {
      while (rs.next()) {
        String id = rs.getString(1);
        if (!dev.keycast.protocol.DeliveryIds.matches(id, rs.getString(2), rs.getString(3))) {
          throw new StoreException(StoreException.Code.STORE_CORRUPT, "cannot migrate to schema "
              + "version 2: delivery " + Checks.quote(id) + " of send "
              + Checks.quote(rs.getString(2)) + " does not have the derived delivery id");
        }
      }
    }
  }

  /** The schema version recorded in the database. */
  public int schemaVersion() throws StoreException {
    return read(c -> {
      try (Statement s = c.createStatement();
          ResultSet rs = s.executeQuery("SELECT max(version) FROM schema_version")) {
        return rs.next() ? rs.getInt(1) : 0;
      }
    });
  }

  /** The value of a PRAGMA on the writer connection (for tests and diagnostics). */
  String writerPragma(String name) throws StoreException {
    if (!name.matches("[a-z_]+")) {
      throw new IllegalArgumentException("bad pragma name");
    }
    return write("pragma", c -> {
      try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("PRAGMA " + name)) {
        return rs.next() ? rs.getString(1) : null;
      }
    });
  }

  /** Background checkpoints that copied every committed frame (tests and diagnostics). */
  long completedCheckpoints() {
    WalCheckpointer cp = checkpointer;
    return cp == null ? 0 : cp.completedCheckpoints();
  }

  /** {@code RESTART} checkpoints run by the writer thread (tests and diagnostics). */
  long restartCheckpoints() {
    WalCheckpointer cp = checkpointer;
    return cp == null ? 0 : cp.restartCheckpoints();
  }

  /** The database file. */
  public Path file() {
    return file;
  }

  // ------------------------------------------------------------------ plumbing

  @FunctionalInterface
  private interface SqlWork<T> {
    T run(Connection c) throws SQLException, StoreException;
  }

  private <T> T read(SqlWork<T> work) throws StoreException {
    ensureOpen();
    Connection c;
    try {
      c = readers.poll(30, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new StoreException(StoreException.Code.STORE_UNAVAILABLE, "interrupted", e);
    }
    if (c == null) {
      throw new StoreException(StoreException.Code.STORE_UNAVAILABLE, "no read connection free");
    }
    try {
      return work.run(c);
    } catch (SQLException e) {
      // a failed statement may be left mid-step: compile this connection's statements afresh
      closeStatements(readerStatements.get(c));
      throw map(e, "read");
    } finally {
      readers.add(c);
    }
  }

  /**
   * A cached prepared statement of {@code c} (a read connection held by the calling thread, or the
   * writer connection on the writer thread). The caller must not close it, and must close every
   * {@link ResultSet} it opens on it (closing resets the statement, which ends its read
   * transaction: a statement left mid-step would pin its WAL snapshot and hold back checkpoints).
   */
  private PreparedStatement statement(Connection c, String sql) throws SQLException {
    if (c == writer) {
      return writerStatement(sql);
    }
    java.util.Map<String, PreparedStatement> cache = readerStatements.get(c);
    if (cache == null) {
      throw new IllegalStateException("not a connection of this store");
    }
    PreparedStatement ps = cache.get(sql);
    if (ps == null) {
      ps = c.prepareStatement(sql);
      cache.put(sql, ps);
    }
    return ps;
  }

  private static void closeStatements(java.util.Map<String, PreparedStatement> cache) {
    if (cache == null) {
      return;
    }
    for (PreparedStatement ps : cache.values()) {
      try {
        ps.close();
      } catch (SQLException ignored) {
        // the connection's close finalizes it too
      }
    }
    cache.clear();
  }

  /**
   * Runs {@code work} on the writer thread inside the next group transaction and returns its result
   * once that transaction is committed (durable); throws its failure, or the group's, otherwise.
   */
  private <T> T write(String what, SqlWork<T> work) throws StoreException {
    ensureOpen();
    WriteJob<T> job = new WriteJob<>(what, work);
    jobs.add(job);
    if (closed) {
      failQueued();
    }
    return job.await();
  }

  /** Groups committed so far (diagnostics and tests). */
  long groupCommits() {
    return groups.get();
  }

  /** Write jobs committed so far (diagnostics and tests). */
  long committedWrites() {
    return committedJobs.get();
  }

  /** Write jobs waiting for the writer thread (tests). */
  int queuedWrites() {
    return jobs.size();
  }

  /** One write waiting for its group's commit. */
  private static final class WriteJob<T> {
    final String what;
    final SqlWork<T> work;
    private final CountDownLatch done = new CountDownLatch(1);
    private T result;
    private Throwable failure;

    WriteJob(String what, SqlWork<T> work) {
      this.what = what;
      this.work = work;
    }

    /** Runs the work on the writer connection; the result is kept until {@link #succeed}. */
    void run(Connection c) throws SQLException, StoreException {
      result = work.run(c);
    }

    void succeed() {
      done.countDown();
    }

    void fail(Throwable t) {
      result = null;
      failure = t;
      done.countDown();
    }

    T await() throws StoreException {
      boolean interrupted = false;
      // the job may already be part of a transaction: wait for its outcome even when interrupted
      while (true) {
        try {
          done.await();
          break;
        } catch (InterruptedException e) {
          interrupted = true;
        }
      }
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
      return switch (failure) {
        case null -> result;
        case StoreException e -> throw e;
        case RuntimeException e -> throw e;
        case Error e -> throw e;
        default -> throw new StoreException(StoreException.Code.STORE_UNAVAILABLE,
            what + " failed", failure);
      };
    }
  }

  /** Queued by {@link #close()} to wake the writer thread; never run. */
  private static final WriteJob<Void> STOP = new WriteJob<>("stop", c -> null);

  private void writerLoop() {
    List<WriteJob<?>> group = new ArrayList<>();
    while (true) {
      try {
        if (group.isEmpty()) {
          group.add(jobs.take());
        }
        jobs.drainTo(group, MAX_GROUP - group.size());
        if (closed || group.remove(STOP)) {
          // after close(): fail what is queued rather than leave its callers waiting
          group.forEach(j -> j.fail(closedError()));
          failQueued();
          return;
        }
        group = runGroup(group);
        WalCheckpointer cp = checkpointer;
        if (cp != null && group.isEmpty()) {
          cp.restartIfDue(writer, busyTimeoutMillis); // between transactions: see WalCheckpointer
        }
      } catch (Throwable t) {
        // never die: fail what was taken and go on
        for (WriteJob<?> j : group) {
          j.fail(t);
        }
        group = new ArrayList<>();
        rollback();
      }
    }
  }

  private static StoreException closedError() {
    return new StoreException(StoreException.Code.STORE_UNAVAILABLE, "store is closed");
  }

  private void failQueued() {
    for (WriteJob<?> j; (j = jobs.poll()) != null; ) {
      if (j != STOP) {
        j.fail(closedError());
      }
    }
  }

  /**
   * Runs one group in one transaction. Returns the jobs that did not run because the transaction
   * had to be abandoned before their turn (they go into the next group).
   */
  private List<WriteJob<?>> runGroup(List<WriteJob<?>> group) {
    try {
      begin();
    } catch (SQLException e) {
      for (WriteJob<?> j : group) {
        j.fail(map(e, j.what));
      }
      return new ArrayList<>();
    }
    List<WriteJob<?>> ran = new ArrayList<>(group.size());
    for (int i = 0; i < group.size(); i++) {
      WriteJob<?> job = group.get(i);
      Throwable failure = null;
      boolean fatal = false;
      try {
        exec("SAVEPOINT job");
        job.run(writer);
        exec("RELEASE job");
        ran.add(job);
        continue;
      } catch (SQLException e) {
        failure = map(e, job.what);
        // a constraint violation undoes only its statement; anything else may have ended the
        // transaction (SQLITE_FULL, I/O errors, ...)
        fatal = (e.getErrorCode() & 0xff) != 19;
      } catch (Throwable t) {
        failure = t;
      }
      if (!fatal && !rollbackToSavepoint()) {
        fatal = true;
      }
      if (!fatal) {
        job.fail(failure);
        continue;
      }
      // abandon the whole transaction: the jobs that ran with it are lost and fail with this
      // error; the jobs after this one have not run and are retried in the next group
      rollback();
      job.fail(failure);
      for (WriteJob<?> r : ran) {
        r.fail(failure instanceof StoreException se
            ? new StoreException(se.code(), r.what + " failed with its group: " + se.getMessage(), se)
            : failure);
      }
      return new ArrayList<>(group.subList(i + 1, group.size()));
    }
    if (ran.isEmpty()) {
      rollback();
      return new ArrayList<>();
    }
    try {
      hook.beforeCommit(ran.size());
      commit();
    } catch (SQLException | RuntimeException e) {
      rollback();
      for (WriteJob<?> j : ran) {
        j.fail(e instanceof SQLException se ? map(se, j.what) : e);
      }
      return new ArrayList<>();
    }
    groups.incrementAndGet();
    committedJobs.addAndGet(ran.size());
    WalCheckpointer cp = checkpointer;
    if (cp != null) {
      cp.noteCommit();
    }
    for (WriteJob<?> j : ran) {
      j.succeed();
    }
    return new ArrayList<>();
  }

  private boolean rollbackToSavepoint() {
    try {
      exec("ROLLBACK TO job");
      exec("RELEASE job");
      return true;
    } catch (SQLException e) {
      return false;
    }
  }

  /**
   * Runs one transaction-control statement on the writer connection (BEGIN, SAVEPOINT, RELEASE,
   * COMMIT, ROLLBACK), compiled once and kept: a small send runs four of them (two per job and
   * its share of its group's two), and {@code Statement.execute(String)} compiled and finalized
   * each one every time. Used by the opening thread during migration and then by the writer
   * thread only ({@link Thread#start} hands the map over).
   */
  private void exec(String sql) throws SQLException {
    PreparedStatement ps = writerControl.get(sql);
    if (ps == null) {
      ps = writer.prepareStatement(sql);
      writerControl.put(sql, ps);
    }
    ps.execute();
  }

  private void rollback() {
    try {
      exec("ROLLBACK");
    } catch (SQLException ignored) {
      // SQLite may already have rolled back by itself (SQLITE_FULL, I/O error): nothing of the
      // transaction is committed either way
    }
  }

  private void begin() throws SQLException {
    exec("BEGIN IMMEDIATE");
  }

  private void commit() throws SQLException {
    exec("COMMIT");
  }

  private void ensureOpen() throws StoreException {
    if (closed) {
      throw new StoreException(StoreException.Code.STORE_UNAVAILABLE, "store is closed");
    }
  }

  /** Maps SQLite result codes (primary code = low byte of the extended code) to stable codes. */
  static StoreException map(SQLException e, String what) {
    int primary = e.getErrorCode() & 0xff;
    StoreException.Code code = switch (primary) {
      case 13 -> StoreException.Code.STORE_FULL; // SQLITE_FULL
      case 19 -> StoreException.Code.CONFLICT; // SQLITE_CONSTRAINT
      case 11, 26 -> StoreException.Code.STORE_CORRUPT; // SQLITE_CORRUPT, SQLITE_NOTADB
      default -> StoreException.Code.STORE_UNAVAILABLE; // IOERR, BUSY, LOCKED, CANTOPEN, ...
    };
    return new StoreException(code, what + " failed (sqlite code " + e.getErrorCode() + ")", e);
  }

  @Override
  public void close() throws StoreException {
    if (closed) {
      return;
    }
    closed = true;
    SQLException first = null;
    Thread w = writerThread;
    if (w != null) {
      // the writer finishes the group it is running, then fails what is still queued
      jobs.add(STOP);
      boolean interrupted = false;
      while (w.isAlive()) {
        try {
          w.join();
        } catch (InterruptedException e) {
          interrupted = true;
        }
      }
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
    }
    failQueued();
    WalCheckpointer cp = checkpointer;
    if (cp != null) {
      try {
        cp.close();
      } catch (SQLException e) {
        first = e;
      }
    }
    closeStatements(writerControl);
    for (PreparedStatement ps : writerStatements.values()) {
      try {
        ps.close();
      } catch (SQLException ignored) {
        // closing the connection below closes it too
      }
    }
    for (Connection c : allReaders) {
      closeStatements(readerStatements.get(c));
      try {
        c.close();
      } catch (SQLException e) {
        first = first == null ? e : first;
      }
    }
    try {
      writer.close();
    } catch (SQLException e) {
      first = first == null ? e : first;
    }
    if (first != null) {
      throw map(first, "close");
    }
  }

  // ------------------------------------------------------------------ key sets

  @Override
  public void putSealedKeySet(int version, byte[] bytes) throws StoreException {
    StoredKeySet k = new StoredKeySet(version, bytes);
    write("put key set", c -> {
      try (PreparedStatement ps = c.prepareStatement("SELECT 1 FROM key_sets WHERE version = ?")) {
        ps.setInt(1, version);
        try (ResultSet rs = ps.executeQuery()) {
          if (rs.next()) {
            throw new StoreException(StoreException.Code.CONFLICT,
                "sealed key set version " + version + " already exists");
          }
        }
      }
      try (PreparedStatement ps = c.prepareStatement("INSERT INTO key_sets VALUES (?, ?, ?)")) {
        ps.setInt(1, version);
        ps.setBytes(2, k.bytes());
        ps.setLong(3, System.currentTimeMillis());
        ps.executeUpdate();
      }
      return null;
    });
  }

  @Override
  public Optional<StoredKeySet> latestSealedKeySet() throws StoreException {
    return read(c -> {
      try (PreparedStatement ps = c.prepareStatement(
              "SELECT version, bytes FROM key_sets ORDER BY version DESC LIMIT 1");
          ResultSet rs = ps.executeQuery()) {
        return rs.next()
            ? Optional.of(new StoredKeySet(rs.getInt(1), rs.getBytes(2)))
            : Optional.empty();
      }
    });
  }

  // ------------------------------------------------------------------ recipients

  private static final String RECIPIENT_COLUMNS =
      "fingerprint, kind, public_key, labels, registered_at";

  @Override
  public RecipientRecord putRecipient(RecipientRecord r) throws StoreException {
    Objects.requireNonNull(r, "recipient");
    return write("put recipient", c -> {
      try (PreparedStatement ps = c.prepareStatement(
          "INSERT INTO recipients VALUES (?, ?, ?, ?, ?) ON CONFLICT (fingerprint) DO NOTHING")) {
        ps.setString(1, r.fingerprint());
        ps.setString(2, r.kind());
        ps.setBytes(3, r.publicKeyOrChain());
        ps.setString(4, LabelsCodec.encode(json, r.labels()));
        ps.setLong(5, r.registeredAt().toEpochMilli());
        if (ps.executeUpdate() == 1) {
          return r;
        }
      }
      List<RecipientRecord> existing = selectRecipients(c, List.of(r.fingerprint()));
      if (existing.isEmpty()) {
        throw new StoreException(StoreException.Code.STORE_CORRUPT, "recipient vanished");
      }
      return existing.getFirst();
    });
  }

  @Override
  public RecipientRecord replaceRecipient(RecipientRecord r) throws StoreException {
    Objects.requireNonNull(r, "recipient");
    return write("replace recipient", c -> {
      try (PreparedStatement ps = c.prepareStatement(
          "INSERT INTO recipients VALUES (?, ?, ?, ?, ?) ON CONFLICT (fingerprint) DO UPDATE SET"
              + " kind = excluded.kind, public_key = excluded.public_key, labels = excluded.labels,"
              + " registered_at = excluded.registered_at")) {
        ps.setString(1, r.fingerprint());
        ps.setString(2, r.kind());
        ps.setBytes(3, r.publicKeyOrChain());
        ps.setString(4, LabelsCodec.encode(json, r.labels()));
        ps.setLong(5, r.registeredAt().toEpochMilli());
        ps.executeUpdate();
      }
      return r;
    });
  }

  @Override
  public List<RecipientRecord> findRecipients(Collection<String> fingerprints)
      throws StoreException {
    TreeSet<String> fps = new TreeSet<>();
    for (String fp : fingerprints) {
      fps.add(Checks.fingerprint(fp));
    }
    if (fps.size() > MAX_PAGE) {
      throw new IllegalArgumentException("at most " + MAX_PAGE + " fingerprints per lookup");
    }
    if (fps.isEmpty()) {
      return List.of();
    }
    return read(c -> selectRecipients(c, fps));
  }

  private List<RecipientRecord> selectRecipients(Connection c, Collection<String> fps)
      throws SQLException, StoreException {
    if (fps.size() == 1) {
      // the common case (a one-recipient send, a registration): one cached statement
      PreparedStatement ps = statement(c, "SELECT " + RECIPIENT_COLUMNS
          + " FROM recipients WHERE fingerprint = ?");
      ps.setString(1, fps.iterator().next());
      return recipients(ps);
    }
    String marks = String.join(",", java.util.Collections.nCopies(fps.size(), "?"));
    try (PreparedStatement ps = c.prepareStatement("SELECT " + RECIPIENT_COLUMNS
        + " FROM recipients WHERE fingerprint IN (" + marks + ") ORDER BY fingerprint")) {
      int i = 1;
      for (String fp : fps) {
        ps.setString(i++, fp);
      }
      return recipients(ps);
    }
  }

  private List<RecipientRecord> recipients(PreparedStatement ps)
      throws SQLException, StoreException {
    List<RecipientRecord> out = new ArrayList<>();
    try (ResultSet rs = ps.executeQuery()) {
      while (rs.next()) {
        out.add(new RecipientRecord(rs.getString(1), rs.getString(2), rs.getBytes(3),
            LabelsCodec.decode(json, rs.getString(4)), Instant.ofEpochMilli(rs.getLong(5))));
      }
    }
    return out;
  }

  @Override
  public List<RecipientRecord> listRecipients(String afterFingerprint, int limit)
      throws StoreException {
    int n = page(limit);
    return read(c -> {
      try (PreparedStatement ps = c.prepareStatement("SELECT " + RECIPIENT_COLUMNS
          + " FROM recipients WHERE fingerprint > ? ORDER BY fingerprint LIMIT ?")) {
        ps.setString(1, afterFingerprint == null ? "" : afterFingerprint);
        ps.setInt(2, n);
        return recipients(ps);
      }
    });
  }

  @Override
  public long countRecipients() throws StoreException {
    return read(c -> {
      try (Statement s = c.createStatement();
          ResultSet rs = s.executeQuery("SELECT count(*) FROM recipients")) {
        rs.next();
        return rs.getLong(1);
      }
    });
  }

  static int page(int limit) {
    if (limit < 1) {
      throw new IllegalArgumentException("limit must be >= 1: " + limit);
    }
    return Math.min(limit, MAX_PAGE);
  }

  // ------------------------------------------------------------------ sends

  private static String sendColumns() {
    return "send_id, payload_hash, policy, late_allowed, not_before, not_after, sealed_secret,"
        + " receipt_id, delivery_count, created_at";
  }

  private static StoredSend send(ResultSet rs) throws SQLException {
    long nb = rs.getLong(5);
    Instant notBefore = rs.wasNull() ? null : Instant.ofEpochMilli(nb);
    long na = rs.getLong(6);
    Instant notAfter = rs.wasNull() ? null : Instant.ofEpochMilli(na);
    SendMetadata m = new SendMetadata(rs.getString(1), rs.getBytes(2), rs.getBytes(3),
        rs.getInt(4) == 1, notBefore, notAfter, rs.getBytes(7),
        Instant.ofEpochMilli(rs.getLong(10)));
    return new StoredSend(m, rs.getString(8), rs.getLong(9));
  }

  private static final String SQL_SEND_BY_ID =
      "SELECT " + sendColumns() + " FROM sends WHERE send_id = ?";

  private Optional<StoredSend> selectSendById(Connection c, String sendId) throws SQLException {
    PreparedStatement ps = statement(c, SQL_SEND_BY_ID);
    ps.setString(1, sendId);
    try (ResultSet rs = ps.executeQuery()) {
      return rs.next() ? Optional.of(send(rs)) : Optional.empty();
    }
  }

  /**
   * A receipt by id: a send's own receipt from its {@code sends} row (schema 2), any other (a
   * forward's, or a send's of schema 1) from {@code receipts}. A receipt id is in at most one of
   * the two (see {@link #commitSend} and {@link #commitForward}).
   */
  private static final String SQL_RECEIPT_BY_ID =
      "SELECT receipt_id, send_id, receipt, receipt_at FROM sends"
          + " WHERE send_id = ?1 AND receipt IS NOT NULL"
          + " UNION ALL SELECT receipt_id, send_id, bytes, created_at FROM receipts"
          + " WHERE receipt_id = ?1";

  private Optional<ReceiptRecord> selectReceipt(Connection c, String receiptId)
      throws SQLException {
    PreparedStatement ps = statement(c, SQL_RECEIPT_BY_ID);
    ps.setString(1, receiptId);
    try (ResultSet rs = ps.executeQuery()) {
      return rs.next() ? Optional.of(receipt(rs)) : Optional.empty();
    }
  }

  private static ReceiptRecord receipt(ResultSet rs) throws SQLException {
    return new ReceiptRecord(rs.getString(1), rs.getString(2), rs.getBytes(3),
        Instant.ofEpochMilli(rs.getLong(4)));
  }

  private ReceiptRecord requireReceipt(Connection c, String receiptId)
      throws SQLException, StoreException {
    return selectReceipt(c, receiptId).orElseThrow(() -> new StoreException(
        StoreException.Code.STORE_CORRUPT, "receipt " + receiptId + " is missing"));
  }

  private static void insertReceipt(Connection c, ReceiptRecord r) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement("INSERT INTO receipts VALUES (?, ?, ?, ?)")) {
      ps.setString(1, r.receiptId());
      ps.setString(2, r.sendId());
      ps.setBytes(3, r.bytesUnsafe());
      ps.setLong(4, r.createdAt().toEpochMilli());
      ps.executeUpdate();
    }
  }

  private static final String INSERT_DELIVERY = "INSERT INTO deliveries VALUES (?, ?, ?, ?, ?, ?)";

  private static void bindDelivery(PreparedStatement ps, String sendId, String receiptId,
      Delivery d) throws SQLException {
    ps.setString(1, d.deliveryId());
    ps.setString(2, sendId);
    ps.setString(3, receiptId);
    ps.setString(4, d.recipientFingerprint());
    ps.setString(5, d.formatId());
    ps.setBytes(6, d.envelopeUnsafe());
  }

  /**
   * The send row with its own receipt. Written only if no forward receipt has the send's id as its
   * receipt id (receipt ids are unique across both tables), and not at all when the send id is
   * stored already (zero rows changed, no exception: a replay when the stored payload hash is this
   * one, else a conflict; see {@link #commitSend}).
   */
  private static final String INSERT_SEND = "INSERT INTO sends (send_id, payload_hash, policy,"
      + " late_allowed, not_before, not_after, sealed_secret, receipt_id, delivery_count,"
      + " created_at, receipt, receipt_at)"
      + " SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?1, ?8, ?9, ?10, ?11"
      + " WHERE NOT EXISTS (SELECT 1 FROM receipts WHERE receipt_id = ?1)"
      + " ON CONFLICT (send_id) DO NOTHING";

  @Override
  public SendCommit commitSend(SendRecord record) throws StoreException {
    Objects.requireNonNull(record, "send");
    SendMetadata m = record.metadata();
    ReceiptRecord r = record.receipt();
    String sendId = m.sendId();
    // a collection's count is known before the row is written: no UPDATE of the count afterwards
    long known = record.deliveries() instanceof Collection<?> all ? all.size() : -1;
    return write("commit send", c -> {
      // the writer thread's cached statements: compiling them for every send cost about as much
      // as running them
      PreparedStatement ps = writerStatement(INSERT_SEND);
      ps.setString(1, sendId);
      ps.setBytes(2, m.payloadHashUnsafe());
      ps.setBytes(3, m.policyUnsafe());
      ps.setInt(4, m.lateRecipientsAllowed() ? 1 : 0);
      setInstant(ps, 5, m.notBefore());
      setInstant(ps, 6, m.notAfter());
      ps.setBytes(7, m.sealedSecretUnsafe());
      ps.setLong(8, Math.max(known, 0));
      ps.setLong(9, m.createdAt().toEpochMilli());
      ps.setBytes(10, r.bytesUnsafe());
      ps.setLong(11, r.createdAt().toEpochMilli());
      if (ps.executeUpdate() == 0) {
        Optional<StoredSend> existing = selectSendById(c, sendId);
        if (existing.isEmpty()) {
          throw new StoreException(StoreException.Code.CONFLICT, "receipt id " + sendId
              + " is taken");
        }
        if (!MessageDigest.isEqual(existing.get().metadata().payloadHashUnsafe(),
            m.payloadHashUnsafe())) {
          throw new StoreException(StoreException.Code.CONFLICT, "send id " + sendId
              + " is taken by another payload");
        }
        return new SendCommit(existing.get(), requireReceipt(c, existing.get().receiptId()),
            true);
      }
      long count = 0;
      PreparedStatement dps = writerStatement(INSERT_DELIVERY);
      // a job that failed half-way may have left rows added to the batch: they are not ours
      dps.clearBatch();
      if (known == 1) {
        // one row: no batch (executeBatch costs more than one step for a single row)
        bindDelivery(dps, sendId, sendId,
            Checks.derivedDeliveryId(sendId, record.deliveries().iterator().next()));
        dps.executeUpdate();
        count = 1;
      } else {
        int pending = 0;
        for (Iterator<Delivery> it = record.deliveries().iterator(); it.hasNext(); ) {
          bindDelivery(dps, sendId, sendId, Checks.derivedDeliveryId(sendId, it.next()));
          dps.addBatch();
          count++;
          if (++pending == BATCH) {
            dps.executeBatch();
            pending = 0;
          }
        }
        if (pending > 0) {
          dps.executeBatch();
        }
      }
      if (count != Math.max(known, 0)) {
        PreparedStatement ups = writerStatement(
            "UPDATE sends SET delivery_count = ? WHERE send_id = ?");
        ups.setLong(1, count);
        ups.setString(2, sendId);
        ups.executeUpdate();
      }
      return new SendCommit(new StoredSend(m, sendId, count), r, false);
    });
  }

  /**
   * A prepared statement of the writer connection, compiled once and kept (writer thread only;
   * never closed by the caller).
   */
  private PreparedStatement writerStatement(String sql) throws SQLException {
    if (Thread.currentThread() != writerThread) {
      throw new IllegalStateException("writer statements belong to the writer thread");
    }
    PreparedStatement ps = writerStatements.get(sql);
    if (ps == null) {
      ps = writer.prepareStatement(sql);
      writerStatements.put(sql, ps);
    }
    return ps;
  }

  private static void setInstant(PreparedStatement ps, int i, Instant t) throws SQLException {
    if (t == null) {
      ps.setNull(i, Types.INTEGER);
    } else {
      ps.setLong(i, t.toEpochMilli());
    }
  }

  @Override
  public Optional<StoredSend> findSend(String sendId, byte[] payloadHash) throws StoreException {
    Checks.id("send id", sendId);
    Objects.requireNonNull(payloadHash, "payloadHash");
    if (payloadHash.length != 32) {
      throw new IllegalArgumentException("payload hash must be 32 bytes");
    }
    byte[] h = payloadHash.clone();
    return read(c -> selectSendById(c, sendId))
        .filter(s -> MessageDigest.isEqual(s.metadata().payloadHashUnsafe(), h));
  }

  @Override
  public Optional<StoredSend> getSend(String sendId) throws StoreException {
    Checks.id("send id", sendId);
    return read(c -> selectSendById(c, sendId));
  }

  @Override
  public Optional<ReceiptRecord> getReceipt(String receiptId) throws StoreException {
    Checks.id("receipt id", receiptId);
    return read(c -> selectReceipt(c, receiptId));
  }

  @Override
  public List<ReceiptRecord> receiptsForSend(String sendId) throws StoreException {
    Checks.id("send id", sendId);
    return read(c -> {
      Optional<StoredSend> s = selectSendById(c, sendId);
      if (s.isEmpty()) {
        return List.of();
      }
      List<ReceiptRecord> out = new ArrayList<>();
      out.add(requireReceipt(c, s.get().receiptId()));
      try (PreparedStatement ps = c.prepareStatement("SELECT receipt_id, send_id, bytes, created_at"
          + " FROM receipts WHERE send_id = ? AND receipt_id <> ? ORDER BY receipt_id")) {
        ps.setString(1, sendId);
        ps.setString(2, s.get().receiptId());
        try (ResultSet rs = ps.executeQuery()) {
          while (rs.next()) {
            out.add(receipt(rs));
          }
        }
      }
      return out;
    });
  }

  private static StoredDelivery delivery(ResultSet rs) throws SQLException {
    return new StoredDelivery(rs.getString(2), rs.getString(3),
        new Delivery(rs.getString(1), rs.getString(4), rs.getString(5), rs.getBytes(6)));
  }

  @Override
  public Optional<StoredDelivery> getDelivery(String deliveryId) throws StoreException {
    Checks.id("delivery id", deliveryId);
    return read(c -> {
      PreparedStatement ps = statement(c, "SELECT delivery_id, send_id, receipt_id,"
          + " recipient_fp, format_id, envelope FROM deliveries WHERE delivery_id = ?");
      ps.setString(1, deliveryId);
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next() ? Optional.of(delivery(rs)) : Optional.empty();
      }
    });
  }

  @Override
  public List<StoredDelivery> listDeliveries(String recipientFingerprint, String afterDeliveryId,
      int limit) throws StoreException {
    Checks.fingerprint(recipientFingerprint);
    int n = page(limit);
    return read(c -> {
      try (PreparedStatement ps = c.prepareStatement(SQL_LIST_DELIVERIES)) {
        ps.setString(1, recipientFingerprint);
        ps.setString(2, afterDeliveryId == null ? "" : afterDeliveryId);
        ps.setInt(3, n);
        List<StoredDelivery> out = new ArrayList<>();
        try (ResultSet rs = ps.executeQuery()) {
          while (rs.next()) {
            out.add(delivery(rs));
          }
        }
        return out;
      }
    });
  }

  @Override
  public List<StoredSend> sealedSecretsOpenForLateRecipients(Instant now, String afterSendId,
      int limit) throws StoreException {
    Objects.requireNonNull(now, "now");
    int n = page(limit);
    return read(c -> {
      try (PreparedStatement ps = c.prepareStatement(SQL_OPEN_SENDS)) {
        ps.setString(1, afterSendId == null ? "" : afterSendId);
        ps.setLong(2, now.toEpochMilli());
        ps.setInt(3, n);
        List<StoredSend> out = new ArrayList<>();
        try (ResultSet rs = ps.executeQuery()) {
          while (rs.next()) {
            out.add(send(rs));
          }
        }
        return out;
      }
    });
  }

  @Override
  public ForwardCommit commitForward(ForwardRecord f) throws StoreException {
    Objects.requireNonNull(f, "forward");
    return write("commit forward", c -> {
      if (selectSendById(c, f.sendId()).isEmpty()) {
        throw new StoreException(StoreException.Code.NOT_FOUND, "send " + f.sendId()
            + " is not committed");
      }
      Delivery d = Checks.derivedDeliveryId(f.sendId(), f.delivery());
      Optional<String> covering = deliveryReceipt(c, f.sendId(), f.recipientFingerprint());
      if (covering.isPresent()) {
        return new ForwardCommit(requireReceipt(c, covering.get()), true);
      }
      // receipt ids are unique across receipts and the send receipts kept in sends
      if (selectSendById(c, f.receipt().receiptId()).isPresent()) {
        throw new StoreException(StoreException.Code.CONFLICT, "receipt id "
            + f.receipt().receiptId() + " is taken");
      }
      insertReceipt(c, f.receipt());
      try (PreparedStatement ps = c.prepareStatement(INSERT_DELIVERY)) {
        bindDelivery(ps, f.sendId(), f.receipt().receiptId(), d);
        ps.executeUpdate();
      }
      return new ForwardCommit(f.receipt(), false);
    });
  }

  /**
   * The receipt covering the recipient's delivery of the send, if any: looked up by the delivery
   * id derived from both (every stored delivery has it), then confirmed by both columns.
   */
  private Optional<String> deliveryReceipt(Connection c, String sendId, String fp)
      throws SQLException {
    PreparedStatement ps = statement(c, "SELECT receipt_id FROM deliveries"
        + " WHERE delivery_id = ? AND send_id = ? AND recipient_fp = ?");
    ps.setString(1, dev.keycast.protocol.DeliveryIds.of(sendId, fp));
    ps.setString(2, sendId);
    ps.setString(3, fp);
    try (ResultSet rs = ps.executeQuery()) {
      return rs.next() ? Optional.of(rs.getString(1)) : Optional.empty();
    }
  }

  @Override
  public boolean hasDelivery(String sendId, String recipientFingerprint) throws StoreException {
    Checks.id("send id", sendId);
    Checks.fingerprint(recipientFingerprint);
    return read(c -> deliveryReceipt(c, sendId, recipientFingerprint).isPresent());
  }
}
