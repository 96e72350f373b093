package dev.keycast.host.store;

import static dev.keycast.host.store.ArtefactStoreContract.T0;
import static dev.keycast.host.store.ArtefactStoreContract.bytes;
import static dev.keycast.host.store.ArtefactStoreContract.fp;
import static dev.keycast.host.store.ArtefactStoreContract.id;
import static dev.keycast.host.store.ArtefactStoreContract.sha256;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Schema version 1 -> 2: a database written by the version-1 store (its schema, its rows: a send's
 * receipt in {@code receipts}, a unique index on (send, recipient)) is migrated in place and every
 * send, receipt, forward and delivery is found afterwards, by every read and by the write paths
 * that look them up (replay, forward replay).
 */
class SqliteMigrationTest {

  @TempDir Path dir;

  Path file() {
    return dir.resolve("keycast.db");
  }

  /** Creates the schema of {@code version} in an empty database, as that version's store did. */
  static void createSchema(Statement s, int version) throws SQLException {
    s.execute("PRAGMA journal_mode = WAL");
    s.execute(
        "CREATE TABLE schema_version (version INTEGER PRIMARY KEY,"
            + " applied_at INTEGER NOT NULL)");
    for (int v = 0; v < version; v++) {
      for (String sql : SqliteSchema.migration(v)) {
        s.execute(sql);
      }
      s.execute("INSERT INTO schema_version VALUES (" + (v + 1) + ", 0)");
    }
  }

  /** Writes a schema-1 database as the version-1 store did, rows included. */
  void writeVersion1(boolean tamperDeliveryId) throws Exception {
    try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + file());
        Statement s = c.createStatement()) {
      createSchema(s, 1);
      s.execute("INSERT INTO recipients VALUES ('" + fp("r1") + "', 'x25519', x'01', '{}', 0)");
      for (String send : List.of("s1", "s2")) {
        try (PreparedStatement ps =
            c.prepareStatement("INSERT INTO sends VALUES (?, ?, ?, 1, NULL, NULL, ?, ?, ?, ?)")) {
          ps.setString(1, send);
          ps.setBytes(2, sha256("payload-" + send));
          ps.setBytes(3, bytes("{\"policy\":\"" + send + "\"}"));
          ps.setBytes(4, bytes("sealed-" + send));
          ps.setString(5, send); // the enclave's receipt id of a send is its send id
          ps.setLong(6, 2);
          ps.setLong(7, T0.toEpochMilli());
          ps.executeUpdate();
        }
        receipt(c, send, send);
        delivery(c, send, send, "a", tamperDeliveryId && send.equals("s2"));
        delivery(c, send, send, "b", false);
      }
      receipt(c, "s1-f1", "s1"); // a forward of s1 to "late"
      delivery(c, "s1", "s1-f1", "late", false);
    }
  }

  static void receipt(Connection c, String receiptId, String sendId) throws Exception {
    try (PreparedStatement ps = c.prepareStatement("INSERT INTO receipts VALUES (?, ?, ?, ?)")) {
      ps.setString(1, receiptId);
      ps.setString(2, sendId);
      ps.setBytes(3, bytes("receipt " + receiptId));
      ps.setLong(4, T0.toEpochMilli());
      ps.executeUpdate();
    }
  }

  static void delivery(Connection c, String sendId, String receiptId, String seed, boolean tamper)
      throws Exception {
    try (PreparedStatement ps =
        c.prepareStatement("INSERT INTO deliveries VALUES (?, ?, ?, ?, ?, ?)")) {
      ps.setString(1, tamper ? "0".repeat(32) : id(sendId, seed));
      ps.setString(2, sendId);
      ps.setString(3, receiptId);
      ps.setString(4, fp(seed));
      ps.setString(5, "hpke-v1");
      ps.setBytes(6, bytes("envelope " + sendId + " " + seed));
      ps.executeUpdate();
    }
  }

  @Test
  void version1DataIsFoundAfterTheMigration() throws Exception {
    writeVersion1(false);
    try (SqliteArtefactStore store = SqliteArtefactStore.open(file())) {
      assertThat(store.schemaVersion()).isEqualTo(SqliteSchema.SCHEMA_VERSION);
      assertThat(indexes())
          .contains("deliveries_by_recipient", "receipts_by_send")
          .doesNotContain("deliveries_by_send_recipient");
      assertThat(uniqueIndexColumns("sends")).containsExactly(List.of("send_id"));
      assertThat(store.writerPragma("foreign_keys")).isEqualTo("1");

      StoredSend s1 = store.getSend("s1").orElseThrow();
      assertThat(s1.receiptId()).isEqualTo("s1");
      assertThat(s1.deliveryCount()).isEqualTo(2);
      assertThat(s1.metadata().sealedSecret()).isEqualTo(bytes("sealed-s1"));
      assertThat(store.findSend("s2", sha256("payload-s2")).orElseThrow().sendId()).isEqualTo("s2");
      assertThat(store.getReceipt("s1").orElseThrow().bytes()).isEqualTo(bytes("receipt s1"));
      assertThat(store.getReceipt("s1-f1").orElseThrow().sendId()).isEqualTo("s1");
      assertThat(store.receiptsForSend("s1"))
          .extracting(ReceiptRecord::receiptId)
          .containsExactly("s1", "s1-f1");
      assertThat(store.receiptsForSend("s2"))
          .extracting(ReceiptRecord::receiptId)
          .containsExactly("s2");
      for (String send : List.of("s1", "s2")) {
        for (String seed : List.of("a", "b")) {
          StoredDelivery d = store.getDelivery(id(send, seed)).orElseThrow();
          assertThat(d.sendId()).isEqualTo(send);
          assertThat(d.receiptId()).isEqualTo(send);
          assertThat(d.delivery().envelope()).isEqualTo(bytes("envelope " + send + " " + seed));
          assertThat(store.hasDelivery(send, fp(seed))).isTrue();
        }
      }
      assertThat(store.hasDelivery("s1", fp("late"))).isTrue();
      assertThat(store.hasDelivery("s2", fp("late"))).isFalse();
      assertThat(store.getDelivery(id("s1", "late")).orElseThrow().receiptId()).isEqualTo("s1-f1");
      assertThat(store.listDeliveries(fp("a"), null, 10))
          .extracting(StoredDelivery::deliveryId)
          .containsExactlyElementsOf(sorted(id("s1", "a"), id("s2", "a")));
      assertThat(store.sealedSecretsOpenForLateRecipients(T0, null, 10))
          .extracting(StoredSend::sendId)
          .containsExactly("s1", "s2");
      assertThat(store.findRecipients(List.of(fp("r1")))).hasSize(1);

      // the write paths find the old rows: a retried payload replays with the old receipt, a
      // forward to a recipient the send reached replays with the covering receipt
      SendCommit again =
          store.commitSend(
              new SendRecord(
                  ArtefactStoreContract.meta("s1", "payload-s1", true, null),
                  ArtefactStoreContract.receipt("s1", "s1"),
                  List.of()));
      assertThat(again.replayed()).isTrue();
      assertThat(again.receipt().bytes()).isEqualTo(bytes("receipt s1"));
      ForwardCommit fwd =
          store.commitForward(
              new ForwardRecord(
                  "s1",
                  ArtefactStoreContract.receipt("s1-f2", "s1"),
                  ArtefactStoreContract.delivery("s1", "b", 0)));
      assertThat(fwd.replayed()).isTrue();
      assertThat(fwd.receipt().receiptId()).isEqualTo("s1");
      // a send id already taken by an old receipt-less row is a conflict, a new send works
      assertThat(
              ArtefactStoreContract.code(
                  () ->
                      store.commitSend(
                          new SendRecord(
                              ArtefactStoreContract.meta("s2", "other", true, null),
                              ArtefactStoreContract.receipt("s2", "s2"),
                              List.of()))))
          .isEqualTo(StoreException.Code.CONFLICT);
      store.commitSend(
          ArtefactStoreContract.send(
              "s3", "payload-s3", List.of(ArtefactStoreContract.delivery("s3", "a", 0))));
      assertThat(store.listDeliveries(fp("a"), null, 10)).hasSize(3);
    }
    // and it opens again as version 3 without migrating twice
    try (SqliteArtefactStore store = SqliteArtefactStore.open(file())) {
      assertThat(store.schemaVersion()).isEqualTo(SqliteSchema.SCHEMA_VERSION);
      assertThat(store.getReceipt("s3").orElseThrow().sendId()).isEqualTo("s3");
      assertThat(store.getReceipt("s1").orElseThrow().bytes()).isEqualTo(bytes("receipt s1"));
    }
  }

  @Test
  void aVersion1DeliveryWithoutTheDerivedIdStopsTheMigration() throws Exception {
    writeVersion1(true);
    assertThat(ArtefactStoreContract.code(() -> SqliteArtefactStore.open(file())))
        .isEqualTo(StoreException.Code.STORE_CORRUPT);
    // nothing of the migration was applied: still version 1 with its unique index
    assertThat(indexes()).contains("deliveries_by_send_recipient");
    try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + file());
        Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT max(version) FROM schema_version")) {
      rs.next();
      assertThat(rs.getInt(1)).isEqualTo(1);
    }
  }

  /** Writes a schema-2 database as the version-2 store did: a send's receipt in its row. */
  void writeVersion2(boolean danglingDelivery) throws Exception {
    try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + file());
        Statement s = c.createStatement()) {
      createSchema(s, 2);
      for (String send : List.of("s1", "s2")) {
        try (PreparedStatement ps =
            c.prepareStatement(
                "INSERT INTO sends (send_id, payload_hash,"
                    + " policy, late_allowed, not_before, not_after, sealed_secret, receipt_id,"
                    + " delivery_count, created_at, receipt, receipt_at)"
                    + " VALUES (?, ?, ?, ?, NULL, NULL, ?, ?, 1, ?, ?, ?)")) {
          ps.setString(1, send);
          ps.setBytes(2, sha256("payload-" + send));
          ps.setBytes(3, bytes("{\"policy\":\"" + send + "\"}"));
          ps.setInt(4, send.equals("s1") ? 1 : 0);
          ps.setBytes(5, bytes("sealed-" + send));
          ps.setString(6, send);
          ps.setLong(7, T0.toEpochMilli());
          ps.setBytes(8, bytes("receipt " + send));
          ps.setLong(9, T0.toEpochMilli());
          ps.executeUpdate();
        }
        delivery(c, send, send, "a", false);
      }
      receipt(c, "s1-f1", "s1"); // a forward of s1 to "late"
      delivery(c, "s1", "s1-f1", "late", false);
      if (danglingDelivery) { // foreign keys are off on this connection (SQLite's default)
        delivery(c, "s-missing", "s-missing", "a", false);
      }
    }
  }

  @Test
  void version2SendsLoseThePayloadHashIndexAndKeepEverything() throws Exception {
    writeVersion2(false);
    assertThat(uniqueIndexColumns("sends"))
        .containsExactlyInAnyOrder(List.of("send_id"), List.of("payload_hash"));
    try (SqliteArtefactStore store = SqliteArtefactStore.open(file())) {
      assertThat(store.schemaVersion()).isEqualTo(SqliteSchema.SCHEMA_VERSION);
      assertThat(store.writerPragma("foreign_keys")).isEqualTo("1");
      for (String send : List.of("s1", "s2")) {
        StoredSend s = store.getSend(send).orElseThrow();
        assertThat(s.metadata().payloadHash()).isEqualTo(sha256("payload-" + send));
        assertThat(s.metadata().sealedSecret()).isEqualTo(bytes("sealed-" + send));
        assertThat(s.deliveryCount()).isEqualTo(1);
        assertThat(store.findSend(send, sha256("payload-" + send))).contains(s);
        assertThat(store.getReceipt(send).orElseThrow().bytes())
            .isEqualTo(bytes("receipt " + send));
        assertThat(store.getDelivery(id(send, "a")).orElseThrow().sendId()).isEqualTo(send);
      }
      assertThat(store.receiptsForSend("s1"))
          .extracting(ReceiptRecord::receiptId)
          .containsExactly("s1", "s1-f1");
      assertThat(store.sealedSecretsOpenForLateRecipients(T0, null, 10))
          .extracting(StoredSend::sendId)
          .containsExactly("s1");
      assertThat(store.hasDelivery("s1", fp("late"))).isTrue();
      // a retry replays, another payload under a taken id is a conflict, a new send works
      assertThat(
              store
                  .commitSend(ArtefactStoreContract.send("s2", "payload-s2", List.of()))
                  .replayed())
          .isTrue();
      assertThat(
              ArtefactStoreContract.code(
                  () ->
                      store.commitSend(
                          ArtefactStoreContract.send("s2", "payload-other", List.of()))))
          .isEqualTo(StoreException.Code.CONFLICT);
      store.commitSend(
          ArtefactStoreContract.send(
              "s3", "payload-s3", List.of(ArtefactStoreContract.delivery("s3", "a", 0))));
      assertThat(store.listDeliveries(fp("a"), null, 10)).hasSize(3);
    }
    // the foreign keys of deliveries and receipts name the new table
    assertThat(uniqueIndexColumns("sends")).containsExactly(List.of("send_id"));
    try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + file());
        Statement s = c.createStatement()) {
      s.execute("PRAGMA foreign_keys = ON");
      assertThatThrownBy(() -> delivery(c, "s-missing", "s-missing", "b", false))
          .isInstanceOf(java.sql.SQLException.class)
          .hasMessageContaining("FOREIGN KEY");
      try (ResultSet rs = s.executeQuery("PRAGMA foreign_key_check")) {
        assertThat(rs.next()).isFalse();
      }
    }
  }

  @Test
  void aDanglingReferenceStopsTheMigrationToVersion3() throws Exception {
    writeVersion2(true);
    assertThat(ArtefactStoreContract.code(() -> SqliteArtefactStore.open(file())))
        .isEqualTo(StoreException.Code.STORE_CORRUPT);
    // nothing of the migration was applied: still version 2 with the payload hash index
    assertThat(uniqueIndexColumns("sends"))
        .containsExactlyInAnyOrder(List.of("send_id"), List.of("payload_hash"));
    try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + file());
        Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT max(version) FROM schema_version")) {
      rs.next();
      assertThat(rs.getInt(1)).isEqualTo(2);
    }
  }

  /** The columns of each unique index of {@code table} (primary key and UNIQUE included). */
  List<List<String>> uniqueIndexColumns(String table) throws Exception {
    List<List<String>> out = new ArrayList<>();
    try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + file());
        Statement s = c.createStatement()) {
      List<String> unique = new ArrayList<>();
      try (ResultSet rs = s.executeQuery("PRAGMA index_list(" + table + ")")) {
        while (rs.next()) {
          if (rs.getInt("unique") == 1) {
            unique.add(rs.getString("name"));
          }
        }
      }
      for (String index : unique) {
        List<String> columns = new ArrayList<>();
        try (ResultSet rs = s.executeQuery("PRAGMA index_info(\"" + index + "\")")) {
          while (rs.next()) {
            columns.add(rs.getString("name"));
          }
        }
        out.add(columns);
      }
    }
    return out;
  }

  List<String> indexes() throws Exception {
    List<String> out = new ArrayList<>();
    try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + file());
        Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT name FROM sqlite_master WHERE type = 'index'")) {
      while (rs.next()) {
        out.add(rs.getString(1));
      }
    }
    return out;
  }

  /** Version 4 -> 5 adds the cinema and screen tables; every earlier row stays as it was. */
  @Test
  void version4DatabaseGainsCinemasAndScreensAndKeepsItsRows() throws Exception {
    try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + file());
        Statement s = c.createStatement()) {
      createSchema(s, 4);
      s.execute("INSERT INTO recipients VALUES ('" + fp("r1") + "', 'x25519', x'01', '{}', 0)");
    }
    assertThat(indexes()).doesNotContain("screens_by_fingerprint", "screens_by_cinema");
    try (SqliteArtefactStore store = SqliteArtefactStore.open(file())) {
      assertThat(store.schemaVersion()).isEqualTo(SqliteSchema.SCHEMA_VERSION);
      assertThat(store.findRecipients(List.of(fp("r1")))).hasSize(1);
      store.putCinema(new CinemaRecord("Paris Rex", "+01:00", T0));
      ScreenRecord screen = ArtefactStoreContract.screen("a", "Paris Rex", "key-a");
      store.putScreen(screen);
      assertThat(store.listScreens("Paris Rex", null, 10)).containsExactly(screen);
    }
    assertThat(indexes()).contains("screens_by_fingerprint", "screens_by_cinema");
    try (SqliteArtefactStore again = SqliteArtefactStore.open(file())) {
      assertThat(again.schemaVersion()).isEqualTo(SqliteSchema.SCHEMA_VERSION);
      assertThat(again.findScreensByFingerprint(List.of(fp("key-a")))).hasSize(1);
    }
  }

  @Test
  void version5DatabaseGainsSenderSetsAndKeepsItsRows() throws Exception {
    try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + file());
        Statement s = c.createStatement()) {
      createSchema(s, 5);
      s.execute("INSERT INTO key_sets VALUES (1, x'0102', 0)");
      s.execute("INSERT INTO recipients VALUES ('" + fp("r1") + "', 'x25519', x'01', '{}', 0)");
    }
    try (SqliteArtefactStore store = SqliteArtefactStore.open(file())) {
      assertThat(store.schemaVersion()).isEqualTo(SqliteSchema.SCHEMA_VERSION);
      assertThat(store.latestSealedKeySet().orElseThrow().version()).isEqualTo(1);
      assertThat(store.findRecipients(List.of(fp("r1")))).hasSize(1);
      assertThat(store.latestSealedSenderSet()).isEmpty(); // the host then imports --sender-state
      store.putSealedSenderSet(1, new byte[] {7});
    }
    try (SqliteArtefactStore again = SqliteArtefactStore.open(file())) {
      assertThat(again.schemaVersion()).isEqualTo(SqliteSchema.SCHEMA_VERSION);
      assertThat(again.latestSealedSenderSet().orElseThrow().bytes()).containsExactly(7);
    }
  }

  /** Version 6 -> 7 adds the DKDM table (issue 25); the cinemas, screens and recipients stay. */
  @Test
  void version6DatabaseGainsDkdmsAndKeepsItsRows() throws Exception {
    try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + file());
        Statement s = c.createStatement()) {
      createSchema(s, 6);
      s.execute("INSERT INTO recipients VALUES ('" + fp("r1") + "', 'x25519', x'01', '{}', 0)");
      s.execute("INSERT INTO cinemas VALUES ('Paris Rex', '+01:00', 0)");
    }
    assertThat(indexes()).doesNotContain("dkdms_by_cpl");
    DkdmRecord d =
        ArtefactStoreContract.dkdm(
            "aaaaaaaa-0000-0000-0000-000000000001",
            "11111111-2222-3333-4444-555555555555",
            "sealed");
    try (SqliteArtefactStore store = SqliteArtefactStore.open(file())) {
      assertThat(store.schemaVersion()).isEqualTo(SqliteSchema.SCHEMA_VERSION);
      assertThat(store.findRecipients(List.of(fp("r1")))).hasSize(1);
      assertThat(store.getCinema("Paris Rex")).isPresent();
      store.putDkdm(d);
    }
    assertThat(indexes()).contains("dkdms_by_cpl");
    try (SqliteArtefactStore again = SqliteArtefactStore.open(file())) {
      assertThat(again.findDkdms(d.cplId())).containsExactly(d);
    }
  }

  /**
   * Version 7 -> 10 (the mail migration is 9 -> 10) gives cinemas their e-mail addresses (none for the old ones) and adds the KDM
   * mail outbox (issue 25); the cinemas, screens and DKDMs stay.
   */
  @Test
  void version7DatabaseGainsCinemaAddressesAndTheMailOutboxAndKeepsItsRows() throws Exception {
    try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + file());
        Statement s = c.createStatement()) {
      createSchema(s, 7);
      s.execute("INSERT INTO cinemas VALUES ('Paris Rex', '+01:00', 0)");
    }
    assertThat(indexes()).doesNotContain("mail_outbox_due");
    MailRecord m = ArtefactStoreContract.mail("send-1", "Paris Rex", T0);
    try (SqliteArtefactStore store = SqliteArtefactStore.open(file())) {
      assertThat(store.schemaVersion()).isEqualTo(SqliteSchema.SCHEMA_VERSION);
      CinemaRecord rex = store.getCinema("Paris Rex").orElseThrow();
      assertThat(rex.utcOffset()).isEqualTo("+01:00");
      assertThat(rex.emails()).isEmpty();
      store.putCinema(rex.withEmails(List.of("kdm@rex.example"), T0));
      store.queueMail(m);
    }
    assertThat(indexes()).contains("mail_outbox_due");
    try (SqliteArtefactStore again = SqliteArtefactStore.open(file())) {
      assertThat(again.getCinema("Paris Rex").orElseThrow().emails())
          .containsExactly("kdm@rex.example");
      assertThat(again.mailsOfSend("send-1")).containsExactly(m);
    }
  }

  static List<String> sorted(String... ids) {
    List<String> out = new ArrayList<>(List.of(ids));
    out.sort(null);
    return out;
  }
}
