package dev.keycast.protocol.envelope;

import dev.keycast.protocol.DecryptionFailedException;
import dev.keycast.protocol.MalformedInputException;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.util.Arrays;

/**
 * The plaintext inside a CMS delivery (wire-format.md section 3.3): what {@code openssl cms
 * -decrypt} prints. Use {@link #decode(byte[])} to turn that output into metadata and secret.
 *
 * <pre>
 * magic "KCDP" | u8 version=1 | u8 integrity (0 none, 1 SHA-256) | u16 metadata length | metadata
 *   | u32 secret length | secret | [SHA-256 of every preceding byte, when integrity = 1]
 * </pre>
 */
public final class DeliveryPayload {
  /** Magic bytes "KCDP". */
  static final byte[] MAGIC = {'K', 'C', 'D', 'P'};

  /** The payload version defined here. */
  public static final int VERSION_1 = 1;

  /** No inner digest: the content encryption is authenticated (AES-GCM). */
  public static final int INTEGRITY_NONE = 0;

  /** A SHA-256 trailer over every preceding byte (used with AES-CBC). */
  public static final int INTEGRITY_SHA256 = 1;

  /** Largest secret a delivery may carry. */
  public static final int MAX_SECRET_LENGTH = 65536;

  /** Largest payload: header, largest metadata, largest secret, digest. */
  public static final int MAX_LENGTH =
      4 + 1 + 1 + 2 + DeliveryMetadata.MAX_ENCODED_LENGTH + 4 + MAX_SECRET_LENGTH + 32;

  private static final int HEADER = 4 + 1 + 1 + 2;
  private static final int DIGEST = 32;

  private DeliveryPayload() {}

  /** Encodes a version-1 payload. */
  public static byte[] encode(DeliveryMetadata metadata, byte[] secret, int integrity) {
    return encode(VERSION_1, metadata, secret, integrity);
  }

  static byte[] encode(int version, DeliveryMetadata metadata, byte[] secret, int integrity) {
    if (integrity != INTEGRITY_NONE && integrity != INTEGRITY_SHA256) {
      throw new IllegalArgumentException("unknown integrity " + integrity);
    }
    checkSecret(secret);
    byte[] label = metadata.senderLabelUtf8();
    int mdLength = metadata.encodedLength(label);
    int digestLen = integrity == INTEGRITY_SHA256 ? DIGEST : 0;
    ByteBuffer b = ByteBuffer.allocate(HEADER + mdLength + 4 + secret.length + digestLen);
    b.put(MAGIC).put((byte) version).put((byte) integrity);
    b.putShort((short) mdLength);
    metadata.encodeInto(b, label);
    b.putInt(secret.length).put(secret);
    byte[] out = b.array();
    if (digestLen > 0) {
      byte[] d = sha256(out, 0, out.length - DIGEST);
      System.arraycopy(d, 0, out, out.length - DIGEST, DIGEST);
    }
    return out;
  }

  /**
   * Decodes a payload, checking its SHA-256 trailer first when it declares one.
   *
   * @throws MalformedInputException {@code oversize}, {@code truncated}, {@code malformed},
   *     {@code unsupported_version} (the input is not a well-formed payload)
   * @throws DecryptionFailedException when the SHA-256 trailer does not match (tampered)
   */
  public static OpenedDelivery decode(byte[] payload)
      throws MalformedInputException, DecryptionFailedException {
    return decode(payload, -1);
  }

  /** As {@link #decode(byte[])}, but requires the given integrity mode (-1: any). */
  static OpenedDelivery decode(byte[] p, int requiredIntegrity)
      throws MalformedInputException, DecryptionFailedException {
    if (p.length > MAX_LENGTH) {
      throw new MalformedInputException(
          MalformedInputException.Kind.OVERSIZE,
          "delivery payload is " + p.length + " bytes, limit " + MAX_LENGTH);
    }
    if (p.length < HEADER) {
      throw new MalformedInputException(
          MalformedInputException.Kind.TRUNCATED,
          "delivery payload is " + p.length + " bytes: " + MalformedInputException.quote(p, 8));
    }
    if (!Arrays.equals(p, 0, 4, MAGIC, 0, 4)) {
      throw new MalformedInputException(
          MalformedInputException.Kind.MALFORMED,
          "not a Keycast delivery payload (magic " + MalformedInputException.quote(p, 4) + ")");
    }
    int version = p[4] & 0xff;
    if (version != VERSION_1) {
      throw new MalformedInputException(
          MalformedInputException.Kind.UNSUPPORTED_VERSION,
          "delivery payload version " + version + " is not 1");
    }
    int integrity = p[5] & 0xff;
    if (integrity != INTEGRITY_NONE && integrity != INTEGRITY_SHA256) {
      throw new MalformedInputException(
          MalformedInputException.Kind.MALFORMED, "unknown payload integrity mode " + integrity);
    }
    if (requiredIntegrity >= 0 && integrity != requiredIntegrity) {
      throw new MalformedInputException(
          MalformedInputException.Kind.MALFORMED,
          "payload integrity mode " + integrity + " does not suit the content cipher");
    }
    int end = p.length;
    if (integrity == INTEGRITY_SHA256) {
      if (p.length < HEADER + DIGEST) {
        throw new MalformedInputException(
            MalformedInputException.Kind.TRUNCATED, "delivery payload lacks its SHA-256 trailer");
      }
      end -= DIGEST;
      byte[] expected = sha256(p, 0, end);
      if (!MessageDigest.isEqual(expected, Arrays.copyOfRange(p, end, p.length))) {
        throw new DecryptionFailedException();
      }
    }
    ByteBuffer b = ByteBuffer.wrap(p, HEADER, end - HEADER);
    int mdLen = ((p[6] & 0xff) << 8) | (p[7] & 0xff);
    if (mdLen > DeliveryMetadata.MAX_ENCODED_LENGTH) {
      throw new MalformedInputException(
          MalformedInputException.Kind.OVERSIZE, "metadata length " + mdLen + " exceeds limit");
    }
    if (b.remaining() < mdLen + 4) {
      throw new MalformedInputException(
          MalformedInputException.Kind.TRUNCATED, "delivery payload truncated in metadata");
    }
    byte[] md = new byte[mdLen];
    b.get(md);
    DeliveryMetadata metadata = DeliveryMetadata.decode(md);
    int secretLen = b.getInt();
    if (secretLen < 0 || secretLen > MAX_SECRET_LENGTH) {
      throw new MalformedInputException(
          MalformedInputException.Kind.OVERSIZE,
          "secret length " + Integer.toUnsignedString(secretLen) + " exceeds 65536");
    }
    if (b.remaining() != secretLen) {
      throw new MalformedInputException(
          b.remaining() < secretLen
              ? MalformedInputException.Kind.TRUNCATED
              : MalformedInputException.Kind.MALFORMED,
          "secret length " + secretLen + " but " + b.remaining() + " bytes follow");
    }
    byte[] secret = new byte[secretLen];
    b.get(secret);
    return new OpenedDelivery(metadata, secret);
  }

  /**
   * Checks the SHA-256 trailer of a payload whose content cipher requires one, before any header
   * byte is trusted.
   */
  static void verifyTrailer(byte[] p) throws DecryptionFailedException {
    if (p.length < HEADER + DIGEST) {
      throw new DecryptionFailedException();
    }
    int end = p.length - DIGEST;
    if (!MessageDigest.isEqual(sha256(p, 0, end), Arrays.copyOfRange(p, end, p.length))) {
      throw new DecryptionFailedException();
    }
  }

  static void checkSecret(byte[] secret) {
    if (secret == null) {
      throw new IllegalArgumentException("secret is required");
    }
    if (secret.length > MAX_SECRET_LENGTH) {
      throw new IllegalArgumentException(
          "secret is " + secret.length + " bytes, limit " + MAX_SECRET_LENGTH);
    }
  }

  private static byte[] sha256(byte[] b, int off, int len) {
    MessageDigest md = dev.keycast.protocol.crypto.Sha256.newMessageDigest();
    md.update(b, off, len);
    return md.digest();
  }
}
