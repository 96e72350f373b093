package dev.keycast.host.store;

import java.time.Instant;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Objects;

/**
 * What the host keeps about a send besides its deliveries and receipts.
 *
 * @param sendId unique id of the send
 * @param payloadHash SHA-256 of the sealed sender payload (32 bytes): the idempotency key
 * @param policyJson the send policy, cleartext JSON (the HPKE associated data)
 * @param lateRecipientsAllowed whether recipients registered later may be offered this send
 * @param notBefore start of the validity window, or null
 * @param notAfter end of the validity window (exclusive), or null for no end
 * @param sealedSecret the secret sealed under the enclave's storage key, for later forwards
 * @param createdAt when the send was made, millisecond precision
 */
public record SendMetadata(
    String sendId,
    byte[] payloadHash,
    byte[] policyJson,
    boolean lateRecipientsAllowed,
    Instant notBefore,
    Instant notAfter,
    byte[] sealedSecret,
    Instant createdAt) {

  public SendMetadata {
    Checks.id("send id", sendId);
    Objects.requireNonNull(payloadHash, "payloadHash");
    if (payloadHash.length != 32) {
      throw new IllegalArgumentException("payload hash must be 32 bytes: " + payloadHash.length);
    }
    payloadHash = payloadHash.clone();
    policyJson = Checks.bytes("policy", policyJson, Checks.MAX_POLICY);
    sealedSecret = Checks.bytes("sealed secret", sealedSecret, Checks.MAX_SEALED_SECRET);
    notBefore = Checks.millis(notBefore);
    notAfter = Checks.millis(notAfter);
    if (notBefore != null && notAfter != null && !notBefore.isBefore(notAfter)) {
      throw new IllegalArgumentException("notBefore must be before notAfter");
    }
    createdAt = Checks.millis(Objects.requireNonNull(createdAt, "createdAt"));
  }

  @Override
  public byte[] payloadHash() {
    return payloadHash.clone();
  }

  /** The payload hash as lowercase hex. */
  public String payloadHashHex() {
    return HexFormat.of().formatHex(payloadHash);
  }

  @Override
  public byte[] policyJson() {
    return policyJson.clone();
  }

  @Override
  public byte[] sealedSecret() {
    return sealedSecret.clone();
  }

  byte[] policyUnsafe() {
    return policyJson;
  }

  byte[] sealedSecretUnsafe() {
    return sealedSecret;
  }

  byte[] payloadHashUnsafe() {
    return payloadHash;
  }

  /** True when late recipients may still be offered this send at {@code now}. */
  public boolean openForLateRecipients(Instant now) {
    return lateRecipientsAllowed && (notAfter == null || notAfter.isAfter(now));
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof SendMetadata s
        && s.sendId.equals(sendId)
        && Arrays.equals(s.payloadHash, payloadHash)
        && Arrays.equals(s.policyJson, policyJson)
        && s.lateRecipientsAllowed == lateRecipientsAllowed
        && Objects.equals(s.notBefore, notBefore)
        && Objects.equals(s.notAfter, notAfter)
        && Arrays.equals(s.sealedSecret, sealedSecret)
        && s.createdAt.equals(createdAt);
  }

  @Override
  public int hashCode() {
    return Objects.hash(sendId, Arrays.hashCode(payloadHash), createdAt);
  }

  @Override
  public String toString() {
    return "SendMetadata["
        + sendId
        + ", payload "
        + payloadHashHex()
        + ", late="
        + lateRecipientsAllowed
        + ", window="
        + notBefore
        + ".."
        + notAfter
        + "]";
  }
}
