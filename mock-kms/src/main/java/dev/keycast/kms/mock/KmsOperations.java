package dev.keycast.kms.mock;

import static dev.keycast.kms.mock.KmsRequestFields.blob;
import static dev.keycast.kms.mock.KmsRequestFields.checkAlgorithm;
import static dev.keycast.kms.mock.KmsRequestFields.encryptionContext;
import static dev.keycast.kms.mock.KmsRequestFields.intIn;
import static dev.keycast.kms.mock.KmsRequestFields.optText;
import static dev.keycast.kms.mock.KmsRequestFields.requiredText;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.security.SecureRandom;
import java.time.Clock;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The KMS operations, independent of HTTP: each takes the authenticated caller and the decoded
 * JSON request and returns the JSON response or throws a {@link KmsException}. Keys, data keys and
 * random bytes are here; grants in {@link KmsGrantOperations}, key resolution and authorization in
 * {@link KmsAccessControl}, request fields in {@link KmsRequestFields}.
 */
final class KmsOperations {
  static final int MAX_PLAINTEXT = 4096;

  private final KeyStore keys;
  private final RecipientAttestationVerifier verifier;
  private final ObjectMapper json;
  private final SecureRandom random;
  private final String region;
  private final String accountId;
  private final Clock clock;
  private final KmsAccessControl access;
  private final KmsGrantOperations grants;

  KmsOperations(
      KeyStore keys,
      RecipientAttestationVerifier verifier,
      ObjectMapper json,
      SecureRandom random,
      String region,
      String accountId,
      Clock clock,
      IamPolicies iam) {
    this.keys = keys;
    this.verifier = verifier;
    this.json = json;
    this.random = random;
    this.region = region;
    this.accountId = accountId;
    this.clock = clock;
    this.access = new KmsAccessControl(keys, json, region, accountId, iam);
    this.grants = new KmsGrantOperations(keys, json, random, accountId, clock, access);
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
      case "CreateGrant" -> grants.createGrant(caller, req, note);
      case "ListGrants" -> grants.listGrants(caller, req, note);
      case "RetireGrant" -> grants.retireGrant(caller, req, note);
      case "RevokeGrant" -> grants.revokeGrant(caller, req, note);
      default ->
          throw KmsException.unknownOperation("Operation is not supported by the mock KMS: " + op);
    };
  }

  // ---- operations -------------------------------------------------------------------------

  private ObjectNode createKey(StaticCredential caller, JsonNode req, Map<String, String> note)
      throws KmsException, IOException {
    String usage = optText(req, "KeyUsage").orElse("ENCRYPT_DECRYPT");
    Optional<String> keySpec = optText(req, "KeySpec");
    String spec =
        keySpec.isPresent()
            ? keySpec.get()
            : optText(req, "CustomerMasterKeySpec").orElse("SYMMETRIC_DEFAULT");
    if (!usage.equals("ENCRYPT_DECRYPT") || !spec.equals("SYMMETRIC_DEFAULT")) {
      throw KmsException.validation(
          "the mock KMS supports only SYMMETRIC_DEFAULT ENCRYPT_DECRYPT keys");
    }
    String description = optText(req, "Description").orElse("");
    if (description.length() > 8192) {
      throw KmsException.validation("Description is longer than 8192 characters");
    }
    String policy = optText(req, "Policy").orElse(KeyPolicy.defaultPolicy(accountId));
    KeyPolicy parsed = KeyPolicy.parse(policy, json);
    access.requireLockoutSafe(
        caller, parsed, "arn:aws:kms:" + region + ":" + accountId + ":key/*", req, note);
    KeyStore.KeyMetadata md = keys.create(region, accountId, description, policy, clock.millis());
    note.put("key", md.keyId());
    ObjectNode out = json.createObjectNode();
    out.set("KeyMetadata", metadata(md));
    return out;
  }

  private ObjectNode describeKey(StaticCredential caller, JsonNode req, Map<String, String> note)
      throws KmsException {
    KeyStore.KeyMetadata md = access.resolve(req, note);
    access.authorize(caller, "kms:DescribeKey", md, Map.of(), Optional.empty(), req);
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
    KeyStore.KeyMetadata md = access.resolve(req, note);
    access.authorize(caller, "kms:PutKeyPolicy", md, Map.of(), Optional.empty());
    String name = optText(req, "PolicyName").orElse("default");
    if (!name.equals("default")) {
      throw KmsException.validation("PolicyName must be 'default'");
    }
    String policy = requiredText(req, "Policy");
    access.requireLockoutSafe(caller, KeyPolicy.parse(policy, json), md.arn(), req, note);
    keys.update(
        new KeyStore.KeyMetadata(
            md.keyId(), md.arn(), md.creationDateMillis(), md.description(), md.enabled(), policy));
    return json.createObjectNode();
  }

  private ObjectNode getKeyPolicy(StaticCredential caller, JsonNode req, Map<String, String> note)
      throws KmsException {
    KeyStore.KeyMetadata md = access.resolve(req, note);
    access.authorize(caller, "kms:GetKeyPolicy", md, Map.of(), Optional.empty());
    String name = optText(req, "PolicyName").orElse("default");
    if (!name.equals("default")) {
      throw KmsException.notFound("No such policy: " + name);
    }
    ObjectNode out = json.createObjectNode();
    out.put("Policy", md.policy());
    out.put("PolicyName", "default");
    return out;
  }

  private ObjectNode setEnabled(
      StaticCredential caller, JsonNode req, Map<String, String> note, boolean enabled)
      throws KmsException, IOException {
    KeyStore.KeyMetadata md = access.resolve(req, note);
    access.authorize(
        caller, enabled ? "kms:EnableKey" : "kms:DisableKey", md, Map.of(), Optional.empty());
    keys.update(
        new KeyStore.KeyMetadata(
            md.keyId(), md.arn(), md.creationDateMillis(), md.description(), enabled, md.policy()));
    return json.createObjectNode();
  }

  /** GenerateDataKey, or GenerateDataKeyWithoutPlaintext ({@code withPlaintext} false: no Recipient, no plaintext). */
  private ObjectNode generateDataKey(
      StaticCredential caller, JsonNode req, Map<String, String> note, boolean withPlaintext)
      throws KmsException {
    KeyStore.KeyMetadata md = access.resolve(req, note);
    Map<String, String> ctx = encryptionContext(req);
    if (!withPlaintext && req.has("Recipient")) {
      throw KmsException.validation("GenerateDataKeyWithoutPlaintext takes no Recipient");
    }
    Recipient recipient = recipient(req, note);
    access.authorize(
        caller,
        withPlaintext ? "kms:GenerateDataKey" : "kms:GenerateDataKeyWithoutPlaintext",
        md,
        ctx,
        recipient.verified(),
        req);
    requireEnabled(md);
    recipient.requireValidIfPresent();
    int n;
    boolean hasSpec = req.has("KeySpec");
    boolean hasBytes = req.has("NumberOfBytes");
    if (hasSpec == hasBytes) {
      throw KmsException.validation("Specify exactly one of KeySpec and NumberOfBytes");
    } else if (hasSpec) {
      n =
          switch (requiredText(req, "KeySpec")) {
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
        out.put(
            "CiphertextForRecipient",
            RecipientEnvelopes.seal(recipient.verified().get().publicKeySpki(), dataKey, random));
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
    KeyStore.KeyMetadata md = access.resolve(req, note);
    Map<String, String> ctx = encryptionContext(req);
    access.authorize(caller, "kms:Encrypt", md, ctx, Optional.empty(), req);
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
    KeyStore.KeyMetadata md = keys.find(blobKey).orElseThrow(KmsException::invalidCiphertext);
    note.put("key", md.keyId());
    if (req.has("KeyId")) {
      KeyStore.KeyMetadata named = access.resolve(req, new HashMap<>());
      if (!named.keyId().equals(md.keyId())) {
        throw KmsException.incorrectKey(
            "The key ID in the request does not identify a KMS key that can perform this operation.");
      }
    }
    checkAlgorithm(req);
    Map<String, String> ctx = encryptionContext(req);
    Recipient recipient = recipient(req, note);
    access.authorize(caller, "kms:Decrypt", md, ctx, recipient.verified(), req);
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
        out.put(
            "CiphertextForRecipient",
            RecipientEnvelopes.seal(recipient.verified().get().publicKeySpki(), plaintext, random));
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
        out.put(
            "CiphertextForRecipient",
            RecipientEnvelopes.seal(recipient.verified().get().publicKeySpki(), r, random));
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
      note.put(
          "recipient",
          "verified pcr0=" + v.pcrHex(0).map(h -> h.substring(0, 16) + "...").orElse("none"));
      return new Recipient(true, Optional.of(v), null);
    } catch (RecipientVerificationException e) {
      note.put("recipient", "invalid: " + e.getMessage());
      return new Recipient(true, Optional.empty(), e.getMessage());
    }
  }

  private static void requireEnabled(KeyStore.KeyMetadata md) throws KmsException {
    if (!md.enabled()) {
      throw KmsException.disabled(md.arn() + " is disabled.");
    }
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
}
