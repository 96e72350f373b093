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
 * one context per message stream. The AEAD is the JDK's (SunJCE AES-GCM or ChaCha20-Poly1305);
 * every call uses a fresh {@link Cipher}.
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
        Dhkem.hpkeSuiteId(suite), exporterSecret, "sec", exporterContext, length);
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
    Cipher c;
    if (suite.aeadId() == HpkeSuite.AEAD_CHACHA20_POLY1305) {
      c = cipher("ChaCha20-Poly1305");
      c.init(mode, new SecretKeySpec(key, "ChaCha20"), new IvParameterSpec(nonce));
    } else {
      c = cipher("AES/GCM/NoPadding");
      c.init(mode, new SecretKeySpec(key, "AES"), new GCMParameterSpec(8 * suite.tagLength(), nonce));
    }
    if (aad.length > 0) {
      c.updateAAD(aad);
    }
    return c;
  }

  private static Cipher cipher(String transformation) throws GeneralSecurityException {
    return SUN_JCE != null
        ? Cipher.getInstance(transformation, SUN_JCE)
        : Cipher.getInstance(transformation);
  }
}
