package dev.keycast.kms.mock;

import static dev.keycast.kms.mock.KmsFixture.ACCOUNT;
import static dev.keycast.kms.mock.KmsFixture.ADMIN;
import static dev.keycast.kms.mock.KmsFixture.PARENT;
import static dev.keycast.kms.mock.KmsFixture.ROLE_ARN;
import static dev.keycast.kms.mock.KmsFixture.ROOT_ARN;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.core.SdkBytes;
import software.amazon.awssdk.services.kms.KmsClient;
import software.amazon.awssdk.services.kms.model.GrantConstraints;
import software.amazon.awssdk.services.kms.model.GrantOperation;

/**
 * The parts of KMS authorization the mock models so that a leaky key policy shows in tests: root
 * to IAM delegation, grants (CreateGrant, ListGrants, RetireGrant, RevokeGrant, grant tokens,
 * encryption context constraints), explicit Deny over grants, and the lockout safety check.
 */
class KmsGrantsAndIamDelegationTest {
  static final String USER_ARN = "arn:aws:iam::" + ACCOUNT + ":user/describer";
  static final String DENIED_ARN = "arn:aws:iam::" + ACCOUNT + ":user/denied";
  static final String NOBODY_ARN = "arn:aws:iam::" + ACCOUNT + ":user/no-iam-policy";
  static final StaticCredential USER =
      StaticCredential.of("AKIAUSER00000000001", "user-secret-key-0001", USER_ARN);
  static final StaticCredential DENIED =
      StaticCredential.of("AKIADENIED000000001", "denied-secret-key-01", DENIED_ARN);
  static final StaticCredential NOBODY =
      StaticCredential.of("AKIANOBODY000000001", "nobody-secret-key-01", NOBODY_ARN);
  static final Map<String, String> CONTEXT = Map.of("keycast:key-set-id", "ks-1");

  @TempDir Path dir;
  MockKms kms;
  KmsClient root;
  KmsClient parent;

  @BeforeEach
  void start() throws Exception {
    Path iam = dir.resolve("iam.json");
    Files.writeString(
        iam,
        "{"
            + "\""
            + USER_ARN
            + "\": {\"Statement\": [{\"Effect\": \"Allow\", \"Action\": [\"kms:DescribeKey\", \"kms:Decrypt\"], \"Resource\": \"*\"}]},"
            + "\""
            + DENIED_ARN
            + "\": {\"Statement\": [{\"Effect\": \"Allow\", \"Action\": \"kms:*\", \"Resource\": \"*\"},"
            + " {\"Effect\": \"Deny\", \"Action\": \"kms:Decrypt\", \"Resource\": \"*\"}]}}");
    kms =
        MockKms.start(
            KmsFixture.config(dir.resolve("state"), List.of(TestNitroPki.create("grants").root))
                .addCredential(USER)
                .addCredential(DENIED)
                .addCredential(NOBODY)
                .iamPolicies(IamPolicies.read(iam))
                .build());
    root = KmsFixture.client(kms.endpoint(), ADMIN);
    parent = KmsFixture.client(kms.endpoint(), PARENT);
  }

  @AfterEach
  void stop() {
    root.close();
    parent.close();
    kms.close();
  }

  @Test
  void aKeyPolicyNamingTheAccountRootDelegatesToEveryIamPrincipalWhoseIamPolicyAllows()
      throws Exception {
    String keyId = root.createKey(b -> {}).keyMetadata().keyId(); // default policy: root kms:*
    SdkBytes blob =
        root.encrypt(
                b ->
                    b.keyId(keyId)
                        .plaintext(SdkBytes.fromUtf8String("secret"))
                        .encryptionContext(CONTEXT))
            .ciphertextBlob();
    try (KmsClient user = KmsFixture.client(kms.endpoint(), USER);
        KmsClient denied = KmsFixture.client(kms.endpoint(), DENIED);
        KmsClient nobody = KmsFixture.client(kms.endpoint(), NOBODY)) {
      assertThat(
              user.decrypt(b -> b.ciphertextBlob(blob).encryptionContext(CONTEXT))
                  .plaintext()
                  .asUtf8String())
          .isEqualTo("secret");
      RecipientPolicyTest.assertKmsError(
          () -> user.encrypt(b -> b.keyId(keyId).plaintext(SdkBytes.fromUtf8String("x"))),
          "AccessDeniedException"); // not in its IAM policy
      RecipientPolicyTest.assertKmsError(
          () -> nobody.describeKey(b -> b.keyId(keyId)), "AccessDeniedException");
      RecipientPolicyTest.assertKmsError(
          () -> denied.decrypt(b -> b.ciphertextBlob(blob).encryptionContext(CONTEXT)),
          "AccessDeniedException"); // an explicit Deny in IAM wins
      assertThat(denied.describeKey(b -> b.keyId(keyId)).keyMetadata().keyId()).isEqualTo(keyId);
    }
    // A key policy naming the user directly needs no IAM policy; naming only another role, no
    // delegation.
    String named =
        root.createKey(
                b ->
                    b.policy(Policies.allow(NOBODY_ARN, "kms:DescribeKey"))
                        .bypassPolicyLockoutSafetyCheck(true))
            .keyMetadata()
            .keyId();
    try (KmsClient nobody = KmsFixture.client(kms.endpoint(), NOBODY);
        KmsClient user = KmsFixture.client(kms.endpoint(), USER)) {
      assertThat(nobody.describeKey(b -> b.keyId(named)).keyMetadata().keyId()).isEqualTo(named);
      RecipientPolicyTest.assertKmsError(
          () -> user.describeKey(b -> b.keyId(named)), "AccessDeniedException");
    }
  }

  @Test
  void aGrantLetsItsGranteeDecryptWithinItsConstraintsUntilRetiredOrRevoked() {
    String keyId = root.createKey(b -> {}).keyMetadata().keyId();
    SdkBytes blob =
        root.encrypt(
                b ->
                    b.keyId(keyId)
                        .plaintext(SdkBytes.fromUtf8String("secret"))
                        .encryptionContext(CONTEXT))
            .ciphertextBlob();
    SdkBytes other =
        root.encrypt(
                b ->
                    b.keyId(keyId)
                        .plaintext(SdkBytes.fromUtf8String("other"))
                        .encryptionContext(Map.of("keycast:key-set-id", "ks-2")))
            .ciphertextBlob();
    RecipientPolicyTest.assertKmsError(
        () -> parent.decrypt(b -> b.ciphertextBlob(blob).encryptionContext(CONTEXT)),
        "AccessDeniedException");

    var g =
        root.createGrant(
            b ->
                b.keyId(keyId)
                    .granteePrincipal(ROLE_ARN)
                    .operations(GrantOperation.DECRYPT)
                    .retiringPrincipal(USER_ARN)
                    .name("ops")
                    .constraints(
                        GrantConstraints.builder().encryptionContextSubset(CONTEXT).build()));
    assertThat(g.grantId()).hasSize(64);
    assertThat(
            parent
                .decrypt(
                    b ->
                        b.ciphertextBlob(blob)
                            .encryptionContext(CONTEXT)
                            .grantTokens(g.grantToken()))
                .plaintext()
                .asUtf8String())
        .isEqualTo("secret");
    RecipientPolicyTest.assertKmsError(
        () ->
            parent.decrypt(
                b ->
                    b.ciphertextBlob(other)
                        .encryptionContext(Map.of("keycast:key-set-id", "ks-2"))),
        "AccessDeniedException"); // outside the constraint
    RecipientPolicyTest.assertKmsError(
        () ->
            parent.decrypt(
                b ->
                    b.ciphertextBlob(blob)
                        .encryptionContext(CONTEXT)
                        .grantTokens("not-a-grant-token")),
        "InvalidGrantTokenException");

    var listed = root.listGrants(b -> b.keyId(keyId)).grants();
    assertThat(listed)
        .singleElement()
        .satisfies(
            e -> {
              assertThat(e.granteePrincipal()).isEqualTo(ROLE_ARN);
              assertThat(e.retiringPrincipal()).isEqualTo(USER_ARN);
              assertThat(e.operations()).containsExactly(GrantOperation.DECRYPT);
              assertThat(e.constraints().encryptionContextSubset()).isEqualTo(CONTEXT);
              assertThat(e.issuingAccount()).isEqualTo(ROOT_ARN);
            });
    // The grantee cannot retire a grant that lacks RetireGrant; the retiring principal can.
    RecipientPolicyTest.assertKmsError(
        () -> parent.retireGrant(b -> b.grantToken(g.grantToken())), "AccessDeniedException");
    try (KmsClient user = KmsFixture.client(kms.endpoint(), USER)) {
      user.retireGrant(b -> b.keyId(keyId).grantId(g.grantId()));
    }
    RecipientPolicyTest.assertKmsError(
        () -> parent.decrypt(b -> b.ciphertextBlob(blob).encryptionContext(CONTEXT)),
        "AccessDeniedException");

    var g2 =
        root.createGrant(
            b -> b.keyId(keyId).granteePrincipal(ROLE_ARN).operations(GrantOperation.DECRYPT));
    assertThat(
            parent
                .decrypt(
                    b ->
                        b.ciphertextBlob(other)
                            .encryptionContext(Map.of("keycast:key-set-id", "ks-2")))
                .plaintext()
                .asUtf8String())
        .isEqualTo("other");
    RecipientPolicyTest.assertKmsError(
        () -> parent.revokeGrant(b -> b.keyId(keyId).grantId(g2.grantId())),
        "AccessDeniedException");
    root.revokeGrant(b -> b.keyId(keyId).grantId(g2.grantId()));
    assertThat(root.listGrants(b -> b.keyId(keyId)).grants()).isEmpty();
    RecipientPolicyTest.assertKmsError(
        () -> root.revokeGrant(b -> b.keyId(keyId).grantId(g2.grantId())), "NotFoundException");
  }

  @Test
  void anExplicitDenyInTheKeyPolicyOverridesAGrant() {
    String keyId = root.createKey(b -> {}).keyMetadata().keyId();
    SdkBytes blob =
        root.encrypt(b -> b.keyId(keyId).plaintext(SdkBytes.fromUtf8String("secret")))
            .ciphertextBlob();
    root.createGrant(
        b -> b.keyId(keyId).granteePrincipal(ROLE_ARN).operations(GrantOperation.DECRYPT));
    assertThat(parent.decrypt(b -> b.ciphertextBlob(blob)).plaintext().asUtf8String())
        .isEqualTo("secret");
    String denyDecrypt =
        "{\"Version\":\"2012-10-17\",\"Statement\":["
            + "{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\""
            + ROOT_ARN
            + "\"},\"Action\":\"kms:*\",\"Resource\":\"*\"},"
            + "{\"Effect\":\"Deny\",\"Principal\":\"*\",\"Action\":\"kms:Decrypt\",\"Resource\":\"*\"}]}";
    root.putKeyPolicy(b -> b.keyId(keyId).policyName("default").policy(denyDecrypt));
    RecipientPolicyTest.assertKmsError(
        () -> parent.decrypt(b -> b.ciphertextBlob(blob)), "AccessDeniedException");
  }

  @Test
  void theLockoutSafetyCheckRefusesAPolicyThatLocksOutItsSetterUnlessBypassed() {
    String keyId = root.createKey(b -> {}).keyMetadata().keyId();
    String roleOnly = Policies.allow(ROLE_ARN, "kms:DescribeKey");
    RecipientPolicyTest.assertKmsError(
        () -> root.putKeyPolicy(b -> b.keyId(keyId).policyName("default").policy(roleOnly)),
        "MalformedPolicyDocumentException");
    RecipientPolicyTest.assertKmsError(
        () -> root.createKey(b -> b.policy(roleOnly)), "MalformedPolicyDocumentException");
    try (KmsClient denied = KmsFixture.client(kms.endpoint(), DENIED)) {
      // An IAM principal passes the check through the account root and its own IAM policy.
      denied.putKeyPolicy(
          b -> b.keyId(keyId).policyName("default").policy(KeyPolicy.defaultPolicy(ACCOUNT)));
    }
    root.putKeyPolicy(
        b ->
            b.keyId(keyId)
                .policyName("default")
                .policy(roleOnly)
                .bypassPolicyLockoutSafetyCheck(true));
    RecipientPolicyTest.assertKmsError(
        () ->
            root.putKeyPolicy(
                b ->
                    b.keyId(keyId)
                        .policyName("default")
                        .policy(KeyPolicy.defaultPolicy(ACCOUNT))
                        .bypassPolicyLockoutSafetyCheck(true)),
        "AccessDeniedException");
  }
}
