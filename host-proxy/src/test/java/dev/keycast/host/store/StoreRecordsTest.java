package dev.keycast.host.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Instant;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class StoreRecordsTest {
  static final String FP = "a".repeat(64);

  @ParameterizedTest
  @ValueSource(
      strings = {
        "",
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        "gggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggg",
        "../../etc"
      })
  void badFingerprintsAreRejected(String fp) {
    assertThatThrownBy(() -> new Delivery("d1", fp, "hpke-v1", new byte[1]))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @ParameterizedTest
  @ValueSource(strings = {"", "a/b", "a b", "..", "x?y"})
  void idsThatWouldEscapeAnS3KeyAreRejected(String id) {
    assertThatThrownBy(() -> new Delivery(id, FP, "hpke-v1", new byte[1]))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> new ReceiptRecord(id, "s1", new byte[1], Instant.EPOCH))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void lengthsAreCappedAndArraysCopied() {
    assertThatThrownBy(() -> new Delivery("d1", FP, "hpke-v1", new byte[(1 << 20) + 1]))
        .hasMessageContaining("limit");
    byte[] env = {1, 2, 3};
    Delivery d = new Delivery("d1", FP, "hpke-v1", env);
    env[0] = 9;
    assertThat(d.envelope()[0]).isEqualTo((byte) 1);
    d.envelope()[1] = 9;
    assertThat(d.envelope()[1]).isEqualTo((byte) 2);
  }

  @Test
  void aSendsReceiptIdIsItsSendId() {
    // api.md 1.1 step 8; the SQLite store keeps a send's receipt in the send's row by that id
    SendMetadata m = ArtefactStoreContract.meta("s1", "p1", false, null);
    assertThatThrownBy(
            () ->
                new SendRecord(m, ArtefactStoreContract.receipt("s1-r", "s1"), java.util.List.of()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("receipt id must be its send id");
    assertThatThrownBy(
            () -> new SendRecord(m, ArtefactStoreContract.receipt("s2", "s2"), java.util.List.of()))
        .isInstanceOf(IllegalArgumentException.class);
    assertThat(
            new SendRecord(m, ArtefactStoreContract.receipt("s1", "s1"), java.util.List.of())
                .sendId())
        .isEqualTo("s1");
  }

  @Test
  void toStringShowsNoStoredBytes() {
    SendMetadata m =
        new SendMetadata(
            "s1",
            new byte[32],
            "{\"p\":1}".getBytes(),
            true,
            null,
            null,
            "SEALEDSECRET".getBytes(),
            Instant.EPOCH);
    assertThat(m.toString()).doesNotContain("SEALEDSECRET").doesNotContain("[B@");
    RecipientRecord r =
        new RecipientRecord(FP, "rsa", "KEYBYTES".getBytes(), Map.of(), Instant.EPOCH);
    assertThat(r.toString()).doesNotContain("KEYBYTES");
  }

  @Test
  void recordsWithEqualBytesAreEqual() {
    assertThat(new StoredKeySet(1, new byte[] {1})).isEqualTo(new StoredKeySet(1, new byte[] {1}));
    assertThat(new StoredKeySet(1, new byte[] {1}))
        .isNotEqualTo(new StoredKeySet(1, new byte[] {2}));
  }

  @Test
  void badKindAndWindowAreRejected() {
    assertThatThrownBy(() -> new RecipientRecord(FP, "dsa", new byte[1], Map.of(), Instant.EPOCH))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(
            () ->
                new SendMetadata(
                    "s1",
                    new byte[32],
                    new byte[0],
                    true,
                    Instant.ofEpochSecond(10),
                    Instant.ofEpochSecond(10),
                    new byte[0],
                    Instant.EPOCH))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(
            () ->
                new SendMetadata(
                    "s1", new byte[31], new byte[0], true, null, null, new byte[0], Instant.EPOCH))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void codesAreStable() {
    assertThat(new StoreException(StoreException.Code.STORE_FULL, "x").code().id())
        .isEqualTo("store_full");
    assertThat(StoreException.Code.STORE_UNAVAILABLE.id()).isEqualTo("store_unavailable");
    assertThat(StoreException.Code.CONFLICT.id()).isEqualTo("conflict");
  }
}
