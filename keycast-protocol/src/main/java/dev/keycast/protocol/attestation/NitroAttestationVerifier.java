package dev.keycast.protocol.attestation;

import dev.keycast.protocol.MalformedInputException;
import dev.keycast.protocol.attestation.AttestationException.Reason;
import dev.keycast.protocol.attestation.VerifiedAttestation.Warning;
import java.math.BigInteger;
import java.security.GeneralSecurityException;
import java.security.InvalidAlgorithmParameterException;
import java.security.MessageDigest;
import java.security.PublicKey;
import java.security.Signature;
import java.security.cert.CertPath;
import java.security.cert.CertPathValidator;
import java.security.cert.CertPathValidatorException;
import java.security.cert.CertificateExpiredException;
import java.security.cert.CertificateFactory;
import java.security.cert.CertificateNotYetValidException;
import java.security.cert.PKIXParameters;
import java.security.cert.TrustAnchor;
import java.security.cert.X509Certificate;
import java.security.interfaces.ECPublicKey;
import java.security.spec.ECParameterSpec;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.EnumSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.SortedMap;

/**
 * The AWS Nitro verification procedure (wire-format.md §6): COSE_Sign1 ES384 signature over the
 * exact received bytes, certificate profile, chain to a root pinned by SHA-256 fingerprint,
 * validity at the validation instant, freshness, debug mode, PCRs, nonce, public key, user data.
 * Checks run in that order; the first failure is thrown. Thread-safe.
 */
final class NitroAttestationVerifier implements AttestationVerifier {
  static final String ECDSA_WITH_SHA384_OID = "1.2.840.10045.4.3.3";
  private static final String BASIC_CONSTRAINTS_OID = "2.5.29.19";
  private static final int ES384_SIGNATURE_BYTES = 96;
  // NIST P-384 (secp384r1) field prime and group order.
  private static final BigInteger P384_P =
      new BigInteger(
          "fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffeffffffff0000000000000000ffffffff",
          16);
  private static final BigInteger P384_N =
      new BigInteger(
          "ffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973",
          16);

  private final VerificationPolicy policy;
  private final Clock clock;

  NitroAttestationVerifier(VerificationPolicy policy, Clock clock) {
    this.policy = Objects.requireNonNull(policy, "policy");
    this.clock = Objects.requireNonNull(clock, "clock");
  }

  @Override
  public VerifiedAttestation verify(byte[] document) throws AttestationException {
    Objects.requireNonNull(document, "document");
    Set<Warning> warnings = EnumSet.noneOf(Warning.class);

    // 1. Envelope and algorithm.
    CoseSign1 cose;
    try {
      cose = CoseSign1.decode(document);
    } catch (MalformedInputException e) {
      throw malformed(e);
    }
    if (!"ES384".equals(cose.algorithm())) {
      throw new AttestationException(
          Reason.UNSUPPORTED_ALGORITHM,
          "protected header alg is "
              + (cose.algorithm().isEmpty() ? "absent" : "\"" + cose.algorithm() + "\"")
              + ", only ES384 (-35) is accepted");
    }

    // 2. Payload structure.
    AttestationDocument doc;
    try {
      doc = AttestationParser.parsePayload(cose.payload());
    } catch (MalformedInputException e) {
      throw malformed(e);
    }
    X509Certificate leaf = certificate(doc.certificateRef(), "certificate");

    // 3. Signature over the exact protected and payload bytes, with the leaf's P-384 key.
    requireP384(leaf, "certificate");
    verifySignature(cose, leaf.getPublicKey());

    // 4. Root pinning: cabundle[0] must be a pinned root, byte for byte (by SHA-256).
    List<byte[]> bundle = doc.cabundleRef();
    TrustRoot root = matchRoot(bundle.get(0));
    if (!root.isAws()) {
      warnings.add(Warning.NON_AWS_ROOT);
    }

    // 5. Certificate profile.
    List<X509Certificate> cas = new ArrayList<>();
    for (int i = 1; i < bundle.size(); i++) {
      X509Certificate ca = certificate(bundle.get(i), "cabundle[" + i + "]");
      requireCaProfile(ca, "cabundle[" + i + "]");
      cas.add(ca);
    }
    requireLeafProfile(leaf);

    // 6. Validity at the validation instant, then the PKIX path.
    Instant at = validationInstant(doc);
    Date date = Date.from(at);
    checkValidity(leaf, "certificate", date);
    for (int i = 0; i < cas.size(); i++) {
      checkValidity(cas.get(i), "cabundle[" + (i + 1) + "]", date);
    }
    checkValidity(root.certificate(), "root " + root.name(), date);
    validatePath(leaf, cas, root, date);

    // 7. Freshness.
    checkFreshness(doc, at, warnings);

    // 8. Debug mode.
    for (int i = 0; i <= 2; i++) {
      if (doc.pcrRef(i) == null) {
        throw new AttestationException(Reason.MALFORMED, "pcrs: PCR" + i + " is missing");
      }
    }
    if (isAllZero(doc.pcrRef(0))) {
      if (!policy.allowDebug()) {
        throw new AttestationException(
            Reason.DEBUG_MODE,
            "PCR0 is all zeros: the document comes from a debug-mode enclave (module "
                + doc.moduleId()
                + ") and debug documents are not allowed");
      }
      warnings.add(Warning.DEBUG_MODE);
    }

    // 9. PCRs.
    if (policy.expectedPcrs().isPresent()) {
      checkPcrs(doc, policy.expectedPcrs().get());
    } else {
      warnings.add(Warning.PCRS_NOT_CHECKED);
    }

    // 10. Nonce, public key, user data.
    checkField(policy.expectedNonceRef(), doc.nonceRef(), "nonce", Reason.NONCE_MISMATCH);
    checkField(
        policy.expectedPublicKeyRef(),
        doc.publicKeyRef(),
        "public_key",
        Reason.PUBLIC_KEY_MISMATCH);
    checkField(
        policy.expectedUserDataRef(), doc.userDataRef(), "user_data", Reason.USER_DATA_MISMATCH);

    return new VerifiedAttestation(doc, root, at, warnings);
  }

  private static AttestationException malformed(MalformedInputException e) {
    return new AttestationException(Reason.MALFORMED, e.getMessage() + " [" + e.code() + "]", e);
  }

  private static X509Certificate certificate(byte[] der, String what) throws AttestationException {
    try {
      return TrustRoot.parseCertificate(der, what);
    } catch (MalformedInputException e) {
      throw malformed(e);
    }
  }

  private static void verifySignature(CoseSign1 cose, PublicKey key) throws AttestationException {
    verifyEs384(key, cose.toBeSigned(), cose.signature());
  }

  /**
   * The COSE ES384 check: {@code sig} is {@code r || s} (IEEE P1363, 96 bytes) over {@code
   * toBeSigned} under the leaf certificate's P-384 key. Package visible for the Wycheproof tests.
   */
  static void verifyEs384(PublicKey key, byte[] toBeSigned, byte[] sig)
      throws AttestationException {
    if (sig.length != ES384_SIGNATURE_BYTES) {
      throw new AttestationException(
          Reason.BAD_SIGNATURE, "ES384 signature must be 96 bytes (r || s), found " + sig.length);
    }
    boolean ok;
    try {
      Signature s = Signature.getInstance("SHA384withECDSAinP1363Format");
      s.initVerify(key);
      s.update(toBeSigned);
      ok = s.verify(sig);
    } catch (GeneralSecurityException | RuntimeException e) {
      throw new AttestationException(
          Reason.BAD_SIGNATURE, "ES384 signature check failed: " + e.getMessage(), e);
    }
    if (!ok) {
      throw new AttestationException(
          Reason.BAD_SIGNATURE,
          "ES384 signature does not verify with the leaf certificate's key (signature "
              + MalformedInputException.quote(sig, 8)
              + ")");
    }
  }

  private TrustRoot matchRoot(byte[] first) throws AttestationException {
    byte[] digest = TrustRoot.sha256(first);
    for (TrustRoot r : policy.trustRoots()) {
      if (MessageDigest.isEqual(digest, HexFormat.of().parseHex(r.sha256()))) {
        return r;
      }
    }
    throw new AttestationException(
        Reason.UNTRUSTED_ROOT,
        "cabundle[0] (SHA-256 "
            + HexFormat.of().formatHex(digest)
            + ") is none of the pinned roots "
            + policy.trustRoots().stream().map(r -> r.name() + " " + r.sha256()).toList());
  }

  private static void requireP384(X509Certificate c, String what) throws AttestationException {
    if (!(c.getPublicKey() instanceof ECPublicKey ec)) {
      throw new AttestationException(
          Reason.CERT_EXTENSIONS,
          what + ": key is " + c.getPublicKey().getAlgorithm() + ", not EC P-384");
    }
    ECParameterSpec p = ec.getParams();
    boolean p384 =
        p.getOrder().equals(P384_N)
            && p.getCurve().getField() instanceof java.security.spec.ECFieldFp f
            && f.getP().equals(P384_P);
    if (!p384) {
      throw new AttestationException(
          Reason.CERT_EXTENSIONS,
          what
              + ": EC key is on a "
              + p.getCurve().getField().getFieldSize()
              + "-bit curve, not P-384");
    }
    if (!ECDSA_WITH_SHA384_OID.equals(c.getSigAlgOID())) {
      throw new AttestationException(
          Reason.CERT_EXTENSIONS,
          what
              + ": signed with "
              + c.getSigAlgName()
              + " ("
              + c.getSigAlgOID()
              + "), not ecdsa-with-SHA384");
    }
  }

  private static void requireCaProfile(X509Certificate c, String what) throws AttestationException {
    requireP384(c, what);
    String subject = c.getSubjectX500Principal().getName();
    if (c.getBasicConstraints() < 0) {
      throw new AttestationException(
          Reason.CERT_EXTENSIONS,
          what + " (" + subject + "): basicConstraints CA=true is required");
    }
    Set<String> critical = c.getCriticalExtensionOIDs();
    if (critical == null || !critical.contains(BASIC_CONSTRAINTS_OID)) {
      throw new AttestationException(
          Reason.CERT_EXTENSIONS, what + " (" + subject + "): basicConstraints must be critical");
    }
    boolean[] ku = c.getKeyUsage();
    if (ku == null || ku.length < 6 || !ku[5]) {
      throw new AttestationException(
          Reason.CERT_EXTENSIONS, what + " (" + subject + "): keyUsage keyCertSign is required");
    }
  }

  private static void requireLeafProfile(X509Certificate c) throws AttestationException {
    String subject = c.getSubjectX500Principal().getName();
    if (c.getBasicConstraints() >= 0) {
      throw new AttestationException(
          Reason.CERT_EXTENSIONS, "certificate (" + subject + "): the leaf must not be a CA");
    }
    boolean[] ku = c.getKeyUsage();
    if (ku == null || !ku[0]) {
      throw new AttestationException(
          Reason.CERT_EXTENSIONS,
          "certificate (" + subject + "): keyUsage digitalSignature is required");
    }
  }

  private Instant validationInstant(AttestationDocument doc) {
    ValidationTime t = policy.validationTime();
    return switch (t.mode()) {
      case NOW -> clock.instant();
      case AT -> t.instant();
      case DOCUMENT -> doc.timestamp();
    };
  }

  private static void checkValidity(X509Certificate c, String what, Date date)
      throws AttestationException {
    try {
      c.checkValidity(date);
    } catch (CertificateExpiredException e) {
      throw new AttestationException(
          Reason.EXPIRED,
          what
              + " ("
              + c.getSubjectX500Principal().getName()
              + ") expired at "
              + c.getNotAfter().toInstant()
              + ", validating at "
              + date.toInstant());
    } catch (CertificateNotYetValidException e) {
      throw new AttestationException(
          Reason.NOT_YET_VALID,
          what
              + " ("
              + c.getSubjectX500Principal().getName()
              + ") is valid only from "
              + c.getNotBefore().toInstant()
              + ", validating at "
              + date.toInstant());
    }
  }

  private static void validatePath(
      X509Certificate leaf, List<X509Certificate> cas, TrustRoot root, Date date)
      throws AttestationException {
    List<X509Certificate> path = new ArrayList<>();
    path.add(leaf);
    for (int i = cas.size() - 1; i >= 0; i--) {
      path.add(cas.get(i));
    }
    try {
      CertPath cp = CertificateFactory.getInstance("X.509").generateCertPath(path);
      PKIXParameters params = new PKIXParameters(Set.of(new TrustAnchor(root.certificate(), null)));
      params.setRevocationEnabled(false);
      params.setDate(date);
      CertPathValidator.getInstance("PKIX").validate(cp, params);
    } catch (CertPathValidatorException e) {
      String at =
          e.getIndex() >= 0 && e.getIndex() < path.size()
              ? " at " + path.get(e.getIndex()).getSubjectX500Principal().getName()
              : "";
      throw new AttestationException(
          Reason.CHAIN_INVALID,
          "certificate path [certificate, cabundle[n-1] .. cabundle[1]] to "
              + root.name()
              + " does not validate"
              + at
              + ": "
              + e.getMessage(),
          e);
    } catch (InvalidAlgorithmParameterException
        | java.security.cert.CertificateException
        | java.security.NoSuchAlgorithmException
        | RuntimeException e) {
      throw new AttestationException(
          Reason.CHAIN_INVALID, "certificate path cannot be built: " + e.getMessage(), e);
    }
  }

  private void checkFreshness(AttestationDocument doc, Instant at, Set<Warning> warnings)
      throws AttestationException {
    ValidationTime t = policy.validationTime();
    if (t.mode() == ValidationTime.Mode.DOCUMENT) {
      warnings.add(Warning.FRESHNESS_NOT_CHECKED);
      return;
    }
    Instant ts = doc.timestamp();
    if (ts.isAfter(at.plus(policy.clockSkew()))) {
      throw new AttestationException(
          Reason.TIMESTAMP_IN_FUTURE,
          "document timestamp "
              + ts
              + " ("
              + doc.timestampMillis()
              + " ms) is after "
              + at
              + " + "
              + policy.clockSkew());
    }
    Duration age = Duration.between(ts, at);
    if (age.compareTo(t.maxAge()) > 0) {
      throw new AttestationException(
          Reason.TOO_OLD,
          "document timestamp "
              + ts
              + " is "
              + age
              + " old at "
              + at
              + ", more than "
              + t.maxAge());
    }
  }

  private static void checkPcrs(AttestationDocument doc, ExpectedPcrs expected)
      throws AttestationException {
    List<SortedMap<Integer, byte[]>> sets = expected.setsRef();
    String firstMismatch = null;
    for (SortedMap<Integer, byte[]> set : sets) {
      boolean all = true;
      for (Map.Entry<Integer, byte[]> e : set.entrySet()) {
        byte[] actual = doc.pcrRef(e.getKey());
        if (actual == null || !MessageDigest.isEqual(actual, e.getValue())) {
          all = false;
          if (firstMismatch == null) {
            firstMismatch =
                "PCR"
                    + e.getKey()
                    + " is "
                    + (actual == null ? "absent" : HexFormat.of().formatHex(actual))
                    + ", allowed set 0 expects "
                    + HexFormat.of().formatHex(e.getValue());
          }
          break;
        }
      }
      if (all) {
        return;
      }
    }
    throw new AttestationException(
        Reason.PCR_MISMATCH,
        "PCRs match none of " + sets.size() + " allowed set(s): " + firstMismatch);
  }

  private static void checkField(byte[] expected, byte[] actual, String name, Reason reason)
      throws AttestationException {
    if (expected == null) {
      return;
    }
    if (actual == null) {
      throw new AttestationException(reason, name + " is absent (null), a value was expected");
    }
    if (!MessageDigest.isEqual(expected, actual)) {
      throw new AttestationException(
          reason,
          name
              + " "
              + MalformedInputException.quote(actual, 32)
              + " ("
              + actual.length
              + " B) differs from the expected "
              + MalformedInputException.quote(expected, 32)
              + " ("
              + expected.length
              + " B)");
    }
  }

  private static boolean isAllZero(byte[] b) {
    int acc = 0;
    for (byte x : b) {
      acc |= x;
    }
    return acc == 0;
  }
}
