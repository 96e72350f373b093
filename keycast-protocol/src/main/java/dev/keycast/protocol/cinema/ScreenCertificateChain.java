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
  private final String leafSubjectName;
  private final String leafIssuerName;

  ScreenCertificateChain(List<X509Certificate> chain) {
    this.chain = List.copyOf(chain);
    this.leafSubjectName = DcCertificates.rfc2253(this.chain.get(0).getSubjectX500Principal());
    this.leafIssuerName = DcCertificates.rfc2253(this.chain.get(0).getIssuerX500Principal());
  }

  /** The leaf's subject as an RFC 2253 string in OpenSSL's style (the KDM's X509SubjectName). */
  public String leafSubjectName() {
    return leafSubjectName;
  }

  /** The leaf's issuer as an RFC 2253 string in OpenSSL's style. */
  public String leafIssuerName() {
    return leafIssuerName;
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
