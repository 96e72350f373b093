package dev.keycast.kms.mock;

import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * A KMS grant: it lets {@code granteePrincipal} perform {@code operations} on one key, whatever the
 * key policy and IAM say, unless a policy explicitly denies. {@code constraints} are the only
 * conditions a grant can carry in KMS: encryption context subset or equality (there is no grant
 * constraint on a Recipient attestation).
 */
record Grant(
    String grantId,
    String keyId,
    String name,
    String granteePrincipal,
    Optional<String> retiringPrincipal,
    List<String> operations,
    Map<String, String> encryptionContextSubset,
    Map<String, String> encryptionContextEquals,
    String issuingAccount,
    long creationDateMillis) {
  /** The operations a grant may name (KMS CreateGrant, Operations). */
  static final List<String> OPERATIONS =
      List.of(
          "Decrypt",
          "Encrypt",
          "GenerateDataKey",
          "GenerateDataKeyWithoutPlaintext",
          "ReEncryptFrom",
          "ReEncryptTo",
          "Sign",
          "Verify",
          "GetPublicKey",
          "CreateGrant",
          "RetireGrant",
          "DescribeKey",
          "GenerateDataKeyPair",
          "GenerateDataKeyPairWithoutPlaintext",
          "GenerateMac",
          "VerifyMac",
          "DeriveSharedSecret");

  Grant {
    Objects.requireNonNull(grantId);
    Objects.requireNonNull(keyId);
    Objects.requireNonNull(name);
    Objects.requireNonNull(granteePrincipal);
    Objects.requireNonNull(retiringPrincipal);
    operations = List.copyOf(operations);
    encryptionContextSubset = Map.copyOf(encryptionContextSubset);
    encryptionContextEquals = Map.copyOf(encryptionContextEquals);
  }

  /** Does this grant let {@code principal} perform {@code action} (e.g. kms:Decrypt) with {@code ctx}? */
  boolean allows(String principal, String action, Map<String, String> ctx) {
    if (!granteePrincipal.equals(principal)
        || !action.startsWith("kms:")
        || !operations.contains(action.substring(4))) {
      return false;
    }
    if (!encryptionContextEquals.isEmpty() && !encryptionContextEquals.equals(ctx)) {
      return false;
    }
    for (Map.Entry<String, String> e : encryptionContextSubset.entrySet()) {
      if (!e.getValue().equals(ctx.get(e.getKey()))) {
        return false;
      }
    }
    return true;
  }
}
