package dev.keycast.protocol.cbor;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Map;

/**
 * An append-only CBOR (RFC 8949) writer that emits definite-length, shortest-form heads into a
 * growable buffer. Not thread-safe.
 *
 * <p>The only non-shortest form it can write is {@link #uint64Fixed(long)}, which exists to
 * reproduce NSM documents bit for bit. Maps are written in the caller's order; {@link
 * #deterministicMap(List)} and {@link #DETERMINISTIC_KEY_ORDER} give the RFC 8949 section 4.2.1
 * order (bytewise lexicographic order of the encoded keys).
 */
public final class CborWriter {
  /**
   * RFC 8949 section 4.2.1 key order: bytewise lexicographic comparison of the deterministic
   * encodings of two keys (which also puts shorter heads, hence shorter strings, first).
   */
  public static final Comparator<byte[]> DETERMINISTIC_KEY_ORDER = Arrays::compareUnsigned;

  private byte[] buf;
  private int len;

  public CborWriter() {
    this(64);
  }

  /** A writer whose buffer starts at {@code initialCapacity} bytes (at least 16). */
  public CborWriter(int initialCapacity) {
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

  /** Writes the shortest head of {@code major} with {@code value} read as an unsigned 64-bit number. */
  public CborWriter head(int major, long value) {
    if (major < 0 || major > 7) {
      throw new IllegalArgumentException("major type " + major);
    }
    int m = major << 5;
    if (Long.compareUnsigned(value, 24) < 0) {
      return rawByte(m | (int) value);
    } else if (Long.compareUnsigned(value, 0x100) < 0) {
      return rawByte(m | 24).rawByte((int) value);
    } else if (Long.compareUnsigned(value, 0x10000) < 0) {
      rawByte(m | 25);
      return bigEndian(value, 2);
    } else if (Long.compareUnsigned(value, 0x1_0000_0000L) < 0) {
      rawByte(m | 26);
      return bigEndian(value, 4);
    }
    rawByte(m | 27);
    return bigEndian(value, 8);
  }

  private CborWriter bigEndian(long v, int n) {
    ensure(n);
    for (int i = n - 1; i >= 0; i--) {
      buf[len++] = (byte) (v >>> (8 * i));
    }
    return this;
  }

  /** An unsigned integer; {@code value} must not be negative. */
  public CborWriter uint(long value) {
    if (value < 0) {
      throw new IllegalArgumentException("negative " + value);
    }
    return head(CborReader.MAJOR_UINT, value);
  }

  /**
   * An unsigned integer always in the 8-byte form ({@code 1b ...}), as NSM timestamps are. This
   * is not the shortest form for values below {@code 2^32}: use it only to reproduce such input.
   */
  public CborWriter uint64Fixed(long value) {
    if (value < 0) {
      throw new IllegalArgumentException("negative " + value);
    }
    rawByte((CborReader.MAJOR_UINT << 5) | 27);
    return bigEndian(value, 8);
  }

  /** A negative integer; {@code value} must be below zero. */
  public CborWriter negint(long value) {
    if (value >= 0) {
      throw new IllegalArgumentException("not negative " + value);
    }
    return head(CborReader.MAJOR_NINT, -1 - value);
  }

  /** An integer of either sign. */
  public CborWriter integer(long value) {
    return value >= 0
        ? head(CborReader.MAJOR_UINT, value)
        : head(CborReader.MAJOR_NINT, -1 - value);
  }

  public CborWriter bytes(byte[] b) {
    return bytes(b, 0, b.length);
  }

  /** A byte string of {@code b[off, off + n)}. */
  public CborWriter bytes(byte[] b, int off, int n) {
    return head(CborReader.MAJOR_BYTES, n).raw(b, off, n);
  }

  /** A byte string, or {@code null} (0xf6) when {@code value} is null. */
  public CborWriter bytesOrNull(byte[] value) {
    return value == null ? nullValue() : bytes(value);
  }

  /** A byte string holding the bytes that an even-length lowercase or uppercase hex string denotes. */
  public CborWriter hexBytes(String hex) {
    int n = hex.length() / 2;
    if (hex.length() % 2 != 0) {
      throw new IllegalArgumentException("odd-length hex");
    }
    head(CborReader.MAJOR_BYTES, n);
    ensure(n);
    for (int i = 0; i < n; i++) {
      int hi = Character.digit(hex.charAt(2 * i), 16);
      int lo = Character.digit(hex.charAt(2 * i + 1), 16);
      if (hi < 0 || lo < 0) {
        throw new IllegalArgumentException("not hex at index " + 2 * i);
      }
      buf[len++] = (byte) ((hi << 4) | lo);
    }
    return this;
  }

  /** A UTF-8 text string; ASCII strings skip the encoder. */
  public CborWriter text(String s) {
    int n = s.length();
    boolean ascii = true;
    for (int i = 0; i < n && ascii; i++) {
      ascii = s.charAt(i) < 0x80;
    }
    if (ascii) {
      head(CborReader.MAJOR_TEXT, n);
      ensure(n);
      for (int i = 0; i < n; i++) {
        buf[len++] = (byte) s.charAt(i);
      }
      return this;
    }
    byte[] b = s.getBytes(StandardCharsets.UTF_8);
    return head(CborReader.MAJOR_TEXT, b.length).raw(b);
  }

  /** An array head; the caller writes {@code size} items next. */
  public CborWriter array(long size) {
    if (size < 0) {
      throw new IllegalArgumentException("negative size " + size);
    }
    return head(CborReader.MAJOR_ARRAY, size);
  }

  /** A map head; the caller writes {@code size} key/value pairs next, in the order it chooses. */
  public CborWriter map(long size) {
    if (size < 0) {
      throw new IllegalArgumentException("negative size " + size);
    }
    return head(CborReader.MAJOR_MAP, size);
  }

  /** A tag head; the caller writes the tagged item next. */
  public CborWriter tag(long number) {
    return head(CborReader.MAJOR_TAG, number);
  }

  public CborWriter bool(boolean value) {
    return rawByte(value ? 0xf5 : 0xf4);
  }

  public CborWriter nullValue() {
    return rawByte(0xf6);
  }

  /**
   * A map of already-encoded keys and values, written in RFC 8949 section 4.2.1 deterministic key
   * order whatever the order of {@code entries}.
   *
   * @throws IllegalArgumentException if two keys have the same encoding
   */
  public CborWriter deterministicMap(List<Map.Entry<byte[], byte[]>> entries) {
    List<Map.Entry<byte[], byte[]>> sorted = new ArrayList<>(entries);
    sorted.sort(Map.Entry.comparingByKey(DETERMINISTIC_KEY_ORDER));
    for (int i = 1; i < sorted.size(); i++) {
      if (Arrays.equals(sorted.get(i - 1).getKey(), sorted.get(i).getKey())) {
        throw new IllegalArgumentException("duplicate map key");
      }
    }
    map(sorted.size());
    for (Map.Entry<byte[], byte[]> e : sorted) {
      raw(e.getKey()).raw(e.getValue());
    }
    return this;
  }

  /** Appends already-encoded CBOR. */
  public CborWriter raw(byte[] encoded) {
    return raw(encoded, 0, encoded.length);
  }

  /** Appends {@code b[off, off + n)}, already-encoded CBOR. */
  public CborWriter raw(byte[] b, int off, int n) {
    ensure(n);
    System.arraycopy(b, off, buf, len, n);
    len += n;
    return this;
  }

  /** Appends one byte as is. */
  public CborWriter rawByte(int b) {
    ensure(1);
    buf[len++] = (byte) b;
    return this;
  }

  /** How many bytes have been written. */
  public int length() {
    return len;
  }

  /**
   * Appends everything written to {@code other} so far (e.g. entries encoded ahead of their
   * container's head).
   */
  public CborWriter raw(CborWriter other) {
    return raw(other.buf, 0, other.len);
  }

  /**
   * The backing array without copying, for zero-copy hand-off: only {@code [0, length())} is
   * output, and the writer replaces the array as it grows. Callers must not modify it.
   */
  public byte[] array() {
    return buf;
  }

  /** A copy of the bytes written so far. */
  public byte[] toByteArray() {
    return Arrays.copyOf(buf, len);
  }
}
