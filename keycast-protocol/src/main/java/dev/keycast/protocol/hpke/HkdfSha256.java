package dev.keycast.protocol.hpke;

import java.security.InvalidKeyException;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * HKDF-SHA256 (RFC 5869) on the JDK's HMAC-SHA256, whose SHA-256 compression the JIT replaces
 * with SHA-NI / AVX2 intrinsics. One instance holds one {@link Mac} and is reused for the
 * extracts and expands of one key schedule: BouncyCastle's HKDF built a generator, an HMAC and two
 * digests per call (ten calls per HPKE seal). Not thread-safe; one per use.
 */
final class HkdfSha256 {
  static final int HASH_LENGTH = 32;
  private static final Mac PROTOTYPE = prototype();

  /** RFC 5869 section 2.2: an absent salt is HashLen zero bytes (HMAC pads the key so anyway). */
  private static final byte[] ZERO_SALT = new byte[HASH_LENGTH];

  private final Mac mac;

  HkdfSha256() {
    Mac m;
    try {
      m = (Mac) PROTOTYPE.clone();
    } catch (CloneNotSupportedException e) {
      m = prototype();
    }
    this.mac = m;
  }

  private static Mac prototype() {
    try {
      return Mac.getInstance("HmacSHA256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("the JDK lacks HmacSHA256", e);
    }
  }

  /** HKDF-Extract(salt, ikm); an empty salt is HashLen zeros. */
  byte[] extract(byte[] salt, byte[] ikm) {
    init(salt.length == 0 ? ZERO_SALT : salt);
    return mac.doFinal(ikm);
  }

  /** HKDF-Expand(prk, info, length), length at most 255 * HashLen. */
  byte[] expand(byte[] prk, byte[] info, int length) {
    if (length <= 0 || length > 255 * HASH_LENGTH) {
      throw new IllegalArgumentException("HKDF-Expand length " + length + " is out of range");
    }
    init(prk);
    byte[] out = new byte[length];
    byte[] t = new byte[0];
    int done = 0;
    for (int i = 1; done < length; i++) {
      mac.update(t);
      mac.update(info);
      mac.update((byte) i);
      byte[] next = mac.doFinal();
      Arrays.fill(t, (byte) 0);
      t = next;
      int n = Math.min(HASH_LENGTH, length - done);
      System.arraycopy(t, 0, out, done, n);
      done += n;
    }
    Arrays.fill(t, (byte) 0);
    return out;
  }

  private void init(byte[] key) {
    try {
      mac.init(new SecretKeySpec(key, "HmacSHA256"));
    } catch (InvalidKeyException e) {
      throw new IllegalStateException("HmacSHA256 refused a " + key.length + "-byte key", e);
    }
  }
}
