package dev.keycast.kms.mock;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
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
 * <p>Evaluation: a request is allowed when some matching statement allows it and no matching
 * statement denies it (explicit Deny wins). There is no IAM: a principal {@code
 * arn:aws:iam::ACCOUNT:root} (or the bare account id) matches only a caller whose configured
 * principal ARN is that root ARN.
 */
final class KeyPolicy {
  static final int MAX_POLICY_CHARS = 32_768;
  private static final Set<String> OPERATORS =
      Set.of(
          "stringequals", "stringequalsignorecase", "stringnotequals", "stringnotequalsignorecase",
          "stringlike");
  private static final Pattern PCR_KEY = Pattern.compile("kms:recipientattestation:pcr([0-9]|[12][0-9]|3[01])");
  private static final Pattern ACCOUNT = Pattern.compile("[0-9]{12}");

  record Condition(String operator, String key, List<String> values) {}

  record Statement(
      String sid,
      boolean allow,
      List<String> principals,
      List<String> actions,
      List<String> resources,
      List<Condition> conditions) {}

  private final List<Statement> statements;

  private KeyPolicy(List<Statement> statements) {
    this.statements = List.copyOf(statements);
  }

  /** The policy KMS attaches when CreateKey has no Policy: the account root may do everything. */
  static String defaultPolicy(String accountId) {
    return "{\n  \"Version\" : \"2012-10-17\",\n  \"Id\" : \"key-default-1\",\n  \"Statement\" : [ {\n"
        + "    \"Sid\" : \"Enable IAM User Permissions\",\n    \"Effect\" : \"Allow\",\n"
        + "    \"Principal\" : {\n      \"AWS\" : \"arn:aws:iam::" + accountId + ":root\"\n    },\n"
        + "    \"Action\" : \"kms:*\",\n    \"Resource\" : \"*\"\n  } ]\n}";
  }

  static KeyPolicy parse(String json, ObjectMapper mapper) throws KmsException {
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
    if (version != null && !"2012-10-17".equals(version.asText()) && !"2008-10-17".equals(version.asText())) {
      throw KmsException.malformedPolicy("Unsupported policy Version: " + version.asText());
    }
    JsonNode st = root.get("Statement");
    if (st == null) {
      throw KmsException.malformedPolicy("Policy has no Statement");
    }
    List<Statement> out = new ArrayList<>();
    if (st.isArray()) {
      for (JsonNode s : st) {
        out.add(statement(s));
      }
    } else {
      out.add(statement(st));
    }
    if (out.isEmpty()) {
      throw KmsException.malformedPolicy("Policy has no Statement");
    }
    return new KeyPolicy(out);
  }

  private static Statement statement(JsonNode s) throws KmsException {
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
      throw KmsException.malformedPolicy("Effect must be Allow or Deny in statement \"" + sid + "\"");
    }
    JsonNode p = s.get("Principal");
    List<String> principals;
    if (p == null) {
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
        || (key.startsWith("kms:encryptioncontext:") && key.length() > "kms:encryptioncontext:".length())
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
   * Decides one request.
   *
   * @param principalArn the caller
   * @param action e.g. {@code kms:Decrypt}
   * @param keyArn the key's ARN (the resource)
   * @param context condition keys (lower case) to values present in this request
   */
  boolean allows(String principalArn, String action, String keyArn, Map<String, String> context) {
    boolean allowed = false;
    for (Statement s : statements) {
      if (matches(s, principalArn, action, keyArn, context)) {
        if (!s.allow()) {
          return false;
        }
        allowed = true;
      }
    }
    return allowed;
  }

  private static boolean matches(
      Statement s, String principalArn, String action, String keyArn, Map<String, String> ctx) {
    boolean principal = false;
    for (String p : s.principals()) {
      String arn = ACCOUNT.matcher(p).matches() ? "arn:aws:iam::" + p + ":root" : p;
      if (arn.equals("*") || arn.equals(principalArn)) {
        principal = true;
      }
    }
    if (!principal) {
      return false;
    }
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
      case "stringlike" -> actual != null && c.values().stream().anyMatch(v -> glob(v, actual, false));
      default -> false;
    };
  }

  /** IAM wildcard match: {@code *} any run, {@code ?} one character. */
  static boolean glob(String pattern, String value, boolean ignoreCase) {
    String p = ignoreCase ? pattern.toLowerCase(Locale.ROOT) : pattern;
    String v = ignoreCase ? value.toLowerCase(Locale.ROOT) : value;
    int pi = 0;
    int vi = 0;
    int star = -1;
    int mark = 0;
    while (vi < v.length()) {
      if (pi < p.length() && (p.charAt(pi) == '?' || p.charAt(pi) == v.charAt(vi))) {
        pi++;
        vi++;
      } else if (pi < p.length() && p.charAt(pi) == '*') {
        star = pi++;
        mark = vi;
      } else if (star >= 0) {
        pi = star + 1;
        vi = ++mark;
      } else {
        return false;
      }
    }
    while (pi < p.length() && p.charAt(pi) == '*') {
      pi++;
    }
    return pi == p.length();
  }
}
