package dev.keycast.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keycast.protocol.Base64Url;
import dev.keycast.protocol.upgrade.ImageApproval;
import dev.keycast.protocol.upgrade.ImageApprovers;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code keycast image approve} and {@code verify} (kms-sealing.md section 7). The approver keys
 * are made by openssl ({@code genpkey -algorithm ed25519}), and openssl checks a signature the CLI
 * made, so the statement bytes and the signature are plain RFC 8032 Ed25519.
 */
class ImageCommandTest {
  static final String KEY_SET = "ks-" + "a".repeat(32);
  static final String OLD_ARN =
      "arn:aws:kms:us-east-1:111122223333:key/11111111-1111-1111-1111-111111111111";
  static final String NEW_ARN =
      "arn:aws:kms:us-east-1:111122223333:key/22222222-2222-2222-2222-222222222222";
  @TempDir Path tmp;
  Path oldFile;
  Path newFile;
  Path alice;
  Path bob;

  @BeforeEach
  void setUp() throws Exception {
    oldFile = deployment("old.json", "0", OLD_ARN);
    newFile = deployment("new.json", "1", NEW_ARN);
    alice = genkey("alice.pem");
    bob = genkey("bob.pem");
  }

  @Test
  void twoApproversCoSignAndAStudioThatPinnedBothVerifiesTheSuccessor() throws Exception {
    Path approval = tmp.resolve("approval.json");
    Cli.run(
            "image",
            "approve",
            "--successor",
            newFile.toString(),
            "--predecessor",
            oldFile.toString(),
            "--key-set-id",
            KEY_SET,
            "--signing-key",
            alice.toString(),
            "--out",
            approval.toString())
        .ok();
    Cli.run(
            "image",
            "approve",
            "--successor",
            newFile.toString(),
            "--predecessor",
            oldFile.toString(),
            "--key-set-id",
            KEY_SET,
            "--signing-key",
            bob.toString(),
            "--add-to",
            approval.toString(),
            "--out",
            approval.toString(),
            "--force")
        .ok();
    ImageApproval a = ImageApproval.parse(Files.readAllBytes(approval));
    assertThat(a.signatures()).hasSize(2);
    assertThat(a.statement().pcr0()).isEqualTo("1".repeat(96));
    assertThat(a.statement().predecessorPcr0()).isEqualTo("0".repeat(96));
    assertThat(a.statement().kmsKeyArn()).isEqualTo(NEW_ARN);

    String ka = publicKey(alice);
    String kb = publicKey(bob);
    Cli.Run ok =
        Cli.run(
                "image",
                "verify",
                "--approval",
                approval.toString(),
                "--successor",
                newFile.toString(),
                "--approver=" + ka,
                "--approver=" + kb,
                "--quorum",
                "2",
                "--key-set-id",
                KEY_SET)
            .ok();
    assertThat(ok.out()).contains("approved").contains(NEW_ARN);
    // the enclave's own check accepts it with the same keys (what --image-approver takes)
    assertThat(ImageApprovers.parse(List.of(ka, kb), 2).verify(a).keySetId()).isEqualTo(KEY_SET);

    // openssl verifies the CLI's signature over the statement bytes
    Path statement = tmp.resolve("statement.txt");
    Files.write(statement, a.statement().encode());
    Path sig = tmp.resolve("sig.bin");
    Files.write(sig, a.signatures().getFirst().signature());
    Path pub = tmp.resolve("alice.pub.pem");
    openssl("pkey", "-in", alice.toString(), "-pubout", "-out", pub.toString());
    assertThat(
            openssl(
                "pkeyutl",
                "-verify",
                "-pubin",
                "-inkey",
                pub.toString(),
                "-rawin",
                "-in",
                statement.toString(),
                "-sigfile",
                sig.toString()))
        .contains("Signature Verified Successfully");
  }

  @Test
  void aStudioRefusesAnApprovalSignedOnlyByAnApproverItDoesNotTrust() throws Exception {
    Path approval = tmp.resolve("approval.json");
    Cli.run(
            "image",
            "approve",
            "--successor",
            newFile.toString(),
            "--predecessor",
            oldFile.toString(),
            "--key-set-id",
            KEY_SET,
            "--signing-key",
            bob.toString(),
            "--out",
            approval.toString())
        .ok();
    Cli.run(
            "image",
            "verify",
            "--approval",
            approval.toString(),
            "--successor",
            newFile.toString(),
            "--approver=" + publicKey(alice))
        .failsWith(
            ExitCodes.VERIFICATION_FAILED,
            "keycast image verify: the image approval is signed by 0");
  }

  @Test
  void aStudioRefusesAnApprovalForAnotherImageThanTheDeploymentFileItIsAskedToPin()
      throws Exception {
    Path approval = tmp.resolve("approval.json");
    Cli.run(
            "image",
            "approve",
            "--successor",
            newFile.toString(),
            "--predecessor",
            oldFile.toString(),
            "--key-set-id",
            KEY_SET,
            "--signing-key",
            alice.toString(),
            "--out",
            approval.toString())
        .ok();
    Path hosts = deployment("hosts.json", "2", NEW_ARN);
    Cli.run(
            "image",
            "verify",
            "--approval",
            approval.toString(),
            "--successor",
            hosts.toString(),
            "--approver=" + publicKey(alice))
        .failsWith(
            ExitCodes.VERIFICATION_FAILED, "keycast image verify: the approval names image PCR0");
    Path otherKey =
        deployment(
            "other-key.json", "1", NEW_ARN.replace("2222-2222-2222-2222", "3333-3333-3333-3333"));
    Cli.run(
            "image",
            "verify",
            "--approval",
            approval.toString(),
            "--successor",
            otherKey.toString(),
            "--approver=" + publicKey(alice))
        .failsWith(
            ExitCodes.VERIFICATION_FAILED, "keycast image verify: the approval names KMS key");
  }

  @Test
  void approvingASuccessorWithoutANewKmsKeyIsAUsageError() throws Exception {
    Path sameKey = deployment("same.json", "1", OLD_ARN);
    Cli.run(
            "image",
            "approve",
            "--successor",
            sameKey.toString(),
            "--predecessor",
            oldFile.toString(),
            "--key-set-id",
            KEY_SET,
            "--signing-key",
            alice.toString(),
            "--out",
            tmp.resolve("a.json").toString())
        .failsWith(ExitCodes.USAGE, "keycast image approve: --successor names the same KMS key");
    Files.writeString(
        tmp.resolve("not-ed25519.pem"),
        "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n");
    Cli.run(
            "image",
            "approve",
            "--successor",
            newFile.toString(),
            "--predecessor",
            oldFile.toString(),
            "--key-set-id",
            KEY_SET,
            "--signing-key",
            tmp.resolve("not-ed25519.pem").toString(),
            "--out",
            tmp.resolve("b.json").toString())
        .failsWith(ExitCodes.USAGE, "keycast image approve: --signing-key");
  }

  private Path deployment(String name, String pcr0Digit, String arn) throws Exception {
    Path f = tmp.resolve(name);
    Files.writeString(
        f,
        "{\"Measurements\":{\"HashAlgorithm\":\"Sha384 { ... }\",\"PCR0\":\""
            + pcr0Digit.repeat(96)
            + "\",\"PCR1\":\""
            + "a".repeat(96)
            + "\",\"PCR2\":\""
            + "b".repeat(96)
            + "\"},\"kms_key_arn\":\""
            + arn
            + "\"}");
    return f;
  }

  private Path genkey(String name) throws Exception {
    Path f = tmp.resolve(name);
    openssl("genpkey", "-algorithm", "ed25519", "-out", f.toString());
    return f;
  }

  /** The raw public key, from openssl's DER SPKI (last 32 bytes), base64url. */
  private String publicKey(Path pem) throws Exception {
    Path der = tmp.resolve(pem.getFileName() + ".pub.der");
    openssl("pkey", "-in", pem.toString(), "-pubout", "-outform", "DER", "-out", der.toString());
    byte[] spki = Files.readAllBytes(der);
    assertThat(spki).hasSize(44);
    return Base64Url.encode(java.util.Arrays.copyOfRange(spki, 12, 44));
  }

  private static String openssl(String... args) throws Exception {
    List<String> cmd = new java.util.ArrayList<>(List.of("openssl"));
    cmd.addAll(List.of(args));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
    assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).as(out).isZero();
    return out;
  }
}
