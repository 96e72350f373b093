package dev.keycast.protocol.attestation;

import dev.keycast.protocol.MalformedInputException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * A small strict CBOR (RFC 8949) reader over a byte array, for the attestation formats only.
 *
 * <p>It reads one item at a time and never allocates more than the caller's cap for a string.
 * Byte and text strings must be definite-length; arrays and maps may be definite or indefinite.
 * Reserved additional-information values (28..30), break codes outside an indefinite container,
 * and truncated input are rejected with {@link MalformedInputException}.
 */
final class CborReader {
  static final int MAJOR_UINT = 0;
  static final int MAJOR_NINT = 1;
  static final int MAJOR_BYTES = 2;
  static final int MAJOR_TEXT = 3;
  static final int MAJOR_ARRAY = 4;
  static final int MAJOR_MAP = 5;
  static final int MAJOR_TAG = 6;
  static final int MAJOR_SIMPLE = 7;

  /** Returned by {@link #readArrayHeader} and {@link #readMapHeader} for indefinite length. */
  static final long INDEFINITE = -1;

  private static final int BREAK = 0xff;
  private static final int NULL = 0xf6;

  private final byte[] in;
  private final int end;
  private int pos;

  CborReader(byte[] in, int offset, int length) {
    this.in = in;
    this.pos = offset;
    this.end = offset + length;
  }

  CborReader(byte[] in) {
    this(in, 0, in.length);
  }

  int position() {
    return pos;
  }

  boolean atEnd() {
    return pos >= end;
  }

  void requireEnd(String what) throws MalformedInputException {
    if (pos != end) {
      throw new MalformedInputException(
          "malformed", (end - pos) + " trailing byte(s) after " + what + " at offset " + pos);
    }
  }

  /** The major type of the next item, without consuming it. */
  int peekMajor(String what) throws MalformedInputException {
    need(1, what);
    return (in[pos] & 0xff) >>> 5;
  }

  boolean peekNull() {
    return pos < end && (in[pos] & 0xff) == NULL;
  }

  boolean peekBreak() {
    return pos < end && (in[pos] & 0xff) == BREAK;
  }

  void readNull(String what) throws MalformedInputException {
    need(1, what);
    if ((in[pos] & 0xff) != NULL) {
      throw typeError(what, "null");
    }
    pos++;
  }

  void readBreak(String what) throws MalformedInputException {
    need(1, what);
    if ((in[pos] & 0xff) != BREAK) {
      throw new MalformedInputException("malformed", "expected break ending " + what + " at offset " + pos);
    }
    pos++;
  }

  /** Reads a tag number if the next item is a tag; otherwise returns -1 and consumes nothing. */
  long readOptionalTag(String what) throws MalformedInputException {
    if (pos < end && ((in[pos] & 0xff) >>> 5) == MAJOR_TAG) {
      return readHead(MAJOR_TAG, what);
    }
    return -1;
  }

  long readUint(String what) throws MalformedInputException {
    long v = readHead(MAJOR_UINT, what);
    if (v < 0) {
      throw new MalformedInputException("malformed", what + ": unsigned integer exceeds 2^63-1");
    }
    return v;
  }

  /** Reads an integer (major type 0 or 1) that fits in a long. */
  long readInt(String what) throws MalformedInputException {
    int major = peekMajor(what);
    if (major == MAJOR_UINT) {
      return readUint(what);
    }
    if (major == MAJOR_NINT) {
      long v = readHead(MAJOR_NINT, what);
      if (v < 0) {
        throw new MalformedInputException("malformed", what + ": negative integer out of range");
      }
      return -1 - v;
    }
    throw typeError(what, "integer");
  }

  /** Reads a definite-length byte string of {@code min..max} bytes. */
  byte[] readBytes(String what, int min, int max) throws MalformedInputException {
    int[] range = readBytesRange(what, min, max);
    return Arrays.copyOfRange(in, range[0], range[0] + range[1]);
  }

  /**
   * Reads a definite-length byte string of {@code min..max} bytes and returns {offset, length} of
   * its content in the underlying array, without copying.
   */
  int[] readBytesRange(String what, int min, int max) throws MalformedInputException {
    int len = readStringHead(MAJOR_BYTES, what, min, max);
    int[] r = {pos, len};
    pos += len;
    return r;
  }

  /** Reads a definite-length UTF-8 text string of {@code min..max} bytes. */
  String readText(String what, int min, int max) throws MalformedInputException {
    int len = readStringHead(MAJOR_TEXT, what, min, max);
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
      throw new MalformedInputException("malformed", what + ": invalid UTF-8 at offset " + pos, e);
    }
  }

  /** Reads an array header; returns its length or {@link #INDEFINITE}. */
  long readArrayHeader(String what, long maxEntries) throws MalformedInputException {
    return readContainerHeader(MAJOR_ARRAY, what, maxEntries);
  }

  /** Reads a map header; returns its number of pairs or {@link #INDEFINITE}. */
  long readMapHeader(String what, long maxEntries) throws MalformedInputException {
    return readContainerHeader(MAJOR_MAP, what, maxEntries);
  }

  /** Skips one complete item, nesting at most {@code depth} levels. */
  void skip(String what, int depth) throws MalformedInputException {
    if (depth <= 0) {
      throw new MalformedInputException("malformed", what + ": nesting too deep");
    }
    int major = peekMajor(what);
    switch (major) {
      case MAJOR_UINT, MAJOR_NINT -> readHead(major, what);
      case MAJOR_BYTES, MAJOR_TEXT -> {
        int len = readStringHead(major, what, 0, end - pos);
        pos += len;
      }
      case MAJOR_ARRAY, MAJOR_MAP -> {
        long n = readContainerHeader(major, what, end - pos);
        int per = major == MAJOR_MAP ? 2 : 1;
        if (n == INDEFINITE) {
          while (!peekBreak()) {
            for (int i = 0; i < per; i++) {
              skip(what, depth - 1);
            }
          }
          readBreak(what);
        } else {
          for (long i = 0; i < n * per; i++) {
            skip(what, depth - 1);
          }
        }
      }
      case MAJOR_TAG -> {
        readHead(MAJOR_TAG, what);
        skip(what, depth - 1);
      }
      default -> {
        int b = in[pos] & 0xff;
        int ai = b & 0x1f;
        if (ai < 24 || ai == 24 || ai == 25 || ai == 26 || ai == 27) {
          readHead(MAJOR_SIMPLE, what);
        } else {
          throw new MalformedInputException(
              "malformed", what + ": unexpected byte 0x" + Integer.toHexString(b) + " at offset " + pos);
        }
      }
    }
  }

  private long readContainerHeader(int major, String what, long maxEntries)
      throws MalformedInputException {
    need(1, what);
    int b = in[pos] & 0xff;
    if ((b >>> 5) == major && (b & 0x1f) == 31) {
      pos++;
      return INDEFINITE;
    }
    long n = readHead(major, what);
    if (n < 0 || n > maxEntries) {
      throw new MalformedInputException(
          "oversize", what + ": " + Long.toUnsignedString(n) + " entries exceed the limit of " + maxEntries);
    }
    // Each entry needs at least one byte: a cheap sanity bound before any loop.
    if (n > end - pos) {
      throw new MalformedInputException("truncated", what + ": " + n + " entries cannot fit in the input");
    }
    return n;
  }

  private int readStringHead(int major, String what, int min, int max) throws MalformedInputException {
    need(1, what);
    int b = in[pos] & 0xff;
    if ((b >>> 5) == major && (b & 0x1f) == 31) {
      throw new MalformedInputException(
          "malformed", what + ": indefinite-length strings are not accepted (offset " + pos + ")");
    }
    long len = readHead(major, what);
    if (len < 0 || len > max) {
      throw new MalformedInputException(
          "oversize", what + ": length " + Long.toUnsignedString(len) + " exceeds the limit of " + max);
    }
    if (len < min) {
      throw new MalformedInputException(
          "malformed", what + ": length " + len + " is below the minimum of " + min);
    }
    need((int) len, what);
    return (int) len;
  }

  /** Reads an item head of the given major type; returns its argument (unsigned; may be < 0). */
  private long readHead(int major, String what) throws MalformedInputException {
    need(1, what);
    int b = in[pos] & 0xff;
    if ((b >>> 5) != major) {
      throw typeError(what, majorName(major));
    }
    int ai = b & 0x1f;
    int start = pos;
    pos++;
    if (ai < 24) {
      return ai;
    }
    int size =
        switch (ai) {
          case 24 -> 1;
          case 25 -> 2;
          case 26 -> 4;
          case 27 -> 8;
          default -> {
            pos = start;
            throw new MalformedInputException(
                "malformed",
                what + ": unsupported additional information " + ai + " at offset " + start);
          }
        };
    need(size, what);
    long v = 0;
    for (int i = 0; i < size; i++) {
      v = (v << 8) | (in[pos++] & 0xff);
    }
    return v;
  }

  private void need(int n, String what) throws MalformedInputException {
    if (n > end - pos) {
      throw new MalformedInputException(
          "truncated", what + ": input ends at offset " + pos + ", " + n + " more byte(s) needed");
    }
  }

  private MalformedInputException typeError(String what, String expected) {
    int b = in[pos] & 0xff;
    return new MalformedInputException(
        "malformed",
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

  static String majorName(int major) {
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
