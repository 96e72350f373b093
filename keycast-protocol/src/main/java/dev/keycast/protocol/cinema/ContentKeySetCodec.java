package dev.keycast.protocol.cinema;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.UUID;

/**
 * The secret of a KDM send as bytes (wire-format.md section 9.1): a content-key set in a fixed
 * binary layout, so that the enclave reads the keys into arrays it can zeroize (no JSON strings of
 * key material on the heap). All integers big-endian:
 *
 * <pre>
 *   content-key-set = "KCCK" || u8 version = 1
 *                     || cpl-id (16, the UUID's big-endian bytes)
 *                     || u16 title-length (1..1024) || title (UTF-8)
 *                     || u16 key-count (1..256)
 *                     || key-count x ( key-id (16) || key-type (4 ASCII letters) || key (16) )
 * </pre>
 *
 * <p>Nothing may follow the last key. {@link #decode} refuses, with a {@link CinemaException} whose
 * code starts with {@code content_key_set}, anything that breaks the layout or {@link
 * ContentKeySet#of}'s rules; its messages never contain key bytes.
 */
public final class ContentKeySetCodec {
  /** The layout's version. */
  public static final int VERSION = 1;

  /** Longest title accepted, in UTF-8 bytes. */
  public static final int MAX_TITLE_BYTES = 1024;

  /** Longest encoding: header, longest title, most keys. */
  public static final int MAX_ENCODED =
      4 + 1 + 16 + 2 + MAX_TITLE_BYTES + 2 + ContentKeySet.MAX_KEYS * 36;

  private static final byte[] MAGIC = {'K', 'C', 'C', 'K'};
  private static final int KEY_ENTRY = 16 + 4 + ContentKey.KEY_LENGTH;

  private ContentKeySetCodec() {}

  /** The encoding of {@code set}; the caller zeroizes the returned array after use. */
  public static byte[] encode(ContentKeySet set) {
    byte[] title = set.contentTitle().getBytes(StandardCharsets.UTF_8);
    if (title.length > MAX_TITLE_BYTES) {
      throw new IllegalArgumentException(
          "the title is longer than " + MAX_TITLE_BYTES + " UTF-8 bytes");
    }
    ByteBuffer b =
        ByteBuffer.allocate(4 + 1 + 16 + 2 + title.length + 2 + set.keys().size() * KEY_ENTRY);
    b.put(MAGIC).put((byte) VERSION);
    putUuid(b, set.cplId());
    b.putShort((short) title.length).put(title);
    b.putShort((short) set.keys().size());
    for (ContentKey k : set.keys()) {
      putUuid(b, k.keyId());
      b.put(k.type().name().getBytes(StandardCharsets.US_ASCII));
      byte[] key = k.key();
      b.put(key);
      Arrays.fill(key, (byte) 0);
    }
    return b.array();
  }

  /**
   * Reads a content-key set. The returned keys hold copies of the key bytes; zeroize them ({@link
   * ContentKey#zeroize}) and {@code encoded} when done.
   */
  public static ContentKeySet decode(byte[] encoded) throws CinemaException {
    if (encoded == null || encoded.length > MAX_ENCODED) {
      throw malformed("is empty or longer than " + MAX_ENCODED + " bytes");
    }
    ByteBuffer b = ByteBuffer.wrap(encoded);
    if (b.remaining() < 5
        || b.get() != MAGIC[0]
        || b.get() != MAGIC[1]
        || b.get() != MAGIC[2]
        || b.get() != MAGIC[3]) {
      throw malformed("does not start with \"KCCK\"");
    }
    int version = b.get() & 0xff;
    if (version != VERSION) {
      throw new CinemaException(
          "content_key_set_version",
          "content-key set version " + version + " is not supported; expected " + VERSION);
    }
    UUID cpl = uuid(b, "the CPL id");
    int titleLength = u16(b, "the title length");
    if (titleLength < 1 || titleLength > MAX_TITLE_BYTES || b.remaining() < titleLength) {
      throw malformed(
          "has a title length of "
              + titleLength
              + " (1.."
              + MAX_TITLE_BYTES
              + " bytes, within the encoding)");
    }
    String title;
    try {
      title =
          StandardCharsets.UTF_8
              .newDecoder()
              .onMalformedInput(CodingErrorAction.REPORT)
              .onUnmappableCharacter(CodingErrorAction.REPORT)
              .decode(b.slice(b.position(), titleLength))
              .toString();
    } catch (CharacterCodingException e) {
      throw malformed("has a title that is not UTF-8");
    }
    b.position(b.position() + titleLength);
    int count = u16(b, "the key count");
    if (count < 1 || count > ContentKeySet.MAX_KEYS) {
      throw new CinemaException(
          "content_key_set_key_count",
          "a content key set holds 1 to " + ContentKeySet.MAX_KEYS + " keys, not " + count);
    }
    if (b.remaining() != count * KEY_ENTRY) {
      throw malformed(
          "has " + b.remaining() + " bytes of keys; " + count + " keys take " + count * KEY_ENTRY);
    }
    List<ContentKey> keys = new ArrayList<>(count);
    byte[] key = new byte[ContentKey.KEY_LENGTH];
    byte[] type = new byte[4];
    try {
      for (int i = 0; i < count; i++) {
        UUID keyId = uuid(b, "a key id");
        b.get(type);
        b.get(key);
        keys.add(
            ContentKey.of(keyId, KeyType.parse(new String(type, StandardCharsets.US_ASCII)), key));
      }
      return ContentKeySet.of(cpl, title, keys);
    } catch (CinemaException e) {
      keys.forEach(ContentKey::zeroize);
      throw e;
    } finally {
      Arrays.fill(key, (byte) 0);
    }
  }

  private static void putUuid(ByteBuffer b, UUID u) {
    b.putLong(u.getMostSignificantBits()).putLong(u.getLeastSignificantBits());
  }

  private static UUID uuid(ByteBuffer b, String what) throws CinemaException {
    if (b.remaining() < 16) {
      throw malformed("ends inside " + what);
    }
    return new UUID(b.getLong(), b.getLong());
  }

  private static int u16(ByteBuffer b, String what) throws CinemaException {
    if (b.remaining() < 2) {
      throw malformed("ends inside " + what);
    }
    return b.getShort() & 0xffff;
  }

  private static CinemaException malformed(String what) {
    return new CinemaException("content_key_set_malformed", "the content-key set " + what);
  }
}
