package dev.keycast.protocol.kms;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;

/**
 * Is a KMS key <em>locked</em> (kms-sealing.md section 6): can nobody but an enclave whose
 * Recipient attestation matches the policy's image list obtain plaintext key material under it, or
 * change who can? Decided from what KMS itself answers: the key policy ({@code GetKeyPolicy}), the
 * grants ({@code ListGrants}) and the key's metadata ({@code DescribeKey}).
 *
 * <p>The decision is conservative and fails closed: anything it cannot evaluate (an unknown policy
 * element, {@code NotAction}, a non-AWS principal on a sensitive action, duplicate JSON keys, ...)
 * makes the key <em>not locked</em>, with a reason. The key is locked exactly when:
 *
 * <ol>
 *   <li>its metadata says {@code Origin} {@code AWS_KMS} (no imported or external key material
 *       someone else holds), {@code KeyManager} {@code CUSTOMER}, and not {@code MultiRegion};
 *   <li>it has no grant (a grant authorizes its grantee whatever the policy says; grants carry no
 *       attestation condition);
 *   <li>no Allow statement whose actions cover {@link #SENSITIVE_ACTIONS} allows anything beyond
 *       {@code kms:Decrypt} and {@code kms:GenerateDataKey}; and every Allow statement that does
 *       allow those names only IAM role or user ARNs (never {@code "*"}, an account or its root,
 *       which delegates to every IAM principal of the account) and carries a {@code
 *       StringEquals}/{@code StringEqualsIgnoreCase} (not {@code ...IfExists}) condition on {@code
 *       kms:RecipientAttestation:ImageSha384} or {@code kms:RecipientAttestation:PCR0} whose values
 *       are all SHA-384 hex digests.
 * </ol>
 *
 * Deny statements only narrow access and are not needed for the verdict.
 *
 * @param locked the verdict
 * @param reasons why not (empty when locked)
 * @param policySha256 SHA-256 of the key policy text exactly as KMS returned it (UTF-8)
 * @param admittedImages the PCR0 values (lower-case hex) the policy admits for plaintext
 */
public record KmsKeyLockVerdict(
    boolean locked, List<String> reasons, byte[] policySha256, Set<String> admittedImages) {
  /** Actions that yield plaintext, forge ciphertext, or change who may: only Decrypt/GenerateDataKey may be allowed, and only attested. */
  public static final List<String> SENSITIVE_ACTIONS =
      List.of(
          "kms:Decrypt",
          "kms:GenerateDataKey",
          "kms:GenerateDataKeyWithoutPlaintext",
          "kms:GenerateDataKeyPair",
          "kms:GenerateDataKeyPairWithoutPlaintext",
          "kms:ReEncryptFrom",
          "kms:ReEncryptTo",
          "kms:Encrypt",
          "kms:CreateGrant",
          "kms:PutKeyPolicy",
          "kms:ImportKeyMaterial",
          "kms:ReplicateKey",
          "kms:UpdatePrimaryRegion",
          "kms:DeriveSharedSecret");

  private static final Set<String> ATTESTED_USE = Set.of("kms:decrypt", "kms:generatedatakey");
  private static final Set<String> STATEMENT_ELEMENTS =
      Set.of("Sid", "Effect", "Principal", "Action", "Resource", "Condition");
  private static final Pattern IAM_PRINCIPAL =
      Pattern.compile("arn:aws[a-z-]*:iam::[0-9]{12}:(role|user)/[A-Za-z0-9+=,.@_/-]+");
  private static final Pattern SHA384_HEX = Pattern.compile("[0-9a-fA-F]{96}");

  /** Longest policy text evaluated (KMS's own limit is 32 KiB). */
  public static final int MAX_POLICY_CHARS = 32_768;

  public KmsKeyLockVerdict {
    reasons = List.copyOf(reasons);
    policySha256 = policySha256.clone();
    admittedImages = Set.copyOf(admittedImages);
  }

  @Override
  public byte[] policySha256() {
    return policySha256.clone();
  }

  /** One grant as ListGrants answers it. */
  public record Grant(String grantId, String granteePrincipal, List<String> operations) {
    public Grant {
      operations = List.copyOf(operations);
    }
  }

  /** The key metadata fields the verdict needs (DescribeKey). */
  public record KeyFacts(String origin, String keyManager, boolean multiRegion) {}

  /** Evaluates a key: its policy text, its grants and its metadata, as KMS answered them. */
  public static KmsKeyLockVerdict evaluate(String policy, List<Grant> grants, KeyFacts facts) {
    List<String> reasons = new ArrayList<>();
    Set<String> images = new TreeSet<>();
    byte[] digest = sha256(policy == null ? "" : policy);
    if (!"AWS_KMS".equals(facts.origin())) {
      reasons.add(
          "key material origin is "
              + facts.origin()
              + ", not AWS_KMS: someone outside KMS may hold it");
    }
    if (!"CUSTOMER".equals(facts.keyManager())) {
      reasons.add("key manager is " + facts.keyManager() + ", not CUSTOMER");
    }
    if (facts.multiRegion()) {
      reasons.add("the key is multi-Region: a replica has a policy of its own");
    }
    for (Grant g : grants) {
      reasons.add(
          "grant "
              + shorten(g.grantId())
              + " lets "
              + g.granteePrincipal()
              + " "
              + g.operations()
              + " whatever the key policy says");
    }
    evaluatePolicy(policy, reasons, images);
    if (images.isEmpty() && reasons.isEmpty()) {
      reasons.add("no statement admits an attested image");
    }
    return new KmsKeyLockVerdict(reasons.isEmpty(), reasons, digest, images);
  }

  private static void evaluatePolicy(String policy, List<String> reasons, Set<String> images) {
    if (policy == null || policy.isEmpty() || policy.length() > MAX_POLICY_CHARS) {
      reasons.add("the key policy is empty or longer than " + MAX_POLICY_CHARS + " characters");
      return;
    }
    JsonNode root;
    try {
      ObjectMapper mapper = new ObjectMapper();
      mapper.enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);
      root = mapper.readTree(policy);
    } catch (JsonProcessingException e) {
      reasons.add("the key policy is not valid JSON (or repeats a key)");
      return;
    }
    if (root == null || !root.isObject() || root.get("Statement") == null) {
      reasons.add("the key policy has no Statement");
      return;
    }
    for (Iterator<String> it = root.fieldNames(); it.hasNext(); ) {
      String f = it.next();
      if (!Set.of("Version", "Id", "Statement").contains(f)) {
        reasons.add("the key policy has an element this check cannot evaluate: " + f);
      }
    }
    JsonNode st = root.get("Statement");
    List<JsonNode> statements = new ArrayList<>();
    if (st.isArray()) {
      st.forEach(statements::add);
    } else {
      statements.add(st);
    }
    int n = 0;
    for (JsonNode s : statements) {
      statement(s, n++, reasons, images);
    }
  }

  private static void statement(JsonNode s, int index, List<String> reasons, Set<String> images) {
    String name = "statement " + index;
    if (!s.isObject()) {
      reasons.add(name + " is not an object");
      return;
    }
    if (s.hasNonNull("Sid") && s.get("Sid").isTextual()) {
      name = "statement \"" + shorten(s.get("Sid").asText()) + "\"";
    }
    for (Iterator<String> it = s.fieldNames(); it.hasNext(); ) {
      String f = it.next();
      if (!STATEMENT_ELEMENTS.contains(f)) {
        reasons.add(name + " has an element this check cannot evaluate: " + f);
        return;
      }
    }
    String effect = s.path("Effect").asText("");
    if (effect.equals("Deny")) {
      return; // a Deny only narrows
    }
    if (!effect.equals("Allow")) {
      reasons.add(name + " has Effect \"" + shorten(effect) + "\"");
      return;
    }
    List<String> actions = strings(s.get("Action"));
    if (actions == null) {
      reasons.add(name + " has an Action that is not a string or a list of strings");
      return;
    }
    Set<String> covered = new TreeSet<>();
    for (String sensitive : SENSITIVE_ACTIONS) {
      for (String a : actions) {
        if (glob(a.toLowerCase(Locale.ROOT), sensitive.toLowerCase(Locale.ROOT))) {
          covered.add(sensitive);
        }
      }
    }
    if (covered.isEmpty()) {
      return;
    }
    for (String c : covered) {
      if (!ATTESTED_USE.contains(c.toLowerCase(Locale.ROOT))) {
        reasons.add(
            name
                + " allows "
                + c
                + ": it yields plaintext without attestation, forges ciphertext or changes who may");
      }
    }
    JsonNode p = s.get("Principal");
    List<String> principals =
        p != null && p.isObject() && p.size() == 1 ? strings(p.get("AWS")) : null;
    if (principals == null) {
      reasons.add(name + " allows " + covered + " to a principal other than IAM roles and users");
    } else {
      for (String pr : principals) {
        if (!IAM_PRINCIPAL.matcher(pr).matches()) {
          reasons.add(
              name
                  + " allows "
                  + covered
                  + " to "
                  + shorten(pr)
                  + (pr.endsWith(":root") || pr.matches("[0-9]{12}")
                      ? " (an account: every IAM principal its IAM policies allow)"
                      : ""));
        }
      }
    }
    Set<String> admitted = attestedImages(s.get("Condition"));
    if (admitted.isEmpty()) {
      reasons.add(
          name
              + " allows "
              + covered
              + " without a StringEquals(IgnoreCase) condition on the"
              + " Recipient attestation's ImageSha384 or PCR0");
    } else {
      images.addAll(admitted);
    }
  }

  /** The PCR0 values a condition block requires (empty if it does not require one). */
  static Set<String> attestedImages(JsonNode condition) {
    Set<String> out = new TreeSet<>();
    if (condition == null || !condition.isObject()) {
      return out;
    }
    for (Iterator<Map.Entry<String, JsonNode>> ops = condition.fields(); ops.hasNext(); ) {
      Map.Entry<String, JsonNode> op = ops.next();
      // Operator names exactly as the IAM policy grammar spells them: a name in another case is not
      // one this check can vouch for KMS evaluating as a condition (fuzzing finding Z4).
      String operator = op.getKey();
      if (!(operator.equals("StringEquals") || operator.equals("StringEqualsIgnoreCase"))
          || !op.getValue().isObject()) {
        continue;
      }
      for (Iterator<Map.Entry<String, JsonNode>> keys = op.getValue().fields(); keys.hasNext(); ) {
        Map.Entry<String, JsonNode> kv = keys.next();
        String key = kv.getKey().toLowerCase(Locale.ROOT);
        if (!key.equals("kms:recipientattestation:imagesha384")
            && !key.equals("kms:recipientattestation:pcr0")) {
          continue;
        }
        List<String> values = strings(kv.getValue());
        if (values == null || values.stream().anyMatch(v -> !SHA384_HEX.matcher(v).matches())) {
          continue;
        }
        Set<String> these = new TreeSet<>();
        values.forEach(v -> these.add(v.toLowerCase(Locale.ROOT)));
        if (out.isEmpty()) {
          out.addAll(these);
        } else {
          out.retainAll(
              these); // both ImageSha384 and PCR0 must match: the intersection is admitted
          if (out.isEmpty()) {
            out.add("<none>");
          }
        }
      }
    }
    out.remove("<none>");
    return out;
  }

  static List<String> strings(JsonNode n) {
    if (n == null) {
      return null;
    }
    if (n.isTextual()) {
      return List.of(n.asText());
    }
    if (!n.isArray() || n.isEmpty()) {
      return null;
    }
    List<String> out = new ArrayList<>();
    for (JsonNode e : n) {
      if (!e.isTextual()) {
        return null;
      }
      out.add(e.asText());
    }
    return out;
  }

  /**
   * IAM wildcard match ({@code *} any run, {@code ?} one character), linear time; case-sensitive
   * (callers lower-case both sides where IAM ignores case). The mock KMS uses it too.
   */
  public static boolean glob(String pattern, String value) {
    int pi = 0;
    int vi = 0;
    int star = -1;
    int mark = 0;
    while (vi < value.length()) {
      if (pi < pattern.length()
          && (pattern.charAt(pi) == '?' || pattern.charAt(pi) == value.charAt(vi))) {
        pi++;
        vi++;
      } else if (pi < pattern.length() && pattern.charAt(pi) == '*') {
        star = pi++;
        mark = vi;
      } else if (star >= 0) {
        pi = star + 1;
        vi = ++mark;
      } else {
        return false;
      }
    }
    while (pi < pattern.length() && pattern.charAt(pi) == '*') {
      pi++;
    }
    return pi == pattern.length();
  }

  private static byte[] sha256(String s) {
    return dev.keycast.protocol.crypto.Sha256.digest(s.getBytes(StandardCharsets.UTF_8));
  }

  private static String shorten(String s) {
    return s.length() > 120 ? s.substring(0, 120) + "..." : s;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof KmsKeyLockVerdict v
        && locked == v.locked
        && reasons.equals(v.reasons)
        && MessageDigest.isEqual(policySha256, v.policySha256)
        && admittedImages.equals(v.admittedImages);
  }

  @Override
  public int hashCode() {
    return java.util.Arrays.hashCode(policySha256);
  }

  @Override
  public String toString() {
    return "KmsKeyLockVerdict["
        + (locked ? "locked" : "NOT locked: " + String.join("; ", reasons))
        + ", policy sha256="
        + java.util.HexFormat.of().formatHex(policySha256)
        + ", images="
        + admittedImages
        + "]";
  }
}
