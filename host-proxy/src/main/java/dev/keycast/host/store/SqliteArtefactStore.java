package dev.keycast.host.store;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.util.Collection;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.TreeSet;

/**
 * {@link ArtefactStore} in one SQLite database file: WAL journal, {@code synchronous=FULL} (a
 * returned commit survives power loss), a single writer connection owned by one writer thread,
 * and a small pool of read-only connections. This class checks the arguments and hands each
 * operation to the writer or a reader; its parts are the {@link SqliteSchema} (versions and
 * migrations), the {@link SqliteConnections} (opening, pragmas, the read pool, cached statements,
 * error codes), the {@link GroupCommitWriter} (every write is a job of a group committed in one
 * transaction: nothing is acknowledged before it is durable), the {@link WalCheckpointer}, and the
 * SQL of each group of tables: {@link SqliteSealedSets}, {@link SqliteSendTables} (sends,
 * receipts, deliveries), {@link SqliteScreenTables} (cinemas, screens), {@link SqliteMailOutbox}
 * and {@link SqliteDkdmTables} (DKDMs, studio rules, legacy DKDM keys); recipients' rows are in
 * {@link SqliteRows}.
 */
public final class SqliteArtefactStore implements ArtefactStore {

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

  private final Path file;
  private final ObjectMapper json = new ObjectMapper();
  private final GroupCommitWriter writer;
  private final SqliteConnections connections;
  private volatile WalCheckpointer checkpointer;
  private volatile boolean closed;

  private SqliteArtefactStore(
      Path file,
      Connection writerConnection,
      int readerCount,
      GroupCommitWriter.CommitHook hook,
      long busyTimeoutMillis) {
    this.file = file;
    this.writer =
        new GroupCommitWriter(
            writerConnection,
            hook,
            new GroupCommitWriter.Events() {
              @Override
              public void committed() {
                WalCheckpointer cp = checkpointer;
                if (cp != null) {
                  cp.noteCommit();
                }
              }

              @Override
              public void abandoned() {
                connections.dropWriterStatements();
              }

              @Override
              public void betweenGroups(Connection c) {
                WalCheckpointer cp = checkpointer;
                if (cp != null) {
                  cp.restartIfDue(c, busyTimeoutMillis);
                }
              }
            });
    this.connections =
        new SqliteConnections(writerConnection, readerCount, this.writer::onWriterThread);
  }

  /** Opens (creating if needed) and migrates the database at {@code file}. */
  public static SqliteArtefactStore open(Path file) throws StoreException {
    return open(file, Options.defaults());
  }

  /** Opens (creating if needed) and migrates the database at {@code file}. */
  public static SqliteArtefactStore open(Path file, Options options) throws StoreException {
    return open(file, options, GroupCommitWriter.CommitHook.NONE);
  }

  /** {@link #open(Path, Options)} with a hook run before every group commit (tests). */
  static SqliteArtefactStore open(Path file, Options options, GroupCommitWriter.CommitHook hook)
      throws StoreException {
    return open(file, options, hook, WalCheckpointer.RESTART_FRAMES);
  }

  /** {@link #open(Path, Options, GroupCommitWriter.CommitHook)} with the log restarted past {@code restartFrames}. */
  static SqliteArtefactStore open(
      Path file, Options options, GroupCommitWriter.CommitHook hook, int restartFrames)
      throws StoreException {
    Objects.requireNonNull(file, "file");
    Objects.requireNonNull(options, "options");
    Objects.requireNonNull(hook, "hook");
    Connection writer = null;
    SqliteArtefactStore store = null;
    try {
      writer = SqliteConnections.connect(file, options, false);
      store =
          new SqliteArtefactStore(
              file, writer, options.readConnections(), hook, options.busyTimeoutMillis());
      SqliteSchema.migrate(writer);
      for (int i = 0; i < options.readConnections(); i++) {
        store.connections.addReader(SqliteConnections.connect(file, options, true));
      }
      store.checkpointer =
          new WalCheckpointer(file, SqliteConnections.connect(file, options, false), restartFrames);
      store.checkpointer.start();
      store.writer.start("keycast-sqlite-writer");
      return store;
    } catch (SQLException e) {
      closeQuietly(store, writer);
      throw SqliteConnections.map(e, "open " + file.getFileName());
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

  /** The schema version recorded in the database. */
  public int schemaVersion() throws StoreException {
    return read(
        c -> {
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
    return write(
        "pragma",
        c -> {
          try (Statement s = c.createStatement();
              ResultSet rs = s.executeQuery("PRAGMA " + name)) {
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

  private <T> T read(GroupCommitWriter.Work<T> work) throws StoreException {
    ensureOpen();
    return connections.read(work);
  }

  private <T> T write(String what, GroupCommitWriter.Work<T> work) throws StoreException {
    ensureOpen();
    return writer.write(what, work);
  }

  /** Groups committed so far (diagnostics and tests). */
  long groupCommits() {
    return writer.groupCommits();
  }

  /** Write jobs committed so far (diagnostics and tests). */
  long committedWrites() {
    return writer.committedWrites();
  }

  /** Write jobs waiting for the writer thread (tests). */
  int queuedWrites() {
    return writer.queuedWrites();
  }

  private void ensureOpen() throws StoreException {
    if (closed) {
      throw new StoreException(StoreException.Code.STORE_UNAVAILABLE, "store is closed");
    }
  }

  @Override
  public void close() throws StoreException {
    if (closed) {
      return;
    }
    closed = true;
    writer.close();
    SQLException first = null;
    WalCheckpointer cp = checkpointer;
    if (cp != null) {
      try {
        cp.close();
      } catch (SQLException e) {
        first = e;
      }
    }
    SQLException closing = connections.close();
    first = first == null ? closing : first;
    if (first != null) {
      throw SqliteConnections.map(first, "close");
    }
  }

  // ------------------------------------------------------------------ key sets

  @Override
  public void putSealedKeySet(int version, byte[] bytes) throws StoreException {
    StoredKeySet k = new StoredKeySet(version, bytes);
    write(
        "put key set",
        c -> {
          SqliteSealedSets.putKeySet(c, k);
          return null;
        });
  }

  @Override
  public Optional<StoredKeySet> latestSealedKeySet() throws StoreException {
    return read(SqliteSealedSets::latestKeySet);
  }

  // ------------------------------------------------------------------ sender sets

  @Override
  public void putSealedSenderSet(long version, byte[] bytes) throws StoreException {
    StoredSenderSet k = new StoredSenderSet(version, bytes);
    write(
        "put sender set",
        c -> {
          SqliteSealedSets.putSenderSet(c, k);
          return null;
        });
  }

  @Override
  public Optional<StoredSenderSet> latestSealedSenderSet() throws StoreException {
    return read(SqliteSealedSets::latestSenderSet);
  }

  // ------------------------------------------------------------------ recipients

  @Override
  public RecipientRecord putRecipient(RecipientRecord r) throws StoreException {
    Objects.requireNonNull(r, "recipient");
    return write(
        "put recipient",
        c -> {
          try (PreparedStatement ps =
              c.prepareStatement(
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
          List<RecipientRecord> existing =
              SqliteRows.selectRecipients(connections, json, c, List.of(r.fingerprint()));
          if (existing.isEmpty()) {
            throw new StoreException(StoreException.Code.STORE_CORRUPT, "recipient vanished");
          }
          return existing.getFirst();
        });
  }

  @Override
  public RecipientRecord replaceRecipient(RecipientRecord r) throws StoreException {
    Objects.requireNonNull(r, "recipient");
    return write(
        "replace recipient",
        c -> {
          try (PreparedStatement ps =
              c.prepareStatement(
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
    return read(c -> SqliteRows.selectRecipients(connections, json, c, fps));
  }

  @Override
  public List<RecipientRecord> listRecipients(String afterFingerprint, int limit)
      throws StoreException {
    int n = Checks.page(limit);
    return read(
        c -> {
          try (PreparedStatement ps =
              c.prepareStatement(
                  "SELECT "
                      + SqliteRows.RECIPIENT_COLUMNS
                      + " FROM recipients WHERE fingerprint > ? ORDER BY fingerprint LIMIT ?")) {
            ps.setString(1, afterFingerprint == null ? "" : afterFingerprint);
            ps.setInt(2, n);
            return SqliteRows.recipients(json, ps);
          }
        });
  }

  @Override
  public long countRecipients() throws StoreException {
    return read(
        c -> {
          try (Statement s = c.createStatement();
              ResultSet rs = s.executeQuery("SELECT count(*) FROM recipients")) {
            rs.next();
            return rs.getLong(1);
          }
        });
  }

  // ------------------------------------------------------------------ cinemas and screens

  @Override
  public CinemaRecord putCinema(CinemaRecord cinema) throws StoreException {
    Objects.requireNonNull(cinema, "cinema");
    return write("put cinema", c -> SqliteScreenTables.putCinema(c, cinema));
  }

  @Override
  public Optional<CinemaRecord> getCinema(String name) throws StoreException {
    CinemaRecord.checkName("cinema name", name);
    return read(c -> SqliteScreenTables.getCinema(c, name));
  }

  @Override
  public ScreenRecord putScreen(ScreenRecord s) throws StoreException {
    Objects.requireNonNull(s, "screen");
    return write("put screen", c -> SqliteScreenTables.putScreen(c, s));
  }

  @Override
  public List<ScreenRecord> findScreens(Collection<String> thumbprints) throws StoreException {
    return selectScreensIn("thumbprint", Checks.valueSet(thumbprints, true));
  }

  @Override
  public List<ScreenRecord> findScreensByFingerprint(Collection<String> fingerprints)
      throws StoreException {
    return selectScreensIn("fingerprint", Checks.valueSet(fingerprints, false));
  }

  private List<ScreenRecord> selectScreensIn(String column, TreeSet<String> values)
      throws StoreException {
    if (values.isEmpty()) {
      return List.of();
    }
    return read(c -> SqliteScreenTables.selectIn(c, column, values));
  }

  @Override
  public List<ScreenRecord> listScreens(String cinema, String afterThumbprint, int limit)
      throws StoreException {
    int n = Checks.page(limit);
    if (cinema != null) {
      CinemaRecord.checkName("cinema name", cinema);
    }
    return read(c -> SqliteScreenTables.list(c, cinema, afterThumbprint, n));
  }

  // ------------------------------------------------------------------ mail outbox

  @Override
  public MailRecord queueMail(MailRecord m) throws StoreException {
    Objects.requireNonNull(m, "mail");
    return write("queue mail", c -> SqliteMailOutbox.queue(c, m));
  }

  @Override
  public void updateMail(MailRecord m) throws StoreException {
    Objects.requireNonNull(m, "mail");
    write(
        "update mail",
        c -> {
          SqliteMailOutbox.update(c, m);
          return null;
        });
  }

  @Override
  public List<MailRecord> mailsOfSend(String sendId) throws StoreException {
    Checks.id("send id", sendId);
    return read(
        c ->
            SqliteMailOutbox.select(
                c, "send_id = ? ORDER BY cinema", ps -> ps.setString(1, sendId), MAX_PAGE));
  }

  @Override
  public List<MailRecord> dueMails(Instant now, int limit) throws StoreException {
    Objects.requireNonNull(now, "now");
    int n = Checks.page(limit);
    return read(
        c ->
            SqliteMailOutbox.select(
                c,
                "state = 'queued' AND next_attempt_at <= ?"
                    + " ORDER BY next_attempt_at, send_id, cinema",
                ps -> ps.setLong(1, now.toEpochMilli()),
                n));
  }

  // ------------------------------------------------------------------ DKDMs, studio rules, legacy
  // keys

  @Override
  public DkdmRecord putDkdm(DkdmRecord d) throws StoreException {
    Objects.requireNonNull(d, "dkdm");
    return write("put dkdm", c -> SqliteDkdmTables.putDkdm(c, d));
  }

  @Override
  public List<DkdmRecord> findDkdms(String cplId) throws StoreException {
    Objects.requireNonNull(cplId, "cplId");
    return read(c -> SqliteDkdmTables.findDkdms(c, cplId));
  }

  @Override
  public RulesRecord putRules(RulesRecord r) throws StoreException {
    Objects.requireNonNull(r, "rules");
    return write("put rules", c -> SqliteDkdmTables.putRules(c, r));
  }

  @Override
  public Optional<RulesRecord> getRules(String cplId) throws StoreException {
    Objects.requireNonNull(cplId, "cplId");
    return read(c -> SqliteDkdmTables.getRules(c, cplId));
  }

  @Override
  public LegacyKeyRecord putLegacyKey(LegacyKeyRecord k) throws StoreException {
    Objects.requireNonNull(k, "key");
    return write("put legacy key", c -> SqliteDkdmTables.putLegacyKey(c, k));
  }

  @Override
  public List<LegacyKeyRecord> listLegacyKeys() throws StoreException {
    return read(SqliteDkdmTables::listLegacyKeys);
  }

  // ------------------------------------------------------------------ sends

  @Override
  public SendCommit commitSend(SendRecord record) throws StoreException {
    Objects.requireNonNull(record, "send");
    return write("commit send", c -> SqliteSendTables.commit(connections, c, record));
  }

  @Override
  public Optional<StoredSend> findSend(String sendId, byte[] payloadHash) throws StoreException {
    Checks.id("send id", sendId);
    Objects.requireNonNull(payloadHash, "payloadHash");
    if (payloadHash.length != 32) {
      throw new IllegalArgumentException("payload hash must be 32 bytes");
    }
    byte[] h = payloadHash.clone();
    return read(c -> SqliteRows.selectSendById(connections, c, sendId))
        .filter(s -> MessageDigest.isEqual(s.metadata().payloadHashUnsafe(), h));
  }

  @Override
  public Optional<StoredSend> getSend(String sendId) throws StoreException {
    Checks.id("send id", sendId);
    return read(c -> SqliteRows.selectSendById(connections, c, sendId));
  }

  @Override
  public Optional<ReceiptRecord> getReceipt(String receiptId) throws StoreException {
    Checks.id("receipt id", receiptId);
    return read(c -> SqliteRows.selectReceipt(connections, c, receiptId));
  }

  @Override
  public List<ReceiptRecord> receiptsForSend(String sendId) throws StoreException {
    Checks.id("send id", sendId);
    return read(c -> SqliteSendTables.receiptsOf(connections, c, sendId));
  }

  @Override
  public Optional<StoredDelivery> getDelivery(String deliveryId) throws StoreException {
    Checks.id("delivery id", deliveryId);
    return read(c -> SqliteSendTables.delivery(connections, c, deliveryId));
  }

  @Override
  public List<StoredDelivery> listDeliveries(
      String recipientFingerprint, String afterDeliveryId, int limit) throws StoreException {
    Checks.fingerprint(recipientFingerprint);
    int n = Checks.page(limit);
    return read(c -> SqliteSendTables.deliveries(c, recipientFingerprint, afterDeliveryId, n));
  }

  @Override
  public List<StoredSend> sealedSecretsOpenForLateRecipients(
      Instant now, String afterSendId, int limit) throws StoreException {
    Objects.requireNonNull(now, "now");
    int n = Checks.page(limit);
    return read(c -> SqliteSendTables.openSends(c, now, afterSendId, n));
  }

  @Override
  public ForwardCommit commitForward(ForwardRecord f) throws StoreException {
    Objects.requireNonNull(f, "forward");
    return write("commit forward", c -> SqliteSendTables.commitForward(connections, c, f));
  }

  @Override
  public boolean hasDelivery(String sendId, String recipientFingerprint) throws StoreException {
    Checks.id("send id", sendId);
    Checks.fingerprint(recipientFingerprint);
    return read(
        c -> SqliteRows.deliveryReceipt(connections, c, sendId, recipientFingerprint).isPresent());
  }
}
