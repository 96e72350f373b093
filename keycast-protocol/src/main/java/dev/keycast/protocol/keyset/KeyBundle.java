package dev.keycast.protocol.keyset;

import dev.keycast.protocol.MalformedInputException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Objects;

/**
 * The public part of a {@link KeySet}: key-set id, X25519 receive public key and Ed25519 signing
 * public key (raw 32-byte keys).
 *
 * <p>{@link #userData()} is what the enclave puts into its attestation document's {@code
 * user_data}; {@link #receivePublicKeySpki()} is what it puts into {@code public_key}. A client
 * that holds the bundle recomputes both and compares them with the attested values.
 *
 * <p>Canonical encoding, version 1 (wire-format.md section 4.1):
 *
 * <pre>
 *   "keycast-key-bundle" (18 ASCII bytes) || 0x01 || u8 len(id) || id (ASCII)
 *   || receive public key (32) || signing public key (32)
 * </pre>
 */
public record KeyBundle(String keySetId, byte[] receivePublicKey, byte[] signingPublicKey) {
  /** Current (and only) bundle encoding version. */
  public static final int VERSION = 1;

  static final byte[] LABEL = "keycast-key-bundle".getBytes(StandardCharsets.US_ASCII);
  private static final int ENCODED_LENGTH = LABEL.length + 2 + 35 + 64;
  private static final byte[] X25519_SPKI_PREFIX =
      HexFormat.of().parseHex("302a300506032b656e032100");
  private static final byte[] ED25519_SPKI_PREFIX =
      HexFormat.of().parseHex("302a300506032b6570032100");

  /** Validates and copies the keys. */
  public KeyBundle {
    if (!KeySet.isWellFormedId(keySetId)) {
      throw new IllegalArgumentException("key-set id must be ks- followed by 32 lowercase hex");
    }
    Objects.requireNonNull(receivePublicKey, "receivePublicKey");
    Objects.requireNonNull(signingPublicKey, "signingPublicKey");
    if (receivePublicKey.length != 32 || signingPublicKey.length != 32) {
      throw new IllegalArgumentException("public keys must be 32 bytes");
    }
    receivePublicKey = receivePublicKey.clone();
    signingPublicKey = signingPublicKey.clone();
  }

  @Override
  public byte[] receivePublicKey() {
    return receivePublicKey.clone();
  }

  @Override
  public byte[] signingPublicKey() {
    return signingPublicKey.clone();
  }

  /** The canonical, versioned encoding (see the class comment). */
  public byte[] encode() {
    byte[] id = keySetId.getBytes(StandardCharsets.US_ASCII);
    byte[] out = new byte[ENCODED_LENGTH];
    int p = 0;
    System.arraycopy(LABEL, 0, out, p, LABEL.length);
    p += LABEL.length;
    out[p++] = VERSION;
    out[p++] = (byte) id.length;
    System.arraycopy(id, 0, out, p, id.length);
    p += id.length;
    System.arraycopy(receivePublicKey, 0, out, p, 32);
    p += 32;
    System.arraycopy(signingPublicKey, 0, out, p, 32);
    return out;
  }

  /** Parses {@link #encode()}'s output. */
  public static KeyBundle parse(byte[] encoded) throws MalformedInputException {
    if (encoded == null || encoded.length < LABEL.length + 1) {
      throw new MalformedInputException("truncated", "key bundle too short: " + MalformedInputException.quote(encoded, 32));
    }
    if (!Arrays.equals(encoded, 0, LABEL.length, LABEL, 0, LABEL.length)) {
      throw new MalformedInputException("malformed", "not a key bundle: " + MalformedInputException.quote(encoded, 32));
    }
    if (encoded[LABEL.length] != VERSION) {
      throw new MalformedInputException("unsupported_version", "key bundle version " + (encoded[LABEL.length] & 0xff) + " is not supported");
    }
    if (encoded.length != ENCODED_LENGTH) {
      throw new MalformedInputException(encoded.length < ENCODED_LENGTH ? "truncated" : "malformed",
          "key bundle must be " + ENCODED_LENGTH + " bytes, got " + encoded.length);
    }
    int p = LABEL.length + 1;
    if (encoded[p] != 35) {
      throw new MalformedInputException("malformed", "key-set id length must be 35, got " + (encoded[p] & 0xff));
    }
    String id = new String(encoded, p + 1, 35, StandardCharsets.US_ASCII);
    if (!KeySet.isWellFormedId(id)) {
      throw new MalformedInputException("malformed", "bad key-set id: " + MalformedInputException.quote(Arrays.copyOfRange(encoded, p + 1, p + 36), 35));
    }
    p += 36;
    return new KeyBundle(id, Arrays.copyOfRange(encoded, p, p + 32), Arrays.copyOfRange(encoded, p + 32, p + 64));
  }

  /** SHA-256 of {@link #encode()} (32 bytes): the attestation document's {@code user_data}. */
  public byte[] userData() {
    try {
      return MessageDigest.getInstance("SHA-256").digest(encode());
    } catch (NoSuchAlgorithmException e) {
      throw new AssertionError("SHA-256 is required by the Java platform", e);
    }
  }

  /** True when {@code attestedUserData} equals {@link #userData()} (constant time). */
  public boolean matchesUserData(byte[] attestedUserData) {
    return attestedUserData != null && MessageDigest.isEqual(userData(), attestedUserData);
  }

  /** The receive key as X25519 SubjectPublicKeyInfo DER (RFC 8410, 44 bytes): attestation {@code public_key}. */
  public byte[] receivePublicKeySpki() {
    return spki(X25519_SPKI_PREFIX, receivePublicKey);
  }

  /** The signing key as Ed25519 SubjectPublicKeyInfo DER (RFC 8410, 44 bytes). */
  public byte[] signingPublicKeySpki() {
    return spki(ED25519_SPKI_PREFIX, signingPublicKey);
  }

  private static byte[] spki(byte[] prefix, byte[] key) {
    byte[] out = Arrays.copyOf(prefix, prefix.length + key.length);
    System.arraycopy(key, 0, out, prefix.length, key.length);
    return out;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof KeyBundle b
        && keySetId.equals(b.keySetId)
        && Arrays.equals(receivePublicKey, b.receivePublicKey)
        && Arrays.equals(signingPublicKey, b.signingPublicKey);
  }

  @Override
  public int hashCode() {
    return keySetId.hashCode() * 31 + Arrays.hashCode(receivePublicKey);
  }

  @Override
  public String toString() {
    HexFormat hex = HexFormat.of();
    return "KeyBundle[keySetId=" + keySetId
        + ", receivePublicKey=" + hex.formatHex(receivePublicKey)
        + ", signingPublicKey=" + hex.formatHex(signingPublicKey) + "]";
  }
}
