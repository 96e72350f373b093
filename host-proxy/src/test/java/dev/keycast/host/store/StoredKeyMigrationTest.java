package dev.keycast.host.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keycast.protocol.api.EnclaveApi.Candidate;
import dev.keycast.protocol.envelope.RecipientKey;
import dev.keycast.protocol.envelope.RecipientKeys;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.KeyPairGenerator;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.Statement;
import java.util.Base64;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Schema version 3 -> 4: recipient keys stored as PEM (by hosts before version 4) become the
 * candidate JSON the enclave consumes, so no send re-spells a key; an old database opens, and what
 * a send attaches for each recipient is the same before and after.
 */
class StoredKeyMigrationTest {
  @TempDir Path dir;

  /** The PEM form hosts before schema 4 stored. */
  static byte[] legacyPem(RecipientKey key) throws Exception {
    Base64.Encoder mime = Base64.getMimeEncoder(64, new byte[] {'\n'});
    StringBuilder b =
        new StringBuilder("-----BEGIN PUBLIC KEY-----\n")
            .append(mime.encodeToString(key.spkiDer()))
            .append("\n-----END PUBLIC KEY-----\n");
    for (var c : key.certificateChain()) {
      b.append("-----BEGIN CERTIFICATE-----\n")
          .append(mime.encodeToString(c.getEncoded()))
          .append("\n-----END CERTIFICATE-----\n");
    }
    return b.toString().getBytes(StandardCharsets.US_ASCII);
  }

  private static String written(byte[] stored) throws Exception {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    StoredKey.writeCandidate(stored, new StoredKey.Scan(), out);
    return out.toString(StandardCharsets.US_ASCII);
  }

  @Test
  void aVersion3DatabaseOpensWithItsPemKeysRewrittenAsCandidates() throws Exception {
    RecipientKey x =
        RecipientKeys.fromSpki(
            KeyPairGenerator.getInstance("X25519").generateKeyPair().getPublic().getEncoded());
    RecipientKey rsa =
        RecipientKeys.fromSpki(
            KeyPairGenerator.getInstance("RSA").generateKeyPair().getPublic().getEncoded());
    byte[] xPem = legacyPem(x);
    byte[] rsaPem = legacyPem(rsa);
    byte[] garbage = {1, 2, 3};
    Path file = dir.resolve("keycast.db");
    try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + file);
        Statement s = c.createStatement()) {
      SqliteMigrationTest.createSchema(s, 3);
      try (PreparedStatement ps =
          c.prepareStatement("INSERT INTO recipients VALUES (?, ?, ?, '{}', 0)")) {
        for (Object[] row :
            new Object[][] {
              {x.fingerprint(), "x25519", xPem},
              {rsa.fingerprint(), "rsa", rsaPem},
              {ArtefactStoreContract.fp("odd"), "rsa", garbage}
            }) {
          ps.setString(1, (String) row[0]);
          ps.setString(2, (String) row[1]);
          ps.setBytes(3, (byte[]) row[2]);
          ps.executeUpdate();
        }
      }
    }
    try (SqliteArtefactStore store = SqliteArtefactStore.open(file)) {
      assertThat(store.schemaVersion()).isEqualTo(SqliteSchema.SCHEMA_VERSION);
      RecipientRecord xr = store.findRecipients(List.of(x.fingerprint())).getFirst();
      RecipientRecord rr = store.findRecipients(List.of(rsa.fingerprint())).getFirst();
      assertThat(xr.publicKeyOrChain()).isEqualTo(StoredKey.encode(x));
      assertThat(rr.publicKeyOrChain()).isEqualTo(StoredKey.encode(rsa));
      // what a send attaches is unchanged by the migration
      assertThat(written(xr.publicKeyOrChain())).isEqualTo(written(xPem));
      assertThat(written(rr.publicKeyOrChain())).isEqualTo(written(rsaPem));
      // a value that was never a key is left as it was
      assertThat(
              store
                  .findRecipients(List.of(ArtefactStoreContract.fp("odd")))
                  .getFirst()
                  .publicKeyOrChain())
          .isEqualTo(garbage);
    }
    try (SqliteArtefactStore store = SqliteArtefactStore.open(file)) {
      assertThat(store.schemaVersion()).isEqualTo(SqliteSchema.SCHEMA_VERSION);
    }
  }

  @Test
  void aStoredKeyCannotInjectJsonIntoTheSendRequest() throws Exception {
    // the store is an attacker: a stored "candidate" that closes its object and adds members or
    // candidates of its own is refused before a byte of it is written
    for (String forged :
        List.of(
            "{\"key\":\"AQID\"},{\"key\":\"BBBB\"}",
            "{\"key\":\"AQID\",\"late\":true}",
            "{\"key\":\"AQ\\\"ID\"}",
            "{\"key\":\"\"}",
            "{\"key\":\"AQID\",\"chain\":[]}",
            "{\"key\":\"AQID\",\"chain\":[\"AQ\"]}]}")) {
      byte[] stored = forged.getBytes(StandardCharsets.US_ASCII);
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      assertThatThrownBy(() -> StoredKey.writeCandidate(stored, new StoredKey.Scan(), out))
          .as(forged)
          .isInstanceOf(IllegalStateException.class);
      assertThat(out.size()).isZero();
    }
    Candidate ok =
        StoredKey.candidate(
            "{\"key\":\"AQID\",\"chain\":[\"AQ\",\"-_\"]}".getBytes(StandardCharsets.US_ASCII));
    assertThat(ok).isEqualTo(new Candidate("AQID", List.of("AQ", "-_")));
  }
}
