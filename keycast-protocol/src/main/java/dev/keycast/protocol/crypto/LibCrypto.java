package dev.keycast.protocol.crypto;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;

/**
 * Downcall handles into OpenSSL 3's {@code libcrypto.so.3}, looked up once, and the helpers of
 * every call into it (freeing, return-code checks, the error queue, {@code OSSL_PARAM} layout).
 * Only the functions the {@code openssl} backend calls; every one is part of OpenSSL 3.0's public,
 * non-deprecated API. Immutable.
 */
final class LibCrypto {
  /** The shared library's SONAME (OpenSSL 3.x; the enclave image's {@code libcrypto3}). */
  static final String LIBRARY = "libcrypto.so.3";

  /** {@code EVP_PKEY_X25519} = {@code NID_X25519}. */
  static final int EVP_PKEY_X25519 = 1034;

  /** {@code EVP_PKEY_RSA} = {@code NID_rsaEncryption}. */
  static final int EVP_PKEY_RSA = 6;

  /** {@code EVP_PKEY_KEYPAIR}: the selection for a private and public key. */
  static final int EVP_PKEY_KEYPAIR = 0x87;

  /** {@code EVP_PKEY_PUBLIC_KEY}: the selection for a public key (with its domain parameters). */
  static final int EVP_PKEY_PUBLIC_KEY = 0x86;

  /** {@code OSSL_PARAM_OCTET_STRING}. */
  static final int OSSL_PARAM_OCTET_STRING = 5;

  /** NUL-terminated names, allocated once for the life of the process (read-only). */
  final MemorySegment nameX25519 = Arena.global().allocateFrom("X25519");

  final MemorySegment paramPriv = Arena.global().allocateFrom("priv"); // OSSL_PKEY_PARAM_PRIV_KEY
  final MemorySegment paramPub = Arena.global().allocateFrom("pub"); // OSSL_PKEY_PARAM_PUB_KEY

  final MethodHandle bnBin2bn; // BIGNUM *BN_bin2bn(const unsigned char *s, int len, BIGNUM *ret)
  final MethodHandle bnBn2binpad; // int BN_bn2binpad(const BIGNUM *a, unsigned char *to, int tolen)
  final MethodHandle bnNew; // BIGNUM *BN_new(void)
  final MethodHandle bnFree; // void BN_free(BIGNUM *a)
  final MethodHandle bnClearFree; // void BN_clear_free(BIGNUM *a)
  final MethodHandle bnUcmp; // int BN_ucmp(const BIGNUM *a, const BIGNUM *b)
  final MethodHandle bnCtxNew; // BN_CTX *BN_CTX_new(void)
  final MethodHandle bnCtxFree; // void BN_CTX_free(BN_CTX *c)
  final MethodHandle bnMontCtxNew; // BN_MONT_CTX *BN_MONT_CTX_new(void)
  final MethodHandle bnMontCtxSet; // int BN_MONT_CTX_set(BN_MONT_CTX *, const BIGNUM *m, BN_CTX *)
  final MethodHandle bnMontCtxFree; // void BN_MONT_CTX_free(BN_MONT_CTX *)
  // int BN_mod_exp_mont(BIGNUM *r, const BIGNUM *a, const BIGNUM *p, const BIGNUM *m, BN_CTX *,
  //     BN_MONT_CTX *)
  final MethodHandle bnModExpMont;
  // EVP_PKEY *EVP_PKEY_new_raw_public_key(int type, ENGINE *e, const unsigned char *k, size_t n)
  final MethodHandle evpPkeyNewRawPublicKey;
  final MethodHandle evpPkeyFree; // void EVP_PKEY_free(EVP_PKEY *)
  final MethodHandle evpPkeyCtxFree; // void EVP_PKEY_CTX_free(EVP_PKEY_CTX *)
  final MethodHandle evpPkeyDeriveInit; // int EVP_PKEY_derive_init(EVP_PKEY_CTX *)
  // int EVP_PKEY_derive(EVP_PKEY_CTX *, unsigned char *key, size_t *keylen)
  final MethodHandle evpPkeyDerive;
  final MethodHandle errClearError; // void ERR_clear_error(void)
  // int EVP_PKEY_derive_set_peer_ex(EVP_PKEY_CTX *ctx, EVP_PKEY *peer, int validate_peer)
  final MethodHandle evpPkeyDeriveSetPeerEx;
  // EVP_PKEY_CTX *EVP_PKEY_CTX_new_from_pkey(OSSL_LIB_CTX *, EVP_PKEY *pkey, const char *propq)
  final MethodHandle evpPkeyCtxNewFromPkey;
  // EVP_PKEY_CTX *EVP_PKEY_CTX_new_from_name(OSSL_LIB_CTX *, const char *name, const char *propq)
  final MethodHandle evpPkeyCtxNewFromName;
  final MethodHandle evpPkeyFromdataInit; // int EVP_PKEY_fromdata_init(EVP_PKEY_CTX *)
  // int EVP_PKEY_fromdata(EVP_PKEY_CTX *, EVP_PKEY **ppkey, int selection, OSSL_PARAM params[])
  final MethodHandle evpPkeyFromdata;
  // EVP_PKEY *d2i_PUBKEY(EVP_PKEY **a, const unsigned char **pp, long length)
  final MethodHandle d2iPubkey;
  final MethodHandle evpPkeyUpRef; // int EVP_PKEY_up_ref(EVP_PKEY *key)
  final MethodHandle evpPkeyGetBaseId; // int EVP_PKEY_get_base_id(const EVP_PKEY *pkey)
  final MethodHandle evpMdCtxNew; // EVP_MD_CTX *EVP_MD_CTX_new(void)
  final MethodHandle evpMdCtxFree; // void EVP_MD_CTX_free(EVP_MD_CTX *ctx)
  final MemorySegment evpSha256; // const EVP_MD *EVP_sha256(void), static
  final MemorySegment evpSha384; // EVP_sha384()
  final MemorySegment evpSha512; // EVP_sha512()
  // int EVP_DigestVerifyInit(EVP_MD_CTX *ctx, EVP_PKEY_CTX **pctx, const EVP_MD *type, ENGINE *e,
  //     EVP_PKEY *pkey)
  final MethodHandle evpDigestVerifyInit;
  // int EVP_DigestVerify(EVP_MD_CTX *ctx, const unsigned char *sig, size_t siglen,
  //     const unsigned char *tbs, size_t tbslen)
  final MethodHandle evpDigestVerify;
  // EVP_PKEY *d2i_AutoPrivateKey(EVP_PKEY **a, const unsigned char **pp, long length)
  final MethodHandle d2iAutoPrivateKey;
  // int EVP_DigestSignInit(EVP_MD_CTX *ctx, EVP_PKEY_CTX **pctx, const EVP_MD *type, ENGINE *e,
  //     EVP_PKEY *pkey)
  final MethodHandle evpDigestSignInit;
  // int EVP_DigestSign(EVP_MD_CTX *ctx, unsigned char *sigret, size_t *siglen,
  //     const unsigned char *tbs, size_t tbslen)
  final MethodHandle evpDigestSign;
  final MethodHandle evpPkeyGetBits; // int EVP_PKEY_get_bits(const EVP_PKEY *pkey)
  final long versionNumber; // OpenSSL_version_num()
  final String version; // OpenSSL_version(OPENSSL_VERSION)

  private LibCrypto(SymbolLookup lib) throws Throwable {
    bnBin2bn = handle(lib, "BN_bin2bn", FunctionDescriptor.of(ADDRESS, ADDRESS, JAVA_INT, ADDRESS));
    bnBn2binpad =
        handle(lib, "BN_bn2binpad", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_INT));
    bnNew = handle(lib, "BN_new", FunctionDescriptor.of(ADDRESS));
    bnFree = handle(lib, "BN_free", FunctionDescriptor.ofVoid(ADDRESS));
    bnClearFree = handle(lib, "BN_clear_free", FunctionDescriptor.ofVoid(ADDRESS));
    bnUcmp = handle(lib, "BN_ucmp", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
    bnCtxNew = handle(lib, "BN_CTX_new", FunctionDescriptor.of(ADDRESS));
    bnCtxFree = handle(lib, "BN_CTX_free", FunctionDescriptor.ofVoid(ADDRESS));
    bnMontCtxNew = handle(lib, "BN_MONT_CTX_new", FunctionDescriptor.of(ADDRESS));
    bnMontCtxSet =
        handle(lib, "BN_MONT_CTX_set", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS));
    bnMontCtxFree = handle(lib, "BN_MONT_CTX_free", FunctionDescriptor.ofVoid(ADDRESS));
    bnModExpMont =
        handle(
            lib,
            "BN_mod_exp_mont",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS));
    FunctionDescriptor newRaw =
        FunctionDescriptor.of(ADDRESS, JAVA_INT, ADDRESS, ADDRESS, JAVA_LONG);
    evpPkeyNewRawPublicKey = handle(lib, "EVP_PKEY_new_raw_public_key", newRaw);
    evpPkeyFree = handle(lib, "EVP_PKEY_free", FunctionDescriptor.ofVoid(ADDRESS));
    evpPkeyCtxFree = handle(lib, "EVP_PKEY_CTX_free", FunctionDescriptor.ofVoid(ADDRESS));
    evpPkeyDeriveInit =
        handle(lib, "EVP_PKEY_derive_init", FunctionDescriptor.of(JAVA_INT, ADDRESS));
    evpPkeyDerive =
        handle(lib, "EVP_PKEY_derive", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS));
    errClearError = handle(lib, "ERR_clear_error", FunctionDescriptor.ofVoid());
    evpPkeyDeriveSetPeerEx =
        handle(
            lib,
            "EVP_PKEY_derive_set_peer_ex",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_INT));
    evpPkeyCtxNewFromPkey =
        handle(
            lib,
            "EVP_PKEY_CTX_new_from_pkey",
            FunctionDescriptor.of(ADDRESS, ADDRESS, ADDRESS, ADDRESS));
    evpPkeyCtxNewFromName =
        handle(
            lib,
            "EVP_PKEY_CTX_new_from_name",
            FunctionDescriptor.of(ADDRESS, ADDRESS, ADDRESS, ADDRESS));
    evpPkeyFromdataInit =
        handle(lib, "EVP_PKEY_fromdata_init", FunctionDescriptor.of(JAVA_INT, ADDRESS));
    evpPkeyFromdata =
        handle(
            lib,
            "EVP_PKEY_fromdata",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_INT, ADDRESS));
    d2iPubkey =
        handle(lib, "d2i_PUBKEY", FunctionDescriptor.of(ADDRESS, ADDRESS, ADDRESS, JAVA_LONG));
    evpPkeyUpRef = handle(lib, "EVP_PKEY_up_ref", FunctionDescriptor.of(JAVA_INT, ADDRESS));
    evpPkeyGetBaseId =
        handle(lib, "EVP_PKEY_get_base_id", FunctionDescriptor.of(JAVA_INT, ADDRESS));
    evpMdCtxNew = handle(lib, "EVP_MD_CTX_new", FunctionDescriptor.of(ADDRESS));
    evpMdCtxFree = handle(lib, "EVP_MD_CTX_free", FunctionDescriptor.ofVoid(ADDRESS));
    FunctionDescriptor md = FunctionDescriptor.of(ADDRESS);
    evpSha256 = (MemorySegment) handle(lib, "EVP_sha256", md).invokeExact();
    evpSha384 = (MemorySegment) handle(lib, "EVP_sha384", md).invokeExact();
    evpSha512 = (MemorySegment) handle(lib, "EVP_sha512", md).invokeExact();
    if (evpSha256.equals(MemorySegment.NULL)
        || evpSha384.equals(MemorySegment.NULL)
        || evpSha512.equals(MemorySegment.NULL)) {
      throw new IllegalStateException(LIBRARY + " has no SHA-2 digests");
    }
    evpDigestVerifyInit =
        handle(
            lib,
            "EVP_DigestVerifyInit",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS));
    evpDigestVerify =
        handle(
            lib,
            "EVP_DigestVerify",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_LONG, ADDRESS, JAVA_LONG));
    d2iAutoPrivateKey =
        handle(
            lib, "d2i_AutoPrivateKey", FunctionDescriptor.of(ADDRESS, ADDRESS, ADDRESS, JAVA_LONG));
    evpDigestSignInit =
        handle(
            lib,
            "EVP_DigestSignInit",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS));
    evpDigestSign =
        handle(
            lib,
            "EVP_DigestSign",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS, JAVA_LONG));
    evpPkeyGetBits = handle(lib, "EVP_PKEY_get_bits", FunctionDescriptor.of(JAVA_INT, ADDRESS));
    versionNumber =
        (long) handle(lib, "OpenSSL_version_num", FunctionDescriptor.of(JAVA_LONG)).invokeExact();
    MemorySegment v =
        (MemorySegment)
            handle(lib, "OpenSSL_version", FunctionDescriptor.of(ADDRESS, JAVA_INT)).invokeExact(0);
    version = v.equals(MemorySegment.NULL) ? "OpenSSL" : v.reinterpret(256).getString(0);
  }

  /**
   * Loads {@link #LIBRARY} for the life of the process and looks up every function.
   *
   * @throws IllegalStateException if the library or a symbol is missing, or it is not OpenSSL 3
   */
  static LibCrypto load() {
    SymbolLookup lib;
    try {
      lib = SymbolLookup.libraryLookup(LIBRARY, Arena.global());
    } catch (IllegalArgumentException | IllegalCallerException e) {
      throw new IllegalStateException("cannot load " + LIBRARY + ": " + e.getMessage(), e);
    }
    LibCrypto c;
    try {
      c = new LibCrypto(lib);
    } catch (IllegalStateException e) {
      throw e;
    } catch (Throwable t) {
      throw new IllegalStateException("cannot bind " + LIBRARY + ": " + t, t);
    }
    if ((c.versionNumber >>> 28) != 3) {
      throw new IllegalStateException(
          LIBRARY + " reports version 0x" + Long.toHexString(c.versionNumber) + ", not OpenSSL 3");
    }
    return c;
  }

  // ------------------------------------------------------------------ memory and call helpers

  /** sizeof(OSSL_PARAM) on LP64: key, data_type (padded), data, data_size, return_size. */
  static final long OSSL_PARAM_SIZE = 40;

  /** Fills OSSL_PARAM {@code index} of {@code params} with a 32-byte octet string. */
  static void octetStringParam(
      MemorySegment params, int index, MemorySegment name, MemorySegment value) {
    long at = index * OSSL_PARAM_SIZE;
    params.set(ADDRESS, at, name);
    params.set(java.lang.foreign.ValueLayout.JAVA_INT, at + 8, LibCrypto.OSSL_PARAM_OCTET_STRING);
    params.set(ADDRESS, at + 16, value);
    params.set(JAVA_LONG, at + 24, value.byteSize());
    params.set(JAVA_LONG, at + 32, -1L); // OSSL_PARAM_UNMODIFIED
  }

  void freeMdCtx(MemorySegment ctx) {
    try {
      evpMdCtxFree.invokeExact(ctx); // NULL is a no-op
    } catch (Throwable t) {
      throw new IllegalStateException("EVP_MD_CTX_free failed", t);
    }
  }

  MemorySegment bin2bn(MemorySegment bytes, int length) throws Throwable {
    return notNull(
        (MemorySegment) bnBin2bn.invokeExact(bytes, length, MemorySegment.NULL), "BN_bin2bn");
  }

  /** Frees the BIGNUMs and contexts of one RSA public-key operation (the encoded block cleared). */
  void freeRsaOperands(
      MemorySegment r,
      MemorySegment x,
      MemorySegment e,
      MemorySegment n,
      MemorySegment ctx,
      MemorySegment mont) {
    // each *_free accepts NULL
    try {
      bnFree.invokeExact(r); // the ciphertext: public
      bnClearFree.invokeExact(x); // the encoded block: cleared
      bnFree.invokeExact(e);
      bnFree.invokeExact(n);
      bnCtxFree.invokeExact(ctx);
      bnMontCtxFree.invokeExact(mont);
    } catch (Throwable t) {
      throw new IllegalStateException("libcrypto free failed", t);
    }
  }

  void freePkey(MemorySegment pkey) {
    try {
      evpPkeyFree.invokeExact(pkey); // NULL is a no-op
    } catch (Throwable t) {
      throw new IllegalStateException("EVP_PKEY_free failed", t);
    }
  }

  void freeCtx(MemorySegment ctx) {
    try {
      evpPkeyCtxFree.invokeExact(ctx); // NULL is a no-op
    } catch (Throwable t) {
      throw new IllegalStateException("EVP_PKEY_CTX_free failed", t);
    }
  }

  void clearErrors() {
    try {
      errClearError.invokeExact();
    } catch (Throwable t) {
      throw new IllegalStateException("ERR_clear_error failed", t);
    }
  }

  static MemorySegment notNull(MemorySegment p, String function) {
    if (p.equals(MemorySegment.NULL)) {
      throw new IllegalStateException(function + " failed");
    }
    return p;
  }

  static void check(int rc, String function) {
    if (rc != 1) {
      throw new IllegalStateException(function + " failed");
    }
  }

  static void checkLength(MemorySegment len, String function) {
    if (len.get(JAVA_LONG, 0) != 32L) {
      throw new IllegalStateException(function + " returned " + len.get(JAVA_LONG, 0) + " bytes");
    }
  }

  /** Frees an EVP_PKEY; the cleaning action of a held key (holds no reference to it). */
  record FreePkey(LibCrypto lib, MemorySegment pkey) implements Runnable {
    @Override
    public void run() {
      try {
        lib.evpPkeyFree.invokeExact(pkey);
      } catch (Throwable t) {
        throw new IllegalStateException("EVP_PKEY_free failed", t);
      }
    }
  }

  private static MethodHandle handle(SymbolLookup lib, String name, FunctionDescriptor d) {
    MemorySegment symbol =
        lib.find(name)
            .orElseThrow(() -> new IllegalStateException(LIBRARY + " lacks the symbol " + name));
    return Linker.nativeLinker().downcallHandle(symbol, d);
  }
}
