package dev.keycast.protocol.cinema;

import java.security.MessageDigest;
import java.util.Arrays;
import java.util.Objects;
import java.util.UUID;

/**
 * One content key of a DCP: the key id the CPL and track files name, its type, and the AES-128
 * key. The key bytes are copied in and out; {@link #toString()} never shows them.
 */
public record ContentKey(UUID keyId, KeyType type, byte[] key) {
  /** Length of an AES-128 content key. */
  public static final int KEY_LENGTH = 16;

  public ContentKey {
    Objects.requireNonNull(keyId, "keyId");
    Objects.requireNonNull(type, "type");
    Objects.requireNonNull(key, "key");
    key = key.clone();
  }

  /** Checks the key and returns it; refuses a key that is not 16 bytes. */
  public static ContentKey of(UUID keyId, KeyType type, byte[] key) throws CinemaException {
    if (keyId == null || type == null || key == null) {
      throw new CinemaException(
          "content_key_missing", "a content key needs a key id, a key type and a key");
    }
    if (key.length != KEY_LENGTH) {
      throw new CinemaException(
          "content_key_length", "a content key is an AES-128 key of exactly 16 bytes");
    }
    return new ContentKey(keyId, type, key);
  }

  @Override
  public byte[] key() {
    return key.clone();
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof ContentKey k
        && keyId.equals(k.keyId)
        && type == k.type
        && MessageDigest.isEqual(key, k.key);
  }

  @Override
  public int hashCode() {
    return Objects.hash(keyId, type);
  }

  @Override
  public String toString() {
    return "ContentKey[keyId=" + keyId + ", type=" + type + ", key=(16 bytes)]";
  }

  /** Overwrites this record's copy of the key with zeros. */
  public void zeroize() {
    Arrays.fill(key, (byte) 0);
  }
}
