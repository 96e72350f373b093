package dev.keycast.protocol.keyset;

import dev.keycast.protocol.TokenSyntax;
import dev.keycast.protocol.crypto.CryptoBackends;
import dev.keycast.protocol.crypto.X25519KeyAgreement;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Objects;
import org.bouncycastle.math.ec.rfc7748.X25519;
import org.bouncycastle.math.ec.rfc8032.Ed25519;

/**
 * The enclave's key set: an X25519 receive key pair (senders seal to it with HPKE), an Ed25519
 * signing key pair (receipts) and an AES-256 storage key (state the host keeps for the enclave).
 *
 * <p>Keys are held as raw 32-byte arrays (RFC 7748 X25519 scalar, RFC 8032 Ed25519 seed, AES key)
 * and used through BouncyCastle's low-level {@code rfc7748.X25519} and {@code rfc8032.Ed25519}
 * functions, which take arrays and keep no copies, so {@link #destroy()} really zeroizes every
 * private byte this object owns. (JDK {@code XDH}/{@code EdDSA} key objects cannot be wiped.) The
 * one exception is the receive key as the crypto backend holds it for decapsulation ({@link
 * #receiveKeyAgreement()}): with the {@code openssl} backend a copy of the scalar lives in
 * OpenSSL's memory until {@link #destroy()} frees it with {@code OPENSSL_secure_clear_free}
 * (after the last decapsulation in flight, if any).
 *
 * <p>The key-set id is {@code "ks-"} followed by 32 lowercase hex characters (128 random bits).
 *
 * <p>Accessors of private material return fresh copies that the caller must zeroize. After
 * {@link #destroy()} every accessor of private material throws {@link IllegalStateException}.
 * {@link #toString()} shows only the id and public keys.
 */
public final class KeySet {
  /** Length in bytes of every key in the set. */
  public static final int KEY_LENGTH = 32;

  private static final TokenSyntax ID_HEX = TokenSyntax.of("0-9a-f", 32, 32);

  private final String id;
  private final byte[] receivePrivateKey;
  private final byte[] receivePublicKey;
  private final byte[] signingPrivateKey;
  private final byte[] signingPublicKey;
  private final byte[] storageKey;
  private volatile boolean destroyed;

  /** The receive key held by the process's backend: made on first use (under this), or null. */
  private volatile X25519KeyAgreement receiveAgreement;

  private KeySet(String id, byte[] receivePrivateKey, byte[] signingPrivateKey, byte[] storageKey) {
    this.id = id;
    this.receivePrivateKey = receivePrivateKey;
    this.signingPrivateKey = signingPrivateKey;
    this.storageKey = storageKey;
    this.receivePublicKey = new byte[KEY_LENGTH];
    X25519.scalarMultBase(receivePrivateKey, 0, receivePublicKey, 0);
    this.signingPublicKey = new byte[KEY_LENGTH];
    Ed25519.generatePublicKey(signingPrivateKey, 0, signingPublicKey, 0);
  }

  /**
   * Generates a new key set. Randomness is drawn in this order: 16 bytes of id, 32 bytes of
   * X25519 private key (then clamped), 32 bytes of Ed25519 seed, 32 bytes of storage key.
   */
  public static KeySet generate(SecureRandom random) {
    Objects.requireNonNull(random, "random");
    byte[] idBytes = new byte[16];
    random.nextBytes(idBytes);
    String id = "ks-" + HexFormat.of().formatHex(idBytes);
    byte[] receive = new byte[KEY_LENGTH];
    X25519.generatePrivateKey(random, receive);
    byte[] signing = new byte[KEY_LENGTH];
    random.nextBytes(signing);
    byte[] storage = new byte[KEY_LENGTH];
    random.nextBytes(storage);
    return new KeySet(id, receive, signing, storage);
  }

  /**
   * Rebuilds a key set from its private parts (used by {@link SealedKeySet#unseal}). The arrays
   * are copied; the caller keeps ownership of (and zeroizes) its own arrays.
   */
  static KeySet fromPrivate(
      String id, byte[] receivePrivateKey, byte[] signingPrivateKey, byte[] storageKey) {
    if (!isWellFormedId(id)) {
      throw new IllegalArgumentException("bad key-set id");
    }
    if (receivePrivateKey.length != KEY_LENGTH
        || signingPrivateKey.length != KEY_LENGTH
        || storageKey.length != KEY_LENGTH) {
      throw new IllegalArgumentException("keys must be 32 bytes");
    }
    return new KeySet(id, receivePrivateKey.clone(), signingPrivateKey.clone(), storageKey.clone());
  }

  /** True when {@code id} has the key-set id syntax {@code ks-} + 32 lowercase hex characters. */
  public static boolean isWellFormedId(String id) {
    return id != null && id.startsWith("ks-") && ID_HEX.matches(id, 3, id.length());
  }

  /** The key-set id. */
  public String id() {
    return id;
  }

  /**
   * The public part (id, receive public key, signing public key) of this key set as sealed under
   * the KMS key {@code kmsKeyId} (the key id or ARN recorded in the sealed key set's header, see
   * {@link SealedKeySet#kmsKeyId()}). A key set is only ever served sealed, so its bundle always
   * names the KMS key that protects it; {@link SealedKeySet#bundle()} is the same value.
   *
   * @throws IllegalArgumentException if {@code kmsKeyId} is not 1..2048 printable ASCII characters
   */
  public KeyBundle bundle(String kmsKeyId) {
    return new KeyBundle(id, receivePublicKey, signingPublicKey, kmsKeyId);
  }

  /** Raw X25519 receive public key (32 bytes, a copy). */
  public byte[] receivePublicKey() {
    return receivePublicKey.clone();
  }

  /** Raw Ed25519 signing public key (32 bytes, a copy). */
  public byte[] signingPublicKey() {
    return signingPublicKey.clone();
  }

  /** Raw X25519 receive private key (clamped scalar, 32 bytes). A copy: zeroize it after use. */
  public byte[] receivePrivateKey() {
    checkLive();
    return receivePrivateKey.clone();
  }

  /**
   * The receive key as the process's crypto backend ({@link CryptoBackends#get()}) holds it for
   * HPKE decapsulation (with the {@code openssl} backend one OpenSSL {@code EVP_PKEY}, imported
   * once instead of on every send). Made on first use and owned by this key set: callers MUST NOT
   * destroy it; {@link #destroy()} does (see {@link X25519KeyAgreement} for what that clears).
   *
   * @throws IllegalStateException after {@link #destroy()}
   */
  public X25519KeyAgreement receiveKeyAgreement() {
    X25519KeyAgreement a = receiveAgreement;
    if (a != null && !destroyed) {
      return a;
    }
    synchronized (this) {
      checkLive();
      if (receiveAgreement == null) {
        receiveAgreement =
            CryptoBackends.get().x25519KeyAgreement(receivePrivateKey, receivePublicKey);
      }
      return receiveAgreement;
    }
  }

  /** Raw Ed25519 signing private key (RFC 8032 seed, 32 bytes). A copy: zeroize it after use. */
  public byte[] signingPrivateKey() {
    checkLive();
    return signingPrivateKey.clone();
  }

  /** Raw AES-256 storage key (32 bytes). A copy: zeroize it after use. */
  public byte[] storageKey() {
    checkLive();
    return storageKey.clone();
  }

  /** True when the private halves of the two pairs produce {@code bundle}'s public keys. */
  boolean matches(byte[] expectedReceivePublic, byte[] expectedSigningPublic) {
    return MessageDigest.isEqual(receivePublicKey, expectedReceivePublic)
        & MessageDigest.isEqual(signingPublicKey, expectedSigningPublic);
  }

  /**
   * Zeroizes every private key, and destroys the {@linkplain #receiveKeyAgreement() held receive
   * key}; afterwards the private accessors throw. Idempotent.
   */
  public void destroy() {
    destroyed = true;
    X25519KeyAgreement a;
    synchronized (this) {
      a = receiveAgreement;
    }
    if (a != null) {
      a.destroy();
    }
    Arrays.fill(receivePrivateKey, (byte) 0);
    Arrays.fill(signingPrivateKey, (byte) 0);
    Arrays.fill(storageKey, (byte) 0);
  }

  /** True after {@link #destroy()}. */
  public boolean isDestroyed() {
    return destroyed;
  }

  private void checkLive() {
    if (destroyed) {
      throw new IllegalStateException("key set " + id + " has been destroyed");
    }
  }

  @Override
  public String toString() {
    HexFormat hex = HexFormat.of();
    return "KeySet[id="
        + id
        + ", receivePublicKey="
        + hex.formatHex(receivePublicKey)
        + ", signingPublicKey="
        + hex.formatHex(signingPublicKey)
        + (destroyed ? ", destroyed" : "")
        + "]";
  }
}
