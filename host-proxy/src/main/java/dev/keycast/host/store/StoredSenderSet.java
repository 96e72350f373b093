package dev.keycast.host.store;

import java.util.Arrays;

/**
 * One version of the enclave's sealed sender set (issue 23, wire-format.md section 8.4), as the
 * enclave emitted it: authenticated under the key set's storage key, opaque to the store.
 *
 * @param version the sender-set version the enclave reported for it, at least 1; versions are never
 *     overwritten, and the highest is the one handed back to the enclave
 * @param bytes the sealed sender set
 */
public record StoredSenderSet(long version, byte[] bytes) {
  /** Longest sealed sender set stored (the longest the enclave emits). */
  public static final int MAX_BYTES = dev.keycast.protocol.sender.SealedSenderSet.MAX_ENCODED;

  public StoredSenderSet {
    if (version < 1) {
      throw new IllegalArgumentException("sender-set version must be >= 1: " + version);
    }
    bytes = Checks.bytes("sealed sender set", bytes, MAX_BYTES);
  }

  @Override
  public byte[] bytes() {
    return bytes.clone();
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof StoredSenderSet s && s.version == version && Arrays.equals(s.bytes, bytes);
  }

  @Override
  public int hashCode() {
    return 31 * Long.hashCode(version) + Arrays.hashCode(bytes);
  }

  @Override
  public String toString() {
    return "StoredSenderSet[version=" + version + ", " + bytes.length + " bytes]";
  }
}
