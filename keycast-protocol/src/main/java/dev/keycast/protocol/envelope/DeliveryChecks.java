package dev.keycast.protocol.envelope;

import dev.keycast.protocol.MalformedInputException;

/** Checks shared by the delivery formats. */
final class DeliveryChecks {
  private DeliveryChecks() {}

  /** Common argument checks for {@link DeliveryFormat#seal}. */
  static void checkSealArguments(
      DeliveryFormat<?> format, RecipientKey recipient, DeliveryMetadata metadata, byte[] secret) {
    if (!format.supports(recipient)) {
      throw new IllegalArgumentException(format.id() + " cannot deliver to " + recipient);
    }
    if (!metadata.recipientFingerprint().equals(recipient.fingerprint())) {
      throw new IllegalArgumentException(
          "metadata names recipient "
              + metadata.recipientFingerprint()
              + " but the key is "
              + recipient.fingerprint());
    }
    DeliveryPayload.checkSecret(secret);
  }

  /** Common size check for {@link DeliveryFormat#open}, before anything is allocated. */
  static void checkEnvelopeLength(byte[] envelope) throws MalformedInputException {
    if (envelope == null) {
      throw new MalformedInputException(
          MalformedInputException.Kind.MALFORMED, "no envelope given");
    }
    if (envelope.length > DeliveryFormat.MAX_ENVELOPE_LENGTH) {
      throw new MalformedInputException(
          MalformedInputException.Kind.OVERSIZE,
          "envelope is " + envelope.length + " bytes, limit " + DeliveryFormat.MAX_ENVELOPE_LENGTH);
    }
  }
}
