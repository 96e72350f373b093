package dev.keycast.protocol.cinema;

import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.security.GeneralSecurityException;
import java.security.cert.CertificateExpiredException;
import java.security.cert.CertificateNotYetValidException;
import java.security.cert.X509Certificate;
import java.security.interfaces.RSAPublicKey;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.bouncycastle.asn1.ASN1Encodable;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.ASN1PrintableString;
import org.bouncycastle.asn1.x500.AttributeTypeAndValue;
import org.bouncycastle.asn1.x500.RDN;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.style.BCStyle;

/**
 * Checks a certificate chain (leaf first, root last) against the SMPTE ST 430-2 profile that media
 * blocks enforce, for a screen (the leaf must carry the Security Manager role {@code SM}) or for a
 * KDM signer (the leaf signs).
 *
 * <p>Per certificate: X.509 v3; signature {@code sha256WithRSAEncryption}; an RSA key of exactly
 * 2048 bits with public exponent 65537; subject and issuer names whose every attribute is a
 * PrintableString, the subject holding exactly one each of O, OU, CN and dnQualifier; a
 * dnQualifier equal to {@link DcCertificates#publicKeyDigest}; an issuer O equal to the subject
 * O; validity covering the given instant; a key usage extension. Along the chain: each
 * certificate's issuer is the next one's subject and its signature verifies under that one's key;
 * the last is self-signed; every certificate but the leaf is a CA with {@code keyCertSign} and a
 * path length that allows the CAs below it; the leaf is not a CA. A screen leaf carries {@code SM}
 * and {@code keyEncipherment}; a signer leaf carries {@code digitalSignature}.
 *
 * <p>Each refusal is a {@link CinemaException} whose code is the kind's prefix ({@code
 * screen_certificate} or {@code signer_certificate}) followed by the check's name, for example
 * {@code screen_certificate_rsa_size}.
 */
public final class DcCertificateChainValidator {
  /** Longest chain accepted (leaf, intermediates, root). */
  public static final int MAX_CHAIN_LENGTH = 8;

  private static final String SHA256_WITH_RSA = "1.2.840.113549.1.1.11";
  private static final BigInteger F4 = BigInteger.valueOf(65537);
  private static final int DIGITAL_SIGNATURE = 0;
  private static final int KEY_ENCIPHERMENT = 2;
  private static final int KEY_CERT_SIGN = 5;

  /** Whose chain is checked: decides the leaf's requirements and the error code prefix. */
  public enum Kind {
    SCREEN("screen_certificate"),
    SIGNER("signer_certificate");

    private final String prefix;

    Kind(String prefix) {
      this.prefix = prefix;
    }

    public String prefix() {
      return prefix;
    }
  }

  private DcCertificateChainValidator() {}

  /**
   * What the validations of many chains at one instant share (one KDM send's screens, which
   * mostly hang under a few manufacturer CAs): the certificates above a leaf that passed every
   * check of their own at that instant, and the links above a leaf (a certificate and its
   * issuer, both as DER) whose signature verified and whose O names matched. A later chain with
   * the same certificate or link skips only those repeated checks; a leaf is always checked in
   * full, and so is every check that depends on a certificate's place in its chain (issuer name
   * order, CA, key usage, path length, the leaf's role). Only passes are remembered, at most
   * {@link #MAX_REMEMBERED} of each. Thread-safe.
   */
  public static final class Memo {
    /** Most certificates, and most links, remembered. */
    public static final int MAX_REMEMBERED = 4096;

    private final Instant at;
    private final Set<ByteBuffer> certificates = ConcurrentHashMap.newKeySet();
    private final Set<Link> links = ConcurrentHashMap.newKeySet();

    private record Link(ByteBuffer certificate, ByteBuffer issuer) {}

    /** A memo for validations at {@code at} (a validation at another instant is refused). */
    public Memo(Instant at) {
      this.at = java.util.Objects.requireNonNull(at, "at");
    }

    private static ByteBuffer der(X509Certificate c) throws CinemaException {
      try {
        return ByteBuffer.wrap(c.getEncoded());
      } catch (java.security.cert.CertificateEncodingException e) {
        throw new CinemaException("certificate_encoding", "a certificate cannot be encoded");
      }
    }

    private static <T> void remember(Set<T> set, T value) {
      if (set.size() < MAX_REMEMBERED) {
        set.add(value);
      }
    }
  }

  /** Validates a screen's chain at {@code at}. */
  public static ScreenCertificateChain validateScreen(List<X509Certificate> chain, Instant at)
      throws CinemaException {
    return validateScreen(chain, at, null);
  }

  /**
   * Validates a screen's chain at {@code at}, with what earlier validations of {@code memo}
   * (at the same instant) established ({@code null}: none).
   */
  public static ScreenCertificateChain validateScreen(
      List<X509Certificate> chain, Instant at, Memo memo) throws CinemaException {
    validate(Kind.SCREEN, chain, at, memo);
    return new ScreenCertificateChain(chain);
  }

  /** Validates a chain of the given kind at {@code at}; returns normally if every check passes. */
  public static void validate(Kind kind, List<X509Certificate> chain, Instant at)
      throws CinemaException {
    validate(kind, chain, at, null);
  }

  private static void validate(Kind kind, List<X509Certificate> chain, Instant at, Memo memo)
      throws CinemaException {
    if (memo != null && !memo.at.equals(at)) {
      throw new IllegalArgumentException(
          "the memo is for validations at " + memo.at + ", not " + at);
    }
    String p = kind.prefix();
    if (chain == null || chain.size() < 2 || chain.size() > MAX_CHAIN_LENGTH) {
      throw new CinemaException(
          p + "_chain_length",
          "the chain must hold a leaf, its issuers and a self-signed root (2 to "
              + MAX_CHAIN_LENGTH
              + " certificates), leaf first");
    }
    ByteBuffer[] der = new ByteBuffer[chain.size()];
    for (int i = 0; i < chain.size(); i++) {
      if (memo != null && i > 0) {
        der[i] = Memo.der(chain.get(i));
        if (memo.certificates.contains(der[i])) {
          continue; // passed these checks of its own at this instant (Memo)
        }
      }
      checkCertificate(p, chain.get(i), i, at);
      if (memo != null && i > 0) {
        Memo.remember(memo.certificates, der[i]);
      }
    }
    for (int i = 0; i < chain.size(); i++) {
      X509Certificate cert = chain.get(i);
      X509Certificate issuer = i + 1 < chain.size() ? chain.get(i + 1) : cert;
      if (!cert.getIssuerX500Principal().equals(issuer.getSubjectX500Principal())) {
        throw new CinemaException(
            p + "_chain_order",
            "certificate "
                + i
                + " was not issued by "
                + (i + 1 < chain.size()
                    ? "certificate " + (i + 1)
                    : "itself (the last certificate must be a self-signed root)"));
      }
      Memo.Link link =
          memo != null && i > 0
              ? new Memo.Link(der[i], i + 1 < chain.size() ? der[i + 1] : der[i])
              : null;
      if (link == null || !memo.links.contains(link)) {
        try {
          cert.verify(issuer.getPublicKey());
        } catch (GeneralSecurityException e) {
          throw new CinemaException(
              p + "_chain_signature",
              "the signature of certificate " + i + " does not verify under its issuer's key");
        }
        X500Name subjectName =
            name(p, "certificate " + i + "'s subject", cert.getSubjectX500Principal().getEncoded());
        X500Name issuerName =
            name(p, "certificate " + i + "'s issuer", cert.getIssuerX500Principal().getEncoded());
        if (!DcCertificates.attributeValues(subjectName, BCStyle.O)
            .equals(DcCertificates.attributeValues(issuerName, BCStyle.O))) {
          throw new CinemaException(
              p + "_organization",
              "certificate "
                  + i
                  + ": the subject's O differs from the issuer's O (ST 430-2 root name)");
        }
        if (link != null) {
          Memo.remember(memo.links, link);
        }
      }
      if (i == 0) {
        if (cert.getBasicConstraints() != -1) {
          throw new CinemaException(p + "_ca", "the leaf certificate must not be a CA");
        }
      } else {
        int pathLen = cert.getBasicConstraints();
        if (pathLen < 0) {
          throw new CinemaException(
              p + "_ca", "certificate " + i + " issues a certificate but is not a CA");
        }
        if (!usage(cert, KEY_CERT_SIGN)) {
          throw new CinemaException(p + "_key_usage", "CA certificate " + i + " lacks keyCertSign");
        }
        if (pathLen < i - 1) {
          throw new CinemaException(
              p + "_path_length",
              "CA certificate "
                  + i
                  + " allows "
                  + pathLen
                  + " CAs below it; the chain has "
                  + (i - 1));
        }
      }
    }
    X509Certificate leaf = chain.get(0);
    if (kind == Kind.SCREEN) {
      if (!DcCertificates.roles(leaf).contains("SM")) {
        throw new CinemaException(
            p + "_role",
            "the leaf's common name lacks the Security Manager role SM (roles are the words before the first '.')");
      }
      if (!usage(leaf, KEY_ENCIPHERMENT)) {
        throw new CinemaException(p + "_key_usage", "the screen leaf lacks keyEncipherment");
      }
    } else if (!usage(leaf, DIGITAL_SIGNATURE)) {
      throw new CinemaException(p + "_key_usage", "the signer leaf lacks digitalSignature");
    }
  }

  private static void checkCertificate(String p, X509Certificate cert, int i, Instant at)
      throws CinemaException {
    String which = i == 0 ? "the leaf certificate" : "certificate " + i;
    if (cert.getVersion() != 3) {
      throw new CinemaException(p + "_version", which + " is not X.509 v3");
    }
    if (!SHA256_WITH_RSA.equals(cert.getSigAlgOID())) {
      throw new CinemaException(
          p + "_signature_algorithm",
          which
              + " is signed with "
              + cert.getSigAlgName()
              + "; ST 430-2 requires sha256WithRSAEncryption");
    }
    if (!(cert.getPublicKey() instanceof RSAPublicKey rsa)) {
      throw new CinemaException(p + "_key_type", which + " does not hold an RSA key");
    }
    if (rsa.getModulus().bitLength() != 2048) {
      throw new CinemaException(
          p + "_rsa_size",
          which
              + " holds an RSA-"
              + rsa.getModulus().bitLength()
              + " key; ST 430-2 requires RSA-2048");
    }
    if (!F4.equals(rsa.getPublicExponent())) {
      throw new CinemaException(p + "_rsa_exponent", which + "'s RSA public exponent is not 65537");
    }
    X500Name subject = name(p, which + "'s subject", cert.getSubjectX500Principal().getEncoded());
    X500Name issuer = name(p, which + "'s issuer", cert.getIssuerX500Principal().getEncoded());
    checkPrintable(p, which + "'s subject", subject);
    checkPrintable(p, which + "'s issuer", issuer);
    for (ASN1ObjectIdentifier type :
        List.of(BCStyle.O, BCStyle.OU, BCStyle.CN, BCStyle.DN_QUALIFIER)) {
      if (DcCertificates.attributeValues(subject, type).size() != 1) {
        throw new CinemaException(
            p + "_name_attributes",
            which + "'s subject must hold exactly one each of O, OU, CN and dnQualifier");
      }
    }
    String dnq = DcCertificates.attributeValues(subject, BCStyle.DN_QUALIFIER).get(0);
    String keyDigest;
    try {
      keyDigest = DcCertificates.publicKeyDigest(rsa);
    } catch (IllegalArgumentException e) {
      // the JDK parsed a key whose encoding BouncyCastle cannot read back (fuzzing finding,
      // ScreenChainFuzzTest)
      throw new CinemaException(
          p + "_key_type", which + "'s public key is not a well-formed RSA SubjectPublicKeyInfo");
    }
    if (!dnq.equals(keyDigest)) {
      throw new CinemaException(
          p + "_dn_qualifier",
          which + "'s dnQualifier is not base64(SHA-1) of its PKCS #1 public key");
    }
    try {
      cert.checkValidity(Date.from(at));
    } catch (CertificateExpiredException e) {
      throw new CinemaException(
          p + "_expired", which + " expired at " + cert.getNotAfter().toInstant());
    } catch (CertificateNotYetValidException e) {
      throw new CinemaException(
          p + "_not_yet_valid", which + " is valid only from " + cert.getNotBefore().toInstant());
    }
    if (cert.getKeyUsage() == null) {
      throw new CinemaException(p + "_key_usage", which + " has no key usage extension");
    }
  }

  private static void checkPrintable(String p, String what, X500Name name) throws CinemaException {
    for (RDN rdn : name.getRDNs()) {
      for (AttributeTypeAndValue atv : rdn.getTypesAndValues()) {
        ASN1Encodable v = atv.getValue();
        if (!(v instanceof ASN1PrintableString ps)) {
          throw new CinemaException(
              p + "_string_encoding",
              what
                  + " has an attribute that is not a PrintableString (ST 430-2 names are PrintableString only)");
        }
        // The tag alone is not enough: a decoder keeps whatever bytes follow it, and a control
        // character or '<' would reach the KDM's signed X509SubjectName/X509IssuerName.
        if (!ASN1PrintableString.isPrintableString(ps.getString())) {
          throw new CinemaException(
              p + "_string_encoding",
              what + " has a PrintableString holding a character PrintableString does not allow");
        }
      }
    }
  }

  private static boolean usage(X509Certificate cert, int bit) {
    boolean[] ku = cert.getKeyUsage();
    return ku != null && ku.length > bit && ku[bit];
  }

  /** A name the JDK accepted but BouncyCastle cannot read (found by KdmReaderFuzzTest) is refused. */
  private static X500Name name(String p, String what, byte[] der) throws CinemaException {
    try {
      return X500Name.getInstance(der);
    } catch (IllegalArgumentException | IllegalStateException e) {
      throw new CinemaException(p + "_malformed_name", what + " is not a well-formed X.500 name");
    }
  }
}
