package dev.keycast.protocol.keyset;

import dev.keycast.protocol.DecryptionFailedException;
import dev.keycast.protocol.MalformedInputException;
import dev.keycast.protocol.SecretIds;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.SecureRandom;
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
 * <p>The AAD is the whole header, so format version, key-set id, secret id and policy digest are
 * all bound to the ciphertext. {@link #open} also requires the caller's policy bytes to hash to the
 * header's digest.
 */
public final class SealedSecret {
  /** Current (and only) format version. */
  public static final int VERSION = 1;
  /** Largest secret accepted. */
  public static final int MAX_SECRET = 65536;
  /** Longest secret id. */
  public static final int MAX_SECRET_ID = SecretIds.MAX_LENGTH;
  /** Longest sealed secret accepted by {@link #parse}. */
  public static final int MAX_ENCODED = 4 + 1 + 1 + 35 + 1 + MAX_SECRET_ID + 32 + 12 + 4 + MAX_SECRET + 16;

  static final byte[] MAGIC = "KCSS".getBytes(StandardCharsets.US_ASCII);

  private final byte[] encoded;
  private final int headerLength;
  private final String keySetId;
  private final String secretId;
  private final byte[] policySha256;
  private final byte[] nonce;

  private SealedSecret(byte[] encoded, int headerLength, String keySetId, String secretId,
      byte[] policySha256, byte[] nonce) {
    this.encoded = encoded;
    this.headerLength = headerLength;
    this.keySetId = keySetId;
    this.secretId = secretId;
    this.policySha256 = policySha256;
    this.nonce = nonce;
  }

  /**
   * Seals {@code secret} under {@code keySet}'s storage key, bound to {@code secretId} and the
   * SHA-256 of {@code policyBytes}. Draws 12 bytes of nonce from {@code random}.
   */
  public static SealedSecret seal(KeySet keySet, String secretId, byte[] secret, byte[] policyBytes,
      SecureRandom random) {
    Objects.requireNonNull(keySet, "keySet");
    Objects.requireNonNull(secret, "secret");
    Objects.requireNonNull(policyBytes, "policyBytes");
    Objects.requireNonNull(random, "random");
    if (!SecretIds.isWellFormed(secretId)) {
      throw new IllegalArgumentException("secret id must be " + SecretIds.RULE);
    }
    if (secret.length > MAX_SECRET) {
      throw new IllegalArgumentException("secret is " + secret.length + " bytes, limit " + MAX_SECRET);
    }
    byte[] nonce = new byte[Bytes.NONCE_LENGTH];
    random.nextBytes(nonce);
    byte[] policyDigest = Bytes.sha256(policyBytes);
    byte[] header = header(keySet.id(), secretId, policyDigest, nonce, secret.length + Bytes.TAG_LENGTH);
    byte[] key = keySet.storageKey();
    try {
      byte[] out = Bytes.sealAfterHeader(key, nonce, header, secret);
      return new SealedSecret(out, header.length, keySet.id(), secretId, policyDigest, nonce);
    } finally {
      Arrays.fill(key, (byte) 0);
    }
  }

  private static byte[] header(String keySetId, String secretId, byte[] policyDigest, byte[] nonce,
      int ciphertextLength) {
    byte[] sid = secretId.getBytes(StandardCharsets.US_ASCII);
    ByteArrayOutputStream h = Bytes.headerStart(MAGIC, VERSION, keySetId, 96 + sid.length);
    Bytes.u8(h, sid.length);
    h.writeBytes(sid);
    h.writeBytes(policyDigest);
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
    Bytes.Reader in = Bytes.sealedHeader(sealed, "sealed secret", MAGIC, VERSION, MAX_ENCODED);
    String id = in.keySetId();
    int sidLength = in.u8("secret id length");
    if (sidLength < 1 || sidLength > MAX_SECRET_ID) {
      throw new MalformedInputException(MalformedInputException.Kind.MALFORMED, "secret id length " + sidLength + " is outside 1.." + MAX_SECRET_ID);
    }
    String sid = in.ascii(sidLength, "secret id");
    if (!SecretIds.isWellFormed(sid)) {
      throw new MalformedInputException(MalformedInputException.Kind.MALFORMED, "bad secret id \"" + sid + "\"");
    }
    byte[] policyDigest = in.bytes(32, "policy digest");
    byte[] nonce = in.bytes(Bytes.NONCE_LENGTH, "nonce");
    long ctLength = in.u32("ciphertext length");
    if (ctLength < Bytes.TAG_LENGTH || ctLength > MAX_SECRET + Bytes.TAG_LENGTH) {
      throw new MalformedInputException(MalformedInputException.Kind.MALFORMED,
          "ciphertext length " + ctLength + " is outside " + Bytes.TAG_LENGTH + ".." + (MAX_SECRET + Bytes.TAG_LENGTH));
    }
    int headerLength = in.position();
    in.requireRemaining(ctLength, "header says");
    return new SealedSecret(sealed.clone(), headerLength, id, sid, policyDigest, nonce);
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
    boolean ok = MessageDigest.isEqual(Bytes.sha256(policyBytes), policySha256)
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
    return VERSION;
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
    return "SealedSecret[version=" + VERSION + ", keySetId=" + keySetId + ", secretId=" + secretId
        + ", policySha256=" + HexFormat.of().formatHex(policySha256) + ", length=" + encoded.length + "]";
  }
}
