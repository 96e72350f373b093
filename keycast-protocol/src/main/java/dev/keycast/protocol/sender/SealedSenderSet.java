package dev.keycast.protocol.sender;

import dev.keycast.protocol.MalformedInputException;
import dev.keycast.protocol.keyset.KeySet;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.util.Arrays;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * A sender set as the host keeps it for the enclave (wire-format.md section 8.4): authenticated
 * with a key only the enclave holding the key set can derive, so the host can store it, hand it
 * back after a restart, or withhold it, but not forge or alter it.
 *
 * <pre>
 *   body   = "KCSN" || u8 version=1 || u8 len || key_set_id (ASCII, 35)
 *            || u32 len || SenderSet encoding
 *   sealed = body || HMAC-SHA256(K, body)          (32)
 *   K      = HKDF-Expand(PRK = storage key, info = "keycast/v1/sender-set-mac", L = 32)
 *          = HMAC-SHA256(storage key, "keycast/v1/sender-set-mac" || 0x01)
 * </pre>
 *
 * The storage key is 32 uniformly random bytes, so it serves as the PRK directly (RFC 5869
 * section 3.3). The tag is compared in constant time. The set itself is public (its digest is
 * attested); integrity is what the seal adds.
 */
public final class SealedSenderSet {
  public static final int VERSION = 1;
  static final byte[] MAGIC = "KCSN".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] MAC_INFO =
      "keycast/v1/sender-set-mac".getBytes(StandardCharsets.US_ASCII);

  /** Longest sealed sender set accepted. */
  public static final int MAX_ENCODED = 4 + 1 + 1 + 35 + 4 + SenderSet.MAX_ENCODED + 32;

  private SealedSenderSet() {}

  /** Seals {@code set} for {@code keySet}. */
  public static byte[] seal(KeySet keySet, SenderSet set) {
    byte[] id = keySet.id().getBytes(StandardCharsets.US_ASCII);
    byte[] enc = set.encode();
    ByteBuffer b = ByteBuffer.allocate(4 + 1 + 1 + id.length + 4 + enc.length + 32);
    b.put(MAGIC).put((byte) VERSION).put((byte) id.length).put(id).putInt(enc.length).put(enc);
    byte[] tag = mac(keySet, b.array(), b.position());
    b.put(tag);
    return b.array();
  }

  /**
   * Opens a sealed sender set of {@code keySet}.
   *
   * @throws MalformedInputException {@code malformed} for any bad syntax, key set or tag (one
   *     message for a bad tag, whatever its cause)
   */
  public static SenderSet open(KeySet keySet, byte[] sealed) throws MalformedInputException {
    if (sealed == null || sealed.length > MAX_ENCODED || sealed.length < 4 + 1 + 1 + 35 + 4 + 32) {
      throw new MalformedInputException(
          MalformedInputException.Kind.MALFORMED, "not a sealed sender set of a plausible length");
    }
    ByteBuffer b = ByteBuffer.wrap(sealed);
    byte[] magic = new byte[4];
    b.get(magic);
    if (!Arrays.equals(magic, MAGIC) || b.get() != VERSION || b.get() != 35) {
      throw new MalformedInputException(
          MalformedInputException.Kind.MALFORMED, "not a version 1 sealed sender set");
    }
    byte[] id = new byte[35];
    b.get(id);
    int len = b.getInt();
    if (len < 0 || len != b.remaining() - 32) {
      throw new MalformedInputException(
          MalformedInputException.Kind.MALFORMED, "sealed sender set length fields disagree");
    }
    if (!MessageDigest.isEqual(id, keySet.id().getBytes(StandardCharsets.US_ASCII))) {
      throw new MalformedInputException(
          MalformedInputException.Kind.MALFORMED,
          "the sealed sender set belongs to another key set");
    }
    byte[] expected = mac(keySet, sealed, sealed.length - 32);
    if (!MessageDigest.isEqual(
        expected, Arrays.copyOfRange(sealed, sealed.length - 32, sealed.length))) {
      throw new MalformedInputException(
          MalformedInputException.Kind.MALFORMED, "the sealed sender set does not authenticate");
    }
    byte[] enc = new byte[len];
    b.get(enc);
    return SenderSet.parse(enc);
  }

  private static byte[] mac(KeySet keySet, byte[] data, int length) {
    byte[] storage = keySet.storageKey();
    byte[] k = null;
    try {
      Mac hkdf = Mac.getInstance("HmacSHA256");
      hkdf.init(new SecretKeySpec(storage, "HmacSHA256"));
      hkdf.update(MAC_INFO);
      hkdf.update((byte) 1);
      k = hkdf.doFinal();
      Mac m = Mac.getInstance("HmacSHA256");
      m.init(new SecretKeySpec(k, "HmacSHA256"));
      m.update(data, 0, length);
      return m.doFinal();
    } catch (GeneralSecurityException e) {
      throw new AssertionError("HmacSHA256 is required by the Java platform", e);
    } finally {
      Arrays.fill(storage, (byte) 0);
      if (k != null) {
        Arrays.fill(k, (byte) 0);
      }
    }
  }
}
