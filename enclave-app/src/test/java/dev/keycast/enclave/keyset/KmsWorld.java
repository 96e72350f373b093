package dev.keycast.enclave.keyset;

import dev.keycast.enclave.kms.KmsConnector;
import dev.keycast.kms.mock.MockKms;
import dev.keycast.kms.mock.MockKmsConfig;
import dev.keycast.kms.mock.ProtocolRecipientVerifier;
import dev.keycast.kms.mock.StaticCredential;
import dev.keycast.mock.nitro.MockAttester;
import dev.keycast.mock.nitro.MockMeasurements;
import dev.keycast.protocol.api.EnclaveApi;
import dev.keycast.transport.Endpoint;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;
import software.amazon.awssdk.services.kms.KmsClient;

/**
 * A mock KMS over TLS (real sockets), a mock attester, and a KMS key whose policy (written by
 * {@code scripts/kms-key-policy}) lets the parent role use it only from an enclave with the mock
 * attester's PCR0.
 */
final class KmsWorld implements AutoCloseable {
  static final String REGION = "us-east-1";
  static final String ACCOUNT = "111122223333";
  static final String ROOT_ARN = "arn:aws:iam::" + ACCOUNT + ":root";
  static final String ROLE_ARN = "arn:aws:iam::" + ACCOUNT + ":role/keycast-parent";

  /** The parent's temporary role credentials (what the host hands to the enclave). */
  static final EnclaveApi.AwsCredentials PARENT =
      new EnclaveApi.AwsCredentials(
          "ASIAPARENTTEMP000001",
          "sEcReT-parent-role-key-0000000000000000",
          "SeSsIoN-ToKeN-abcdefghijklmnopqrstuvwxyz-0123456789",
          null);

  static final EnclaveApi.AwsCredentials ADMIN =
      new EnclaveApi.AwsCredentials(
          "AKIAADMIN0000000001", "admin-secret-key-000000000000000000001", null, null);

  final Path dir;
  final MockAttester attester;
  final MockKms kms;
  final KmsConnector connector;
  final String keyArn;
  final String policy;

  KmsWorld(Path dir) throws Exception {
    this.dir = dir;
    Files.createDirectories(dir);
    Path app = dir.resolve("app.jar");
    Files.writeString(app, "the enclave image");
    this.attester =
        MockAttester.create(
            dir.resolve("attester"), MockMeasurements.of(List.of(app), "rt"), Clock.systemUTC());
    this.kms =
        MockKms.start(
            MockKmsConfig.builder()
                .stateDirectory(dir.resolve("kms"))
                .region(REGION)
                .accountId(ACCOUNT)
                .addCredential(
                    StaticCredential.of(ADMIN.accessKeyId(), ADMIN.secretAccessKey(), ROOT_ARN))
                .addCredential(
                    StaticCredential.withSessionToken(
                        PARENT.accessKeyId(),
                        PARENT.secretAccessKey(),
                        PARENT.sessionToken(),
                        ROLE_ARN))
                .recipientVerifier(
                    ProtocolRecipientVerifier.trusting(
                        List.of(attester.stateDirectory().resolve(MockAttester.ROOT_FILE)),
                        Clock.systemUTC()))
                .tls(true)
                .build());
    this.connector = KmsConnector.trusting(egress(), kms.tlsCertificateFile().orElseThrow());
    this.policy = keyPolicy(HexFormat.of().formatHex(attester.measurements().pcr0()));
    this.keyArn = createKey(policy);
  }

  /** Where the mock KMS listens, as the enclave's egress endpoint. */
  Endpoint egress() {
    return Endpoint.parse("tcp://127.0.0.1:" + kms.port());
  }

  String createKey(String keyPolicy) throws IOException {
    try (KmsClient admin = connector.client(REGION, ADMIN)) {
      return admin
          .createKey(
              b ->
                  b.policy(keyPolicy)
                      .bypassPolicyLockoutSafetyCheck(true)
                      .description("keycast test key"))
          .keyMetadata()
          .arn();
    }
  }

  KmsKeySetService service() {
    return KmsKeySetService.create(attester, new java.security.SecureRandom(), connector);
  }

  /** The key policy from scripts/kms-key-policy for this PCR0 and the parent role. */
  static String keyPolicy(String pcr0Hex, String... extra)
      throws IOException, InterruptedException {
    Path script = Path.of(System.getProperty("keycast.repo.root"), "scripts", "kms-key-policy");
    List<String> cmd =
        new java.util.ArrayList<>(
            List.of("bash", script.toString(), "--pcr0", pcr0Hex, "--role-arn", ROLE_ARN));
    cmd.addAll(List.of(extra));
    Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.DISCARD).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
      throw new IOException("scripts/kms-key-policy failed");
    }
    return out;
  }

  static Duration elapsedSince(long nanos) {
    return Duration.ofNanos(System.nanoTime() - nanos);
  }

  @Override
  public void close() {
    connector.close();
    kms.close();
  }
}
