package dev.keycast.protocol.policy;

import java.nio.ByteBuffer;
import java.security.GeneralSecurityException;
import java.security.InvalidAlgorithmParameterException;
import java.security.NoSuchAlgorithmException;
import java.security.PublicKey;
import java.security.cert.CertPathValidator;
import java.security.cert.CertPathValidatorException;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.PKIXParameters;
import java.security.cert.TrustAnchor;
import java.security.cert.X509Certificate;
import java.security.interfaces.ECPublicKey;
import java.security.interfaces.RSAPublicKey;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import javax.security.auth.x500.X500Principal;

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
 * <p>One instance per send; thread-safe. Signatures of intermediate CA certificates verified once
 * are remembered (by certificate and issuer key), so a send to many leaves under one intermediate
 * verifies that intermediate once; leaves are always verified.
 */
final class AnchorChainValidator {
  private static final String BASIC_CONSTRAINTS = "2.5.29.19";
  private static final String KEY_USAGE = "2.5.29.15";
  private static final String EXTENDED_KEY_USAGE = "2.5.29.37";
  private static final String SUBJECT_ALT_NAME = "2.5.29.17";
  private static final Set<String> UNDERSTOOD =
      Set.of(BASIC_CONSTRAINTS, KEY_USAGE, EXTENDED_KEY_USAGE, SUBJECT_ALT_NAME);
  /** Extensions PKIX enforces and this walk does not: such chains go to PKIX. */
  private static final List<String> PKIX_ONLY = List.of(
      "2.5.29.30", // name constraints
      "2.5.29.32", // certificate policies
      "2.5.29.33", // policy mappings
      "2.5.29.36", // policy constraints
      "2.5.29.54"); // inhibit anyPolicy
  private static final Set<String> SIGNATURES = Set.of(
      "1.2.840.113549.1.1.11", "1.2.840.113549.1.1.12", "1.2.840.113549.1.1.13", // RSA PKCS#1 v1.5
      "1.2.840.10045.4.3.2", "1.2.840.10045.4.3.3", "1.2.840.10045.4.3.4", // ECDSA
      "1.3.101.112"); // Ed25519
  /** Most intermediate signatures remembered per send. */
  static final int MAX_REMEMBERED = 4096;

  private final Set<TrustAnchor> trustAnchors;
  private final Map<X500Principal, List<X509Certificate>> anchorsBySubject = new HashMap<>();
  /** False when an anchor's key is outside the walk's algorithms: every chain then goes to PKIX. */
  private final boolean walkable;
  private final Set<Verified> verified = ConcurrentHashMap.newKeySet();

  /** A signature already verified: the certificate's DER under the issuer key's encoding. */
  private record Verified(ByteBuffer certificate, ByteBuffer issuerKey) {}

  AnchorChainValidator(List<X509Certificate> anchors) {
    this.trustAnchors = new HashSet<>();
    boolean all = true;
    for (X509Certificate a : anchors) {
      trustAnchors.add(new TrustAnchor(a, null));
      anchorsBySubject.computeIfAbsent(a.getSubjectX500Principal(), k -> new ArrayList<>()).add(a);
      all &= walkableKey(a.getPublicKey());
    }
    this.walkable = all;
  }

  /** Whether {@code chain} (leaf first) leads to one of the anchors at {@code now}. */
  boolean isValid(List<X509Certificate> chain, Instant now) {
    if (chain.isEmpty()) {
      return false;
    }
    List<X509Certificate> path = chain;
    X509Certificate last = path.getLast();
    if (path.size() > 1 && last.getSubjectX500Principal().equals(last.getIssuerX500Principal())) {
      path = path.subList(0, path.size() - 1); // a self-signed root is an anchor, not part of the path
    }
    if (!walkable || !walkable(path)) {
      return pkix(path, now);
    }
    List<X509Certificate> issuers = anchorsBySubject.get(path.getLast().getIssuerX500Principal());
    if (issuers == null) {
      return false;
    }
    Date at = Date.from(now);
    for (X509Certificate anchor : issuers) {
      if (walk(anchor, path, at)) {
        return true;
      }
    }
    return false;
  }

  private boolean walk(X509Certificate anchor, List<X509Certificate> path, Date at) {
    PublicKey key = anchor.getPublicKey();
    X500Principal name = anchor.getSubjectX500Principal();
    int maxPathLength = path.size();
    for (int i = path.size() - 1; i >= 0; i--) {
      X509Certificate c = path.get(i);
      boolean leaf = i == 0;
      X500Principal issuer = c.getIssuerX500Principal();
      if (issuer.getEncoded().length <= 2 || !issuer.equals(name)) {
        return false; // empty issuer names never chain
      }
      try {
        c.checkValidity(at);
      } catch (CertificateException e) {
        return false;
      }
      Set<String> critical = c.getCriticalExtensionOIDs();
      if (critical != null && !UNDERSTOOD.containsAll(critical)) {
        return false;
      }
      if (!leaf) {
        int pathLen = c.getBasicConstraints();
        if (pathLen < 0) {
          return false; // not a CA (also every v1 or v2 certificate)
        }
        boolean[] usage = c.getKeyUsage();
        if (usage != null && (usage.length <= 5 || !usage[5])) {
          return false; // no keyCertSign
        }
        if (!c.getSubjectX500Principal().equals(issuer)) { // self-issued CAs do not count
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
      key = c.getPublicKey();
      name = c.getSubjectX500Principal();
    }
    return true;
  }

  private boolean signatureVerifies(X509Certificate c, PublicKey issuerKey, boolean leaf) {
    Verified v = null;
    if (!leaf) {
      try {
        v = new Verified(ByteBuffer.wrap(c.getEncoded()), ByteBuffer.wrap(issuerKey.getEncoded()));
      } catch (CertificateException e) {
        return false;
      }
      if (verified.contains(v)) {
        return true;
      }
    }
    try {
      c.verify(issuerKey);
    } catch (GeneralSecurityException | RuntimeException e) {
      return false;
    }
    if (v != null && verified.size() < MAX_REMEMBERED) {
      verified.add(v);
    }
    return true;
  }

  /** Whether {@code path} is checked by the direct walk (else by PKIX); for tests. */
  boolean walks(List<X509Certificate> path) {
    return walkable && walkable(path);
  }

  /** Whether every certificate of the path stays within what {@link #walk} enforces. */
  private static boolean walkable(List<X509Certificate> path) {
    for (X509Certificate c : path) {
      if (!SIGNATURES.contains(c.getSigAlgOID()) || !walkableKey(c.getPublicKey())) {
        return false;
      }
      for (String oid : PKIX_ONLY) {
        if (c.getExtensionValue(oid) != null) {
          return false;
        }
      }
    }
    return true;
  }

  private static boolean walkableKey(PublicKey key) {
    return switch (key) {
      case RSAPublicKey r -> r.getModulus().bitLength() >= 2048;
      case ECPublicKey e -> {
        String curve = String.valueOf(e.getParams());
        yield curve.startsWith("secp256r1 ") || curve.startsWith("secp384r1 ")
            || curve.startsWith("secp521r1 ");
      }
      default -> key.getAlgorithm().equals("Ed25519") || key.getAlgorithm().equals("X25519")
          || (key.getAlgorithm().equals("EdDSA") && key.getEncoded().length == 44)
          || (key.getAlgorithm().equals("XDH") && key.getEncoded().length == 44);
    };
  }

  /** The reference: the JDK's PKIX validator, revocation off. */
  boolean pkix(List<X509Certificate> path, Instant now) {
    try {
      PKIXParameters params = new PKIXParameters(trustAnchors);
      params.setRevocationEnabled(false);
      params.setDate(Date.from(now));
      CertPathValidator.getInstance("PKIX")
          .validate(CertificateFactory.getInstance("X.509").generateCertPath(path), params);
      return true;
    } catch (CertPathValidatorException | InvalidAlgorithmParameterException
        | NoSuchAlgorithmException | CertificateException e) {
      return false;
    }
  }
}
