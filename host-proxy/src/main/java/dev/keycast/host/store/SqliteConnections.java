package dev.keycast.host.store;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/**
 * The SQLite store's connections: how each is opened (pragmas), the pool of read-only connections
 * with their cached prepared statements, the writer connection's cached statements (writer thread
 * only), and the mapping of SQLite result codes to {@link StoreException} codes.
 */
final class SqliteConnections {
  private final Connection writer;
  private final BooleanSupplier onWriterThread;
  private final BlockingQueue<Connection> readers;
  private final List<Connection> allReaders = new ArrayList<>();
  private final Map<String, PreparedStatement> writerStatements = new HashMap<>();

  /**
   * Prepared statements of each read connection, compiled on first use and kept: a small send
   * reads twice (the replay check and its recipient), and compiling the SQL each time cost about
   * as much as running it. Only the thread that took the connection from {@link #readers} touches
   * its map (the queue hands both over). Filled in {@link #addReader} before the store is shared.
   */
  private final Map<Connection, Map<String, PreparedStatement>> readerStatements =
      new IdentityHashMap<>();

  private volatile boolean closed;

  SqliteConnections(Connection writer, int readerCount, BooleanSupplier onWriterThread) {
    this.writer = writer;
    this.readers = new ArrayBlockingQueue<>(readerCount);
    this.onWriterThread = onWriterThread;
  }

  /** Adds a read-only connection to the pool (while opening, before the store is shared). */
  void addReader(Connection r) {
    allReaders.add(r);
    readerStatements.put(r, new HashMap<>());
    readers.add(r);
  }

  /** sqlite-jdbc's connection property that turns {@code getGeneratedKeys} support on or off. */
  static final String GENERATED_KEYS_PROPERTY = "jdbc.get_generated_keys";

  /** The writer connection's page cache, in KiB (readers keep 16 MiB each). */
  static final int WRITER_CACHE_KIB = 4 * 1024;

  /** Dirty pages a writer transaction keeps before spilling to the log (64 MiB of 4 KiB pages). */
  static final int WRITER_SPILL_PAGES = 16 * 1024;

  static Connection connect(Path file, SqliteArtefactStore.Options options, boolean readOnly)
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

  <T> T read(GroupCommitWriter.Work<T> work) throws StoreException {
    if (closed) {
      throw GroupCommitWriter.closedError();
    }
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
  PreparedStatement statement(Connection c, String sql) throws SQLException {
    if (c == writer) {
      return writerStatement(sql);
    }
    Map<String, PreparedStatement> cache = readerStatements.get(c);
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

  static void closeStatements(Map<String, PreparedStatement> cache) {
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
   * A prepared statement of the writer connection, compiled once and kept (writer thread only;
   * never closed by the caller).
   */
  PreparedStatement writerStatement(String sql) throws SQLException {
    if (!onWriterThread.getAsBoolean()) {
      throw new IllegalStateException("writer statements belong to the writer thread");
    }
    PreparedStatement ps = writerStatements.get(sql);
    if (ps == null) {
      ps = writer.prepareStatement(sql);
      writerStatements.put(sql, ps);
    }
    return ps;
  }

  /**
   * Closes and forgets the writer's cached statements (writer thread): after an abandoned
   * transaction some may be closed by sqlite-jdbc, and would fail every later use.
   */
  void dropWriterStatements() {
    closeStatements(writerStatements);
  }

  /** Maps SQLite result codes (primary code = low byte of the extended code) to stable codes. */
  static StoreException map(SQLException e, String what) {
    int primary = e.getErrorCode() & 0xff;
    StoreException.Code code =
        switch (primary) {
          case 13 -> StoreException.Code.STORE_FULL; // SQLITE_FULL
          case 19 -> StoreException.Code.CONFLICT; // SQLITE_CONSTRAINT
          case 11, 26 -> StoreException.Code.STORE_CORRUPT; // SQLITE_CORRUPT, SQLITE_NOTADB
          default -> StoreException.Code.STORE_UNAVAILABLE; // IOERR, BUSY, LOCKED, CANTOPEN, ...
        };
    return new StoreException(code, what + " failed (sqlite code " + e.getErrorCode() + ")", e);
  }

  /** Closes every statement and connection; returns the first failure, if any. */
  SQLException close() {
    closed = true;
    SQLException first = null;
    closeStatements(writerStatements);
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
    return first;
  }
}
