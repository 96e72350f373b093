package dev.keycast.kms.mock;

import static dev.keycast.kms.mock.KmsRequestFields.requiredText;
import static dev.keycast.kms.mock.KmsRequestFields.shorten;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * Which key a KMS request names and whether the caller may use it: key ids and ARNs resolved in
 * the mock's one region and account, the key policy, the caller's IAM policy and the key's grants
 * evaluated as AWS KMS does, grant tokens checked, and the lockout safety check of a new policy.
 */
final class KmsAccessControl {
  private final KeyStore keys;
  private final ObjectMapper json;
  private final String region;
  private final String accountId;
  private final IamPolicies iam;

  KmsAccessControl(
      KeyStore keys, ObjectMapper json, String region, String accountId, IamPolicies iam) {
    this.keys = keys;
    this.json = json;
    this.region = region;
    this.accountId = accountId;
    this.iam = iam;
  }

  KeyStore.KeyMetadata resolve(JsonNode req, Map<String, String> note) throws KmsException {
    String id = requiredText(req, "KeyId");
    String uuid = id;
    String prefix = "arn:aws:kms:" + region + ":" + accountId + ":key/";
    if (id.startsWith("arn:")) {
      if (!id.startsWith(prefix)) {
        throw KmsException.notFound("Invalid arn " + id);
      }
      uuid = id.substring(prefix.length());
    } else if (id.startsWith("alias/")) {
      throw KmsException.notFound("Alias " + id + " is not found (the mock KMS has no aliases).");
    }
    if (!KeyStore.KEY_ID.matcher(uuid).matches()) {
      throw KmsException.notFound("Invalid keyId " + shorten(id));
    }
    String u = uuid;
    KeyStore.KeyMetadata md =
        keys.find(uuid)
            .orElseThrow(() -> KmsException.notFound("Key '" + prefix + u + "' does not exist"));
    note.put("key", md.keyId());
    return md;
  }

  /** Which kind of permission let a request through. */
  record Authorized(Optional<Grant> grant) {}

  Authorized authorize(
      StaticCredential caller,
      String action,
      KeyStore.KeyMetadata md,
      Map<String, String> ctx,
      Optional<VerifiedRecipient> recipient)
      throws KmsException {
    return authorize(caller, action, md, ctx, recipient, json.createObjectNode());
  }

  /**
   * Authorizes as AWS KMS does for a principal of the key's account: an explicit Deny in the key
   * policy or the caller's IAM policy refuses; otherwise the key policy naming the caller allows,
   * the key policy naming the account root allows when the caller's IAM policy allows too, and a
   * grant for the caller allows its operations (within its encryption context constraints).
   */
  Authorized authorize(
      StaticCredential caller,
      String action,
      KeyStore.KeyMetadata md,
      Map<String, String> ctx,
      Optional<VerifiedRecipient> recipient,
      JsonNode req)
      throws KmsException {
    checkGrantTokens(req);
    Map<String, String> conditions = conditionContext(caller, ctx, recipient);
    String principal = caller.principalArn();
    KeyPolicy.Evaluation key =
        KeyPolicy.parse(md.policy(), json)
            .evaluate(principal, accountId, action, md.arn(), conditions);
    Optional<KeyPolicy> identity = iam.policyOf(principal, json);
    KeyPolicy.Evaluation id =
        identity.isPresent()
            ? identity.get().evaluate(principal, accountId, action, md.arn(), conditions)
            : new KeyPolicy.Evaluation(false, false, false);
    if (!key.explicitDeny() && !id.explicitDeny()) {
      if (key.allowsCaller() || (key.allowsCallerAccount() && id.allowsCaller())) {
        return new Authorized(Optional.empty());
      }
      for (Grant g : keys.grants(md.keyId())) {
        if (g.allows(principal, action, ctx)) {
          return new Authorized(Optional.of(g));
        }
      }
    }
    throw KmsException.accessDenied(
        "User: "
            + principal
            + " is not authorized to perform: "
            + action
            + " on resource: "
            + md.arn()
            + (key.explicitDeny() || id.explicitDeny()
                ? " with an explicit deny"
                : " because no resource-based policy allows the " + action + " action"));
  }

  private Map<String, String> conditionContext(
      StaticCredential caller, Map<String, String> ctx, Optional<VerifiedRecipient> recipient) {
    Map<String, String> conditions = new HashMap<>();
    ctx.forEach((k, v) -> conditions.put("kms:encryptioncontext:" + k.toLowerCase(Locale.ROOT), v));
    String[] arn = caller.principalArn().split(":", -1);
    if (arn.length >= 5) {
      conditions.put("kms:calleraccount", arn[4]);
    }
    conditions.put("aws:principalarn", caller.principalArn());
    recipient.ifPresent(
        r -> {
          r.pcrHex(0).ifPresent(h -> conditions.put("kms:recipientattestation:imagesha384", h));
          for (int i = 0; i < 32; i++) {
            int idx = i;
            r.pcrHex(i).ifPresent(h -> conditions.put("kms:recipientattestation:pcr" + idx, h));
          }
        });
    return conditions;
  }

  /**
   * The key policy lockout safety check of CreateKey and PutKeyPolicy: unless the request sets
   * {@code BypassPolicyLockoutSafetyCheck}, the new policy must allow the caller a later
   * PutKeyPolicy (through the key policy, or through the account root and the caller's IAM policy).
   */
  void requireLockoutSafe(
      StaticCredential caller,
      KeyPolicy policy,
      String keyArn,
      JsonNode req,
      Map<String, String> note)
      throws KmsException {
    JsonNode bypass = req.get("BypassPolicyLockoutSafetyCheck");
    if (bypass != null && !bypass.isNull() && !bypass.isBoolean()) {
      throw KmsException.serialization("BypassPolicyLockoutSafetyCheck must be a boolean");
    }
    if (bypass != null && bypass.asBoolean(false)) {
      note.put("lockout-check", "bypassed");
      return;
    }
    String principal = caller.principalArn();
    Map<String, String> conditions = conditionContext(caller, Map.of(), Optional.empty());
    KeyPolicy.Evaluation key =
        policy.evaluate(principal, accountId, "kms:PutKeyPolicy", keyArn, conditions);
    Optional<KeyPolicy> identity = iam.policyOf(principal, json);
    boolean idAllows =
        identity.isPresent()
            && identity
                .get()
                .evaluate(principal, accountId, "kms:PutKeyPolicy", keyArn, conditions)
                .allowsCaller();
    boolean idDenies =
        identity.isPresent()
            && identity
                .get()
                .evaluate(principal, accountId, "kms:PutKeyPolicy", keyArn, conditions)
                .explicitDeny();
    if (key.explicitDeny()
        || idDenies
        || !(key.allowsCaller() || (key.allowsCallerAccount() && idAllows))) {
      throw KmsException.malformedPolicy(
          "The new key policy will not allow you to update the key policy in the future.");
    }
  }

  /** Every grant token must be one this KMS issued (KMS: InvalidGrantTokenException otherwise). */
  private void checkGrantTokens(JsonNode req) throws KmsException {
    JsonNode tokens = req.get("GrantTokens");
    if (tokens == null || tokens.isNull()) {
      return;
    }
    if (!tokens.isArray() || tokens.size() > 10) {
      throw KmsException.validation("GrantTokens must be a list of at most 10 grant tokens");
    }
    for (JsonNode t : tokens) {
      if (!t.isTextual() || GrantTokens.grantIdOf(t.asText()).isEmpty()) {
        throw KmsException.invalidGrantToken();
      }
    }
  }
}
