package dev.keycast.host.store;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.Optional;

/**
 * The SQL of the SQLite store's {@code key_sets} and {@code sender_sets} tables (the sealed key
 * set and sender set, versioned, never overwritten). Each method runs on a connection the
 * {@link SqliteArtefactStore} hands it.
 */
final class SqliteSealedSets {
  private SqliteSealedSets() {}

  static void putKeySet(Connection c, StoredKeySet k) throws SQLException, StoreException {
    int version = k.version();
    try (PreparedStatement ps = c.prepareStatement("SELECT 1 FROM key_sets WHERE version = ?")) {
      ps.setInt(1, version);
      try (ResultSet rs = ps.executeQuery()) {
        if (rs.next()) {
          throw new StoreException(
              StoreException.Code.CONFLICT,
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
  }

  static Optional<StoredKeySet> latestKeySet(Connection c) throws SQLException {
    try (PreparedStatement ps =
            c.prepareStatement(
                "SELECT version, bytes FROM key_sets ORDER BY version DESC LIMIT 1");
        ResultSet rs = ps.executeQuery()) {
      return rs.next()
          ? Optional.of(new StoredKeySet(rs.getInt(1), rs.getBytes(2)))
          : Optional.empty();
    }
  }

  static void putSenderSet(Connection c, StoredSenderSet k) throws SQLException, StoreException {
    long version = k.version();
    try (PreparedStatement ps =
        c.prepareStatement(
            "INSERT INTO sender_sets VALUES (?, ?, ?) ON CONFLICT (version) DO NOTHING")) {
      ps.setLong(1, version);
      ps.setBytes(2, k.bytes());
      ps.setLong(3, System.currentTimeMillis());
      if (ps.executeUpdate() == 0) {
        throw new StoreException(
            StoreException.Code.CONFLICT,
            "sealed sender set version " + version + " already exists");
      }
    }
  }

  static Optional<StoredSenderSet> latestSenderSet(Connection c) throws SQLException {
    try (PreparedStatement ps =
            c.prepareStatement(
                "SELECT version, bytes FROM sender_sets ORDER BY version DESC LIMIT 1");
        ResultSet rs = ps.executeQuery()) {
      return rs.next()
          ? Optional.of(new StoredSenderSet(rs.getLong(1), rs.getBytes(2)))
          : Optional.empty();
    }
  }
}
