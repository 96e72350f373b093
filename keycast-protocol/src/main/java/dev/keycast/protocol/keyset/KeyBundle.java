package dev.keycast.protocol.keyset;

import dev.keycast.protocol.MalformedInputException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Objects;

/**
 * The public part of a sealed {@link KeySet}: key-set id, X25519 receive public key, Ed25519
 * signing public key (raw 32-byte keys) and the id (ARN) of the KMS key that protects the sealed
 * key set, as recorded in its header ({@link SealedKeySet#kmsKeyId()}).
 *
 * <p>{@link #userData()} is what the enclave puts into its attestation document's {@code
 * user_data}; {@link #receivePublicKeySpki()} is what it puts into {@code public_key}. A client
 * that holds the bundle recomputes both and compares them with the attested values. Because the
 * KMS key id is inside the digest, the attestation says which KMS key (whose key policy the sender
 * can audit) protects the enclave's keys: a host cannot make the enclave serve a key set it sealed
 * itself under a KMS key without attestation conditions without the bundle naming that key.
 *
 * <p>Canonical encoding, version 2 (wire-format.md section 4.2), and version 3 when the bundle
 * carries the enclave's {@link KmsKeyCheck} (is its KMS key locked, and the digest of its policy):
 *
 * <pre>
 *   "keycast-key-bundle" (18 ASCII bytes) || 0x02 or 0x03 || u8 len(id)=35 || id (ASCII)
 *   || receive public key (32) || signing public key (32)
 *   || u16 len(kms) || KMS key id (printable ASCII, 1..2048 bytes)
 *   [version 3 only: || u8 locked (0x00 or 0x01) || SHA-256 of the key policy (32)]
 * </pre>
 *
 * A version 2 bundle says nothing about the key's policy: a client treats its key as not locked.
 *
 * <p>Version 4 adds the key set's sender set (issue 23; wire-format.md section 4.2): who may send
 * through this key set, so a studio sees who else may send.
 *
 * <pre>
 *   "keycast-key-bundle" || 0x04 || u8 len(id)=35 || id || receive public key (32)
 *   || signing public key (32) || u16 len(kms) || KMS key id
 *   || u8 has_kms_key_check (0x00 or 0x01) [|| u8 locked || SHA-256 of the key policy (32)]
 *   || u64 sender-set version || SHA-256 of the sender set's canonical encoding (32)
 * </pre>
 *
 * <p>Version 5 adds the key set's KDM signer chain (issue 24; wire-format.md section 4.2), so the
 * attestation says which ST 430-2 chain signs the KDMs this enclave issues:
 *
 * <pre>
 *   "keycast-key-bundle" || 0x05 || u8 len(id)=35 || id || receive public key (32)
 *   || signing public key (32) || u16 len(kms) || KMS key id
 *   || u8 has_kms_key_check [|| u8 locked || SHA-256 of the key policy (32)]
 *   || u8 has_sender_set [|| u64 sender-set version || SHA-256 of the sender set (32)]
 *   || u8 n (2..8) || n x (u16 len (1..4096) || certificate DER)   ; leaf first, at most 16384 DER bytes
 * </pre>
 */
public record KeyBundle(
    String keySetId,
    byte[] receivePublicKey,
    byte[] signingPublicKey,
    String kmsKeyId,
    java.util.Optional<KmsKeyCheck> kmsKeyCheck,
    java.util.Optional<SenderSetRef> senderSet,
    java.util.List<byte[]> kdmSignerChain) {
  /** The encoding version of a bundle without a KMS key check. Version 1 had no KMS key id. */
  public static final int VERSION = 2;

  /** The encoding version of a bundle with a {@link KmsKeyCheck}. */
  public static final int VERSION_WITH_KMS_KEY_CHECK = 3;

  /** The encoding version of a bundle with a {@link SenderSetRef}. */
  public static final int VERSION_WITH_SENDER_SET = 4;

  /** The encoding version of a bundle with a KDM signer chain. */
  public static final int VERSION_WITH_KDM_SIGNER = 5;

  private static final int SENDER_SET_LENGTH = 8 + 32;

  /**
   * The sender set in force (issue 23): its version and the SHA-256 of its canonical encoding
   * ({@code dev.keycast.protocol.sender.SenderSet#digest()}).
   */
  public record SenderSetRef(long version, byte[] sha256) {
    public SenderSetRef {
      if (version < 1) {
        throw new IllegalArgumentException("sender-set version must be at least 1");
      }
      if (sha256 == null || sha256.length != 32) {
        throw new IllegalArgumentException("sender-set digest must be 32 bytes");
      }
      sha256 = sha256.clone();
    }

    @Override
    public byte[] sha256() {
      return sha256.clone();
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof SenderSetRef r && r.version == version && Arrays.equals(r.sha256, sha256);
    }

    @Override
    public int hashCode() {
      return Long.hashCode(version) * 31 + Arrays.hashCode(sha256);
    }

    @Override
    public String toString() {
      return "SenderSetRef[version="
          + version
          + ", sha256="
          + HexFormat.of().formatHex(sha256)
          + "]";
    }
  }

  /** Longest KMS key id in bytes (KMS's own limit; the same as {@link SealedKeySet#MAX_KMS_KEY_ID}). */
  public static final int MAX_KMS_KEY_ID = SealedKeySet.MAX_KMS_KEY_ID;

  static final byte[] LABEL = "keycast-key-bundle".getBytes(StandardCharsets.US_ASCII);
  private static final int FIXED_LENGTH = LABEL.length + 2 + 35 + 64 + 2;

  /** Longest version 2 encoding {@link #parse} accepts. */
  public static final int MAX_ENCODED = FIXED_LENGTH + MAX_KMS_KEY_ID;

  private static final int CHECK_LENGTH = 1 + 32;

  /** Longest version 3 encoding {@link #parse} accepts. */
  public static final int MAX_ENCODED_WITH_KMS_KEY_CHECK = MAX_ENCODED + CHECK_LENGTH;

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
    if (!isWellFormedKmsKeyId(kmsKeyId)) {
      throw new IllegalArgumentException(
          "KMS key id must be 1.." + MAX_KMS_KEY_ID + " printable ASCII characters");
    }
    Objects.requireNonNull(kmsKeyCheck, "kmsKeyCheck");
    Objects.requireNonNull(senderSet, "senderSet");
    Objects.requireNonNull(kdmSignerChain, "kdmSignerChain");
    if (!kdmSignerChain.isEmpty()) {
      checkSignerChain(kdmSignerChain);
    }
    receivePublicKey = receivePublicKey.clone();
    signingPublicKey = signingPublicKey.clone();
    kdmSignerChain = kdmSignerChain.stream().map(byte[]::clone).toList();
  }

  /** A bundle without a KDM signer chain (version 2, 3 or 4). */
  public KeyBundle(
      String keySetId,
      byte[] receivePublicKey,
      byte[] signingPublicKey,
      String kmsKeyId,
      java.util.Optional<KmsKeyCheck> kmsKeyCheck,
      java.util.Optional<SenderSetRef> senderSet) {
    this(
        keySetId,
        receivePublicKey,
        signingPublicKey,
        kmsKeyId,
        kmsKeyCheck,
        senderSet,
        java.util.List.of());
  }

  private static void checkSignerChain(java.util.List<byte[]> chain) {
    if (chain.size() < 2 || chain.size() > KdmSignerKeys.MAX_CERTIFICATES) {
      throw new IllegalArgumentException(
          "a KDM signer chain holds 2.." + KdmSignerKeys.MAX_CERTIFICATES + " certificates");
    }
    int total = 0;
    for (byte[] c : chain) {
      if (c == null || c.length < 1 || c.length > KdmSignerKeys.MAX_CERTIFICATE_BYTES) {
        throw new IllegalArgumentException(
            "a KDM signer certificate is 1.." + KdmSignerKeys.MAX_CERTIFICATE_BYTES + " bytes");
      }
      total += c.length;
    }
    if (total > KdmSignerKeys.MAX_CHAIN_BYTES) {
      throw new IllegalArgumentException(
          "a KDM signer chain is at most " + KdmSignerKeys.MAX_CHAIN_BYTES + " bytes");
    }
  }

  /** A bundle without a KMS key check (version 2). */
  public KeyBundle(
      String keySetId, byte[] receivePublicKey, byte[] signingPublicKey, String kmsKeyId) {
    this(keySetId, receivePublicKey, signingPublicKey, kmsKeyId, java.util.Optional.empty());
  }

  /** A bundle without a sender set (version 2 or 3). */
  public KeyBundle(
      String keySetId,
      byte[] receivePublicKey,
      byte[] signingPublicKey,
      String kmsKeyId,
      java.util.Optional<KmsKeyCheck> kmsKeyCheck) {
    this(
        keySetId,
        receivePublicKey,
        signingPublicKey,
        kmsKeyId,
        kmsKeyCheck,
        java.util.Optional.empty());
  }

  /** This bundle with the enclave's check of its KMS key (version 3, or 4 with a sender set). */
  public KeyBundle withKmsKeyCheck(KmsKeyCheck check) {
    return new KeyBundle(
        keySetId,
        receivePublicKey,
        signingPublicKey,
        kmsKeyId,
        java.util.Optional.of(check),
        senderSet,
        kdmSignerChain);
  }

  /** This bundle with the sender set in force (version 4). */
  public KeyBundle withSenderSet(SenderSetRef ref) {
    return new KeyBundle(
        keySetId,
        receivePublicKey,
        signingPublicKey,
        kmsKeyId,
        kmsKeyCheck,
        java.util.Optional.of(ref),
        kdmSignerChain);
  }

  /** This bundle with the key set's KDM signer chain (DER, leaf first; version 5). */
  public KeyBundle withKdmSignerChain(java.util.List<byte[]> chain) {
    return new KeyBundle(
        keySetId, receivePublicKey, signingPublicKey, kmsKeyId, kmsKeyCheck, senderSet, chain);
  }

  /** The KDM signer chain (DER, leaf first; copies); empty for bundles before version 5. */
  @Override
  public java.util.List<byte[]> kdmSignerChain() {
    return kdmSignerChain.stream().map(byte[]::clone).toList();
  }

  /** The encoding version of this bundle. */
  public int version() {
    return !kdmSignerChain.isEmpty()
        ? VERSION_WITH_KDM_SIGNER
        : senderSet.isPresent()
            ? VERSION_WITH_SENDER_SET
            : kmsKeyCheck.isPresent() ? VERSION_WITH_KMS_KEY_CHECK : VERSION;
  }

  /**
   * True when {@code kmsKeyId} is 1..{@value SealedKeySet#MAX_KMS_KEY_ID} printable ASCII
   * characters (0x21..0x7e), the syntax the sealed key set header enforces.
   */
  public static boolean isWellFormedKmsKeyId(String kmsKeyId) {
    return kmsKeyId != null
        && !kmsKeyId.isEmpty()
        && kmsKeyId.length() <= MAX_KMS_KEY_ID
        && kmsKeyId.chars().allMatch(c -> c >= 0x21 && c <= 0x7e);
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
    if (!kdmSignerChain.isEmpty()) {
      return encodeV5();
    }
    byte[] id = keySetId.getBytes(StandardCharsets.US_ASCII);
    byte[] kms = kmsKeyId.getBytes(StandardCharsets.US_ASCII);
    boolean v4 = senderSet.isPresent();
    byte[] out =
        new byte
            [FIXED_LENGTH
                + kms.length
                + (kmsKeyCheck.isPresent() ? CHECK_LENGTH : 0)
                + (v4 ? 1 + SENDER_SET_LENGTH : 0)];
    int p = 0;
    System.arraycopy(LABEL, 0, out, p, LABEL.length);
    p += LABEL.length;
    out[p++] = (byte) version();
    out[p++] = (byte) id.length;
    System.arraycopy(id, 0, out, p, id.length);
    p += id.length;
    System.arraycopy(receivePublicKey, 0, out, p, 32);
    p += 32;
    System.arraycopy(signingPublicKey, 0, out, p, 32);
    p += 32;
    out[p++] = (byte) (kms.length >>> 8);
    out[p++] = (byte) kms.length;
    System.arraycopy(kms, 0, out, p, kms.length);
    p += kms.length;
    if (v4) {
      out[p++] = (byte) (kmsKeyCheck.isPresent() ? 1 : 0);
    }
    if (kmsKeyCheck.isPresent()) {
      out[p++] = (byte) (kmsKeyCheck.get().locked() ? 1 : 0);
      System.arraycopy(kmsKeyCheck.get().policySha256(), 0, out, p, 32);
      p += 32;
    }
    if (v4) {
      long v = senderSet.get().version();
      for (int i = 7; i >= 0; i--) {
        out[p++] = (byte) (v >>> (8 * i));
      }
      System.arraycopy(senderSet.get().sha256(), 0, out, p, 32);
    }
    return out;
  }

  /** Version 5: presence bytes for the KMS key check and the sender set, then the signer chain. */
  private byte[] encodeV5() {
    java.io.ByteArrayOutputStream out =
        new java.io.ByteArrayOutputStream(FIXED_LENGTH + 2048 + 4096);
    byte[] id = keySetId.getBytes(StandardCharsets.US_ASCII);
    byte[] kms = kmsKeyId.getBytes(StandardCharsets.US_ASCII);
    out.writeBytes(LABEL);
    Bytes.u8(out, VERSION_WITH_KDM_SIGNER);
    Bytes.u8(out, id.length);
    out.writeBytes(id);
    out.writeBytes(receivePublicKey);
    out.writeBytes(signingPublicKey);
    Bytes.u16(out, kms.length);
    out.writeBytes(kms);
    Bytes.u8(out, kmsKeyCheck.isPresent() ? 1 : 0);
    kmsKeyCheck.ifPresent(
        c -> {
          Bytes.u8(out, c.locked() ? 1 : 0);
          out.writeBytes(c.policySha256());
        });
    Bytes.u8(out, senderSet.isPresent() ? 1 : 0);
    senderSet.ifPresent(
        r -> {
          Bytes.u32(out, r.version() >>> 32);
          Bytes.u32(out, r.version() & 0xffffffffL);
          out.writeBytes(r.sha256());
        });
    Bytes.u8(out, kdmSignerChain.size());
    for (byte[] c : kdmSignerChain) {
      Bytes.u16(out, c.length);
      out.writeBytes(c);
    }
    return out.toByteArray();
  }

  /** Longest version 5 encoding {@link #parse} accepts. */
  public static final int MAX_ENCODED_WITH_KDM_SIGNER =
      MAX_ENCODED
          + 1
          + CHECK_LENGTH
          + 1
          + SENDER_SET_LENGTH
          + 1
          + KdmSignerKeys.MAX_CERTIFICATES * 2
          + KdmSignerKeys.MAX_CHAIN_BYTES;

  /** Parses a version 5 bundle (the caller checked label and version). */
  private static KeyBundle parseV5(byte[] encoded) throws MalformedInputException {
    if (encoded.length > MAX_ENCODED_WITH_KDM_SIGNER) {
      throw new MalformedInputException(
          MalformedInputException.Kind.OVERSIZE,
          "key bundle must be at most "
              + MAX_ENCODED_WITH_KDM_SIGNER
              + " bytes, got "
              + encoded.length);
    }
    Bytes.Reader in = new Bytes.Reader(encoded, "version 5 key bundle");
    in.bytes(LABEL.length + 1, "label");
    String id = in.keySetId();
    byte[] rpk = in.bytes(32, "receive public key");
    byte[] spk = in.bytes(32, "signing public key");
    int kmsLength = in.u16("KMS key id length");
    if (kmsLength < 1 || kmsLength > MAX_KMS_KEY_ID) {
      throw new MalformedInputException(
          MalformedInputException.Kind.MALFORMED,
          "KMS key id length " + kmsLength + " is outside 1.." + MAX_KMS_KEY_ID);
    }
    String kms = in.ascii(kmsLength, "KMS key id");
    java.util.Optional<KmsKeyCheck> check = java.util.Optional.empty();
    if (presence(in, "KMS key check presence")) {
      int locked = in.u8("KMS key check");
      if (locked != 0 && locked != 1) {
        throw new MalformedInputException(
            MalformedInputException.Kind.MALFORMED, "KMS key check must say 0 or 1, got " + locked);
      }
      check =
          java.util.Optional.of(new KmsKeyCheck(locked == 1, in.bytes(32, "key policy digest")));
    }
    java.util.Optional<SenderSetRef> senders = java.util.Optional.empty();
    if (presence(in, "sender set presence")) {
      long v = (in.u32("sender-set version") << 32) | in.u32("sender-set version");
      if (v < 1) {
        throw new MalformedInputException(
            MalformedInputException.Kind.MALFORMED, "sender-set version must be at least 1");
      }
      senders = java.util.Optional.of(new SenderSetRef(v, in.bytes(32, "sender-set digest")));
    }
    int n = in.u8("KDM signer chain length");
    if (n < 2 || n > KdmSignerKeys.MAX_CERTIFICATES) {
      throw new MalformedInputException(
          MalformedInputException.Kind.MALFORMED,
          "KDM signer chain of "
              + n
              + " certificates is outside 2.."
              + KdmSignerKeys.MAX_CERTIFICATES);
    }
    java.util.List<byte[]> chain = new java.util.ArrayList<>(n);
    int total = 0;
    for (int i = 0; i < n; i++) {
      int len = in.u16("KDM signer certificate length");
      total += len;
      if (len < 1
          || len > KdmSignerKeys.MAX_CERTIFICATE_BYTES
          || total > KdmSignerKeys.MAX_CHAIN_BYTES) {
        throw new MalformedInputException(
            MalformedInputException.Kind.MALFORMED,
            "KDM signer certificate length "
                + len
                + " is outside 1.."
                + KdmSignerKeys.MAX_CERTIFICATE_BYTES
                + " or the chain is longer than "
                + KdmSignerKeys.MAX_CHAIN_BYTES
                + " bytes");
      }
      chain.add(in.bytes(len, "KDM signer certificate"));
    }
    if (in.remaining() != 0) {
      throw new MalformedInputException(
          MalformedInputException.Kind.MALFORMED,
          "version 5 key bundle has " + in.remaining() + " trailing bytes");
    }
    return new KeyBundle(id, rpk, spk, kms, check, senders, chain);
  }

  private static boolean presence(Bytes.Reader in, String field) throws MalformedInputException {
    int b = in.u8(field);
    if (b != 0 && b != 1) {
      throw new MalformedInputException(
          MalformedInputException.Kind.MALFORMED, field + " must be 0 or 1, got " + b);
    }
    return b == 1;
  }

  /** Parses {@link #encode()}'s output. */
  public static KeyBundle parse(byte[] encoded) throws MalformedInputException {
    if (encoded == null || encoded.length < LABEL.length + 1) {
      throw new MalformedInputException(
          MalformedInputException.Kind.TRUNCATED,
          "key bundle too short: " + MalformedInputException.quote(encoded, 32));
    }
    if (!Arrays.equals(encoded, 0, LABEL.length, LABEL, 0, LABEL.length)) {
      throw new MalformedInputException(
          MalformedInputException.Kind.MALFORMED,
          "not a key bundle: " + MalformedInputException.quote(encoded, 32));
    }
    int version = encoded[LABEL.length];
    if (version == VERSION_WITH_KDM_SIGNER) {
      return parseV5(encoded);
    }
    if (version == VERSION_WITH_SENDER_SET) {
      return parseV4(encoded);
    }
    if (version != VERSION && version != VERSION_WITH_KMS_KEY_CHECK) {
      throw new MalformedInputException(
          MalformedInputException.Kind.UNSUPPORTED_VERSION,
          "key bundle version " + (encoded[LABEL.length] & 0xff) + " is not supported");
    }
    int check = version == VERSION_WITH_KMS_KEY_CHECK ? CHECK_LENGTH : 0;
    if (encoded.length > MAX_ENCODED + check) {
      throw new MalformedInputException(
          MalformedInputException.Kind.OVERSIZE,
          "key bundle must be at most " + (MAX_ENCODED + check) + " bytes, got " + encoded.length);
    }
    if (encoded.length < FIXED_LENGTH + 1) {
      throw new MalformedInputException(
          MalformedInputException.Kind.TRUNCATED,
          "key bundle must be at least " + (FIXED_LENGTH + 1) + " bytes, got " + encoded.length);
    }
    int p = LABEL.length + 1;
    if (encoded[p] != 35) {
      throw new MalformedInputException(
          MalformedInputException.Kind.MALFORMED,
          "key-set id length must be 35, got " + (encoded[p] & 0xff));
    }
    String id = new String(encoded, p + 1, 35, StandardCharsets.US_ASCII);
    if (!KeySet.isWellFormedId(id)) {
      throw new MalformedInputException(
          MalformedInputException.Kind.MALFORMED,
          "bad key-set id: "
              + MalformedInputException.quote(Arrays.copyOfRange(encoded, p + 1, p + 36), 35));
    }
    p += 36;
    byte[] rpk = Arrays.copyOfRange(encoded, p, p + 32);
    byte[] spk = Arrays.copyOfRange(encoded, p + 32, p + 64);
    p += 64;
    int kmsLength = ((encoded[p] & 0xff) << 8) | (encoded[p + 1] & 0xff);
    p += 2;
    if (kmsLength < 1 || kmsLength > MAX_KMS_KEY_ID) {
      throw new MalformedInputException(
          MalformedInputException.Kind.MALFORMED,
          "KMS key id length " + kmsLength + " is outside 1.." + MAX_KMS_KEY_ID);
    }
    if (encoded.length != p + kmsLength + check) {
      throw new MalformedInputException(
          encoded.length < p + kmsLength + check
              ? MalformedInputException.Kind.TRUNCATED
              : MalformedInputException.Kind.MALFORMED,
          "key bundle with a "
              + kmsLength
              + "-byte KMS key id must be "
              + (p + kmsLength + check)
              + " bytes, got "
              + encoded.length);
    }
    String kms = new String(encoded, p, kmsLength, StandardCharsets.US_ASCII);
    if (!isWellFormedKmsKeyId(kms)) {
      throw new MalformedInputException(
          MalformedInputException.Kind.MALFORMED,
          "KMS key id is not printable ASCII: "
              + MalformedInputException.quote(Arrays.copyOfRange(encoded, p, p + kmsLength), 64));
    }
    if (check == 0) {
      return new KeyBundle(id, rpk, spk, kms);
    }
    int locked = encoded[p + kmsLength];
    if (locked != 0 && locked != 1) {
      throw new MalformedInputException(
          MalformedInputException.Kind.MALFORMED,
          "KMS key check must say 0 or 1, got " + (locked & 0xff));
    }
    return new KeyBundle(id, rpk, spk, kms)
        .withKmsKeyCheck(
            new KmsKeyCheck(
                locked == 1, Arrays.copyOfRange(encoded, p + kmsLength + 1, p + kmsLength + 33)));
  }

  /** Version 4: the version 3 layout with a presence byte for the KMS key check and the sender set. */
  private static KeyBundle parseV4(byte[] encoded) throws MalformedInputException {
    int max = MAX_ENCODED + 1 + CHECK_LENGTH + SENDER_SET_LENGTH;
    if (encoded.length > max) {
      throw new MalformedInputException(
          MalformedInputException.Kind.OVERSIZE,
          "key bundle must be at most " + max + " bytes, got " + encoded.length);
    }
    if (encoded.length < FIXED_LENGTH + 1 + 1 + SENDER_SET_LENGTH) {
      throw new MalformedInputException(
          MalformedInputException.Kind.TRUNCATED,
          "version 4 key bundle too short: " + encoded.length + " bytes");
    }
    int p = FIXED_LENGTH - 2;
    int kmsLength = ((encoded[p] & 0xff) << 8) | (encoded[p + 1] & 0xff);
    int tail = p + 2 + kmsLength;
    if (kmsLength < 1 || kmsLength > MAX_KMS_KEY_ID) {
      throw new MalformedInputException(
          MalformedInputException.Kind.MALFORMED,
          "version 4 key bundle: bad KMS key id length " + kmsLength);
    }
    if (tail + 1 + SENDER_SET_LENGTH > encoded.length) {
      throw new MalformedInputException(
          MalformedInputException.Kind.TRUNCATED,
          "version 4 key bundle ends before its sender set");
    }
    int hasCheck = encoded[tail];
    if (hasCheck != 0 && hasCheck != 1) {
      throw new MalformedInputException(
          MalformedInputException.Kind.MALFORMED,
          "KMS key check presence must be 0 or 1, got " + (hasCheck & 0xff));
    }
    int checkLength = hasCheck == 1 ? CHECK_LENGTH : 0;
    int expected = tail + 1 + checkLength + SENDER_SET_LENGTH;
    if (encoded.length != expected) {
      throw new MalformedInputException(
          encoded.length < expected
              ? MalformedInputException.Kind.TRUNCATED
              : MalformedInputException.Kind.MALFORMED,
          "version 4 key bundle must be " + expected + " bytes, got " + encoded.length);
    }
    // the version 2/3 body: rewrite the version byte and drop the presence byte and the sender set
    byte[] body = new byte[tail + checkLength];
    System.arraycopy(encoded, 0, body, 0, tail);
    System.arraycopy(encoded, tail + 1, body, tail, checkLength);
    body[LABEL.length] = (byte) (hasCheck == 1 ? VERSION_WITH_KMS_KEY_CHECK : VERSION);
    KeyBundle base = parse(body);
    int q = tail + 1 + checkLength;
    long v = 0;
    for (int i = 0; i < 8; i++) {
      v = (v << 8) | (encoded[q + i] & 0xff);
    }
    if (v < 1) {
      throw new MalformedInputException(
          MalformedInputException.Kind.MALFORMED, "sender-set version must be at least 1");
    }
    return base.withSenderSet(new SenderSetRef(v, Arrays.copyOfRange(encoded, q + 8, q + 40)));
  }

  /** True when the enclave attested that its KMS key is locked (version 3 with locked = 1). */
  public boolean kmsKeyLocked() {
    return kmsKeyCheck.map(KmsKeyCheck::locked).orElse(false);
  }

  /** SHA-256 of {@link #encode()} (32 bytes): the attestation document's {@code user_data}. */
  public byte[] userData() {
    return dev.keycast.protocol.crypto.Sha256.digest(encode());
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
        && Arrays.equals(signingPublicKey, b.signingPublicKey)
        && kmsKeyId.equals(b.kmsKeyId)
        && kmsKeyCheck.equals(b.kmsKeyCheck)
        && senderSet.equals(b.senderSet)
        && sameChain(kdmSignerChain, b.kdmSignerChain);
  }

  private static boolean sameChain(java.util.List<byte[]> a, java.util.List<byte[]> b) {
    if (a.size() != b.size()) {
      return false;
    }
    for (int i = 0; i < a.size(); i++) {
      if (!Arrays.equals(a.get(i), b.get(i))) {
        return false;
      }
    }
    return true;
  }

  @Override
  public int hashCode() {
    return keySetId.hashCode() * 31 + Arrays.hashCode(receivePublicKey);
  }

  @Override
  public String toString() {
    HexFormat hex = HexFormat.of();
    return "KeyBundle[keySetId="
        + keySetId
        + ", receivePublicKey="
        + hex.formatHex(receivePublicKey)
        + ", signingPublicKey="
        + hex.formatHex(signingPublicKey)
        + ", kmsKeyId="
        + kmsKeyId
        + kmsKeyCheck.map(c -> ", " + c).orElse("")
        + senderSet.map(c -> ", " + c).orElse("")
        + (kdmSignerChain.isEmpty()
            ? ""
            : ", kdmSignerChain=" + kdmSignerChain.size() + " certificates")
        + "]";
  }
}
