package dev.keycast.protocol.keyset;

import dev.keycast.protocol.DecryptionFailedException;
import dev.keycast.protocol.MalformedInputException;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.util.Arrays;
import java.util.HexFormat;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/** Package-private helpers shared by the sealed formats: a bounded reader, AES-256-GCM, SHA-256. */
final class Bytes {
  static final int NONCE_LENGTH = 12;
  static final int TAG_LENGTH = 16;

  private Bytes() {}

  /** A cursor over an input that never reads past its end and names what was truncated. */
  static final class Reader {
    private final byte[] in;
    private final String what;
    private int pos;

    Reader(byte[] in, String what) {
      this.in = in;
      this.what = what;
    }

    int position() {
      return pos;
    }

    int remaining() {
      return in.length - pos;
    }

    private void need(int n, String field) throws MalformedInputException {
      if (n > in.length - pos) {
        throw new MalformedInputException(
            MalformedInputException.Kind.TRUNCATED,
            what
                + " truncated in "
                + field
                + " at offset "
                + pos
                + " (need "
                + n
                + " bytes, have "
                + (in.length - pos)
                + ")");
      }
    }

    int u8(String field) throws MalformedInputException {
      need(1, field);
      return in[pos++] & 0xff;
    }

    int u16(String field) throws MalformedInputException {
      need(2, field);
      int v = ((in[pos] & 0xff) << 8) | (in[pos + 1] & 0xff);
      pos += 2;
      return v;
    }

    long u32(String field) throws MalformedInputException {
      need(4, field);
      long v =
          ((long) (in[pos] & 0xff) << 24)
              | ((in[pos + 1] & 0xff) << 16)
              | ((in[pos + 2] & 0xff) << 8)
              | (in[pos + 3] & 0xff);
      pos += 4;
      return v;
    }

    byte[] bytes(int n, String field) throws MalformedInputException {
      need(n, field);
      byte[] out = Arrays.copyOfRange(in, pos, pos + n);
      pos += n;
      return out;
    }

    /** Reads a u8 length that must be 35 and a well-formed key-set id of that length. */
    String keySetId() throws MalformedInputException {
      int idLength = u8("key-set id length");
      if (idLength != 35) {
        throw new MalformedInputException(
            MalformedInputException.Kind.MALFORMED,
            "key-set id length must be 35, got " + idLength);
      }
      String id = ascii(idLength, "key-set id");
      if (!KeySet.isWellFormedId(id)) {
        throw new MalformedInputException(
            MalformedInputException.Kind.MALFORMED, "bad key-set id \"" + id + "\"");
      }
      return id;
    }

    /**
     * Requires exactly {@code length} bytes to remain (the ciphertext): fewer is {@code truncated}
     * ("... is N bytes, {@code claim} M"), more is {@code malformed}.
     */
    void requireRemaining(long length, String claim) throws MalformedInputException {
      if (remaining() < length) {
        throw new MalformedInputException(
            MalformedInputException.Kind.TRUNCATED,
            what + " ciphertext is " + remaining() + " bytes, " + claim + " " + length);
      }
      if (remaining() > length) {
        throw new MalformedInputException(
            MalformedInputException.Kind.MALFORMED,
            what + " has " + (remaining() - length) + " trailing bytes");
      }
    }

    /** Reads a length-checked ASCII string whose characters all lie in 0x21..0x7e. */
    String ascii(int n, String field) throws MalformedInputException {
      byte[] b = bytes(n, field);
      for (byte c : b) {
        if (c < 0x21 || c > 0x7e) {
          throw new MalformedInputException(
              MalformedInputException.Kind.MALFORMED,
              what
                  + " "
                  + field
                  + " is not printable ASCII: "
                  + MalformedInputException.quote(b, 48));
        }
      }
      return new String(b, StandardCharsets.US_ASCII);
    }
  }

  /**
   * Checks the common start of a sealed format: not null, at most {@code maxEncoded} bytes, then
   * {@code magic} and {@code u8 version}. Returns a reader positioned after the version byte.
   */
  static Reader sealedHeader(byte[] sealed, String what, byte[] magic, int version, int maxEncoded)
      throws MalformedInputException {
    return sealedHeader(sealed, what, magic, version, version, maxEncoded);
  }

  /** {@link #sealedHeader(byte[], String, byte[], int, int)} accepting versions {@code min..max}. */
  static Reader sealedHeader(
      byte[] sealed, String what, byte[] magic, int minVersion, int maxVersion, int maxEncoded)
      throws MalformedInputException {
    if (sealed == null) {
      throw new MalformedInputException(MalformedInputException.Kind.TRUNCATED, what + " is null");
    }
    if (sealed.length > maxEncoded) {
      throw new MalformedInputException(
          MalformedInputException.Kind.OVERSIZE,
          what + " is " + sealed.length + " bytes, limit " + maxEncoded);
    }
    Reader in = new Reader(sealed, what);
    byte[] m = in.bytes(magic.length, "magic");
    if (!Arrays.equals(m, magic)) {
      throw new MalformedInputException(
          MalformedInputException.Kind.MALFORMED,
          "not a "
              + what
              + " (magic "
              + MalformedInputException.quote(m, 4)
              + ", expected "
              + HexFormat.of().formatHex(magic)
              + ")");
    }
    int v = in.u8("version");
    if (v < minVersion || v > maxVersion) {
      throw new MalformedInputException(
          MalformedInputException.Kind.UNSUPPORTED_VERSION,
          what
              + " version "
              + v
              + " is not supported (expected "
              + (minVersion == maxVersion
                  ? Integer.toString(maxVersion)
                  : minVersion + ".." + maxVersion)
              + ")");
    }
    return in;
  }

  /** Starts a sealed header: {@code magic || u8 version || u8 len || key-set id}. */
  static ByteArrayOutputStream headerStart(
      byte[] magic, int version, String keySetId, int capacity) {
    byte[] id = keySetId.getBytes(StandardCharsets.US_ASCII);
    ByteArrayOutputStream h = new ByteArrayOutputStream(capacity);
    h.writeBytes(magic);
    u8(h, version);
    u8(h, id.length);
    h.writeBytes(id);
    return h;
  }

  /** {@code header || AES-256-GCM(key, nonce, aad = header, plaintext)}. */
  static byte[] sealAfterHeader(byte[] key, byte[] nonce, byte[] header, byte[] plaintext) {
    byte[] ct = gcmEncrypt(key, nonce, header, plaintext);
    byte[] out = Arrays.copyOf(header, header.length + ct.length);
    System.arraycopy(ct, 0, out, header.length, ct.length);
    return out;
  }

  /** Opens what {@link #sealAfterHeader} wrote, given the header's length. */
  static byte[] openAfterHeader(byte[] key, byte[] nonce, byte[] sealed, int headerLength)
      throws DecryptionFailedException {
    byte[] header = Arrays.copyOf(sealed, headerLength);
    return gcmDecrypt(key, nonce, header, sealed, headerLength, sealed.length - headerLength);
  }

  static void u8(ByteArrayOutputStream out, int v) {
    out.write(v);
  }

  static void u16(ByteArrayOutputStream out, int v) {
    out.write(v >>> 8);
    out.write(v);
  }

  static void u32(ByteArrayOutputStream out, long v) {
    out.write((int) (v >>> 24));
    out.write((int) (v >>> 16));
    out.write((int) (v >>> 8));
    out.write((int) v);
  }

  static byte[] sha256(byte[] data) {
    return dev.keycast.protocol.crypto.Sha256.digest(data);
  }

  /**
   * One AES-GCM Cipher per thread, initialised afresh for every call ({@code Cipher.getInstance}
   * costs more than sealing a small secret).
   */
  private static final ThreadLocal<Cipher> GCM =
      ThreadLocal.withInitial(
          () -> {
            try {
              return Cipher.getInstance("AES/GCM/NoPadding");
            } catch (GeneralSecurityException e) {
              throw new IllegalStateException("AES-256-GCM is unavailable", e);
            }
          });

  /** The thread's GCM Cipher initialised for {@code mode}; a fresh one if SunJCE refuses a nonce reuse. */
  private static Cipher gcm(int mode, byte[] key, byte[] nonce) throws GeneralSecurityException {
    SecretKeySpec k = new SecretKeySpec(key, "AES");
    GCMParameterSpec p = new GCMParameterSpec(TAG_LENGTH * 8, nonce);
    Cipher c = GCM.get();
    try {
      c.init(mode, k, p);
    } catch (java.security.InvalidAlgorithmParameterException e) {
      // the same key and nonce as this Cipher's last encryption (only a test repeats a nonce)
      c = Cipher.getInstance("AES/GCM/NoPadding");
      c.init(mode, k, p);
    }
    return c;
  }

  static byte[] gcmEncrypt(byte[] key, byte[] nonce, byte[] aad, byte[] plaintext) {
    try {
      Cipher c = gcm(Cipher.ENCRYPT_MODE, key, nonce);
      c.updateAAD(aad);
      return c.doFinal(plaintext);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("AES-256-GCM is unavailable", e);
    }
  }

  /** AES-256-GCM decryption; every failure (wrong key length included) is one DecryptionFailedException. */
  static byte[] gcmDecrypt(
      byte[] key, byte[] nonce, byte[] aad, byte[] ciphertext, int off, int len)
      throws DecryptionFailedException {
    if (key == null || key.length != 32 || len < TAG_LENGTH) {
      throw new DecryptionFailedException();
    }
    try {
      Cipher c = gcm(Cipher.DECRYPT_MODE, key, nonce);
      c.updateAAD(aad);
      return c.doFinal(ciphertext, off, len);
    } catch (GeneralSecurityException | RuntimeException e) {
      throw new DecryptionFailedException();
    }
  }
}
