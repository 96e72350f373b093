package dev.keycast.protocol.hpke;

import dev.keycast.protocol.Fingerprints;
import dev.keycast.protocol.MalformedInputException;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.HexFormat;
import org.bouncycastle.crypto.params.X25519PublicKeyParameters;

/**
 * An X25519 public key (RFC 7748), held as its raw 32-byte encoding. Immutable; parse once and
 * reuse: the parsed BouncyCastle parameters are kept.
 */
public final class X25519PublicKey {
  /** Length of a raw X25519 public key. */
  public static final int LENGTH = 32;

  /** DER prefix of an X25519 SubjectPublicKeyInfo (RFC 8410): SEQ{SEQ{OID 1.3.101.110}, BIT STRING}. */
  private static final byte[] SPKI_PREFIX = HexFormat.of().parseHex("302a300506032b656e032100");

  private final byte[] raw;
  private final X25519PublicKeyParameters params;
  private final String fingerprint;

  private X25519PublicKey(byte[] raw) {
    this.raw = raw;
    this.params = new X25519PublicKeyParameters(raw, 0);
    this.fingerprint = Fingerprints.ofSpki(toSpkiDer());
  }

  /**
   * Parses a raw 32-byte X25519 public key.
   *
   * <p>Only the canonical encoding of a u-coordinate is accepted: RFC 7748 §5 has receivers mask
   * bit 255 and reduce modulo p = 2^255 - 19, so a key with its top bit set, or with a value in
   * [p, 2^255), is the same key as a canonical one under another encoding, hence another SPKI and
   * another fingerprint. Accepting it would let one key be registered (and admitted) twice.
   *
   * @throws MalformedInputException {@code malformed} if it is not 32 bytes, is all zero or is not
   *     canonical
   */
  public static X25519PublicKey fromRaw(byte[] raw) throws MalformedInputException {
    if (raw == null || raw.length != LENGTH) {
      throw new MalformedInputException(
          MalformedInputException.Kind.MALFORMED,
          "X25519 public key must be 32 bytes, got " + (raw == null ? "null" : raw.length));
    }
    if (MessageDigest.isEqual(raw, new byte[LENGTH])) {
      throw new MalformedInputException(
          MalformedInputException.Kind.MALFORMED, "X25519 public key is all zero");
    }
    if (!isCanonical(raw)) {
      throw new MalformedInputException(
          MalformedInputException.Kind.MALFORMED,
          "X25519 public key is not canonically encoded (top bit set"
              + " or u >= 2^255 - 19, RFC 7748 section 5): the same key has a canonical encoding");
    }
    return new X25519PublicKey(raw.clone());
  }

  /** Whether {@code raw} (32 bytes, little-endian) is below p = 2^255 - 19 with bit 255 clear. */
  static boolean isCanonical(byte[] raw) {
    if ((raw[31] & 0x80) != 0) {
      return false;
    }
    // u >= p exactly when bytes 31..1 are 0x7f, 0xff, ..., 0xff and byte 0 is >= 0xed
    if ((raw[31] & 0xff) != 0x7f || (raw[0] & 0xff) < 0xed) {
      return true;
    }
    for (int i = 1; i < 31; i++) {
      if ((raw[i] & 0xff) != 0xff) {
        return true;
      }
    }
    return false;
  }

  /**
   * Parses an X25519 SubjectPublicKeyInfo DER (exactly 44 bytes, RFC 8410).
   *
   * @throws MalformedInputException {@code malformed} for anything else
   */
  public static X25519PublicKey fromSpkiDer(byte[] der) throws MalformedInputException {
    if (der == null
        || der.length != SPKI_PREFIX.length + LENGTH
        || !Arrays.equals(der, 0, SPKI_PREFIX.length, SPKI_PREFIX, 0, SPKI_PREFIX.length)) {
      throw new MalformedInputException(
          MalformedInputException.Kind.MALFORMED,
          "not an X25519 SubjectPublicKeyInfo: " + MalformedInputException.quote(der, 16));
    }
    return fromRaw(Arrays.copyOfRange(der, SPKI_PREFIX.length, der.length));
  }

  /** The raw 32-byte encoding (a copy). */
  public byte[] toRaw() {
    return raw.clone();
  }

  /** The DER SubjectPublicKeyInfo (RFC 8410, id-X25519 1.3.101.110). */
  public byte[] toSpkiDer() {
    byte[] out = Arrays.copyOf(SPKI_PREFIX, SPKI_PREFIX.length + LENGTH);
    System.arraycopy(raw, 0, out, SPKI_PREFIX.length, LENGTH);
    return out;
  }

  /** The Keycast fingerprint: SHA-256 of {@link #toSpkiDer()}, lowercase hex. */
  public String fingerprint() {
    return fingerprint;
  }

  /** The held array itself (no copy); callers in this package must not modify it. */
  byte[] rawView() {
    return raw;
  }

  X25519PublicKeyParameters params() {
    return params;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof X25519PublicKey other && Arrays.equals(raw, other.raw);
  }

  @Override
  public int hashCode() {
    return Arrays.hashCode(raw);
  }

  @Override
  public String toString() {
    return "X25519PublicKey[" + HexFormat.of().formatHex(raw) + "]";
  }
}
