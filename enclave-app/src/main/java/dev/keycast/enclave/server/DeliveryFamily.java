package dev.keycast.enclave.server;

import dev.keycast.protocol.envelope.CmsDeliveryFormat;
import dev.keycast.protocol.envelope.DeliveryFormat;
import dev.keycast.protocol.envelope.HpkeDeliveryFormat;
import dev.keycast.protocol.envelope.RecipientKey;
import dev.keycast.protocol.envelope.RsaRecipientKey;
import dev.keycast.protocol.envelope.X25519RecipientKey;
import dev.keycast.protocol.policy.SendPolicy;
import java.util.List;

/**
 * One family of deliveries the {@link SendEngine} can make to a recipient key: CMS for RSA keys,
 * HPKE for X25519 keys. (KDM sends, whose recipients are screens decided by their certificate
 * chain and cinema data rather than by their key alone, are {@link KdmDeliveryFamily}: when the
 * policy carries {@code kdm} it replaces these families for the whole fan-out.) A family says which {@link DeliveryFormat} seals to a
 * recipient key under the send's policy, or {@code null} when it does not deliver to that key. The
 * engine asks the families of a send in order and uses the first format it gets; a new family is a
 * new implementation added to {@link #forPolicy}, and nothing else in the engine changes.
 * Implementations are immutable and thread-safe (they run on the fan-out pool).
 */
interface DeliveryFamily {
  /** The format that delivers to {@code key}, or {@code null} when this family does not. */
  DeliveryFormat<?> formatFor(RecipientKey key);

  /** RSA keys: CMS with the policy's content cipher ({@code rsa_content}). */
  record Cms(CmsDeliveryFormat format) implements DeliveryFamily {
    static Cms forPolicy(SendPolicy policy) {
      return new Cms(
          SendPolicy.CONTENT_AES_256_CBC.equals(policy.rsaContent())
              ? CmsDeliveryFormat.AES_256_CBC
              : CmsDeliveryFormat.AES_256_GCM);
    }

    @Override
    public DeliveryFormat<?> formatFor(RecipientKey key) {
      return key instanceof RsaRecipientKey ? format : null;
    }
  }

  /** X25519 keys: HPKE (wire-format.md). */
  record Hpke() implements DeliveryFamily {
    @Override
    public DeliveryFormat<?> formatFor(RecipientKey key) {
      return key instanceof X25519RecipientKey ? HpkeDeliveryFormat.INSTANCE : null;
    }
  }

  /** The families of a send or forward under {@code policy}, in the order they are asked. */
  static List<DeliveryFamily> forPolicy(SendPolicy policy) {
    return List.of(Cms.forPolicy(policy), new Hpke());
  }
}
