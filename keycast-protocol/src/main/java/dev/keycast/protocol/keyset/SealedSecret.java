package dev.keycast.protocol.keyset;

import dev.keycast.protocol.DecryptionFailedException;
import dev.keycast.protocol.MalformedInputException;
import dev.keycast.protocol.SecretIds;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.time.Instant;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Objects;

/**
 * A sent secret sealed by the enclave under its key set's storage key, so that a late recipient
 * can receive it later (wire-format.md section 4.3).
 *
 * <p>Layout, version 1 (integers big-endian):
 *
 * <pre>
 *   header = "KCSS" || u8 version=1
 *            || u8 len || key-set id (ASCII, 35)
 *            || u8 len || secret id (1..128 of [A-Za-z0-9._:-])
 *            || SHA-256(policy bytes) (32)
 *            || nonce (12)
 *            || u32 ciphertext length (16 .. 65536+16)
 *   sealed = header || AES-256-GCM(storage key, nonce, aad = header, secret)
 * </pre>
 *
 * <p>Version 2 (issue 23) is the sealed secret of a signed send: after the policy digest the
 * header carries the sender whose signature the enclave verified, {@code sender key (32, raw
 * Ed25519) || u64 signed-at (Unix seconds)}, so a later forward names the same sender in its
 * receipt and deliveries. The enclave seals every send as version 2; version 1 still opens.
 *
 * <p>The AAD is the whole header, so format version, key-set id, secret id, policy digest and
 * sender are all bound to the ciphertext. {@link #open} also requires the caller's policy bytes to
 * hash to the header's digest.
 */
public final class SealedSecret {
  /** Format version without a sender. */
  public static final int VERSION = 1;

  /** Format version of a signed send's secret: the header names the sender. */
  public static final int VERSION_WITH_SENDER = 2;

  /** Length of the sender key in a version-2 header. */
  public static final int SENDER_KEY_LENGTH = 32;

  /** Largest secret accepted. */
  public static final int MAX_SECRET = 65536;

  /** Longest secret id. */
  public static final int MAX_SECRET_ID = SecretIds.MAX_LENGTH;

  /** Longest sealed secret accepted by {@link #parse}. */
  public static final int MAX_ENCODED =
      4 + 1 + 1 + 35 + 1 + MAX_SECRET_ID + 32 + SENDER_KEY_LENGTH + 8 + 12 + 4 + MAX_SECRET + 16;

  static final byte[] MAGIC = "KCSS".getBytes(StandardCharsets.US_ASCII);

  private final byte[] encoded;
  private final int headerLength;
  private final String keySetId;
  private final String secretId;
  private final byte[] policySha256;
  private final byte[] nonce;
  private final int version;
  private final byte[] senderKey; // null in version 1
  private final Instant senderSignedAt; // null in version 1

  private SealedSecret(
      byte[] encoded,
      int headerLength,
      String keySetId,
      String secretId,
      byte[] policySha256,
      byte[] nonce,
      byte[] senderKey,
      Instant senderSignedAt) {
    this.encoded = encoded;
    this.headerLength = headerLength;
    this.keySetId = keySetId;
    this.secretId = secretId;
    this.policySha256 = policySha256;
    this.nonce = nonce;
    this.version = senderKey == null ? VERSION : VERSION_WITH_SENDER;
    this.senderKey = senderKey;
    this.senderSignedAt = senderSignedAt;
  }

  /**
   * Seals {@code secret} under {@code keySet}'s storage key, bound to {@code secretId} and the
   * SHA-256 of {@code policyBytes}. Draws 12 bytes of nonce from {@code random}.
   */
  public static SealedSecret seal(
      KeySet keySet, String secretId, byte[] secret, byte[] policyBytes, SecureRandom random) {
    return seal(keySet, secretId, secret, policyBytes, null, null, random);
  }

  /**
   * Seals the secret of a signed send (version 2): as {@link #seal(KeySet, String, byte[], byte[],
   * SecureRandom)}, with the sender's raw Ed25519 key and the instant it signed (whole seconds)
   * bound in the header; both null gives version 1.
   */
  public static SealedSecret seal(
      KeySet keySet,
      String secretId,
      byte[] secret,
      byte[] policyBytes,
      byte[] senderKey,
      Instant signedAt,
      SecureRandom random) {
    if ((senderKey == null) != (signedAt == null)) {
      throw new IllegalArgumentException("a sender needs both its key and its signing instant");
    }
    if (senderKey != null
        && (senderKey.length != SENDER_KEY_LENGTH
            || signedAt.getNano() != 0
            || signedAt.getEpochSecond() < 0)) {
      throw new IllegalArgumentException(
          "the sender is a 32-byte key and whole seconds after 1970");
    }
    Objects.requireNonNull(keySet, "keySet");
    Objects.requireNonNull(secret, "secret");
    Objects.requireNonNull(policyBytes, "policyBytes");
    Objects.requireNonNull(random, "random");
    if (!SecretIds.isWellFormed(secretId)) {
      throw new IllegalArgumentException("secret id must be " + SecretIds.RULE);
    }
    if (secret.length > MAX_SECRET) {
      throw new IllegalArgumentException(
          "secret is " + secret.length + " bytes, limit " + MAX_SECRET);
    }
    byte[] nonce = new byte[Bytes.NONCE_LENGTH];
    random.nextBytes(nonce);
    byte[] policyDigest = Bytes.sha256(policyBytes);
    byte[] sender = senderKey == null ? null : senderKey.clone();
    byte[] header =
        header(
            keySet.id(),
            secretId,
            policyDigest,
            sender,
            signedAt,
            nonce,
            secret.length + Bytes.TAG_LENGTH);
    byte[] key = keySet.storageKey();
    try {
      byte[] out = Bytes.sealAfterHeader(key, nonce, header, secret);
      return new SealedSecret(
          out, header.length, keySet.id(), secretId, policyDigest, nonce, sender, signedAt);
    } finally {
      Arrays.fill(key, (byte) 0);
    }
  }

  private static byte[] header(
      String keySetId,
      String secretId,
      byte[] policyDigest,
      byte[] senderKey,
      Instant signedAt,
      byte[] nonce,
      int ciphertextLength) {
    byte[] sid = secretId.getBytes(StandardCharsets.US_ASCII);
    ByteArrayOutputStream h =
        Bytes.headerStart(
            MAGIC, senderKey == null ? VERSION : VERSION_WITH_SENDER, keySetId, 136 + sid.length);
    Bytes.u8(h, sid.length);
    h.writeBytes(sid);
    h.writeBytes(policyDigest);
    if (senderKey != null) {
      h.writeBytes(senderKey);
      h.writeBytes(java.nio.ByteBuffer.allocate(8).putLong(signedAt.getEpochSecond()).array());
    }
    h.writeBytes(nonce);
    Bytes.u32(h, ciphertextLength);
    return h.toByteArray();
  }

  /**
   * Parses a sealed secret and validates its header.
   *
   * @throws MalformedInputException {@code oversize}, {@code truncated}, {@code malformed} or
   *     {@code unsupported_version}
   */
  public static SealedSecret parse(byte[] sealed) throws MalformedInputException {
    // the version byte decides the header's layout; sealedHeader refuses any but the one given
    int version =
        sealed != null
                && sealed.length > MAGIC.length
                && sealed[MAGIC.length] == VERSION_WITH_SENDER
            ? VERSION_WITH_SENDER
            : VERSION;
    Bytes.Reader in = Bytes.sealedHeader(sealed, "sealed secret", MAGIC, version, MAX_ENCODED);
    String id = in.keySetId();
    int sidLength = in.u8("secret id length");
    if (sidLength < 1 || sidLength > MAX_SECRET_ID) {
      throw new MalformedInputException(
          MalformedInputException.Kind.MALFORMED,
          "secret id length " + sidLength + " is outside 1.." + MAX_SECRET_ID);
    }
    String sid = in.ascii(sidLength, "secret id");
    if (!SecretIds.isWellFormed(sid)) {
      throw new MalformedInputException(
          MalformedInputException.Kind.MALFORMED, "bad secret id \"" + sid + "\"");
    }
    byte[] policyDigest = in.bytes(32, "policy digest");
    byte[] senderKey = null;
    Instant signedAt = null;
    if (version == VERSION_WITH_SENDER) {
      senderKey = in.bytes(SENDER_KEY_LENGTH, "sender key");
      long seconds = java.nio.ByteBuffer.wrap(in.bytes(8, "signed-at")).getLong();
      if (seconds < 0 || seconds > 253_402_300_799L) { // 9999-12-31T23:59:59Z
        throw new MalformedInputException(
            MalformedInputException.Kind.MALFORMED,
            "signed-at " + seconds + " is not an instant between 1970 and 9999");
      }
      signedAt = Instant.ofEpochSecond(seconds);
    }
    byte[] nonce = in.bytes(Bytes.NONCE_LENGTH, "nonce");
    long ctLength = in.u32("ciphertext length");
    if (ctLength < Bytes.TAG_LENGTH || ctLength > MAX_SECRET + Bytes.TAG_LENGTH) {
      throw new MalformedInputException(
          MalformedInputException.Kind.MALFORMED,
          "ciphertext length "
              + ctLength
              + " is outside "
              + Bytes.TAG_LENGTH
              + ".."
              + (MAX_SECRET + Bytes.TAG_LENGTH));
    }
    int headerLength = in.position();
    in.requireRemaining(ctLength, "header says");
    return new SealedSecret(
        sealed.clone(), headerLength, id, sid, policyDigest, nonce, senderKey, signedAt);
  }

  /**
   * Opens with {@code keySet}'s storage key. {@code policyBytes} must be the policy the secret was
   * sealed with. Returns the secret; the caller zeroizes it.
   *
   * @throws DecryptionFailedException wrong key set, wrong policy, or any altered byte
   */
  public byte[] open(KeySet keySet, byte[] policyBytes) throws DecryptionFailedException {
    Objects.requireNonNull(keySet, "keySet");
    Objects.requireNonNull(policyBytes, "policyBytes");
    boolean ok =
        MessageDigest.isEqual(Bytes.sha256(policyBytes), policySha256)
            & keySet.id().equals(keySetId);
    byte[] key = keySet.storageKey();
    try {
      byte[] secret = Bytes.openAfterHeader(key, nonce, encoded, headerLength);
      if (!ok) {
        Arrays.fill(secret, (byte) 0);
        throw new DecryptionFailedException();
      }
      return secret;
    } finally {
      Arrays.fill(key, (byte) 0);
    }
  }

  public int version() {
    return version;
  }

  /** The raw Ed25519 key of the signed send's sender (a copy), or null in version 1. */
  public byte[] senderKey() {
    return senderKey == null ? null : senderKey.clone();
  }

  /** The instant the sender signed the send, or null in version 1. */
  public Instant senderSignedAt() {
    return senderSignedAt;
  }

  public String keySetId() {
    return keySetId;
  }

  public String secretId() {
    return secretId;
  }

  /** SHA-256 of the policy bytes this secret is bound to (a copy). */
  public byte[] policySha256() {
    return policySha256.clone();
  }

  /** The full sealed bytes (a copy). */
  public byte[] encode() {
    return encoded.clone();
  }

  @Override
  public String toString() {
    return "SealedSecret[version="
        + version
        + ", keySetId="
        + keySetId
        + ", secretId="
        + secretId
        + ", policySha256="
        + HexFormat.of().formatHex(policySha256)
        + ", length="
        + encoded.length
        + "]";
  }
}
