package dev.keycast.protocol.receipt;

import dev.keycast.protocol.MalformedInputException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * The small subset of deterministic CBOR (RFC 8949 section 4.2.1) that receipts use: unsigned
 * integers, byte strings, text strings, definite-length arrays and maps, and tag 18. No floats,
 * no negative integers except the one fixed COSE header byte, no indefinite lengths.
 *
 * <p>A hand-written codec rather than Jackson: Jackson's generator emits long strings as
 * indefinite-length chunks and its parser accepts non-shortest encodings, and receipt verification
 * must reject anything that is not the one canonical encoding. Neither side builds a tree.
 */
final class Cbor {
  static final int UINT = 0;
  static final int BYTES = 2;
  static final int TEXT = 3;
  static final int ARRAY = 4;
  static final int MAP = 5;
  static final int TAG = 6;

  private static final byte[] HEX = "0123456789abcdef".getBytes(StandardCharsets.US_ASCII);

  private Cbor() {}

  /** An append-only growable buffer that writes shortest-form heads. */
  static final class Writer {
    private byte[] buf;
    private int len;

    Writer(int initialCapacity) {
      buf = new byte[Math.max(16, initialCapacity)];
    }

    private void ensure(int n) {
      if (n > buf.length - len) {
        long want = Math.max((long) buf.length * 2, (long) len + n);
        if (want > Integer.MAX_VALUE - 16) {
          throw new IllegalStateException("CBOR output too large");
        }
        buf = Arrays.copyOf(buf, (int) want);
      }
    }

    Writer raw(byte[] b) {
      return raw(b, 0, b.length);
    }

    Writer raw(byte[] b, int off, int n) {
      ensure(n);
      System.arraycopy(b, off, buf, len, n);
      len += n;
      return this;
    }

    Writer rawByte(int b) {
      ensure(1);
      buf[len++] = (byte) b;
      return this;
    }

    Writer head(int major, long value) {
      int m = major << 5;
      if (value < 24) {
        rawByte(m | (int) value);
      } else if (value < 0x100) {
        rawByte(m | 24).rawByte((int) value);
      } else if (value < 0x10000) {
        rawByte(m | 25).rawByte((int) (value >>> 8)).rawByte((int) value);
      } else if (value < 0x1_0000_0000L) {
        rawByte(m | 26);
        for (int s = 24; s >= 0; s -= 8) {
          rawByte((int) (value >>> s));
        }
      } else {
        rawByte(m | 27);
        for (int s = 56; s >= 0; s -= 8) {
          rawByte((int) (value >>> s));
        }
      }
      return this;
    }

    Writer uint(long v) {
      return head(UINT, v);
    }

    Writer bytes(byte[] b) {
      return head(BYTES, b.length).raw(b);
    }

    /** Writes a 64-character lowercase hex string as a 32-byte byte string. */
    Writer hex32(String s) {
      head(BYTES, 32);
      ensure(32);
      for (int i = 0; i < 32; i++) {
        buf[len++] = (byte) ((Character.digit(s.charAt(2 * i), 16) << 4) | Character.digit(s.charAt(2 * i + 1), 16));
      }
      return this;
    }

    /** Writes a text string; ASCII strings skip the UTF-8 encoder. */
    Writer text(String s) {
      int n = s.length();
      boolean ascii = true;
      for (int i = 0; i < n && ascii; i++) {
        ascii = s.charAt(i) < 0x80;
      }
      if (ascii) {
        head(TEXT, n);
        ensure(n);
        for (int i = 0; i < n; i++) {
          buf[len++] = (byte) s.charAt(i);
        }
        return this;
      }
      byte[] b = s.getBytes(StandardCharsets.UTF_8);
      return head(TEXT, b.length).raw(b);
    }

    int length() {
      return len;
    }

    byte[] array() {
      return buf;
    }

    byte[] toByteArray() {
      return Arrays.copyOf(buf, len);
    }
  }

  /** A strict reader over {@code in[start, end)} that rejects every non-canonical encoding. */
  static final class Reader {
    private final byte[] in;
    private final int end;
    private int pos;

    Reader(byte[] in, int start, int end) {
      this.in = in;
      this.pos = start;
      this.end = end;
    }

    int position() {
      return pos;
    }

    boolean atEnd() {
      return pos == end;
    }

    int peek() throws MalformedInputException {
      if (pos >= end) {
        throw truncated("item");
      }
      return in[pos] & 0xff;
    }

    private MalformedInputException truncated(String what) {
      return new MalformedInputException("truncated", "CBOR truncated in " + what + " at offset " + pos);
    }

    /** Reads a head of the given major type and returns its argument (at most 2^31-1). */
    long head(int major, String what) throws MalformedInputException {
      int start = pos;
      int ib = peek();
      pos++;
      if (ib >>> 5 != major) {
        throw new MalformedInputException("malformed",
            what + ": expected CBOR major type " + major + ", got initial byte 0x"
                + Integer.toHexString(ib) + " at offset " + start);
      }
      int ai = ib & 0x1f;
      long v;
      long min;
      if (ai < 24) {
        return ai;
      } else if (ai == 24) {
        v = be(1, what);
        min = 24;
      } else if (ai == 25) {
        v = be(2, what);
        min = 0x100;
      } else if (ai == 26) {
        v = be(4, what);
        min = 0x10000;
      } else if (ai == 27) {
        v = be(8, what);
        min = 0x1_0000_0000L;
      } else if (ai == 31) {
        throw new MalformedInputException("non_canonical",
            what + ": indefinite length at offset " + start + " is not allowed");
      } else {
        throw new MalformedInputException("malformed",
            what + ": reserved additional information " + ai + " at offset " + start);
      }
      if (Long.compareUnsigned(v, min) < 0) {
        throw new MalformedInputException("non_canonical",
            what + ": value " + v + " at offset " + start + " is not in shortest form");
      }
      if (v < 0) {
        throw new MalformedInputException("malformed", what + ": integer " + Long.toUnsignedString(v) + " too large");
      }
      if (major != UINT && v > Integer.MAX_VALUE) {
        throw new MalformedInputException("oversize", what + ": length " + v + " too large");
      }
      return v;
    }

    private long be(int n, String what) throws MalformedInputException {
      if (end - pos < n) {
        throw truncated(what);
      }
      long v = 0;
      for (int i = 0; i < n; i++) {
        v = (v << 8) | (in[pos++] & 0xff);
      }
      return v;
    }

    /** Reads a byte string no longer than {@code max}; returns its start offset (length via {@code out[0]}). */
    int bytesSpan(String what, int max, int[] lengthOut) throws MalformedInputException {
      long n = head(BYTES, what);
      if (n > max) {
        throw new MalformedInputException("oversize", what + ": " + n + " bytes, limit " + max);
      }
      if (end - pos < n) {
        throw truncated(what);
      }
      int start = pos;
      pos += (int) n;
      lengthOut[0] = (int) n;
      return start;
    }

    byte[] bytes(String what, int exact) throws MalformedInputException {
      int[] n = new int[1];
      int start = bytesSpan(what, Integer.MAX_VALUE, n);
      if (n[0] != exact) {
        throw new MalformedInputException("malformed", what + ": expected " + exact + " bytes, got " + n[0]);
      }
      return Arrays.copyOfRange(in, start, start + n[0]);
    }

    /** Reads a 32-byte byte string as 64 lowercase hex characters. */
    String hex32(String what) throws MalformedInputException {
      int[] n = new int[1];
      int start = bytesSpan(what, 64, n);
      if (n[0] != 32) {
        throw new MalformedInputException("malformed", what + ": expected 32 bytes, got " + n[0]);
      }
      byte[] chars = new byte[64];
      for (int i = 0; i < 32; i++) {
        int b = in[start + i] & 0xff;
        chars[2 * i] = HEX[b >>> 4];
        chars[2 * i + 1] = HEX[b & 0xf];
      }
      return new String(chars, StandardCharsets.US_ASCII);
    }

    String text(String what, int maxBytes) throws MalformedInputException {
      long n = head(TEXT, what);
      if (n > maxBytes) {
        throw new MalformedInputException("oversize", what + ": " + n + " bytes, limit " + maxBytes);
      }
      if (end - pos < n) {
        throw truncated(what);
      }
      int ascii = pos;
      while (ascii < pos + n && in[ascii] >= 0) {
        ascii++;
      }
      if (ascii == pos + n) {
        String s = new String(in, pos, (int) n, StandardCharsets.US_ASCII);
        pos += (int) n;
        return s;
      }
      try {
        String s = StandardCharsets.UTF_8.newDecoder()
            .onMalformedInput(CodingErrorAction.REPORT)
            .onUnmappableCharacter(CodingErrorAction.REPORT)
            .decode(ByteBuffer.wrap(in, pos, (int) n))
            .toString();
        pos += (int) n;
        return s;
      } catch (CharacterCodingException e) {
        throw new MalformedInputException("malformed", what + ": invalid UTF-8 at offset " + pos);
      }
    }

    /** Reads a text-string map key and requires it to be {@code expected}. */
    void key(String expected) throws MalformedInputException {
      int at = pos;
      String k = text("map key", 16);
      if (!k.equals(expected)) {
        throw new MalformedInputException("malformed",
            "expected map key \"" + expected + "\" at offset " + at + ", got \"" + k + "\"");
      }
    }
  }
}
