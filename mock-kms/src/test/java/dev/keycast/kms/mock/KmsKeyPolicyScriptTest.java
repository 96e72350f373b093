package dev.keycast.kms.mock;

import static dev.keycast.kms.mock.KmsFixture.ADMIN;
import static dev.keycast.kms.mock.KmsFixture.PARENT;
import static dev.keycast.kms.mock.KmsFixture.ROLE_ARN;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.services.kms.KmsClient;
import software.amazon.awssdk.services.kms.model.DataKeySpec;

/** scripts/kms-key-policy writes a policy the (mock) KMS enforces as intended. */
class KmsKeyPolicyScriptTest {
  @TempDir Path dir;

  record Result(int exit, String stdout, String stderr) {}

  static Result run(String... args) throws Exception {
    Path script = Path.of(System.getProperty("keycast.repo.root"), "scripts", "kms-key-policy");
    List<String> cmd = new ArrayList<>(List.of("bash", script.toString()));
    cmd.addAll(List.of(args));
    Process p = new ProcessBuilder(cmd).start();
    byte[] out = p.getInputStream().readAllBytes();
    byte[] err = p.getErrorStream().readAllBytes();
    assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
    return new Result(
        p.exitValue(),
        new String(out, StandardCharsets.UTF_8),
        new String(err, StandardCharsets.UTF_8));
  }

  static byte[] pcr3For(String roleArn) throws Exception {
    MessageDigest d = MessageDigest.getInstance("SHA-384");
    d.update(new byte[48]);
    return d.digest(roleArn.getBytes(StandardCharsets.UTF_8));
  }

  @Test
  void generatedPolicyAllowsTheMatchingEnclaveAndDeniesAnother() throws Exception {
    SecureRandom random = new SecureRandom();
    byte[] pcr0 = new byte[48];
    random.nextBytes(pcr0);
    byte[] pcr3 = pcr3For(ROLE_ARN);
    HexFormat hex = HexFormat.of();
    Result r =
        run(
            "--pcr0",
            hex.formatHex(pcr0).toUpperCase(),
            "--pcr3",
            hex.formatHex(pcr3),
            "--role-arn",
            ROLE_ARN,
            "--region",
            "us-east-1",
            "--key-id",
            "1234abcd-12ab-34cd-56ef-1234567890ab");
    assertThat(r.exit()).as(r.stderr()).isZero();
    assertThat(r.stderr())
        .contains("aws kms create-key --region us-east-1")
        .contains("--bypass-policy-lockout-safety-check")
        .contains(
            "aws kms put-key-policy --region us-east-1 --key-id 1234abcd-12ab-34cd-56ef-1234567890ab --policy-name default");
    assertThat(r.stdout()).contains(hex.formatHex(pcr0)); // lower-cased

    TestNitroPki pki = TestNitroPki.create("script");
    KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
    g.initialize(2048);
    KeyPair kp = g.generateKeyPair();
    try (MockKms kms =
            MockKms.start(KmsFixture.config(dir.resolve("state"), List.of(pki.root)).build());
        KmsClient admin = KmsFixture.client(kms.endpoint(), ADMIN);
        KmsClient parent = KmsFixture.client(kms.endpoint(), PARENT)) {
      // The locked policy lets nobody edit it again: KMS's lockout safety check refuses it unless
      // bypassed.
      RecipientPolicyTest.assertKmsError(
          () -> admin.createKey(b -> b.policy(r.stdout())), "MalformedPolicyDocumentException");
      String keyId =
          admin
              .createKey(b -> b.policy(r.stdout()).bypassPolicyLockoutSafetyCheck(true))
              .keyMetadata()
              .keyId();
      assertThat(admin.getKeyPolicy(b -> b.keyId(keyId).policyName("default")).policy())
          .isEqualTo(r.stdout());

      byte[] good =
          pki.mint(TestNitroPki.pcrs(Map.of(0, pcr0, 3, pcr3)), kp.getPublic().getEncoded());
      var dk =
          parent.generateDataKey(
              b ->
                  b.keyId(keyId)
                      .keySpec(DataKeySpec.AES_256)
                      .recipient(RecipientPolicyTest.recipient(good)));
      byte[] dataKey = RecipientPolicyTest.openCms(dk.ciphertextForRecipient(), kp.getPrivate());
      var dec =
          parent.decrypt(
              b ->
                  b.ciphertextBlob(dk.ciphertextBlob())
                      .recipient(RecipientPolicyTest.recipient(good)));
      assertThat(RecipientPolicyTest.openCms(dec.ciphertextForRecipient(), kp.getPrivate()))
          .isEqualTo(dataKey);

      byte[] otherImage = pcr0.clone();
      otherImage[0] ^= 0x40;
      byte[] wrongPcr0 =
          pki.mint(TestNitroPki.pcrs(Map.of(0, otherImage, 3, pcr3)), kp.getPublic().getEncoded());
      byte[] wrongPcr3 =
          pki.mint(
              TestNitroPki.pcrs(Map.of(0, pcr0, 3, pcr3For(ROLE_ARN + "-other"))),
              kp.getPublic().getEncoded());
      for (byte[] doc : List.of(wrongPcr0, wrongPcr3)) {
        RecipientPolicyTest.assertKmsError(
            () ->
                parent.decrypt(
                    b ->
                        b.ciphertextBlob(dk.ciphertextBlob())
                            .recipient(RecipientPolicyTest.recipient(doc))),
            "AccessDeniedException");
      }
      // Without attestation, neither the role nor the account root may decrypt, and neither may
      // grant itself Decrypt (a grant would bypass the attestation condition: KMS grants carry
      // none).
      RecipientPolicyTest.assertKmsError(
          () -> parent.decrypt(b -> b.ciphertextBlob(dk.ciphertextBlob())),
          "AccessDeniedException");
      RecipientPolicyTest.assertKmsError(
          () -> admin.decrypt(b -> b.ciphertextBlob(dk.ciphertextBlob())), "AccessDeniedException");
      for (KmsClient c : List.of(admin, parent)) {
        RecipientPolicyTest.assertKmsError(
            () ->
                c.createGrant(
                    b ->
                        b.keyId(keyId)
                            .granteePrincipal(ROLE_ARN)
                            .operations(
                                software.amazon.awssdk.services.kms.model.GrantOperation.DECRYPT)),
            "AccessDeniedException");
      }
    }
  }

  /** An upgrade: the policy lists the old and the new image; both unseal, a third image does not. */
  @Test
  void aPolicyWithTwoImagesAdmitsBothAndNoOther() throws Exception {
    SecureRandom random = new SecureRandom();
    byte[] oldImage = new byte[48];
    byte[] newImage = new byte[48];
    byte[] otherImage = new byte[48];
    random.nextBytes(oldImage);
    random.nextBytes(newImage);
    random.nextBytes(otherImage);
    HexFormat hex = HexFormat.of();
    Result r =
        run(
            "--pcr0",
            hex.formatHex(oldImage),
            "--pcr0",
            hex.formatHex(newImage).toUpperCase(),
            "--role-arn",
            ROLE_ARN);
    assertThat(r.exit()).as(r.stderr()).isZero();

    TestNitroPki pki = TestNitroPki.create("script-upgrade");
    KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
    g.initialize(2048);
    KeyPair kp = g.generateKeyPair();
    try (MockKms kms =
            MockKms.start(KmsFixture.config(dir.resolve("state"), List.of(pki.root)).build());
        KmsClient admin = KmsFixture.client(kms.endpoint(), ADMIN);
        KmsClient parent = KmsFixture.client(kms.endpoint(), PARENT)) {
      String keyId =
          admin
              .createKey(b -> b.policy(r.stdout()).bypassPolicyLockoutSafetyCheck(true))
              .keyMetadata()
              .keyId();
      byte[] oldDoc = pki.mint(TestNitroPki.pcrs(Map.of(0, oldImage)), kp.getPublic().getEncoded());
      var dk =
          parent.generateDataKey(
              b ->
                  b.keyId(keyId)
                      .keySpec(DataKeySpec.AES_256)
                      .recipient(RecipientPolicyTest.recipient(oldDoc)));
      byte[] dataKey = RecipientPolicyTest.openCms(dk.ciphertextForRecipient(), kp.getPrivate());
      byte[] newDoc = pki.mint(TestNitroPki.pcrs(Map.of(0, newImage)), kp.getPublic().getEncoded());
      var dec =
          parent.decrypt(
              b ->
                  b.ciphertextBlob(dk.ciphertextBlob())
                      .recipient(RecipientPolicyTest.recipient(newDoc)));
      assertThat(RecipientPolicyTest.openCms(dec.ciphertextForRecipient(), kp.getPrivate()))
          .isEqualTo(dataKey);
      byte[] otherDoc =
          pki.mint(TestNitroPki.pcrs(Map.of(0, otherImage)), kp.getPublic().getEncoded());
      RecipientPolicyTest.assertKmsError(
          () ->
              parent.decrypt(
                  b ->
                      b.ciphertextBlob(dk.ciphertextBlob())
                          .recipient(RecipientPolicyTest.recipient(otherDoc))),
          "AccessDeniedException");
    }
    String pcr = "ab".repeat(48);
    assertThat(
            run(
                    "--pcr0",
                    pcr,
                    "--pcr0",
                    pcr,
                    "--pcr0",
                    pcr,
                    "--pcr0",
                    pcr,
                    "--pcr0",
                    pcr,
                    "--role-arn",
                    ROLE_ARN)
                .exit())
        .isEqualTo(2);
  }

  @Test
  void writesToOutFileAndRejectsBadInput() throws Exception {
    String pcr = "ab".repeat(48);
    Path out = dir.resolve("policy.json");
    Result ok = run("--pcr0", pcr, "--role-arn", ROLE_ARN, "--out", out.toString());
    assertThat(ok.exit()).isZero();
    assertThat(ok.stdout()).isEmpty();
    assertThat(Files.readString(out))
        .contains("\"kms:RecipientAttestation:ImageSha384\": \"" + pcr + "\"");
    assertThat(ok.stderr()).contains("file://" + out);

    assertThat(run("--pcr0", pcr.substring(2), "--role-arn", ROLE_ARN).exit()).isEqualTo(2);
    assertThat(run("--pcr0", pcr, "--pcr8", "zz".repeat(48), "--role-arn", ROLE_ARN).exit())
        .isEqualTo(2);
    assertThat(run("--pcr0", pcr, "--role-arn", "not-an-arn").exit()).isEqualTo(2);
    assertThat(run("--pcr0", pcr).exit()).isEqualTo(2);
    Result help = run("--help");
    assertThat(help.exit()).isZero();
    assertThat(help.stdout()).contains("Runs anywhere");
  }
}
