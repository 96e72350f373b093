package dev.keycast.kms.mock;

import static dev.keycast.kms.mock.KmsFixture.ACCOUNT;
import static dev.keycast.kms.mock.KmsFixture.PARENT;
import static dev.keycast.kms.mock.KmsFixture.ROLE_ARN;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.keycast.protocol.keyset.SealedKeySet;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.core.SdkBytes;
import software.amazon.awssdk.services.kms.KmsClient;
import software.amazon.awssdk.services.kms.model.DataKeySpec;
import software.amazon.awssdk.services.kms.model.GenerateDataKeyResponse;
import software.amazon.awssdk.services.kms.model.GrantOperation;

/**
 * Issue 22, finding 1, shown with the unmodified AWS CLI ({@code awscli}, Debian's package in CI)
 * against the mock KMS, which now models what made the leak invisible: a key policy naming the
 * account root delegates to IAM, and grants authorize their grantee whatever the key policy says.
 *
 * <p>The attacker is an IAM administrator of the operator's account ({@code user/kms-admin}, IAM
 * policy {@code kms:*}). Under the legacy policy it grants itself Decrypt and opens the data key
 * that seals the enclave's key set; under the locked policy (the script's default) CreateGrant,
 * PutKeyPolicy and Decrypt are refused to it and to the account root.
 */
class KmsKeyPolicyAwsCliTest {
  static final String ADMIN_ARN = "arn:aws:iam::" + ACCOUNT + ":user/kms-admin";
  static final StaticCredential IAM_ADMIN =
      StaticCredential.of("AKIAIAMADMIN0000001", "iam-admin-secret-0001", ADMIN_ARN);
  static final StaticCredential ROOT = KmsFixture.ADMIN;
  static final String KEY_SET_ID = "ks-0123456789abcdef0123456789abcdef";

  @TempDir Path dir;
  final ObjectMapper json = new ObjectMapper();
  final SecureRandom random = new SecureRandom();
  byte[] pcr0;
  TestNitroPki pki;
  KeyPair enclaveKey;

  record Cli(int exit, String stdout, String stderr) {
    JsonNode json() throws Exception {
      return new ObjectMapper().readTree(stdout);
    }
  }

  @BeforeEach
  void setUp() throws Exception {
    pcr0 = new byte[48];
    random.nextBytes(pcr0);
    pki = TestNitroPki.create("aws-cli");
    KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
    g.initialize(2048);
    enclaveKey = g.generateKeyPair();
  }

  /** Debian's awscli (/usr/bin/aws) when installed, else the first {@code aws} on PATH. */
  static String awsCli() {
    return Files.isExecutable(Path.of("/usr/bin/aws")) ? "/usr/bin/aws" : "aws";
  }

  Cli aws(MockKms kms, StaticCredential who, String... args) throws Exception {
    List<String> cmd =
        new ArrayList<>(
            List.of(
                awsCli(),
                "--endpoint-url",
                kms.endpoint().toString(),
                "--region",
                "us-east-1",
                "--output",
                "json",
                "kms"));
    cmd.addAll(List.of(args));
    ProcessBuilder pb = new ProcessBuilder(cmd);
    Map<String, String> env = pb.environment();
    env.keySet().removeIf(k -> k.startsWith("AWS_"));
    env.put("AWS_ACCESS_KEY_ID", who.accessKeyId());
    env.put("AWS_SECRET_ACCESS_KEY", who.secretAccessKey());
    env.put("AWS_CONFIG_FILE", dir.resolve("no-aws-config").toString());
    env.put("AWS_SHARED_CREDENTIALS_FILE", dir.resolve("no-aws-credentials").toString());
    env.put("AWS_EC2_METADATA_DISABLED", "true");
    env.put("AWS_PAGER", "");
    env.put("AWS_MAX_ATTEMPTS", "1");
    Process p;
    try {
      p = pb.start();
    } catch (java.io.IOException e) {
      throw new AssertionError(
          "the AWS CLI is needed for this test: install it (apt-get install awscli)", e);
    }
    p.getOutputStream().close();
    byte[] out = p.getInputStream().readAllBytes();
    byte[] err = p.getErrorStream().readAllBytes();
    assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
    return new Cli(
        p.exitValue(),
        new String(out, StandardCharsets.UTF_8),
        new String(err, StandardCharsets.UTF_8));
  }

  static void assertError(Cli r, String code) {
    assertThat(r.exit()).as("exit of %s / %s", r.stdout(), r.stderr()).isNotZero();
    assertThat(r.stderr()).contains("(" + code + ")");
  }

  MockKms startKms() throws Exception {
    // The mock's IAM: the administrator's identity policy allows every KMS action (as an account's
    // admins commonly have); the enclave's role has no IAM policy, only what key policies give it.
    Path iam = dir.resolve("iam.json");
    Files.writeString(
        iam,
        "{\""
            + ADMIN_ARN
            + "\": {\"Version\": \"2012-10-17\", \"Statement\": "
            + "[{\"Effect\": \"Allow\", \"Action\": \"kms:*\", \"Resource\": \"*\"}]}}");
    return MockKms.start(
        KmsFixture.config(dir.resolve("state"), List.of(pki.root))
            .addCredential(IAM_ADMIN)
            .iamPolicies(IamPolicies.read(iam))
            .build());
  }

  Path policyFile(String name, String... extra) throws Exception {
    List<String> args =
        new ArrayList<>(List.of("--pcr0", HexFormat.of().formatHex(pcr0), "--role-arn", ROLE_ARN));
    args.addAll(List.of(extra));
    KmsKeyPolicyScriptTest.Result r = KmsKeyPolicyScriptTest.run(args.toArray(String[]::new));
    assertThat(r.exit()).as(r.stderr()).isZero();
    Path f = dir.resolve(name);
    Files.writeString(f, r.stdout());
    return f;
  }

  /** The enclave seals its key set: GenerateDataKey with its attestation, as KmsKeySetService does. */
  record Sealed(byte[] ciphertextBlob, byte[] dataKey) {}

  Sealed enclaveSeals(MockKms kms, String keyId) throws Exception {
    byte[] doc = pki.mint(TestNitroPki.pcrs(Map.of(0, pcr0)), enclaveKey.getPublic().getEncoded());
    try (KmsClient parent = KmsFixture.client(kms.endpoint(), PARENT)) {
      GenerateDataKeyResponse r =
          parent.generateDataKey(
              b ->
                  b.keyId(keyId)
                      .keySpec(DataKeySpec.AES_256)
                      .encryptionContext(SealedKeySet.encryptionContext(KEY_SET_ID))
                      .recipient(RecipientPolicyTest.recipient(doc)));
      return new Sealed(
          r.ciphertextBlob().asByteArray(),
          RecipientPolicyTest.openCms(r.ciphertextForRecipient(), enclaveKey.getPrivate()));
    }
  }

  /** The key set's documented encryption context, as the AWS CLI's shorthand. */
  static String contextArg() {
    return SealedKeySet.encryptionContext(KEY_SET_ID).entrySet().stream()
        .map(e -> e.getKey() + "=" + e.getValue())
        .collect(Collectors.joining(","));
  }

  Cli decrypt(MockKms kms, StaticCredential who, Sealed sealed, String... extra) throws Exception {
    Path blob = dir.resolve("sealed-data-key.bin");
    Files.write(blob, sealed.ciphertextBlob());
    List<String> args =
        new ArrayList<>(
            List.of(
                "decrypt",
                "--ciphertext-blob",
                "fileb://" + blob,
                "--encryption-context",
                contextArg()));
    args.addAll(List.of(extra));
    return aws(kms, who, args.toArray(String[]::new));
  }

  @Test
  void iamAdminGrantsItselfDecryptAndOpensTheSealedDataKeyUnderTheLegacyPolicy() throws Exception {
    Path legacy = policyFile("legacy.json", "--legacy-unlocked");
    try (MockKms kms = startKms()) {
      // The legacy policy keeps the admin able to edit it: the lockout safety check passes.
      Cli created = aws(kms, IAM_ADMIN, "create-key", "--policy", "file://" + legacy);
      assertThat(created.exit()).as(created.stderr()).isZero();
      String keyId = created.json().path("KeyMetadata").path("KeyId").asText();
      Sealed sealed = enclaveSeals(kms, keyId);

      // Directly, the admin may not decrypt: the legacy policy gives the account no Decrypt...
      assertError(decrypt(kms, IAM_ADMIN, sealed), "AccessDeniedException");
      // ...but it gives the account kms:Create*, which IAM hands to the admin: a grant to itself.
      Cli grant =
          aws(
              kms,
              IAM_ADMIN,
              "create-grant",
              "--key-id",
              keyId,
              "--grantee-principal",
              ADMIN_ARN,
              "--operations",
              "Decrypt");
      assertThat(grant.exit()).as(grant.stderr()).isZero();
      String token = grant.json().path("GrantToken").asText();
      assertThat(
              aws(kms, IAM_ADMIN, "list-grants", "--key-id", keyId)
                  .json()
                  .path("Grants")
                  .get(0)
                  .path("GranteePrincipal")
                  .asText())
          .isEqualTo(ADMIN_ARN);

      // The leak: the data key that seals the enclave's key set, in plaintext, without attestation.
      Cli leaked = decrypt(kms, IAM_ADMIN, sealed, "--grant-tokens", token);
      assertThat(leaked.exit()).as(leaked.stderr()).isZero();
      assertThat(Base64.getDecoder().decode(leaked.json().path("Plaintext").asText()))
          .isEqualTo(sealed.dataKey());
    }
  }

  @Test
  void lockedPolicyRefusesCreateGrantPutKeyPolicyAndDecryptToIamAdminAndRoot() throws Exception {
    Path locked = policyFile("locked.json");
    try (MockKms kms = startKms()) {
      // KMS's lockout safety check refuses a policy that lets the creator never edit it again...
      assertError(
          aws(kms, IAM_ADMIN, "create-key", "--policy", "file://" + locked),
          "MalformedPolicyDocumentException");
      // ...which is the point: the key is created with the check bypassed on purpose.
      Cli created =
          aws(
              kms,
              IAM_ADMIN,
              "create-key",
              "--policy",
              "file://" + locked,
              "--bypass-policy-lockout-safety-check");
      assertThat(created.exit()).as(created.stderr()).isZero();
      String keyId = created.json().path("KeyMetadata").path("KeyId").asText();
      Sealed sealed = enclaveSeals(kms, keyId);

      // The AWS CLI shows the headline refusals to the IAM administrator...
      Path legacy = policyFile("legacy.json", "--legacy-unlocked");
      assertError(
          aws(
              kms,
              IAM_ADMIN,
              "create-grant",
              "--key-id",
              keyId,
              "--grantee-principal",
              ADMIN_ARN,
              "--operations",
              "Decrypt"),
          "AccessDeniedException");
      assertError(
          aws(
              kms,
              IAM_ADMIN,
              "put-key-policy",
              "--key-id",
              keyId,
              "--policy-name",
              "default",
              "--policy",
              "file://" + legacy,
              "--bypass-policy-lockout-safety-check"),
          "AccessDeniedException");
      assertError(decrypt(kms, IAM_ADMIN, sealed), "AccessDeniedException");
      // ...and the SDK the rest (each AWS CLI start costs seconds), for the admin, the account root
      // user and the enclave's own role without its attestation.
      String legacyPolicy = Files.readString(legacy);
      SdkBytes blob = SdkBytes.fromByteArray(sealed.ciphertextBlob());
      Map<String, String> context = SealedKeySet.encryptionContext(KEY_SET_ID);
      for (StaticCredential who : List.of(IAM_ADMIN, ROOT, PARENT)) {
        try (KmsClient c = KmsFixture.client(kms.endpoint(), who)) {
          String arn = who.principalArn();
          RecipientPolicyTest.assertKmsError(
              () ->
                  c.createGrant(
                      b ->
                          b.keyId(keyId)
                              .granteePrincipal(arn)
                              .operations(
                                  GrantOperation.DECRYPT, GrantOperation.GENERATE_DATA_KEY)),
              "AccessDeniedException");
          RecipientPolicyTest.assertKmsError(
              () ->
                  c.putKeyPolicy(
                      b ->
                          b.keyId(keyId)
                              .policyName("default")
                              .policy(legacyPolicy)
                              .bypassPolicyLockoutSafetyCheck(true)),
              "AccessDeniedException");
          RecipientPolicyTest.assertKmsError(
              () -> c.decrypt(b -> b.ciphertextBlob(blob).encryptionContext(context)),
              "AccessDeniedException");
          RecipientPolicyTest.assertKmsError(
              () -> c.generateDataKey(b -> b.keyId(keyId).keySpec(DataKeySpec.AES_256)),
              "AccessDeniedException");
          RecipientPolicyTest.assertKmsError(
              () ->
                  c.generateDataKeyWithoutPlaintext(
                      b -> b.keyId(keyId).keySpec(DataKeySpec.AES_256)),
              "AccessDeniedException");
          // Encrypt would let the host forge a sealed key set whose keys it knows.
          RecipientPolicyTest.assertKmsError(
              () ->
                  c.encrypt(
                      b ->
                          b.keyId(keyId)
                              .plaintext(SdkBytes.fromUtf8String("k"))
                              .encryptionContext(context)),
              "AccessDeniedException");
        }
      }
      try (KmsClient admin = KmsFixture.client(kms.endpoint(), IAM_ADMIN);
          KmsClient parent = KmsFixture.client(kms.endpoint(), PARENT)) {
        assertThat(admin.listGrants(b -> b.keyId(keyId)).grants()).isEmpty();
        assertThat(admin.getKeyPolicy(b -> b.keyId(keyId).policyName("default")).policy())
            .isEqualTo(Files.readString(locked));
        // What operators keep: availability. A disabled key answers DisabledException, as KMS does.
        admin.disableKey(b -> b.keyId(keyId));
        byte[] doc =
            pki.mint(TestNitroPki.pcrs(Map.of(0, pcr0)), enclaveKey.getPublic().getEncoded());
        RecipientPolicyTest.assertKmsError(
            () ->
                parent.decrypt(
                    b ->
                        b.ciphertextBlob(blob)
                            .encryptionContext(context)
                            .recipient(RecipientPolicyTest.recipient(doc))),
            "DisabledException");
        admin.enableKey(b -> b.keyId(keyId));
        var dec =
            parent.decrypt(
                b ->
                    b.ciphertextBlob(blob)
                        .encryptionContext(context)
                        .recipient(RecipientPolicyTest.recipient(doc)));
        assertThat(
                RecipientPolicyTest.openCms(dec.ciphertextForRecipient(), enclaveKey.getPrivate()))
            .isEqualTo(sealed.dataKey());
      }
    }
  }

  @Test
  void disabledKeyAnswersDisabledExceptionToTheAwsCli() throws Exception {
    try (MockKms kms = startKms()) {
      String keyId;
      try (KmsClient admin = KmsFixture.client(kms.endpoint(), IAM_ADMIN)) {
        keyId = admin.createKey(b -> {}).keyMetadata().keyId();
        admin.disableKey(b -> b.keyId(keyId));
      }
      assertError(
          aws(kms, IAM_ADMIN, "generate-data-key", "--key-id", keyId, "--key-spec", "AES_256"),
          "DisabledException");
    }
  }
}
