package dev.keycast.protocol.cinema;

import dev.keycast.protocol.crypto.RsaSigningKey;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.security.interfaces.RSAPrivateCrtKey;
import java.security.interfaces.RSAPrivateKey;
import java.security.interfaces.RSAPublicKey;
import java.time.Instant;
import java.util.List;

/**
 * The KDM signer: an ST 430-2 chain (leaf first) that passed {@link DcCertificateChainValidator}
 * as a signer chain, and the private key of its leaf. {@link #toString()} never shows the key.
 */
public final class KdmSigner {
  private final PrivateKey privateKey;
  private final List<X509Certificate> chain;
  private final byte[] leafThumbprint;
  private final List<String> issuerNames;

  /** The key as the process's crypto backend holds it (OpenSSL signs twice as fast), or null. */
  private final RsaSigningKey backendKey;

  private KdmSigner(PrivateKey privateKey, List<X509Certificate> chain, byte[] leafThumbprint) {
    this.privateKey = privateKey;
    this.chain = chain;
    this.leafThumbprint = leafThumbprint;
    this.issuerNames =
        chain.stream().map(c -> DcCertificates.rfc2253(c.getIssuerX500Principal())).toList();
    this.backendKey = backendKey(privateKey);
  }

  /**
   * The key imported into the process's crypto backend, or null when the key is not extractable
   * (then the JDK signs with {@link #privateKey()}). The PKCS #8 copy is zeroized at once.
   */
  private static RsaSigningKey backendKey(PrivateKey key) {
    byte[] pkcs8 = key.getEncoded();
    if (pkcs8 == null) {
      return null;
    }
    try {
      return dev.keycast.protocol.crypto.CryptoBackends.get().rsaSigningKey(pkcs8);
    } finally {
      java.util.Arrays.fill(pkcs8, (byte) 0);
    }
  }

  /** The backend-held key the writer signs with, or null (see {@link #backendKey}). */
  RsaSigningKey backendKey() {
    return backendKey;
  }

  /**
   * Drops the backend's copy of the private key (OpenSSL clears it); the JDK key object cannot be
   * wiped. The signer must not sign afterwards.
   */
  public void destroy() {
    if (backendKey != null) {
      backendKey.destroy();
    }
  }

  /** The RFC 2253 (OpenSSL style) issuer name of each certificate of the chain, leaf first. */
  List<String> issuerNames() {
    return issuerNames;
  }

  /**
   * Checks the chain as an ST 430-2 signer chain valid at {@code at} and that {@code privateKey}
   * is the leaf's key.
   */
  public static KdmSigner of(PrivateKey privateKey, List<X509Certificate> chain, Instant at)
      throws CinemaException {
    DcCertificateChainValidator.validate(DcCertificateChainValidator.Kind.SIGNER, chain, at);
    RSAPublicKey pub = (RSAPublicKey) chain.get(0).getPublicKey();
    boolean matches =
        privateKey instanceof RSAPrivateKey rsa
            && rsa.getModulus().equals(pub.getModulus())
            && (!(privateKey instanceof RSAPrivateCrtKey crt)
                || crt.getPublicExponent().equals(pub.getPublicExponent()));
    if (!matches) {
      throw new CinemaException(
          "signer_key_mismatch",
          "the signer private key is not the key of the signer leaf certificate");
    }
    return new KdmSigner(privateKey, List.copyOf(chain), DcCertificates.thumbprint(chain.get(0)));
  }

  PrivateKey privateKey() {
    return privateKey;
  }

  /** The signer chain, leaf first. */
  public List<X509Certificate> chain() {
    return chain;
  }

  public X509Certificate leaf() {
    return chain.get(0);
  }

  public X509Certificate root() {
    return chain.get(chain.size() - 1);
  }

  /** SHA-1 of the leaf's TBSCertificate, as every cipher block carries it. */
  public byte[] leafThumbprint() {
    return leafThumbprint.clone();
  }

  @Override
  public String toString() {
    return "KdmSigner[leaf=" + DcCertificates.rfc2253(leaf().getSubjectX500Principal()) + "]";
  }
}
