package dev.keycast.protocol.crypto;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.math.BigInteger;
import java.security.InvalidKeyException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.security.interfaces.RSAPublicKey;
import java.util.Arrays;
import java.util.HexFormat;
import org.bouncycastle.crypto.AsymmetricBlockCipher;
import org.bouncycastle.crypto.CipherParameters;
import org.bouncycastle.crypto.DataLengthException;
import org.bouncycastle.crypto.InvalidCipherTextException;
import org.bouncycastle.crypto.encodings.OAEPEncoding;
import org.bouncycastle.crypto.params.ParametersWithRandom;
import org.bouncycastle.math.ec.rfc7748.X25519;

/**
 * The OpenSSL backend: OpenSSL 3 {@code libcrypto.so.3} through the Foreign Function and Memory
 * API, for the backend's primitives only.
 *
 * <ul>
 *   <li>RSA: BouncyCastle's {@link OAEPEncoding} (SHA-256, MGF1-SHA-256, empty label; seed from the
 *       caller's {@link SecureRandom}) over {@link RawRsaPublicEngine}, whose raw public-key
 *       operation {@code m^e mod n} is {@code BN_mod_exp_mont} (the function OpenSSL's own RSA
 *       public operation uses).
 *   <li>X25519: the key pair and the peer's public key imported with {@code EVP_PKEY_fromdata}
 *       (both halves of the pair, so OpenSSL does not derive the public key again), {@code
 *       EVP_PKEY_CTX_new_from_pkey} and {@code EVP_PKEY_derive}; the public key of {@link #x25519}
 *       by BouncyCastle's fixed-base multiplication, which is faster than OpenSSL 3.0's. A held key
 *       ({@link #x25519KeyAgreement}) is one EVP_PKEY imported once. OpenSSL rejects an all-zero
 *       result; so does this class.
 *   <li>RSA PKCS #1 v1.5 signature verification: {@code d2i_PUBKEY} (the key must be {@code
 *       EVP_PKEY_RSA} and use every byte), {@code EVP_DigestVerifyInit} with {@code EVP_sha256}
 *       (384, 512) and {@code EVP_DigestVerify}, OpenSSL's default (PKCS #1 v1.5) padding.
 * </ul>
 *
 * <p>Every native buffer comes from a confined {@link Arena} closed before the call returns;
 * buffers that held a private scalar, an OAEP-encoded block or a shared secret are zero-filled
 * first; every OpenSSL object is freed ({@code BN_clear_free} for the encoded block) and every
 * return code is checked. OpenSSL's per-thread error queue is cleared after a failure; its
 * strings are never read.
 */
final class OpenSslCryptoBackend implements CryptoBackend {
  private static final byte[] ZERO = new byte[32];

  private final LibCrypto lib;

  private OpenSslCryptoBackend(LibCrypto lib) {
    this.lib = lib;
  }

  /**
   * Loads libcrypto and runs the known-answer self-test.
   *
   * @throws IllegalStateException with the reason when the library is missing or the self-test
   *     fails
   */
  static OpenSslCryptoBackend load() {
    OpenSslCryptoBackend b = new OpenSslCryptoBackend(LibCrypto.load());
    SelfTest.run(b);
    return b;
  }

  /** OpenSSL's version string, e.g. "OpenSSL 3.0.19 27 Jan 2026". */
  String version() {
    return lib.version;
  }

  @Override
  public String name() {
    return "openssl";
  }

  @Override
  public byte[] rsaOaepSha256Encrypt(RSAPublicKey key, byte[] message, SecureRandom random) {
    return oaepEncrypt(oaep.get(), key, message, random);
  }

  /**
   * KDM cipher blocks: BouncyCastle's OAEP encoding with SHA-1 around the same raw RSA public
   * operation on libcrypto (about a tenth of the JDK's {@code BigInteger} cost per block).
   */
  @Override
  public byte[] rsaOaepSha1Encrypt(RSAPublicKey key, byte[] message, SecureRandom random) {
    return oaepEncrypt(oaepSha1.get(), key, message, random);
  }

  private static byte[] oaepEncrypt(Oaep o, RSAPublicKey key, byte[] message, SecureRandom random) {
    o.engine.key(key);
    try {
      o.encoding.init(true, new ParametersWithRandom(RawRsaPublicEngine.PUBLIC, random));
      return o.encoding.processBlock(message, 0, message.length);
    } catch (DataLengthException e) {
      throw new IllegalArgumentException("message too long for RSA-OAEP with this key", e);
    } catch (InvalidCipherTextException e) {
      throw new IllegalStateException("RSA-OAEP encoding failed", e);
    } finally {
      o.engine.key(null);
    }
  }

  /**
   * One thread's OAEP encoder over the raw RSA engine, kept for the thread's life: BouncyCastle's
   * {@link OAEPEncoding} hashes the (empty) label and clones two digests at construction, which
   * cost as much as the DER of a whole delivery. It holds no secret between calls (the engine's
   * key is public and dropped after each call; each call passes its own random).
   */
  private static final class Oaep {
    final RawRsaPublicEngine engine;
    final OAEPEncoding encoding;

    Oaep(OpenSslCryptoBackend backend, java.util.function.Supplier<org.bouncycastle.crypto.Digest> digest) {
      engine = new RawRsaPublicEngine(backend);
      encoding = new OAEPEncoding(engine, digest.get(), digest.get(), null);
    }
  }

  private final ThreadLocal<Oaep> oaep = ThreadLocal.withInitial(() -> new Oaep(this, Sha256::new));
  private final ThreadLocal<Oaep> oaepSha1 =
      ThreadLocal.withInitial(() -> new Oaep(this, org.bouncycastle.crypto.digests.SHA1Digest::new));

  /**
   * {@code input^e mod n} for a big-endian {@code input} smaller than {@code n}, as {@code k}
   * bytes ({@code k} = modulus length in bytes).
   */
  byte[] rsaPublic(BigInteger modulus, BigInteger exponent, byte[] input, int off, int len) {
    int k = (modulus.bitLength() + 7) / 8;
    byte[] n = modulus.toByteArray();
    byte[] e = exponent.toByteArray();
    MemorySegment bnN = MemorySegment.NULL;
    MemorySegment bnE = MemorySegment.NULL;
    MemorySegment bnX = MemorySegment.NULL;
    MemorySegment bnR = MemorySegment.NULL;
    MemorySegment ctx = MemorySegment.NULL;
    MemorySegment mont = MemorySegment.NULL;
    boolean ok = false;
    try (Arena arena = Arena.ofConfined()) {
      // one native buffer: input | output | modulus | exponent
      MemorySegment buf = arena.allocate((long) len + k + n.length + e.length);
      MemorySegment in = buf.asSlice(0, len);
      MemorySegment out = buf.asSlice(len, k);
      try {
        MemorySegment.copy(input, off, in, JAVA_BYTE, 0, len);
        MemorySegment.copy(n, 0, buf, JAVA_BYTE, len + k, n.length);
        MemorySegment.copy(e, 0, buf, JAVA_BYTE, len + k + n.length, e.length);
        bnN = bin2bn(buf.asSlice(len + k, n.length), n.length);
        bnE = bin2bn(buf.asSlice(len + k + n.length, e.length), e.length);
        bnX = bin2bn(in, len);
        if ((int) lib.bnUcmp.invokeExact(bnX, bnN) >= 0) {
          throw new IllegalArgumentException("RSA input is not smaller than the modulus");
        }
        ctx = notNull((MemorySegment) lib.bnCtxNew.invokeExact(), "BN_CTX_new");
        mont = notNull((MemorySegment) lib.bnMontCtxNew.invokeExact(), "BN_MONT_CTX_new");
        check((int) lib.bnMontCtxSet.invokeExact(mont, bnN, ctx), "BN_MONT_CTX_set");
        bnR = notNull((MemorySegment) lib.bnNew.invokeExact(), "BN_new");
        check((int) lib.bnModExpMont.invokeExact(bnR, bnX, bnE, bnN, ctx, mont), "BN_mod_exp_mont");
        int written = (int) lib.bnBn2binpad.invokeExact(bnR, out, k);
        if (written != k) {
          throw new IllegalStateException("BN_bn2binpad failed");
        }
        byte[] result = out.toArray(JAVA_BYTE);
        ok = true;
        return result;
      } finally {
        in.fill((byte) 0); // the OAEP-encoded block: the content key is one XOR away
        free(bnR, bnX, bnE, bnN, ctx, mont);
        if (!ok) {
          clearErrors();
        }
      }
    } catch (RuntimeException | Error x) {
      throw x;
    } catch (Throwable t) {
      throw new IllegalStateException("libcrypto call failed", t);
    }
  }

  /**
   * The public key by BouncyCastle's fixed-base multiplication ({@code X25519.scalarMultBase},
   * comb tables: about 36 µs), not OpenSSL's: OpenSSL 3.0 derives it in {@code
   * ossl_x25519_public_from_private} (about 51 µs, slower than its own variable-base ladder),
   * which {@code EVP_PKEY_new_raw_private_key} always runs. The pair is then imported without
   * deriving again and the shared secret computed as in {@link #x25519SharedSecret}.
   */
  @Override
  public X25519Exchange x25519(byte[] privateKey, byte[] peerPublicKey)
      throws InvalidKeyException {
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
  @Override
  public byte[] x25519SharedSecret(byte[] privateKey, byte[] publicKey, byte[] peerPublicKey)
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
        MemorySegment params = buf.asSlice(X_PARAMS, 3 * OSSL_PARAM_SIZE);
        MemorySegment out = buf.asSlice(X_OUT, 8);
        keyCtx = notNull((MemorySegment) lib.evpPkeyCtxNewFromName.invokeExact(
            MemorySegment.NULL, lib.nameX25519, MemorySegment.NULL), "EVP_PKEY_CTX_new_from_name");
        check((int) lib.evpPkeyFromdataInit.invokeExact(keyCtx), "EVP_PKEY_fromdata_init");
        octetStringParam(params, 0, lib.paramPriv, priv);
        octetStringParam(params, 1, lib.paramPub, buf.asSlice(X_PUB, 32)); // params[2]: end (zero)
        check((int) lib.evpPkeyFromdata.invokeExact(keyCtx, out, LibCrypto.EVP_PKEY_KEYPAIR, params),
            "EVP_PKEY_fromdata");
        own = notNull(out.get(ADDRESS, 0), "EVP_PKEY_fromdata");
        params.fill((byte) 0); // no pointer to the private key left in the parameters
        peer = importPublic(keyCtx, params, out, buf.asSlice(X_PEER, 32));
        byte[] secret = derive(own, peer, shared, buf.asSlice(X_LEN, 8));
        ok = true;
        return secret;
      } finally {
        priv.fill((byte) 0);
        shared.fill((byte) 0);
        freePkey(peer);
        freePkey(own); // OpenSSL clears the private key it copied (OPENSSL_secure_clear_free)
        freeCtx(keyCtx);
        if (!ok) {
          clearErrors();
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
  private MemorySegment importPublic(MemorySegment keyCtx, MemorySegment params, MemorySegment out,
      MemorySegment raw) throws Throwable {
    octetStringParam(params, 0, lib.paramPub, raw);
    out.set(ADDRESS, 0, MemorySegment.NULL);
    if ((int) lib.evpPkeyFromdata.invokeExact(keyCtx, out, LibCrypto.EVP_PKEY_PUBLIC_KEY, params) != 1) {
      throw new InvalidKeyException("X25519 peer public key rejected");
    }
    return notNull(out.get(ADDRESS, 0), "EVP_PKEY_fromdata");
  }

  /**
   * The X25519 shared secret of {@code own} (an EVP_PKEY holding the private key) and {@code peer},
   * derived into {@code shared} (the caller zeroizes it). The derive context is made from the key
   * ({@code EVP_PKEY_CTX_new_from_pkey}: no fetch of the key type by name) and freed; the peer is
   * set without OpenSSL's public-key check ({@code validate_peer = 0}), which for X25519 only
   * tests that the key has a public half (any 32 bytes are a u-coordinate) and costs a context of
   * its own. Refuses a low-order peer point (an all-zero result), as OpenSSL also does.
   */
  private byte[] derive(MemorySegment own, MemorySegment peer, MemorySegment shared,
      MemorySegment len) throws Throwable {
    MemorySegment ctx = MemorySegment.NULL;
    try {
      ctx = notNull((MemorySegment) lib.evpPkeyCtxNewFromPkey.invokeExact(
          MemorySegment.NULL, own, MemorySegment.NULL), "EVP_PKEY_CTX_new_from_pkey");
      check((int) lib.evpPkeyDeriveInit.invokeExact(ctx), "EVP_PKEY_derive_init");
      if ((int) lib.evpPkeyDeriveSetPeerEx.invokeExact(ctx, peer, 0) != 1) {
        throw new InvalidKeyException("X25519 peer public key rejected");
      }
      len.set(JAVA_LONG, 0, 32L);
      if ((int) lib.evpPkeyDerive.invokeExact(ctx, shared, len) != 1) {
        // OpenSSL's X25519 fails exactly when the result is all zero (a low-order point).
        throw new InvalidKeyException("X25519 shared secret is all zero (low-order peer point)");
      }
      checkLength(len, "EVP_PKEY_derive");
      byte[] secret = shared.toArray(JAVA_BYTE);
      if (MessageDigest.isEqual(secret, ZERO)) {
        throw new InvalidKeyException("X25519 shared secret is all zero (low-order peer point)");
      }
      return secret;
    } finally {
      freeCtx(ctx);
    }
  }

  /**
   * Imports the pair once into an EVP_PKEY held by the returned object; each {@link
   * X25519KeyAgreement#sharedSecret} then imports only the peer and derives.
   */
  @Override
  public X25519KeyAgreement x25519KeyAgreement(byte[] privateKey, byte[] publicKey) {
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
        MemorySegment params = buf.asSlice(X_PARAMS, 3 * OSSL_PARAM_SIZE);
        MemorySegment out = buf.asSlice(X_OUT, 8);
        keyCtx = notNull((MemorySegment) lib.evpPkeyCtxNewFromName.invokeExact(
            MemorySegment.NULL, lib.nameX25519, MemorySegment.NULL), "EVP_PKEY_CTX_new_from_name");
        check((int) lib.evpPkeyFromdataInit.invokeExact(keyCtx), "EVP_PKEY_fromdata_init");
        octetStringParam(params, 0, lib.paramPriv, priv);
        octetStringParam(params, 1, lib.paramPub, buf.asSlice(X_PUB, 32));
        check((int) lib.evpPkeyFromdata.invokeExact(keyCtx, out, LibCrypto.EVP_PKEY_KEYPAIR, params),
            "EVP_PKEY_fromdata");
        X25519KeyAgreement a = new Agreement(notNull(out.get(ADDRESS, 0), "EVP_PKEY_fromdata"),
            publicKey.clone());
        ok = true;
        return a;
      } finally {
        priv.fill((byte) 0);
        freeCtx(keyCtx);
        if (!ok) {
          clearErrors();
        }
      }
    } catch (RuntimeException | Error e) {
      throw e;
    } catch (Throwable t) {
      throw new IllegalStateException("libcrypto call failed", t);
    }
  }

  /** Frees an EVP_PKEY; the cleaning action of an {@link Agreement} (holds no reference to it). */
  private record FreePkey(LibCrypto lib, MemorySegment pkey) implements Runnable {
    @Override
    public void run() {
      try {
        lib.evpPkeyFree.invokeExact(pkey);
      } catch (Throwable t) {
        throw new IllegalStateException("EVP_PKEY_free failed", t);
      }
    }
  }

  /** Frees the EVP_PKEY of an {@link Agreement} that became unreachable without being destroyed. */
  private final java.lang.ref.Cleaner cleaner = java.lang.ref.Cleaner.create();

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
    private final java.lang.ref.Cleaner.Cleanable freeKey;
    private MemorySegment pkey; // guarded by this; null after destroy()

    Agreement(MemorySegment pkey, byte[] publicKey) {
      this.pkey = pkey;
      this.publicKey = publicKey;
      this.freeKey = cleaner.register(this, new FreePkey(lib, pkey));
    }

    @Override
    public byte[] publicKey() {
      return publicKey.clone();
    }

    @Override
    public byte[] sharedSecret(byte[] peerPublicKey) throws InvalidKeyException {
      JavaCryptoBackend.checkLength(peerPublicKey, "peer public");
      MemorySegment own;
      try {
        synchronized (this) {
          if (pkey == null) {
            throw new IllegalStateException("X25519 key was destroyed");
          }
          check((int) lib.evpPkeyUpRef.invokeExact(pkey), "EVP_PKEY_up_ref");
          own = pkey;
        }
      } catch (RuntimeException | Error e) {
        throw e;
      } catch (Throwable t) {
        throw new IllegalStateException("libcrypto call failed", t);
      }
      try {
        return sharedSecretWith(own, peerPublicKey);
      } finally {
        freePkey(own); // this call's reference
      }
    }

    @Override
    public void destroy() {
      synchronized (this) {
        if (pkey == null) {
          return;
        }
        pkey = null;
      }
      freeKey.clean(); // drops the object's reference: freed now, or when the last call ends
    }

    @Override
    public synchronized boolean isDestroyed() {
      return pkey == null;
    }

    @Override
    public String toString() {
      return "X25519KeyAgreement[openssl, public=" + HexFormat.of().formatHex(publicKey) + "]";
    }
  }

  @Override
  public RsaSigningKey rsaSigningKey(byte[] pkcs8) {
    MemorySegment pkey;
    int bits;
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment der = arena.allocate(Math.max(1, pkcs8.length));
      try {
        MemorySegment.copy(pkcs8, 0, der, JAVA_BYTE, 0, pkcs8.length);
        MemorySegment cursor = arena.allocate(ADDRESS); // d2i_AutoPrivateKey advances it
        cursor.set(ADDRESS, 0, der);
        pkey = (MemorySegment) lib.d2iAutoPrivateKey.invokeExact(MemorySegment.NULL, cursor, (long) pkcs8.length);
        if (pkey.equals(MemorySegment.NULL)) {
          clearErrors();
          throw new IllegalArgumentException("not the PKCS #8 DER of an RSA private key");
        }
        if ((int) lib.evpPkeyGetBaseId.invokeExact(pkey) != LibCrypto.EVP_PKEY_RSA
            || cursor.get(ADDRESS, 0).address() != der.address() + pkcs8.length) {
          freePkey(pkey);
          throw new IllegalArgumentException("not exactly the PKCS #8 DER of an RSA private key");
        }
        bits = (int) lib.evpPkeyGetBits.invokeExact(pkey);
      } finally {
        der.fill((byte) 0); // the private key's DER
      }
    } catch (RuntimeException | Error e) {
      throw e;
    } catch (Throwable t) {
      throw new IllegalStateException("libcrypto call failed", t);
    }
    return new RsaSigner(pkey, bits);
  }

  /**
   * The openssl backend's RSA signing key: one EVP_PKEY, referenced per signature exactly as
   * {@link Agreement} does, so {@link #destroy()} never frees a key in use (OpenSSL frees the
   * private components with {@code BN_clear_free} when the last reference goes).
   */
  private final class RsaSigner implements RsaSigningKey {
    private final int bits;
    private final java.lang.ref.Cleaner.Cleanable freeKey;
    private MemorySegment pkey; // guarded by this; null after destroy()

    RsaSigner(MemorySegment pkey, int bits) {
      this.pkey = pkey;
      this.bits = bits;
      this.freeKey = cleaner.register(this, new FreePkey(lib, pkey));
    }

    @Override
    public byte[] signSha256(byte[] message, int offset, int length) {
      java.util.Objects.checkFromIndexSize(offset, length, message.length);
      MemorySegment own;
      try {
        synchronized (this) {
          if (pkey == null) {
            throw new IllegalStateException("RSA signing key was destroyed");
          }
          check((int) lib.evpPkeyUpRef.invokeExact(pkey), "EVP_PKEY_up_ref");
          own = pkey;
        }
      } catch (RuntimeException | Error e) {
        throw e;
      } catch (Throwable t) {
        throw new IllegalStateException("libcrypto call failed", t);
      }
      MemorySegment ctx = MemorySegment.NULL;
      boolean ok = false;
      try (Arena arena = Arena.ofConfined()) {
        MemorySegment tbs = arena.allocate(Math.max(1, length));
        MemorySegment.copy(message, offset, tbs, JAVA_BYTE, 0, length);
        int max = (bits + 7) / 8;
        MemorySegment sig = arena.allocate(max);
        MemorySegment sigLen = arena.allocate(JAVA_LONG);
        sigLen.set(JAVA_LONG, 0, max);
        ctx = notNull((MemorySegment) lib.evpMdCtxNew.invokeExact(), "EVP_MD_CTX_new");
        // RSA keys default to PKCS #1 v1.5 padding
        check((int) lib.evpDigestSignInit.invokeExact(ctx, MemorySegment.NULL, lib.evpSha256, MemorySegment.NULL, own),
            "EVP_DigestSignInit");
        check((int) lib.evpDigestSign.invokeExact(ctx, sig, sigLen, tbs, (long) length), "EVP_DigestSign");
        long n = sigLen.get(JAVA_LONG, 0);
        if (n != max) {
          throw new IllegalStateException("EVP_DigestSign returned " + n + " bytes, not " + max);
        }
        ok = true;
        return sig.toArray(JAVA_BYTE);
      } catch (RuntimeException | Error e) {
        throw e;
      } catch (Throwable t) {
        throw new IllegalStateException("libcrypto call failed", t);
      } finally {
        freeMdCtx(ctx);
        freePkey(own); // this call's reference
        if (!ok) {
          clearErrors();
        }
      }
    }

    @Override
    public int modulusBits() {
      return bits;
    }

    @Override
    public void destroy() {
      synchronized (this) {
        if (pkey == null) {
          return;
        }
        pkey = null;
      }
      freeKey.clean();
    }

    @Override
    public synchronized boolean isDestroyed() {
      return pkey == null;
    }

    @Override
    public String toString() {
      return "RsaSigningKey[openssl, " + bits + " bits]";
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
        keyCtx = notNull((MemorySegment) lib.evpPkeyCtxNewFromName.invokeExact(
            MemorySegment.NULL, lib.nameX25519, MemorySegment.NULL), "EVP_PKEY_CTX_new_from_name");
        check((int) lib.evpPkeyFromdataInit.invokeExact(keyCtx), "EVP_PKEY_fromdata_init");
        peer = importPublic(keyCtx, buf.asSlice(X_PARAMS, 3 * OSSL_PARAM_SIZE),
            buf.asSlice(X_OUT, 8), buf.asSlice(X_PEER, 32));
        byte[] secret = derive(own, peer, shared, buf.asSlice(X_LEN, 8));
        ok = true;
        return secret;
      } finally {
        shared.fill((byte) 0);
        freePkey(peer);
        freeCtx(keyCtx);
        if (!ok) {
          clearErrors();
        }
      }
    } catch (InvalidKeyException | RuntimeException | Error e) {
      throw e;
    } catch (Throwable t) {
      throw new IllegalStateException("libcrypto call failed", t);
    }
  }

  /** sizeof(OSSL_PARAM) on LP64: key, data_type (padded), data, data_size, return_size. */
  private static final long OSSL_PARAM_SIZE = 40;

  /** Fills OSSL_PARAM {@code index} of {@code params} with a 32-byte octet string. */
  private static void octetStringParam(
      MemorySegment params, int index, MemorySegment name, MemorySegment value) {
    long at = index * OSSL_PARAM_SIZE;
    params.set(ADDRESS, at, name);
    params.set(java.lang.foreign.ValueLayout.JAVA_INT, at + 8, LibCrypto.OSSL_PARAM_OCTET_STRING);
    params.set(ADDRESS, at + 16, value);
    params.set(JAVA_LONG, at + 24, value.byteSize());
    params.set(JAVA_LONG, at + 32, -1L); // OSSL_PARAM_UNMODIFIED
  }

  @Override
  public boolean rsaPkcs1Verify(RsaSignatureDigest digest, byte[] publicKeySpki, byte[] message,
      int offset, int length, byte[] signature) {
    java.util.Objects.checkFromIndexSize(offset, length, message.length);
    MemorySegment md = switch (digest) {
      case SHA256 -> lib.evpSha256;
      case SHA384 -> lib.evpSha384;
      case SHA512 -> lib.evpSha512;
    };
    MemorySegment pkey = MemorySegment.NULL;
    MemorySegment ctx = MemorySegment.NULL;
    boolean ok = false;
    try (Arena arena = Arena.ofConfined()) {
      try {
        pkey = rsaKeys.acquire(publicKeySpki);
        if (pkey.equals(MemorySegment.NULL)) {
          return false; // not DER of an RSA key
        }
        MemorySegment tbs = arena.allocate(Math.max(1, length));
        MemorySegment.copy(message, offset, tbs, JAVA_BYTE, 0, length);
        MemorySegment sig = arena.allocateFrom(JAVA_BYTE, signature.length == 0 ? new byte[1] : signature);
        ctx = notNull((MemorySegment) lib.evpMdCtxNew.invokeExact(), "EVP_MD_CTX_new");
        // RSA keys default to PKCS #1 v1.5 padding
        check((int) lib.evpDigestVerifyInit.invokeExact(ctx, MemorySegment.NULL, md, MemorySegment.NULL, pkey),
            "EVP_DigestVerifyInit");
        int rc = (int) lib.evpDigestVerify.invokeExact(ctx, sig, (long) signature.length, tbs, (long) length);
        ok = rc == 1;
        return ok;
      } finally {
        freeMdCtx(ctx);
        freePkey(pkey); // the reference acquire() took
        if (!ok) {
          clearErrors();
        }
      }
    } catch (RuntimeException | Error x) {
      throw x;
    } catch (Throwable t) {
      throw new IllegalStateException("libcrypto call failed", t);
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
        clearErrors();
        return MemorySegment.NULL;
      }
      if ((int) lib.evpPkeyGetBaseId.invokeExact(pkey) != LibCrypto.EVP_PKEY_RSA
          || cursor.get(ADDRESS, 0).address() != der.address() + spki.length) {
        freePkey(pkey); // another key type, or trailing bytes
        return MemorySegment.NULL;
      }
      return pkey;
    }
  }

  /**
   * The last few RSA public keys decoded for signature checks, by SubjectPublicKeyInfo DER: OpenSSL
   * 3.0's {@code d2i_PUBKEY} (its decoder framework) costs several times the RSA operation itself,
   * and a send checks thousands of leaves under one CA key. Each {@code EVP_PKEY} is reference
   * counted: the cache holds one reference, every caller takes its own ({@code EVP_PKEY_up_ref})
   * under the lock and drops it after use, so an eviction never frees a key in use. Public keys
   * only; bounded at {@value #MAX_CACHED_KEYS} entries (least recently used evicted).
   */
  private final class RsaKeyCache {
    private final java.util.LinkedHashMap<java.nio.ByteBuffer, MemorySegment> keys =
        new java.util.LinkedHashMap<>(16, 0.75f, true);

    /** A new reference to the key (free it with EVP_PKEY_free), or NULL if not an RSA key. */
    MemorySegment acquire(byte[] spki) throws Throwable {
      java.nio.ByteBuffer id = java.nio.ByteBuffer.wrap(spki);
      synchronized (this) {
        MemorySegment k = keys.get(id);
        if (k != null) {
          check((int) lib.evpPkeyUpRef.invokeExact(k), "EVP_PKEY_up_ref");
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
            freePkey(eldest.next().getValue());
            eldest.remove();
          }
          k = fresh;
        } else {
          freePkey(fresh); // another thread decoded it first
        }
        check((int) lib.evpPkeyUpRef.invokeExact(k), "EVP_PKEY_up_ref");
        return k;
      }
    }
  }

  /** Most RSA public keys {@link RsaKeyCache} keeps. */
  static final int MAX_CACHED_KEYS = 16;

  private final RsaKeyCache rsaKeys = new RsaKeyCache();

  private void freeMdCtx(MemorySegment ctx) {
    try {
      lib.evpMdCtxFree.invokeExact(ctx); // NULL is a no-op
    } catch (Throwable t) {
      throw new IllegalStateException("EVP_MD_CTX_free failed", t);
    }
  }

  private MemorySegment bin2bn(MemorySegment bytes, int length) throws Throwable {
    return notNull(
        (MemorySegment) lib.bnBin2bn.invokeExact(bytes, length, MemorySegment.NULL), "BN_bin2bn");
  }

  private void free(
      MemorySegment r, MemorySegment x, MemorySegment e, MemorySegment n, MemorySegment ctx,
      MemorySegment mont) {
    // each *_free accepts NULL
    try {
      lib.bnFree.invokeExact(r); // the ciphertext: public
      lib.bnClearFree.invokeExact(x); // the encoded block: cleared
      lib.bnFree.invokeExact(e);
      lib.bnFree.invokeExact(n);
      lib.bnCtxFree.invokeExact(ctx);
      lib.bnMontCtxFree.invokeExact(mont);
    } catch (Throwable t) {
      throw new IllegalStateException("libcrypto free failed", t);
    }
  }

  private void freePkey(MemorySegment pkey) {
    try {
      lib.evpPkeyFree.invokeExact(pkey); // NULL is a no-op
    } catch (Throwable t) {
      throw new IllegalStateException("EVP_PKEY_free failed", t);
    }
  }

  private void freeCtx(MemorySegment ctx) {
    try {
      lib.evpPkeyCtxFree.invokeExact(ctx); // NULL is a no-op
    } catch (Throwable t) {
      throw new IllegalStateException("EVP_PKEY_CTX_free failed", t);
    }
  }

  private void clearErrors() {
    try {
      lib.errClearError.invokeExact();
    } catch (Throwable t) {
      throw new IllegalStateException("ERR_clear_error failed", t);
    }
  }

  private static MemorySegment notNull(MemorySegment p, String function) {
    if (p.equals(MemorySegment.NULL)) {
      throw new IllegalStateException(function + " failed");
    }
    return p;
  }

  private static void check(int rc, String function) {
    if (rc != 1) {
      throw new IllegalStateException(function + " failed");
    }
  }

  private static void checkLength(MemorySegment len, String function) {
    if (len.get(JAVA_LONG, 0) != 32L) {
      throw new IllegalStateException(function + " returned " + len.get(JAVA_LONG, 0) + " bytes");
    }
  }

  /**
   * A BouncyCastle {@link AsymmetricBlockCipher} doing the raw RSA public-key operation (no
   * padding) in libcrypto, for {@link OAEPEncoding}. Encryption only; one per thread, its key
   * set for each call.
   * Checks as BouncyCastle's {@code RSACoreEngine} does: at most {@code k} input bytes, value
   * below the modulus; output is always {@code k} bytes.
   */
  static final class RawRsaPublicEngine implements AsymmetricBlockCipher {
    /** The parameters object OAEPEncoding passes through; the key is set with {@link #key}. */
    static final CipherParameters PUBLIC = new CipherParameters() {};

    private final OpenSslCryptoBackend backend;
    private BigInteger modulus;
    private BigInteger exponent;
    private int bits;

    RawRsaPublicEngine(OpenSslCryptoBackend backend) {
      this.backend = backend;
    }

    /** The key of the next operations; null forgets it. */
    void key(RSAPublicKey key) {
      this.modulus = key == null ? null : key.getModulus();
      this.exponent = key == null ? null : key.getPublicExponent();
      this.bits = key == null ? 0 : modulus.bitLength();
    }

    @Override
    public void init(boolean forEncryption, CipherParameters params) {
      if (!forEncryption) {
        throw new IllegalArgumentException("only the RSA public-key operation is supported");
      }
    }

    @Override
    public int getInputBlockSize() {
      return (bits - 1) / 8;
    }

    @Override
    public int getOutputBlockSize() {
      return (bits + 7) / 8;
    }

    @Override
    public byte[] processBlock(byte[] in, int inOff, int len) {
      if (modulus == null) {
        throw new IllegalStateException("no RSA key set");
      }
      if (len > getInputBlockSize() + 1 || len <= 0) {
        throw new DataLengthException("input of " + len + " bytes is too large for RSA cipher");
      }
      return backend.rsaPublic(modulus, exponent, in, inOff, len);
    }
  }

  /** Known-answer tests run before the backend is used. */
  static final class SelfTest {
    private static final HexFormat HEX = HexFormat.of();
    // RFC 7748 section 6.1: Alice's private key, Alice's public key, Bob's public key, K.
    private static final byte[] X_ALICE_PRIV =
        HEX.parseHex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
    private static final byte[] X_ALICE_PUB =
        HEX.parseHex("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
    private static final byte[] X_BOB_PUB =
        HEX.parseHex("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
    private static final byte[] X_SHARED =
        HEX.parseHex("4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742");
    // A low-order point (u = 0 after reduction: the all-zero encoding's twin p = 2^255 - 19).
    private static final byte[] X_LOW_ORDER =
        HEX.parseHex("edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f");
    // RSA-2048 (modulus from `openssl genrsa 2048`), e = 65537: m = bytes 01..ff, c = m^e mod n
    // (computed with Python's pow).
    private static final BigInteger RSA_N = new BigInteger(
        "d836019ef87446705420e4a8545ea4ab2e6c7f25c4a424d0d8a9e9294e6de0718e8a9295e90c7183afaa1f31"
            + "890591bfba934df311139248595f43aa11838ac542af46fa89bfc84e006c076c1ebcc14c52bbaca35b3c"
            + "d7f6123730961c31a8179e10939a259cebd4a5630194d71802d8be89be43cd669a5bae2f49d5531284da1"
            + "22804f7b37dba8edd12ae114bf94c9df23faf66e89bb45fff055bf01b689059b18db2f138b29b38f6c7db"
            + "310ead4a8631c0b31f1605c3787f4cb23c261936d7847487c8b1941e6847e2760044ddb4a3d2bbe6fac19"
            + "6ca958a4dda4ee8d0fb23e6fcdf4da3a27d5d6be00e95ab4a1845a5fc42177187542155de7dd131cb96df",
        16);
    private static final byte[] RSA_C = HEX.parseHex(
        "bce7080e32a7549734338a5f6a178007a5d68bf90f78e62ec14d262841711b93c7785eeaa893ac9c246eaf07"
            + "2c17a335a9dbcd3de8d46344e5408c09984365f85ba2b679baecf577052b4f8e66f2f8a98cc415aae8773"
            + "c25f9498dbd32a265f287fd3dbc0d926d27eadd4cb59b16dc792900fe2a8055a70c3681798fcd61f63546"
            + "4a2be67f7f762af16623a80350b6df66d96b726b9436e0b2e8d5c21b3bdcb6419ad22a112ce5fed6947cd"
            + "d051e95547ca855641f94d14a9ddb81aa43ca3113da43a7d699c84afce748a87d122edca825ea13c257c2"
            + "1d2834e3ff28be519309c17fb61a73db20a55c9ad5aceede2712a12625c3dd700bd64b4dc08817862f57");

    // RSASSA-PKCS1-v1_5 with SHA-256 (openssl genrsa 2048; openssl dgst -sha256 -sign), the first
    // vector of src/test/resources/vectors/rsa-pkcs1-verify/known-answers.ok.
    private static final byte[] SIG_SPKI = HEX.parseHex(
        "30820122300d06092a864886f70d01010105000382010f003082010a0282010100a9c738fd7f67caab26e6e7"
        + "823290647e3619e6655c9d5417b65ed9913093a144560dacd1d72805fcd8b1576a0b135d081f93a0471cb970"
        + "78eda8e8a32eb0a6e4b57067a187935a0ef5f1432542c6d02d71c4a261b37017d5af5cca073fbe99ab17f97b"
        + "c07a2d955086e9e10da9d68ad5b04c62c24d537a7b5852cc95cb764986d7b5202d1e5f27a1a25ea8f9e21b44"
        + "74f4551e31d2c13414ae939d71bbc6e14efc8609a3e375896a757f673c1fd8331775250f8eb9d544dd95b8fd"
        + "a49c6217043b342e1096e9e8a858409e5f9f1d03de91bb202718695b0b7ebe2c3286b00b11ab9df9328f3394"
        + "e9e62f3ee9a93361d5e99113c58219604eb5daa446d339e1870203010001");
    private static final byte[] SIG_MESSAGE = HEX.parseHex(
        "6b6579636173742072736120706b6373312076312e3520766572696669636174696f6e206b6e6f776e20616e"
        + "73776572");
    private static final byte[] SIG_VALUE = HEX.parseHex(
        "01b8f25a8ef528704297507f5289315f13bdb13554a1745508b3b277989a0827e25f99edd729e4b48a6a0ad2"
        + "e28b42a521052bd9d9e791ef864965b6838ee12e79846bb92d05cd5f36e2f38f624b0a9326c5c0e91f75cbfe"
        + "d4dcbb498b265b3a62b0a9bb6afb1c9f814778a4667137721a506109fb1848eb2a65ac838377eda18fb4f1ef"
        + "9c7ef0e10eed84a6fc76b558317e2c714b7914a6e5f0b9444227bb53a4ca9a145b123801163d44c62d8e6922"
        + "3ed21fb1a6f8056837c26875e0e62b79f0096cc5723116443974e2a51b2190bad054b0629e6686bb9a726966"
        + "48a5473e1329a4315240755ad221339e3e4b41c767e2ae72ffd80c7502b7cd4b710853ad");

    private SelfTest() {}

    static void run(OpenSslCryptoBackend b) {
      byte[] m = new byte[255];
      for (int i = 0; i < m.length; i++) {
        m[i] = (byte) (i + 1);
      }
      byte[] c = b.rsaPublic(RSA_N, BigInteger.valueOf(65537), m, 0, m.length);
      if (!Arrays.equals(c, RSA_C)) {
        throw new IllegalStateException("libcrypto self-test failed: RSA public-key operation");
      }
      try {
        X25519Exchange x = b.x25519(X_ALICE_PRIV, X_BOB_PUB);
        boolean good =
            Arrays.equals(x.publicKey(), X_ALICE_PUB)
                && MessageDigest.isEqual(x.sharedSecret(), X_SHARED);
        x.destroy();
        if (!good) {
          throw new IllegalStateException("libcrypto self-test failed: X25519");
        }
      } catch (InvalidKeyException e) {
        throw new IllegalStateException("libcrypto self-test failed: X25519 rejected RFC 7748", e);
      }
      if (!b.rsaPkcs1Verify(RsaSignatureDigest.SHA256, SIG_SPKI, SIG_MESSAGE, 0, SIG_MESSAGE.length, SIG_VALUE)) {
        throw new IllegalStateException("libcrypto self-test failed: RSA PKCS #1 v1.5 verification");
      }
      byte[] tampered = SIG_VALUE.clone();
      tampered[tampered.length - 1] ^= 1;
      if (b.rsaPkcs1Verify(RsaSignatureDigest.SHA256, SIG_SPKI, SIG_MESSAGE, 0, SIG_MESSAGE.length, tampered)) {
        throw new IllegalStateException(
            "libcrypto self-test failed: RSA PKCS #1 v1.5 verification accepted a tampered signature");
      }
      X25519KeyAgreement held = b.x25519KeyAgreement(X_ALICE_PRIV, X_ALICE_PUB);
      try {
        if (!MessageDigest.isEqual(held.sharedSecret(X_BOB_PUB), X_SHARED)) {
          throw new IllegalStateException("libcrypto self-test failed: X25519 with a held key");
        }
      } catch (InvalidKeyException e) {
        held.destroy();
        throw new IllegalStateException(
            "libcrypto self-test failed: X25519 with a held key rejected RFC 7748", e);
      }
      try {
        held.sharedSecret(X_LOW_ORDER);
        throw new IllegalStateException(
            "libcrypto self-test failed: X25519 with a held key accepted a low-order point");
      } catch (InvalidKeyException expected) {
        // the all-zero shared secret is rejected
      } finally {
        held.destroy();
      }
      try {
        b.x25519(X_ALICE_PRIV, X_LOW_ORDER).destroy();
        throw new IllegalStateException(
            "libcrypto self-test failed: X25519 accepted a low-order point");
      } catch (InvalidKeyException expected) {
        // the all-zero shared secret is rejected
      }
    }
  }
}
