package dev.keycast.protocol.policy;

import dev.keycast.protocol.MalformedInputException;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import javax.naming.InvalidNameException;
import javax.naming.ldap.LdapName;
import javax.naming.ldap.Rdn;
import javax.security.auth.x500.X500Principal;

/**
 * Decides, for one policy, whether a recipient may receive the secret. Built once per send (it
 * parses the anchors once) and then safe to call from many threads.
 *
 * <p>The decision uses only the sealed policy and the recipient's own key fingerprint and
 * certificate chain; labels stored by the host never count.
 */
public final class Eligibility {
  private final SendPolicy policy;
  private final Set<String> fingerprints;

  /** ST 430-2 leaf thumbprints (base64 SHA-1 of the TBSCertificate) the policy selects. */
  private final Set<String> thumbprints;

  private final List<ParsedCertificate> anchors;
  private final AnchorChainValidator chains;

  /** The anchors' SubjectPublicKeyInfo DER: a leaf certifying one of them is not a recipient. */
  private final List<byte[]> anchorKeys;

  /** The outcome for one recipient; {@code reason} is a stable code when not eligible. */
  public record Decision(boolean eligible, String reason, String message) {
    static final Decision YES = new Decision(true, null, null);

    static Decision no(String reason, String message) {
      return new Decision(false, reason, message);
    }
  }

  /** Stable reason codes of ineligible recipients (they appear in receipts). */
  public static final String NOT_SELECTED = "not_selected";

  public static final String CHAIN_INVALID = "chain_invalid";
  public static final String SUBJECT_MISMATCH = "subject_mismatch";
  public static final String OUTSIDE_VALIDITY_WINDOW = "outside_validity_window";
  public static final String LATE_NOT_ALLOWED = "late_recipients_not_allowed";
  public static final String LIMIT_REACHED = "recipient_limit_reached";

  public Eligibility(SendPolicy policy) throws InvalidPolicyException {
    this.policy = policy;
    this.fingerprints = new HashSet<>(policy.recipients().fingerprints());
    this.thumbprints = new HashSet<>(policy.recipients().thumbprints());
    List<ParsedCertificate> anchors = new ArrayList<>();
    int i = 0;
    for (String b64 : policy.recipients().anchors()) {
      try {
        anchors.add(ParsedCertificate.parse(decodeBase64(b64)));
      } catch (MalformedInputException | IllegalArgumentException e) {
        throw new InvalidPolicyException("anchors[" + i + "] is not a DER X.509 certificate");
      }
      i++;
    }
    this.anchors = List.copyOf(anchors);
    this.chains = new AnchorChainValidator(this.anchors);
    this.anchorKeys = this.anchors.stream().map(ParsedCertificate::publicKeyInfo).toList();
  }

  public SendPolicy policy() {
    return policy;
  }

  /**
   * Decides for one recipient.
   *
   * @param fingerprint the recipient key's fingerprint (computed by the caller from the key itself)
   * @param chain the recipient's certificate chain, leaf first (empty for bare keys); the leaf's
   *     public key must be the recipient key (the caller checks that)
   * @param now the enclave's clock
   * @param late whether this is a delivery to a recipient that registered after the send
   */
  public Decision decide(
      String fingerprint, List<X509Certificate> chain, Instant now, boolean late) {
    List<ParsedCertificate> parsed;
    try {
      parsed = ParsedCertificate.of(chain);
    } catch (MalformedInputException e) {
      parsed = null;
    }
    if (parsed == null) {
      Decision d = decideParsed(fingerprint, List.of(), now, late);
      return d.eligible()
              || !NOT_SELECTED.equals(d.reason())
              || anchors.isEmpty()
              || chain.isEmpty()
          ? d
          : Decision.no(CHAIN_INVALID, "certificate chain does not lead to a policy anchor");
    }
    return decideParsed(fingerprint, parsed, now, late);
  }

  /**
   * {@link #decide} for a chain already parsed with {@link ParsedCertificate#parse} (the enclave's
   * path: no JDK certificate objects).
   */
  public Decision decideParsed(
      String fingerprint, List<ParsedCertificate> chain, Instant now, boolean late) {
    if (late && !policy.lateRecipients()) {
      return Decision.no(LATE_NOT_ALLOWED, "the policy does not admit late recipients");
    }
    if (!policy.isValidAt(now)) {
      return Decision.no(
          OUTSIDE_VALIDITY_WINDOW,
          "now (" + now + ") is outside " + policy.notBefore() + ".." + policy.notAfter());
    }
    if (fingerprints.contains(fingerprint)) {
      return Decision.YES;
    }
    // a leaf certificate chosen by its ST 430-2 thumbprint: selected as a listed fingerprint is
    // (the thumbprint covers the whole TBSCertificate, the key included)
    if (!thumbprints.isEmpty()
        && !chain.isEmpty()
        && thumbprints.contains(chain.getFirst().thumbprintBase64())) {
      return Decision.YES;
    }
    if (anchors.isEmpty() || chain.isEmpty()) {
      return Decision.no(
          NOT_SELECTED,
          thumbprints.isEmpty()
              ? "fingerprint not listed by the policy"
              : "neither the fingerprint nor the leaf certificate's thumbprint is listed by the policy");
    }
    if (!chains.isValid(chain, now)) {
      return Decision.no(CHAIN_INVALID, "certificate chain does not lead to a policy anchor");
    }
    ParsedCertificate leaf = chain.getFirst();
    if (leaf.isCa()) {
      return Decision.no(
          CHAIN_INVALID,
          "the leaf certificate is a CA certificate (basicConstraints cA true), not a recipient's");
    }
    if (isAnchorKey(leaf)) {
      return Decision.no(
          CHAIN_INVALID, "the leaf certificate certifies a policy anchor's key, not a recipient's");
    }
    if (!leaf.allowsKeyEstablishment()) {
      return Decision.no(
          CHAIN_INVALID,
          "the leaf certificate's key usage allows neither keyEncipherment (RSA)"
              + " nor keyAgreement (X25519)");
    }
    Map<String, String> selector = policy.recipients().subject();
    if (!selector.isEmpty() && !subjectMatches(chain.getFirst().subjectPrincipal(), selector)) {
      return Decision.no(
          SUBJECT_MISMATCH, "certificate subject does not match the policy selector");
    }
    return Decision.YES;
  }

  /** Whether {@code leaf} carries the public key of one of the policy's anchors. */
  private boolean isAnchorKey(ParsedCertificate leaf) {
    for (byte[] k : anchorKeys) {
      if (leaf.hasPublicKey(k)) {
        return true;
      }
    }
    return false;
  }

  static boolean subjectMatches(X500Principal subject, Map<String, String> required) {
    if (required.isEmpty()) {
      return true;
    }
    if (subject == null) {
      return false;
    }
    Map<String, List<String>> actual = new java.util.HashMap<>();
    try {
      // with the keywords below, RFC 2253 output gives these attributes' values as strings;
      // without them it gives "2.5.4.5=#<hex DER>", which no selector value can match
      for (Rdn rdn : new LdapName(subject.getName(X500Principal.RFC2253, KEYWORDS)).getRdns()) {
        actual
            .computeIfAbsent(rdn.getType().toUpperCase(Locale.ROOT), k -> new ArrayList<>())
            .add(String.valueOf(rdn.getValue()));
      }
    } catch (InvalidNameException e) {
      return false;
    }
    for (Map.Entry<String, String> e : required.entrySet()) {
      String type = normalizeType(e.getKey());
      List<String> values = actual.get(type);
      if (values == null || !values.contains(e.getValue())) {
        return false;
      }
    }
    return true;
  }

  /** Attribute types beyond RFC 2253's own keywords that selectors name. */
  private static final Map<String, String> KEYWORDS =
      Map.of(
          "2.5.4.5", "SERIALNUMBER",
          "2.5.4.46", "DNQUALIFIER");

  private static String normalizeType(String key) {
    String k = key.toUpperCase(Locale.ROOT);
    if (k.startsWith("OID.")) {
      k = k.substring(4);
    }
    return KEYWORDS.getOrDefault(k, k);
  }

  private static byte[] decodeBase64(String s) {
    return s.indexOf('-') >= 0 || s.indexOf('_') >= 0
        ? Base64.getUrlDecoder().decode(s)
        : Base64.getDecoder().decode(s);
  }

  /** The policy is syntactically valid JSON but semantically unusable (e.g. a bad anchor). */
  public static final class InvalidPolicyException extends Exception {
    public InvalidPolicyException(String message) {
      super(message);
    }
  }
}
