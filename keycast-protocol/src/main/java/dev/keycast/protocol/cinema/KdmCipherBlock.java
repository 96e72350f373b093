package dev.keycast.protocol.cinema;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.UUID;

/**
 * The 138-byte plaintext of one SMPTE KDM {@code CipherValue} (ST 430-1 7.2.3), before RSA-OAEP:
 *
 * <pre>
 * offset len field
 *      0  16 StructureID f1dc124460169a0e85bc300642f866ab
 *     16  20 signer leaf thumbprint, SHA-1 of its DER TBSCertificate
 *     36  16 CPL id (UUID bytes)
 *     52   4 key type (ASCII)
 *     56  16 key id (UUID bytes)
 *     72  25 ContentKeysNotValidBefore (ASCII, YYYY-MM-DDThh:mm:ss+hh:mm)
 *     97  25 ContentKeysNotValidAfter
 *    122  16 AES-128 content key
 * </pre>
 */
public record KdmCipherBlock(
    byte[] signerThumbprint,
    UUID cplId,
    KeyType keyType,
    UUID keyId,
    String notValidBefore,
    String notValidAfter,
    byte[] contentKey) {
  public static final int LENGTH = 138;
  private static final byte[] STRUCTURE_ID =
      HexFormat.of().parseHex("f1dc124460169a0e85bc300642f866ab");

  public KdmCipherBlock {
    signerThumbprint = signerThumbprint.clone();
    contentKey = contentKey.clone();
  }

  @Override
  public byte[] signerThumbprint() {
    return signerThumbprint.clone();
  }

  @Override
  public byte[] contentKey() {
    return contentKey.clone();
  }

  /** Overwrites this block's copy of the content key with zeros (after use). */
  public void wipe() {
    java.util.Arrays.fill(contentKey, (byte) 0);
  }

  /** The 138 bytes; the caller zeroizes them after encryption. */
  public byte[] encode() {
    if (signerThumbprint.length != 20
        || contentKey.length != 16
        || notValidBefore.length() != KdmTimestamps.LENGTH
        || notValidAfter.length() != KdmTimestamps.LENGTH) {
      throw new IllegalStateException("cipher block fields have the wrong lengths");
    }
    ByteBuffer b = ByteBuffer.allocate(LENGTH);
    b.put(STRUCTURE_ID).put(signerThumbprint);
    putUuid(b, cplId);
    b.put(keyType.name().getBytes(StandardCharsets.US_ASCII));
    putUuid(b, keyId);
    b.put(notValidBefore.getBytes(StandardCharsets.US_ASCII));
    b.put(notValidAfter.getBytes(StandardCharsets.US_ASCII));
    b.put(contentKey);
    return b.array();
  }

  /** Parses exactly 138 bytes that start with the StructureID. */
  public static KdmCipherBlock decode(byte[] block) throws CinemaException {
    if (block.length != LENGTH
        || !MessageDigest.isEqual(Arrays.copyOfRange(block, 0, 16), STRUCTURE_ID)) {
      throw new CinemaException(
          "kdm_cipher_block",
          "a KDM cipher block is 138 bytes starting with the ST 430-1 StructureID");
    }
    ByteBuffer b = ByteBuffer.wrap(block);
    b.position(16);
    byte[] thumb = new byte[20];
    b.get(thumb);
    UUID cpl = new UUID(b.getLong(), b.getLong());
    byte[] type = new byte[4];
    b.get(type);
    UUID key = new UUID(b.getLong(), b.getLong());
    byte[] nb = new byte[KdmTimestamps.LENGTH];
    byte[] na = new byte[KdmTimestamps.LENGTH];
    b.get(nb).get(na);
    byte[] aes = new byte[16];
    b.get(aes);
    KdmCipherBlock out =
        new KdmCipherBlock(
            thumb,
            cpl,
            KeyType.parse(new String(type, StandardCharsets.US_ASCII)),
            key,
            new String(nb, StandardCharsets.US_ASCII),
            new String(na, StandardCharsets.US_ASCII),
            aes);
    Arrays.fill(aes, (byte) 0);
    return out;
  }

  private static void putUuid(ByteBuffer b, UUID u) {
    b.putLong(u.getMostSignificantBits()).putLong(u.getLeastSignificantBits());
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof KdmCipherBlock k
        && Arrays.equals(signerThumbprint, k.signerThumbprint)
        && cplId.equals(k.cplId)
        && keyType == k.keyType
        && keyId.equals(k.keyId)
        && notValidBefore.equals(k.notValidBefore)
        && notValidAfter.equals(k.notValidAfter)
        && MessageDigest.isEqual(contentKey, k.contentKey);
  }

  @Override
  public int hashCode() {
    return java.util.Objects.hash(cplId, keyType, keyId, notValidBefore, notValidAfter);
  }

  @Override
  public String toString() {
    return "KdmCipherBlock[cplId="
        + cplId
        + ", keyType="
        + keyType
        + ", keyId="
        + keyId
        + ", notValidBefore="
        + notValidBefore
        + ", notValidAfter="
        + notValidAfter
        + ", contentKey=(16 bytes)]";
  }
}
