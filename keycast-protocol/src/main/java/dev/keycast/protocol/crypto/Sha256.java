package dev.keycast.protocol.crypto;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import org.bouncycastle.crypto.ExtendedDigest;

/**
 * BouncyCastle's {@link ExtendedDigest} over the JDK's SHA-256 {@link MessageDigest} (whose
 * compression function the JIT replaces with SHA-NI / AVX2 intrinsics), so that BouncyCastle's
 * OAEP, MGF1, HMAC and HKDF run on the fast SHA-256. Same output as BouncyCastle's {@code
 * SHA256Digest}; not thread-safe (one per use, as BouncyCastle digests).
 *
 * <p>Also the one place the JDK's SHA-256 is set up: {@link #digest(byte[]...)} for a one-shot
 * digest and {@link #newMessageDigest()} for an incremental one.
 */
public final class Sha256 implements ExtendedDigest {
  private static final MessageDigest PROTOTYPE = prototype();

  private final MessageDigest md;

  /** A fresh SHA-256. */
  public Sha256() {
    this.md = newMessageDigest();
  }

  /** A fresh JDK SHA-256 {@link MessageDigest} (a clone of a prototype: no provider look-up). */
  public static MessageDigest newMessageDigest() {
    try {
      return (MessageDigest) PROTOTYPE.clone();
    } catch (CloneNotSupportedException e) {
      return prototype();
    }
  }

  /** SHA-256 of the concatenation of {@code parts}. */
  public static byte[] digest(byte[]... parts) {
    MessageDigest d = newMessageDigest();
    for (byte[] p : parts) {
      d.update(p);
    }
    return d.digest();
  }

  private static MessageDigest prototype() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("the JDK lacks SHA-256", e);
    }
  }

  @Override
  public String getAlgorithmName() {
    return "SHA-256";
  }

  @Override
  public int getDigestSize() {
    return 32;
  }

  @Override
  public int getByteLength() {
    return 64;
  }

  @Override
  public void update(byte in) {
    md.update(in);
  }

  @Override
  public void update(byte[] in, int inOff, int len) {
    md.update(in, inOff, len);
  }

  @Override
  public int doFinal(byte[] out, int outOff) {
    try {
      return md.digest(out, outOff, 32);
    } catch (java.security.DigestException e) {
      throw new IllegalArgumentException("output buffer too small for SHA-256", e);
    }
  }

  @Override
  public void reset() {
    md.reset();
  }
}
