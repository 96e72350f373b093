package dev.keycast.protocol.cinema;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.PublicKey;
import java.security.cert.CertificateEncodingException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import javax.security.auth.x500.X500Principal;
import org.bouncycastle.asn1.ASN1Encodable;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.ASN1String;
import org.bouncycastle.asn1.x500.AttributeTypeAndValue;
import org.bouncycastle.asn1.x500.RDN;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;

/**
 * Digests and names of digital-cinema (SMPTE ST 430-2) certificates, computed as libdcp and
 * OpenSSL compute them.
 */
public final class DcCertificates {
  /** SHA-1 of the empty string, base64: the "assume trust" DeviceList thumbprint of ST 430-1. */
  public static final String ASSUME_TRUST_THUMBPRINT = "2jmj7l5rSw0yVb/vlWAYkK/YBwk=";

  private static final Map<String, String> OPENSSL_KEYWORDS = Map.of("2.5.4.46", "dnQualifier");

  private DcCertificates() {}

  /** SHA-1 of the certificate's DER TBSCertificate: the ST 430-2 certificate thumbprint. */
  public static byte[] thumbprint(X509Certificate cert) throws CinemaException {
    try {
      return sha1(cert.getTBSCertificate());
    } catch (CertificateEncodingException e) {
      throw new CinemaException("certificate_malformed", "the certificate cannot be re-encoded", e);
    }
  }

  /** {@link #thumbprint} in base64, as DeviceList and ContentAuthenticator carry it. */
  public static String thumbprintBase64(X509Certificate cert) throws CinemaException {
    return Base64.getEncoder().encodeToString(thumbprint(cert));
  }

  /**
   * base64(SHA-1(PKCS #1 RSAPublicKey DER)) of an RSA public key: the value ST 430-2 requires in
   * the subject's dnQualifier.
   */
  public static String publicKeyDigest(PublicKey key) {
    byte[] pkcs1 = SubjectPublicKeyInfo.getInstance(key.getEncoded()).getPublicKeyData().getBytes();
    return Base64.getEncoder().encodeToString(sha1(pkcs1));
  }

  /**
   * The RFC 2253 string OpenSSL prints for a name ({@code XN_FLAG_RFC2253}): most specific RDN
   * first, {@code dnQualifier} by keyword, {@code ,} and {@code +} escaped, {@code =} not.
   */
  public static String rfc2253(X500Principal name) {
    // PrintableString names hold no backslash, so every "\=" is the JDK's escape of an '='.
    return name.getName(X500Principal.RFC2253, OPENSSL_KEYWORDS).replace("\\=", "=");
  }

  /** The values of one attribute of a name, in order. */
  static List<String> attributeValues(X500Name name, ASN1ObjectIdentifier type) {
    List<String> out = new ArrayList<>();
    for (RDN rdn : name.getRDNs()) {
      for (AttributeTypeAndValue atv : rdn.getTypesAndValues()) {
        if (atv.getType().equals(type)) {
          ASN1Encodable v = atv.getValue();
          out.add(v instanceof ASN1String s ? s.getString() : v.toString());
        }
      }
    }
    return out;
  }

  /** The roles of an ST 430-2 common name ("roles.entity"): the space-separated words before the first '.'. */
  public static List<String> roles(X509Certificate cert) {
    X500Name subject = X500Name.getInstance(cert.getSubjectX500Principal().getEncoded());
    List<String> cns = attributeValues(subject, BCStyle.CN);
    if (cns.size() != 1) {
      return List.of();
    }
    String cn = cns.get(0);
    int dot = cn.indexOf('.');
    String head = dot < 0 ? "" : cn.substring(0, dot);
    List<String> roles = new ArrayList<>();
    for (String r : head.split(" ")) {
      if (!r.isEmpty()) {
        roles.add(r);
      }
    }
    return roles;
  }

  static byte[] sha1(byte[] data) {
    try {
      return MessageDigest.getInstance("SHA-1").digest(data);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-1 is a mandatory JDK algorithm", e);
    }
  }
}
