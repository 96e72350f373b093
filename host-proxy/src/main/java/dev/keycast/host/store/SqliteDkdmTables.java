package dev.keycast.host.store;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The SQL of the SQLite store's distribution tables: ingested DKDMs ({@code dkdms}), studio rules
 * ({@code studio_rules}) and imported legacy DKDM keys ({@code dkdm_keys}). Each method runs on a
 * connection the {@link SqliteArtefactStore} hands it, after the store has checked its arguments.
 */
final class SqliteDkdmTables {
  private SqliteDkdmTables() {}

  static DkdmRecord putDkdm(Connection c, DkdmRecord d) throws SQLException {
    try (PreparedStatement ps =
        c.prepareStatement("INSERT OR REPLACE INTO dkdms VALUES (?, ?, ?, ?, ?, ?, ?, ?)")) {
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
  }

  static List<DkdmRecord> findDkdms(Connection c, String cplId)
      throws SQLException, StoreException {
    try (PreparedStatement ps =
        c.prepareStatement(
            "SELECT message_id, cpl_id, key_set_id, not_valid_after,"
                + " signer_thumbprint, sealed_keys, binding, ingested_at FROM dkdms WHERE cpl_id = ?"
                + " ORDER BY message_id LIMIT 1000")) {
      ps.setString(1, cplId);
      List<DkdmRecord> out = new ArrayList<>();
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          try {
            out.add(
                new DkdmRecord(
                    rs.getString(1),
                    rs.getString(2),
                    rs.getString(3),
                    Instant.ofEpochSecond(rs.getLong(4)),
                    rs.getString(5),
                    rs.getBytes(6),
                    rs.getBytes(7),
                    Instant.ofEpochMilli(rs.getLong(8))));
          } catch (IllegalArgumentException | NullPointerException e) {
            throw new StoreException(
                StoreException.Code.STORE_CORRUPT, "a stored DKDM row does not decode");
          }
        }
      }
      return out;
    }
  }

  static RulesRecord putRules(Connection c, RulesRecord r) throws SQLException {
    try (PreparedStatement ps =
        c.prepareStatement("INSERT OR REPLACE INTO studio_rules VALUES (?, ?, ?, ?, ?, ?, ?)")) {
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
  }

  static Optional<RulesRecord> getRules(Connection c, String cplId)
      throws SQLException, StoreException {
    try (PreparedStatement ps =
        c.prepareStatement(
            "SELECT cpl_id, statement, key, signature, signer_certificate, signer_signature, stored_at"
                + " FROM studio_rules WHERE cpl_id = ?")) {
      ps.setString(1, cplId);
      try (ResultSet rs = ps.executeQuery()) {
        if (!rs.next()) {
          return Optional.empty();
        }
        try {
          return Optional.of(
              new RulesRecord(
                  rs.getString(1),
                  rs.getBytes(2),
                  rs.getBytes(3),
                  rs.getBytes(4),
                  rs.getBytes(5),
                  rs.getBytes(6),
                  Instant.ofEpochMilli(rs.getLong(7))));
        } catch (IllegalArgumentException | NullPointerException e) {
          throw new StoreException(
              StoreException.Code.STORE_CORRUPT, "a stored rules row does not decode");
        }
      }
    }
  }

  static LegacyKeyRecord putLegacyKey(Connection c, LegacyKeyRecord k) throws SQLException {
    try (PreparedStatement ps =
        c.prepareStatement("INSERT OR REPLACE INTO dkdm_keys VALUES (?, ?, ?, ?)")) {
      ps.setString(1, k.id());
      ps.setBytes(2, k.certificate());
      ps.setBytes(3, k.sealedKey());
      ps.setLong(4, k.importedAt().toEpochMilli());
      ps.executeUpdate();
    }
    return k;
  }

  static List<LegacyKeyRecord> listLegacyKeys(Connection c) throws SQLException, StoreException {
    try (PreparedStatement ps =
        c.prepareStatement(
            "SELECT id, certificate, sealed_key, imported_at FROM dkdm_keys"
                + " ORDER BY id LIMIT "
                + LegacyKeyRecord.MAX_KEYS)) {
      List<LegacyKeyRecord> out = new ArrayList<>();
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          try {
            out.add(
                new LegacyKeyRecord(
                    rs.getString(1),
                    rs.getBytes(2),
                    rs.getBytes(3),
                    Instant.ofEpochMilli(rs.getLong(4))));
          } catch (IllegalArgumentException | NullPointerException e) {
            throw new StoreException(
                StoreException.Code.STORE_CORRUPT, "a stored legacy key row does not decode");
          }
        }
      }
      return out;
    }
  }
}
