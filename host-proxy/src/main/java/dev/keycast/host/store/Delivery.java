package dev.keycast.host.store;

import java.util.Arrays;
import java.util.Objects;

/**
 * One delivery as the enclave emitted it: an envelope of the secret for one recipient.
 *
 * @param deliveryId unique id ({@code [A-Za-z0-9_-]{1,128}}); listings are ordered by it
 * @param recipientFingerprint the recipient's fingerprint
 * @param formatId the envelope format ({@code [a-z0-9._-]{1,64}}, e.g. {@code cms-v1}, {@code hpke-v1})
 * @param envelope the envelope bytes (at most 1 MiB)
 */
public record Delivery(
    String deliveryId, String recipientFingerprint, String formatId, byte[] envelope) {
  public Delivery {
    Checks.id("delivery id", deliveryId);
    Checks.fingerprint(recipientFingerprint);
    Objects.requireNonNull(formatId, "formatId");
    if (!Checks.FORMAT_ID.matches(formatId)) {
      throw new IllegalArgumentException(
          "format id must match " + Checks.FORMAT_ID.pattern() + ": " + Checks.quote(formatId));
    }
    envelope = Checks.bytes("envelope", envelope, Checks.MAX_ENVELOPE);
  }

  @Override
  public byte[] envelope() {
    return envelope.clone();
  }

  /** The envelope without a defensive copy, for the store's own writers. */
  byte[] envelopeUnsafe() {
    return envelope;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Delivery d
        && d.deliveryId.equals(deliveryId)
        && d.recipientFingerprint.equals(recipientFingerprint)
        && d.formatId.equals(formatId)
        && Arrays.equals(d.envelope, envelope);
  }

  @Override
  public int hashCode() {
    return Objects.hash(deliveryId, recipientFingerprint, formatId, Arrays.hashCode(envelope));
  }

  @Override
  public String toString() {
    return "Delivery["
        + deliveryId
        + " -> "
        + recipientFingerprint
        + ", "
        + formatId
        + ", "
        + envelope.length
        + " bytes]";
  }
}
