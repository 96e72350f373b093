package dev.keycast.kms.mock;

import static dev.keycast.kms.mock.KmsRequestFields.contextMap;
import static dev.keycast.kms.mock.KmsRequestFields.intIn;
import static dev.keycast.kms.mock.KmsRequestFields.optText;
import static dev.keycast.kms.mock.KmsRequestFields.requiredText;
import static dev.keycast.kms.mock.KmsRequestFields.shorten;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.security.SecureRandom;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** The KMS grant operations: CreateGrant, ListGrants, RetireGrant, RevokeGrant. */
final class KmsGrantOperations {
  private final KeyStore keys;
  private final ObjectMapper json;
  private final SecureRandom random;
  private final String accountId;
  private final Clock clock;
  private final KmsAccessControl access;

  KmsGrantOperations(
      KeyStore keys,
      ObjectMapper json,
      SecureRandom random,
      String accountId,
      Clock clock,
      KmsAccessControl access) {
    this.keys = keys;
    this.json = json;
    this.random = random;
    this.accountId = accountId;
    this.clock = clock;
    this.access = access;
  }

  ObjectNode createGrant(StaticCredential caller, JsonNode req, Map<String, String> note)
      throws KmsException, IOException {
    KeyStore.KeyMetadata md = access.resolve(req, note);
    String grantee = requiredText(req, "GranteePrincipal");
    Optional<String> retiring = optText(req, "RetiringPrincipal");
    for (String p : retiring.isPresent() ? List.of(grantee, retiring.get()) : List.of(grantee)) {
      if (p.length() > 256 || !(p.startsWith("arn:aws:iam::") || p.startsWith("arn:aws:sts::"))) {
        throw KmsException.validation("Invalid principal: " + shorten(p));
      }
    }
    JsonNode opsNode = req.get("Operations");
    if (opsNode == null
        || !opsNode.isArray()
        || opsNode.isEmpty()
        || opsNode.size() > Grant.OPERATIONS.size()) {
      throw KmsException.validation("Operations must be a non-empty list of grant operations");
    }
    List<String> ops = new java.util.ArrayList<>();
    for (JsonNode o : opsNode) {
      if (!o.isTextual() || !Grant.OPERATIONS.contains(o.asText())) {
        throw KmsException.validation(
            "Operations holds a value that is not a grant operation: " + shorten(o.asText()));
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
    KmsAccessControl.Authorized via =
        access.authorize(caller, "kms:CreateGrant", md, Map.of(), Optional.empty(), req);
    if (via.grant().isPresent()) {
      // A grant that includes CreateGrant lets its grantee grant at most its own operations.
      Grant parent = via.grant().get();
      if (!parent.operations().containsAll(ops)) {
        throw KmsException.accessDenied(
            "User: "
                + caller.principalArn()
                + " is not authorized to perform: kms:CreateGrant with operations beyond its own grant");
      }
      subset = subset.isEmpty() ? parent.encryptionContextSubset() : subset;
      equals = equals.isEmpty() ? parent.encryptionContextEquals() : equals;
    }
    if (req.path("DryRun").asBoolean(false)) {
      throw new KmsException(
          "DryRunOperationException",
          412,
          "The request would have succeeded, but the DryRun option is set.");
    }
    byte[] idBytes = new byte[32];
    random.nextBytes(idBytes);
    String grantId = java.util.HexFormat.of().formatHex(idBytes);
    Grant g =
        new Grant(
            grantId,
            md.keyId(),
            name,
            grantee,
            retiring,
            ops,
            subset,
            equals,
            "arn:aws:iam::" + accountId + ":root",
            clock.millis());
    keys.addGrant(g);
    note.put("grant", grantId.substring(0, 12) + "... to " + grantee + " " + ops);
    ObjectNode out = json.createObjectNode();
    out.put("GrantToken", GrantTokens.issue(md.keyId(), grantId, random));
    out.put("GrantId", grantId);
    return out;
  }

  ObjectNode listGrants(StaticCredential caller, JsonNode req, Map<String, String> note)
      throws KmsException {
    KeyStore.KeyMetadata md = access.resolve(req, note);
    access.authorize(caller, "kms:ListGrants", md, Map.of(), Optional.empty(), req);
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
  ObjectNode retireGrant(StaticCredential caller, JsonNode req, Map<String, String> note)
      throws KmsException, IOException {
    String keyId;
    String grantId;
    Optional<String> token = optText(req, "GrantToken");
    if (token.isPresent()) {
      GrantTokens.Parsed p =
          GrantTokens.grantIdOf(token.get()).orElseThrow(KmsException::invalidGrantToken);
      keyId = p.keyId();
      grantId = p.grantId();
    } else {
      keyId = access.resolve(req, note).keyId();
      grantId = requiredText(req, "GrantId");
    }
    note.put("key", keyId);
    String k = keyId;
    String gid = grantId;
    Grant g =
        keys.grants(keyId).stream()
            .filter(x -> x.grantId().equals(gid))
            .findFirst()
            .orElseThrow(
                () ->
                    KmsException.notFound("Grant ID " + shorten(gid) + " not found for key " + k));
    String principal = caller.principalArn();
    boolean allowed =
        g.retiringPrincipal().map(principal::equals).orElse(false)
            || (g.granteePrincipal().equals(principal) && g.operations().contains("RetireGrant"))
            || principal.equals("arn:aws:iam::" + accountId + ":root");
    if (!allowed) {
      throw KmsException.accessDenied(
          "User: " + principal + " is not authorized to perform: kms:RetireGrant");
    }
    keys.removeGrant(keyId, grantId);
    note.put("grant", "retired " + grantId.substring(0, Math.min(12, grantId.length())));
    return json.createObjectNode();
  }

  ObjectNode revokeGrant(StaticCredential caller, JsonNode req, Map<String, String> note)
      throws KmsException, IOException {
    KeyStore.KeyMetadata md = access.resolve(req, note);
    String grantId = requiredText(req, "GrantId");
    access.authorize(caller, "kms:RevokeGrant", md, Map.of(), Optional.empty(), req);
    if (!keys.removeGrant(md.keyId(), grantId)) {
      throw KmsException.notFound(
          "Grant ID " + shorten(grantId) + " not found for key " + md.arn());
    }
    note.put("grant", "revoked " + grantId.substring(0, Math.min(12, grantId.length())));
    return json.createObjectNode();
  }
}
