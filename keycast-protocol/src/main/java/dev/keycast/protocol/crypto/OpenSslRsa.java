package dev.keycast.protocol.crypto;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.math.BigInteger;
import java.security.SecureRandom;
import java.security.interfaces.RSAPublicKey;
import org.bouncycastle.crypto.DataLengthException;
import org.bouncycastle.crypto.InvalidCipherTextException;
import org.bouncycastle.crypto.encodings.OAEPEncoding;
import org.bouncycastle.crypto.params.ParametersWithRandom;

/**
 * The {@code openssl} backend's RSA: OAEP encryption (BouncyCastle's encoding over the raw public
 * operation {@code BN_mod_exp_mont}), PKCS #1 v1.5 signing with a held key, and PKCS #1 v1.5
 * verification with the decoded public keys cached ({@link OpenSslRsaKeyCache}). See {@link
 * OpenSslCryptoBackend}.
 */
final class OpenSslRsa {
  private final LibCrypto lib;
  private final java.lang.ref.Cleaner cleaner;
  private final OpenSslRsaKeyCache rsaKeys;

  OpenSslRsa(LibCrypto lib, java.lang.ref.Cleaner cleaner) {
    this.lib = lib;
    this.cleaner = cleaner;
    this.rsaKeys = new OpenSslRsaKeyCache(lib);
  }

  byte[] rsaOaepSha256Encrypt(RSAPublicKey key, byte[] message, SecureRandom random) {
    return oaepEncrypt(oaep.get(), key, message, random);
  }

  /**
   * KDM cipher blocks: BouncyCastle's OAEP encoding with SHA-1 around the same raw RSA public
   * operation on libcrypto (about a tenth of the JDK's {@code BigInteger} cost per block).
   */
  byte[] rsaOaepSha1Encrypt(RSAPublicKey key, byte[] message, SecureRandom random) {
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

    Oaep(OpenSslRsa backend, java.util.function.Supplier<org.bouncycastle.crypto.Digest> digest) {
      engine = new RawRsaPublicEngine(backend);
      encoding = new OAEPEncoding(engine, digest.get(), digest.get(), null);
    }
  }

  private final ThreadLocal<Oaep> oaep = ThreadLocal.withInitial(() -> new Oaep(this, Sha256::new));
  private final ThreadLocal<Oaep> oaepSha1 =
      ThreadLocal.withInitial(
          () -> new Oaep(this, org.bouncycastle.crypto.digests.SHA1Digest::new));

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
        bnN = lib.bin2bn(buf.asSlice(len + k, n.length), n.length);
        bnE = lib.bin2bn(buf.asSlice(len + k + n.length, e.length), e.length);
        bnX = lib.bin2bn(in, len);
        if ((int) lib.bnUcmp.invokeExact(bnX, bnN) >= 0) {
          throw new IllegalArgumentException("RSA input is not smaller than the modulus");
        }
        ctx = LibCrypto.notNull((MemorySegment) lib.bnCtxNew.invokeExact(), "BN_CTX_new");
        mont = LibCrypto.notNull((MemorySegment) lib.bnMontCtxNew.invokeExact(), "BN_MONT_CTX_new");
        LibCrypto.check((int) lib.bnMontCtxSet.invokeExact(mont, bnN, ctx), "BN_MONT_CTX_set");
        bnR = LibCrypto.notNull((MemorySegment) lib.bnNew.invokeExact(), "BN_new");
        LibCrypto.check(
            (int) lib.bnModExpMont.invokeExact(bnR, bnX, bnE, bnN, ctx, mont), "BN_mod_exp_mont");
        int written = (int) lib.bnBn2binpad.invokeExact(bnR, out, k);
        if (written != k) {
          throw new IllegalStateException("BN_bn2binpad failed");
        }
        byte[] result = out.toArray(JAVA_BYTE);
        ok = true;
        return result;
      } finally {
        in.fill((byte) 0); // the OAEP-encoded block: the content key is one XOR away
        lib.freeRsaOperands(bnR, bnX, bnE, bnN, ctx, mont);
        if (!ok) {
          lib.clearErrors();
        }
      }
    } catch (RuntimeException | Error x) {
      throw x;
    } catch (Throwable t) {
      throw new IllegalStateException("libcrypto call failed", t);
    }
  }

  RsaSigningKey signingKey(byte[] pkcs8) {
    MemorySegment pkey;
    int bits;
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment der = arena.allocate(Math.max(1, pkcs8.length));
      try {
        MemorySegment.copy(pkcs8, 0, der, JAVA_BYTE, 0, pkcs8.length);
        MemorySegment cursor = arena.allocate(ADDRESS); // d2i_AutoPrivateKey advances it
        cursor.set(ADDRESS, 0, der);
        pkey =
            (MemorySegment)
                lib.d2iAutoPrivateKey.invokeExact(MemorySegment.NULL, cursor, (long) pkcs8.length);
        if (pkey.equals(MemorySegment.NULL)) {
          lib.clearErrors();
          throw new IllegalArgumentException("not the PKCS #8 DER of an RSA private key");
        }
        if ((int) lib.evpPkeyGetBaseId.invokeExact(pkey) != LibCrypto.EVP_PKEY_RSA
            || cursor.get(ADDRESS, 0).address() != der.address() + pkcs8.length) {
          lib.freePkey(pkey);
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
   * The openssl backend's RSA signing key: one EVP_PKEY, held as an {@link
   * OpenSslHeldKey} (referenced per signature), so {@link #destroy()} never frees a key in use (OpenSSL frees the
   * private components with {@code BN_clear_free} when the last reference goes).
   */
  private final class RsaSigner implements RsaSigningKey {
    private final int bits;
    private final OpenSslHeldKey key;

    RsaSigner(MemorySegment pkey, int bits) {
      this.bits = bits;
      this.key = new OpenSslHeldKey(lib, cleaner, this, pkey);
    }

    @Override
    public byte[] signSha256(byte[] message, int offset, int length) {
      java.util.Objects.checkFromIndexSize(offset, length, message.length);
      MemorySegment own = key.acquire("RSA signing key");
      MemorySegment ctx = MemorySegment.NULL;
      boolean ok = false;
      try (Arena arena = Arena.ofConfined()) {
        MemorySegment tbs = arena.allocate(Math.max(1, length));
        MemorySegment.copy(message, offset, tbs, JAVA_BYTE, 0, length);
        int max = (bits + 7) / 8;
        MemorySegment sig = arena.allocate(max);
        MemorySegment sigLen = arena.allocate(JAVA_LONG);
        sigLen.set(JAVA_LONG, 0, max);
        ctx = LibCrypto.notNull((MemorySegment) lib.evpMdCtxNew.invokeExact(), "EVP_MD_CTX_new");
        // RSA keys default to PKCS #1 v1.5 padding
        LibCrypto.check(
            (int)
                lib.evpDigestSignInit.invokeExact(
                    ctx, MemorySegment.NULL, lib.evpSha256, MemorySegment.NULL, own),
            "EVP_DigestSignInit");
        LibCrypto.check(
            (int) lib.evpDigestSign.invokeExact(ctx, sig, sigLen, tbs, (long) length),
            "EVP_DigestSign");
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
        lib.freeMdCtx(ctx);
        lib.freePkey(own); // this call's reference
        if (!ok) {
          lib.clearErrors();
        }
      }
    }

    @Override
    public int modulusBits() {
      return bits;
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
      return "RsaSigningKey[openssl, " + bits + " bits]";
    }
  }

  boolean pkcs1Verify(
      RsaSignatureDigest digest,
      byte[] publicKeySpki,
      byte[] message,
      int offset,
      int length,
      byte[] signature) {
    java.util.Objects.checkFromIndexSize(offset, length, message.length);
    MemorySegment md =
        switch (digest) {
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
        MemorySegment sig =
            arena.allocateFrom(JAVA_BYTE, signature.length == 0 ? new byte[1] : signature);
        ctx = LibCrypto.notNull((MemorySegment) lib.evpMdCtxNew.invokeExact(), "EVP_MD_CTX_new");
        // RSA keys default to PKCS #1 v1.5 padding
        LibCrypto.check(
            (int)
                lib.evpDigestVerifyInit.invokeExact(
                    ctx, MemorySegment.NULL, md, MemorySegment.NULL, pkey),
            "EVP_DigestVerifyInit");
        int rc =
            (int)
                lib.evpDigestVerify.invokeExact(
                    ctx, sig, (long) signature.length, tbs, (long) length);
        ok = rc == 1;
        return ok;
      } finally {
        lib.freeMdCtx(ctx);
        lib.freePkey(pkey); // the reference acquire() took
        if (!ok) {
          lib.clearErrors();
        }
      }
    } catch (RuntimeException | Error x) {
      throw x;
    } catch (Throwable t) {
      throw new IllegalStateException("libcrypto call failed", t);
    }
  }
}
