package dev.keycast.protocol.hpke;

import dev.keycast.protocol.DecryptionFailedException;
import dev.keycast.protocol.MalformedInputException;
import dev.keycast.protocol.crypto.CryptoBackend;
import dev.keycast.protocol.crypto.CryptoBackends;
import dev.keycast.protocol.crypto.X25519KeyAgreement;
import java.security.InvalidKeyException;
import java.security.SecureRandom;
import java.util.Arrays;

/**
 * Single-shot HPKE (RFC 9180) in base mode: DHKEM(X25519, HKDF-SHA256), HKDF-SHA256 and the
 * suite's AEAD, implemented in this package ({@code Dhkem}, {@code HpkeContext}) on
 * HKDF-SHA256 and the AEADs of the JDK, with the X25519 operations from a {@link
 * CryptoBackend} ({@link CryptoBackends#get()} unless one is passed).
 *
 * <p>The ephemeral key pair is {@code DeriveKeyPair(ikmE)} where {@code ikmE} is 32 bytes drawn
 * from the caller's {@link SecureRandom} (RFC 9180 section 7.1.3), so a seeded random gives
 * reproducible output for test vectors, with either backend. An all-zero Diffie-Hellman result is
 * rejected (section 7.1.4). All methods are thread-safe; no state is shared between calls.
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
        suite,
        X25519PublicKey.fromRaw(recipientPublicKeyRaw),
        info,
        aad,
        plaintext,
        new SecureRandom());
  }

  /**
   * Encrypts {@code plaintext} to {@code recipient} with the process's backend; {@code info} and
   * {@code aad} may be empty (null means empty).
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
    return seal(CryptoBackends.get(), suite, recipient, info, aad, plaintext, random);
  }

  /** {@link #seal(HpkeSuite, X25519PublicKey, byte[], byte[], byte[], SecureRandom)} with {@code backend}. */
  public static HpkeCiphertext seal(
      CryptoBackend backend,
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
      return sealWithEphemeralIkm(backend, suite, recipient, info, aad, plaintext, ikmE);
    } finally {
      Arrays.fill(ikmE, (byte) 0);
    }
  }

  /** Seal with the ephemeral key {@code DeriveKeyPair(ikmE)}; for known-answer tests. */
  static HpkeCiphertext sealWithEphemeralIkm(
      CryptoBackend backend,
      HpkeSuite suite,
      X25519PublicKey recipient,
      byte[] info,
      byte[] aad,
      byte[] plaintext,
      byte[] ikmE)
      throws MalformedInputException {
    HpkeContext ctx = setupSender(backend, suite, recipient, info, ikmE);
    try {
      return new HpkeCiphertext(ctx.enc(), ctx.seal(orEmpty(aad), plaintext));
    } finally {
      ctx.destroy();
    }
  }

  /** Sets up a base-mode sender context with a fixed ephemeral; for known-answer tests. */
  static HpkeContext setupSender(
      CryptoBackend backend, HpkeSuite suite, X25519PublicKey recipient, byte[] info, byte[] ikmE)
      throws MalformedInputException {
    try {
      return Dhkem.setupBaseS(backend, suite, recipient.rawView(), orEmpty(info), ikmE);
    } catch (InvalidKeyException e) {
      throw new MalformedInputException(
          MalformedInputException.Kind.MALFORMED,
          "X25519 key agreement failed: recipient public key is a low-order point");
    }
  }

  /**
   * Decrypts an HPKE ciphertext with the recipient's private key and the process's backend.
   *
   * @throws DecryptionFailedException for a wrong key, a wrong suite, altered {@code enc},
   *     ciphertext, {@code info} or {@code aad}, or a truncated input (one message for all)
   */
  public static byte[] open(
      HpkeSuite suite, X25519PrivateKey recipient, byte[] info, byte[] aad, HpkeCiphertext sealed)
      throws DecryptionFailedException {
    return open(CryptoBackends.get(), suite, recipient, info, aad, sealed);
  }

  /** {@link #open(HpkeSuite, X25519PrivateKey, byte[], byte[], HpkeCiphertext)} with {@code backend}. */
  public static byte[] open(
      CryptoBackend backend,
      HpkeSuite suite,
      X25519PrivateKey recipient,
      byte[] info,
      byte[] aad,
      HpkeCiphertext sealed)
      throws DecryptionFailedException {
    byte[] enc = sealed.enc();
    byte[] ct = sealed.ciphertext();
    if (enc.length != suite.encLength() || ct.length < suite.tagLength()) {
      throw new DecryptionFailedException();
    }
    HpkeContext ctx = setupReceiver(backend, suite, enc, recipient, info);
    return openAndDestroy(ctx, aad, ct);
  }

  /**
   * Decrypts an HPKE ciphertext with the recipient's key pair as raw bytes, as a key set keeps it
   * (the enclave's receive key): no key object is built and the public key is not derived again;
   * only the one Diffie-Hellman of the decapsulation is computed.
   *
   * @param skR the raw 32-byte private key (read, not kept; the caller zeroizes it)
   * @param pkR its raw 32-byte public key as stored with it. It enters the KEM context, so a
   *     {@code pkR} that is not {@code skR}'s makes decryption fail; it never succeeds wrongly
   * @throws DecryptionFailedException as {@link #open(HpkeSuite, X25519PrivateKey, byte[], byte[],
   *     HpkeCiphertext)}, and for keys of the wrong length
   */
  public static byte[] openRaw(
      HpkeSuite suite, byte[] skR, byte[] pkR, byte[] info, byte[] aad, HpkeCiphertext sealed)
      throws DecryptionFailedException {
    return openRaw(CryptoBackends.get(), suite, skR, pkR, info, aad, sealed);
  }

  /** {@link #openRaw(HpkeSuite, byte[], byte[], byte[], byte[], HpkeCiphertext)} with {@code backend}. */
  public static byte[] openRaw(
      CryptoBackend backend,
      HpkeSuite suite,
      byte[] skR,
      byte[] pkR,
      byte[] info,
      byte[] aad,
      HpkeCiphertext sealed)
      throws DecryptionFailedException {
    byte[] enc = sealed.enc();
    byte[] ct = sealed.ciphertext();
    if (enc.length != suite.encLength()
        || ct.length < suite.tagLength()
        || skR == null
        || pkR == null) {
      throw new DecryptionFailedException();
    }
    HpkeContext ctx = setupReceiver(backend, suite, enc, skR, pkR, info);
    return openAndDestroy(ctx, aad, ct);
  }

  /**
   * Decrypts an HPKE ciphertext with a recipient key held by a backend ({@link
   * CryptoBackend#x25519KeyAgreement}), as a key set keeps its receive key: the private key is not
   * imported again and the public key not derived; only the one Diffie-Hellman of the
   * decapsulation is computed. The key's stored public key enters the KEM context, so a key whose
   * public half is not its private key's makes decryption fail; it never succeeds wrongly.
   *
   * @throws DecryptionFailedException as {@link #open(HpkeSuite, X25519PrivateKey, byte[], byte[],
   *     HpkeCiphertext)}, and for a destroyed key
   */
  public static byte[] open(
      HpkeSuite suite, X25519KeyAgreement recipient, byte[] info, byte[] aad, HpkeCiphertext sealed)
      throws DecryptionFailedException {
    byte[] enc = sealed.enc();
    byte[] ct = sealed.ciphertext();
    if (enc.length != suite.encLength() || ct.length < suite.tagLength() || recipient == null) {
      throw new DecryptionFailedException();
    }
    HpkeContext ctx;
    try {
      ctx = Dhkem.setupBaseR(suite, enc, recipient, orEmpty(info));
    } catch (InvalidKeyException | RuntimeException e) {
      throw new DecryptionFailedException();
    }
    return openAndDestroy(ctx, aad, ct);
  }

  /** SetupBaseR; any failure is a {@link DecryptionFailedException}. */
  static HpkeContext setupReceiver(
      CryptoBackend backend, HpkeSuite suite, byte[] enc, X25519PrivateKey recipient, byte[] info)
      throws DecryptionFailedException {
    byte[] skR;
    try {
      skR = recipient.toRaw();
    } catch (IllegalStateException e) { // destroyed
      throw new DecryptionFailedException();
    }
    try {
      return setupReceiver(backend, suite, enc, skR, recipient.publicKey().rawView(), info);
    } finally {
      Arrays.fill(skR, (byte) 0);
    }
  }

  private static HpkeContext setupReceiver(
      CryptoBackend backend, HpkeSuite suite, byte[] enc, byte[] skR, byte[] pkR, byte[] info)
      throws DecryptionFailedException {
    try {
      return Dhkem.setupBaseR(backend, suite, enc, skR, pkR, orEmpty(info));
    } catch (InvalidKeyException | RuntimeException e) {
      throw new DecryptionFailedException();
    }
  }

  /** Opens {@code ct} with {@code ctx} and destroys the context whatever happens. */
  private static byte[] openAndDestroy(HpkeContext ctx, byte[] aad, byte[] ct)
      throws DecryptionFailedException {
    try {
      return ctx.open(orEmpty(aad), ct);
    } catch (RuntimeException e) {
      throw new DecryptionFailedException();
    } finally {
      ctx.destroy();
    }
  }

  private static byte[] orEmpty(byte[] b) {
    return b == null ? new byte[0] : b;
  }
}
