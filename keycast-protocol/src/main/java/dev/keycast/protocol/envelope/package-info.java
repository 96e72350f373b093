/**
 * Delivery envelopes: one secret plus its {@link dev.keycast.protocol.envelope.DeliveryMetadata}
 * encrypted to one recipient key. {@link dev.keycast.protocol.envelope.RecipientKeys} parses keys
 * once; {@link dev.keycast.protocol.envelope.CmsDeliveryFormat} serves RSA recipients (openssl
 * readable CMS) and {@link dev.keycast.protocol.envelope.HpkeDeliveryFormat} X25519 recipients.
 * See wire-format.md section 3.
 */
package dev.keycast.protocol.envelope;
