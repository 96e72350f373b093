package dev.keycast.host.store;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * The SQL of the SQLite store's {@code mail_outbox} table (the KDM mails queued per send and
 * cinema): each method runs on a connection the {@link SqliteArtefactStore} hands it, after the
 * store has checked its arguments.
 */
final class SqliteMailOutbox {
  private SqliteMailOutbox() {}

  private static final String MAIL_COLUMNS =
      "send_id, cinema, message_id, recipients, sender, state,"
          + " attempts, next_attempt_at, last_error, queued_at, updated_at";

  /** Binds the parameters of a selection. */
  interface Binder {
    void bind(PreparedStatement ps) throws SQLException;
  }

  /** Queues {@code m} unless a mail of its send and cinema is queued already; returns the stored one. */
  static MailRecord queue(Connection c, MailRecord m) throws SQLException, StoreException {
    try (PreparedStatement ps =
        c.prepareStatement(
            "INSERT INTO mail_outbox ("
                + MAIL_COLUMNS
                + ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (send_id, cinema) DO NOTHING")) {
      bind(ps, m);
      if (ps.executeUpdate() == 1) {
        return m;
      }
    }
    return select(
            c,
            "send_id = ? AND cinema = ?",
            ps -> {
              ps.setString(1, m.sendId());
              ps.setString(2, m.cinema());
            },
            1)
        .getFirst();
  }

  static void update(Connection c, MailRecord m) throws SQLException, StoreException {
    try (PreparedStatement ps =
        c.prepareStatement(
            "UPDATE mail_outbox SET message_id = ?, recipients = ?,"
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
        throw new StoreException(
            StoreException.Code.NOT_FOUND,
            "no mail of send " + m.sendId() + " to cinema " + Checks.quote(m.cinema()));
      }
    }
  }

  /** The mails matching {@code where} (an SQL condition and order, bound by {@code binder}). */
  static List<MailRecord> select(Connection c, String where, Binder binder, int limit)
      throws SQLException, StoreException {
    try (PreparedStatement ps =
        c.prepareStatement(
            "SELECT " + MAIL_COLUMNS + " FROM mail_outbox WHERE " + where + " LIMIT " + limit)) {
      binder.bind(ps);
      List<MailRecord> out = new ArrayList<>();
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          try {
            out.add(
                new MailRecord(
                    rs.getString(1),
                    rs.getString(2),
                    rs.getString(3),
                    SqliteRows.lines(rs.getString(4)),
                    rs.getString(5),
                    MailRecord.State.ofWire(rs.getString(6)),
                    rs.getInt(7),
                    Instant.ofEpochMilli(rs.getLong(8)),
                    rs.getString(9),
                    Instant.ofEpochMilli(rs.getLong(10)),
                    Instant.ofEpochMilli(rs.getLong(11))));
          } catch (IllegalArgumentException | NullPointerException e) {
            throw new StoreException(
                StoreException.Code.STORE_CORRUPT,
                "a mail outbox row does not decode: " + e.getMessage());
          }
        }
      }
      return out;
    }
  }

  private static void bind(PreparedStatement ps, MailRecord m) throws SQLException {
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
}
