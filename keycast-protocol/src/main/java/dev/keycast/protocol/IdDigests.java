package dev.keycast.protocol;

import java.security.MessageDigest;
import java.util.HexFormat;

/**
 * The shape shared by the derived ids of api.md section 1.1 ({@link SendIds}, {@link DeliveryIds}):
 * SHA-256 over an ASCII label, a zero byte and the id's inputs, named by the first 16 bytes of the
 * digest in lowercase hex.
 */
final class IdDigests {
  private IdDigests() {}

  /** A SHA-256 digest that has absorbed {@code label || 0x00}. */
  static MessageDigest labelled(byte[] label) {
    MessageDigest d = dev.keycast.protocol.crypto.Sha256.newMessageDigest();
    d.update(label);
    d.update((byte) 0);
    return d;
  }

  /** The id: the first 16 bytes of {@code d}'s digest, lowercase hex (32 characters). */
  static String id(MessageDigest d) {
    return HexFormat.of().formatHex(d.digest(), 0, 16);
  }
}
