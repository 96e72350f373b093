package dev.keycast.protocol;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Objects;

/**
 * The delivery id of api.md section 1.1 step 7: the first 16 bytes, lowercase hex, of
 * {@code SHA-256(UTF8("keycast/v1/delivery-id") || 0x00 || UTF8(send_id) || 0x00 ||
 * UTF8(fingerprint))}. It is deterministic per (send, recipient): the enclave names every delivery
 * (of a send or of a forward of it) so, and the host's store checks each delivery against it, which
 * makes the delivery id alone unique per (send, recipient).
 */
public final class DeliveryIds {
  private static final byte[] LABEL = "keycast/v1/delivery-id".getBytes(StandardCharsets.US_ASCII);

  private DeliveryIds() {}

  /** The delivery id of the delivery of send {@code sendId} to the recipient {@code fingerprint}. */
  public static String of(String sendId, String fingerprint) {
    Objects.requireNonNull(sendId, "sendId");
    Objects.requireNonNull(fingerprint, "fingerprint");
    MessageDigest d = IdDigests.labelled(LABEL);
    d.update(sendId.getBytes(StandardCharsets.UTF_8));
    d.update((byte) 0);
    d.update(fingerprint.getBytes(StandardCharsets.UTF_8));
    return IdDigests.id(d);
  }

  /** True when {@code deliveryId} is {@link #of}{@code (sendId, fingerprint)}. */
  public static boolean matches(String deliveryId, String sendId, String fingerprint) {
    return deliveryId != null
        && deliveryId.length() == 32
        && deliveryId.equals(of(sendId, fingerprint));
  }
}
