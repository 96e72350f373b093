package dev.keycast.protocol.policy;

import dev.keycast.protocol.MalformedInputException;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.math.BigInteger;
import java.security.cert.CertificateEncodingException;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.Arrays;
import java.util.List;
import javax.security.auth.x500.X500Principal;
import org.bouncycastle.asn1.ASN1Encoding;
import org.bouncycastle.asn1.ASN1GeneralizedTime;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.ASN1Primitive;
import org.bouncycastle.asn1.ASN1UTCTime;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Certificate;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.Extensions;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.asn1.x509.Time;

/**
 * One X.509 certificate parsed once into BouncyCastle's ASN.1 structures ({@link Certificate}),
 * with its original DER. Lean on purpose: no public-key object is built (no key validation), there
 * is no process-wide cache of parsed certificates (the JDK's {@code CertificateFactory} keeps one),
 * and what chain validation reads (validity, basic constraints, key usage, critical extensions, the
 * {@code tbsCertificate} bytes under the signature) is read once here.
 *
 * <p>Parsing checks what the JDK's {@code X509Factory} checks before it hands out a certificate:
 * a single DER SEQUENCE without trailing bytes, a structurally valid {@code Certificate}, the
 * signature algorithm of {@code tbsCertificate} equal to the outer one, well-formed validity
 * times, no repeated extension, and well-formed basic constraints and key usage when present.
 * It does not check the signature or the dates: that is {@link AnchorChainValidator}'s job.
 *
 * <p>Immutable and thread-safe.
 */
public final class ParsedCertificate {
  /** Largest accepted certificate, in bytes (as {@code RecipientKeys.MAX_INPUT_LENGTH}). */
  public static final int MAX_BYTES = 64 * 1024;

  /** Value of {@link #pathLength()} for a certificate that is not a CA. */
  static final int NOT_CA = -1;

  private final byte[] der;
  private final int tbsOffset;
  private final int tbsLength;
  private final Certificate cert;
  private final byte[] spki;
  private final long notBefore;
  private final long notAfter;
  private final ASN1ObjectIdentifier[] critical;
  private final int pathLength;
  private final boolean keyCertSign;
  private final boolean hasKeyUsage;
  private final boolean keyEncipherment;
  private final boolean keyAgreement;
  private final boolean pkixOnlyExtension;

  private ParsedCertificate(byte[] der) throws MalformedInputException {
    this.der = der;
    Certificate c;
    try {
      c = Certificate.getInstance(ASN1Primitive.fromByteArray(der)); // rejects trailing bytes
    } catch (IOException | RuntimeException e) {
      throw notACertificate(der);
    }
    if (c == null) {
      throw notACertificate(der);
    }
    this.cert = c;
    long[] tbs = tbsRange(der);
    this.tbsOffset = (int) tbs[0];
    this.tbsLength = (int) tbs[1];
    try {
      if (!c.getTBSCertificate().getSignature().equals(c.getSignatureAlgorithm())) {
        throw new MalformedInputException(
            MalformedInputException.Kind.MALFORMED,
            "certificate signature algorithm mismatch between tbsCertificate and certificate");
      }
      this.spki = spki(der, tbsOffset, tbsOffset + tbsLength);
      this.notBefore = epochMillis(c.getStartDate());
      this.notAfter = epochMillis(c.getEndDate());
      c.getSignature().getOctets(); // a signature BIT STRING with unused bits is malformed
      Extensions ext = c.getTBSCertificate().getExtensions();
      if (ext == null) {
        critical = new ASN1ObjectIdentifier[0];
        pathLength = NOT_CA;
        keyCertSign = false;
        hasKeyUsage = false;
        keyEncipherment = false;
        keyAgreement = false;
        pkixOnlyExtension = false;
      } else {
        critical = ext.getCriticalExtensionOIDs();
        BasicConstraints bc = BasicConstraints.fromExtensions(ext);
        if (bc == null || !bc.isCA()) {
          pathLength = NOT_CA;
        } else {
          BigInteger len = bc.getPathLenConstraint();
          if (len != null && len.signum() < 0) {
            throw new MalformedInputException(
                MalformedInputException.Kind.MALFORMED, "negative pathLenConstraint");
          }
          pathLength = len == null || len.bitLength() > 31 ? Integer.MAX_VALUE : len.intValue();
        }
        KeyUsage ku = KeyUsage.fromExtensions(ext);
        hasKeyUsage = ku != null;
        keyCertSign = ku != null && ku.hasUsages(KeyUsage.keyCertSign);
        keyEncipherment = ku != null && ku.hasUsages(KeyUsage.keyEncipherment);
        keyAgreement = ku != null && ku.hasUsages(KeyUsage.keyAgreement);
        boolean pkixOnly = false;
        for (ASN1ObjectIdentifier oid : PKIX_ONLY) {
          pkixOnly |= ext.getExtension(oid) != null;
        }
        pkixOnlyExtension = pkixOnly;
      }
    } catch (MalformedInputException e) {
      throw e;
    } catch (IOException | RuntimeException e) {
      throw notACertificate(der);
    }
  }

  /** Extensions PKIX enforces and the direct walk does not: chains with them go to PKIX. */
  private static final List<ASN1ObjectIdentifier> PKIX_ONLY =
      List.of(
          Extension.nameConstraints,
          Extension.certificatePolicies,
          Extension.policyMappings,
          Extension.policyConstraints,
          Extension.inhibitAnyPolicy);

  /**
   * Parses one DER certificate; keeps {@code der} (the caller must not modify it afterwards).
   *
   * @throws MalformedInputException {@code oversize} above {@link #MAX_BYTES}, {@code malformed}
   *     if it is not a DER X.509 certificate
   */
  public static ParsedCertificate parse(byte[] der) throws MalformedInputException {
    if (der == null) {
      throw new MalformedInputException(
          MalformedInputException.Kind.MALFORMED, "no certificate given");
    }
    if (der.length > MAX_BYTES) {
      throw new MalformedInputException(
          MalformedInputException.Kind.OVERSIZE,
          "certificate is " + der.length + " bytes, limit " + MAX_BYTES);
    }
    return new ParsedCertificate(der);
  }

  /** The same certificate as a JDK {@link X509Certificate} was parsed from. */
  public static ParsedCertificate of(X509Certificate certificate) throws MalformedInputException {
    try {
      return parse(certificate.getEncoded());
    } catch (CertificateEncodingException e) {
      throw new MalformedInputException(
          MalformedInputException.Kind.MALFORMED, "certificate has no encoding");
    }
  }

  /** {@link #of} for a list, in order. */
  public static List<ParsedCertificate> of(List<X509Certificate> chain)
      throws MalformedInputException {
    ParsedCertificate[] out = new ParsedCertificate[chain.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = of(chain.get(i));
    }
    return List.of(out);
  }

  /** BouncyCastle's ASN.1 view of the certificate (do not modify). */
  public Certificate asn1() {
    return cert;
  }

  /** The certificate's DER (a copy). */
  public byte[] encoded() {
    return der.clone();
  }

  /** The certificate's SubjectPublicKeyInfo DER, as received (a copy). */
  public byte[] publicKeyInfo() {
    return spki.clone();
  }

  /** Whether the certificate's SubjectPublicKeyInfo DER equals {@code spkiDer}. */
  public boolean hasPublicKey(byte[] spkiDer) {
    return Arrays.equals(spki, spkiDer);
  }

  public X500Name issuer() {
    return cert.getIssuer();
  }

  public X500Name subject() {
    return cert.getSubject();
  }

  public BigInteger serialNumber() {
    return cert.getSerialNumber().getValue();
  }

  /**
   * The SMPTE ST 430-2 certificate thumbprint: base64 (standard, padded) of SHA-1 over the
   * {@code tbsCertificate} DER as received (computed on each call).
   */
  public String thumbprintBase64() {
    try {
      java.security.MessageDigest sha1 = java.security.MessageDigest.getInstance("SHA-1");
      sha1.update(der, tbsOffset, tbsLength);
      return java.util.Base64.getEncoder().encodeToString(sha1.digest());
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-1 is a mandatory JDK algorithm", e);
    }
  }

  /** The subject as a JDK principal (built on each call). */
  public X500Principal subjectPrincipal() {
    return principal(cert.getSubject());
  }

  /** The JDK's parse of the same DER (for PKIX; not cached here, the JDK's factory caches). */
  public X509Certificate toX509Certificate() throws CertificateException {
    return (X509Certificate)
        CertificateFactory.getInstance("X.509").generateCertificate(new ByteArrayInputStream(der));
  }

  // ---- what the chain walk reads (package-private) ----

  byte[] der() {
    return der;
  }

  int tbsOffset() {
    return tbsOffset;
  }

  int tbsLength() {
    return tbsLength;
  }

  byte[] spki() {
    return spki;
  }

  boolean validAt(long millis) {
    return millis >= notBefore && millis <= notAfter; // as X509Certificate.checkValidity
  }

  ASN1ObjectIdentifier[] criticalExtensions() {
    return critical;
  }

  /** {@link #NOT_CA}, or the CA's path length constraint ({@code MAX_VALUE} when absent). */
  int pathLength() {
    return pathLength;
  }

  /** Whether basic constraints say {@code cA} true. */
  boolean isCa() {
    return pathLength != NOT_CA;
  }

  /**
   * Whether the certified key may be used to encrypt a secret to it: true without a key usage
   * extension; with one, {@code keyEncipherment} for an RSA key (CMS key transport) and {@code
   * keyAgreement} for an X25519 key (HPKE's DH), RFC 5280 4.2.1.3 and RFC 8410 5. Another key
   * algorithm is never a recipient key (the caller binds the leaf to the recipient's RSA or X25519
   * key); for it either usage counts.
   */
  boolean allowsKeyEstablishment() {
    org.bouncycastle.asn1.ASN1ObjectIdentifier alg =
        cert.getSubjectPublicKeyInfo().getAlgorithm().getAlgorithm();
    if (alg.equals(org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers.rsaEncryption)) {
      return !hasKeyUsage || keyEncipherment;
    }
    if (alg.equals(org.bouncycastle.asn1.edec.EdECObjectIdentifiers.id_X25519)) {
      return !hasKeyUsage || keyAgreement;
    }
    return !hasKeyUsage || keyEncipherment || keyAgreement;
  }

  /** False only when a key usage extension is present without {@code keyCertSign}. */
  boolean mayCertify() {
    return !hasKeyUsage || keyCertSign;
  }

  boolean hasPkixOnlyExtension() {
    return pkixOnlyExtension;
  }

  /** Whether two names are the same (same DER, or equal as the JDK compares principals). */
  static boolean sameName(X500Name a, X500Name b) {
    if (a.toASN1Primitive().equals(b.toASN1Primitive())) {
      return true;
    }
    X500Principal pa = principal(a);
    return pa != null && pa.equals(principal(b));
  }

  private static X500Principal principal(X500Name name) {
    try {
      return new X500Principal(name.getEncoded(ASN1Encoding.DER));
    } catch (IOException | RuntimeException e) {
      return null;
    }
  }

  /**
   * The offset and length of the {@code tbsCertificate} TLV inside the certificate's DER: the
   * bytes the signature covers, as received (not re-encoded).
   */
  private static long[] tbsRange(byte[] der) throws MalformedInputException {
    int outerHeader = headerLength(der, 0);
    int tbsStart = outerHeader;
    int tbsHeader = headerLength(der, tbsStart);
    long tbsContent = contentLength(der, tbsStart);
    long end = tbsStart + tbsHeader + tbsContent;
    if (der[tbsStart] != 0x30 || end > der.length) {
      throw notACertificate(der);
    }
    return new long[] {tbsStart, end - tbsStart};
  }

  /**
   * The {@code subjectPublicKeyInfo} TLV of the {@code tbsCertificate} at {@code tbs}, as received:
   * the element after the optional {@code [0] version} and five more (serial number, signature,
   * issuer, validity, subject). BouncyCastle parsed the same bytes, so only framing is read here.
   */
  private static byte[] spki(byte[] der, int tbs, int tbsEnd) throws MalformedInputException {
    int at = tbs + headerLength(der, tbs);
    int skip = (der[at] & 0xff) == 0xa0 ? 6 : 5;
    for (int i = 0; i < skip; i++) {
      at = next(der, at, tbsEnd);
    }
    int end = next(der, at, tbsEnd);
    if (der[at] != 0x30) {
      throw notACertificate(der);
    }
    return Arrays.copyOfRange(der, at, end);
  }

  /** The offset after the TLV at {@code at}, which must end by {@code limit}. */
  private static int next(byte[] der, int at, int limit) throws MalformedInputException {
    if (at >= limit) {
      throw notACertificate(der);
    }
    long end = at + headerLength(der, at) + contentLength(der, at);
    if (end > limit) {
      throw notACertificate(der);
    }
    return (int) end;
  }

  /**
   * A validity time as milliseconds since the epoch. The RFC 5280 (4.1.2.5) forms, {@code
   * YYMMDDHHMMSSZ} (UTCTime, years 1950-2049) and {@code YYYYMMDDHHMMSSZ} (GeneralizedTime), are
   * read here; any other form (BouncyCastle and the JDK accept some) is left to BouncyCastle's
   * {@link Time#getDate()}, which builds a {@code SimpleDateFormat} per call.
   */
  static long epochMillis(Time time) throws IOException {
    ASN1Primitive p = time.toASN1Primitive();
    byte[] enc = p.getEncoded(ASN1Encoding.DER);
    int digits;
    if (p instanceof ASN1UTCTime && enc.length == 15) {
      digits = 12;
    } else if (p instanceof ASN1GeneralizedTime && enc.length == 17) {
      digits = 14;
    } else {
      return time.getDate().getTime();
    }
    if (enc[1] != digits + 1 || enc[enc.length - 1] != 'Z') {
      return time.getDate().getTime();
    }
    int[] v = new int[digits / 2];
    for (int i = 0; i < digits; i++) {
      int d = enc[2 + i] - '0';
      if (d < 0 || d > 9) {
        return time.getDate().getTime();
      }
      v[i / 2] = v[i / 2] * 10 + d;
    }
    boolean utc = digits == 12;
    int year = utc ? (v[0] >= 50 ? 1900 + v[0] : 2000 + v[0]) : v[0] * 100 + v[1];
    int k = utc ? 1 : 2;
    int month = v[k++];
    int day = v[k++];
    int hour = v[k++];
    int minute = v[k++];
    int second = v[k];
    if (hour > 23 || minute > 59 || second > 59) {
      return time.getDate().getTime();
    }
    try {
      long days = java.time.LocalDate.of(year, month, day).toEpochDay();
      return ((days * 24 + hour) * 60 + minute) * 60_000L + second * 1000L;
    } catch (java.time.DateTimeException e) {
      return time.getDate().getTime();
    }
  }

  /** Length of the DER tag-and-length header at {@code at} (single-byte tags, definite length). */
  private static int headerLength(byte[] der, int at) throws MalformedInputException {
    if (at + 2 > der.length) {
      throw notACertificate(der);
    }
    int first = der[at + 1] & 0xff;
    if (first < 0x80) {
      return 2;
    }
    int n = first & 0x7f;
    if (n == 0 || n > 3 || at + 2 + n > der.length) {
      throw notACertificate(der);
    }
    return 2 + n;
  }

  private static long contentLength(byte[] der, int at) throws MalformedInputException {
    int first = der[at + 1] & 0xff;
    if (first < 0x80) {
      return first;
    }
    int n = first & 0x7f;
    long len = 0;
    for (int i = 0; i < n; i++) {
      len = (len << 8) | (der[at + 2 + i] & 0xff);
    }
    return len;
  }

  private static MalformedInputException notACertificate(byte[] der) {
    return new MalformedInputException(
        MalformedInputException.Kind.MALFORMED,
        "not a DER X.509 certificate: " + MalformedInputException.quote(der, 16));
  }

  @Override
  public String toString() {
    return "ParsedCertificate[subject "
        + cert.getSubject()
        + ", issuer "
        + cert.getIssuer()
        + ", serial "
        + serialNumber()
        + "]";
  }
}
