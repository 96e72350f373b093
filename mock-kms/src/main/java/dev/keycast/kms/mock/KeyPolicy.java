package dev.keycast.kms.mock;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.keycast.protocol.kms.KmsKeyLockVerdict;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * A parsed KMS key policy: the IAM policy grammar subset the mock enforces.
 *
 * <p>Supported: {@code Version}, {@code Statement} (object or list) with {@code Sid}, {@code
 * Effect} (Allow/Deny), {@code Principal} ({@code "*"} or {@code {"AWS": arn | account-id | "*" |
 * [..]}}), {@code Action} (string or list, {@code *} and {@code ?} wildcards, case-insensitive),
 * {@code Resource} (string or list, wildcards), {@code Condition} with the operators {@code
 * StringEquals}, {@code StringEqualsIgnoreCase}, {@code StringNotEquals}, {@code
 * StringNotEqualsIgnoreCase}, {@code StringLike} on {@code kms:RecipientAttestation:ImageSha384},
 * {@code kms:RecipientAttestation:PCR0..PCR31}, {@code kms:EncryptionContext:<key>}, {@code
 * kms:CallerAccount}, {@code aws:PrincipalArn}. Anything else (NotAction, NotPrincipal, other
 * operators or keys) is rejected when the policy is set, so nothing is silently ignored.
 *
 * <p>Evaluation ({@link #evaluate}) reports, as AWS KMS decides it: whether a matching statement
 * denies (explicit Deny wins over everything, grants included), whether one allows the caller by
 * name (or {@code "*"}), and whether one allows the caller only through its account: a principal
 * {@code arn:aws:iam::ACCOUNT:root} (or the bare account id) in a key policy allows the root user
 * directly and delegates to every IAM principal of that account, which is then allowed when its
 * own IAM policy allows the action too (see {@link IamPolicies}).
 *
 * <p>The same grammar without {@code Principal} is an IAM identity policy ({@link
 * #parseIdentityPolicy}); its statements apply to the principal it is attached to.
 */
final class KeyPolicy {
  static final int MAX_POLICY_CHARS = 32_768;
  private static final Set<String> OPERATORS =
      Set.of(
          "stringequals",
          "stringequalsignorecase",
          "stringnotequals",
          "stringnotequalsignorecase",
          "stringlike");
  private static final Pattern PCR_KEY =
      Pattern.compile("kms:recipientattestation:pcr([0-9]|[12][0-9]|3[01])");
  private static final Pattern ACCOUNT = Pattern.compile("[0-9]{12}");

  record Condition(String operator, String key, List<String> values) {}

  record Statement(
      String sid,
      boolean allow,
      List<String> principals,
      List<String> actions,
      List<String> resources,
      List<Condition> conditions) {}

  /**
   * What the matching statements of one policy say about one request.
   *
   * @param explicitDeny a matching Deny statement (it wins over every allow, grants included)
   * @param allowsCaller a matching Allow statement names the caller (or "*"); for an identity
   *     policy: a matching Allow statement
   * @param allowsCallerAccount a matching Allow statement names the caller's account root while the
   *     caller is another principal of that account: allowed only if its IAM policy allows too
   */
  record Evaluation(boolean explicitDeny, boolean allowsCaller, boolean allowsCallerAccount) {}

  private final List<Statement> statements;
  private final boolean identityPolicy;

  private KeyPolicy(List<Statement> statements, boolean identityPolicy) {
    this.statements = List.copyOf(statements);
    this.identityPolicy = identityPolicy;
  }

  /** The policy KMS attaches when CreateKey has no Policy: the account root may do everything. */
  static String defaultPolicy(String accountId) {
    return "{\n  \"Version\" : \"2012-10-17\",\n  \"Id\" : \"key-default-1\",\n  \"Statement\" : [ {\n"
        + "    \"Sid\" : \"Enable IAM User Permissions\",\n    \"Effect\" : \"Allow\",\n"
        + "    \"Principal\" : {\n      \"AWS\" : \"arn:aws:iam::"
        + accountId
        + ":root\"\n    },\n"
        + "    \"Action\" : \"kms:*\",\n    \"Resource\" : \"*\"\n  } ]\n}";
  }

  static KeyPolicy parse(String json, ObjectMapper mapper) throws KmsException {
    return parse(json, mapper, false);
  }

  /** An IAM identity policy: the same grammar, without {@code Principal}. */
  static KeyPolicy parseIdentityPolicy(String json, ObjectMapper mapper) throws KmsException {
    return parse(json, mapper, true);
  }

  private static KeyPolicy parse(String json, ObjectMapper mapper, boolean identity)
      throws KmsException {
    if (json == null || json.isEmpty()) {
      throw KmsException.malformedPolicy("Policy is empty");
    }
    if (json.length() > MAX_POLICY_CHARS) {
      throw KmsException.validation("Policy is longer than " + MAX_POLICY_CHARS + " characters");
    }
    JsonNode root;
    try {
      root = mapper.readTree(json);
    } catch (JsonProcessingException e) {
      throw KmsException.malformedPolicy("Policy is not valid JSON");
    }
    if (root == null || !root.isObject()) {
      throw KmsException.malformedPolicy("Policy must be a JSON object");
    }
    for (Iterator<String> it = root.fieldNames(); it.hasNext(); ) {
      String f = it.next();
      if (!Set.of("Version", "Id", "Statement").contains(f)) {
        throw KmsException.malformedPolicy("Unsupported policy element: " + f);
      }
    }
    JsonNode version = root.get("Version");
    if (version != null
        && !"2012-10-17".equals(version.asText())
        && !"2008-10-17".equals(version.asText())) {
      throw KmsException.malformedPolicy("Unsupported policy Version: " + version.asText());
    }
    JsonNode st = root.get("Statement");
    if (st == null) {
      throw KmsException.malformedPolicy("Policy has no Statement");
    }
    List<Statement> out = new ArrayList<>();
    if (st.isArray()) {
      for (JsonNode s : st) {
        out.add(statement(s, identity));
      }
    } else {
      out.add(statement(st, identity));
    }
    if (out.isEmpty()) {
      throw KmsException.malformedPolicy("Policy has no Statement");
    }
    return new KeyPolicy(out, identity);
  }

  private static Statement statement(JsonNode s, boolean identity) throws KmsException {
    if (!s.isObject()) {
      throw KmsException.malformedPolicy("Statement must be an object");
    }
    for (Iterator<String> it = s.fieldNames(); it.hasNext(); ) {
      String f = it.next();
      if (!Set.of("Sid", "Effect", "Principal", "Action", "Resource", "Condition").contains(f)) {
        throw KmsException.malformedPolicy("Unsupported statement element: " + f);
      }
    }
    String sid = s.has("Sid") ? s.get("Sid").asText() : "";
    String effect = s.path("Effect").asText("");
    boolean allow;
    if (effect.equals("Allow")) {
      allow = true;
    } else if (effect.equals("Deny")) {
      allow = false;
    } else {
      throw KmsException.malformedPolicy(
          "Effect must be Allow or Deny in statement \"" + sid + "\"");
    }
    JsonNode p = s.get("Principal");
    List<String> principals;
    if (identity) {
      if (p != null) {
        throw KmsException.malformedPolicy(
            "An identity policy has no Principal (statement \"" + sid + "\")");
      }
      principals = List.of();
    } else if (p == null) {
      throw KmsException.malformedPolicy("Statement \"" + sid + "\" has no Principal");
    } else if (p.isTextual() && p.asText().equals("*")) {
      principals = List.of("*");
    } else if (p.isObject() && p.size() == 1 && p.has("AWS")) {
      principals = strings(p.get("AWS"), "Principal.AWS");
      for (String pr : principals) {
        if (!pr.equals("*") && !pr.startsWith("arn:aws:") && !ACCOUNT.matcher(pr).matches()) {
          throw KmsException.malformedPolicy("Policy contains an invalid principal: " + pr);
        }
      }
    } else {
      throw KmsException.malformedPolicy("Principal must be \"*\" or {\"AWS\": ...}");
    }
    List<String> actions = strings(s.get("Action"), "Action");
    for (String a : actions) {
      if (!a.equals("*") && !a.toLowerCase(Locale.ROOT).startsWith("kms:")) {
        throw KmsException.malformedPolicy("Action must start with kms: : " + a);
      }
    }
    List<String> resources = strings(s.get("Resource"), "Resource");
    List<Condition> conditions = new ArrayList<>();
    JsonNode c = s.get("Condition");
    if (c != null) {
      if (!c.isObject()) {
        throw KmsException.malformedPolicy("Condition must be an object");
      }
      for (Iterator<Map.Entry<String, JsonNode>> it = c.fields(); it.hasNext(); ) {
        Map.Entry<String, JsonNode> op = it.next();
        String opName = op.getKey().toLowerCase(Locale.ROOT);
        if (!OPERATORS.contains(opName)) {
          throw KmsException.malformedPolicy("Unsupported condition operator: " + op.getKey());
        }
        if (!op.getValue().isObject()) {
          throw KmsException.malformedPolicy("Condition operator value must be an object");
        }
        for (Iterator<Map.Entry<String, JsonNode>> kt = op.getValue().fields(); kt.hasNext(); ) {
          Map.Entry<String, JsonNode> kv = kt.next();
          String key = kv.getKey().toLowerCase(Locale.ROOT);
          if (!supportedKey(key)) {
            throw KmsException.malformedPolicy("Unsupported condition key: " + kv.getKey());
          }
          conditions.add(new Condition(opName, key, strings(kv.getValue(), kv.getKey())));
        }
      }
    }
    return new Statement(sid, allow, principals, actions, resources, conditions);
  }

  private static boolean supportedKey(String key) {
    return key.equals("kms:recipientattestation:imagesha384")
        || PCR_KEY.matcher(key).matches()
        || (key.startsWith("kms:encryptioncontext:")
            && key.length() > "kms:encryptioncontext:".length())
        || key.equals("kms:calleraccount")
        || key.equals("aws:principalarn");
  }

  private static List<String> strings(JsonNode n, String what) throws KmsException {
    if (n == null) {
      throw KmsException.malformedPolicy(what + " is required");
    }
    List<String> out = new ArrayList<>();
    if (n.isTextual()) {
      out.add(n.asText());
    } else if (n.isArray() && !n.isEmpty()) {
      for (JsonNode e : n) {
        if (!e.isTextual()) {
          throw KmsException.malformedPolicy(what + " must hold strings");
        }
        out.add(e.asText());
      }
    } else {
      throw KmsException.malformedPolicy(what + " must be a string or a non-empty list of strings");
    }
    return out;
  }

  /**
   * What this policy says about one request.
   *
   * @param principalArn the caller
   * @param keyAccount the account that owns the key
   * @param action e.g. {@code kms:Decrypt}
   * @param keyArn the key's ARN (the resource)
   * @param context condition keys (lower case) to values present in this request
   */
  Evaluation evaluate(
      String principalArn,
      String keyAccount,
      String action,
      String keyArn,
      Map<String, String> context) {
    boolean deny = false;
    boolean direct = false;
    boolean viaAccount = false;
    String accountRoot = "arn:aws:iam::" + keyAccount + ":root";
    boolean callerInAccount = keyAccount.equals(accountOf(principalArn));
    for (Statement s : statements) {
      PrincipalMatch who =
          identityPolicy
              ? PrincipalMatch.BY_NAME
              : principalMatch(s, principalArn, accountRoot, callerInAccount);
      if (who == PrincipalMatch.NONE
          || !actionResourceConditionsMatch(s, action, keyArn, context)) {
        continue;
      }
      if (!s.allow()) {
        deny = true; // a Deny naming the account applies to every principal of the account
      } else if (who == PrincipalMatch.BY_NAME) {
        direct = true;
      } else {
        viaAccount = true;
      }
    }
    return new Evaluation(deny, direct, viaAccount);
  }

  /** Decides one request with this policy alone (no IAM policy, no grant). */
  boolean allows(String principalArn, String action, String keyArn, Map<String, String> context) {
    Evaluation e = evaluate(principalArn, accountOf(keyArn), action, keyArn, context);
    return !e.explicitDeny() && e.allowsCaller();
  }

  /** The 12-digit account of an ARN ({@code arn:aws:SERVICE:REGION:ACCOUNT:...}), or "". */
  static String accountOf(String arn) {
    String[] parts = arn.split(":", -1);
    return parts.length >= 5 ? parts[4] : "";
  }

  private enum PrincipalMatch {
    NONE,
    BY_NAME,
    BY_ACCOUNT
  }

  private static PrincipalMatch principalMatch(
      Statement s, String principalArn, String accountRoot, boolean callerInAccount) {
    PrincipalMatch m = PrincipalMatch.NONE;
    for (String p : s.principals()) {
      String arn = ACCOUNT.matcher(p).matches() ? "arn:aws:iam::" + p + ":root" : p;
      if (arn.equals("*") || arn.equals(principalArn)) {
        return PrincipalMatch.BY_NAME;
      }
      if (arn.equals(accountRoot) && callerInAccount) {
        m = PrincipalMatch.BY_ACCOUNT;
      }
    }
    return m;
  }

  private static boolean actionResourceConditionsMatch(
      Statement s, String action, String keyArn, Map<String, String> ctx) {
    if (s.actions().stream().noneMatch(a -> glob(a, action, true))) {
      return false;
    }
    if (s.resources().stream().noneMatch(r -> glob(r, keyArn, false))) {
      return false;
    }
    for (Condition c : s.conditions()) {
      if (!conditionHolds(c, ctx.get(c.key()))) {
        return false;
      }
    }
    return true;
  }

  private static boolean conditionHolds(Condition c, String actual) {
    return switch (c.operator()) {
      case "stringequals" -> actual != null && c.values().contains(actual);
      case "stringequalsignorecase" ->
          actual != null && c.values().stream().anyMatch(v -> v.equalsIgnoreCase(actual));
      case "stringnotequals" -> actual == null || !c.values().contains(actual);
      case "stringnotequalsignorecase" ->
          actual == null || c.values().stream().noneMatch(v -> v.equalsIgnoreCase(actual));
      case "stringlike" ->
          actual != null && c.values().stream().anyMatch(v -> glob(v, actual, false));
      default -> false;
    };
  }

  /** IAM wildcard match ({@code *} any run, {@code ?} one character): the verdict's matcher. */
  static boolean glob(String pattern, String value, boolean ignoreCase) {
    return ignoreCase
        ? KmsKeyLockVerdict.glob(pattern.toLowerCase(Locale.ROOT), value.toLowerCase(Locale.ROOT))
        : KmsKeyLockVerdict.glob(pattern, value);
  }
}
