package dev.keycast.protocol.sender;

import dev.keycast.protocol.Base64Url;
import dev.keycast.protocol.MalformedInputException;
import dev.keycast.protocol.keyset.KeySet;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * An owner's signed statement replacing a key set's sender set (wire-format.md section 8.2). The
 * signature input is
 *
 * <pre>
 *   "keycast/v1/sender-set-update" (28 ASCII bytes) || 0x00
 *   || u8 len(key_set_id) || key_set_id (ASCII) || SenderSet encoding
 * </pre>
 *
 * signed with Ed25519 (RFC 8032, pure) by a key among the owners of the set in force (not of the
 * new set). JSON (api.md 1.3): {@code {"key_set_id", "sender_set", "owner", "signature"}}, the
 * three byte fields base64url.
 *
 * @param keySetId the key set the statement is for (a statement for another key set is refused)
 * @param senderSet the new set; its version must exceed the version in force
 * @param owner the signing owner's public key
 * @param signature 64 bytes
 */
public record SenderSetUpdate(
    String keySetId, SenderSet senderSet, SenderKey owner, byte[] signature) {
  static final byte[] LABEL = "keycast/v1/sender-set-update".getBytes(StandardCharsets.US_ASCII);

  /** The JSON form. */
  public record Json(String keySetId, String senderSet, String owner, String signature) {}

  /** Signs {@code set} for {@code keySetId} with the owner key {@code owner}. */
  public static SenderSetUpdate sign(String keySetId, SenderSet set, SenderSigningKey owner) {
    return new SenderSetUpdate(
        keySetId, set, owner.publicKey(), owner.sign(signingInput(keySetId, set)));
  }

  /** The bytes the owner signs. */
  public static byte[] signingInput(String keySetId, SenderSet set) {
    if (!KeySet.isWellFormedId(keySetId)) {
      throw new IllegalArgumentException("key-set id must be ks- followed by 32 lowercase hex");
    }
    byte[] id = keySetId.getBytes(StandardCharsets.US_ASCII);
    byte[] enc = set.encode();
    return ByteBuffer.allocate(LABEL.length + 1 + 1 + id.length + enc.length)
        .put(LABEL)
        .put((byte) 0)
        .put((byte) id.length)
        .put(id)
        .put(enc)
        .array();
  }

  /** True when the signature verifies under {@link #owner()} (not whether the owner is in force). */
  public boolean signatureVerifies() {
    return KeySet.isWellFormedId(keySetId)
        && owner.verifies(signingInput(keySetId, senderSet), signature);
  }

  public Json toJson() {
    return new Json(
        keySetId,
        Base64Url.encode(senderSet.encode()),
        Base64Url.encode(owner.raw()),
        Base64Url.encode(signature));
  }

  public static SenderSetUpdate fromJson(Json j) throws MalformedInputException {
    if (j == null
        || j.keySetId() == null
        || j.senderSet() == null
        || j.owner() == null
        || j.signature() == null) {
      throw new MalformedInputException(
          MalformedInputException.Kind.MALFORMED,
          "a sender-set update needs key_set_id, sender_set, owner and signature");
    }
    if (!KeySet.isWellFormedId(j.keySetId())) {
      throw new MalformedInputException(
          MalformedInputException.Kind.MALFORMED,
          "key_set_id must be ks- followed by 32 lowercase hex");
    }
    SenderSet set =
        SenderSet.parse(Base64Url.decode("sender_set", j.senderSet(), SenderSet.MAX_ENCODED));
    SenderKey owner = SenderKey.of("owner", Base64Url.decode("owner", j.owner(), 32));
    byte[] sig = Base64Url.decode("signature", j.signature(), 64);
    if (sig.length != 64) {
      throw new MalformedInputException(
          MalformedInputException.Kind.MALFORMED, "signature must be 64 bytes");
    }
    return new SenderSetUpdate(j.keySetId(), set, owner, sig);
  }
}
