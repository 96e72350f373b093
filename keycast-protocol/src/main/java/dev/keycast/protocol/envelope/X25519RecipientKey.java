package dev.keycast.protocol.envelope;

import dev.keycast.protocol.hpke.X25519PublicKey;

/** An X25519 recipient; deliveries to it use {@link HpkeDeliveryFormat}. */
public record X25519RecipientKey(X25519PublicKey publicKey) implements RecipientKey {
  public X25519RecipientKey {
    if (publicKey == null) {
      throw new NullPointerException("publicKey");
    }
  }

  @Override
  public String fingerprint() {
    return publicKey.fingerprint();
  }

  @Override
  public byte[] spkiDer() {
    return publicKey.toSpkiDer();
  }
}
