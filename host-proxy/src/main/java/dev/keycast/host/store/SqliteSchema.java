package dev.keycast.host.store;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The SQLite store's schema: its versions, the migration from each to the next, and the
 * procedure that applies the missing ones when a database is opened (old databases open and are
 * brought up to date in one transaction; a newer one is refused).
 */
final class SqliteSchema {
  private SqliteSchema() {}

  /** The schema version this code writes; see {@link #MIGRATIONS}. */
  static final int SCHEMA_VERSION = 10;

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
   * and a retry is recognised by the stored payload hash of that id ({@link SqliteArtefactStore#findSend},
   * {@link SqliteArtefactStore#commitSend}). SQLite cannot drop a column's {@code UNIQUE}, so {@code sends} is copied
   * into a table without it, which replaces it (foreign keys are off for the migration and checked
   * before it commits, see {@link #migrate}).
   *
   * <p>Version 4 stores each recipient's key in the form the enclave consumes, its candidate JSON
   * ({@link StoredKey}), instead of PEM, so that no send re-spells keys. The schema is unchanged;
   * the migration rewrites every {@code recipients.public_key} ({@link #rewriteStoredKeys}).
   *
   * <p>Version 5 adds cinemas and screens (KDM sends, wire-format.md section 9.3): {@code cinemas}
   * (name, UTC offset) and {@code screens} keyed by leaf thumbprint, with indexes by leaf key
   * fingerprint and by cinema. Nothing existing changes; a screen is never a recipient.
   *
   * <p>Version 6 adds {@code sender_sets}: the enclave's sealed sender set (issue 23) by version,
   * kept before in a file beside the store ({@code --sender-state}, imported on start when the
   * store holds none). Nothing existing changes.
   *
   * <p>Version 7 adds {@code dkdms} (issue 25, wire-format.md section 10.5): an ingested DKDM's
   * sealed content keys and binding, keyed by the DKDM's message id, indexed by CPL id. Nothing
   * existing changes.
   *
   * <p>Version 8 adds {@code studio_rules} (issue 25, wire-format.md section 11.1): a studio's
   * signed rules per CPL (statement, key, signature, the DKDM signer's certificate and signature),
   * the latest replacing the earlier. Nothing
   * existing changes.
   *
   * <p>Version 9 adds {@code dkdm_keys} (issue 25, wire-format.md section 10.6): imported legacy
   * DKDM keys, sealed by the enclave, with their certificates. Nothing existing changes.
   *
   * <p>Version 10 adds the KDM mail of issue 25: {@code cinemas.emails} (the cinema's addresses,
   * one per line, empty for none) and {@code mail_outbox}, one row per (send, cinema) e-mail with
   * its Message-ID, addresses, state and retry schedule, indexed by due time for the queued ones.
   * Nothing existing changes; old cinemas have no address.
   */
  private static final List<List<String>> MIGRATIONS =
      List.of(
          List.of(
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
              "CREATE INDEX sends_open_late ON sends (send_id) WHERE late_allowed = 1"),
          // v3 -> v4: data only (rewriteStoredKeys)
          List.of(),
          // v4 -> v5: cinemas and screens
          List.of(
              """
      CREATE TABLE cinemas (
        name       TEXT    PRIMARY KEY CHECK (length(name) BETWEEN 1 AND 64),
        utc_offset TEXT    NOT NULL CHECK (length(utc_offset) = 6),
        updated_at INTEGER NOT NULL) WITHOUT ROWID""",
              """
      CREATE TABLE screens (
        thumbprint      TEXT    PRIMARY KEY CHECK (length(thumbprint) = 28),
        fingerprint     TEXT    NOT NULL CHECK (length(fingerprint) = 64),
        cinema          TEXT    REFERENCES cinemas (name),
        screen_name     TEXT    CHECK (screen_name IS NULL OR length(screen_name) BETWEEN 1 AND 64),
        chain           BLOB    NOT NULL,
        trusted_devices TEXT    NOT NULL,
        registered_at   INTEGER NOT NULL) WITHOUT ROWID""",
              "CREATE INDEX screens_by_fingerprint ON screens (fingerprint, thumbprint)",
              "CREATE INDEX screens_by_cinema ON screens (cinema, thumbprint)"),
          // v5 -> v6: sealed sender sets
          List.of(
              """
      CREATE TABLE sender_sets (
        version    INTEGER PRIMARY KEY CHECK (version >= 1),
        bytes      BLOB    NOT NULL,
        created_at INTEGER NOT NULL)"""),
          // v6 -> v7: ingested DKDMs
          List.of(
              """
      CREATE TABLE dkdms (
        message_id        TEXT    PRIMARY KEY CHECK (length(message_id) = 45),
        cpl_id            TEXT    NOT NULL CHECK (length(cpl_id) = 45),
        key_set_id        TEXT    NOT NULL,
        not_valid_after   INTEGER NOT NULL,
        signer_thumbprint TEXT    NOT NULL CHECK (length(signer_thumbprint) = 28),
        sealed_keys       BLOB    NOT NULL,
        binding           BLOB    NOT NULL,
        ingested_at       INTEGER NOT NULL) WITHOUT ROWID""",
              "CREATE INDEX dkdms_by_cpl ON dkdms (cpl_id, message_id)"),
          // v7 -> v8: studio rules
          List.of(
              """
      CREATE TABLE studio_rules (
        cpl_id     TEXT    PRIMARY KEY CHECK (length(cpl_id) = 45),
        statement  BLOB    NOT NULL,
        key        BLOB    NOT NULL CHECK (length(key) = 32),
        signature  BLOB    NOT NULL CHECK (length(signature) = 64),
        signer_certificate BLOB NOT NULL,
        signer_signature   BLOB NOT NULL,
        stored_at  INTEGER NOT NULL) WITHOUT ROWID"""),
          // v8 -> v9: imported legacy DKDM keys
          List.of(
              """
      CREATE TABLE dkdm_keys (
        id          TEXT    PRIMARY KEY CHECK (length(id) = 41),
        certificate BLOB    NOT NULL,
        sealed_key  BLOB    NOT NULL,
        imported_at INTEGER NOT NULL) WITHOUT ROWID"""),
          // v9 -> v10: cinema e-mail addresses and the KDM mail outbox
          List.of(
              "ALTER TABLE cinemas ADD COLUMN emails TEXT NOT NULL DEFAULT ''",
              """
      CREATE TABLE mail_outbox (
        send_id         TEXT    NOT NULL,
        cinema          TEXT    NOT NULL CHECK (length(cinema) BETWEEN 1 AND 64),
        message_id      TEXT    NOT NULL,
        recipients      TEXT    NOT NULL,
        sender          TEXT    NOT NULL CHECK (length(sender) = 64),
        state           TEXT    NOT NULL CHECK (state IN ('queued', 'sent', 'failed')),
        attempts        INTEGER NOT NULL CHECK (attempts >= 0),
        next_attempt_at INTEGER NOT NULL,
        last_error      TEXT,
        queued_at       INTEGER NOT NULL,
        updated_at      INTEGER NOT NULL,
        PRIMARY KEY (send_id, cinema)) WITHOUT ROWID""",
              "CREATE INDEX mail_outbox_due ON mail_outbox (next_attempt_at, send_id, cinema) WHERE state = 'queued'"));

  /** The statements of migration {@code from} -> {@code from + 1} (tests build old databases). */
  static List<String> migration(int from) {
    return MIGRATIONS.get(from);
  }

  /**
   * Applies the missing migrations in one transaction. Foreign keys are not enforced meanwhile
   * (a migration may replace a table others refer to: SQLite's documented procedure for schema
   * changes it cannot make in place); after a migration {@code PRAGMA foreign_key_check} must find
   * nothing before the transaction commits, and enforcement is back on afterwards, whatever
   * happened.
   */
  static void migrate(Connection writer) throws SQLException, StoreException {
    try (Statement off = writer.createStatement()) {
      off.execute("PRAGMA foreign_keys = OFF");
    }
    try {
      migrateInTransaction(writer);
    } finally {
      try (Statement on = writer.createStatement()) {
        on.execute("PRAGMA foreign_keys = ON");
      }
    }
  }

  private static void migrateInTransaction(Connection writer) throws SQLException, StoreException {
    try (Statement s = writer.createStatement()) {
      s.execute("BEGIN IMMEDIATE");
      s.execute(
          "CREATE TABLE IF NOT EXISTS schema_version ("
              + "version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)");
      int current;
      try (ResultSet rs = s.executeQuery("SELECT coalesce(max(version), 0) FROM schema_version")) {
        current = rs.next() ? rs.getInt(1) : 0;
      }
      if (current > SCHEMA_VERSION) {
        throw new StoreException(
            StoreException.Code.STORE_UNAVAILABLE,
            "database schema version "
                + current
                + " is newer than this code ("
                + SCHEMA_VERSION
                + ")");
      }
      for (int v = current; v < SCHEMA_VERSION; v++) {
        if (v == 1) {
          checkDerivedDeliveryIds(writer);
        }
        if (v == 3) {
          rewriteStoredKeys(writer);
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
            throw new StoreException(
                StoreException.Code.STORE_CORRUPT,
                "cannot migrate to schema"
                    + " version "
                    + SCHEMA_VERSION
                    + ": a row of table "
                    + Checks.quote(rs.getString(1))
                    + " refers to a missing row of "
                    + Checks.quote(rs.getString(3)));
          }
        }
      }
      s.execute("COMMIT");
    } catch (SQLException | StoreException e) {
      rollback(writer);
      throw e;
    }
  }

  /**
   * Migration 1 -> 2 drops the unique index on (send, recipient) because the delivery id is derived
   * from them: check that every stored delivery's id is that derivation before relying on it. A
   * database that holds another id (never written by a Keycast enclave) is refused with
   * {@code store_corrupt} and left at version 1.
   */
  private static void checkDerivedDeliveryIds(Connection writer)
      throws SQLException, StoreException {
    try (Statement s = writer.createStatement();
        ResultSet rs =
            s.executeQuery(
                "SELECT delivery_id, send_id, recipient_fp FROM deliveries ORDER BY rowid")) {
      while (rs.next()) {
        String id = rs.getString(1);
        if (!dev.keycast.protocol.DeliveryIds.matches(id, rs.getString(2), rs.getString(3))) {
          throw new StoreException(
              StoreException.Code.STORE_CORRUPT,
              "cannot migrate to schema "
                  + "version 2: delivery "
                  + Checks.quote(id)
                  + " of send "
                  + Checks.quote(rs.getString(2))
                  + " does not have the derived delivery id");
        }
      }
    }
  }

  /**
   * Migration 3 -> 4: every recipient key stored as PEM becomes its candidate JSON. A value that
   * is neither a usable PEM key nor a candidate (never written by a Keycast host) is left as it
   * is: a send meets it as before (it cannot be attached).
   */
  private static void rewriteStoredKeys(Connection writer) throws SQLException {
    try (PreparedStatement page =
            writer.prepareStatement(
                "SELECT fingerprint, public_key"
                    + " FROM recipients WHERE fingerprint > ? ORDER BY fingerprint LIMIT 1000");
        PreparedStatement update =
            writer.prepareStatement("UPDATE recipients SET public_key = ? WHERE fingerprint = ?")) {
      String after = "";
      while (true) {
        // a page read whole before it is rewritten: no update while a read of the table is open
        List<String> fps = new ArrayList<>();
        List<byte[]> keys = new ArrayList<>();
        page.setString(1, after);
        try (ResultSet rs = page.executeQuery()) {
          while (rs.next()) {
            fps.add(rs.getString(1));
            keys.add(rs.getBytes(2));
          }
        }
        for (int i = 0; i < fps.size(); i++) {
          byte[] candidate;
          try {
            candidate = StoredKey.toCandidateForm(keys.get(i));
          } catch (IllegalStateException e) {
            continue;
          }
          if (!Arrays.equals(candidate, keys.get(i))) {
            update.setBytes(1, candidate);
            update.setString(2, fps.get(i));
            update.executeUpdate();
          }
        }
        if (fps.size() < 1000) {
          return;
        }
        after = fps.getLast();
      }
    }
  }

  private static void rollback(Connection writer) {
    try (Statement s = writer.createStatement()) {
      s.execute("ROLLBACK");
    } catch (SQLException ignored) {
      // nothing of the migration is committed either way
    }
  }
}
