package dev.keycast.host;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.keycast.host.store.ArtefactStore;
import dev.keycast.host.store.StoreException;
import dev.keycast.host.store.StoredKeySet;
import dev.keycast.protocol.Base64Url;
import dev.keycast.protocol.MalformedInputException;
import dev.keycast.protocol.keyset.SealedKeySet;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Optional;

/**
 * Puts a sealed key set made elsewhere into a fresh store: the successor host's first key set after
 * a re-wrap under a new locked KMS key (operations.md section 6a, {@code --import-sealed-key-set}).
 *
 * <p>Nothing here is a security boundary: a host can always store whatever sealed key set it likes;
 * the enclave decides whether it unseals (its KMS key pin, the key policy's PCRs). The checks are
 * for the operator: the file must hold a well-formed sealed key set, and a store that already holds
 * a different one is never overwritten (that would orphan every secret sealed under it).
 */
public final class KeySetImport {
  /** Largest file accepted: the admin answer (sealed key set and key bundle, base64url in JSON). */
  public static final int MAX_FILE_BYTES = 256 * 1024;

  private KeySetImport() {}

  /** What the import did. */
  public enum Outcome {
    IMPORTED,
    ALREADY_PRESENT
  }

  /**
   * Imports the sealed key set in {@code file}: the JSON answer of {@code POST
   * /admin/keyset/rewrap} or {@code /admin/keyset/init} (its {@code sealed_key_set}), or the sealed
   * key set itself (raw bytes or base64url text).
   *
   * @throws IllegalArgumentException with one line saying what to fix
   */
  public static Outcome importInto(ArtefactStore store, byte[] file) throws StoreException {
    if (file.length > MAX_FILE_BYTES) {
      throw new IllegalArgumentException(
          "--import-sealed-key-set: the file is over " + MAX_FILE_BYTES + " bytes");
    }
    byte[] sealed = sealedBytes(file);
    try {
      SealedKeySet.parse(sealed);
    } catch (MalformedInputException e) {
      throw new IllegalArgumentException(
          "--import-sealed-key-set: not a sealed key set (" + e.getMessage() + ")");
    }
    Optional<StoredKeySet> present = store.latestSealedKeySet();
    if (present.isPresent()) {
      if (MessageDigest.isEqual(present.get().bytes(), sealed)) {
        return Outcome.ALREADY_PRESENT;
      }
      throw new IllegalArgumentException(
          "--import-sealed-key-set: the store already holds key set version "
              + present.get().version()
              + ", a different one; import only into a fresh store");
    }
    store.putSealedKeySet(1, sealed);
    return Outcome.IMPORTED;
  }

  private static byte[] sealedBytes(byte[] file) {
    String text = new String(file, StandardCharsets.UTF_8).strip();
    if (text.startsWith("{")) {
      try {
        JsonNode n = new ObjectMapper().readTree(text);
        JsonNode s = n.get("sealed_key_set");
        if (s == null || !s.isTextual()) {
          throw new IllegalArgumentException(
              "--import-sealed-key-set: the JSON has no \"sealed_key_set\" string"
                  + " (give the answer of POST /admin/keyset/rewrap)");
        }
        return decode(s.asText());
      } catch (IOException e) {
        throw new IllegalArgumentException(
            "--import-sealed-key-set: the file starts with '{' but is not JSON");
      }
    }
    if (text.matches("[A-Za-z0-9_-]+=*")) {
      return decode(text);
    }
    return file;
  }

  private static byte[] decode(String b64) {
    try {
      return Base64Url.decode("sealed_key_set", b64, MAX_FILE_BYTES);
    } catch (MalformedInputException e) {
      throw new IllegalArgumentException(
          "--import-sealed-key-set: bad base64url in sealed_key_set");
    }
  }
}
