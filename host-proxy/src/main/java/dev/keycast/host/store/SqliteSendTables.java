package dev.keycast.host.store;

import java.security.MessageDigest;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Iterator;
import java.util.List;
import java.util.Optional;

/**
 * The SQL of the SQLite store's {@code sends}, {@code receipts} and {@code deliveries} tables:
 * committing a send or a forward and reading them back. Each method runs on a connection the
 * {@link SqliteArtefactStore} hands it (the writer's inside a group commit, or a reader), after the
 * store has checked its arguments.
 *
 * <p>Large sends are inserted in batches of {@value #BATCH} prepared-statement rows inside the one
 * transaction, so a send of 100,000 deliveries costs one WAL sync at commit, not one per delivery.
 */
final class SqliteSendTables {
  private SqliteSendTables() {}

  /** Deliveries per JDBC batch. */
  static final int BATCH = 500;

  static final String SQL_LIST_DELIVERIES =
      "SELECT d.delivery_id, d.send_id, d.receipt_id, d.recipient_fp, d.format_id, d.envelope"
          + " FROM deliveries d WHERE d.recipient_fp = ? AND d.delivery_id > ?"
          + " ORDER BY d.delivery_id LIMIT ?";
  static final String SQL_OPEN_SENDS =
      "SELECT "
          + SqliteRows.sendColumns()
          + " FROM sends WHERE late_allowed = 1 AND send_id > ?"
          + " AND (not_after IS NULL OR not_after > ?) ORDER BY send_id LIMIT ?";

  /** Commits a send on the writer connection (its cached statements are {@code connections}'). */
  static SendCommit commit(SqliteConnections connections, Connection c, SendRecord record)
      throws SQLException, StoreException {
    SendMetadata m = record.metadata();
    ReceiptRecord r = record.receipt();
    String sendId = m.sendId();
    // a collection's count is known before the row is written: no UPDATE of the count afterwards
    long known = record.deliveries() instanceof Collection<?> all ? all.size() : -1;
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
        throw new StoreException(
            StoreException.Code.CONFLICT, "receipt id " + sendId + " is taken");
      }
      if (!MessageDigest.isEqual(
          existing.get().metadata().payloadHashUnsafe(), m.payloadHashUnsafe())) {
        throw new StoreException(
            StoreException.Code.CONFLICT, "send id " + sendId + " is taken by another payload");
      }
      return new SendCommit(
          existing.get(),
          SqliteRows.requireReceipt(connections, c, existing.get().receiptId()),
          true);
    }
    long count = 0;
    PreparedStatement dps = connections.writerStatement(SqliteRows.INSERT_DELIVERY);
    // a job that failed half-way may have left rows added to the batch: they are not ours
    dps.clearBatch();
    if (known == 1) {
      // one row: no batch (executeBatch costs more than one step for a single row)
      SqliteRows.bindDelivery(
          dps,
          sendId,
          sendId,
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
      PreparedStatement ups =
          connections.writerStatement("UPDATE sends SET delivery_count = ? WHERE send_id = ?");
      ups.setLong(1, count);
      ups.setString(2, sendId);
      ups.executeUpdate();
    }
    return new SendCommit(new StoredSend(m, sendId, count), r, false);
  }

  static List<ReceiptRecord> receiptsOf(SqliteConnections connections, Connection c, String sendId)
      throws SQLException, StoreException {
    Optional<StoredSend> s = SqliteRows.selectSendById(connections, c, sendId);
    if (s.isEmpty()) {
      return List.of();
    }
    List<ReceiptRecord> out = new ArrayList<>();
    out.add(SqliteRows.requireReceipt(connections, c, s.get().receiptId()));
    try (PreparedStatement ps =
        c.prepareStatement(
            "SELECT receipt_id, send_id, bytes, created_at"
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
  }

  static Optional<StoredDelivery> delivery(
      SqliteConnections connections, Connection c, String deliveryId) throws SQLException {
    PreparedStatement ps =
        connections.statement(
            c,
            "SELECT delivery_id, send_id, receipt_id,"
                + " recipient_fp, format_id, envelope FROM deliveries WHERE delivery_id = ?");
    ps.setString(1, deliveryId);
    try (ResultSet rs = ps.executeQuery()) {
      return rs.next() ? Optional.of(SqliteRows.delivery(rs)) : Optional.empty();
    }
  }

  static List<StoredDelivery> deliveries(
      Connection c, String recipientFingerprint, String afterDeliveryId, int n)
      throws SQLException {
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
  }

  static List<StoredSend> openSends(Connection c, Instant now, String afterSendId, int n)
      throws SQLException {
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
  }

  static ForwardCommit commitForward(SqliteConnections connections, Connection c, ForwardRecord f)
      throws SQLException, StoreException {
    if (SqliteRows.selectSendById(connections, c, f.sendId()).isEmpty()) {
      throw new StoreException(
          StoreException.Code.NOT_FOUND, "send " + f.sendId() + " is not committed");
    }
    Delivery d = Checks.derivedDeliveryId(f.sendId(), f.delivery());
    Optional<String> covering =
        SqliteRows.deliveryReceipt(connections, c, f.sendId(), f.recipientFingerprint());
    if (covering.isPresent()) {
      return new ForwardCommit(SqliteRows.requireReceipt(connections, c, covering.get()), true);
    }
    // receipt ids are unique across receipts and the send receipts kept in sends
    if (SqliteRows.selectSendById(connections, c, f.receipt().receiptId()).isPresent()) {
      throw new StoreException(
          StoreException.Code.CONFLICT, "receipt id " + f.receipt().receiptId() + " is taken");
    }
    SqliteRows.insertReceipt(c, f.receipt());
    try (PreparedStatement ps = c.prepareStatement(SqliteRows.INSERT_DELIVERY)) {
      SqliteRows.bindDelivery(ps, f.sendId(), f.receipt().receiptId(), d);
      ps.executeUpdate();
    }
    return new ForwardCommit(f.receipt(), false);
  }
}
