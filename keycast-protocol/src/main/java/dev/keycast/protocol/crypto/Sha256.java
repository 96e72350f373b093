package dev.keycast.protocol.crypto;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import org.bouncycastle.crypto.ExtendedDigest;

/**
 * BouncyCastle's {@link ExtendedDigest} over the JDK's SHA-256 {@link MessageDigest} (whose
 * compression function the JIT replaces with SHA-NI / AVX2 intrinsics), so that BouncyCastle's
 * OAEP, MGF1, HMAC and HKDF run on the fast SHA-256. Same output as BouncyCastle's {@code
 * SHA256Digest}; not thread-safe (one per use, as BouncyCastle digests).
 */
public final class Sha256 implements ExtendedDigest {
  private static final MessageDigest PROTOTYPE = prototype();

  private final MessageDigest md;

  /** A fresh SHA-256. */
  public Sha256() {
    MessageDigest m;
    try {
      m = (MessageDigest) PROTOTYPE.clone();
    } catch (CloneNotSupportedException e) {
      m = prototype();
    }
    this.md = m;
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
