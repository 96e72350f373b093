package dev.keycast.protocol.crypto;

import java.lang.foreign.MemorySegment;
import java.lang.ref.Cleaner;

/**
 * The one EVP_PKEY of a held key of the {@code openssl} backend (an X25519 key agreement, an RSA
 * signing key). Each use takes its own reference ({@code EVP_PKEY_up_ref}) under this object's
 * lock and drops it after, so {@link #destroy()} (which drops the holder's reference) never frees
 * a key in use: OpenSSL clears the private key when the last reference goes. A holder that
 * becomes unreachable without being destroyed has its key freed by the backend's {@link Cleaner}.
 */
final class OpenSslHeldKey {
  private final LibCrypto lib;
  private final Cleaner.Cleanable freeKey;
  private MemorySegment pkey; // guarded by this; null after destroy()

  /** Holds {@code pkey} (its reference passes to this object) for {@code owner}. */
  OpenSslHeldKey(LibCrypto lib, Cleaner cleaner, Object owner, MemorySegment pkey) {
    this.lib = lib;
    this.pkey = pkey;
    this.freeKey = cleaner.register(owner, new LibCrypto.FreePkey(lib, pkey));
  }

  /**
   * A new reference to the key for one use; the caller drops it with {@link LibCrypto#freePkey}.
   *
   * @throws IllegalStateException "{@code what} was destroyed" after {@link #destroy()}
   */
  MemorySegment acquire(String what) {
    try {
      synchronized (this) {
        if (pkey == null) {
          throw new IllegalStateException(what + " was destroyed");
        }
        LibCrypto.check((int) lib.evpPkeyUpRef.invokeExact(pkey), "EVP_PKEY_up_ref");
        return pkey;
      }
    } catch (RuntimeException | Error e) {
      throw e;
    } catch (Throwable t) {
      throw new IllegalStateException("libcrypto call failed", t);
    }
  }

  /** Drops the holder's reference: the key is freed now, or when the last use in flight ends. */
  void destroy() {
    synchronized (this) {
      if (pkey == null) {
        return;
      }
      pkey = null;
    }
    freeKey.clean();
  }

  synchronized boolean isDestroyed() {
    return pkey == null;
  }
}
