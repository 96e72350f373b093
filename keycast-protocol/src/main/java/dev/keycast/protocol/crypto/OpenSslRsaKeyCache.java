package dev.keycast.protocol.crypto;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * The last few RSA public keys decoded for signature checks, by SubjectPublicKeyInfo DER: OpenSSL
 * 3.0's {@code d2i_PUBKEY} (its decoder framework) costs several times the RSA operation itself,
 * and a send checks thousands of leaves under one CA key. Each {@code EVP_PKEY} is reference
 * counted: the cache holds one reference, every caller takes its own ({@code EVP_PKEY_up_ref})
 * under the lock and drops it after use, so an eviction never frees a key in use. Public keys
 * only; bounded at {@value #MAX_CACHED_KEYS} entries (least recently used evicted).
 */
final class OpenSslRsaKeyCache {
  /** Most RSA public keys the cache keeps. */
  static final int MAX_CACHED_KEYS = 16;

  private final LibCrypto lib;
  private final java.util.LinkedHashMap<java.nio.ByteBuffer, MemorySegment> keys =
      new java.util.LinkedHashMap<>(16, 0.75f, true);

  OpenSslRsaKeyCache(LibCrypto lib) {
    this.lib = lib;
  }

  /** A new reference to the key (free it with EVP_PKEY_free), or NULL if not an RSA key. */
  MemorySegment acquire(byte[] spki) throws Throwable {
    java.nio.ByteBuffer id = java.nio.ByteBuffer.wrap(spki);
    synchronized (this) {
      MemorySegment k = keys.get(id);
      if (k != null) {
        LibCrypto.check((int) lib.evpPkeyUpRef.invokeExact(k), "EVP_PKEY_up_ref");
        return k;
      }
    }
    MemorySegment fresh = decodeRsaPublicKey(spki);
    if (fresh.equals(MemorySegment.NULL)) {
      return fresh;
    }
    synchronized (this) {
      MemorySegment k = keys.get(id);
      if (k == null) {
        keys.put(java.nio.ByteBuffer.wrap(spki.clone()), fresh);
        if (keys.size() > MAX_CACHED_KEYS) {
          var eldest = keys.entrySet().iterator();
          lib.freePkey(eldest.next().getValue());
          eldest.remove();
        }
        k = fresh;
      } else {
        lib.freePkey(fresh); // another thread decoded it first
      }
      LibCrypto.check((int) lib.evpPkeyUpRef.invokeExact(k), "EVP_PKEY_up_ref");
      return k;
    }
  }

  /** Decodes an RSA SubjectPublicKeyInfo: a new EVP_PKEY, or NULL if it is not one (exactly). */
  private MemorySegment decodeRsaPublicKey(byte[] spki) throws Throwable {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment der = arena.allocateFrom(JAVA_BYTE, spki);
      MemorySegment cursor = arena.allocate(ADDRESS); // d2i_PUBKEY advances it
      cursor.set(ADDRESS, 0, der);
      MemorySegment pkey =
          (MemorySegment) lib.d2iPubkey.invokeExact(MemorySegment.NULL, cursor, (long) spki.length);
      if (pkey.equals(MemorySegment.NULL)) {
        lib.clearErrors();
        return MemorySegment.NULL;
      }
      if ((int) lib.evpPkeyGetBaseId.invokeExact(pkey) != LibCrypto.EVP_PKEY_RSA
          || cursor.get(ADDRESS, 0).address() != der.address() + spki.length) {
        lib.freePkey(pkey); // another key type, or trailing bytes
        return MemorySegment.NULL;
      }
      return pkey;
    }
  }
}
