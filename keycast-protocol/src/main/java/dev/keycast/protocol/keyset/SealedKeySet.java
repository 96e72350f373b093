package dev.keycast.protocol.keyset;

import dev.keycast.protocol.DecryptionFailedException;
import dev.keycast.protocol.MalformedInputException;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.Collections;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * A {@link KeySet} sealed with AES-256-GCM under a KMS data key (wire-format.md section 4.2).
 *
 * <p>Layout, version 1 (all integers big-endian):
 *
 * <pre>
 *   header = "KCKS" || u8 version=1
 *            || u8 len || key-set id (ASCII, 35)
 *            || u16 len || KMS key id (printable ASCII, 1..2048)
 *            || receive public key (32) || signing public key (32)
 *            || u16 len || KMS-encrypted data key (CiphertextBlob, 1..6144)
 *            || nonce (12)
 *   sealed = header || AES-256-GCM(data key, nonce, aad = header,
 *                        receive private (32) || signing private (32) || storage key (32))
 * </pre>
 *
 * <p>The header is readable without the data key ({@link #parse}); {@link #unseal} authenticates
 * it, decrypts and checks that the private keys produce the header's public keys. The attested
 * {@link KeyBundle} ({@link #bundle()}) carries the header's KMS key id, so a sender learns which
 * KMS key protects the key set it encrypts to. The data key is
 * obtained by sending {@link #encryptedDataKey()} to KMS Decrypt with {@link
 * #encryptionContext(String)}.
 */
public final class SealedKeySet {
  /** Current (and only) format version. */
  public static final int VERSION = 1;
  /** Format name used in the KMS encryption context. */
  public static final String FORMAT = "sealed-key-set/1";
  /** KMS encryption-context key naming the format. */
  public static final String CONTEXT_FORMAT = "keycast:format";
  /** KMS encryption-context key naming the key set. */
  public static final String CONTEXT_KEY_SET_ID = "keycast:key-set-id";
  /** Longest KMS key id accepted (KMS's own limit for KeyId). */
  public static final int MAX_KMS_KEY_ID = 2048;
  /** Longest KMS CiphertextBlob accepted (KMS's own limit). */
  public static final int MAX_ENCRYPTED_DATA_KEY = 6144;
  /** Longest sealed key set accepted by {@link #parse}. */
  public static final int MAX_ENCODED = 16384;

  static final byte[] MAGIC = "KCKS".getBytes(StandardCharsets.US_ASCII);
  private static final int PLAINTEXT_LENGTH = 3 * KeySet.KEY_LENGTH;
  private static final int CIPHERTEXT_LENGTH = PLAINTEXT_LENGTH + Bytes.TAG_LENGTH;

  private final byte[] encoded;
  private final int headerLength;
  private final String keySetId;
  private final String kmsKeyId;
  private final byte[] receivePublicKey;
  private final byte[] signingPublicKey;
  private final byte[] encryptedDataKey;
  private final byte[] nonce;

  private SealedKeySet(byte[] encoded, int headerLength, String keySetId, String kmsKeyId,
      byte[] receivePublicKey, byte[] signingPublicKey, byte[] encryptedDataKey, byte[] nonce) {
    this.encoded = encoded;
    this.headerLength = headerLength;
    this.keySetId = keySetId;
    this.kmsKeyId = kmsKeyId;
    this.receivePublicKey = receivePublicKey;
    this.signingPublicKey = signingPublicKey;
    this.encryptedDataKey = encryptedDataKey;
    this.nonce = nonce;
  }

  /**
   * Seals {@code keySet} under {@code dataKey} (the 32-byte plaintext of a KMS GenerateDataKey
   * AES_256 answer). {@code encryptedDataKey} is the CiphertextBlob of that same answer and {@code
   * kmsKeyId} the key id or ARN it was generated under. The caller keeps and zeroizes {@code
   * dataKey}. Draws 12 bytes of nonce from {@code random}.
   */
  public static SealedKeySet seal(KeySet keySet, byte[] dataKey, String kmsKeyId,
      byte[] encryptedDataKey, SecureRandom random) {
    Objects.requireNonNull(keySet, "keySet");
    return seal(keySet, keySet.receivePublicKey(), keySet.signingPublicKey(), dataKey, kmsKeyId,
        encryptedDataKey, random);
  }

  /** Seals with explicit header public keys; package-private so tests can build inconsistent sets. */
  static SealedKeySet seal(KeySet keySet, byte[] headerReceivePublic, byte[] headerSigningPublic,
      byte[] dataKey, String kmsKeyId, byte[] encryptedDataKey, SecureRandom random) {
    Objects.requireNonNull(dataKey, "dataKey");
    Objects.requireNonNull(random, "random");
    if (dataKey.length != 32) {
      throw new IllegalArgumentException("data key must be 32 bytes (AES_256)");
    }
    checkKmsKeyId(kmsKeyId);
    Objects.requireNonNull(encryptedDataKey, "encryptedDataKey");
    if (encryptedDataKey.length < 1 || encryptedDataKey.length > MAX_ENCRYPTED_DATA_KEY) {
      throw new IllegalArgumentException("encrypted data key must be 1.." + MAX_ENCRYPTED_DATA_KEY + " bytes");
    }
    byte[] nonce = new byte[Bytes.NONCE_LENGTH];
    random.nextBytes(nonce);
    byte[] kms = kmsKeyId.getBytes(StandardCharsets.US_ASCII);
    ByteArrayOutputStream h = Bytes.headerStart(MAGIC, VERSION, keySet.id(), 256 + kms.length + encryptedDataKey.length);
    Bytes.u16(h, kms.length);
    h.writeBytes(kms);
    h.writeBytes(headerReceivePublic);
    h.writeBytes(headerSigningPublic);
    Bytes.u16(h, encryptedDataKey.length);
    h.writeBytes(encryptedDataKey);
    h.writeBytes(nonce);
    byte[] header = h.toByteArray();

    byte[] plaintext = new byte[PLAINTEXT_LENGTH];
    byte[] r = keySet.receivePrivateKey();
    byte[] s = keySet.signingPrivateKey();
    byte[] k = keySet.storageKey();
    try {
      System.arraycopy(r, 0, plaintext, 0, 32);
      System.arraycopy(s, 0, plaintext, 32, 32);
      System.arraycopy(k, 0, plaintext, 64, 32);
      byte[] out = Bytes.sealAfterHeader(dataKey, nonce, header, plaintext);
      return new SealedKeySet(out, header.length, keySet.id(), kmsKeyId, headerReceivePublic.clone(),
          headerSigningPublic.clone(), encryptedDataKey.clone(), nonce);
    } finally {
      Arrays.fill(plaintext, (byte) 0);
      Arrays.fill(r, (byte) 0);
      Arrays.fill(s, (byte) 0);
      Arrays.fill(k, (byte) 0);
    }
  }

  /**
   * Parses a sealed key set and validates its header, without the data key.
   *
   * @throws MalformedInputException {@code oversize}, {@code truncated}, {@code malformed} (bad
   *     magic, field syntax or trailing bytes) or {@code unsupported_version}
   */
  public static SealedKeySet parse(byte[] sealed) throws MalformedInputException {
    Bytes.Reader in = Bytes.sealedHeader(sealed, "sealed key set", MAGIC, VERSION, MAX_ENCODED);
    String id = in.keySetId();
    int kmsLength = in.u16("KMS key id length");
    if (kmsLength < 1 || kmsLength > MAX_KMS_KEY_ID) {
      throw new MalformedInputException(MalformedInputException.Kind.MALFORMED,
          "KMS key id length " + kmsLength + " is outside 1.." + MAX_KMS_KEY_ID);
    }
    String kms = in.ascii(kmsLength, "KMS key id");
    byte[] rpk = in.bytes(32, "receive public key");
    byte[] spk = in.bytes(32, "signing public key");
    int edkLength = in.u16("encrypted data key length");
    if (edkLength < 1 || edkLength > MAX_ENCRYPTED_DATA_KEY) {
      throw new MalformedInputException(MalformedInputException.Kind.MALFORMED,
          "encrypted data key length " + edkLength + " is outside 1.." + MAX_ENCRYPTED_DATA_KEY);
    }
    byte[] edk = in.bytes(edkLength, "encrypted data key");
    byte[] nonce = in.bytes(Bytes.NONCE_LENGTH, "nonce");
    int headerLength = in.position();
    in.requireRemaining(CIPHERTEXT_LENGTH, "expected");
    return new SealedKeySet(sealed.clone(), headerLength, id, kms, rpk, spk, edk, nonce);
  }

  /**
   * Authenticates and decrypts with {@code dataKey} (the Plaintext of KMS Decrypt), then checks
   * that the private keys produce the header's public keys. The caller zeroizes {@code dataKey}.
   *
   * @throws DecryptionFailedException wrong data key, any altered byte, or inconsistent keys
   */
  public KeySet unseal(byte[] dataKey) throws DecryptionFailedException {
    byte[] plaintext = Bytes.openAfterHeader(dataKey, nonce, encoded, headerLength);
    byte[] r = Arrays.copyOfRange(plaintext, 0, 32);
    byte[] s = Arrays.copyOfRange(plaintext, 32, 64);
    byte[] k = Arrays.copyOfRange(plaintext, 64, 96);
    try {
      KeySet keySet = KeySet.fromPrivate(keySetId, r, s, k);
      if (!keySet.matches(receivePublicKey, signingPublicKey)) {
        keySet.destroy();
        throw new DecryptionFailedException();
      }
      return keySet;
    } finally {
      Arrays.fill(plaintext, (byte) 0);
      Arrays.fill(r, (byte) 0);
      Arrays.fill(s, (byte) 0);
      Arrays.fill(k, (byte) 0);
    }
  }

  /**
   * The KMS encryption context for a key set's data key: {@code {"keycast:format":
   * "sealed-key-set/1", "keycast:key-set-id": keySetId}}. The enclave MUST pass it to both
   * GenerateDataKey and Decrypt, so a data key cannot be reused for another key set or format.
   */
  public static Map<String, String> encryptionContext(String keySetId) {
    if (!KeySet.isWellFormedId(keySetId)) {
      throw new IllegalArgumentException("bad key-set id");
    }
    TreeMap<String, String> m = new TreeMap<>();
    m.put(CONTEXT_FORMAT, FORMAT);
    m.put(CONTEXT_KEY_SET_ID, keySetId);
    return Collections.unmodifiableSortedMap(m);
  }

  /** This sealed key set's encryption context ({@link #encryptionContext(String)} of its id). */
  public Map<String, String> encryptionContext() {
    return encryptionContext(keySetId);
  }

  private static void checkKmsKeyId(String kmsKeyId) {
    Objects.requireNonNull(kmsKeyId, "kmsKeyId");
    if (!KeyBundle.isWellFormedKmsKeyId(kmsKeyId)) {
      throw new IllegalArgumentException("KMS key id must be 1.." + MAX_KMS_KEY_ID + " printable ASCII characters");
    }
  }

  /** Format version (always {@link #VERSION} for a parsed value). */
  public int version() {
    return VERSION;
  }

  public String keySetId() {
    return keySetId;
  }

  /** The KMS key id or ARN the data key was generated under. */
  public String kmsKeyId() {
    return kmsKeyId;
  }

  /** The KMS CiphertextBlob to send to KMS Decrypt (a copy). */
  public byte[] encryptedDataKey() {
    return encryptedDataKey.clone();
  }

  /**
   * The public bundle named by the header, including the header's KMS key id. Unauthenticated
   * until {@link #unseal} succeeds: use it for display and routing only. After {@link #unseal}
   * succeeds it equals {@code unsealed.bundle(kmsKeyId())}: the header is the AEAD's associated
   * data and the unsealed private keys were checked against the header's public keys, so this is
   * the bundle the enclave attests.
   */
  public KeyBundle bundle() {
    return new KeyBundle(keySetId, receivePublicKey, signingPublicKey, kmsKeyId);
  }

  /** The full sealed bytes (a copy). */
  public byte[] encode() {
    return encoded.clone();
  }

  @Override
  public String toString() {
    return "SealedKeySet[version=" + VERSION + ", keySetId=" + keySetId + ", kmsKeyId=" + kmsKeyId
        + ", length=" + encoded.length + "]";
  }
}
