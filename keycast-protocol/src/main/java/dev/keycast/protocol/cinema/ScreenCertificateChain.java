package dev.keycast.protocol.cinema;

import java.security.cert.X509Certificate;
import java.security.interfaces.RSAPublicKey;
import java.util.List;

/**
 * A screen's certificate chain (leaf first) that {@link DcCertificateChainValidator#validateScreen}
 * accepted: the leaf is the media block's Security Manager certificate that a KDM is addressed to.
 * Only the validator makes these.
 */
public final class ScreenCertificateChain {
  private final List<X509Certificate> chain;

  ScreenCertificateChain(List<X509Certificate> chain) {
    this.chain = List.copyOf(chain);
  }

  /** The whole chain, leaf first. */
  public List<X509Certificate> chain() {
    return chain;
  }

  /** The Security Manager certificate. */
  public X509Certificate leaf() {
    return chain.get(0);
  }

  /** The Security Manager's RSA-2048 key, which every KDM cipher block is encrypted to. */
  public RSAPublicKey publicKey() {
    return (RSAPublicKey) leaf().getPublicKey();
  }
}
