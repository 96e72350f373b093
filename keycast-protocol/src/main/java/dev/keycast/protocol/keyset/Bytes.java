package dev.keycast.protocol.keyset;

import dev.keycast.protocol.DecryptionFailedException;
import dev.keycast.protocol.MalformedInputException;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
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
        throw new MalformedInputException("truncated",
            what + " truncated in " + field + " at offset " + pos + " (need " + n + " bytes, have " + (in.length - pos) + ")");
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
      long v = ((long) (in[pos] & 0xff) << 24) | ((in[pos + 1] & 0xff) << 16)
          | ((in[pos + 2] & 0xff) << 8) | (in[pos + 3] & 0xff);
      pos += 4;
      return v;
    }

    byte[] bytes(int n, String field) throws MalformedInputException {
      need(n, field);
      byte[] out = Arrays.copyOfRange(in, pos, pos + n);
      pos += n;
      return out;
    }

    /** Reads a length-checked ASCII string whose characters all lie in 0x21..0x7e. */
    String ascii(int n, String field) throws MalformedInputException {
      byte[] b = bytes(n, field);
      for (byte c : b) {
        if (c < 0x21 || c > 0x7e) {
          throw new MalformedInputException("malformed",
              what + " " + field + " is not printable ASCII: " + MalformedInputException.quote(b, 48));
        }
      }
      return new String(b, StandardCharsets.US_ASCII);
    }
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
    try {
      return MessageDigest.getInstance("SHA-256").digest(data);
    } catch (NoSuchAlgorithmException e) {
      throw new AssertionError("SHA-256 is required by the Java platform", e);
    }
  }

  static byte[] gcmEncrypt(byte[] key, byte[] nonce, byte[] aad, byte[] plaintext) {
    try {
      Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
      c.init(Cipher.ENCRYPT_MODE, new SecretKeySpec(key, "AES"), new GCMParameterSpec(TAG_LENGTH * 8, nonce));
      c.updateAAD(aad);
      return c.doFinal(plaintext);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("AES-256-GCM is unavailable", e);
    }
  }

  /** AES-256-GCM decryption; every failure (wrong key length included) is one DecryptionFailedException. */
  static byte[] gcmDecrypt(byte[] key, byte[] nonce, byte[] aad, byte[] ciphertext, int off, int len)
      throws DecryptionFailedException {
    if (key == null || key.length != 32 || len < TAG_LENGTH) {
      throw new DecryptionFailedException();
    }
    try {
      Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
      c.init(Cipher.DECRYPT_MODE, new SecretKeySpec(key, "AES"), new GCMParameterSpec(TAG_LENGTH * 8, nonce));
      c.updateAAD(aad);
      return c.doFinal(ciphertext, off, len);
    } catch (GeneralSecurityException | RuntimeException e) {
      throw new DecryptionFailedException();
    }
  }
}
