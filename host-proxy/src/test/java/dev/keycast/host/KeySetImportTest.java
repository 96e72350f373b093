package dev.keycast.host;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keycast.host.store.SqliteArtefactStore;
import dev.keycast.protocol.Base64Url;
import dev.keycast.protocol.keyset.KeySetVectors;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code --import-sealed-key-set}: the successor host's first key set, into a real SQLite file. */
class KeySetImportTest {
  @TempDir Path tmp;

  private static byte[] adminAnswer(byte[] sealed) {
    return ("{\"sealed_key_set\":\"" + Base64Url.encode(sealed) + "\",\"key_bundle\":{}}")
        .getBytes(StandardCharsets.UTF_8);
  }

  @Test
  void theRewrapAnswerIsStoredAsTheFreshStoresFirstKeySet() throws Exception {
    byte[] sealed = KeySetVectors.goldenSealedKeySet();
    try (SqliteArtefactStore store = SqliteArtefactStore.open(tmp.resolve("k.db"))) {
      assertThat(KeySetImport.importInto(store, adminAnswer(sealed)))
          .isEqualTo(KeySetImport.Outcome.IMPORTED);
      assertThat(store.latestSealedKeySet())
          .hasValueSatisfying(
              k -> {
                assertThat(k.version()).isEqualTo(1);
                assertThat(k.bytes()).isEqualTo(sealed);
              });
      // a restart with the same flag is harmless
      assertThat(KeySetImport.importInto(store, adminAnswer(sealed)))
          .isEqualTo(KeySetImport.Outcome.ALREADY_PRESENT);
    }
  }

  @Test
  void rawAndBase64urlFilesAreAcceptedToo() throws Exception {
    byte[] sealed = KeySetVectors.goldenSealedKeySet();
    try (SqliteArtefactStore a = SqliteArtefactStore.open(tmp.resolve("a.db"));
        SqliteArtefactStore b = SqliteArtefactStore.open(tmp.resolve("b.db"))) {
      KeySetImport.importInto(a, sealed);
      KeySetImport.importInto(
          b, (Base64Url.encode(sealed) + "\n").getBytes(StandardCharsets.US_ASCII));
      assertThat(a.latestSealedKeySet().orElseThrow().bytes()).isEqualTo(sealed);
      assertThat(b.latestSealedKeySet().orElseThrow().bytes()).isEqualTo(sealed);
    }
  }

  @Test
  void anImportNeverOverwritesTheKeySetAStoreAlreadyHolds() throws Exception {
    byte[] sealed = KeySetVectors.goldenSealedKeySet();
    byte[] other = sealed.clone();
    other[other.length - 1] ^= 1; // still parses: the last byte is ciphertext
    try (SqliteArtefactStore store = SqliteArtefactStore.open(tmp.resolve("k.db"))) {
      store.putSealedKeySet(1, other);
      assertThatThrownBy(() -> KeySetImport.importInto(store, adminAnswer(sealed)))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("already holds key set version 1");
      assertThat(store.latestSealedKeySet().orElseThrow().bytes()).isEqualTo(other);
    }
  }

  @Test
  void aFileThatIsNotASealedKeySetIsRefusedWithOneLine() throws Exception {
    try (SqliteArtefactStore store = SqliteArtefactStore.open(tmp.resolve("k.db"))) {
      assertThatThrownBy(
              () ->
                  KeySetImport.importInto(
                      store, "{\"key_bundle\":{}}".getBytes(StandardCharsets.UTF_8)))
          .hasMessageContaining("no \"sealed_key_set\"");
      assertThatThrownBy(
              () -> KeySetImport.importInto(store, "hello world".getBytes(StandardCharsets.UTF_8)))
          .hasMessageContaining("not a sealed key set");
      assertThat(store.latestSealedKeySet()).isEmpty();
    }
  }
}
