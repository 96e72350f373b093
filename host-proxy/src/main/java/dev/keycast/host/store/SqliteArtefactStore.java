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
import java.util.ArrayList;
import java.util.Collection;
import java.util.Iterator;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.TreeSet;

/**
 * {@link ArtefactStore} in one SQLite database file: WAL journal, {@code synchronous=FULL} (a
 * returned commit survives power loss), a single writer connection owned by one writer thread,
 * and a small pool of read-only connections. This class holds the store's SQL; its parts are the
 * {@link SqliteSchema} (versions and migrations), the {@link SqliteConnections} (opening, pragmas,
 * the read pool, cached statements, error codes), the {@link GroupCommitWriter} (every write is a
 * job of a group committed in one transaction: nothing is acknowledged before it is durable) and
 * the {@link WalCheckpointer}.
 *
 * <p>Large sends are inserted in batches of {@value #BATCH} prepared-statement rows inside the one
 * transaction, so a send of 100,000 deliveries costs one WAL sync at commit, not one per delivery.
 */
public final class SqliteArtefactStore implements ArtefactStore {

  /** Deliveries per JDBC batch. */
  static final int BATCH = 500;

  static final String SQL_LIST_DELIVERIES =
      "SELECT d.delivery_id, d.send_id, d.receipt_id, d.recipient_fp, d.format_id, d.envelope"
          + " FROM deliveries d WHERE d.recipient_fp = ? AND d.delivery_id > ?"
          + " ORDER BY d.delivery_id LIMIT ?";
  static final String SQL_OPEN_SENDS =
      "SELECT " + SqliteRows.sendColumns() + " FROM sends WHERE late_allowed = 1 AND send_id > ?"
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

  private final Path file;
  private final ObjectMapper json = new ObjectMapper();
  private final GroupCommitWriter writer;
  private final SqliteConnections connections;
  private volatile WalCheckpointer checkpointer;
  private volatile boolean closed;

  private SqliteArtefactStore(Path file, Connection writerConnection, int readerCount,
      GroupCommitWriter.CommitHook hook, long busyTimeoutMillis) {
    this.file = file;
    this.writer = new GroupCommitWriter(writerConnection, hook, new GroupCommitWriter.Events() {
      @Override
      public void committed() {
        WalCheckpointer cp = checkpointer;
        if (cp != null) {
          cp.noteCommit();
        }
      }

      @Override
      public void betweenGroups(Connection c) {
        WalCheckpointer cp = checkpointer;
        if (cp != null) {
          cp.restartIfDue(c, busyTimeoutMillis);
        }
      }
    });
    this.connections = new SqliteConnections(writerConnection, readerCount,
        this.writer::onWriterThread);
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
  static SqliteArtefactStore open(Path file, Options options, GroupCommitWriter.CommitHook hook,
      int restartFrames) throws StoreException {
    Objects.requireNonNull(file, "file");
    Objects.requireNonNull(options, "options");
    Objects.requireNonNull(hook, "hook");
    Connection writer = null;
    SqliteArtefactStore store = null;
    try {
      writer = SqliteConnections.connect(file, options, false);
      store = new SqliteArtefactStore(file, writer, options.readConnections(), hook,
          options.busyTimeoutMillis());
      SqliteSchema.migrate(writer);
      for (int i = 0; i < options.readConnections(); i++) {
        store.connections.addReader(SqliteConnections.connect(file, options, true));
      }
      store.checkpointer = new WalCheckpointer(file,
          SqliteConnections.connect(file, options, false), restartFrames);
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

  private <T> T read(GroupCommitWriter.Work<T> work) throws StoreException {
    ensureOpen();
    return connections.read(work);
  }

  /** A cached statement of {@code c}: see {@link SqliteConnections#statement}. */
  private PreparedStatement statement(Connection c, String sql) throws SQLException {
    return connections.statement(c, sql);
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

  // ------------------------------------------------------------------ sender sets

  @Override
  public void putSealedSenderSet(long version, byte[] bytes) throws StoreException {
    StoredSenderSet k = new StoredSenderSet(version, bytes);
    write("put sender set", c -> {
      try (PreparedStatement ps = c.prepareStatement(
          "INSERT INTO sender_sets VALUES (?, ?, ?) ON CONFLICT (version) DO NOTHING")) {
        ps.setLong(1, version);
        ps.setBytes(2, k.bytes());
        ps.setLong(3, System.currentTimeMillis());
        if (ps.executeUpdate() == 0) {
          throw new StoreException(StoreException.Code.CONFLICT,
              "sealed sender set version " + version + " already exists");
        }
      }
      return null;
    });
  }

  @Override
  public Optional<StoredSenderSet> latestSealedSenderSet() throws StoreException {
    return read(c -> {
      try (PreparedStatement ps = c.prepareStatement(
              "SELECT version, bytes FROM sender_sets ORDER BY version DESC LIMIT 1");
          ResultSet rs = ps.executeQuery()) {
        return rs.next()
            ? Optional.of(new StoredSenderSet(rs.getLong(1), rs.getBytes(2)))
            : Optional.empty();
      }
    });
  }

  // ------------------------------------------------------------------ recipients

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
      List<RecipientRecord> existing = SqliteRows.selectRecipients(connections, json, c, List.of(r.fingerprint()));
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
    return read(c -> SqliteRows.selectRecipients(connections, json, c, fps));
  }

  @Override
  public List<RecipientRecord> listRecipients(String afterFingerprint, int limit)
      throws StoreException {
    int n = page(limit);
    return read(c -> {
      try (PreparedStatement ps = c.prepareStatement("SELECT " + SqliteRows.RECIPIENT_COLUMNS
          + " FROM recipients WHERE fingerprint > ? ORDER BY fingerprint LIMIT ?")) {
        ps.setString(1, afterFingerprint == null ? "" : afterFingerprint);
        ps.setInt(2, n);
        return SqliteRows.recipients(json, ps);
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

  // ------------------------------------------------------------------ cinemas and screens

  private static final String SCREEN_COLUMNS =
      "thumbprint, fingerprint, cinema, screen_name, chain, trusted_devices, registered_at";

  @Override
  public CinemaRecord putCinema(CinemaRecord cinema) throws StoreException {
    Objects.requireNonNull(cinema, "cinema");
    return write("put cinema", c -> {
      try (PreparedStatement ps = c.prepareStatement("INSERT INTO cinemas (name, utc_offset, updated_at,"
          + " emails) VALUES (?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET utc_offset = excluded.utc_offset,"
          + " updated_at = excluded.updated_at, emails = excluded.emails")) {
        ps.setString(1, cinema.name());
        ps.setString(2, cinema.utcOffset());
        ps.setLong(3, cinema.updatedAt().toEpochMilli());
        ps.setString(4, String.join("\n", cinema.emails()));
        ps.executeUpdate();
      }
      return cinema;
    });
  }

  private static List<String> lines(String s) {
    if (s == null || s.isEmpty()) {
      return List.of();
    }
    if (s.length() > CinemaRecord.MAX_EMAILS * (CinemaRecord.MAX_EMAIL + 1)) {
      throw new IllegalArgumentException("address list too long");
    }
    return List.of(s.split("\n", -1));
  }

  // ------------------------------------------------------------------ mail outbox

  private static final String MAIL_COLUMNS = "send_id, cinema, message_id, recipients, sender, state,"
      + " attempts, next_attempt_at, last_error, queued_at, updated_at";

  @Override
  public MailRecord queueMail(MailRecord m) throws StoreException {
    Objects.requireNonNull(m, "mail");
    return write("queue mail", c -> {
      try (PreparedStatement ps = c.prepareStatement("INSERT INTO mail_outbox (" + MAIL_COLUMNS
          + ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (send_id, cinema) DO NOTHING")) {
        bindMail(ps, m);
        if (ps.executeUpdate() == 1) {
          return m;
        }
      }
      return readMails(c, "send_id = ? AND cinema = ?", ps -> {
        ps.setString(1, m.sendId());
        ps.setString(2, m.cinema());
      }, 1).getFirst();
    });
  }

  @Override
  public void updateMail(MailRecord m) throws StoreException {
    Objects.requireNonNull(m, "mail");
    write("update mail", c -> {
      try (PreparedStatement ps = c.prepareStatement("UPDATE mail_outbox SET message_id = ?, recipients = ?,"
          + " sender = ?, state = ?, attempts = ?, next_attempt_at = ?, last_error = ?, queued_at = ?,"
          + " updated_at = ? WHERE send_id = ? AND cinema = ?")) {
        ps.setString(1, m.messageId());
        ps.setString(2, String.join("\n", m.to()));
        ps.setString(3, m.sender());
        ps.setString(4, m.state().wire());
        ps.setInt(5, m.attempts());
        ps.setLong(6, m.nextAttemptAt().toEpochMilli());
        ps.setString(7, m.lastError());
        ps.setLong(8, m.queuedAt().toEpochMilli());
        ps.setLong(9, m.updatedAt().toEpochMilli());
        ps.setString(10, m.sendId());
        ps.setString(11, m.cinema());
        if (ps.executeUpdate() != 1) {
          throw new StoreException(StoreException.Code.NOT_FOUND, "no mail of send " + m.sendId()
              + " to cinema " + Checks.quote(m.cinema()));
        }
      }
      return null;
    });
  }

  @Override
  public List<MailRecord> mailsOfSend(String sendId) throws StoreException {
    Checks.id("send id", sendId);
    return read(c -> readMails(c, "send_id = ? ORDER BY cinema", ps -> ps.setString(1, sendId), MAX_PAGE));
  }

  @Override
  public List<MailRecord> dueMails(Instant now, int limit) throws StoreException {
    Objects.requireNonNull(now, "now");
    int n = page(limit);
    return read(c -> readMails(c, "state = 'queued' AND next_attempt_at <= ?"
        + " ORDER BY next_attempt_at, send_id, cinema", ps -> ps.setLong(1, now.toEpochMilli()), n));
  }

  private interface Binder {
    void bind(PreparedStatement ps) throws SQLException;
  }

  private static List<MailRecord> readMails(Connection c, String where, Binder binder, int limit)
      throws SQLException, StoreException {
    try (PreparedStatement ps = c.prepareStatement("SELECT " + MAIL_COLUMNS + " FROM mail_outbox WHERE "
        + where + " LIMIT " + limit)) {
      binder.bind(ps);
      List<MailRecord> out = new ArrayList<>();
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          try {
            out.add(new MailRecord(rs.getString(1), rs.getString(2), rs.getString(3), lines(rs.getString(4)),
                rs.getString(5), MailRecord.State.ofWire(rs.getString(6)), rs.getInt(7),
                Instant.ofEpochMilli(rs.getLong(8)), rs.getString(9), Instant.ofEpochMilli(rs.getLong(10)),
                Instant.ofEpochMilli(rs.getLong(11))));
          } catch (IllegalArgumentException | NullPointerException e) {
            throw new StoreException(StoreException.Code.STORE_CORRUPT, "a mail outbox row does not decode: "
                + e.getMessage());
          }
        }
      }
      return out;
    }
  }

  private static void bindMail(PreparedStatement ps, MailRecord m) throws SQLException {
    ps.setString(1, m.sendId());
    ps.setString(2, m.cinema());
    ps.setString(3, m.messageId());
    ps.setString(4, String.join("\n", m.to()));
    ps.setString(5, m.sender());
    ps.setString(6, m.state().wire());
    ps.setInt(7, m.attempts());
    ps.setLong(8, m.nextAttemptAt().toEpochMilli());
    ps.setString(9, m.lastError());
    ps.setLong(10, m.queuedAt().toEpochMilli());
    ps.setLong(11, m.updatedAt().toEpochMilli());
  }

  @Override
  public DkdmRecord putDkdm(DkdmRecord d) throws StoreException {
    Objects.requireNonNull(d, "dkdm");
    return write("put dkdm", c -> {
      try (PreparedStatement ps = c.prepareStatement("INSERT OR REPLACE INTO dkdms VALUES (?, ?, ?, ?, ?, ?, ?, ?)")) {
        ps.setString(1, d.messageId());
        ps.setString(2, d.cplId());
        ps.setString(3, d.keySetId());
        ps.setLong(4, d.notValidAfter().getEpochSecond());
        ps.setString(5, d.signerThumbprint());
        ps.setBytes(6, d.sealedContentKeys());
        ps.setBytes(7, d.binding());
        ps.setLong(8, d.ingestedAt().toEpochMilli());
        ps.executeUpdate();
      }
      return d;
    });
  }

  @Override
  public List<DkdmRecord> findDkdms(String cplId) throws StoreException {
    Objects.requireNonNull(cplId, "cplId");
    return read(c -> {
      try (PreparedStatement ps = c.prepareStatement("SELECT message_id, cpl_id, key_set_id, not_valid_after,"
          + " signer_thumbprint, sealed_keys, binding, ingested_at FROM dkdms WHERE cpl_id = ?"
          + " ORDER BY message_id LIMIT 1000")) {
        ps.setString(1, cplId);
        List<DkdmRecord> out = new ArrayList<>();
        try (ResultSet rs = ps.executeQuery()) {
          while (rs.next()) {
            try {
              out.add(new DkdmRecord(rs.getString(1), rs.getString(2), rs.getString(3),
                  Instant.ofEpochSecond(rs.getLong(4)), rs.getString(5), rs.getBytes(6), rs.getBytes(7),
                  Instant.ofEpochMilli(rs.getLong(8))));
            } catch (IllegalArgumentException | NullPointerException e) {
              throw new StoreException(StoreException.Code.STORE_CORRUPT, "a stored DKDM row does not decode");
            }
          }
        }
        return out;
      }
    });
  }

  @Override
  public RulesRecord putRules(RulesRecord r) throws StoreException {
    Objects.requireNonNull(r, "rules");
    return write("put rules", c -> {
      try (PreparedStatement ps = c.prepareStatement("INSERT OR REPLACE INTO studio_rules VALUES (?, ?, ?, ?, ?, ?, ?)")) {
        ps.setString(1, r.cplId());
        ps.setBytes(2, r.statement());
        ps.setBytes(3, r.key());
        ps.setBytes(4, r.signature());
        ps.setBytes(5, r.signerCertificate());
        ps.setBytes(6, r.signerSignature());
        ps.setLong(7, r.storedAt().toEpochMilli());
        ps.executeUpdate();
      }
      return r;
    });
  }

  @Override
  public Optional<RulesRecord> getRules(String cplId) throws StoreException {
    Objects.requireNonNull(cplId, "cplId");
    return read(c -> {
      try (PreparedStatement ps = c.prepareStatement(
          "SELECT cpl_id, statement, key, signature, signer_certificate, signer_signature, stored_at"
          + " FROM studio_rules WHERE cpl_id = ?")) {
        ps.setString(1, cplId);
        try (ResultSet rs = ps.executeQuery()) {
          if (!rs.next()) {
            return Optional.empty();
          }
          try {
            return Optional.of(new RulesRecord(rs.getString(1), rs.getBytes(2), rs.getBytes(3), rs.getBytes(4),
                rs.getBytes(5), rs.getBytes(6), Instant.ofEpochMilli(rs.getLong(7))));
          } catch (IllegalArgumentException | NullPointerException e) {
            throw new StoreException(StoreException.Code.STORE_CORRUPT, "a stored rules row does not decode");
          }
        }
      }
    });
  }

  @Override
  public LegacyKeyRecord putLegacyKey(LegacyKeyRecord k) throws StoreException {
    Objects.requireNonNull(k, "key");
    return write("put legacy key", c -> {
      try (PreparedStatement ps = c.prepareStatement("INSERT OR REPLACE INTO dkdm_keys VALUES (?, ?, ?, ?)")) {
        ps.setString(1, k.id());
        ps.setBytes(2, k.certificate());
        ps.setBytes(3, k.sealedKey());
        ps.setLong(4, k.importedAt().toEpochMilli());
        ps.executeUpdate();
      }
      return k;
    });
  }

  @Override
  public List<LegacyKeyRecord> listLegacyKeys() throws StoreException {
    return read(c -> {
      try (PreparedStatement ps = c.prepareStatement("SELECT id, certificate, sealed_key, imported_at FROM dkdm_keys"
          + " ORDER BY id LIMIT " + LegacyKeyRecord.MAX_KEYS)) {
        List<LegacyKeyRecord> out = new ArrayList<>();
        try (ResultSet rs = ps.executeQuery()) {
          while (rs.next()) {
            try {
              out.add(new LegacyKeyRecord(rs.getString(1), rs.getBytes(2), rs.getBytes(3),
                  Instant.ofEpochMilli(rs.getLong(4))));
            } catch (IllegalArgumentException | NullPointerException e) {
              throw new StoreException(StoreException.Code.STORE_CORRUPT, "a stored legacy key row does not decode");
            }
          }
        }
        return out;
      }
    });
  }

  @Override
  public Optional<CinemaRecord> getCinema(String name) throws StoreException {
    CinemaRecord.checkName("cinema name", name);
    return read(c -> {
      try (PreparedStatement ps = c.prepareStatement(
          "SELECT name, utc_offset, updated_at, emails FROM cinemas WHERE name = ?")) {
        ps.setString(1, name);
        try (ResultSet rs = ps.executeQuery()) {
          if (!rs.next()) {
            return Optional.empty();
          }
          try {
            return Optional.of(new CinemaRecord(rs.getString(1), rs.getString(2),
                Instant.ofEpochMilli(rs.getLong(3)), lines(rs.getString(4))));
          } catch (IllegalArgumentException e) {
            throw new StoreException(StoreException.Code.STORE_CORRUPT, "cinema row: " + e.getMessage());
          }
        }
      }
    });
  }

  @Override
  public ScreenRecord putScreen(ScreenRecord s) throws StoreException {
    Objects.requireNonNull(s, "screen");
    return write("put screen", c -> {
      if (s.cinema() != null) {
        try (PreparedStatement ps = c.prepareStatement("SELECT 1 FROM cinemas WHERE name = ?")) {
          ps.setString(1, s.cinema());
          try (ResultSet rs = ps.executeQuery()) {
            if (!rs.next()) {
              throw new StoreException(StoreException.Code.NOT_FOUND, "cinema "
                  + Checks.quote(s.cinema()) + " is not stored");
            }
          }
        }
      }
      try (PreparedStatement ps = c.prepareStatement("INSERT INTO screens VALUES (?, ?, ?, ?, ?, ?, ?)"
          + " ON CONFLICT (thumbprint) DO UPDATE SET fingerprint = excluded.fingerprint,"
          + " cinema = excluded.cinema, screen_name = excluded.screen_name, chain = excluded.chain,"
          + " trusted_devices = excluded.trusted_devices, registered_at = excluded.registered_at")) {
        ps.setString(1, s.thumbprint());
        ps.setString(2, s.fingerprint());
        ps.setString(3, s.cinema());
        ps.setString(4, s.screenName());
        ps.setBytes(5, ScreenRecord.encodeChain(s.chain()));
        ps.setString(6, String.join(",", s.trustedDevices()));
        ps.setLong(7, s.registeredAt().toEpochMilli());
        ps.executeUpdate();
      }
      return s;
    });
  }

  @Override
  public List<ScreenRecord> findScreens(Collection<String> thumbprints) throws StoreException {
    return selectScreensIn("thumbprint", checkedSet(thumbprints, true));
  }

  @Override
  public List<ScreenRecord> findScreensByFingerprint(Collection<String> fingerprints)
      throws StoreException {
    return selectScreensIn("fingerprint", checkedSet(fingerprints, false));
  }

  /** The distinct values (thumbprints or fingerprints, checked), at most a page of them. */
  static TreeSet<String> checkedSet(Collection<String> values, boolean thumbprints) {
    TreeSet<String> out = new TreeSet<>();
    for (String v : values) {
      if (thumbprints ? !dev.keycast.protocol.policy.SendPolicy.isWellFormedThumbprint(v)
          : !dev.keycast.protocol.Fingerprints.isWellFormed(v)) {
        throw new IllegalArgumentException((thumbprints ? "thumbprint" : "fingerprint")
            + " is malformed: " + Checks.quote(String.valueOf(v)));
      }
      out.add(v);
    }
    if (out.size() > MAX_PAGE) {
      throw new IllegalArgumentException("at most " + MAX_PAGE + " values per lookup");
    }
    return out;
  }

  private List<ScreenRecord> selectScreensIn(String column, TreeSet<String> values)
      throws StoreException {
    if (values.isEmpty()) {
      return List.of();
    }
    return read(c -> {
      String marks = String.join(",", java.util.Collections.nCopies(values.size(), "?"));
      try (PreparedStatement ps = c.prepareStatement("SELECT " + SCREEN_COLUMNS + " FROM screens"
          + " WHERE " + column + " IN (" + marks + ") ORDER BY thumbprint")) {
        int i = 1;
        for (String v : values) {
          ps.setString(i++, v);
        }
        return screens(ps);
      }
    });
  }

  @Override
  public List<ScreenRecord> listScreens(String cinema, String afterThumbprint, int limit)
      throws StoreException {
    int n = page(limit);
    if (cinema != null) {
      CinemaRecord.checkName("cinema name", cinema);
    }
    return read(c -> {
      try (PreparedStatement ps = c.prepareStatement("SELECT " + SCREEN_COLUMNS + " FROM screens"
          + " WHERE " + (cinema == null ? "" : "cinema = ? AND ") + "thumbprint > ?"
          + " ORDER BY thumbprint LIMIT ?")) {
        int i = 1;
        if (cinema != null) {
          ps.setString(i++, cinema);
        }
        ps.setString(i++, afterThumbprint == null ? "" : afterThumbprint);
        ps.setInt(i, n);
        return screens(ps);
      }
    });
  }

  private static List<ScreenRecord> screens(PreparedStatement ps) throws SQLException, StoreException {
    List<ScreenRecord> out = new ArrayList<>();
    try (ResultSet rs = ps.executeQuery()) {
      while (rs.next()) {
        String devices = rs.getString(6);
        try {
          out.add(new ScreenRecord(rs.getString(1), rs.getString(2), rs.getString(3),
              rs.getString(4), ScreenRecord.decodeChain(rs.getBytes(5)),
              devices.isEmpty() ? List.of() : List.of(devices.split(",", -1)),
              Instant.ofEpochMilli(rs.getLong(7))));
        } catch (IllegalArgumentException e) {
          throw new StoreException(StoreException.Code.STORE_CORRUPT, "screen row "
              + Checks.quote(rs.getString(1)) + ": " + e.getMessage());
        }
      }
    }
    return out;
  }

  // ------------------------------------------------------------------ sends

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
      PreparedStatement ps = connections.writerStatement(SqliteRows.INSERT_SEND);
      ps.setString(1, sendId);
      ps.setBytes(2, m.payloadHashUnsafe());
      ps.setBytes(3, m.policyUnsafe());
      ps.setInt(4, m.lateRecipientsAllowed() ? 1 : 0);
      SqliteRows.setInstant(ps, 5, m.notBefore());
      SqliteRows.setInstant(ps, 6, m.notAfter());
      ps.setBytes(7, m.sealedSecretUnsafe());
      ps.setLong(8, Math.max(known, 0));
      ps.setLong(9, m.createdAt().toEpochMilli());
      ps.setBytes(10, r.bytesUnsafe());
      ps.setLong(11, r.createdAt().toEpochMilli());
      if (ps.executeUpdate() == 0) {
        Optional<StoredSend> existing = SqliteRows.selectSendById(connections, c, sendId);
        if (existing.isEmpty()) {
          throw new StoreException(StoreException.Code.CONFLICT, "receipt id " + sendId
              + " is taken");
        }
        if (!MessageDigest.isEqual(existing.get().metadata().payloadHashUnsafe(),
            m.payloadHashUnsafe())) {
          throw new StoreException(StoreException.Code.CONFLICT, "send id " + sendId
              + " is taken by another payload");
        }
        return new SendCommit(existing.get(), SqliteRows.requireReceipt(connections, c, existing.get().receiptId()),
            true);
      }
      long count = 0;
      PreparedStatement dps = connections.writerStatement(SqliteRows.INSERT_DELIVERY);
      // a job that failed half-way may have left rows added to the batch: they are not ours
      dps.clearBatch();
      if (known == 1) {
        // one row: no batch (executeBatch costs more than one step for a single row)
        SqliteRows.bindDelivery(dps, sendId, sendId,
            Checks.derivedDeliveryId(sendId, record.deliveries().iterator().next()));
        dps.executeUpdate();
        count = 1;
      } else {
        int pending = 0;
        for (Iterator<Delivery> it = record.deliveries().iterator(); it.hasNext(); ) {
          SqliteRows.bindDelivery(dps, sendId, sendId, Checks.derivedDeliveryId(sendId, it.next()));
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
        PreparedStatement ups = connections.writerStatement(
            "UPDATE sends SET delivery_count = ? WHERE send_id = ?");
        ups.setLong(1, count);
        ups.setString(2, sendId);
        ups.executeUpdate();
      }
      return new SendCommit(new StoredSend(m, sendId, count), r, false);
    });
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
    return read(c -> {
      Optional<StoredSend> s = SqliteRows.selectSendById(connections, c, sendId);
      if (s.isEmpty()) {
        return List.of();
      }
      List<ReceiptRecord> out = new ArrayList<>();
      out.add(SqliteRows.requireReceipt(connections, c, s.get().receiptId()));
      try (PreparedStatement ps = c.prepareStatement("SELECT receipt_id, send_id, bytes, created_at"
          + " FROM receipts WHERE send_id = ? AND receipt_id <> ? ORDER BY receipt_id")) {
        ps.setString(1, sendId);
        ps.setString(2, s.get().receiptId());
        try (ResultSet rs = ps.executeQuery()) {
          while (rs.next()) {
            out.add(SqliteRows.receipt(rs));
          }
        }
      }
      return out;
    });
  }

  @Override
  public Optional<StoredDelivery> getDelivery(String deliveryId) throws StoreException {
    Checks.id("delivery id", deliveryId);
    return read(c -> {
      PreparedStatement ps = statement(c, "SELECT delivery_id, send_id, receipt_id,"
          + " recipient_fp, format_id, envelope FROM deliveries WHERE delivery_id = ?");
      ps.setString(1, deliveryId);
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next() ? Optional.of(SqliteRows.delivery(rs)) : Optional.empty();
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
            out.add(SqliteRows.delivery(rs));
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
            out.add(SqliteRows.send(rs));
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
      if (SqliteRows.selectSendById(connections, c, f.sendId()).isEmpty()) {
        throw new StoreException(StoreException.Code.NOT_FOUND, "send " + f.sendId()
            + " is not committed");
      }
      Delivery d = Checks.derivedDeliveryId(f.sendId(), f.delivery());
      Optional<String> covering = SqliteRows.deliveryReceipt(connections, c, f.sendId(), f.recipientFingerprint());
      if (covering.isPresent()) {
        return new ForwardCommit(SqliteRows.requireReceipt(connections, c, covering.get()), true);
      }
      // receipt ids are unique across receipts and the send receipts kept in sends
      if (SqliteRows.selectSendById(connections, c, f.receipt().receiptId()).isPresent()) {
        throw new StoreException(StoreException.Code.CONFLICT, "receipt id "
            + f.receipt().receiptId() + " is taken");
      }
      SqliteRows.insertReceipt(c, f.receipt());
      try (PreparedStatement ps = c.prepareStatement(SqliteRows.INSERT_DELIVERY)) {
        SqliteRows.bindDelivery(ps, f.sendId(), f.receipt().receiptId(), d);
        ps.executeUpdate();
      }
      return new ForwardCommit(f.receipt(), false);
    });
  }

  @Override
  public boolean hasDelivery(String sendId, String recipientFingerprint) throws StoreException {
    Checks.id("send id", sendId);
    Checks.fingerprint(recipientFingerprint);
    return read(c -> SqliteRows.deliveryReceipt(connections, c, sendId, recipientFingerprint).isPresent());
  }
}
