package dev.keycast.protocol.cinema;

import java.math.BigInteger;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.security.spec.RSAKeyGenParameterSpec;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Date;
import java.util.List;
import org.bouncycastle.asn1.ASN1Encodable;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.DERPrintableString;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.X500NameBuilder;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.CertIOException;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * Issues SMPTE ST 430-2 certificate chains (self-signed root, one intermediate, leaf), such as the
 * enclave's KDM signer chain: RSA-2048 keys with exponent 65537, sha256WithRSAEncryption,
 * PrintableString names (O, OU, CN "roles.entity", dnQualifier = public key digest), UTCTime
 * validity of at most {@link #MAX_VALIDITY_YEARS} years, the root a CA with path length 1, the
 * intermediate a CA with path length 0, the leaf no CA with digitalSignature and keyEncipherment.
 * Every issued chain passes {@link DcCertificateChainValidator} before it is returned.
 */
public final class DcCertificateIssuer {
  /** ST 430-2 certificates Keycast issues are valid for at most this many years. */
  public static final int MAX_VALIDITY_YEARS = 10;

  /** The certificates of an issued chain with their key pairs. */
  public record IssuedChain(
      List<X509Certificate> chain, KeyPair root, KeyPair intermediate, KeyPair leaf) {
    public IssuedChain {
      chain = List.copyOf(chain);
    }

    public X509Certificate leafCertificate() {
      return chain.get(0);
    }

    public X509Certificate rootCertificate() {
      return chain.get(chain.size() - 1);
    }
  }

  /**
   * What to put in the chain's names. {@code organization} is the ST 430-2 "root name" carried as
   * O by every certificate; {@code organizationalUnit} the OU; the root's and intermediate's CN are
   * {@code "." + entity}; the leaf's CN is {@code leafRoles + "." + leafEntity} (roles may be empty,
   * e.g. {@code "CS"} for a content/KDM signer, {@code "SM"} for a Security Manager).
   */
  public record ChainNames(
      String organization,
      String organizationalUnit,
      String rootEntity,
      String intermediateEntity,
      String leafRoles,
      String leafEntity) {}

  private DcCertificateIssuer() {}

  /** A fresh RSA-2048 key pair with exponent 65537. */
  public static KeyPair newRsa2048(SecureRandom random) {
    try {
      KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
      g.initialize(new RSAKeyGenParameterSpec(2048, RSAKeyGenParameterSpec.F4), random);
      return g.generateKeyPair();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("RSA key generation is a mandatory JDK algorithm", e);
    }
  }

  /** Issues a chain with fresh keys, valid from {@code notBefore} for {@code years} years. */
  public static IssuedChain issue(
      ChainNames names, Instant notBefore, int years, SecureRandom random) throws CinemaException {
    return issue(
        names,
        newRsa2048(random),
        newRsa2048(random),
        newRsa2048(random),
        notBefore,
        years,
        random);
  }

  /**
   * Issues a chain for the given key pairs (each RSA-2048 with exponent 65537), valid from {@code
   * notBefore} for {@code years} (1 to {@link #MAX_VALIDITY_YEARS}) years; serial numbers are
   * drawn from {@code random}.
   */
  public static IssuedChain issue(
      ChainNames names,
      KeyPair root,
      KeyPair intermediate,
      KeyPair leaf,
      Instant notBefore,
      int years,
      SecureRandom random)
      throws CinemaException {
    if (years < 1 || years > MAX_VALIDITY_YEARS) {
      throw new CinemaException(
          "certificate_validity_too_long",
          "an ST 430-2 chain is issued for 1 to " + MAX_VALIDITY_YEARS + " years");
    }
    Instant start = notBefore.truncatedTo(java.time.temporal.ChronoUnit.SECONDS);
    Instant end = start.atOffset(ZoneOffset.UTC).plusYears(years).toInstant();
    if (end.atOffset(ZoneOffset.UTC).getYear() >= 2050) {
      throw new CinemaException(
          "certificate_validity_too_long", "ST 430-2 validity must end before 2050 (UTCTime)");
    }
    X500Name rootName =
        name(
            names.organization(),
            names.organizationalUnit(),
            "." + names.rootEntity(),
            root.getPublic());
    X500Name interName =
        name(
            names.organization(),
            names.organizationalUnit(),
            "." + names.intermediateEntity(),
            intermediate.getPublic());
    X500Name leafName =
        name(
            names.organization(),
            names.organizationalUnit(),
            names.leafRoles() + "." + names.leafEntity(),
            leaf.getPublic());
    int caUsage = KeyUsage.keyCertSign | KeyUsage.cRLSign;
    X509Certificate rootCert =
        certificate(
            rootName,
            root.getPublic(),
            rootName,
            root.getPrivate(),
            null,
            new BasicConstraints(1),
            caUsage,
            start,
            end,
            random);
    X509Certificate interCert =
        certificate(
            interName,
            intermediate.getPublic(),
            rootName,
            root.getPrivate(),
            root.getPublic(),
            new BasicConstraints(0),
            caUsage,
            start,
            end,
            random);
    X509Certificate leafCert =
        certificate(
            leafName,
            leaf.getPublic(),
            interName,
            intermediate.getPrivate(),
            intermediate.getPublic(),
            new BasicConstraints(false),
            KeyUsage.digitalSignature | KeyUsage.keyEncipherment,
            start,
            end,
            random);
    List<X509Certificate> chain = List.of(leafCert, interCert, rootCert);
    DcCertificateChainValidator.validate(
        names.leafRoles().contains("SM")
            ? DcCertificateChainValidator.Kind.SCREEN
            : DcCertificateChainValidator.Kind.SIGNER,
        chain,
        start);
    return new IssuedChain(chain, root, intermediate, leaf);
  }

  /**
   * A PKCS #10 certificate signing request (DER) for a signer leaf that the distributor's own CA
   * will issue: subject O, OU, CN {@code roles.entity} and dnQualifier as ST 430-2 requires, all
   * PrintableString, signed with SHA256withRSA by the leaf key (RSA-2048, exponent 65537). The
   * signed chain comes back through {@link KdmSigner#of}, which checks the profile and that the
   * leaf holds this key.
   */
  public static byte[] signerCsr(
      String organization, String organizationalUnit, String roles, String entity, KeyPair leaf)
      throws CinemaException {
    if (!(leaf.getPublic() instanceof java.security.interfaces.RSAPublicKey rsa)
        || rsa.getModulus().bitLength() != 2048
        || !rsa.getPublicExponent().equals(RSAKeyGenParameterSpec.F4)) {
      throw new CinemaException(
          "signer_certificate_rsa_size", "the signer key must be RSA-2048 with exponent 65537");
    }
    X500Name subject =
        name(organization, organizationalUnit, roles + "." + entity, leaf.getPublic());
    try {
      return new org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequestBuilder(
              subject, leaf.getPublic())
          .build(new JcaContentSignerBuilder("SHA256withRSA").build(leaf.getPrivate()))
          .getEncoded();
    } catch (OperatorCreationException | java.io.IOException e) {
      throw new IllegalStateException("building a certificate signing request failed", e);
    }
  }

  private static X500Name name(String o, String ou, String cn, PublicKey key)
      throws CinemaException {
    for (String v : List.of(o, ou, cn)) {
      if (v == null || v.isEmpty() || v.length() > 64 || !DERPrintableString.isPrintableString(v)) {
        throw new CinemaException(
            "certificate_name",
            "O, OU and CN must be 1 to 64 PrintableString characters (letters, digits, space and '()+,-./:=?)");
      }
    }
    return new X500NameBuilder(PrintableStyle.INSTANCE)
        .addRDN(BCStyle.O, o)
        .addRDN(BCStyle.OU, ou)
        .addRDN(BCStyle.CN, cn)
        .addRDN(BCStyle.DN_QUALIFIER, DcCertificates.publicKeyDigest(key))
        .build();
  }

  private static X509Certificate certificate(
      X500Name subject,
      PublicKey subjectKey,
      X500Name issuer,
      PrivateKey issuerKey,
      PublicKey issuerPublic,
      BasicConstraints bc,
      int keyUsage,
      Instant notBefore,
      Instant notAfter,
      SecureRandom random)
      throws CinemaException {
    try {
      BigInteger serial = new BigInteger(63, random).setBit(62);
      X509v3CertificateBuilder b =
          new JcaX509v3CertificateBuilder(
              issuer, serial, Date.from(notBefore), Date.from(notAfter), subject, subjectKey);
      JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
      b.addExtension(Extension.basicConstraints, true, bc);
      b.addExtension(Extension.keyUsage, true, new KeyUsage(keyUsage));
      b.addExtension(
          Extension.subjectKeyIdentifier, false, ext.createSubjectKeyIdentifier(subjectKey));
      b.addExtension(
          Extension.authorityKeyIdentifier,
          false,
          ext.createAuthorityKeyIdentifier(issuerPublic == null ? subjectKey : issuerPublic));
      return new JcaX509CertificateConverter()
          .getCertificate(b.build(new JcaContentSignerBuilder("SHA256withRSA").build(issuerKey)));
    } catch (CertIOException | OperatorCreationException | GeneralSecurityException e) {
      throw new IllegalStateException("issuing a certificate failed", e);
    }
  }

  /** BCStyle, but every attribute value encoded as a PrintableString (ST 430-2). */
  static final class PrintableStyle extends BCStyle {
    static final PrintableStyle INSTANCE = new PrintableStyle();

    @Override
    protected ASN1Encodable encodeStringValue(ASN1ObjectIdentifier oid, String value) {
      return new DERPrintableString(value, true);
    }
  }
}
