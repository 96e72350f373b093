package dev.keycast.protocol.hpke;

import dev.keycast.protocol.DecryptionFailedException;
import java.security.GeneralSecurityException;
import java.security.Provider;
import java.security.Security;
import java.util.Arrays;
import javax.crypto.AEADBadTagException;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.IvParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * An HPKE encryption context after the base-mode key schedule (RFC 9180 section 5.1): the AEAD
 * key, base nonce, exporter secret and sequence number (sections 5.2 and 5.3). Not thread-safe;
 * one context per message stream. The AEAD is the JDK's (SunJCE AES-GCM or ChaCha20-Poly1305):
 * one {@link Cipher} per thread and AEAD, initialised afresh for every call.
 */
final class HpkeContext {
  private static final Provider SUN_JCE = Security.getProvider("SunJCE");

  private final HpkeSuite suite;
  private final byte[] enc;
  private final byte[] sharedSecret;
  private final byte[] key;
  private final byte[] baseNonce;
  private final byte[] exporterSecret;
  private long seq;

  /** Takes ownership of the secret arrays; {@link #destroy()} zeroizes them. */
  HpkeContext(
      HpkeSuite suite,
      byte[] enc,
      byte[] sharedSecret,
      byte[] key,
      byte[] baseNonce,
      byte[] exporterSecret) {
    this.suite = suite;
    this.enc = enc;
    this.sharedSecret = sharedSecret;
    this.key = key;
    this.baseNonce = baseNonce;
    this.exporterSecret = exporterSecret;
  }

  /** The KEM encapsulation {@code enc} (a copy). */
  byte[] enc() {
    return enc.clone();
  }

  // The key-schedule values, for the RFC 9180 known-answer tests (copies).
  byte[] sharedSecret() {
    return sharedSecret.clone();
  }

  byte[] key() {
    return key.clone();
  }

  byte[] baseNonce() {
    return baseNonce.clone();
  }

  byte[] exporterSecret() {
    return exporterSecret.clone();
  }

  /** ContextS.Seal (RFC 9180 section 5.2): encrypts under the next nonce. */
  byte[] seal(byte[] aad, byte[] plaintext) {
    try {
      byte[] out = aead(Cipher.ENCRYPT_MODE, aad).doFinal(plaintext);
      seq++;
      return out;
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("HPKE AEAD encryption failed", e);
    }
  }

  /** ContextR.Open (RFC 9180 section 5.2). */
  byte[] open(byte[] aad, byte[] ciphertext) throws DecryptionFailedException {
    if (ciphertext.length < suite.tagLength()) {
      throw new DecryptionFailedException();
    }
    try {
      byte[] out = aead(Cipher.DECRYPT_MODE, aad).doFinal(ciphertext);
      seq++;
      return out;
    } catch (AEADBadTagException e) {
      throw new DecryptionFailedException();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("HPKE AEAD decryption failed", e);
    }
  }

  /** Context.Export (RFC 9180 section 5.3). */
  byte[] export(byte[] exporterContext, int length) {
    return Dhkem.labeledExpand(
        new HkdfSha256(), Dhkem.hpkeSuiteId(suite), exporterSecret, "sec", exporterContext, length);
  }

  /** Zeroizes the shared secret, key, nonce and exporter secret. */
  void destroy() {
    Arrays.fill(sharedSecret, (byte) 0);
    Arrays.fill(key, (byte) 0);
    Arrays.fill(baseNonce, (byte) 0);
    Arrays.fill(exporterSecret, (byte) 0);
  }

  private Cipher aead(int mode, byte[] aad) throws GeneralSecurityException {
    if (seq < 0) {
      throw new IllegalStateException("HPKE message limit reached");
    }
    byte[] nonce = baseNonce.clone();
    for (int i = 0; i < 8; i++) { // nonce = base_nonce XOR I2OSP(seq, Nn)
      nonce[nonce.length - 1 - i] ^= (byte) (seq >>> (8 * i));
    }
    boolean chacha = suite.aeadId() == HpkeSuite.AEAD_CHACHA20_POLY1305;
    java.security.Key k = new SecretKeySpec(key, chacha ? "ChaCha20" : "AES");
    java.security.spec.AlgorithmParameterSpec params =
        chacha ? new IvParameterSpec(nonce) : new GCMParameterSpec(8 * suite.tagLength(), nonce);
    Cipher c = (chacha ? CHACHA20_POLY1305 : AES_GCM).get();
    try {
      c.init(mode, k, params);
    } catch (java.security.InvalidAlgorithmParameterException
        | java.security.InvalidKeyException e) {
      // SunJCE refuses to encrypt twice in a row under the same key and nonce with one Cipher
      // (AES-GCM: InvalidAlgorithmParameterException, ChaCha20-Poly1305: InvalidKeyException;
      // only a known-answer test repeats an ephemeral key): a fresh Cipher does it as before, and
      // throws again if the key is really unusable
      c = cipher(chacha ? "ChaCha20-Poly1305" : "AES/GCM/NoPadding");
      c.init(mode, k, params);
    }
    if (aad.length > 0) {
      c.updateAAD(aad);
    }
    return c;
  }

  /**
   * One Cipher per thread and AEAD, re-initialised for every message: {@code Cipher.getInstance}
   * (transformation parsing and provider look-ups) cost more than the small message's
   * encryption. Each use starts with {@code init}, so nothing of a previous message is used; the
   * last key's schedule stays in the object until the thread's next message (as it stayed in an
   * unreachable Cipher before, until the collector reused the memory).
   */
  private static final ThreadLocal<Cipher> AES_GCM =
      ThreadLocal.withInitial(() -> newCipher("AES/GCM/NoPadding"));

  private static final ThreadLocal<Cipher> CHACHA20_POLY1305 =
      ThreadLocal.withInitial(() -> newCipher("ChaCha20-Poly1305"));

  private static Cipher newCipher(String transformation) {
    try {
      return cipher(transformation);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("the JDK lacks " + transformation, e);
    }
  }

  private static Cipher cipher(String transformation) throws GeneralSecurityException {
    return SUN_JCE != null
        ? Cipher.getInstance(transformation, SUN_JCE)
        : Cipher.getInstance(transformation);
  }
}
