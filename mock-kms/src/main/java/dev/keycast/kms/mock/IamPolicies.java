package dev.keycast.kms.mock;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * The IAM identity policies of the account's principals, as the mock's stand-in for IAM: principal
 * ARN to its (combined) identity policy. A key policy statement that names the account root ({@code
 * arn:aws:iam::ACCOUNT:root}) allows an IAM principal of that account exactly when the principal's
 * identity policy here allows the action as well; a Deny here wins like a Deny anywhere.
 *
 * <p>File format ({@code mock-kms --iam-policies FILE}): a JSON object, each member a principal
 * ARN whose value is an IAM policy document ({@code {"Version": .., "Statement": [..]}}, no {@code
 * Principal}). A principal that is not listed has no IAM permission.
 */
public record IamPolicies(Map<String, String> policyByPrincipal) {
  static final int MAX_FILE_BYTES = 1 << 20;

  public IamPolicies {
    policyByPrincipal = Map.copyOf(policyByPrincipal);
  }

  public static IamPolicies none() {
    return new IamPolicies(Map.of());
  }

  /** Reads and checks the file; every policy must parse. */
  public static IamPolicies read(Path file) throws IOException {
    if (Files.size(file) > MAX_FILE_BYTES) {
      throw new IOException(file + ": longer than " + MAX_FILE_BYTES + " bytes");
    }
    ObjectMapper mapper = new ObjectMapper();
    JsonNode root = mapper.readTree(Files.readAllBytes(file));
    if (root == null || !root.isObject()) {
      throw new IOException(
          file + ": expected a JSON object of principal ARN -> IAM policy document");
    }
    Map<String, String> out = new LinkedHashMap<>();
    for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      if (!e.getKey().startsWith("arn:aws:iam::") || !e.getValue().isObject()) {
        throw new IOException(
            file + ": member " + e.getKey() + " must be a principal ARN with a policy object");
      }
      String policy = mapper.writeValueAsString(e.getValue());
      try {
        KeyPolicy.parseIdentityPolicy(policy, mapper);
      } catch (KmsException ex) {
        throw new IOException(
            file + ": the IAM policy of " + e.getKey() + " is not valid: " + ex.getMessage());
      }
      out.put(e.getKey(), policy);
    }
    return new IamPolicies(out);
  }

  /** The identity policy of a principal, if it has one. */
  Optional<KeyPolicy> policyOf(String principalArn, ObjectMapper mapper) throws KmsException {
    String p = policyByPrincipal.get(principalArn);
    return p == null ? Optional.empty() : Optional.of(KeyPolicy.parseIdentityPolicy(p, mapper));
  }
}
