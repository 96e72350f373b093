package dev.keycast.host.store;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import java.util.TreeSet;

/**
 * The SQL of the SQLite store's {@code cinemas} and {@code screens} tables: each method runs on a
 * connection the {@link SqliteArtefactStore} hands it (the writer's inside a group commit, or a
 * reader), after the store has checked its arguments.
 */
final class SqliteScreenTables {
  private SqliteScreenTables() {}

  private static final String SCREEN_COLUMNS =
      "thumbprint, fingerprint, cinema, screen_name, chain, trusted_devices, registered_at";

  static CinemaRecord putCinema(Connection c, CinemaRecord cinema) throws SQLException {
    try (PreparedStatement ps =
        c.prepareStatement(
            "INSERT INTO cinemas (name, utc_offset, updated_at,"
                + " emails) VALUES (?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET utc_offset = excluded.utc_offset,"
                + " updated_at = excluded.updated_at, emails = excluded.emails")) {
      ps.setString(1, cinema.name());
      ps.setString(2, cinema.utcOffset());
      ps.setLong(3, cinema.updatedAt().toEpochMilli());
      ps.setString(4, String.join("\n", cinema.emails()));
      ps.executeUpdate();
    }
    return cinema;
  }

  static Optional<CinemaRecord> getCinema(Connection c, String name)
      throws SQLException, StoreException {
    try (PreparedStatement ps =
        c.prepareStatement(
            "SELECT name, utc_offset, updated_at, emails FROM cinemas WHERE name = ?")) {
      ps.setString(1, name);
      try (ResultSet rs = ps.executeQuery()) {
        if (!rs.next()) {
          return Optional.empty();
        }
        try {
          return Optional.of(
              new CinemaRecord(
                  rs.getString(1),
                  rs.getString(2),
                  Instant.ofEpochMilli(rs.getLong(3)),
                  SqliteRows.lines(rs.getString(4))));
        } catch (IllegalArgumentException e) {
          throw new StoreException(
              StoreException.Code.STORE_CORRUPT, "cinema row: " + e.getMessage());
        }
      }
    }
  }

  static ScreenRecord putScreen(Connection c, ScreenRecord s) throws SQLException, StoreException {
    if (s.cinema() != null) {
      try (PreparedStatement ps = c.prepareStatement("SELECT 1 FROM cinemas WHERE name = ?")) {
        ps.setString(1, s.cinema());
        try (ResultSet rs = ps.executeQuery()) {
          if (!rs.next()) {
            throw new StoreException(
                StoreException.Code.NOT_FOUND,
                "cinema " + Checks.quote(s.cinema()) + " is not stored");
          }
        }
      }
    }
    try (PreparedStatement ps =
        c.prepareStatement(
            "INSERT INTO screens VALUES (?, ?, ?, ?, ?, ?, ?)"
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
  }

  /** The screens whose {@code column} (thumbprint or fingerprint) is one of {@code values}. */
  static List<ScreenRecord> selectIn(Connection c, String column, TreeSet<String> values)
      throws SQLException, StoreException {
    String marks = String.join(",", Collections.nCopies(values.size(), "?"));
    try (PreparedStatement ps =
        c.prepareStatement(
            "SELECT "
                + SCREEN_COLUMNS
                + " FROM screens"
                + " WHERE "
                + column
                + " IN ("
                + marks
                + ") ORDER BY thumbprint")) {
      int i = 1;
      for (String v : values) {
        ps.setString(i++, v);
      }
      return screens(ps);
    }
  }

  /** A page of screens (of one cinema when {@code cinema} is not null) after a thumbprint. */
  static List<ScreenRecord> list(Connection c, String cinema, String afterThumbprint, int n)
      throws SQLException, StoreException {
    try (PreparedStatement ps =
        c.prepareStatement(
            "SELECT "
                + SCREEN_COLUMNS
                + " FROM screens"
                + " WHERE "
                + (cinema == null ? "" : "cinema = ? AND ")
                + "thumbprint > ?"
                + " ORDER BY thumbprint LIMIT ?")) {
      int i = 1;
      if (cinema != null) {
        ps.setString(i++, cinema);
      }
      ps.setString(i++, afterThumbprint == null ? "" : afterThumbprint);
      ps.setInt(i, n);
      return screens(ps);
    }
  }

  private static List<ScreenRecord> screens(PreparedStatement ps)
      throws SQLException, StoreException {
    List<ScreenRecord> out = new ArrayList<>();
    try (ResultSet rs = ps.executeQuery()) {
      while (rs.next()) {
        String devices = rs.getString(6);
        try {
          out.add(
              new ScreenRecord(
                  rs.getString(1),
                  rs.getString(2),
                  rs.getString(3),
                  rs.getString(4),
                  ScreenRecord.decodeChain(rs.getBytes(5)),
                  devices.isEmpty() ? List.of() : List.of(devices.split(",", -1)),
                  Instant.ofEpochMilli(rs.getLong(7))));
        } catch (IllegalArgumentException e) {
          throw new StoreException(
              StoreException.Code.STORE_CORRUPT,
              "screen row " + Checks.quote(rs.getString(1)) + ": " + e.getMessage());
        }
      }
    }
    return out;
  }
}
