package dev.keycast.protocol;

/**
 * The fingerprints a send has seen (its de-duplication set, in the enclave and in the host that
 * writes its candidates), in 16 bytes each: a fingerprint is
 * SHA-256 of a key (wire-format.md section 1), and its first 128 bits identify it (a collision
 * costs about 2^64 work, and the host, which chooses the candidates, could leave one out anyway).
 * Open addressing over a {@code long[]} of pairs, at most half full: about 8 MB at 250,000
 * recipients where a {@code HashSet<String>} held about 37 MB. Not thread-safe (the send's request
 * thread records outcomes in candidate order; the host writes one request on one thread). The slot index mixes the fingerprint with a seed
 * chosen per set, so that a host that grinds keys into one probe cluster (linear probing would then
 * cost O(n^2) inside the enclave) cannot aim at it.
 */
public final class FingerprintSet {
  private final long seed = java.util.concurrent.ThreadLocalRandom.current().nextLong();
  private long[] slots = new long[2 * 1024];
  private int size;
  private boolean hasZero;

  /**
   * Adds a fingerprint (64 lowercase hex characters).
   *
   * @return false when it was already there
   * @throws IllegalArgumentException if {@code fingerprint} is not 64 hex characters
   */
  public boolean add(String fingerprint) {
    if (fingerprint.length() != 64) {
      throw new IllegalArgumentException("a fingerprint is 64 hex characters");
    }
    long hi = hex(fingerprint, 0);
    long lo = hex(fingerprint, 16);
    if (hi == 0 && lo == 0) {
      boolean added = !hasZero;
      hasZero = true;
      return added;
    }
    if (2 * (size + 1) > slots.length / 2) {
      grow();
    }
    if (!insert(slots, hi, lo, seed)) {
      return false;
    }
    size++;
    return true;
  }

  /** Number of fingerprints held. */
  public int size() {
    return size + (hasZero ? 1 : 0);
  }

  /** Lets the table go. */
  public void clear() {
    slots = new long[2 * 1024];
    size = 0;
    hasZero = false;
  }

  private static boolean insert(long[] table, long hi, long lo, long seed) {
    int mask = table.length / 2 - 1;
    int i = (int) mix(hi ^ lo ^ seed) & mask;
    while (true) {
      long h = table[2 * i];
      long l = table[2 * i + 1];
      if (h == 0 && l == 0) {
        table[2 * i] = hi;
        table[2 * i + 1] = lo;
        return true;
      }
      if (h == hi && l == lo) {
        return false;
      }
      i = (i + 1) & mask;
    }
  }

  private void grow() {
    long[] bigger = new long[slots.length * 2];
    for (int i = 0; i < slots.length; i += 2) {
      if (slots[i] != 0 || slots[i + 1] != 0) {
        insert(bigger, slots[i], slots[i + 1], seed);
      }
    }
    slots = bigger;
  }

  /** The 64-bit finaliser of MurmurHash3: every input bit moves every output bit. */
  private static long mix(long k) {
    k ^= k >>> 33;
    k *= 0xff51afd7ed558ccdL;
    k ^= k >>> 33;
    k *= 0xc4ceb9fe1a85ec53L;
    k ^= k >>> 33;
    return k;
  }

  private static long hex(String s, int from) {
    long v = 0;
    for (int i = from; i < from + 16; i++) {
      char c = s.charAt(i);
      int d;
      if (c >= '0' && c <= '9') {
        d = c - '0';
      } else if (c >= 'a' && c <= 'f') {
        d = c - 'a' + 10;
      } else {
        throw new IllegalArgumentException("a fingerprint is 64 lowercase hex characters");
      }
      v = (v << 4) | d;
    }
    return v;
  }
}
