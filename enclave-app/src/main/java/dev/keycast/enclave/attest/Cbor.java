package dev.keycast.enclave.attest;

import dev.keycast.protocol.MalformedInputException;
import java.io.ByteArrayOutputStream;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A tiny, strict CBOR (RFC 8949) writer and reader for the NSM protocol and the mock attestation
 * document.
 *
 * <p>The reader accepts only what serde_cbor and the NSM produce: unsigned and negative integers,
 * definite-length byte and text strings, definite-length arrays and maps, {@code true},
 * {@code false} and {@code null}. It rejects tags, floats, {@code undefined}, indefinite lengths,
 * duplicate map keys, invalid UTF-8 and trailing bytes. Every length is checked against the bytes
 * that remain (and against a per-container cap) before anything is allocated.
 */
final class Cbor {
  /** The decoded form of CBOR {@code null}, since maps cannot hold Java {@code null} values. */
  enum Null {
    INSTANCE
  }

  private static final int MAX_DEPTH = 8;
  private static final int MAX_CONTAINER_ITEMS = 256;

  private Cbor() {}

  /** Builds CBOR bytes. Not thread-safe. */
  static final class Writer {
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();

    private Writer head(int major, long value) {
      int mt = major << 5;
      if (value < 0) {
        throw new IllegalArgumentException("negative length/value " + value);
      } else if (value < 24) {
        out.write(mt | (int) value);
      } else if (value <= 0xFF) {
        out.write(mt | 24);
        out.write((int) value);
      } else if (value <= 0xFFFF) {
        out.write(mt | 25);
        writeBigEndian(value, 2);
      } else if (value <= 0xFFFF_FFFFL) {
        out.write(mt | 26);
        writeBigEndian(value, 4);
      } else {
        out.write(mt | 27);
        writeBigEndian(value, 8);
      }
      return this;
    }

    private void writeBigEndian(long value, int n) {
      for (int i = n - 1; i >= 0; i--) {
        out.write((int) (value >>> (8 * i)) & 0xFF);
      }
    }

    Writer uint(long value) {
      return head(0, value);
    }

    /** An unsigned integer always in the 8-byte form ({@code 1b ...}), as NSM timestamps are. */
    Writer uint64(long value) {
      if (value < 0) {
        throw new IllegalArgumentException("negative " + value);
      }
      out.write(0x1b);
      writeBigEndian(value, 8);
      return this;
    }

    Writer negint(long value) {
      if (value >= 0) {
        throw new IllegalArgumentException("not negative " + value);
      }
      return head(1, -1 - value);
    }

    Writer bytes(byte[] value) {
      head(2, value.length);
      out.writeBytes(value);
      return this;
    }

    /** A byte string, or {@code null} (0xF6) when {@code value} is null. */
    Writer bytesOrNull(byte[] value) {
      return value == null ? nullValue() : bytes(value);
    }

    Writer text(String value) {
      byte[] utf8 = value.getBytes(StandardCharsets.UTF_8);
      head(3, utf8.length);
      out.writeBytes(utf8);
      return this;
    }

    Writer array(int size) {
      return head(4, size);
    }

    Writer map(int size) {
      return head(5, size);
    }

    Writer bool(boolean value) {
      out.write(value ? 0xF5 : 0xF4);
      return this;
    }

    Writer nullValue() {
      out.write(0xF6);
      return this;
    }

    /** Appends already-encoded CBOR. */
    Writer raw(byte[] encoded) {
      out.writeBytes(encoded);
      return this;
    }

    byte[] toByteArray() {
      return out.toByteArray();
    }
  }

  /**
   * Decodes exactly one CBOR item that spans all of {@code input}.
   *
   * @return {@link Long} for integers, {@code byte[]}, {@link String}, {@link List}, {@link Map}
   *     (insertion-ordered, keys are {@link Long} or {@link String}), {@link Boolean}, or
   *     {@link Null#INSTANCE}
   */
  static Object decode(byte[] input) throws MalformedInputException {
    Reader reader = new Reader(input);
    Object value = reader.item(0);
    if (reader.pos != input.length) {
      throw new MalformedInputException(
          "malformed", "trailing bytes after CBOR item at offset " + reader.pos + " of " + input.length);
    }
    return value;
  }

  private static final class Reader {
    private final byte[] in;
    private int pos;

    Reader(byte[] in) {
      this.in = in;
    }

    private int u8() throws MalformedInputException {
      if (pos >= in.length) {
        throw new MalformedInputException("truncated", "CBOR ends at offset " + pos);
      }
      return in[pos++] & 0xFF;
    }

    private long argument(int info) throws MalformedInputException {
      if (info < 24) {
        return info;
      }
      int n =
          switch (info) {
            case 24 -> 1;
            case 25 -> 2;
            case 26 -> 4;
            case 27 -> 8;
            default ->
                throw new MalformedInputException(
                    "malformed",
                    "unsupported CBOR additional info " + info + " (indefinite length or reserved) at offset " + (pos - 1));
          };
      long v = 0;
      for (int i = 0; i < n; i++) {
        v = (v << 8) | u8();
      }
      return v;
    }

    /**
     * Checks a declared length before anything is allocated: above {@code cap} is
     * {@code oversize}; above {@code available} (what the remaining bytes could hold) is
     * {@code truncated}.
     */
    private int length(long declared, long cap, long available, String what)
        throws MalformedInputException {
      if (Long.compareUnsigned(declared, cap) > 0) {
        throw new MalformedInputException(
            "oversize",
            what + " of declared length " + Long.toUnsignedString(declared) + " exceeds the limit of " + cap
                + " at offset " + pos);
      }
      if (declared > available) {
        throw new MalformedInputException(
            "truncated",
            what + " of declared length " + declared + " does not fit in the " + (in.length - pos)
                + " bytes left at offset " + pos);
      }
      return (int) declared;
    }

    Object item(int depth) throws MalformedInputException {
      if (depth > MAX_DEPTH) {
        throw new MalformedInputException("oversize", "CBOR nested deeper than " + MAX_DEPTH);
      }
      int start = pos;
      int initial = u8();
      int major = initial >>> 5;
      int info = initial & 0x1F;
      switch (major) {
        case 0 -> {
          long v = argument(info);
          if (v < 0) {
            throw new MalformedInputException("oversize", "CBOR integer above 2^63-1 at offset " + start);
          }
          return v;
        }
        case 1 -> {
          long v = argument(info);
          if (v < 0) {
            throw new MalformedInputException("oversize", "CBOR integer below -2^63 at offset " + start);
          }
          return -1 - v;
        }
        case 2, 3 -> {
          int n = length(argument(info), Integer.MAX_VALUE, in.length - pos, major == 2 ? "byte string" : "text string");
          byte[] b = new byte[n];
          System.arraycopy(in, pos, b, 0, n);
          pos += n;
          if (major == 2) {
            return b;
          }
          try {
            return StandardCharsets.UTF_8
                .newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT)
                .decode(ByteBuffer.wrap(b))
                .toString();
          } catch (CharacterCodingException e) {
            throw new MalformedInputException("malformed", "invalid UTF-8 in CBOR text at offset " + start, e);
          }
        }
        case 4 -> {
          // each element takes at least one byte, so the remaining bytes also bound the count
          int n = length(argument(info), MAX_CONTAINER_ITEMS, in.length - pos, "array");
          List<Object> list = new ArrayList<>(n);
          for (int i = 0; i < n; i++) {
            list.add(item(depth + 1));
          }
          return Collections.unmodifiableList(list);
        }
        case 5 -> {
          int n = length(argument(info), MAX_CONTAINER_ITEMS, (in.length - pos) / 2, "map");
          Map<Object, Object> map = new LinkedHashMap<>();
          for (int i = 0; i < n; i++) {
            int keyAt = pos;
            Object key = item(depth + 1);
            if (!(key instanceof Long) && !(key instanceof String)) {
              throw new MalformedInputException(
                  "malformed", "CBOR map key at offset " + keyAt + " is neither integer nor text");
            }
            Object value = item(depth + 1);
            if (map.putIfAbsent(key, value) != null) {
              throw new MalformedInputException("malformed", "duplicate CBOR map key " + key);
            }
          }
          return Collections.unmodifiableMap(map);
        }
        case 7 -> {
          return switch (info) {
            case 20 -> Boolean.FALSE;
            case 21 -> Boolean.TRUE;
            case 22 -> Null.INSTANCE;
            default ->
                throw new MalformedInputException(
                    "malformed", "unsupported CBOR simple value/float 0x" + Integer.toHexString(initial) + " at offset " + start);
          };
        }
        default ->
            throw new MalformedInputException(
                "malformed", "unsupported CBOR tag at offset " + start);
      }
    }
  }
}
