package dev.keycast.host.store;

import java.nio.file.Path;
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
 * block the writer or readers, and copy what no reader still needs. The writer counts its commits
 * ({@link #noteCommit}); every {@link #POLL_MILLIS} this thread runs a checkpoint when a commit was
 * counted since the last complete one began. The count is read before the checkpoint starts and
 * raised only after a {@code COMMIT} returned, so a complete checkpoint has copied every commit it
 * counted. (It used to compare the log file's size and modification time: a checkpoint that ran
 * after a commit's frames were written but before the commit was published in the WAL index took
 * the final size for done, and the last commit before a quiet spell stayed in the log.)
 *
 * <p><b>Bounded log.</b> A passive checkpoint never makes the log start over: SQLite rewinds the
 * log only when a writer begins while every frame is copied and no reader still reads from the
 * log, which under a steady stream of group commits and reads practically never happens (the log
 * of a benchmark stack grew to 1.2 GiB after 80,000 small sends, every commit appending to a
 * growing file: new ext4 blocks and a metadata journal commit on every {@code fsync}). When a
 * passive checkpoint finds more than {@link #RESTART_FRAMES} frames in the log, the writer thread
 * is asked ({@link #restartIfDue}) to run a {@code RESTART} checkpoint on its own connection
 * between two group commits: it copies what is left, checks that no reader still reads from the
 * log (see {@link #restartIfDue} for when it waits for them), and so makes the next commit
 * write the log from its start again, over blocks that already exist. It runs on the writer
 * thread because a checkpoint of this kind needs the write lock, which the group-commit loop
 * otherwise hardly ever leaves free; it holds back the writes queued meanwhile. To keep that
 * short, this thread first syncs the database file (the pages passive checkpoints copied are
 * not synced until a checkpoint copies the whole log) and copies again, in shrinking passes
 * ({@link #prepareRestart}), so the writer's {@code RESTART} has few frames to copy and little
 * to sync; and the writer does not wait for readers unless the log has grown far past the
 * threshold (see {@link #restartIfDue}).
 *
 * <p><b>Write-back.</b> The pages a passive checkpoint copies stay dirty in the page cache until
 * something syncs the file; at small-send load that was 70 MiB per log restart, which the syncs
 * before the restart wrote in one burst, and the writer's log syncs, queued behind it, held every
 * send back by 50-150 ms once a second or so. After every checkpoint this thread therefore starts
 * the kernel's write-out of the database file's dirty pages without waiting for it ({@link
 * PageWriteback}, Linux {@code sync_file_range}), so the pages go to the disk in small portions
 * while the log fills, and the syncs find little left. It changes no durability: the syncs are as
 * before. (p99 at 2,000 small sends/s: 56-86 ms without, 18-36 ms in five of six runs with;
 * performance.md section 3, "Phase 11".)
 */
final class WalCheckpointer implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(WalCheckpointer.class);

  /** How often the log file is looked at. */
  static final long POLL_MILLIS = 50;

  /** Frames (pages) in the log above which a checkpoint makes the log start over: 64 MiB of 4 KiB pages. */
  static final int RESTART_FRAMES = 16_384;

  /**
   * A pass of {@link #prepareRestart} that copied fewer frames than this is the last one: the
   * writer's {@code RESTART} copies about as many (1 MiB of 4 KiB pages).
   */
  static final int PREPARE_DONE_FRAMES = 256;

  /** Most sync-and-copy passes of {@link #prepareRestart}. */
  static final int PREPARE_MAX_PASSES = 4;

  /** The longest a {@code RESTART} checkpoint waits for locks (the writer's queue waits too). */
  static final long RESTART_WAIT_MILLIS = 200;

  /**
   * Log size, in multiples of the restart threshold, past which a {@code RESTART} checkpoint waits
   * for readers (up to {@link #RESTART_WAIT_MILLIS}) instead of trying again after the next group.
   */
  static final int WAIT_FRAMES_FACTOR = 4;

  private final Path database;
  private final Connection connection;
  private final Thread thread;
  private final AtomicLong checkpoints = new AtomicLong();
  private final AtomicLong restarts = new AtomicLong();
  private final int restartFrames;
  private volatile boolean restartDue;

  /**
   * Set by a passive checkpoint that found the log more than {@link #WAIT_FRAMES_FACTOR} times
   * past the threshold: the writer's next attempt may wait for readers (once per such checkpoint).
   */
  private volatile boolean waitDue;

  private volatile boolean closed;

  /** Commits counted by the writer ({@link #noteCommit}). */
  private final AtomicLong commits = new AtomicLong();

  /** The commit count read before the last complete checkpoint began (-1: none yet). */
  private long lastSeen = -1;

  WalCheckpointer(Path database, Connection connection) {
    this(database, connection, RESTART_FRAMES);
  }

  /** A checkpointer that restarts the log past {@code restartFrames} frames (tests). */
  WalCheckpointer(Path database, Connection connection, int restartFrames) {
    if (restartFrames < 1) {
      throw new IllegalArgumentException("restartFrames must be >= 1");
    }
    this.restartFrames = restartFrames;
    this.database = database;
    this.connection = Objects.requireNonNull(connection, "connection");
    this.thread =
        Thread.ofPlatform().daemon().name("keycast-sqlite-checkpoint").unstarted(this::run);
  }

  void start() {
    thread.start();
  }

  /** Checkpoints that ran to completion (every committed frame copied); tests and diagnostics. */
  long completedCheckpoints() {
    return checkpoints.get();
  }

  /** {@code RESTART} checkpoints that completed (the next commit rewinds the log); tests. */
  long restartCheckpoints() {
    return restarts.get();
  }

  private void run() {
    try (PageWriteback writeback = PageWriteback.of(database)) {
      LOG.debug(
          "background write-back of checkpointed pages: {}", writeback.active() ? "on" : "off");
      run(writeback);
    }
  }

  private void run(PageWriteback writeback) {
    long failures = 0;
    while (!closed) {
      try {
        Thread.sleep(POLL_MILLIS);
      } catch (InterruptedException e) {
        if (closed) {
          return;
        }
      }
      long seen = commits.get();
      if (seen == lastSeen) {
        continue;
      }
      try {
        if (checkpoint()) {
          lastSeen = seen;
        }
        // the pages this checkpoint copied start on their way to the disk now (class comment)
        writeback.start();
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

  /** Counts one committed transaction of the writer; called after its {@code COMMIT} returned. */
  void noteCommit() {
    commits.incrementAndGet();
  }

  /**
   * One passive checkpoint (asking for a {@code RESTART} one when the log holds more than
   * {@link #restartFrames} frames); true when every committed frame is now in the database file.
   */
  private boolean checkpoint() throws SQLException {
    int[] r = run(connection, "PASSIVE");
    if (r[1] > WAIT_FRAMES_FACTOR * (long) restartFrames) {
      waitDue = true;
    }
    if (r[1] > restartFrames && !restartDue) {
      r = prepareRestart(r);
      restartDue = true;
    }
    boolean complete = r[0] == 0 && r[1] == r[2];
    if (complete) {
      checkpoints.incrementAndGet();
    }
    return complete;
  }

  /**
   * Leaves the writer's {@code RESTART} little to copy and to sync. A checkpoint syncs the
   * database file only when it copied the whole log, which under steady writes a passive one
   * rarely does: the pages it copied stay dirty in the page cache, and the {@code RESTART} on the
   * writer thread had to sync them all (tens of MiB, 20-140 ms measured at small-send load, with
   * every queued write waiting: performance.md section 3, "Phase 7"). So this thread syncs them
   * first and copies what was committed meanwhile, in passes: each pass syncs the pages the
   * previous one copied and copies what the writer committed during it, so the passes shrink;
   * they end with one that copied fewer than {@link #PREPARE_DONE_FRAMES} frames (or after
   * {@link #PREPARE_MAX_PASSES}), and a last sync. The {@code RESTART} then copies and syncs only
   * what was committed after that: 6-7 ms median and 16-19 ms at most, against 11-14 ms and 29-40
   * ms with a single pass (performance.md section 3, "Phase 10").
   *
   * @param r the result of the passive checkpoint that found the log past the threshold
   * @return the result of the last passive checkpoint
   */
  private int[] prepareRestart(int[] r) throws SQLException {
    int copiedBefore = r[2];
    for (int pass = 1; ; pass++) {
      syncDatabaseFile();
      r = run(connection, "PASSIVE");
      // frames copied by this pass (negative if the log started over meanwhile: done too)
      int copied = r[2] - copiedBefore;
      copiedBefore = r[2];
      if (copied < PREPARE_DONE_FRAMES || pass >= PREPARE_MAX_PASSES) {
        break;
      }
    }
    syncDatabaseFile();
    return r;
  }

  /** fsync of the database file (any descriptor of the file flushes its dirty pages). */
  private void syncDatabaseFile() {
    try (java.nio.channels.FileChannel f =
        java.nio.channels.FileChannel.open(database, java.nio.file.StandardOpenOption.READ)) {
      f.force(false);
    } catch (java.io.IOException e) {
      // the RESTART checkpoint syncs the file anyway (on the writer thread)
      LOG.debug("database file sync before a log restart failed: {}", e.toString());
    }
  }

  /** Runs {@code PRAGMA wal_checkpoint(mode)}: busy (0 or 1), frames in the log, frames copied. */
  private static int[] run(Connection c, String mode) throws SQLException {
    try (Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("PRAGMA wal_checkpoint(" + mode + ")")) {
      return rs.next() ? new int[] {rs.getInt(1), rs.getInt(2), rs.getInt(3)} : new int[] {1, 0, 0};
    }
  }

  /**
   * Runs a {@code RESTART} checkpoint on {@code writer} when the log has grown past
   * {@link #restartFrames} frames. Called by the writer thread between transactions only. Does not
   * wait for locks (an attempt that finds readers in the way stays due, and the writer tries again
   * after its next group) unless a passive checkpoint found the log more than
   * {@link #WAIT_FRAMES_FACTOR} times past the threshold: then this attempt waits at most
   * {@link #RESTART_WAIT_MILLIS}, so that the log stays bounded under any read load (at most one
   * waiting attempt per passive checkpoint, so a long read does not make every group wait).
   * Restores {@code busyTimeoutMillis}. Never throws.
   */
  void restartIfDue(Connection writer, long busyTimeoutMillis) {
    if (!restartDue) {
      return;
    }
    // Without waiting while the log is not far past the threshold: a reader still on an older
    // snapshot (or a passive checkpoint in progress) makes this attempt report busy at once, and
    // the writer tries again after its next group instead of sleeping in SQLite's busy handler
    // (1, 2, 5, 10, ... ms) with every queued write held back.
    boolean wait = waitDue;
    waitDue = false;
    try (Statement s = writer.createStatement()) {
      s.execute("PRAGMA busy_timeout = " + (wait ? RESTART_WAIT_MILLIS : 0));
      try {
        long start = System.nanoTime();
        int[] r = run(writer, "RESTART");
        if (LOG.isDebugEnabled()) {
          LOG.debug(
              "WAL restart checkpoint: {} µs, busy {}, {} frames in the log, {} copied",
              (System.nanoTime() - start) / 1_000,
              r[0],
              r[1],
              r[2]);
        }
        if (r[0] == 0) {
          restartDue = false;
          restarts.incrementAndGet();
        }
      } finally {
        s.execute("PRAGMA busy_timeout = " + busyTimeoutMillis);
      }
    } catch (SQLException | RuntimeException e) {
      LOG.debug("WAL restart checkpoint failed: {}", e.toString());
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
