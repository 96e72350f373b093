package dev.keycast.protocol.sender;

import dev.keycast.protocol.keyset.KeySet;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.HexFormat;
import java.util.Objects;

/**
 * What a sender signs for one send (wire-format.md section 8.3): the key set, the policy, the
 * payload, the send id, a timestamp and the sender's own key. The signature input is
 *
 * <pre>
 *   "keycast/v1/send-statement" (25 ASCII bytes) || 0x00
 *   || u8 len(key_set_id) || key_set_id (ASCII)
 *   || SHA-256(policy bytes) (32)
 *   || SHA-256(enc || ciphertext) (32)      the receipt's pay digest
 *   || send_id (16 bytes: its 32 hex characters decoded)
 *   || u64 timestamp (Unix seconds, big-endian)
 *   || sender public key (32, raw Ed25519)
 * </pre>
 *
 * signed with Ed25519 (RFC 8032, pure). Every field is fixed-length or length-prefixed, so one
 * input has one parse; the label separates it from every other Keycast signature.
 *
 * @param keySetId the key set the payload is sealed to
 * @param policySha256 SHA-256 of the policy's exact bytes
 * @param payloadSha256 SHA-256 of {@code enc || ciphertext} (decoded)
 * @param sendId 32 lowercase hex characters
 * @param timestamp when the sender signed (whole seconds)
 * @param sender the signing key
 */
public record SendStatement(
    String keySetId,
    byte[] policySha256,
    byte[] payloadSha256,
    String sendId,
    Instant timestamp,
    SenderKey sender)
    implements SenderStatement {
  static final byte[] LABEL = "keycast/v1/send-statement".getBytes(StandardCharsets.US_ASCII);

  public SendStatement {
    if (!KeySet.isWellFormedId(keySetId)) {
      throw new IllegalArgumentException("key-set id must be ks- followed by 32 lowercase hex");
    }
    if (policySha256 == null
        || policySha256.length != 32
        || payloadSha256 == null
        || payloadSha256.length != 32) {
      throw new IllegalArgumentException("digests must be 32 bytes");
    }
    if (sendId == null
        || sendId.length() != 32
        || !sendId.chars().allMatch(c -> (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
      throw new IllegalArgumentException("send id must be 32 lowercase hex characters");
    }
    Objects.requireNonNull(timestamp, "timestamp");
    if (timestamp.getEpochSecond() < 0 || timestamp.getNano() != 0) {
      throw new IllegalArgumentException("timestamp must be whole seconds after 1970");
    }
    Objects.requireNonNull(sender, "sender");
    policySha256 = policySha256.clone();
    payloadSha256 = payloadSha256.clone();
  }

  /** The exact bytes signed (see the class comment). */
  @Override
  public byte[] signingInput() {
    byte[] id = keySetId.getBytes(StandardCharsets.US_ASCII);
    return ByteBuffer.allocate(LABEL.length + 1 + 1 + id.length + 32 + 32 + 16 + 8 + 32)
        .put(LABEL)
        .put((byte) 0)
        .put((byte) id.length)
        .put(id)
        .put(policySha256)
        .put(payloadSha256)
        .put(HexFormat.of().parseHex(sendId))
        .putLong(timestamp.getEpochSecond())
        .put(sender.raw())
        .array();
  }

  @Override
  public byte[] policySha256() {
    return policySha256.clone();
  }

  @Override
  public byte[] payloadSha256() {
    return payloadSha256.clone();
  }
}
