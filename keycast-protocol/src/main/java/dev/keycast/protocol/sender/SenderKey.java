package dev.keycast.protocol.sender;

import dev.keycast.protocol.Fingerprints;
import dev.keycast.protocol.MalformedInputException;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Objects;
import org.bouncycastle.math.ec.rfc8032.Ed25519;

/**
 * An Ed25519 public key (RFC 8032, raw 32 bytes) of a sender or of a sender-set owner. Its
 * fingerprint is the Keycast fingerprint of its SubjectPublicKeyInfo (RFC 8410): SHA-256 of the
 * 44-byte DER, lowercase hex.
 */
public record SenderKey(byte[] raw) implements Comparable<SenderKey> {
  /** Length of a raw Ed25519 public key. */
  public static final int LENGTH = 32;

  private static final byte[] SPKI_PREFIX = HexFormat.of().parseHex("302a300506032b6570032100");

  /** Checks the length and that the key is a valid curve point; copies it. */
  public SenderKey {
    Objects.requireNonNull(raw, "raw");
    if (raw.length != LENGTH) {
      throw new IllegalArgumentException("an Ed25519 public key is 32 bytes, got " + raw.length);
    }
    if (!Ed25519.validatePublicKeyFull(raw, 0)) {
      throw new IllegalArgumentException("not a valid Ed25519 public key");
    }
    raw = raw.clone();
  }

  /** The key of a raw value, or a {@link MalformedInputException} naming {@code field}. */
  public static SenderKey of(String field, byte[] raw) throws MalformedInputException {
    try {
      return new SenderKey(raw);
    } catch (IllegalArgumentException e) {
      throw new MalformedInputException(
          MalformedInputException.Kind.MALFORMED, field + ": " + e.getMessage());
    }
  }

  /** The key of an Ed25519 SubjectPublicKeyInfo DER (RFC 8410, 44 bytes). */
  public static SenderKey fromSpki(byte[] der) throws MalformedInputException {
    if (der == null
        || der.length != SPKI_PREFIX.length + LENGTH
        || !Arrays.equals(der, 0, SPKI_PREFIX.length, SPKI_PREFIX, 0, SPKI_PREFIX.length)) {
      throw new MalformedInputException(
          MalformedInputException.Kind.MALFORMED, "not an Ed25519 SubjectPublicKeyInfo");
    }
    return of("public key", Arrays.copyOfRange(der, SPKI_PREFIX.length, der.length));
  }

  @Override
  public byte[] raw() {
    return raw.clone();
  }

  /** The key as SubjectPublicKeyInfo DER (44 bytes). */
  public byte[] spki() {
    byte[] out = Arrays.copyOf(SPKI_PREFIX, SPKI_PREFIX.length + LENGTH);
    System.arraycopy(raw, 0, out, SPKI_PREFIX.length, LENGTH);
    return out;
  }

  /** SHA-256 of {@link #spki()}, lowercase hex: how documents and the CLI name a sender. */
  public String fingerprint() {
    return Fingerprints.ofSpki(spki());
  }

  /** True when {@code signature} is this key's Ed25519 signature (RFC 8032, pure) over {@code message}. */
  public boolean verifies(byte[] message, byte[] signature) {
    return signature != null
        && signature.length == Ed25519.SIGNATURE_SIZE
        && Ed25519.verify(signature, 0, raw, 0, message, 0, message.length);
  }

  /** Byte order of the raw keys (how a sender set sorts them). */
  @Override
  public int compareTo(SenderKey o) {
    return Arrays.compareUnsigned(raw, o.raw);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof SenderKey k && MessageDigest.isEqual(raw, k.raw);
  }

  @Override
  public int hashCode() {
    return Arrays.hashCode(raw);
  }

  @Override
  public String toString() {
    return "SenderKey[" + fingerprint() + "]";
  }
}
