package dev.keycast.protocol.keyset;

import dev.keycast.protocol.DecryptionFailedException;
import dev.keycast.protocol.MalformedInputException;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.TreeMap;

/**
 * A {@link KeySet} sealed with AES-256-GCM under a KMS data key (wire-format.md section 4.3),
 * with the key set's KDM signer ({@link KdmSignerKeys}) from version 2 on.
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
 * <p>Version 2 (issue 24) appends the KDM signer chain to the header (so it is authenticated as
 * AAD and readable without the key) and the chain's private keys to the plaintext:
 *
 * <pre>
 *   header-v2 = header-v1 with version=2
 *               || u8 n (2..8) || n x (u16 len (1..4096) || certificate DER)   ; leaf first, at most 16384 DER bytes
 *   plaintext-v2 = plaintext-v1 || u8 k (1..n) || k x (u16 len (1..4096) || PKCS #8 DER)
 *                                               ; the private keys of certificates 0..k-1 (leaf first)
 * </pre>
 *
 * <p>Version 1 still parses and unseals (without a signer); the enclave migrates it to version 2
 * under the same data key. The header is readable without the data key ({@link #parse}); {@link #unseal} authenticates
 * it, decrypts and checks that the private keys produce the header's public keys. The attested
 * {@link KeyBundle} ({@link #bundle()}) carries the header's KMS key id, so a sender learns which
 * KMS key protects the key set it encrypts to. The data key is
 * obtained by sending {@link #encryptedDataKey()} to KMS Decrypt with {@link
 * #encryptionContext(String)}.
 */
public final class SealedKeySet {
  /** Version 1: no KDM signer. Still parsed and unsealed; the enclave migrates it. */
  public static final int VERSION_1 = 1;

  /** Current format version: with the KDM signer chain and its private keys. */
  public static final int VERSION = 2;

  /**
   * Format name used in the KMS encryption context. It names the data key's binding, not the
   * layout: version 2 keeps it, so a version 1 key set migrates under the same data key.
   */
  public static final String FORMAT = "sealed-key-set/1";

  /** KMS encryption-context key naming the format. */
  public static final String CONTEXT_FORMAT = "keycast:format";

  /** KMS encryption-context key naming the key set. */
  public static final String CONTEXT_KEY_SET_ID = "keycast:key-set-id";

  /** Longest KMS key id accepted (KMS's own limit for KeyId). */
  public static final int MAX_KMS_KEY_ID = 2048;

  /** Longest KMS CiphertextBlob accepted (KMS's own limit). */
  public static final int MAX_ENCRYPTED_DATA_KEY = 6144;

  /** Longest sealed key set accepted by {@link #parse} (a version 1 key set is at most 8,5 KiB). */
  public static final int MAX_ENCODED = 65536;

  static final byte[] MAGIC = "KCKS".getBytes(StandardCharsets.US_ASCII);
  private static final int PLAINTEXT_LENGTH = 3 * KeySet.KEY_LENGTH;
  private static final int CIPHERTEXT_LENGTH = PLAINTEXT_LENGTH + Bytes.TAG_LENGTH;

  /** Shortest version 2 ciphertext: the keys, one private key of one byte, the tag. */
  private static final int MIN_CIPHERTEXT_LENGTH_V2 =
      PLAINTEXT_LENGTH + 1 + 2 + 1 + Bytes.TAG_LENGTH;

  /** Longest version 2 plaintext. */
  private static final int MAX_PLAINTEXT_LENGTH_V2 =
      PLAINTEXT_LENGTH
          + 1
          + KdmSignerKeys.MAX_CERTIFICATES * (2 + KdmSignerKeys.MAX_PRIVATE_KEY_BYTES);

  private final int version;
  private final byte[] encoded;
  private final int headerLength;
  private final String keySetId;
  private final String kmsKeyId;
  private final byte[] receivePublicKey;
  private final byte[] signingPublicKey;
  private final byte[] encryptedDataKey;
  private final byte[] nonce;

  /** Version 2: the signer chain of the header (DER, leaf first); empty for version 1. */
  private final List<byte[]> signerChain;

  private SealedKeySet(
      int version,
      byte[] encoded,
      int headerLength,
      String keySetId,
      String kmsKeyId,
      byte[] receivePublicKey,
      byte[] signingPublicKey,
      byte[] encryptedDataKey,
      byte[] nonce,
      List<byte[]> signerChain) {
    this.version = version;
    this.signerChain = signerChain;
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
   * Seals {@code keySet} and its KDM signer {@code signer} (version 2) under {@code dataKey} (the
   * 32-byte plaintext of a KMS GenerateDataKey AES_256 answer). {@code encryptedDataKey} is the
   * CiphertextBlob of that same answer and {@code kmsKeyId} the key id or ARN it was generated
   * under. The caller keeps and zeroizes {@code dataKey}. Draws 12 bytes of nonce from {@code
   * random}.
   */
  public static SealedKeySet seal(
      KeySet keySet,
      KdmSignerKeys signer,
      byte[] dataKey,
      String kmsKeyId,
      byte[] encryptedDataKey,
      SecureRandom random) {
    Objects.requireNonNull(keySet, "keySet");
    Objects.requireNonNull(signer, "signer");
    return seal(
        VERSION,
        keySet,
        keySet.receivePublicKey(),
        keySet.signingPublicKey(),
        signer,
        signer.chainDer(),
        dataKey,
        kmsKeyId,
        encryptedDataKey,
        random);
  }

  /**
   * Seals {@code keySet} in format version 1, without a KDM signer. The enclave seals version 2;
   * this exists for migration tests and the version 1 vectors.
   */
  public static SealedKeySet sealVersion1(
      KeySet keySet,
      byte[] dataKey,
      String kmsKeyId,
      byte[] encryptedDataKey,
      SecureRandom random) {
    Objects.requireNonNull(keySet, "keySet");
    return seal(
        VERSION_1,
        keySet,
        keySet.receivePublicKey(),
        keySet.signingPublicKey(),
        null,
        List.of(),
        dataKey,
        kmsKeyId,
        encryptedDataKey,
        random);
  }

  /** Seals version 1 with explicit header public keys; package-private so tests can build inconsistent sets. */
  static SealedKeySet seal(
      KeySet keySet,
      byte[] headerReceivePublic,
      byte[] headerSigningPublic,
      byte[] dataKey,
      String kmsKeyId,
      byte[] encryptedDataKey,
      SecureRandom random) {
    return seal(
        VERSION_1,
        keySet,
        headerReceivePublic,
        headerSigningPublic,
        null,
        List.of(),
        dataKey,
        kmsKeyId,
        encryptedDataKey,
        random);
  }

  /**
   * Seals version 2 with an explicit header chain; package-private so tests can build a header whose
   * chain is not the one whose keys are sealed.
   */
  static SealedKeySet seal(
      KeySet keySet,
      KdmSignerKeys signer,
      List<byte[]> headerChain,
      byte[] dataKey,
      String kmsKeyId,
      byte[] encryptedDataKey,
      SecureRandom random) {
    return seal(
        VERSION,
        keySet,
        keySet.receivePublicKey(),
        keySet.signingPublicKey(),
        signer,
        headerChain,
        dataKey,
        kmsKeyId,
        encryptedDataKey,
        random);
  }

  private static SealedKeySet seal(
      int version,
      KeySet keySet,
      byte[] headerReceivePublic,
      byte[] headerSigningPublic,
      KdmSignerKeys signer,
      List<byte[]> headerChain,
      byte[] dataKey,
      String kmsKeyId,
      byte[] encryptedDataKey,
      SecureRandom random) {
    Objects.requireNonNull(dataKey, "dataKey");
    Objects.requireNonNull(random, "random");
    if (dataKey.length != 32) {
      throw new IllegalArgumentException("data key must be 32 bytes (AES_256)");
    }
    checkKmsKeyId(kmsKeyId);
    Objects.requireNonNull(encryptedDataKey, "encryptedDataKey");
    if (encryptedDataKey.length < 1 || encryptedDataKey.length > MAX_ENCRYPTED_DATA_KEY) {
      throw new IllegalArgumentException(
          "encrypted data key must be 1.." + MAX_ENCRYPTED_DATA_KEY + " bytes");
    }
    byte[] nonce = new byte[Bytes.NONCE_LENGTH];
    random.nextBytes(nonce);
    byte[] kms = kmsKeyId.getBytes(StandardCharsets.US_ASCII);
    ByteArrayOutputStream h =
        Bytes.headerStart(MAGIC, version, keySet.id(), 256 + kms.length + encryptedDataKey.length);
    Bytes.u16(h, kms.length);
    h.writeBytes(kms);
    h.writeBytes(headerReceivePublic);
    h.writeBytes(headerSigningPublic);
    Bytes.u16(h, encryptedDataKey.length);
    h.writeBytes(encryptedDataKey);
    h.writeBytes(nonce);
    if (version == VERSION) {
      Bytes.u8(h, headerChain.size());
      for (byte[] c : headerChain) {
        Bytes.u16(h, c.length);
        h.writeBytes(c);
      }
    }
    byte[] header = h.toByteArray();

    ByteArrayOutputStream p =
        new ByteArrayOutputStream(version == VERSION ? 8192 : PLAINTEXT_LENGTH);
    byte[] r = keySet.receivePrivateKey();
    byte[] s = keySet.signingPrivateKey();
    byte[] k = keySet.storageKey();
    List<byte[]> pkcs8 = new ArrayList<>();
    byte[] plaintext = null;
    try {
      p.writeBytes(r);
      p.writeBytes(s);
      p.writeBytes(k);
      if (version == VERSION) {
        Bytes.u8(p, signer.privateKeyCount());
        for (int i = 0; i < signer.privateKeyCount(); i++) {
          byte[] der = signer.privateKey(i).getEncoded();
          pkcs8.add(der);
          if (der == null || der.length < 1 || der.length > KdmSignerKeys.MAX_PRIVATE_KEY_BYTES) {
            throw new IllegalArgumentException(
                "a signer private key must encode to 1.."
                    + KdmSignerKeys.MAX_PRIVATE_KEY_BYTES
                    + " bytes of PKCS #8");
          }
          Bytes.u16(p, der.length);
          p.writeBytes(der);
        }
      }
      plaintext = p.toByteArray();
      byte[] out = Bytes.sealAfterHeader(dataKey, nonce, header, plaintext);
      return new SealedKeySet(
          version,
          out,
          header.length,
          keySet.id(),
          kmsKeyId,
          headerReceivePublic.clone(),
          headerSigningPublic.clone(),
          encryptedDataKey.clone(),
          nonce,
          copies(headerChain));
    } finally {
      if (plaintext != null) {
        Arrays.fill(plaintext, (byte) 0);
      }
      // the stream's internal buffer: overwrite it through a reset and a zero write of its size
      int size = p.size();
      p.reset();
      p.writeBytes(new byte[size]);
      Arrays.fill(r, (byte) 0);
      Arrays.fill(s, (byte) 0);
      Arrays.fill(k, (byte) 0);
      pkcs8.forEach(
          b -> {
            if (b != null) {
              Arrays.fill(b, (byte) 0);
            }
          });
    }
  }

  private static List<byte[]> copies(List<byte[]> in) {
    return in.stream().map(byte[]::clone).toList();
  }

  /**
   * Parses a sealed key set and validates its header, without the data key.
   *
   * @throws MalformedInputException {@code oversize}, {@code truncated}, {@code malformed} (bad
   *     magic, field syntax or trailing bytes) or {@code unsupported_version}
   */
  public static SealedKeySet parse(byte[] sealed) throws MalformedInputException {
    Bytes.Reader in =
        Bytes.sealedHeader(sealed, "sealed key set", MAGIC, VERSION_1, VERSION, MAX_ENCODED);
    int version = sealed[MAGIC.length] & 0xff;
    String id = in.keySetId();
    int kmsLength = in.u16("KMS key id length");
    if (kmsLength < 1 || kmsLength > MAX_KMS_KEY_ID) {
      throw new MalformedInputException(
          MalformedInputException.Kind.MALFORMED,
          "KMS key id length " + kmsLength + " is outside 1.." + MAX_KMS_KEY_ID);
    }
    String kms = in.ascii(kmsLength, "KMS key id");
    byte[] rpk = in.bytes(32, "receive public key");
    byte[] spk = in.bytes(32, "signing public key");
    int edkLength = in.u16("encrypted data key length");
    if (edkLength < 1 || edkLength > MAX_ENCRYPTED_DATA_KEY) {
      throw new MalformedInputException(
          MalformedInputException.Kind.MALFORMED,
          "encrypted data key length " + edkLength + " is outside 1.." + MAX_ENCRYPTED_DATA_KEY);
    }
    byte[] edk = in.bytes(edkLength, "encrypted data key");
    byte[] nonce = in.bytes(Bytes.NONCE_LENGTH, "nonce");
    if (version == VERSION_1) {
      int headerLength = in.position();
      in.requireRemaining(CIPHERTEXT_LENGTH, "expected");
      return new SealedKeySet(
          version, sealed.clone(), headerLength, id, kms, rpk, spk, edk, nonce, List.of());
    }
    int n = in.u8("signer chain length");
    if (n < 2 || n > KdmSignerKeys.MAX_CERTIFICATES) {
      throw new MalformedInputException(
          MalformedInputException.Kind.MALFORMED,
          "signer chain of " + n + " certificates is outside 2.." + KdmSignerKeys.MAX_CERTIFICATES);
    }
    List<byte[]> chain = new ArrayList<>(n);
    int total = 0;
    for (int i = 0; i < n; i++) {
      int len = in.u16("signer certificate length");
      if (len < 1 || len > KdmSignerKeys.MAX_CERTIFICATE_BYTES) {
        throw new MalformedInputException(
            MalformedInputException.Kind.MALFORMED,
            "signer certificate length "
                + len
                + " is outside 1.."
                + KdmSignerKeys.MAX_CERTIFICATE_BYTES);
      }
      total += len;
      if (total > KdmSignerKeys.MAX_CHAIN_BYTES) {
        throw new MalformedInputException(
            MalformedInputException.Kind.MALFORMED,
            "signer chain is longer than " + KdmSignerKeys.MAX_CHAIN_BYTES + " bytes");
      }
      chain.add(in.bytes(len, "signer certificate"));
    }
    int headerLength = in.position();
    int ct = in.remaining();
    if (ct < MIN_CIPHERTEXT_LENGTH_V2) {
      throw new MalformedInputException(
          MalformedInputException.Kind.TRUNCATED,
          "sealed key set ciphertext is "
              + ct
              + " bytes, at least "
              + MIN_CIPHERTEXT_LENGTH_V2
              + " expected");
    }
    if (ct > MAX_PLAINTEXT_LENGTH_V2 + Bytes.TAG_LENGTH) {
      throw new MalformedInputException(
          MalformedInputException.Kind.MALFORMED,
          "sealed key set ciphertext is "
              + ct
              + " bytes, at most "
              + (MAX_PLAINTEXT_LENGTH_V2 + Bytes.TAG_LENGTH));
    }
    return new SealedKeySet(
        version, sealed.clone(), headerLength, id, kms, rpk, spk, edk, nonce, chain);
  }

  /** What {@link #open} returns: the key set and, from version 2 on, its KDM signer. */
  public record Unsealed(KeySet keySet, Optional<KdmSignerKeys> kdmSigner) {
    public Unsealed {
      Objects.requireNonNull(keySet, "keySet");
      Objects.requireNonNull(kdmSigner, "kdmSigner");
    }
  }

  /**
   * Authenticates and decrypts with {@code dataKey} (the Plaintext of KMS Decrypt), then checks
   * that the private keys produce the header's public keys. The caller zeroizes {@code dataKey}.
   * A version 2 key set's signer is checked as in {@link #open} and then dropped.
   *
   * @throws DecryptionFailedException wrong data key, any altered byte, or inconsistent keys
   */
  public KeySet unseal(byte[] dataKey) throws DecryptionFailedException {
    return open(dataKey).keySet();
  }

  /**
   * {@link #unseal}, and for version 2 also: parses the sealed PKCS #8 private keys, and requires
   * that the header's chain is an ST 430-2 signer chain ({@link KdmSignerKeys#of}) and that each
   * key is its certificate's (the leaf's first). The PKCS #8 bytes are zeroized.
   *
   * @throws DecryptionFailedException wrong data key, any altered byte, inconsistent keys, a signer
   *     chain that does not validate or a signer key that is not its certificate's: all alike
   */
  public Unsealed open(byte[] dataKey) throws DecryptionFailedException {
    byte[] plaintext = Bytes.openAfterHeader(dataKey, nonce, encoded, headerLength);
    byte[] r = Arrays.copyOfRange(plaintext, 0, 32);
    byte[] s = Arrays.copyOfRange(plaintext, 32, 64);
    byte[] k = Arrays.copyOfRange(plaintext, 64, 96);
    KeySet keySet = null;
    try {
      if (version == VERSION_1
          ? plaintext.length != PLAINTEXT_LENGTH
          : plaintext.length < PLAINTEXT_LENGTH + 1) {
        throw new DecryptionFailedException();
      }
      keySet = KeySet.fromPrivate(keySetId, r, s, k);
      if (!keySet.matches(receivePublicKey, signingPublicKey)) {
        throw new DecryptionFailedException();
      }
      Optional<KdmSignerKeys> signer =
          version == VERSION_1 ? Optional.empty() : Optional.of(signer(plaintext));
      Unsealed out = new Unsealed(keySet, signer);
      keySet = null;
      return out;
    } finally {
      if (keySet != null) {
        keySet.destroy();
      }
      Arrays.fill(plaintext, (byte) 0);
      Arrays.fill(r, (byte) 0);
      Arrays.fill(s, (byte) 0);
      Arrays.fill(k, (byte) 0);
    }
  }

  /** The version 2 signer: the sealed keys after the 96 key-set bytes, with the header's chain. */
  private KdmSignerKeys signer(byte[] plaintext) throws DecryptionFailedException {
    int p = PLAINTEXT_LENGTH;
    int count = plaintext[p++] & 0xff;
    if (count < 1 || count > signerChain.size()) {
      throw new DecryptionFailedException();
    }
    List<PrivateKey> keys = new ArrayList<>(count);
    for (int i = 0; i < count; i++) {
      if (p + 2 > plaintext.length) {
        throw new DecryptionFailedException();
      }
      int len = ((plaintext[p] & 0xff) << 8) | (plaintext[p + 1] & 0xff);
      p += 2;
      if (len < 1 || len > KdmSignerKeys.MAX_PRIVATE_KEY_BYTES || p + len > plaintext.length) {
        throw new DecryptionFailedException();
      }
      byte[] der = Arrays.copyOfRange(plaintext, p, p + len);
      p += len;
      try {
        keys.add(KdmSignerKeys.decodePrivateKey(der));
      } catch (java.security.GeneralSecurityException | RuntimeException e) {
        throw new DecryptionFailedException();
      } finally {
        Arrays.fill(der, (byte) 0);
      }
    }
    if (p != plaintext.length) {
      throw new DecryptionFailedException();
    }
    try {
      return KdmSignerKeys.of(KdmSignerKeys.parseChain(signerChain), keys);
    } catch (dev.keycast.protocol.cinema.CinemaException e) {
      throw new DecryptionFailedException();
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
      throw new IllegalArgumentException(
          "KMS key id must be 1.." + MAX_KMS_KEY_ID + " printable ASCII characters");
    }
  }

  /** Format version: {@link #VERSION_1} (no signer) or {@link #VERSION}. */
  public int version() {
    return version;
  }

  /**
   * The header's KDM signer chain (DER, leaf first; copies), empty for version 1. Unauthenticated
   * until {@link #open} succeeds.
   */
  public List<byte[]> signerChain() {
    return copies(signerChain);
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
    KeyBundle b = new KeyBundle(keySetId, receivePublicKey, signingPublicKey, kmsKeyId);
    return signerChain.isEmpty() ? b : b.withKdmSignerChain(signerChain);
  }

  /** The full sealed bytes (a copy). */
  public byte[] encode() {
    return encoded.clone();
  }

  @Override
  public String toString() {
    return "SealedKeySet[version="
        + version
        + ", keySetId="
        + keySetId
        + ", kmsKeyId="
        + kmsKeyId
        + ", length="
        + encoded.length
        + "]";
  }
}
