package dev.keycast.protocol.envelope;

import dev.keycast.protocol.Fingerprints;
import dev.keycast.protocol.MalformedInputException;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.HexFormat;

/**
 * What every delivery binds, besides the secret: which secret it is, who sent it, when it may be
 * used and for which recipient key. The recipient learns it on decryption; altering any field makes
 * decryption fail.
 *
 * <p>Binary encoding (version 1, big-endian, see wire-format.md section 3.1): {@code u8 version,
 * u8 len, secretId, u16 len, senderLabel (UTF-8), i64 notBefore, i64 notAfter, 32-byte
 * fingerprint}; at most {@link #MAX_ENCODED_LENGTH} bytes.
 *
 * @param version format version, {@link #VERSION_1}
 * @param secretId 1..128 printable ASCII characters (0x21..0x7E)
 * @param senderLabel 0..256 bytes of UTF-8, free text chosen by the sender
 * @param notBefore first instant the delivery is valid (whole seconds, epoch >= 0)
 * @param notAfter last instant the delivery is valid (whole seconds, not before {@code notBefore})
 * @param recipientFingerprint the recipient key's fingerprint ({@link Fingerprints}), 64 hex
 * @param senderKey version 2 only (issue 23): the raw Ed25519 key of the sender whose signed send
 *     this delivery comes from, 64 lowercase hex; null in version 1. Version 2 appends its 32 bytes
 *     to the version 1 layout (wire-format.md section 3.1).
 */
public record DeliveryMetadata(
    int version,
    String secretId,
    String senderLabel,
    Instant notBefore,
    Instant notAfter,
    String recipientFingerprint,
    String senderKey) {

  /** The only metadata version defined so far. */
  public static final int VERSION_1 = 1;

  /** Version 2: version 1 and the sender's key (issue 23). */
  public static final int VERSION_2 = 2;

  /** Maximum length of {@link #secretId()} in characters (= bytes). */
  public static final int MAX_SECRET_ID_LENGTH = 128;

  /** Maximum length of {@link #senderLabel()} in UTF-8 bytes. */
  public static final int MAX_SENDER_LABEL_BYTES = 256;

  /** Maximum length of {@link #encode()}. */
  public static final int MAX_ENCODED_LENGTH =
      1 + 1 + MAX_SECRET_ID_LENGTH + 2 + MAX_SENDER_LABEL_BYTES + 8 + 8 + 32 + 32;

  private static final int MIN_ENCODED_LENGTH = 1 + 1 + 1 + 2 + 8 + 8 + 32;

  /** Validates every field; throws {@link IllegalArgumentException} naming the bad one. */
  public DeliveryMetadata {
    if (version != VERSION_1 && version != VERSION_2) {
      throw new IllegalArgumentException("unsupported metadata version " + version);
    }
    if ((version == VERSION_2) != (senderKey != null)) {
      throw new IllegalArgumentException("a sender key is in version 2 metadata, and only there");
    }
    if (senderKey != null && !Fingerprints.isWellFormed(senderKey)) {
      throw new IllegalArgumentException("senderKey must be 64 lowercase hex characters");
    }
    checkSecretId(secretId);
    if (senderLabel == null) {
      throw new IllegalArgumentException("senderLabel is required (may be empty)");
    }
    if (utf8(senderLabel).length > MAX_SENDER_LABEL_BYTES) {
      throw new IllegalArgumentException("senderLabel exceeds 256 UTF-8 bytes");
    }
    checkInstant("notBefore", notBefore);
    checkInstant("notAfter", notAfter);
    if (notBefore.isAfter(notAfter)) {
      throw new IllegalArgumentException(
          "notBefore " + notBefore + " is after notAfter " + notAfter);
    }
    if (!Fingerprints.isWellFormed(recipientFingerprint)) {
      throw new IllegalArgumentException(
          "recipientFingerprint must be 64 lowercase hex characters: " + recipientFingerprint);
    }
  }

  /** A version-1 metadata record (no sender key). */
  public DeliveryMetadata(
      int version,
      String secretId,
      String senderLabel,
      Instant notBefore,
      Instant notAfter,
      String recipientFingerprint) {
    this(version, secretId, senderLabel, notBefore, notAfter, recipientFingerprint, null);
  }

  /** This metadata naming the sender whose signed send it comes from (version 2). */
  public DeliveryMetadata withSender(byte[] rawEd25519Key) {
    if (rawEd25519Key == null || rawEd25519Key.length != 32) {
      throw new IllegalArgumentException("a sender key is 32 bytes");
    }
    return new DeliveryMetadata(
        VERSION_2,
        secretId,
        senderLabel,
        notBefore,
        notAfter,
        recipientFingerprint,
        HexFormat.of().formatHex(rawEd25519Key));
  }

  /** The sender's raw Ed25519 key (version 2), or null. */
  public byte[] senderKeyBytes() {
    return senderKey == null ? null : HexFormat.of().parseHex(senderKey);
  }

  /** A version-1 metadata record. */
  public static DeliveryMetadata of(
      String secretId,
      String senderLabel,
      Instant notBefore,
      Instant notAfter,
      String recipientFingerprint) {
    return new DeliveryMetadata(
        VERSION_1, secretId, senderLabel, notBefore, notAfter, recipientFingerprint);
  }

  /** The same metadata for another recipient (a send fans out one metadata to many keys). */
  public DeliveryMetadata withRecipient(String fingerprint) {
    return new DeliveryMetadata(
        version, secretId, senderLabel, notBefore, notAfter, fingerprint, senderKey);
  }

  /** The canonical binary encoding (deterministic: one encoding per value). */
  public byte[] encode() {
    byte[] label = utf8(senderLabel);
    ByteBuffer b = ByteBuffer.allocate(encodedLength(label));
    encodeInto(b, label);
    return b.array();
  }

  /** Length of {@link #encode()} given the label's UTF-8 bytes. */
  int encodedLength(byte[] label) {
    return 1 + 1 + secretId.length() + 2 + label.length + 8 + 8 + 32 + (senderKey == null ? 0 : 32);
  }

  /** UTF-8 of {@link #senderLabel()}, for {@link #encodeInto}. */
  byte[] senderLabelUtf8() {
    return utf8(senderLabel);
  }

  /** Writes {@link #encode()}'s bytes into {@code b} (label: {@link #senderLabelUtf8()}). */
  void encodeInto(ByteBuffer b, byte[] label) {
    b.put((byte) version);
    b.put((byte) secretId.length());
    for (int i = 0; i < secretId.length(); i++) {
      b.put((byte) secretId.charAt(i)); // printable ASCII, checked by the constructor
    }
    b.putShort((short) label.length).put(label);
    b.putLong(notBefore.getEpochSecond());
    b.putLong(notAfter.getEpochSecond());
    for (int i = 0; i < 64; i += 2) {
      b.put(
          (byte)
              ((Character.digit(recipientFingerprint.charAt(i), 16) << 4)
                  | Character.digit(recipientFingerprint.charAt(i + 1), 16)));
    }
    if (senderKey != null) {
      for (int i = 0; i < 64; i += 2) {
        b.put(
            (byte)
                ((Character.digit(senderKey.charAt(i), 16) << 4)
                    | Character.digit(senderKey.charAt(i + 1), 16)));
      }
    }
  }

  /**
   * Decodes {@link #encode()}'s output; the whole input must be consumed.
   *
   * @throws MalformedInputException {@code oversize}, {@code truncated}, {@code malformed},
   *     {@code unsupported_version}
   */
  public static DeliveryMetadata decode(byte[] in) throws MalformedInputException {
    if (in.length > MAX_ENCODED_LENGTH) {
      throw new MalformedInputException(
          MalformedInputException.Kind.OVERSIZE,
          "delivery metadata is " + in.length + " bytes, limit " + MAX_ENCODED_LENGTH);
    }
    if (in.length < 1) {
      throw new MalformedInputException(
          MalformedInputException.Kind.TRUNCATED, "delivery metadata is empty");
    }
    int version = in[0] & 0xff;
    if (version != VERSION_1 && version != VERSION_2) {
      throw new MalformedInputException(
          MalformedInputException.Kind.UNSUPPORTED_VERSION,
          "delivery metadata version " + version + " is not 1 or 2");
    }
    if (in.length < MIN_ENCODED_LENGTH) {
      throw new MalformedInputException(
          MalformedInputException.Kind.TRUNCATED,
          "delivery metadata is " + in.length + " bytes: " + MalformedInputException.quote(in, 16));
    }
    ByteBuffer b = ByteBuffer.wrap(in);
    b.get();
    int idLen = b.get() & 0xff;
    if (idLen < 1 || idLen > MAX_SECRET_ID_LENGTH) {
      throw new MalformedInputException(
          MalformedInputException.Kind.MALFORMED, "secretId length " + idLen + " not in 1..128");
    }
    need(b, idLen + 2);
    byte[] id = new byte[idLen];
    b.get(id);
    int labelLen = b.getShort() & 0xffff;
    if (labelLen > MAX_SENDER_LABEL_BYTES) {
      throw new MalformedInputException(
          MalformedInputException.Kind.MALFORMED,
          "senderLabel length " + labelLen + " exceeds 256");
    }
    need(b, labelLen + 8 + 8 + 32);
    byte[] label = new byte[labelLen];
    b.get(label);
    long nb = b.getLong();
    long na = b.getLong();
    byte[] fp = new byte[32];
    b.get(fp);
    byte[] sender = null;
    if (version == VERSION_2) {
      need(b, 32);
      sender = new byte[32];
      b.get(sender);
    }
    if (b.hasRemaining()) {
      throw new MalformedInputException(
          MalformedInputException.Kind.MALFORMED,
          "delivery metadata has " + b.remaining() + " trailing bytes");
    }
    try {
      return new DeliveryMetadata(
          version,
          new String(id, StandardCharsets.US_ASCII),
          strictUtf8(label),
          Instant.ofEpochSecond(nb),
          Instant.ofEpochSecond(na),
          HexFormat.of().formatHex(fp),
          sender == null ? null : HexFormat.of().formatHex(sender));
    } catch (IllegalArgumentException | java.time.DateTimeException e) {
      throw new MalformedInputException(
          MalformedInputException.Kind.MALFORMED, "invalid delivery metadata: " + e.getMessage());
    }
  }

  private static void need(ByteBuffer b, int n) throws MalformedInputException {
    if (b.remaining() < n) {
      throw new MalformedInputException(
          MalformedInputException.Kind.TRUNCATED,
          "delivery metadata needs " + n + " more bytes, has " + b.remaining());
    }
  }

  private static void checkSecretId(String s) {
    if (s == null || s.isEmpty() || s.length() > MAX_SECRET_ID_LENGTH) {
      throw new IllegalArgumentException("secretId must be 1..128 characters");
    }
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c < 0x21 || c > 0x7e) {
        throw new IllegalArgumentException(
            "secretId must be printable ASCII without spaces, bad character at index " + i);
      }
    }
  }

  private static void checkInstant(String name, Instant t) {
    if (t == null) {
      throw new IllegalArgumentException(name + " is required");
    }
    if (t.getNano() != 0 || t.getEpochSecond() < 0) {
      throw new IllegalArgumentException(name + " must be whole seconds since 1970: " + t);
    }
  }

  private static byte[] utf8(String s) {
    boolean surrogates = false;
    for (int i = 0; i < s.length() && !surrogates; i++) {
      surrogates = Character.isSurrogate(s.charAt(i));
    }
    if (!surrogates) {
      return s.getBytes(StandardCharsets.UTF_8); // exact: nothing to replace
    }
    try {
      ByteBuffer bb =
          StandardCharsets.UTF_8
              .newEncoder()
              .onMalformedInput(CodingErrorAction.REPORT)
              .onUnmappableCharacter(CodingErrorAction.REPORT)
              .encode(CharBuffer.wrap(s));
      byte[] out = new byte[bb.remaining()];
      bb.get(out);
      return out;
    } catch (CharacterCodingException e) {
      throw new IllegalArgumentException("senderLabel is not valid Unicode (lone surrogate)");
    }
  }

  private static String strictUtf8(byte[] b) {
    try {
      return StandardCharsets.UTF_8
          .newDecoder()
          .onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT)
          .decode(ByteBuffer.wrap(b))
          .toString();
    } catch (CharacterCodingException e) {
      throw new IllegalArgumentException("senderLabel is not valid UTF-8");
    }
  }
}
