package dev.keycast.host.store;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Group commit on one SQLite writer connection, owned by one writer thread; knows no schema, so any
 * SQLite store can use it.
 *
 * <p>Every write is a job handed to the writer thread; the calling thread waits for it. The writer
 * takes every job waiting (at most {@value #MAX_GROUP}) into one transaction ({@code BEGIN
 * IMMEDIATE}), runs each inside its own {@code SAVEPOINT}, and then issues one {@code COMMIT}, so
 * concurrent requests share one WAL sync. {@link #write} returns only after the {@code COMMIT} of
 * its group returned, so nothing is acknowledged before it is durable. A job that fails (a
 * constraint, a conflict, an exception of its own) is rolled back to its savepoint and fails alone.
 * An error after which SQLite may have abandoned the transaction (full disk, I/O error, ...) and a
 * failing {@code COMMIT} fail every job of the group that had run, with that error: the group is
 * rolled back as a whole and nothing of it is stored. Jobs of the group that had not run yet are
 * carried over to the next transaction.
 */
final class GroupCommitWriter {
  /** Most write jobs committed in one transaction. */
  static final int MAX_GROUP = 512;

  /** One write: runs on the writer connection, inside the group's transaction. */
  @FunctionalInterface
  interface Work<T> {
    T run(Connection c) throws SQLException, StoreException;
  }

  /** What the writer tells its owner (the store's checkpointer). */
  interface Events {
    /** Nothing to tell. */
    Events NONE = new Events() {};

    /** A group committed. */
    default void committed() {}

    /** The writer is between transactions with nothing left of its group (may run statements). */
    default void betweenGroups(Connection writer) {}

    /**
     * A transaction was abandoned after an error that may have left the writer's prepared
     * statements unusable (SQLITE_FULL, I/O errors: sqlite-jdbc closes a statement whose step
     * failed); the owner drops its cached writer statements so that the next group prepares them
     * again (writer thread).
     */
    default void abandoned() {}
  }

  /**
   * Called by the writer thread just before each group's {@code COMMIT} (tests inject failures and
   * pauses here).
   */
  @FunctionalInterface
  interface CommitHook {
    /** No hook. */
    CommitHook NONE = jobs -> {};

    /** Runs before the {@code COMMIT} of a group of {@code jobs} write jobs; may throw. */
    void beforeCommit(int jobs) throws SQLException;
  }

  private final Connection writer;
  private final CommitHook hook;
  private final Events events;
  private final LinkedBlockingQueue<WriteJob<?>> jobs = new LinkedBlockingQueue<>();
  private final AtomicLong groups = new AtomicLong();
  private final AtomicLong committedJobs = new AtomicLong();
  private final Map<String, PreparedStatement> writerControl = new HashMap<>();
  private volatile Thread writerThread;
  private volatile boolean closed;

  GroupCommitWriter(Connection writer, CommitHook hook, Events events) {
    this.writer = Objects.requireNonNull(writer, "writer");
    this.hook = Objects.requireNonNull(hook, "hook");
    this.events = Objects.requireNonNull(events, "events");
  }

  /** Starts the writer thread. */
  void start(String threadName) {
    writerThread = Thread.ofPlatform().daemon().name(threadName).start(this::writerLoop);
  }

  /** True on the writer thread (the only one that may use the writer connection). */
  boolean onWriterThread() {
    return Thread.currentThread() == writerThread;
  }

  /**
   * Runs {@code work} on the writer thread inside the next group transaction and returns its result
   * once that transaction is committed (durable); throws its failure, or the group's, otherwise.
   */
  <T> T write(String what, Work<T> work) throws StoreException {
    if (closed) {
      throw closedError();
    }
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

  /**
   * Stops the writer: it finishes the group it is running, then fails what is still queued; the
   * transaction-control statements are closed (the connection is its owner's to close).
   */
  void close() {
    if (closed) {
      return;
    }
    closed = true;
    Thread w = writerThread;
    if (w != null) {
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
    SqliteConnections.closeStatements(writerControl);
  }

  /** One write waiting for its group's commit. */
  private static final class WriteJob<T> {
    final String what;
    final Work<T> work;
    private final CountDownLatch done = new CountDownLatch(1);
    private T result;
    private Throwable failure;

    WriteJob(String what, Work<T> work) {
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
        default ->
            throw new StoreException(
                StoreException.Code.STORE_UNAVAILABLE, what + " failed", failure);
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
        if (group.isEmpty()) {
          events.betweenGroups(writer); // between transactions: see WalCheckpointer
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

  static StoreException closedError() {
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
        j.fail(SqliteConnections.map(e, j.what));
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
        failure = SqliteConnections.map(e, job.what);
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
      events.abandoned();
      job.fail(failure);
      for (WriteJob<?> r : ran) {
        r.fail(
            failure instanceof StoreException se
                ? new StoreException(
                    se.code(), r.what + " failed with its group: " + se.getMessage(), se)
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
      events.abandoned();
      for (WriteJob<?> j : ran) {
        j.fail(e instanceof SQLException se ? SqliteConnections.map(se, j.what) : e);
      }
      return new ArrayList<>();
    }
    groups.incrementAndGet();
    committedJobs.addAndGet(ran.size());
    events.committed();
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
    try {
      ps.execute();
    } catch (SQLException e) {
      // issue 28 (disk full): sqlite-jdbc closes a statement whose step failed; a cached one
      // would then fail every later use ("statement is not executing"), and a COMMIT that failed
      // with SQLITE_FULL leaves its transaction open for the ROLLBACK to end
      writerControl.remove(sql);
      try {
        ps.close();
      } catch (SQLException ignored) {
        // already closed
      }
      throw e;
    }
  }

  /**
   * Ends the transaction. SQLite may already have rolled back by itself (SQLITE_FULL, I/O error):
   * nothing of the transaction is committed either way. A failed COMMIT leaves it open, so a
   * ROLLBACK that fails is tried once more with a fresh statement ({@link #exec} drops a failed
   * one); without that the next BEGIN failed with "cannot start a transaction within a
   * transaction", for ever.
   */
  private void rollback() {
    for (int attempt = 0; attempt < 2; attempt++) {
      try {
        exec("ROLLBACK");
        return;
      } catch (SQLException e) {
        String m = String.valueOf(e.getMessage());
        if (m.contains("no transaction is active")) {
          return;
        }
      }
    }
  }

  private void begin() throws SQLException {
    exec("BEGIN IMMEDIATE");
  }

  private void commit() throws SQLException {
    exec("COMMIT");
  }
}
