package dev.keycast.host.store;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Types;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Optional;

/**
 * The SQLite store's record codecs: the columns and row statements of each table and the mapping
 * between a row and its record ({@link RecipientRecord}, {@link StoredSend}, {@link ReceiptRecord},
 * {@link StoredDelivery}).
 */
final class SqliteRows {
  private SqliteRows() {}

  static final String RECIPIENT_COLUMNS = "fingerprint, kind, public_key, labels, registered_at";

  static String sendColumns() {
    return "send_id, payload_hash, policy, late_allowed, not_before, not_after, sealed_secret,"
        + " receipt_id, delivery_count, created_at";
  }

  static StoredSend send(ResultSet rs) throws SQLException {
    long nb = rs.getLong(5);
    Instant notBefore = rs.wasNull() ? null : Instant.ofEpochMilli(nb);
    long na = rs.getLong(6);
    Instant notAfter = rs.wasNull() ? null : Instant.ofEpochMilli(na);
    SendMetadata m =
        new SendMetadata(
            rs.getString(1),
            rs.getBytes(2),
            rs.getBytes(3),
            rs.getInt(4) == 1,
            notBefore,
            notAfter,
            rs.getBytes(7),
            Instant.ofEpochMilli(rs.getLong(10)));
    return new StoredSend(m, rs.getString(8), rs.getLong(9));
  }

  static final String SQL_SEND_BY_ID = "SELECT " + sendColumns() + " FROM sends WHERE send_id = ?";

  /**
   * A receipt by id: a send's own receipt from its {@code sends} row (schema 2), any other (a
   * forward's, or a send's of schema 1) from {@code receipts}. A receipt id is in at most one of
   * the two (see {@link SqliteArtefactStore#commitSend} and {@link SqliteArtefactStore#commitForward}).
   */
  static final String SQL_RECEIPT_BY_ID =
      "SELECT receipt_id, send_id, receipt, receipt_at FROM sends"
          + " WHERE send_id = ?1 AND receipt IS NOT NULL"
          + " UNION ALL SELECT receipt_id, send_id, bytes, created_at FROM receipts"
          + " WHERE receipt_id = ?1";

  static ReceiptRecord receipt(ResultSet rs) throws SQLException {
    return new ReceiptRecord(
        rs.getString(1), rs.getString(2), rs.getBytes(3), Instant.ofEpochMilli(rs.getLong(4)));
  }

  static final String INSERT_DELIVERY = "INSERT INTO deliveries VALUES (?, ?, ?, ?, ?, ?)";

  static void bindDelivery(PreparedStatement ps, String sendId, String receiptId, Delivery d)
      throws SQLException {
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
   * one, else a conflict; see {@link SqliteArtefactStore#commitSend}).
   */
  static final String INSERT_SEND =
      "INSERT INTO sends (send_id, payload_hash, policy,"
          + " late_allowed, not_before, not_after, sealed_secret, receipt_id, delivery_count,"
          + " created_at, receipt, receipt_at)"
          + " SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?1, ?8, ?9, ?10, ?11"
          + " WHERE NOT EXISTS (SELECT 1 FROM receipts WHERE receipt_id = ?1)"
          + " ON CONFLICT (send_id) DO NOTHING";

  static void setInstant(PreparedStatement ps, int i, Instant t) throws SQLException {
    if (t == null) {
      ps.setNull(i, Types.INTEGER);
    } else {
      ps.setLong(i, t.toEpochMilli());
    }
  }

  static StoredDelivery delivery(ResultSet rs) throws SQLException {
    return new StoredDelivery(
        rs.getString(2),
        rs.getString(3),
        new Delivery(rs.getString(1), rs.getString(4), rs.getString(5), rs.getBytes(6)));
  }

  static List<RecipientRecord> recipients(ObjectMapper json, PreparedStatement ps)
      throws SQLException, StoreException {
    List<RecipientRecord> out = new ArrayList<>();
    try (ResultSet rs = ps.executeQuery()) {
      while (rs.next()) {
        out.add(
            new RecipientRecord(
                rs.getString(1),
                rs.getString(2),
                rs.getBytes(3),
                LabelsCodec.decode(json, rs.getString(4)),
                Instant.ofEpochMilli(rs.getLong(5))));
      }
    }
    return out;
  }

  // ------------------------------------------------------------------ row lookups

  static List<RecipientRecord> selectRecipients(
      SqliteConnections k, ObjectMapper json, Connection c, Collection<String> fps)
      throws SQLException, StoreException {
    if (fps.size() == 1) {
      // the common case (a one-recipient send, a registration): one cached statement
      PreparedStatement ps =
          k.statement(c, "SELECT " + RECIPIENT_COLUMNS + " FROM recipients WHERE fingerprint = ?");
      ps.setString(1, fps.iterator().next());
      return recipients(json, ps);
    }
    String marks = String.join(",", java.util.Collections.nCopies(fps.size(), "?"));
    try (PreparedStatement ps =
        c.prepareStatement(
            "SELECT "
                + RECIPIENT_COLUMNS
                + " FROM recipients WHERE fingerprint IN ("
                + marks
                + ") ORDER BY fingerprint")) {
      int i = 1;
      for (String fp : fps) {
        ps.setString(i++, fp);
      }
      return recipients(json, ps);
    }
  }

  static Optional<StoredSend> selectSendById(SqliteConnections k, Connection c, String sendId)
      throws SQLException {
    PreparedStatement ps = k.statement(c, SQL_SEND_BY_ID);
    ps.setString(1, sendId);
    try (ResultSet rs = ps.executeQuery()) {
      return rs.next() ? Optional.of(send(rs)) : Optional.empty();
    }
  }

  static Optional<ReceiptRecord> selectReceipt(SqliteConnections k, Connection c, String receiptId)
      throws SQLException {
    PreparedStatement ps = k.statement(c, SQL_RECEIPT_BY_ID);
    ps.setString(1, receiptId);
    try (ResultSet rs = ps.executeQuery()) {
      return rs.next() ? Optional.of(receipt(rs)) : Optional.empty();
    }
  }

  static ReceiptRecord requireReceipt(SqliteConnections k, Connection c, String receiptId)
      throws SQLException, StoreException {
    return selectReceipt(k, c, receiptId)
        .orElseThrow(
            () ->
                new StoreException(
                    StoreException.Code.STORE_CORRUPT, "receipt " + receiptId + " is missing"));
  }

  static void insertReceipt(Connection c, ReceiptRecord r) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement("INSERT INTO receipts VALUES (?, ?, ?, ?)")) {
      ps.setString(1, r.receiptId());
      ps.setString(2, r.sendId());
      ps.setBytes(3, r.bytesUnsafe());
      ps.setLong(4, r.createdAt().toEpochMilli());
      ps.executeUpdate();
    }
  }

  /**
   * The receipt covering the recipient's delivery of the send, if any: looked up by the delivery
   * id derived from both (every stored delivery has it), then confirmed by both columns.
   */
  static Optional<String> deliveryReceipt(
      SqliteConnections k, Connection c, String sendId, String fp) throws SQLException {
    PreparedStatement ps =
        k.statement(
            c,
            "SELECT receipt_id FROM deliveries"
                + " WHERE delivery_id = ? AND send_id = ? AND recipient_fp = ?");
    ps.setString(1, dev.keycast.protocol.DeliveryIds.of(sendId, fp));
    ps.setString(2, sendId);
    ps.setString(3, fp);
    try (ResultSet rs = ps.executeQuery()) {
      return rs.next() ? Optional.of(rs.getString(1)) : Optional.empty();
    }
  }

  /** A newline-joined list of addresses (a cinema's or a mail's), capped before it is split. */
  static List<String> lines(String s) {
    if (s == null || s.isEmpty()) {
      return List.of();
    }
    if (s.length() > CinemaRecord.MAX_EMAILS * (CinemaRecord.MAX_EMAIL + 1)) {
      throw new IllegalArgumentException("address list too long");
    }
    return List.of(s.split("\n", -1));
  }
}
