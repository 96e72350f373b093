package dev.keycast.protocol.hpke;

import dev.keycast.protocol.MalformedInputException;
import java.security.SecureRandom;
import java.util.Arrays;
import javax.security.auth.Destroyable;
import org.bouncycastle.crypto.AsymmetricCipherKeyPair;
import org.bouncycastle.crypto.params.X25519PrivateKeyParameters;

/**
 * An X25519 private key with its public key. Serializes to the raw 32-byte scalar (RFC 7748).
 * {@link #toString()} never shows the key; {@link #destroy()} zeroizes the copy this object holds.
 */
public final class X25519PrivateKey implements Destroyable {
  /** Length of a raw X25519 private key. */
  public static final int LENGTH = 32;

  private final byte[] raw;
  private final X25519PublicKey publicKey;
  private final AsymmetricCipherKeyPair keyPair;
  private volatile boolean destroyed;

  private X25519PrivateKey(byte[] raw) {
    this.raw = raw;
    X25519PrivateKeyParameters priv = new X25519PrivateKeyParameters(raw, 0);
    try {
      this.publicKey = X25519PublicKey.fromRaw(priv.generatePublicKey().getEncoded());
    } catch (MalformedInputException e) {
      throw new AssertionError("derived X25519 public key is well formed", e);
    }
    this.keyPair = new AsymmetricCipherKeyPair(publicKey.params(), priv);
  }

  /** Generates a fresh key pair from {@code random}. */
  public static X25519PrivateKey generate(SecureRandom random) {
    byte[] raw = new byte[LENGTH];
    random.nextBytes(raw);
    return new X25519PrivateKey(raw);
  }

  /**
   * Restores a key from its raw 32-byte scalar. The input is copied; the caller may zeroize it.
   *
   * @throws MalformedInputException {@code malformed} if it is not 32 bytes
   */
  public static X25519PrivateKey fromRaw(byte[] raw) throws MalformedInputException {
    if (raw == null || raw.length != LENGTH) {
      throw new MalformedInputException(
          MalformedInputException.Kind.MALFORMED,
          "X25519 private key must be 32 bytes, got " + (raw == null ? "null" : raw.length));
    }
    return new X25519PrivateKey(raw.clone());
  }

  /**
   * Restores a key from a PKCS#8 PrivateKeyInfo / OneAsymmetricKey DER (RFC 8410, as written by
   * {@code openssl genpkey -algorithm X25519}; PEM body decoded by the caller). At most 1 KiB.
   *
   * @throws MalformedInputException {@code oversize}, {@code malformed} or {@code unsupported_key}
   */
  public static X25519PrivateKey fromPkcs8(byte[] der) throws MalformedInputException {
    if (der == null || der.length > 1024) {
      throw new MalformedInputException(
          der == null
              ? MalformedInputException.Kind.MALFORMED
              : MalformedInputException.Kind.OVERSIZE,
          "PKCS#8 X25519 key must be at most 1024 bytes");
    }
    org.bouncycastle.asn1.pkcs.PrivateKeyInfo info;
    byte[] raw;
    try {
      info =
          org.bouncycastle.asn1.pkcs.PrivateKeyInfo.getInstance(
              org.bouncycastle.asn1.ASN1Primitive.fromByteArray(der));
    } catch (java.io.IOException | RuntimeException e) {
      throw new MalformedInputException(
          MalformedInputException.Kind.MALFORMED, "not a PKCS#8 PrivateKeyInfo");
    }
    if (info == null
        || !org.bouncycastle.asn1.edec.EdECObjectIdentifiers.id_X25519.equals(
            info.getPrivateKeyAlgorithm().getAlgorithm())) {
      throw new MalformedInputException(
          MalformedInputException.Kind.UNSUPPORTED_KEY, "PKCS#8 key is not an X25519 key");
    }
    try {
      raw = org.bouncycastle.asn1.ASN1OctetString.getInstance(info.parsePrivateKey()).getOctets();
    } catch (java.io.IOException | RuntimeException e) {
      throw new MalformedInputException(
          MalformedInputException.Kind.MALFORMED, "bad X25519 CurvePrivateKey in PKCS#8");
    }
    try {
      return fromRaw(raw);
    } finally {
      Arrays.fill(raw, (byte) 0);
    }
  }

  /** The raw 32-byte scalar (a copy the caller should zeroize when done). */
  public byte[] toRaw() {
    checkNotDestroyed();
    return raw.clone();
  }

  /** The matching public key. */
  public X25519PublicKey publicKey() {
    return publicKey;
  }

  AsymmetricCipherKeyPair keyPair() {
    checkNotDestroyed();
    return keyPair;
  }

  /**
   * Zeroizes the raw scalar held by this object. BouncyCastle's internal copy cannot be reached and
   * is left to the garbage collector.
   */
  @Override
  public void destroy() {
    Arrays.fill(raw, (byte) 0);
    destroyed = true;
  }

  @Override
  public boolean isDestroyed() {
    return destroyed;
  }

  private void checkNotDestroyed() {
    if (destroyed) {
      throw new IllegalStateException("X25519 private key was destroyed");
    }
  }

  @Override
  public String toString() {
    return "X25519PrivateKey[public=" + publicKey.fingerprint() + "]";
  }
}
