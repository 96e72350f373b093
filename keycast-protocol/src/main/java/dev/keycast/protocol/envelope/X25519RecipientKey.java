package dev.keycast.protocol.envelope;

import dev.keycast.protocol.hpke.X25519PublicKey;
import java.security.cert.X509Certificate;
import java.util.List;

/**
 * An X25519 recipient; deliveries to it use {@link HpkeDeliveryFormat}. A key registered as a
 * certificate chain keeps that chain ({@link #certificateChain()}, leaf first), as RSA keys do.
 */
public record X25519RecipientKey(X25519PublicKey publicKey, List<X509Certificate> certificateChain)
    implements RecipientKey {
  public X25519RecipientKey {
    if (publicKey == null) {
      throw new NullPointerException("publicKey");
    }
    certificateChain = List.copyOf(certificateChain);
  }

  /** A bare key, without certificates. */
  public X25519RecipientKey(X25519PublicKey publicKey) {
    this(publicKey, List.of());
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
