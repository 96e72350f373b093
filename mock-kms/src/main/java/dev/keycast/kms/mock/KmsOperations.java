package dev.keycast.kms.mock;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.security.SecureRandom;
import java.time.Clock;
import java.util.Arrays;
import java.util.Base64;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * The KMS operations, independent of HTTP: each takes the authenticated caller and the decoded
 * JSON request and returns the JSON response or throws a {@link KmsException}.
 */
final class KmsOperations {
  static final int MAX_PLAINTEXT = 4096;
  static final int MAX_CONTEXT_ENTRIES = 64;

  private final KeyStore keys;
  private final RecipientAttestationVerifier verifier;
  private final ObjectMapper json;
  private final SecureRandom random;
  private final String region;
  private final String accountId;
  private final Clock clock;
  private final IamPolicies iam;

  KmsOperations(
      KeyStore keys,
      RecipientAttestationVerifier verifier,
      ObjectMapper json,
      SecureRandom random,
      String region,
      String accountId,
      Clock clock,
      IamPolicies iam) {
    this.iam = iam;
    this.keys = keys;
    this.verifier = verifier;
    this.json = json;
    this.random = random;
    this.region = region;
    this.accountId = accountId;
    this.clock = clock;
  }

  /** One authenticated call; {@code note} collects what the access log line should say. */
  ObjectNode call(String op, StaticCredential caller, JsonNode req, Map<String, String> note)
      throws KmsException, IOException {
    if (!req.isObject()) {
      throw KmsException.serialization("request body must be a JSON object");
    }
    return switch (op) {
      case "CreateKey" -> createKey(caller, req, note);
      case "DescribeKey" -> describeKey(caller, req, note);
      case "ListKeys" -> listKeys(req);
      case "PutKeyPolicy" -> putKeyPolicy(caller, req, note);
      case "GetKeyPolicy" -> getKeyPolicy(caller, req, note);
      case "EnableKey" -> setEnabled(caller, req, note, true);
      case "DisableKey" -> setEnabled(caller, req, note, false);
      case "GenerateDataKey" -> generateDataKey(caller, req, note, true);
      case "GenerateDataKeyWithoutPlaintext" -> generateDataKey(caller, req, note, false);
      case "Encrypt" -> encrypt(caller, req, note);
      case "Decrypt" -> decrypt(caller, req, note);
      case "GenerateRandom" -> generateRandom(caller, req, note);
      case "CreateGrant" -> createGrant(caller, req, note);
      case "ListGrants" -> listGrants(caller, req, note);
      case "RetireGrant" -> retireGrant(caller, req, note);
      case "RevokeGrant" -> revokeGrant(caller, req, note);
      default -> throw KmsException.unknownOperation("Operation is not supported by the mock KMS: " + op);
    };
  }

  // ---- operations -------------------------------------------------------------------------

  private ObjectNode createKey(StaticCredential caller, JsonNode req, Map<String, String> note)
      throws KmsException, IOException {
    String usage = optText(req, "KeyUsage").orElse("ENCRYPT_DECRYPT");
    Optional<String> keySpec = optText(req, "KeySpec");
    String spec =
        keySpec.isPresent() ? keySpec.get() : optText(req, "CustomerMasterKeySpec").orElse("SYMMETRIC_DEFAULT");
    if (!usage.equals("ENCRYPT_DECRYPT") || !spec.equals("SYMMETRIC_DEFAULT")) {
      throw KmsException.validation("the mock KMS supports only SYMMETRIC_DEFAULT ENCRYPT_DECRYPT keys");
    }
    String description = optText(req, "Description").orElse("");
    if (description.length() > 8192) {
      throw KmsException.validation("Description is longer than 8192 characters");
    }
    String policy = optText(req, "Policy").orElse(KeyPolicy.defaultPolicy(accountId));
    KeyPolicy parsed = KeyPolicy.parse(policy, json);
    requireLockoutSafe(caller, parsed, "arn:aws:kms:" + region + ":" + accountId + ":key/*", req, note);
    KeyStore.KeyMetadata md = keys.create(region, accountId, description, policy, clock.millis());
    note.put("key", md.keyId());
    ObjectNode out = json.createObjectNode();
    out.set("KeyMetadata", metadata(md));
    return out;
  }

  private ObjectNode describeKey(StaticCredential caller, JsonNode req, Map<String, String> note)
      throws KmsException {
    KeyStore.KeyMetadata md = resolve(req, note);
    authorize(caller, "kms:DescribeKey", md, Map.of(), Optional.empty(), req);
    ObjectNode out = json.createObjectNode();
    out.set("KeyMetadata", metadata(md));
    return out;
  }

  private ObjectNode listKeys(JsonNode req) throws KmsException {
    int limit = req.has("Limit") ? intIn(req, "Limit", 1, 1000) : 100;
    String marker = optText(req, "Marker").orElse(null);
    List<KeyStore.KeyMetadata> all = keys.list();
    ObjectNode out = json.createObjectNode();
    ArrayNode arr = out.putArray("Keys");
    int i = 0;
    if (marker != null) {
      while (i < all.size() && all.get(i).keyId().compareTo(marker) <= 0) {
        i++;
      }
    }
    int end = Math.min(all.size(), i + limit);
    for (int j = i; j < end; j++) {
      arr.addObject().put("KeyId", all.get(j).keyId()).put("KeyArn", all.get(j).arn());
    }
    out.put("Truncated", end < all.size());
    if (end < all.size()) {
      out.put("NextMarker", all.get(end - 1).keyId());
    }
    return out;
  }

  private ObjectNode putKeyPolicy(StaticCredential caller, JsonNode req, Map<String, String> note)
      throws KmsException, IOException {
    KeyStore.KeyMetadata md = resolve(req, note);
    authorize(caller, "kms:PutKeyPolicy", md, Map.of(), Optional.empty());
    String name = optText(req, "PolicyName").orElse("default");
    if (!name.equals("default")) {
      throw KmsException.validation("PolicyName must be 'default'");
    }
    String policy = requiredText(req, "Policy");
    requireLockoutSafe(caller, KeyPolicy.parse(policy, json), md.arn(), req, note);
    keys.update(new KeyStore.KeyMetadata(md.keyId(), md.arn(), md.creationDateMillis(), md.description(), md.enabled(), policy));
    return json.createObjectNode();
  }

  private ObjectNode getKeyPolicy(StaticCredential caller, JsonNode req, Map<String, String> note)
      throws KmsException {
    KeyStore.KeyMetadata md = resolve(req, note);
    authorize(caller, "kms:GetKeyPolicy", md, Map.of(), Optional.empty());
    String name = optText(req, "PolicyName").orElse("default");
    if (!name.equals("default")) {
      throw KmsException.notFound("No such policy: " + name);
    }
    ObjectNode out = json.createObjectNode();
    out.put("Policy", md.policy());
    out.put("PolicyName", "default");
    return out;
  }

  private ObjectNode setEnabled(StaticCredential caller, JsonNode req, Map<String, String> note, boolean enabled)
      throws KmsException, IOException {
    KeyStore.KeyMetadata md = resolve(req, note);
    authorize(caller, enabled ? "kms:EnableKey" : "kms:DisableKey", md, Map.of(), Optional.empty());
    keys.update(new KeyStore.KeyMetadata(md.keyId(), md.arn(), md.creationDateMillis(), md.description(), enabled, md.policy()));
    return json.createObjectNode();
  }

  /** GenerateDataKey, or GenerateDataKeyWithoutPlaintext ({@code withPlaintext} false: no Recipient, no plaintext). */
  private ObjectNode generateDataKey(StaticCredential caller, JsonNode req, Map<String, String> note, boolean withPlaintext)
      throws KmsException {
    KeyStore.KeyMetadata md = resolve(req, note);
    Map<String, String> ctx = encryptionContext(req);
    if (!withPlaintext && req.has("Recipient")) {
      throw KmsException.validation("GenerateDataKeyWithoutPlaintext takes no Recipient");
    }
    Recipient recipient = recipient(req, note);
    authorize(caller, withPlaintext ? "kms:GenerateDataKey" : "kms:GenerateDataKeyWithoutPlaintext", md, ctx,
        recipient.verified(), req);
    requireEnabled(md);
    recipient.requireValidIfPresent();
    int n;
    boolean hasSpec = req.has("KeySpec");
    boolean hasBytes = req.has("NumberOfBytes");
    if (hasSpec == hasBytes) {
      throw KmsException.validation("Specify exactly one of KeySpec and NumberOfBytes");
    } else if (hasSpec) {
      n = switch (requiredText(req, "KeySpec")) {
        case "AES_256" -> 32;
        case "AES_128" -> 16;
        default -> throw KmsException.validation("KeySpec must be AES_256 or AES_128");
      };
    } else {
      n = intIn(req, "NumberOfBytes", 1, 1024);
    }
    byte[] dataKey = new byte[n];
    byte[] km = keys.material(md.keyId());
    try {
      random.nextBytes(dataKey);
      ObjectNode out = json.createObjectNode();
      out.put("CiphertextBlob", CiphertextBlobs.seal(md.keyId(), km, dataKey, ctx, random));
      out.put("KeyId", md.arn());
      if (recipient.verified().isPresent()) {
        out.put("CiphertextForRecipient", RecipientEnvelopes.seal(recipient.verified().get().publicKeySpki(), dataKey, random));
      } else if (withPlaintext) {
        out.put("Plaintext", dataKey.clone());
      }
      return out;
    } finally {
      Arrays.fill(km, (byte) 0);
      Arrays.fill(dataKey, (byte) 0);
    }
  }

  private ObjectNode encrypt(StaticCredential caller, JsonNode req, Map<String, String> note)
      throws KmsException {
    KeyStore.KeyMetadata md = resolve(req, note);
    Map<String, String> ctx = encryptionContext(req);
    authorize(caller, "kms:Encrypt", md, ctx, Optional.empty(), req);
    requireEnabled(md);
    checkAlgorithm(req);
    byte[] plaintext = blob(req, "Plaintext", true);
    if (plaintext.length < 1 || plaintext.length > MAX_PLAINTEXT) {
      Arrays.fill(plaintext, (byte) 0);
      throw KmsException.validation("Plaintext must be 1 to " + MAX_PLAINTEXT + " bytes");
    }
    byte[] km = keys.material(md.keyId());
    try {
      ObjectNode out = json.createObjectNode();
      out.put("CiphertextBlob", CiphertextBlobs.seal(md.keyId(), km, plaintext, ctx, random));
      out.put("KeyId", md.arn());
      out.put("EncryptionAlgorithm", "SYMMETRIC_DEFAULT");
      return out;
    } finally {
      Arrays.fill(km, (byte) 0);
      Arrays.fill(plaintext, (byte) 0);
    }
  }

  private ObjectNode decrypt(StaticCredential caller, JsonNode req, Map<String, String> note)
      throws KmsException {
    byte[] blob = blob(req, "CiphertextBlob", true);
    String blobKey = CiphertextBlobs.keyIdOf(blob);
    KeyStore.KeyMetadata md =
        keys.find(blobKey).orElseThrow(KmsException::invalidCiphertext);
    note.put("key", md.keyId());
    if (req.has("KeyId")) {
      KeyStore.KeyMetadata named = resolve(req, new HashMap<>());
      if (!named.keyId().equals(md.keyId())) {
        throw KmsException.incorrectKey(
            "The key ID in the request does not identify a KMS key that can perform this operation.");
      }
    }
    checkAlgorithm(req);
    Map<String, String> ctx = encryptionContext(req);
    Recipient recipient = recipient(req, note);
    authorize(caller, "kms:Decrypt", md, ctx, recipient.verified(), req);
    requireEnabled(md);
    recipient.requireValidIfPresent();
    byte[] km = keys.material(md.keyId());
    byte[] plaintext = null;
    try {
      plaintext = CiphertextBlobs.open(blob, km, ctx);
      ObjectNode out = json.createObjectNode();
      out.put("KeyId", md.arn());
      out.put("EncryptionAlgorithm", "SYMMETRIC_DEFAULT");
      if (recipient.verified().isPresent()) {
        out.put("CiphertextForRecipient", RecipientEnvelopes.seal(recipient.verified().get().publicKeySpki(), plaintext, random));
      } else {
        out.put("Plaintext", plaintext.clone());
      }
      return out;
    } finally {
      Arrays.fill(km, (byte) 0);
      if (plaintext != null) {
        Arrays.fill(plaintext, (byte) 0);
      }
    }
  }

  private ObjectNode generateRandom(StaticCredential caller, JsonNode req, Map<String, String> note)
      throws KmsException {
    int n = intIn(req, "NumberOfBytes", 1, 1024);
    Recipient recipient = recipient(req, note);
    recipient.requireValidIfPresent();
    byte[] r = new byte[n];
    random.nextBytes(r);
    try {
      ObjectNode out = json.createObjectNode();
      if (recipient.verified().isPresent()) {
        out.put("CiphertextForRecipient", RecipientEnvelopes.seal(recipient.verified().get().publicKeySpki(), r, random));
      } else {
        out.put("Plaintext", r.clone());
      }
      return out;
    } finally {
      Arrays.fill(r, (byte) 0);
    }
  }

  // ---- helpers ------------------------------------------------------------------------------

  /** The Recipient of a request: absent, verified, or present but invalid (why). */
  private record Recipient(boolean present, Optional<VerifiedRecipient> verified, String failure) {
    void requireValidIfPresent() throws KmsException {
      if (present && verified.isEmpty()) {
        throw KmsException.validation("Recipient attestation document is not valid: " + failure);
      }
    }
  }

  private Recipient recipient(JsonNode req, Map<String, String> note) throws KmsException {
    JsonNode r = req.get("Recipient");
    if (r == null || r.isNull()) {
      return new Recipient(false, Optional.empty(), null);
    }
    if (!r.isObject()) {
      throw KmsException.serialization("Recipient must be an object");
    }
    String alg = optText(r, "KeyEncryptionAlgorithm").orElse("RSAES_OAEP_SHA_256");
    if (!alg.equals("RSAES_OAEP_SHA_256")) {
      throw KmsException.validation("KeyEncryptionAlgorithm must be RSAES_OAEP_SHA_256");
    }
    byte[] doc = blob(r, "AttestationDocument", true);
    if (doc.length > RecipientAttestationVerifier.MAX_DOCUMENT_BYTES) {
      throw KmsException.validation("AttestationDocument is longer than 262144 bytes");
    }
    try {
      VerifiedRecipient v = verifier.verify(doc);
      note.put("recipient", "verified pcr0=" + v.pcrHex(0).map(h -> h.substring(0, 16) + "...").orElse("none"));
      return new Recipient(true, Optional.of(v), null);
    } catch (RecipientVerificationException e) {
      note.put("recipient", "invalid: " + e.getMessage());
      return new Recipient(true, Optional.empty(), e.getMessage());
    }
  }

  /** Which kind of permission let a request through. */
  private record Authorized(Optional<Grant> grant) {}

  private Authorized authorize(
      StaticCredential caller, String action, KeyStore.KeyMetadata md, Map<String, String> ctx,
      Optional<VerifiedRecipient> recipient) throws KmsException {
    return authorize(caller, action, md, ctx, recipient, json.createObjectNode());
  }

  /**
   * Authorizes as AWS KMS does for a principal of the key's account: an explicit Deny in the key
   * policy or the caller's IAM policy refuses; otherwise the key policy naming the caller allows,
   * the key policy naming the account root allows when the caller's IAM policy allows too, and a
   * grant for the caller allows its operations (within its encryption context constraints).
   */
  private Authorized authorize(
      StaticCredential caller, String action, KeyStore.KeyMetadata md, Map<String, String> ctx,
      Optional<VerifiedRecipient> recipient, JsonNode req) throws KmsException {
    checkGrantTokens(req);
    Map<String, String> conditions = conditionContext(caller, ctx, recipient);
    String principal = caller.principalArn();
    KeyPolicy.Evaluation key = KeyPolicy.parse(md.policy(), json).evaluate(principal, accountId, action, md.arn(), conditions);
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
        "User: " + principal + " is not authorized to perform: " + action + " on resource: " + md.arn()
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
  private void requireLockoutSafe(
      StaticCredential caller, KeyPolicy policy, String keyArn, JsonNode req, Map<String, String> note)
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
    KeyPolicy.Evaluation key = policy.evaluate(principal, accountId, "kms:PutKeyPolicy", keyArn, conditions);
    Optional<KeyPolicy> identity = iam.policyOf(principal, json);
    boolean idAllows = identity.isPresent()
        && identity.get().evaluate(principal, accountId, "kms:PutKeyPolicy", keyArn, conditions).allowsCaller();
    boolean idDenies = identity.isPresent()
        && identity.get().evaluate(principal, accountId, "kms:PutKeyPolicy", keyArn, conditions).explicitDeny();
    if (key.explicitDeny() || idDenies || !(key.allowsCaller() || (key.allowsCallerAccount() && idAllows))) {
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

  // ---- grants -------------------------------------------------------------------------------

  private ObjectNode createGrant(StaticCredential caller, JsonNode req, Map<String, String> note)
      throws KmsException, IOException {
    KeyStore.KeyMetadata md = resolve(req, note);
    String grantee = requiredText(req, "GranteePrincipal");
    Optional<String> retiring = optText(req, "RetiringPrincipal");
    for (String p : retiring.isPresent() ? List.of(grantee, retiring.get()) : List.of(grantee)) {
      if (p.length() > 256 || !(p.startsWith("arn:aws:iam::") || p.startsWith("arn:aws:sts::"))) {
        throw KmsException.validation("Invalid principal: " + shorten(p));
      }
    }
    JsonNode opsNode = req.get("Operations");
    if (opsNode == null || !opsNode.isArray() || opsNode.isEmpty() || opsNode.size() > Grant.OPERATIONS.size()) {
      throw KmsException.validation("Operations must be a non-empty list of grant operations");
    }
    List<String> ops = new java.util.ArrayList<>();
    for (JsonNode o : opsNode) {
      if (!o.isTextual() || !Grant.OPERATIONS.contains(o.asText())) {
        throw KmsException.validation("Operations holds a value that is not a grant operation: " + shorten(o.asText()));
      }
      if (!ops.contains(o.asText())) {
        ops.add(o.asText());
      }
    }
    Map<String, String> subset = Map.of();
    Map<String, String> equals = Map.of();
    JsonNode constraints = req.get("Constraints");
    if (constraints != null && !constraints.isNull()) {
      if (!constraints.isObject()) {
        throw KmsException.serialization("Constraints must be an object");
      }
      subset = contextMap(constraints, "EncryptionContextSubset");
      equals = contextMap(constraints, "EncryptionContextEquals");
    }
    String name = optText(req, "Name").orElse("");
    if (name.length() > 256) {
      throw KmsException.validation("Name is longer than 256 characters");
    }
    Authorized via = authorize(caller, "kms:CreateGrant", md, Map.of(), Optional.empty(), req);
    if (via.grant().isPresent()) {
      // A grant that includes CreateGrant lets its grantee grant at most its own operations.
      Grant parent = via.grant().get();
      if (!parent.operations().containsAll(ops)) {
        throw KmsException.accessDenied("User: " + caller.principalArn()
            + " is not authorized to perform: kms:CreateGrant with operations beyond its own grant");
      }
      subset = subset.isEmpty() ? parent.encryptionContextSubset() : subset;
      equals = equals.isEmpty() ? parent.encryptionContextEquals() : equals;
    }
    if (req.path("DryRun").asBoolean(false)) {
      throw new KmsException("DryRunOperationException", 412, "The request would have succeeded, but the DryRun option is set.");
    }
    byte[] idBytes = new byte[32];
    random.nextBytes(idBytes);
    String grantId = java.util.HexFormat.of().formatHex(idBytes);
    Grant g = new Grant(grantId, md.keyId(), name, grantee, retiring, ops, subset, equals,
        "arn:aws:iam::" + accountId + ":root", clock.millis());
    keys.addGrant(g);
    note.put("grant", grantId.substring(0, 12) + "... to " + grantee + " " + ops);
    ObjectNode out = json.createObjectNode();
    out.put("GrantToken", GrantTokens.issue(md.keyId(), grantId, random));
    out.put("GrantId", grantId);
    return out;
  }

  private static Map<String, String> contextMap(JsonNode constraints, String field) throws KmsException {
    JsonNode n = constraints.get(field);
    Map<String, String> m = new java.util.TreeMap<>();
    if (n == null || n.isNull()) {
      return m;
    }
    if (!n.isObject() || n.size() > MAX_CONTEXT_ENTRIES) {
      throw KmsException.validation(field + " must be a map of at most " + MAX_CONTEXT_ENTRIES + " strings");
    }
    for (Iterator<Map.Entry<String, JsonNode>> it = n.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      if (!e.getValue().isTextual()) {
        throw KmsException.validation(field + " values must be strings");
      }
      m.put(e.getKey(), e.getValue().asText());
    }
    return m;
  }

  private ObjectNode listGrants(StaticCredential caller, JsonNode req, Map<String, String> note)
      throws KmsException {
    KeyStore.KeyMetadata md = resolve(req, note);
    authorize(caller, "kms:ListGrants", md, Map.of(), Optional.empty(), req);
    int limit = req.has("Limit") ? intIn(req, "Limit", 1, 100) : 50;
    Optional<String> onlyId = optText(req, "GrantId");
    Optional<String> onlyGrantee = optText(req, "GranteePrincipal");
    List<Grant> all =
        keys.grants(md.keyId()).stream()
            .filter(g -> onlyId.isEmpty() || g.grantId().equals(onlyId.get()))
            .filter(g -> onlyGrantee.isEmpty() || g.granteePrincipal().equals(onlyGrantee.get()))
            .toList();
    int start = 0;
    Optional<String> marker = optText(req, "Marker");
    if (marker.isPresent()) {
      start = -1;
      for (int i = 0; i < all.size(); i++) {
        if (all.get(i).grantId().equals(marker.get())) {
          start = i + 1;
        }
      }
      if (start < 0) {
        throw KmsException.validation("Marker is not valid");
      }
    }
    int end = Math.min(all.size(), start + limit);
    ObjectNode out = json.createObjectNode();
    ArrayNode arr = out.putArray("Grants");
    for (Grant g : all.subList(start, end)) {
      ObjectNode n = arr.addObject();
      n.put("KeyId", md.arn());
      n.put("GrantId", g.grantId());
      if (!g.name().isEmpty()) {
        n.put("Name", g.name());
      }
      n.put("CreationDate", g.creationDateMillis() / 1000.0);
      n.put("GranteePrincipal", g.granteePrincipal());
      g.retiringPrincipal().ifPresent(r -> n.put("RetiringPrincipal", r));
      n.put("IssuingAccount", g.issuingAccount());
      ArrayNode ops = n.putArray("Operations");
      g.operations().forEach(ops::add);
      if (!g.encryptionContextSubset().isEmpty() || !g.encryptionContextEquals().isEmpty()) {
        ObjectNode c = n.putObject("Constraints");
        if (!g.encryptionContextSubset().isEmpty()) {
          ObjectNode sub = c.putObject("EncryptionContextSubset");
          g.encryptionContextSubset().forEach(sub::put);
        }
        if (!g.encryptionContextEquals().isEmpty()) {
          ObjectNode eq = c.putObject("EncryptionContextEquals");
          g.encryptionContextEquals().forEach(eq::put);
        }
      }
    }
    out.put("Truncated", end < all.size());
    if (end < all.size()) {
      out.put("NextMarker", all.get(end - 1).grantId());
    }
    return out;
  }

  /**
   * RetireGrant: by grant token, or by key and grant id. Allowed to the grant's retiring principal,
   * to its grantee when the grant includes RetireGrant, and to the account (its root user).
   */
  private ObjectNode retireGrant(StaticCredential caller, JsonNode req, Map<String, String> note)
      throws KmsException, IOException {
    String keyId;
    String grantId;
    Optional<String> token = optText(req, "GrantToken");
    if (token.isPresent()) {
      GrantTokens.Parsed p = GrantTokens.grantIdOf(token.get()).orElseThrow(KmsException::invalidGrantToken);
      keyId = p.keyId();
      grantId = p.grantId();
    } else {
      keyId = resolve(req, note).keyId();
      grantId = requiredText(req, "GrantId");
    }
    note.put("key", keyId);
    String k = keyId;
    String gid = grantId;
    Grant g = keys.grants(keyId).stream().filter(x -> x.grantId().equals(gid)).findFirst()
        .orElseThrow(() -> KmsException.notFound("Grant ID " + shorten(gid) + " not found for key " + k));
    String principal = caller.principalArn();
    boolean allowed = g.retiringPrincipal().map(principal::equals).orElse(false)
        || (g.granteePrincipal().equals(principal) && g.operations().contains("RetireGrant"))
        || principal.equals("arn:aws:iam::" + accountId + ":root");
    if (!allowed) {
      throw KmsException.accessDenied("User: " + principal + " is not authorized to perform: kms:RetireGrant");
    }
    keys.removeGrant(keyId, grantId);
    note.put("grant", "retired " + grantId.substring(0, Math.min(12, grantId.length())));
    return json.createObjectNode();
  }

  private ObjectNode revokeGrant(StaticCredential caller, JsonNode req, Map<String, String> note)
      throws KmsException, IOException {
    KeyStore.KeyMetadata md = resolve(req, note);
    String grantId = requiredText(req, "GrantId");
    authorize(caller, "kms:RevokeGrant", md, Map.of(), Optional.empty(), req);
    if (!keys.removeGrant(md.keyId(), grantId)) {
      throw KmsException.notFound("Grant ID " + shorten(grantId) + " not found for key " + md.arn());
    }
    note.put("grant", "revoked " + grantId.substring(0, Math.min(12, grantId.length())));
    return json.createObjectNode();
  }

  private static void requireEnabled(KeyStore.KeyMetadata md) throws KmsException {
    if (!md.enabled()) {
      throw KmsException.disabled(md.arn() + " is disabled.");
    }
  }

  private static void checkAlgorithm(JsonNode req) throws KmsException {
    String alg = optText(req, "EncryptionAlgorithm").orElse("SYMMETRIC_DEFAULT");
    if (!alg.equals("SYMMETRIC_DEFAULT")) {
      throw KmsException.validation("EncryptionAlgorithm must be SYMMETRIC_DEFAULT for a symmetric key");
    }
  }

  private KeyStore.KeyMetadata resolve(JsonNode req, Map<String, String> note) throws KmsException {
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
        keys.find(uuid).orElseThrow(() -> KmsException.notFound("Key '" + prefix + u + "' does not exist"));
    note.put("key", md.keyId());
    return md;
  }

  private ObjectNode metadata(KeyStore.KeyMetadata md) {
    ObjectNode m = json.createObjectNode();
    m.put("AWSAccountId", accountId);
    m.put("KeyId", md.keyId());
    m.put("Arn", md.arn());
    m.put("CreationDate", md.creationDateMillis() / 1000.0);
    m.put("Enabled", md.enabled());
    m.put("Description", md.description());
    m.put("KeyUsage", "ENCRYPT_DECRYPT");
    m.put("KeyState", md.enabled() ? "Enabled" : "Disabled");
    m.put("Origin", "AWS_KMS");
    m.put("KeyManager", "CUSTOMER");
    m.put("CustomerMasterKeySpec", "SYMMETRIC_DEFAULT");
    m.put("KeySpec", "SYMMETRIC_DEFAULT");
    m.putArray("EncryptionAlgorithms").add("SYMMETRIC_DEFAULT");
    m.put("MultiRegion", false);
    return m;
  }

  private static Map<String, String> encryptionContext(JsonNode req) throws KmsException {
    JsonNode c = req.get("EncryptionContext");
    Map<String, String> out = new LinkedHashMap<>();
    if (c == null || c.isNull()) {
      return out;
    }
    if (!c.isObject() || c.size() > MAX_CONTEXT_ENTRIES) {
      throw KmsException.validation("EncryptionContext must be a map of at most " + MAX_CONTEXT_ENTRIES + " strings");
    }
    for (Iterator<Map.Entry<String, JsonNode>> it = c.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      if (!e.getValue().isTextual() || e.getKey().isEmpty() || e.getKey().length() > 2048
          || e.getValue().asText().length() > 2048) {
        throw KmsException.validation("EncryptionContext entries must be non-empty strings of at most 2048 characters");
      }
      out.put(e.getKey(), e.getValue().asText());
    }
    return out;
  }

  private static Optional<String> optText(JsonNode n, String f) throws KmsException {
    JsonNode v = n.get(f);
    if (v == null || v.isNull()) {
      return Optional.empty();
    }
    if (!v.isTextual()) {
      throw KmsException.serialization(f + " must be a string");
    }
    return Optional.of(v.asText());
  }

  private static String requiredText(JsonNode n, String f) throws KmsException {
    return optText(n, f)
        .filter(s -> !s.isEmpty())
        .orElseThrow(() -> KmsException.validation("1 validation error detected: Value null at '" + f
            + "' failed to satisfy constraint: Member must not be null"));
  }

  private static int intIn(JsonNode n, String f, int min, int max) throws KmsException {
    JsonNode v = n.get(f);
    if (v == null || !v.canConvertToInt() || !v.isIntegralNumber()) {
      throw KmsException.validation(f + " must be an integer from " + min + " to " + max);
    }
    int i = v.intValue();
    if (i < min || i > max) {
      throw KmsException.validation(f + " must be from " + min + " to " + max + ", got " + i);
    }
    return i;
  }

  private static byte[] blob(JsonNode n, String f, boolean required) throws KmsException {
    JsonNode v = n.get(f);
    if (v == null || v.isNull()) {
      if (required) {
        throw KmsException.validation("1 validation error detected: Value null at '" + f
            + "' failed to satisfy constraint: Member must not be null");
      }
      return new byte[0];
    }
    if (!v.isTextual()) {
      throw KmsException.serialization(f + " must be a base64 string");
    }
    try {
      return Base64.getDecoder().decode(v.asText());
    } catch (IllegalArgumentException e) {
      throw KmsException.serialization(f + " is not valid base64");
    }
  }

  private static String shorten(String s) {
    return s.length() > 80 ? s.substring(0, 80) + "..." : s;
  }
}
