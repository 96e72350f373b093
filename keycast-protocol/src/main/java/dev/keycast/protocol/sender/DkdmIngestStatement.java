package dev.keycast.protocol.sender;

import dev.keycast.protocol.keyset.KeySet;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.List;
import java.util.Objects;

/**
 * What a sender signs to ingest a DKDM (wire-format.md section 10.2): the key set, the DKDM's exact
 * bytes and the studio roots the enclave is to trust for it. Only a sender of the sealed sender
 * set decides which roots are trusted, so a host cannot add a root of its own. The signature input
 * is
 *
 * <pre>
 *   "keycast/v1/dkdm-ingest" (22 ASCII bytes) || 0x00
 *   || u8 len(key_set_id) || key_set_id (ASCII)
 *   || SHA-256(DKDM bytes) (32)
 *   || SHA-256(roots) (32)     roots = for each root in order: u32 len(DER) || DER
 *   || u64 timestamp (Unix seconds, big-endian)
 *   || sender public key (32, raw Ed25519)
 * </pre>
 *
 * signed with Ed25519 (RFC 8032, pure). The label separates it from every other Keycast signature.
 */
public record DkdmIngestStatement(
    String keySetId, byte[] dkdmSha256, byte[] rootsSha256, Instant timestamp, SenderKey sender)
    implements SenderStatement {
  static final byte[] LABEL = "keycast/v1/dkdm-ingest".getBytes(StandardCharsets.US_ASCII);

  public DkdmIngestStatement {
    if (!KeySet.isWellFormedId(keySetId)) {
      throw new IllegalArgumentException("key-set id must be ks- followed by 32 lowercase hex");
    }
    if (dkdmSha256 == null
        || dkdmSha256.length != 32
        || rootsSha256 == null
        || rootsSha256.length != 32) {
      throw new IllegalArgumentException("digests must be 32 bytes");
    }
    Objects.requireNonNull(timestamp, "timestamp");
    if (timestamp.getEpochSecond() < 0 || timestamp.getNano() != 0) {
      throw new IllegalArgumentException("timestamp must be whole seconds after 1970");
    }
    Objects.requireNonNull(sender, "sender");
    dkdmSha256 = dkdmSha256.clone();
    rootsSha256 = rootsSha256.clone();
  }

  /** The statement for {@code dkdm} and the roots {@code rootsDer} (DER, in the request's order). */
  public static DkdmIngestStatement of(
      String keySetId, byte[] dkdm, List<byte[]> rootsDer, Instant timestamp, SenderKey sender) {
    return new DkdmIngestStatement(
        keySetId, sha256(dkdm), rootsDigest(rootsDer), timestamp, sender);
  }

  /** SHA-256 over {@code u32 len || DER} of each root in order. */
  public static byte[] rootsDigest(List<byte[]> rootsDer) {
    MessageDigest md = newSha256();
    for (byte[] r : rootsDer) {
      md.update(ByteBuffer.allocate(4).putInt(r.length).array());
      md.update(r);
    }
    return md.digest();
  }

  /** The exact bytes signed (see the class comment). */
  @Override
  public byte[] signingInput() {
    byte[] id = keySetId.getBytes(StandardCharsets.US_ASCII);
    return ByteBuffer.allocate(LABEL.length + 1 + 1 + id.length + 32 + 32 + 8 + 32)
        .put(LABEL)
        .put((byte) 0)
        .put((byte) id.length)
        .put(id)
        .put(dkdmSha256)
        .put(rootsSha256)
        .putLong(timestamp.getEpochSecond())
        .put(sender.raw())
        .array();
  }

  @Override
  public byte[] dkdmSha256() {
    return dkdmSha256.clone();
  }

  @Override
  public byte[] rootsSha256() {
    return rootsSha256.clone();
  }

  private static byte[] sha256(byte[] b) {
    return newSha256().digest(b);
  }

  private static MessageDigest newSha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
