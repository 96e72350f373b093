package dev.keycast.host.store;

import java.util.Arrays;

/**
 * One version of the enclave's sealed key set, as the enclave emitted it (opaque ciphertext).
 *
 * @param version the key-set version, at least 1; versions are never overwritten
 * @param bytes the sealed key set
 */
public record StoredKeySet(int version, byte[] bytes) {
  public StoredKeySet {
    if (version < 1) {
      throw new IllegalArgumentException("key-set version must be >= 1: " + version);
    }
    bytes = Checks.bytes("sealed key set", bytes, Checks.MAX_KEY_SET);
  }

  @Override
  public byte[] bytes() {
    return bytes.clone();
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof StoredKeySet k && k.version == version && Arrays.equals(k.bytes, bytes);
  }

  @Override
  public int hashCode() {
    return 31 * version + Arrays.hashCode(bytes);
  }

  @Override
  public String toString() {
    return "StoredKeySet[version=" + version + ", " + bytes.length + " bytes]";
  }
}
