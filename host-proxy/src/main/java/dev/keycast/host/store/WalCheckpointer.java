package dev.keycast.host.store;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Copies committed write-ahead-log frames into the database file on its own thread and
 * connection, so that the writer's {@code COMMIT} only appends to the WAL and syncs it (the
 * writer runs with {@code wal_autocheckpoint = 0}). SQLite's automatic checkpoint ran inside the
 * {@code COMMIT} that crossed 1,000 WAL pages: for a 10,000-delivery send (about 20 MiB of WAL)
 * it wrote the same pages a second time into the database file and synced it before the send
 * could be acknowledged, about as long as the commit itself.
 *
 * <p>Durability is unchanged: a commit is durable once its WAL frames are synced
 * ({@code synchronous = FULL}); a checkpoint only moves committed frames, and one interrupted by
 * a crash is redone from the WAL on the next open. Checkpoints are {@code PASSIVE}: they never
 * block the writer or readers, and copy what no reader still needs. The log file is polled
 * ({@link #POLL_MILLIS}); a checkpoint runs when its size or modification time changed since the
 * last complete one (frames a checkpoint left behind are copied at the next change, or when the
 * last connection closes).
 */
final class WalCheckpointer implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(WalCheckpointer.class);
  /** How often the log file is looked at. */
  static final long POLL_MILLIS = 50;

  private final Path wal;
  private final Connection connection;
  private final Thread thread;
  private final AtomicLong checkpoints = new AtomicLong();
  private volatile boolean closed;
  private Object lastSeen;

  WalCheckpointer(Path database, Connection connection) {
    this.wal = database.resolveSibling(database.getFileName() + "-wal");
    this.connection = Objects.requireNonNull(connection, "connection");
    this.thread = Thread.ofPlatform().daemon().name("keycast-sqlite-checkpoint").unstarted(this::run);
  }

  void start() {
    thread.start();
  }

  /** Checkpoints that ran to completion (every committed frame copied); tests and diagnostics. */
  long completedCheckpoints() {
    return checkpoints.get();
  }

  private void run() {
    long failures = 0;
    while (!closed) {
      try {
        Thread.sleep(POLL_MILLIS);
      } catch (InterruptedException e) {
        if (closed) {
          return;
        }
      }
      Object seen = stamp();
      if (seen == null || seen.equals(lastSeen)) {
        continue;
      }
      try {
        if (checkpoint()) {
          lastSeen = seen;
        }
        failures = 0;
      } catch (SQLException e) {
        // the writer's automatic checkpoint is off, so keep trying; SQLite checkpoints on close
        if (failures++ % 100 == 0) {
          LOG.warn("WAL checkpoint failed (sqlite code {}); retrying", e.getErrorCode());
        }
      } catch (RuntimeException e) {
        // never let this thread die: nothing else would copy the log into the database file
        if (failures++ % 100 == 0) {
          LOG.warn("WAL checkpoint failed ({}); retrying", e.getClass().getSimpleName());
        }
      }
    }
  }

  /** Size and modification time of the log, or null when there is none. */
  private Object stamp() {
    try {
      BasicFileAttributes a = Files.readAttributes(wal, BasicFileAttributes.class);
      return a.size() + "/" + a.lastModifiedTime();
    } catch (java.io.IOException e) {
      return null;
    }
  }

  /** One passive checkpoint; true when every committed frame is now in the database file. */
  private boolean checkpoint() throws SQLException {
    try (Statement s = connection.createStatement();
        ResultSet rs = s.executeQuery("PRAGMA wal_checkpoint(PASSIVE)")) {
      // columns: busy, frames in the log, frames checkpointed
      boolean complete = rs.next() && rs.getInt(1) == 0 && rs.getInt(2) == rs.getInt(3);
      if (complete) {
        checkpoints.incrementAndGet();
      }
      return complete;
    }
  }

  /** Stops the thread (waiting for a checkpoint in progress) and closes the connection. */
  @Override
  public void close() throws SQLException {
    closed = true;
    thread.interrupt();
    boolean interrupted = false;
    while (thread.isAlive()) {
      try {
        thread.join();
      } catch (InterruptedException e) {
        interrupted = true;
      }
    }
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
    connection.close();
  }
}
