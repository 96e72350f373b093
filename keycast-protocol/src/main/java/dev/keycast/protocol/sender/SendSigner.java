package dev.keycast.protocol.sender;

import dev.keycast.protocol.Base64Url;
import dev.keycast.protocol.MalformedInputException;
import dev.keycast.protocol.SendIds;
import dev.keycast.protocol.api.EnclaveApi;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;

/** Signs a sender's payload (wire-format.md section 8.3): what {@code keycast send} does. */
public final class SendSigner {
  private SendSigner() {}

  /** The statement {@code payload} asks for, as {@code sender} at {@code timestamp}. */
  public static SendStatement statement(
      EnclaveApi.SendPayload payload, SenderKey sender, Instant timestamp)
      throws MalformedInputException {
    byte[] policy =
        Base64Url.decode(
            "policy", payload.policy(), dev.keycast.protocol.policy.SendPolicy.MAX_BYTES);
    byte[] enc = Base64Url.decode("enc", payload.enc(), 64);
    byte[] ciphertext =
        Base64Url.decode("ciphertext", payload.ciphertext(), EnclaveApi.MAX_SECRET_BYTES + 16);
    MessageDigest pay = sha256();
    pay.update(enc);
    pay.update(ciphertext);
    return new SendStatement(
        payload.keySetId(),
        sha256().digest(policy),
        pay.digest(),
        SendIds.of(enc, ciphertext),
        Instant.ofEpochSecond(timestamp.getEpochSecond()),
        sender);
  }

  /** {@code payload} with {@code key}'s signature at {@code timestamp} (whole seconds). */
  public static EnclaveApi.SendPayload sign(
      EnclaveApi.SendPayload payload, SenderSigningKey key, Instant timestamp)
      throws MalformedInputException {
    SendStatement s = statement(payload, key.publicKey(), timestamp);
    return payload.withSender(
        new EnclaveApi.SenderSignature(
            Base64Url.encode(key.publicKey().raw()),
            s.timestamp().getEpochSecond(),
            Base64Url.encode(s.sign(key))));
  }

  private static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new AssertionError("SHA-256 is required by the Java platform", e);
    }
  }
}
