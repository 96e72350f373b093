package dev.keycast.protocol.crypto;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.security.InvalidKeyException;
import java.security.MessageDigest;
import java.util.HexFormat;
import org.bouncycastle.math.ec.rfc7748.X25519;

/**
 * The {@code openssl} backend's X25519: the key pair and the peer's public key imported with
 * {@code EVP_PKEY_fromdata}, {@code EVP_PKEY_CTX_new_from_pkey} and {@code EVP_PKEY_derive}, and
 * the held key ({@link X25519KeyAgreement}) as one EVP_PKEY imported once. See {@link
 * OpenSslCryptoBackend}.
 */
final class OpenSslX25519 {
  private static final byte[] ZERO = new byte[32];

  private final LibCrypto lib;

  /** Frees the EVP_PKEY of an {@link Agreement} that became unreachable without being destroyed. */
  private final java.lang.ref.Cleaner cleaner;

  OpenSslX25519(LibCrypto lib, java.lang.ref.Cleaner cleaner) {
    this.lib = lib;
    this.cleaner = cleaner;
  }

  /**
   * The public key by BouncyCastle's fixed-base multiplication ({@code X25519.scalarMultBase},
   * comb tables: about 36 µs), not OpenSSL's: OpenSSL 3.0 derives it in {@code
   * ossl_x25519_public_from_private} (about 51 µs, slower than its own variable-base ladder),
   * which {@code EVP_PKEY_new_raw_private_key} always runs. The pair is then imported without
   * deriving again and the shared secret computed as in {@link #x25519SharedSecret}.
   */
  X25519Exchange x25519(byte[] privateKey, byte[] peerPublicKey) throws InvalidKeyException {
    JavaCryptoBackend.checkLength(privateKey, "private");
    JavaCryptoBackend.checkLength(peerPublicKey, "peer public");
    byte[] pub = new byte[32];
    X25519.scalarMultBase(privateKey, 0, pub, 0);
    return new X25519Exchange(pub, sharedSecretOfPair(privateKey, pub, peerPublicKey));
  }

  /**
   * {@code EVP_PKEY_fromdata} with both halves of the key pair (OpenSSL's X25519 import then skips
   * deriving the public key, which costs more than the derive) and the peer's public key, both on
   * one import context, then the derive.
   */
  byte[] x25519SharedSecret(byte[] privateKey, byte[] publicKey, byte[] peerPublicKey)
      throws InvalidKeyException {
    JavaCryptoBackend.checkLength(privateKey, "private");
    JavaCryptoBackend.checkLength(publicKey, "public");
    JavaCryptoBackend.checkLength(peerPublicKey, "peer public");
    return sharedSecretOfPair(privateKey, publicKey, peerPublicKey);
  }

  /** Native scratch of one X25519 call: four 32-byte values, a length, three OSSL_PARAMs, a pointer. */
  private static final long X_PRIV = 0;

  private static final long X_PUB = 32;
  private static final long X_PEER = 64;
  private static final long X_SHARED = 96;
  private static final long X_LEN = 128;
  private static final long X_PARAMS = 136;
  private static final long X_OUT = X_PARAMS + 3 * 40;
  private static final long X_SIZE = X_OUT + 8;

  private byte[] sharedSecretOfPair(byte[] privateKey, byte[] publicKey, byte[] peerPublicKey)
      throws InvalidKeyException {
    MemorySegment keyCtx = MemorySegment.NULL;
    MemorySegment own = MemorySegment.NULL;
    MemorySegment peer = MemorySegment.NULL;
    boolean ok = false;
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment buf = arena.allocate(X_SIZE, 8); // zeroed
      MemorySegment priv = buf.asSlice(X_PRIV, 32);
      MemorySegment shared = buf.asSlice(X_SHARED, 32);
      try {
        MemorySegment.copy(privateKey, 0, buf, JAVA_BYTE, X_PRIV, 32);
        MemorySegment.copy(publicKey, 0, buf, JAVA_BYTE, X_PUB, 32);
        MemorySegment.copy(peerPublicKey, 0, buf, JAVA_BYTE, X_PEER, 32);
        MemorySegment params = buf.asSlice(X_PARAMS, 3 * LibCrypto.OSSL_PARAM_SIZE);
        MemorySegment out = buf.asSlice(X_OUT, 8);
        keyCtx =
            LibCrypto.notNull(
                (MemorySegment)
                    lib.evpPkeyCtxNewFromName.invokeExact(
                        MemorySegment.NULL, lib.nameX25519, MemorySegment.NULL),
                "EVP_PKEY_CTX_new_from_name");
        LibCrypto.check(
            (int) lib.evpPkeyFromdataInit.invokeExact(keyCtx), "EVP_PKEY_fromdata_init");
        LibCrypto.octetStringParam(params, 0, lib.paramPriv, priv);
        LibCrypto.octetStringParam(
            params, 1, lib.paramPub, buf.asSlice(X_PUB, 32)); // params[2]: end (zero)
        LibCrypto.check(
            (int) lib.evpPkeyFromdata.invokeExact(keyCtx, out, LibCrypto.EVP_PKEY_KEYPAIR, params),
            "EVP_PKEY_fromdata");
        own = LibCrypto.notNull(out.get(ADDRESS, 0), "EVP_PKEY_fromdata");
        params.fill((byte) 0); // no pointer to the private key left in the parameters
        peer = importPublic(keyCtx, params, out, buf.asSlice(X_PEER, 32));
        byte[] secret = derive(own, peer, shared, buf.asSlice(X_LEN, 8));
        ok = true;
        return secret;
      } finally {
        priv.fill((byte) 0);
        shared.fill((byte) 0);
        lib.freePkey(peer);
        lib.freePkey(own); // OpenSSL clears the private key it copied (OPENSSL_secure_clear_free)
        lib.freeCtx(keyCtx);
        if (!ok) {
          lib.clearErrors();
        }
      }
    } catch (InvalidKeyException | RuntimeException | Error e) {
      throw e;
    } catch (Throwable t) {
      throw new IllegalStateException("libcrypto call failed", t);
    }
  }

  /**
   * A peer's raw public key as a new EVP_PKEY, imported with {@code keyCtx} (fromdata-initialised;
   * {@code params} three zeroed OSSL_PARAMs, {@code out} a pointer slot).
   */
  private MemorySegment importPublic(
      MemorySegment keyCtx, MemorySegment params, MemorySegment out, MemorySegment raw)
      throws Throwable {
    LibCrypto.octetStringParam(params, 0, lib.paramPub, raw);
    out.set(ADDRESS, 0, MemorySegment.NULL);
    if ((int) lib.evpPkeyFromdata.invokeExact(keyCtx, out, LibCrypto.EVP_PKEY_PUBLIC_KEY, params)
        != 1) {
      throw new InvalidKeyException("X25519 peer public key rejected");
    }
    return LibCrypto.notNull(out.get(ADDRESS, 0), "EVP_PKEY_fromdata");
  }

  /**
   * The X25519 shared secret of {@code own} (an EVP_PKEY holding the private key) and {@code peer},
   * derived into {@code shared} (the caller zeroizes it). The derive context is made from the key
   * ({@code EVP_PKEY_CTX_new_from_pkey}: no fetch of the key type by name) and freed; the peer is
   * set without OpenSSL's public-key check ({@code validate_peer = 0}), which for X25519 only
   * tests that the key has a public half (any 32 bytes are a u-coordinate) and costs a context of
   * its own. Refuses a low-order peer point (an all-zero result), as OpenSSL also does.
   */
  private byte[] derive(
      MemorySegment own, MemorySegment peer, MemorySegment shared, MemorySegment len)
      throws Throwable {
    MemorySegment ctx = MemorySegment.NULL;
    try {
      ctx =
          LibCrypto.notNull(
              (MemorySegment)
                  lib.evpPkeyCtxNewFromPkey.invokeExact(
                      MemorySegment.NULL, own, MemorySegment.NULL),
              "EVP_PKEY_CTX_new_from_pkey");
      LibCrypto.check((int) lib.evpPkeyDeriveInit.invokeExact(ctx), "EVP_PKEY_derive_init");
      if ((int) lib.evpPkeyDeriveSetPeerEx.invokeExact(ctx, peer, 0) != 1) {
        throw new InvalidKeyException("X25519 peer public key rejected");
      }
      len.set(JAVA_LONG, 0, 32L);
      if ((int) lib.evpPkeyDerive.invokeExact(ctx, shared, len) != 1) {
        // OpenSSL's X25519 fails exactly when the result is all zero (a low-order point).
        throw new InvalidKeyException("X25519 shared secret is all zero (low-order peer point)");
      }
      LibCrypto.checkLength(len, "EVP_PKEY_derive");
      byte[] secret = shared.toArray(JAVA_BYTE);
      if (MessageDigest.isEqual(secret, ZERO)) {
        throw new InvalidKeyException("X25519 shared secret is all zero (low-order peer point)");
      }
      return secret;
    } finally {
      lib.freeCtx(ctx);
    }
  }

  /**
   * Imports the pair once into an EVP_PKEY held by the returned object; each {@link
   * X25519KeyAgreement#sharedSecret} then imports only the peer and derives.
   */
  X25519KeyAgreement keyAgreement(byte[] privateKey, byte[] publicKey) {
    JavaCryptoBackend.checkLength(privateKey, "private");
    JavaCryptoBackend.checkLength(publicKey, "public");
    MemorySegment keyCtx = MemorySegment.NULL;
    boolean ok = false;
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment buf = arena.allocate(X_SIZE, 8);
      MemorySegment priv = buf.asSlice(X_PRIV, 32);
      try {
        MemorySegment.copy(privateKey, 0, buf, JAVA_BYTE, X_PRIV, 32);
        MemorySegment.copy(publicKey, 0, buf, JAVA_BYTE, X_PUB, 32);
        MemorySegment params = buf.asSlice(X_PARAMS, 3 * LibCrypto.OSSL_PARAM_SIZE);
        MemorySegment out = buf.asSlice(X_OUT, 8);
        keyCtx =
            LibCrypto.notNull(
                (MemorySegment)
                    lib.evpPkeyCtxNewFromName.invokeExact(
                        MemorySegment.NULL, lib.nameX25519, MemorySegment.NULL),
                "EVP_PKEY_CTX_new_from_name");
        LibCrypto.check(
            (int) lib.evpPkeyFromdataInit.invokeExact(keyCtx), "EVP_PKEY_fromdata_init");
        LibCrypto.octetStringParam(params, 0, lib.paramPriv, priv);
        LibCrypto.octetStringParam(params, 1, lib.paramPub, buf.asSlice(X_PUB, 32));
        LibCrypto.check(
            (int) lib.evpPkeyFromdata.invokeExact(keyCtx, out, LibCrypto.EVP_PKEY_KEYPAIR, params),
            "EVP_PKEY_fromdata");
        X25519KeyAgreement a =
            new Agreement(
                LibCrypto.notNull(out.get(ADDRESS, 0), "EVP_PKEY_fromdata"), publicKey.clone());
        ok = true;
        return a;
      } finally {
        priv.fill((byte) 0);
        lib.freeCtx(keyCtx);
        if (!ok) {
          lib.clearErrors();
        }
      }
    } catch (RuntimeException | Error e) {
      throw e;
    } catch (Throwable t) {
      throw new IllegalStateException("libcrypto call failed", t);
    }
  }

  /**
   * The openssl backend's held key: one EVP_PKEY (OpenSSL keeps the scalar in memory from {@code
   * OPENSSL_secure_zalloc}, and frees it with {@code OPENSSL_secure_clear_free} when the key's
   * last reference is dropped). Each call takes its own reference ({@code EVP_PKEY_up_ref}) under
   * the object's lock and drops it after the derive, so {@link #destroy()} (which drops the
   * object's reference) never frees a key in use: the scalar is cleared when the last call in
   * flight ends. The derive context holds further references only within a call. An object that
   * becomes unreachable without being destroyed is freed by the backend's {@link
   * java.lang.ref.Cleaner}.
   */
  private final class Agreement implements X25519KeyAgreement {
    private final byte[] publicKey;
    private final OpenSslHeldKey key;

    Agreement(MemorySegment pkey, byte[] publicKey) {
      this.publicKey = publicKey;
      this.key = new OpenSslHeldKey(lib, cleaner, this, pkey);
    }

    @Override
    public byte[] publicKey() {
      return publicKey.clone();
    }

    @Override
    public byte[] sharedSecret(byte[] peerPublicKey) throws InvalidKeyException {
      JavaCryptoBackend.checkLength(peerPublicKey, "peer public");
      MemorySegment own = key.acquire("X25519 key");
      try {
        return sharedSecretWith(own, peerPublicKey);
      } finally {
        lib.freePkey(own); // this call's reference
      }
    }

    @Override
    public void destroy() {
      key.destroy();
    }

    @Override
    public boolean isDestroyed() {
      return key.isDestroyed();
    }

    @Override
    public String toString() {
      return "X25519KeyAgreement[openssl, public=" + HexFormat.of().formatHex(publicKey) + "]";
    }
  }

  /** The peer's import and the derive, with a held key ({@code own}, referenced by the caller). */
  private byte[] sharedSecretWith(MemorySegment own, byte[] peerPublicKey)
      throws InvalidKeyException {
    MemorySegment keyCtx = MemorySegment.NULL;
    MemorySegment peer = MemorySegment.NULL;
    boolean ok = false;
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment buf = arena.allocate(X_SIZE, 8);
      MemorySegment shared = buf.asSlice(X_SHARED, 32);
      try {
        MemorySegment.copy(peerPublicKey, 0, buf, JAVA_BYTE, X_PEER, 32);
        keyCtx =
            LibCrypto.notNull(
                (MemorySegment)
                    lib.evpPkeyCtxNewFromName.invokeExact(
                        MemorySegment.NULL, lib.nameX25519, MemorySegment.NULL),
                "EVP_PKEY_CTX_new_from_name");
        LibCrypto.check(
            (int) lib.evpPkeyFromdataInit.invokeExact(keyCtx), "EVP_PKEY_fromdata_init");
        peer =
            importPublic(
                keyCtx,
                buf.asSlice(X_PARAMS, 3 * LibCrypto.OSSL_PARAM_SIZE),
                buf.asSlice(X_OUT, 8),
                buf.asSlice(X_PEER, 32));
        byte[] secret = derive(own, peer, shared, buf.asSlice(X_LEN, 8));
        ok = true;
        return secret;
      } finally {
        shared.fill((byte) 0);
        lib.freePkey(peer);
        lib.freeCtx(keyCtx);
        if (!ok) {
          lib.clearErrors();
        }
      }
    } catch (InvalidKeyException | RuntimeException | Error e) {
      throw e;
    } catch (Throwable t) {
      throw new IllegalStateException("libcrypto call failed", t);
    }
  }
}
