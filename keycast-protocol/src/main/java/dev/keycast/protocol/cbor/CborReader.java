package dev.keycast.protocol.cbor;

import dev.keycast.protocol.MalformedInputException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A strict CBOR (RFC 8949) pull reader over {@code in[offset, offset + length)}.
 *
 * <p>It reads one item at a time and never builds a tree unless asked ({@link #readValue()}).
 * Every declared length is checked against the caller's cap ({@code oversize}) and then against
 * the bytes that remain ({@code truncated}) before anything is allocated. Byte and text strings
 * must always be definite-length; reserved additional information (28..30) and stray break codes
 * are {@code malformed}. What else it tolerates is set by {@link Options}:
 *
 * <ul>
 *   <li>indefinite-length arrays and maps: allowed only with {@link
 *       Options#allowIndefiniteContainers()};
 *   <li>non-shortest arguments (e.g. {@code 0x1801} for 1): allowed only with {@link
 *       Options#allowNonShortest()}.
 * </ul>
 *
 * <p>A forbidden indefinite length or non-shortest argument is {@code non_canonical} when the
 * reader is canonical (non-shortest forms forbidden) and {@code malformed} otherwise. Integers
 * outside the Java {@code long} range are {@code malformed} when pulled ({@link #readUint},
 * {@link #readInt}) and {@code oversize} in {@link #readValue()} trees (as the three codecs this
 * one replaced did); lengths above {@code 2^31-1} are {@code oversize}.
 * Duplicate map keys are rejected by {@link #readValue()} and {@link #skip(String)}; callers that
 * pull maps field by field must reject duplicates themselves. Not thread-safe.
 */
public final class CborReader {
  public static final int MAJOR_UINT = 0;
  public static final int MAJOR_NINT = 1;
  public static final int MAJOR_BYTES = 2;
  public static final int MAJOR_TEXT = 3;
  public static final int MAJOR_ARRAY = 4;
  public static final int MAJOR_MAP = 5;
  public static final int MAJOR_TAG = 6;
  public static final int MAJOR_SIMPLE = 7;

  /** Returned by {@link #readArrayHeader} and {@link #readMapHeader} for indefinite length. */
  public static final long INDEFINITE = -1;

  private static final int BREAK = 0xff;
  private static final int NULL = 0xf6;
  private static final byte[] HEX = "0123456789abcdef".getBytes(StandardCharsets.US_ASCII);

  /**
   * What a reader tolerates and how deep and wide {@link #readValue()} and {@link #skip(String)}
   * may go.
   *
   * @param allowIndefiniteContainers accept indefinite-length arrays and maps
   * @param allowNonShortest accept arguments not encoded in their shortest form
   * @param maxDepth how many container levels below the item being read or skipped are allowed
   * @param maxContainerEntries the most elements (or pairs) one container may declare in {@link
   *     #readValue()} and {@link #skip(String)}
   */
  public record Options(
      boolean allowIndefiniteContainers,
      boolean allowNonShortest,
      int maxDepth,
      int maxContainerEntries) {
    /** RFC 8949 section 4.2.1 deterministic input only: definite lengths, shortest forms. */
    public static final Options CANONICAL = new Options(false, false, 16, Integer.MAX_VALUE);

    public Options {
      if (maxDepth < 0 || maxContainerEntries < 0) {
        throw new IllegalArgumentException("negative limit");
      }
    }

    /** A copy with another depth limit. */
    public Options withMaxDepth(int depth) {
      return new Options(allowIndefiniteContainers, allowNonShortest, depth, maxContainerEntries);
    }

    /** A copy with another per-container entry limit. */
    public Options withMaxContainerEntries(int entries) {
      return new Options(allowIndefiniteContainers, allowNonShortest, maxDepth, entries);
    }
  }

  private final byte[] in;
  private final int end;
  private final Options options;
  private int pos;

  /** Reads {@code in[offset, offset + length)}; the array is not copied. */
  public CborReader(byte[] in, int offset, int length, Options options) {
    if (offset < 0 || length < 0 || offset > in.length - length) {
      throw new IndexOutOfBoundsException(
          "range [" + offset + ", +" + length + ") of " + in.length);
    }
    this.in = in;
    this.pos = offset;
    this.end = offset + length;
    this.options = options;
  }

  /** Reads all of {@code in}; the array is not copied. */
  public CborReader(byte[] in, Options options) {
    this(in, 0, in.length, options);
  }

  /** Decodes exactly one item that spans all of {@code input}; see {@link #readValue()}. */
  public static Object decode(byte[] input, Options options) throws MalformedInputException {
    CborReader r = new CborReader(input, options);
    Object value = r.readValue();
    r.requireEnd("CBOR item");
    return value;
  }

  public int position() {
    return pos;
  }

  public boolean atEnd() {
    return pos >= end;
  }

  /** Throws {@code malformed} unless every byte has been read. */
  public void requireEnd(String what) throws MalformedInputException {
    if (pos != end) {
      throw new MalformedInputException(
          MalformedInputException.Kind.MALFORMED,
          (end - pos) + " trailing byte(s) after " + what + " at offset " + pos);
    }
  }

  /** The initial byte of the next item, without consuming it. */
  public int peek(String what) throws MalformedInputException {
    need(1, what);
    return in[pos] & 0xff;
  }

  /** The major type of the next item, without consuming it. */
  public int peekMajor(String what) throws MalformedInputException {
    return peek(what) >>> 5;
  }

  public boolean peekNull() {
    return pos < end && (in[pos] & 0xff) == NULL;
  }

  public boolean peekBreak() {
    return pos < end && (in[pos] & 0xff) == BREAK;
  }

  public void readNull(String what) throws MalformedInputException {
    need(1, what);
    if ((in[pos] & 0xff) != NULL) {
      throw typeError(what, "null");
    }
    pos++;
  }

  /** Reads the break code that ends an indefinite-length container. */
  public void readBreak(String what) throws MalformedInputException {
    need(1, what);
    if ((in[pos] & 0xff) != BREAK) {
      throw new MalformedInputException(
          MalformedInputException.Kind.MALFORMED,
          "expected break ending " + what + " at offset " + pos);
    }
    pos++;
  }

  /** Reads a tag number if the next item is a tag; otherwise returns -1 and consumes nothing. */
  public long readOptionalTag(String what) throws MalformedInputException {
    if (pos < end && ((in[pos] & 0xff) >>> 5) == MAJOR_TAG) {
      return readHead(MAJOR_TAG, what);
    }
    return -1;
  }

  /**
   * Reads a definite head of the given major type and returns its argument: at most {@code
   * 2^63-1}, and at most {@code 2^31-1} for string lengths and container counts.
   */
  public long readHead(int major, String what) throws MalformedInputException {
    return head(major, what, MalformedInputException.Kind.MALFORMED);
  }

  /** As {@link #readHead}; an integer above {@code 2^63-1} is reported with {@code rangeKind}. */
  private long head(int major, String what, MalformedInputException.Kind rangeKind)
      throws MalformedInputException {
    need(1, what);
    int b = in[pos] & 0xff;
    if ((b >>> 5) != major) {
      throw typeError(what, majorName(major));
    }
    int start = pos;
    long v = argument(b & 0x1f, what);
    if (v < 0) {
      throw new MalformedInputException(
          major >= MAJOR_BYTES && major <= MAJOR_MAP
              ? MalformedInputException.Kind.OVERSIZE
              : rangeKind,
          what
              + ": argument "
              + Long.toUnsignedString(v)
              + " at offset "
              + start
              + " exceeds 2^63-1");
    }
    if (major >= MAJOR_BYTES && major <= MAJOR_MAP && v > Integer.MAX_VALUE) {
      throw new MalformedInputException(
          MalformedInputException.Kind.OVERSIZE,
          what + ": length " + v + " at offset " + start + " exceeds 2^31-1");
    }
    return v;
  }

  /** Reads an unsigned integer (major type 0) of at most {@code 2^63-1}. */
  public long readUint(String what) throws MalformedInputException {
    return readHead(MAJOR_UINT, what);
  }

  /** Reads an integer (major type 0 or 1) that fits in a long. */
  public long readInt(String what) throws MalformedInputException {
    int major = peekMajor(what);
    if (major == MAJOR_UINT) {
      return readUint(what);
    }
    if (major == MAJOR_NINT) {
      return -1 - readHead(MAJOR_NINT, what);
    }
    throw typeError(what, "integer");
  }

  /** Reads a definite-length byte string of {@code min..max} bytes. */
  public byte[] readBytes(String what, int min, int max) throws MalformedInputException {
    int len = readStringHead(MAJOR_BYTES, what, min, max);
    byte[] b = Arrays.copyOfRange(in, pos, pos + len);
    pos += len;
    return b;
  }

  /**
   * Reads a definite-length byte string of exactly {@code length} bytes; any other length that
   * fits in the input is {@code malformed}.
   */
  public byte[] readBytesExact(String what, int length) throws MalformedInputException {
    int len = readStringHead(MAJOR_BYTES, what, 0, Integer.MAX_VALUE);
    if (len != length) {
      throw new MalformedInputException(
          MalformedInputException.Kind.MALFORMED,
          what + ": expected " + length + " bytes, got " + len);
    }
    byte[] b = Arrays.copyOfRange(in, pos, pos + len);
    pos += len;
    return b;
  }

  /**
   * Reads a definite-length byte string of {@code min..max} bytes and returns {offset, length} of
   * its content in the underlying array, without copying.
   */
  public int[] readBytesRange(String what, int min, int max) throws MalformedInputException {
    int len = readStringHead(MAJOR_BYTES, what, min, max);
    int[] r = {pos, len};
    pos += len;
    return r;
  }

  /** The lowercase hex of {@code length} bytes of the underlying input starting at {@code offset}. */
  public String hex(int offset, int length) {
    byte[] chars = new byte[2 * length];
    for (int i = 0; i < length; i++) {
      int b = in[offset + i] & 0xff;
      chars[2 * i] = HEX[b >>> 4];
      chars[2 * i + 1] = HEX[b & 0xf];
    }
    return new String(chars, StandardCharsets.US_ASCII);
  }

  /** Reads a definite-length UTF-8 text string of {@code min..max} bytes. */
  public String readText(String what, int min, int max) throws MalformedInputException {
    int len = readStringHead(MAJOR_TEXT, what, min, max);
    int ascii = pos;
    while (ascii < pos + len && in[ascii] >= 0) {
      ascii++;
    }
    if (ascii == pos + len) {
      String s = new String(in, pos, len, StandardCharsets.US_ASCII);
      pos += len;
      return s;
    }
    try {
      String s =
          StandardCharsets.UTF_8
              .newDecoder()
              .onMalformedInput(CodingErrorAction.REPORT)
              .onUnmappableCharacter(CodingErrorAction.REPORT)
              .decode(ByteBuffer.wrap(in, pos, len))
              .toString();
      pos += len;
      return s;
    } catch (CharacterCodingException e) {
      throw new MalformedInputException(
          MalformedInputException.Kind.MALFORMED, what + ": invalid UTF-8 at offset " + pos, e);
    }
  }

  /** Reads a text string of at most {@code maxBytes} and requires it to equal {@code expected}. */
  public void readKey(String expected, int maxBytes) throws MalformedInputException {
    int at = pos;
    String k = readText("map key", 0, maxBytes);
    if (!k.equals(expected)) {
      throw new MalformedInputException(
          MalformedInputException.Kind.MALFORMED,
          "expected map key \"" + expected + "\" at offset " + at + ", got \"" + k + "\"");
    }
  }

  /**
   * Reads an array header; returns its length or {@link #INDEFINITE}. A count above {@code
   * maxEntries} is {@code oversize}; one that cannot fit in the remaining input is {@code
   * truncated}.
   */
  public long readArrayHeader(String what, long maxEntries) throws MalformedInputException {
    return readContainerHeader(MAJOR_ARRAY, what, maxEntries);
  }

  /** Reads a map header; returns its number of pairs or {@link #INDEFINITE}; caps as for arrays. */
  public long readMapHeader(String what, long maxEntries) throws MalformedInputException {
    return readContainerHeader(MAJOR_MAP, what, maxEntries);
  }

  /**
   * Decodes one complete item into a tree: {@link Long} for integers, {@code byte[]}, {@link
   * String}, unmodifiable {@link List} and insertion-ordered {@link Map} (keys are {@link Long} or
   * {@link String}; duplicates are {@code malformed}), {@link Boolean} or {@link CborNull}. Tags,
   * floats and other simple values are {@code malformed}; nesting deeper than {@link
   * Options#maxDepth()} and containers above {@link Options#maxContainerEntries()} are {@code
   * oversize}.
   */
  public Object readValue() throws MalformedInputException {
    return value(0);
  }

  private Object value(int depth) throws MalformedInputException {
    checkDepth(depth, "CBOR item");
    int start = pos;
    int initial = peek("CBOR item");
    int major = initial >>> 5;
    switch (major) {
      case MAJOR_UINT -> {
        return head(MAJOR_UINT, "CBOR integer", MalformedInputException.Kind.OVERSIZE);
      }
      case MAJOR_NINT -> {
        return -1 - head(MAJOR_NINT, "CBOR integer", MalformedInputException.Kind.OVERSIZE);
      }
      case MAJOR_BYTES -> {
        return readBytes("byte string", 0, Integer.MAX_VALUE);
      }
      case MAJOR_TEXT -> {
        return readText("text string", 0, Integer.MAX_VALUE);
      }
      case MAJOR_ARRAY -> {
        long n = readArrayHeader("array", options.maxContainerEntries());
        List<Object> list = new ArrayList<>(n == INDEFINITE ? 4 : (int) n);
        for (long i = 0; n == INDEFINITE ? !peekBreak() : i < n; i++) {
          list.add(value(depth + 1));
        }
        if (n == INDEFINITE) {
          readBreak("array");
        }
        return Collections.unmodifiableList(list);
      }
      case MAJOR_MAP -> {
        long n = readMapHeader("map", options.maxContainerEntries());
        Map<Object, Object> map = new LinkedHashMap<>();
        for (long i = 0; n == INDEFINITE ? !peekBreak() : i < n; i++) {
          if (n == INDEFINITE && i >= options.maxContainerEntries()) {
            throw new MalformedInputException(
                MalformedInputException.Kind.OVERSIZE,
                "map at offset "
                    + start
                    + " exceeds the limit of "
                    + options.maxContainerEntries());
          }
          int keyAt = pos;
          Object key = value(depth + 1);
          if (!(key instanceof Long) && !(key instanceof String)) {
            throw new MalformedInputException(
                MalformedInputException.Kind.MALFORMED,
                "CBOR map key at offset " + keyAt + " is neither integer nor text");
          }
          Object v = value(depth + 1);
          if (map.putIfAbsent(key, v) != null) {
            throw new MalformedInputException(
                MalformedInputException.Kind.MALFORMED,
                "duplicate CBOR map key " + key + " at offset " + keyAt);
          }
        }
        if (n == INDEFINITE) {
          readBreak("map");
        }
        return Collections.unmodifiableMap(map);
      }
      case MAJOR_TAG ->
          throw new MalformedInputException(
              MalformedInputException.Kind.MALFORMED, "unsupported CBOR tag at offset " + start);
      default -> {
        Object simple =
            switch (initial) {
              case 0xf4 -> Boolean.FALSE;
              case 0xf5 -> Boolean.TRUE;
              case 0xf6 -> CborNull.INSTANCE;
              default ->
                  throw new MalformedInputException(
                      MalformedInputException.Kind.MALFORMED,
                      "unsupported CBOR simple value/float 0x"
                          + Integer.toHexString(initial)
                          + " at offset "
                          + start);
            };
        pos++;
        return simple;
      }
    }
  }

  /**
   * Skips one complete item of any type, nesting at most {@link Options#maxDepth()} levels below
   * it. Maps with duplicate keys (compared by their encoded bytes) are {@code malformed}.
   */
  public void skip(String what) throws MalformedInputException {
    skip(what, 0);
  }

  private void skip(String what, int depth) throws MalformedInputException {
    checkDepth(depth, what);
    int major = peekMajor(what);
    switch (major) {
      case MAJOR_UINT, MAJOR_NINT -> readHead(major, what);
      case MAJOR_BYTES, MAJOR_TEXT -> {
        int len = readStringHead(major, what, 0, Integer.MAX_VALUE);
        pos += len;
      }
      case MAJOR_ARRAY -> {
        long n = readArrayHeader(what, options.maxContainerEntries());
        for (long i = 0; n == INDEFINITE ? !peekBreak() : i < n; i++) {
          skip(what, depth + 1);
        }
        if (n == INDEFINITE) {
          readBreak(what);
        }
      }
      case MAJOR_MAP -> {
        long n = readMapHeader(what, options.maxContainerEntries());
        List<int[]> keys = new ArrayList<>();
        for (long i = 0; n == INDEFINITE ? !peekBreak() : i < n; i++) {
          if (i >= options.maxContainerEntries()) {
            throw new MalformedInputException(
                MalformedInputException.Kind.OVERSIZE,
                what + ": map exceeds the limit of " + options.maxContainerEntries() + " entries");
          }
          int keyAt = pos;
          skip(what, depth + 1);
          for (int[] k : keys) {
            if (Arrays.equals(in, k[0], k[1], in, keyAt, pos)) {
              throw new MalformedInputException(
                  MalformedInputException.Kind.MALFORMED,
                  what + ": duplicate map key at offset " + keyAt);
            }
          }
          keys.add(new int[] {keyAt, pos});
          skip(what, depth + 1);
        }
        if (n == INDEFINITE) {
          readBreak(what);
        }
      }
      case MAJOR_TAG -> {
        readHead(MAJOR_TAG, what);
        skip(what, depth + 1);
      }
      default -> {
        int b = in[pos] & 0xff;
        int ai = b & 0x1f;
        int size =
            switch (ai) {
              case 24 -> 1;
              case 25 -> 2;
              case 26 -> 4;
              case 27 -> 8;
              default -> ai < 24 ? 0 : -1;
            };
        if (size < 0) {
          throw new MalformedInputException(
              MalformedInputException.Kind.MALFORMED,
              what + ": unexpected byte 0x" + Integer.toHexString(b) + " at offset " + pos);
        }
        pos++;
        need(size, what);
        pos += size;
      }
    }
  }

  private void checkDepth(int depth, String what) throws MalformedInputException {
    if (depth > options.maxDepth()) {
      throw new MalformedInputException(
          MalformedInputException.Kind.OVERSIZE,
          what + ": nested deeper than " + options.maxDepth() + " at offset " + pos);
    }
  }

  private long readContainerHeader(int major, String what, long maxEntries)
      throws MalformedInputException {
    int b = peek(what);
    if ((b >>> 5) == major && (b & 0x1f) == 31) {
      if (!options.allowIndefiniteContainers()) {
        throw forbiddenIndefinite(what);
      }
      pos++;
      return INDEFINITE;
    }
    long n = readHead(major, what);
    if (n > maxEntries) {
      throw new MalformedInputException(
          MalformedInputException.Kind.OVERSIZE,
          what + ": " + n + " entries exceed the limit of " + maxEntries);
    }
    // Each element takes at least one byte: a cheap bound before any loop or allocation.
    int per = major == MAJOR_MAP ? 2 : 1;
    if (n > (end - pos) / per) {
      throw new MalformedInputException(
          MalformedInputException.Kind.TRUNCATED,
          what
              + ": "
              + n
              + " entries cannot fit in the "
              + (end - pos)
              + " bytes left at offset "
              + pos);
    }
    return n;
  }

  private int readStringHead(int major, String what, int min, int max)
      throws MalformedInputException {
    int b = peek(what);
    if ((b >>> 5) == major && (b & 0x1f) == 31) {
      throw new MalformedInputException(
          options.allowNonShortest()
              ? MalformedInputException.Kind.MALFORMED
              : MalformedInputException.Kind.NON_CANONICAL,
          what + ": indefinite-length strings are not accepted (offset " + pos + ")");
    }
    long len = readHead(major, what);
    if (len > max) {
      throw new MalformedInputException(
          MalformedInputException.Kind.OVERSIZE,
          what + ": length " + len + " exceeds the limit of " + max);
    }
    if (len < min) {
      throw new MalformedInputException(
          MalformedInputException.Kind.MALFORMED,
          what + ": length " + len + " is below the minimum of " + min);
    }
    need((int) len, what);
    return (int) len;
  }

  /** Consumes a head whose additional information is {@code ai}; returns the raw unsigned argument. */
  private long argument(int ai, String what) throws MalformedInputException {
    int start = pos;
    if (ai < 24) {
      pos++;
      return ai;
    }
    int size;
    long min;
    switch (ai) {
      case 24 -> {
        size = 1;
        min = 24;
      }
      case 25 -> {
        size = 2;
        min = 0x100;
      }
      case 26 -> {
        size = 4;
        min = 0x10000;
      }
      case 27 -> {
        size = 8;
        min = 0x1_0000_0000L;
      }
      case 31 -> throw forbiddenIndefinite(what);
      default ->
          throw new MalformedInputException(
              MalformedInputException.Kind.MALFORMED,
              what + ": reserved additional information " + ai + " at offset " + start);
    }
    pos++;
    need(size, what);
    long v = 0;
    for (int i = 0; i < size; i++) {
      v = (v << 8) | (in[pos++] & 0xff);
    }
    if (!options.allowNonShortest() && Long.compareUnsigned(v, min) < 0) {
      throw new MalformedInputException(
          MalformedInputException.Kind.NON_CANONICAL,
          what + ": argument " + v + " at offset " + start + " is not in shortest form");
    }
    return v;
  }

  private MalformedInputException forbiddenIndefinite(String what) {
    return new MalformedInputException(
        options.allowNonShortest()
            ? MalformedInputException.Kind.MALFORMED
            : MalformedInputException.Kind.NON_CANONICAL,
        what + ": indefinite length at offset " + pos + " is not allowed");
  }

  private void need(int n, String what) throws MalformedInputException {
    if (n > end - pos) {
      throw new MalformedInputException(
          MalformedInputException.Kind.TRUNCATED,
          what + ": input ends at offset " + pos + ", " + n + " more byte(s) needed");
    }
  }

  private MalformedInputException typeError(String what, String expected) {
    int b = in[pos] & 0xff;
    return new MalformedInputException(
        MalformedInputException.Kind.MALFORMED,
        what
            + ": expected "
            + expected
            + " but found "
            + majorName(b >>> 5)
            + " (0x"
            + String.format("%02x", b)
            + ") at offset "
            + pos);
  }

  /** A human name for a major type, for error messages. */
  public static String majorName(int major) {
    return switch (major) {
      case MAJOR_UINT -> "unsigned integer";
      case MAJOR_NINT -> "negative integer";
      case MAJOR_BYTES -> "byte string";
      case MAJOR_TEXT -> "text string";
      case MAJOR_ARRAY -> "array";
      case MAJOR_MAP -> "map";
      case MAJOR_TAG -> "tag";
      default -> "simple/float";
    };
  }
}
