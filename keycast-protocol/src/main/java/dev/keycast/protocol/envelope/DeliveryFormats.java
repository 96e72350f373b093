package dev.keycast.protocol.envelope;

import java.util.List;
import java.util.Optional;

/** The registry of delivery formats Keycast knows, and the default for each kind of recipient. */
public final class DeliveryFormats {
  /** Every known format, default formats first. */
  public static final List<DeliveryFormat<?>> ALL =
      List.of(
          CmsDeliveryFormat.AES_256_GCM,
          HpkeDeliveryFormat.INSTANCE,
          CmsDeliveryFormat.AES_256_CBC);

  private DeliveryFormats() {}

  /**
   * The default format for a recipient: {@code cms-aes256gcm-v1} for RSA, {@code hpke-x25519-v1}
   * for X25519.
   */
  public static DeliveryFormat<?> defaultFor(RecipientKey recipient) {
    return switch (recipient) {
      case RsaRecipientKey r -> CmsDeliveryFormat.AES_256_GCM;
      case X25519RecipientKey x -> HpkeDeliveryFormat.INSTANCE;
    };
  }

  /** The format with this identifier, if known. */
  public static Optional<DeliveryFormat<?>> byId(String id) {
    return ALL.stream().filter(f -> f.id().equals(id)).findFirst();
  }
}
