package dev.keycast.protocol.attestation;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/**
 * A minimal CBOR (RFC 8949) writer producing definite-length, shortest-form heads. Used to build
 * the COSE Sig_structure; tests use it to mint documents.
 */
final class CborWriter {
  private final ByteArrayOutputStream out = new ByteArrayOutputStream();

  CborWriter head(int major, long value) {
    int mt = major << 5;
    if (value >= 0 && value < 24) {
      out.write(mt | (int) value);
    } else if (value >= 0 && value <= 0xff) {
      out.write(mt | 24);
      out.write((int) value);
    } else if (value >= 0 && value <= 0xffff) {
      out.write(mt | 25);
      writeBigEndian(value, 2);
    } else if (value >= 0 && value <= 0xffffffffL) {
      out.write(mt | 26);
      writeBigEndian(value, 4);
    } else {
      out.write(mt | 27);
      writeBigEndian(value, 8);
    }
    return this;
  }

  /** Writes a 64-bit unsigned integer head ({@code 0x1b} + 8 bytes) whatever its value. */
  CborWriter uint64(long value) {
    out.write((CborReader.MAJOR_UINT << 5) | 27);
    writeBigEndian(value, 8);
    return this;
  }

  CborWriter integer(long value) {
    return value >= 0 ? head(CborReader.MAJOR_UINT, value) : head(CborReader.MAJOR_NINT, -1 - value);
  }

  CborWriter bytes(byte[] b) {
    head(CborReader.MAJOR_BYTES, b.length);
    out.writeBytes(b);
    return this;
  }

  CborWriter text(String s) {
    byte[] b = s.getBytes(StandardCharsets.UTF_8);
    head(CborReader.MAJOR_TEXT, b.length);
    out.writeBytes(b);
    return this;
  }

  CborWriter arrayHeader(long n) {
    return head(CborReader.MAJOR_ARRAY, n);
  }

  CborWriter mapHeader(long n) {
    return head(CborReader.MAJOR_MAP, n);
  }

  CborWriter nul() {
    out.write(0xf6);
    return this;
  }

  /** Appends pre-encoded CBOR. */
  CborWriter raw(byte[] encoded) {
    out.writeBytes(encoded);
    return this;
  }

  CborWriter rawByte(int b) {
    out.write(b);
    return this;
  }

  byte[] toByteArray() {
    return out.toByteArray();
  }

  private void writeBigEndian(long v, int n) {
    for (int i = n - 1; i >= 0; i--) {
      out.write((int) (v >>> (8 * i)) & 0xff);
    }
  }
}
