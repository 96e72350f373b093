package dev.keycast.protocol.policy;

import dev.keycast.protocol.crypto.CryptoBackend;
import dev.keycast.protocol.crypto.CryptoBackends;
import dev.keycast.protocol.crypto.RsaSignatureDigest;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.security.GeneralSecurityException;
import java.security.InvalidAlgorithmParameterException;
import java.security.KeyFactory;
import java.security.NoSuchAlgorithmException;
import java.security.PublicKey;
import java.security.Signature;
import java.security.cert.CertPathValidator;
import java.security.cert.CertPathValidatorException;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.PKIXParameters;
import java.security.cert.TrustAnchor;
import java.security.cert.X509Certificate;
import java.security.spec.X509EncodedKeySpec;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.bouncycastle.asn1.ASN1Encodable;
import org.bouncycastle.asn1.ASN1Null;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.asn1.pkcs.RSAPublicKey;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.AlgorithmIdentifier;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;

/**
 * Validates a certificate chain against a fixed set of trust anchors, as strictly as the JDK's
 * PKIX validator with revocation off ({@code PKIXParameters} with the anchors, the given date and
 * nothing else), but without its per-call machinery: a direct walk from the anchor to the leaf.
 *
 * <p>For every certificate of the path (the chain minus a trailing self-signed root), from the
 * anchor's side: its issuer name equals the subject of the certificate (or anchor) above it; its
 * signature verifies under that one's public key; it is valid at {@code now}; every critical
 * extension is one this class enforces (basic constraints, key usage, extended key usage, subject
 * alternative name). Every certificate but the leaf is a CA (basic constraints {@code cA} true),
 * carries {@code keyCertSign} when it has a key usage, and obeys the path length constraints of
 * the CAs above it (RFC 5280 6.1.4 (l), (m); self-issued certificates do not count). The anchor
 * itself is trusted as given (neither its validity nor its constraints are checked), as in PKIX.
 *
 * <p>Chains this walk does not cover run through PKIX itself, so the outcome never differs from
 * PKIX's: a certificate with name constraints or any certificate policy extension, a signature
 * algorithm other than SHA-256/384/512 with RSA (PKCS #1 v1.5) or ECDSA, or Ed25519, or a key
 * other than RSA of at least 2048 bits, EC on P-256/P-384/P-521, Ed25519 or X25519 (PKIX's
 * algorithm constraints apply to those).
 *
 * <p>Works on {@link ParsedCertificate}s (BouncyCastle's ASN.1 structures, no JDK certificate
 * objects): names are compared as DER first and, when the bytes differ, as the JDK compares {@link
 * javax.security.auth.x500.X500Principal}s; each signature is checked over the {@code
 * tbsCertificate} bytes as received, RSA PKCS #1 v1.5 through {@link
 * CryptoBackend#rsaPkcs1Verify} (OpenSSL's {@code EVP_DigestVerify} on the {@code openssl}
 * backend), ECDSA and Ed25519 through {@link Signature}. Only the PKIX fallback builds JDK {@link
 * X509Certificate}s.
 *
 * <p>One instance per send; thread-safe. Signatures of intermediate CA certificates verified once
 * are remembered (by certificate and issuer key), so a send to many leaves under one intermediate
 * verifies that intermediate once; leaves are always verified.
 */
final class AnchorChainValidator {
  private static final Set<ASN1ObjectIdentifier> UNDERSTOOD =
      Set.of(
          Extension.basicConstraints,
          Extension.keyUsage,
          Extension.extendedKeyUsage,
          Extension.subjectAlternativeName);
  private static final ASN1ObjectIdentifier ED25519 = new ASN1ObjectIdentifier("1.3.101.112");
  private static final ASN1ObjectIdentifier X25519 = new ASN1ObjectIdentifier("1.3.101.110");
  private static final ASN1ObjectIdentifier EC_PUBLIC_KEY =
      new ASN1ObjectIdentifier("1.2.840.10045.2.1");
  private static final Set<ASN1ObjectIdentifier> CURVES =
      Set.of(
          new ASN1ObjectIdentifier("1.2.840.10045.3.1.7"), // P-256
          new ASN1ObjectIdentifier("1.3.132.0.34"), // P-384
          new ASN1ObjectIdentifier("1.3.132.0.35")); // P-521
  private static final Map<ASN1ObjectIdentifier, String> ECDSA =
      Map.of(
          new ASN1ObjectIdentifier("1.2.840.10045.4.3.2"), "SHA256withECDSA",
          new ASN1ObjectIdentifier("1.2.840.10045.4.3.3"), "SHA384withECDSA",
          new ASN1ObjectIdentifier("1.2.840.10045.4.3.4"), "SHA512withECDSA");

  /** Most intermediate signatures remembered per send. */
  static final int MAX_REMEMBERED = 4096;

  private final List<ParsedCertificate> anchors;

  /** False when an anchor's key is outside the walk's algorithms: every chain then goes to PKIX. */
  private final boolean walkable;

  private final CryptoBackend backend;
  private final Set<Verified> verified = ConcurrentHashMap.newKeySet();
  private volatile Set<TrustAnchor> trustAnchors;

  /** A signature already verified: the certificate's DER under the issuer key's encoding. */
  private record Verified(ByteBuffer certificate, ByteBuffer issuerKey) {}

  /** With the process's crypto backend ({@link CryptoBackends#get()}). */
  AnchorChainValidator(List<ParsedCertificate> anchors) {
    this(anchors, CryptoBackends.get());
  }

  AnchorChainValidator(List<ParsedCertificate> anchors, CryptoBackend backend) {
    this.anchors = List.copyOf(anchors);
    this.backend = backend;
    boolean all = true;
    for (ParsedCertificate a : anchors) {
      all &= walkableKey(a.asn1().getSubjectPublicKeyInfo());
    }
    this.walkable = all;
  }

  /** Whether {@code chain} (leaf first) leads to one of the anchors at {@code now}. */
  boolean isValid(List<ParsedCertificate> chain, Instant now) {
    if (chain.isEmpty()) {
      return false;
    }
    List<ParsedCertificate> path = chain;
    ParsedCertificate last = path.getLast();
    if (path.size() > 1 && ParsedCertificate.sameName(last.subject(), last.issuer())) {
      path =
          path.subList(0, path.size() - 1); // a self-signed root is an anchor, not part of the path
    }
    if (!walkable || !walkable(path)) {
      return pkix(path, now);
    }
    X500Name top = path.getLast().issuer();
    long at = now.toEpochMilli();
    for (ParsedCertificate anchor : anchors) {
      if (ParsedCertificate.sameName(anchor.subject(), top) && walk(anchor, path, at)) {
        return true;
      }
    }
    return false;
  }

  private boolean walk(ParsedCertificate anchor, List<ParsedCertificate> path, long at) {
    byte[] key = anchor.spki();
    X500Name name = anchor.subject();
    int maxPathLength = path.size();
    for (int i = path.size() - 1; i >= 0; i--) {
      ParsedCertificate c = path.get(i);
      boolean leaf = i == 0;
      X500Name issuer = c.issuer();
      if (issuer.getRDNs().length == 0 || !ParsedCertificate.sameName(issuer, name)) {
        return false; // empty issuer names never chain
      }
      if (!c.validAt(at)) {
        return false;
      }
      for (ASN1ObjectIdentifier oid : c.criticalExtensions()) {
        if (!UNDERSTOOD.contains(oid)) {
          return false;
        }
      }
      if (!leaf) {
        int pathLen = c.pathLength();
        if (pathLen == ParsedCertificate.NOT_CA) {
          return false; // not a CA (also every v1 or v2 certificate)
        }
        if (!c.mayCertify()) {
          return false; // no keyCertSign
        }
        if (!ParsedCertificate.sameName(c.subject(), issuer)) { // self-issued CAs do not count
          if (maxPathLength <= 0) {
            return false;
          }
          maxPathLength--;
        }
        maxPathLength = Math.min(maxPathLength, pathLen);
      }
      if (!signatureVerifies(c, key, leaf)) {
        return false;
      }
      key = c.spki();
      name = c.subject();
    }
    return true;
  }

  private boolean signatureVerifies(ParsedCertificate c, byte[] issuerKey, boolean leaf) {
    Verified v = null;
    if (!leaf) {
      v = new Verified(ByteBuffer.wrap(c.der()), ByteBuffer.wrap(issuerKey));
      if (verified.contains(v)) {
        return true;
      }
    }
    if (!verify(c, issuerKey)) {
      return false;
    }
    if (v != null && verified.size() < MAX_REMEMBERED) {
      verified.add(v);
    }
    return true;
  }

  /** The signature of {@code c} under the issuer's SubjectPublicKeyInfo DER. */
  private boolean verify(ParsedCertificate c, byte[] issuerKey) {
    ASN1ObjectIdentifier alg = c.asn1().getSignatureAlgorithm().getAlgorithm();
    byte[] signature;
    try {
      signature = c.asn1().getSignature().getOctets();
    } catch (RuntimeException e) {
      return false;
    }
    RsaSignatureDigest rsa = RsaSignatureDigest.forSignatureOid(alg.getId());
    if (rsa != null) {
      return backend.rsaPkcs1Verify(
          rsa, issuerKey, c.der(), c.tbsOffset(), c.tbsLength(), signature);
    }
    String jca = alg.equals(ED25519) ? "Ed25519" : ECDSA.get(alg);
    if (jca == null) {
      return false; // walkable() admits no other algorithm
    }
    return verifyJca(jca, issuerKey, c.der(), c.tbsOffset(), c.tbsLength(), signature);
  }

  /**
   * An ECDSA (DER signature) or Ed25519 signature over {@code data[offset, offset + length)} under
   * a SubjectPublicKeyInfo, through the JDK's {@link Signature}; false for any failure. Package
   * visible for the Wycheproof tests.
   *
   * @param jca {@code Ed25519} or {@code SHA256withECDSA} / {@code SHA384withECDSA} / {@code
   *     SHA512withECDSA}
   */
  static boolean verifyJca(
      String jca, byte[] issuerKey, byte[] data, int offset, int length, byte[] signature) {
    if (!jca.equals("Ed25519") && !isDerEcdsaSignature(signature)) {
      return false; // the JDK also takes BER forms: a second valid encoding, a second fingerprint
    }
    try {
      PublicKey k =
          KeyFactory.getInstance(jca.equals("Ed25519") ? "Ed25519" : "EC")
              .generatePublic(new X509EncodedKeySpec(issuerKey));
      Signature s = Signature.getInstance(jca);
      s.initVerify(k);
      s.update(data, offset, length);
      return s.verify(signature);
    } catch (GeneralSecurityException | RuntimeException e) {
      return false;
    }
  }

  /**
   * Whether {@code sig} is an ECDSA-Sig-Value in DER: {@code SEQUENCE { r INTEGER, s INTEGER }}
   * with nothing after it, each INTEGER minimal and positive. The JDK's ECDSA verifier also accepts
   * some non-minimal forms (Wycheproof {@code MissingZero}: an INTEGER whose top bit is set without
   * the leading zero byte, read as the same positive number), so the same signature would have a
   * second encoding and the certificate a second fingerprint that still verifies.
   */
  static boolean isDerEcdsaSignature(byte[] sig) {
    try {
      org.bouncycastle.asn1.ASN1Primitive p =
          org.bouncycastle.asn1.ASN1Primitive.fromByteArray(sig);
      if (!(p instanceof org.bouncycastle.asn1.ASN1Sequence seq) || seq.size() != 2) {
        return false;
      }
      for (int i = 0; i < 2; i++) {
        if (!(seq.getObjectAt(i) instanceof org.bouncycastle.asn1.ASN1Integer n)
            || n.getValue().signum() <= 0) {
          return false;
        }
      }
      return java.util.Arrays.equals(p.getEncoded(org.bouncycastle.asn1.ASN1Encoding.DER), sig);
    } catch (java.io.IOException | RuntimeException e) {
      return false;
    }
  }

  /** Whether {@code path} is checked by the direct walk (else by PKIX); for tests. */
  boolean walks(List<ParsedCertificate> path) {
    return walkable && walkable(path);
  }

  /** Whether every certificate of the path stays within what {@link #walk} enforces. */
  private static boolean walkable(List<ParsedCertificate> path) {
    for (ParsedCertificate c : path) {
      if (!walkableSignature(c.asn1().getSignatureAlgorithm())
          || !walkableKey(c.asn1().getSubjectPublicKeyInfo())
          || c.hasPkixOnlyExtension()) {
        return false;
      }
    }
    return true;
  }

  private static boolean walkableSignature(AlgorithmIdentifier id) {
    ASN1ObjectIdentifier alg = id.getAlgorithm();
    ASN1Encodable params = id.getParameters();
    if (RsaSignatureDigest.forSignatureOid(alg.getId()) != null) {
      return params == null || params instanceof ASN1Null; // RFC 4055: NULL (or absent)
    }
    return (alg.equals(ED25519) || ECDSA.containsKey(alg)) && params == null; // RFC 5758, 8410
  }

  private static boolean walkableKey(SubjectPublicKeyInfo spki) {
    ASN1ObjectIdentifier alg = spki.getAlgorithm().getAlgorithm();
    ASN1Encodable params = spki.getAlgorithm().getParameters();
    try {
      if (alg.equals(PKCSObjectIdentifiers.rsaEncryption)) {
        if (params != null && !(params instanceof ASN1Null)) {
          return false;
        }
        RSAPublicKey k = RSAPublicKey.getInstance(spki.parsePublicKey());
        return k.getModulus().bitLength() >= 2048 && k.getPublicExponent().signum() > 0;
      }
      if (alg.equals(EC_PUBLIC_KEY)) {
        return params instanceof ASN1ObjectIdentifier curve && CURVES.contains(curve);
      }
      if (alg.equals(ED25519) || alg.equals(X25519)) {
        return params == null && spki.getPublicKeyData().getOctets().length == 32;
      }
    } catch (IOException | RuntimeException e) {
      return false;
    }
    return false;
  }

  /** The reference: the JDK's PKIX validator, revocation off. */
  boolean pkix(List<ParsedCertificate> path, Instant now) {
    try {
      CertificateFactory cf = CertificateFactory.getInstance("X.509");
      List<X509Certificate> x509 = new ArrayList<>(path.size());
      for (ParsedCertificate c : path) {
        x509.add((X509Certificate) cf.generateCertificate(new ByteArrayInputStream(c.der())));
      }
      PKIXParameters params = new PKIXParameters(trustAnchors(cf));
      params.setRevocationEnabled(false);
      params.setDate(Date.from(now));
      CertPathValidator.getInstance("PKIX").validate(cf.generateCertPath(x509), params);
      return true;
    } catch (CertPathValidatorException
        | InvalidAlgorithmParameterException
        | NoSuchAlgorithmException
        | CertificateException
        | RuntimeException e) {
      return false;
    }
  }

  private Set<TrustAnchor> trustAnchors(CertificateFactory cf) throws CertificateException {
    Set<TrustAnchor> t = trustAnchors;
    if (t == null) {
      t = new HashSet<>();
      for (ParsedCertificate a : anchors) {
        t.add(
            new TrustAnchor(
                (X509Certificate) cf.generateCertificate(new ByteArrayInputStream(a.der())), null));
      }
      trustAnchors = t;
    }
    return t;
  }
}
