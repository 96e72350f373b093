package dev.keycast.kms.mock;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.Map;
import java.util.TreeMap;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * The mock KMS ciphertext blob, version 1.
 *
 * <pre>
 * offset  size  field
 * 0       1     version = 0x01
 * 1       1     L = length of the key id (1..64)
 * 2       L     key id, ASCII (the UUID of the KMS key)
 * 2+L     12    GCM nonce (random)
 * 14+L    n+16  AES-256-GCM ciphertext || tag, under the key's backing material
 * </pre>
 *
 * The GCM additional data is bytes {@code [0, 2+L)} followed by the canonical encryption context:
 * u16 count, then per entry sorted by key (UTF-8 byte order): u16 key length, key, u16 value length,
 * value (big-endian lengths, UTF-8). An empty or absent context is count 0. So a Decrypt with a
 * different context fails authentication. Blobs are at most 6144 bytes, as in KMS.
 */
final class CiphertextBlobs {
  static final int VERSION = 1;
  static final int MAX_BLOB = 6144;
  static final int NONCE = 12;
  static final int TAG = 16;

  private CiphertextBlobs() {}

  /** The key id named in a blob's header. */
  static String keyIdOf(byte[] blob) throws KmsException {
    if (blob == null
        || blob.length < 2 + 1 + NONCE + TAG
        || blob.length > MAX_BLOB
        || (blob[0] & 0xff) != VERSION) {
      throw KmsException.invalidCiphertext();
    }
    int l = blob[1] & 0xff;
    if (l == 0 || l > 64 || blob.length < 2 + l + NONCE + TAG) {
      throw KmsException.invalidCiphertext();
    }
    String id = new String(blob, 2, l, StandardCharsets.US_ASCII);
    if (!KeyStore.KEY_ID.matcher(id).matches()) {
      throw KmsException.invalidCiphertext();
    }
    return id;
  }

  static byte[] seal(
      String keyId,
      byte[] keyMaterial,
      byte[] plaintext,
      Map<String, String> ctx,
      SecureRandom rnd) {
    byte[] id = keyId.getBytes(StandardCharsets.US_ASCII);
    byte[] header = new byte[2 + id.length];
    header[0] = VERSION;
    header[1] = (byte) id.length;
    System.arraycopy(id, 0, header, 2, id.length);
    byte[] nonce = new byte[NONCE];
    rnd.nextBytes(nonce);
    try {
      Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
      c.init(
          Cipher.ENCRYPT_MODE,
          new SecretKeySpec(keyMaterial, "AES"),
          new GCMParameterSpec(128, nonce));
      c.updateAAD(header);
      c.updateAAD(canonicalContext(ctx));
      byte[] ct = c.doFinal(plaintext);
      ByteArrayOutputStream out = new ByteArrayOutputStream(header.length + NONCE + ct.length);
      out.writeBytes(header);
      out.writeBytes(nonce);
      out.writeBytes(ct);
      return out.toByteArray();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("AES-GCM unavailable", e);
    }
  }

  /** Decrypts; any failure is {@code InvalidCiphertextException}. */
  static byte[] open(byte[] blob, byte[] keyMaterial, Map<String, String> ctx) throws KmsException {
    String id = keyIdOf(blob);
    int h = 2 + id.length();
    try {
      Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
      c.init(
          Cipher.DECRYPT_MODE,
          new SecretKeySpec(keyMaterial, "AES"),
          new GCMParameterSpec(128, blob, h, NONCE));
      c.updateAAD(blob, 0, h);
      c.updateAAD(canonicalContext(ctx));
      return c.doFinal(blob, h + NONCE, blob.length - h - NONCE);
    } catch (GeneralSecurityException e) {
      throw KmsException.invalidCiphertext();
    }
  }

  static byte[] canonicalContext(Map<String, String> ctx) {
    TreeMap<byte[], byte[]> sorted = new TreeMap<>(Arrays::compareUnsigned);
    if (ctx != null) {
      ctx.forEach(
          (k, v) ->
              sorted.put(k.getBytes(StandardCharsets.UTF_8), v.getBytes(StandardCharsets.UTF_8)));
    }
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    u16(out, sorted.size());
    sorted.forEach(
        (k, v) -> {
          u16(out, k.length);
          out.writeBytes(k);
          u16(out, v.length);
          out.writeBytes(v);
        });
    return out.toByteArray();
  }

  private static void u16(ByteArrayOutputStream out, int v) {
    if (v > 0xffff) {
      throw new IllegalArgumentException("encryption context entry too long");
    }
    out.write(v >> 8);
    out.write(v);
  }
}
