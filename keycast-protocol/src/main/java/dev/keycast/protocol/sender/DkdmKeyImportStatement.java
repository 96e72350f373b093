package dev.keycast.protocol.sender;

import dev.keycast.protocol.keyset.KeySet;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Objects;

/**
 * What a sender signs to import a legacy DKDM key (wire-format.md section 10.6): the key set, the
 * certificate the key belongs to and the HPKE-sealed key. The signature input is
 *
 * <pre>
 *   "keycast/v1/dkdm-key-import" (26 ASCII bytes) || 0x00
 *   || u8 len(key_set_id) || key_set_id (ASCII)
 *   || SHA-256(certificate DER) (32)
 *   || SHA-256(enc || ciphertext) (32)
 *   || u64 timestamp (Unix seconds, big-endian)
 *   || sender public key (32, raw Ed25519)
 * </pre>
 *
 * signed with Ed25519 (RFC 8032, pure), checked as a send statement is.
 */
public record DkdmKeyImportStatement(
    String keySetId,
    byte[] certificateSha256,
    byte[] payloadSha256,
    Instant timestamp,
    SenderKey sender)
    implements SenderStatement {
  static final byte[] LABEL = "keycast/v1/dkdm-key-import".getBytes(StandardCharsets.US_ASCII);

  public DkdmKeyImportStatement {
    if (!KeySet.isWellFormedId(keySetId)) {
      throw new IllegalArgumentException("key-set id must be ks- followed by 32 lowercase hex");
    }
    if (certificateSha256 == null
        || certificateSha256.length != 32
        || payloadSha256 == null
        || payloadSha256.length != 32) {
      throw new IllegalArgumentException("digests must be 32 bytes");
    }
    Objects.requireNonNull(timestamp, "timestamp");
    if (timestamp.getEpochSecond() < 0 || timestamp.getNano() != 0) {
      throw new IllegalArgumentException("timestamp must be whole seconds after 1970");
    }
    Objects.requireNonNull(sender, "sender");
    certificateSha256 = certificateSha256.clone();
    payloadSha256 = payloadSha256.clone();
  }

  @Override
  public byte[] signingInput() {
    byte[] id = keySetId.getBytes(StandardCharsets.US_ASCII);
    return ByteBuffer.allocate(LABEL.length + 1 + 1 + id.length + 32 + 32 + 8 + 32)
        .put(LABEL)
        .put((byte) 0)
        .put((byte) id.length)
        .put(id)
        .put(certificateSha256)
        .put(payloadSha256)
        .putLong(timestamp.getEpochSecond())
        .put(sender.raw())
        .array();
  }

  @Override
  public byte[] certificateSha256() {
    return certificateSha256.clone();
  }

  @Override
  public byte[] payloadSha256() {
    return payloadSha256.clone();
  }
}
