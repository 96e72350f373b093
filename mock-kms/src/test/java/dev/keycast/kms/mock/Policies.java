package dev.keycast.kms.mock;

/** Small key policy documents for tests. */
final class Policies {
  private Policies() {}

  static String allow(String principal, String action) {
    return "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Sid\":\"a\",\"Effect\":\"Allow\","
        + "\"Principal\":{\"AWS\":\""
        + principal
        + "\"},\"Action\":\""
        + action
        + "\",\"Resource\":\"*\"}]}";
  }

  /** Admin for the root, and Decrypt/GenerateDataKey for {@code role} when PCR0 matches. */
  static String enclave(String rootArn, String role, String pcr0Hex) {
    return "{\"Version\":\"2012-10-17\",\"Statement\":["
        + "{\"Sid\":\"admin\",\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\""
        + rootArn
        + "\"},"
        + "\"Action\":[\"kms:Describe*\",\"kms:Get*\",\"kms:Put*\",\"kms:Encrypt\"],\"Resource\":\"*\"},"
        + "{\"Sid\":\"enclave\",\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\""
        + role
        + "\"},"
        + "\"Action\":[\"kms:Decrypt\",\"kms:GenerateDataKey\"],\"Resource\":\"*\","
        + "\"Condition\":{\"StringEqualsIgnoreCase\":{\"kms:RecipientAttestation:ImageSha384\":\""
        + pcr0Hex
        + "\"}}}]}";
  }
}
