package dev.keycast.protocol.hpke;

import dev.keycast.protocol.DecryptionFailedException;
import dev.keycast.protocol.MalformedInputException;
import java.security.SecureRandom;
import java.util.Arrays;
import org.bouncycastle.crypto.AsymmetricCipherKeyPair;
import org.bouncycastle.crypto.InvalidCipherTextException;
import org.bouncycastle.crypto.hpke.HPKE;
import org.bouncycastle.crypto.hpke.HPKEContext;
import org.bouncycastle.crypto.hpke.HPKEContextWithEncapsulation;

/**
 * Single-shot HPKE (RFC 9180) in base mode, over BouncyCastle's {@link HPKE}.
 *
 * <p>The ephemeral key pair is {@code DeriveKeyPair(ikmE)} where {@code ikmE} is 32 bytes drawn
 * from the caller's {@link SecureRandom} (RFC 9180 section 7.1.3), so a seeded random gives
 * reproducible output for test vectors. All methods are thread-safe; no state is shared between
 * calls.
 */
public final class Hpke {
  private static final int IKM_LENGTH = 32;

  private Hpke() {}

  /**
   * Encrypts {@code plaintext} to a recipient's raw 32-byte X25519 public key with a fresh
   * ephemeral key from a new {@link SecureRandom}.
   *
   * @throws MalformedInputException if the public key is not a usable X25519 key
   */
  public static HpkeCiphertext seal(
      HpkeSuite suite, byte[] recipientPublicKeyRaw, byte[] info, byte[] aad, byte[] plaintext)
      throws MalformedInputException {
    return seal(
        suite, X25519PublicKey.fromRaw(recipientPublicKeyRaw), info, aad, plaintext,
        new SecureRandom());
  }

  /**
   * Encrypts {@code plaintext} to {@code recipient}; {@code info} and {@code aad} may be empty (null
   * means empty).
   *
   * @throws MalformedInputException {@code malformed} if the recipient key is a low-order point
   *     (the Diffie-Hellman result would be all zero)
   */
  public static HpkeCiphertext seal(
      HpkeSuite suite,
      X25519PublicKey recipient,
      byte[] info,
      byte[] aad,
      byte[] plaintext,
      SecureRandom random)
      throws MalformedInputException {
    byte[] ikmE = new byte[IKM_LENGTH];
    random.nextBytes(ikmE);
    try {
      return sealWithEphemeralIkm(suite, recipient, info, aad, plaintext, ikmE);
    } finally {
      Arrays.fill(ikmE, (byte) 0);
    }
  }

  /** Seal with the ephemeral key {@code DeriveKeyPair(ikmE)}; for known-answer tests. */
  static HpkeCiphertext sealWithEphemeralIkm(
      HpkeSuite suite,
      X25519PublicKey recipient,
      byte[] info,
      byte[] aad,
      byte[] plaintext,
      byte[] ikmE)
      throws MalformedInputException {
    HPKE hpke = newHpke(suite);
    HPKEContextWithEncapsulation ctx;
    try {
      AsymmetricCipherKeyPair ephemeral = hpke.deriveKeyPair(ikmE);
      ctx = hpke.setupBaseS(recipient.params(), orEmpty(info), ephemeral);
    } catch (IllegalStateException | IllegalArgumentException e) {
      throw new MalformedInputException(
          "malformed", "X25519 key agreement failed: recipient public key is a low-order point");
    }
    try {
      byte[] ct = ctx.seal(orEmpty(aad), plaintext);
      return new HpkeCiphertext(ctx.getEncapsulation(), ct);
    } catch (InvalidCipherTextException e) {
      throw new IllegalStateException("AEAD encryption failed", e);
    }
  }

  /** Sets up a base-mode sender context with a fixed ephemeral; for known-answer tests. */
  static HPKEContextWithEncapsulation setupSender(
      HpkeSuite suite, X25519PublicKey recipient, byte[] info, byte[] ikmE) {
    HPKE hpke = newHpke(suite);
    return hpke.setupBaseS(recipient.params(), orEmpty(info), hpke.deriveKeyPair(ikmE));
  }

  /**
   * Decrypts an HPKE ciphertext with the recipient's private key.
   *
   * @throws DecryptionFailedException for a wrong key, a wrong suite, altered {@code enc},
   *     ciphertext, {@code info} or {@code aad}, or a truncated input (one message for all)
   */
  public static byte[] open(
      HpkeSuite suite, X25519PrivateKey recipient, byte[] info, byte[] aad, HpkeCiphertext sealed)
      throws DecryptionFailedException {
    byte[] enc = sealed.enc();
    byte[] ct = sealed.ciphertext();
    if (enc.length != suite.encLength() || ct.length < suite.tagLength()) {
      throw new DecryptionFailedException();
    }
    try {
      HPKE hpke = newHpke(suite);
      HPKEContext ctx = hpke.setupBaseR(enc, recipient.keyPair(), orEmpty(info));
      return ctx.open(orEmpty(aad), ct);
    } catch (InvalidCipherTextException | RuntimeException e) {
      throw new DecryptionFailedException();
    }
  }

  private static HPKE newHpke(HpkeSuite suite) {
    return new HPKE(
        HPKE.mode_base, (short) suite.kemId(), (short) suite.kdfId(), (short) suite.aeadId());
  }

  private static byte[] orEmpty(byte[] b) {
    return b == null ? new byte[0] : b;
  }
}
