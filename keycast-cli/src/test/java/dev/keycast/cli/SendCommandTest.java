package dev.keycast.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import dev.keycast.protocol.Base64Url;
import dev.keycast.protocol.DecryptionFailedException;
import dev.keycast.protocol.Json;
import dev.keycast.protocol.api.EnclaveApi;
import dev.keycast.protocol.api.ErrorBody;
import dev.keycast.protocol.attestation.TestAttester;
import dev.keycast.protocol.envelope.RecipientKey;
import dev.keycast.protocol.envelope.RecipientKeys;
import dev.keycast.protocol.hpke.Hpke;
import dev.keycast.protocol.hpke.HpkeCiphertext;
import dev.keycast.protocol.hpke.HpkeSuite;
import dev.keycast.protocol.hpke.X25519PrivateKey;
import dev.keycast.protocol.policy.SendPolicy;
import dev.keycast.protocol.receipt.Receipt;
import dev.keycast.protocol.receipt.ReceiptVerifier;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code keycast send} against a fake host that opens the payload like the enclave. */
class SendCommandTest {
  static final byte[] SECRET = "the content key of reel 1".getBytes(StandardCharsets.UTF_8);

  @TempDir Path tmp;
  FakeHost host;
  Path pcrs;
  Path root;
  Path secretFile;
  String fpX;
  String fpRsa;
  String fpUnregistered;

  @BeforeEach
  void start() throws Exception {
    host = new FakeHost();
    pcrs = Files.writeString(tmp.resolve("measurements.json"), FakeHost.measurementsJson());
    root = Files.writeString(tmp.resolve("mock-root.pem"), host.rootPem());
    secretFile = Files.write(tmp.resolve("secret.bin"), SECRET);
    fpX = register("x25519", "x");
    fpRsa = register("rsa-2048", "r");
    fpUnregistered = keygen("x25519", "later");
  }

  @AfterEach
  void stop() {
    host.close();
  }

  String keygen(String type, String name) throws Exception {
    Cli.Run r =
        Cli.run(
                "recipient",
                "keygen",
                "--type",
                type,
                "--out-dir",
                tmp.resolve("keys").toString(),
                "--name",
                name,
                "--json")
            .ok();
    return Json.mapper().readTree(r.out()).get("fingerprint").asText();
  }

  String register(String type, String name) throws Exception {
    String fp = keygen(type, name);
    Cli.run(
            "recipient",
            "register",
            "--host",
            host.url(),
            "--key",
            tmp.resolve("keys/" + name + ".key.pem").toString(),
            "--label",
            "site=paris")
        .ok();
    return fp;
  }

  List<String> sendArgs(String... extra) {
    List<String> a =
        new ArrayList<>(
            List.of(
                "send",
                "--host",
                host.url(),
                "--expect-pcrs",
                pcrs.toString(),
                "--trust-root",
                root.toString(),
                "--secret-file",
                secretFile.toString(),
                "--secret-id",
                "reel-1",
                "--sender",
                "Studio A",
                "--recipient",
                fpX,
                "--recipient",
                fpRsa,
                "--recipient",
                fpUnregistered,
                "--sender-key",
                senderKeyFile().toString()));
    a.addAll(List.of(extra));
    return a;
  }

  /** FakeHost.SENDER's private key as a PEM file. */
  Path senderKeyFile() {
    return FakeHost.senderKeyFile(tmp);
  }

  Cli.Run send(String... extra) {
    return Cli.run(sendArgs(extra).toArray(String[]::new));
  }

  @Test
  void sendsSealedToTheAttestedKeyWithThePolicyAsAad() throws Exception {
    Path receiptFile = tmp.resolve("receipt.cose");
    Cli.Run r = send("--receipt-out", receiptFile.toString()).ok();
    assertThat(host.sendPayloads).hasSize(1);
    assertThat(host.openedSecrets.getFirst()).isEqualTo(SECRET);

    // the payload opens with exactly the policy bytes as AAD, and with nothing else
    EnclaveApi.SendPayload p = host.sendPayloads.getFirst();
    byte[] policyBytes = Base64Url.decode("policy", p.policy(), SendPolicy.MAX_BYTES);
    assertThat(host.openedPolicies.getFirst()).isEqualTo(policyBytes);
    HpkeCiphertext ct =
        new HpkeCiphertext(
            Base64Url.decode("enc", p.enc(), 32), Base64Url.decode("ct", p.ciphertext(), 1000));
    byte[] raw = host.keySet.receivePrivateKey();
    X25519PrivateKey sk = X25519PrivateKey.fromRaw(raw);
    assertThat(
            Hpke.open(
                HpkeSuite.KEYCAST_V1, sk, FakeHost.sendInfo(host.keySet.id()), policyBytes, ct))
        .isEqualTo(SECRET);
    byte[] altered = policyBytes.clone();
    altered[altered.length - 2] ^= 1;
    assertThatThrownBy(
            () ->
                Hpke.open(
                    HpkeSuite.KEYCAST_V1, sk, FakeHost.sendInfo(host.keySet.id()), altered, ct))
        .isInstanceOf(DecryptionFailedException.class);
    assertThatThrownBy(
            () ->
                Hpke.open(
                    HpkeSuite.KEYCAST_V1,
                    sk,
                    FakeHost.sendInfo("ks-" + "0".repeat(32)),
                    policyBytes,
                    ct))
        .isInstanceOf(DecryptionFailedException.class);

    SendPolicy policy = SendPolicy.parse(policyBytes);
    assertThat(policy.secretId()).isEqualTo("reel-1");
    assertThat(policy.sender()).isEqualTo("Studio A");
    assertThat(policy.recipients().fingerprints()).containsExactly(fpX, fpRsa, fpUnregistered);
    assertThat(policy.maxRecipients()).isEqualTo(3);
    assertThat(policy.lateRecipients()).isFalse();
    assertThat(Duration.between(policy.notBefore(), policy.notAfter()))
        .isEqualTo(Duration.ofDays(30));
    assertThat(p.keySetId()).isEqualTo(host.keySet.id());
    assertThat(p.suite()).isEqualTo(EnclaveApi.SUITE_V1);

    assertThat(r.out())
        .contains("delivered:    2")
        .contains("  " + fpX + "  hpke-x25519-v1  ")
        .contains("  " + fpRsa + "  cms-aes256gcm-v1  ")
        .contains("not registered: 1 (late recipients are not allowed")
        .contains("  " + fpUnregistered)
        .contains("skipped:      0");
    Receipt saved = ReceiptVerifier.verify(Files.readAllBytes(receiptFile), host.bundle());
    assertThat(saved.deliveries()).hasSize(2);
  }

  @Test
  void jsonOutputAndWindowOptions() throws Exception {
    Cli.Run r =
        send(
                "--json",
                "--not-before",
                "now",
                "--valid-for",
                "2h",
                "--late-recipients",
                "--max-recipients",
                "10",
                "--rsa-content",
                "aes-256-cbc")
            .ok();
    JsonNode j = Json.mapper().readTree(r.out());
    assertThat(j.get("delivered")).hasSize(2);
    assertThat(j.get("not_registered").get(0).asText()).isEqualTo(fpUnregistered);
    assertThat(j.get("key_set_id").asText()).isEqualTo(host.keySet.id());
    assertThat(j.get("late_recipients").asBoolean()).isTrue();
    SendPolicy policy = SendPolicy.parse(host.openedPolicies.getFirst());
    assertThat(policy.maxRecipients()).isEqualTo(10);
    assertThat(policy.rsaContent()).isEqualTo("aes-256-cbc");
    assertThat(Duration.between(policy.notBefore(), policy.notAfter()))
        .isEqualTo(Duration.ofHours(2));
    assertThat(r.out()).contains("cms-aes256cbc-v1");
  }

  @Test
  void policyFileIsSentByteForByte() throws Exception {
    Instant nb = Instant.now().minusSeconds(10).truncatedTo(java.time.temporal.ChronoUnit.SECONDS);
    String text =
        "{ \"version\": 1, \"secret_id\": \"kdm-7\", \"sender\": \"S\", \"not_before\": \""
            + nb
            + "\", \"not_after\": \""
            + nb.plus(Duration.ofDays(1))
            + "\", \"recipients\": {\"fingerprints\": [\""
            + fpX
            + "\"]}, \"late_recipients\": false, \"max_recipients\": 1 }\n";
    Path policy = Files.writeString(tmp.resolve("policy.json"), text);
    Cli.run(
            "send",
            "--sender-key",
            FakeHost.senderKeyFile(tmp).toString(),
            "--host",
            host.url(),
            "--expect-pcrs",
            pcrs.toString(),
            "--trust-root",
            root.toString(),
            "--secret-hex",
            "00ff10",
            "--policy",
            policy.toString())
        .ok();
    assertThat(host.openedPolicies.getFirst()).isEqualTo(text.getBytes(StandardCharsets.UTF_8));
    assertThat(host.openedSecrets.getFirst()).isEqualTo(new byte[] {0, (byte) 0xff, 0x10});

    Cli.run(
            "send",
            "--sender-key",
            FakeHost.senderKeyFile(tmp).toString(),
            "--host",
            host.url(),
            "--expect-pcrs",
            pcrs.toString(),
            "--trust-root",
            root.toString(),
            "--secret-hex",
            "00",
            "--policy",
            policy.toString(),
            "--secret-id",
            "x")
        .failsWith(ExitCodes.USAGE, "keycast send: --policy replaces ");
  }

  @Test
  void refusesAWrongPcrAndSendsNothing() {
    host.pcr0Override = TestAttester.pcrValue(0x42);
    send().failsWith(ExitCodes.VERIFICATION_FAILED, "keycast send: attestation PCR_MISMATCH: ");
    assertThat(host.sendPayloads).isEmpty();
    assertThat(host.requests).noneMatch(q -> q.startsWith("POST /v1/sends"));
  }

  @Test
  void refusesAWrongNonceAndSendsNothing() {
    host.wrongNonce = true;
    send().failsWith(ExitCodes.VERIFICATION_FAILED, "keycast send: attestation NONCE_MISMATCH: ");
    assertThat(host.sendPayloads).isEmpty();
  }

  @Test
  void refusesAnUntrustedRootAndSendsNothing() {
    List<String> a = sendArgs();
    int i = a.indexOf("--trust-root");
    a.remove(i);
    a.remove(i);
    Cli.run(a.toArray(String[]::new))
        .failsWith(ExitCodes.VERIFICATION_FAILED, "keycast send: attestation UNTRUSTED_ROOT: ");
    assertThat(host.sendPayloads).isEmpty();
  }

  @Test
  void refusesABundleTheEnclaveDidNotAttest() {
    host.foreignSigningKeyInBundle = true;
    send()
        .failsWith(ExitCodes.VERIFICATION_FAILED, "keycast send: attestation USER_DATA_MISMATCH: ");
    assertThat(host.sendPayloads).isEmpty();
  }

  @Test
  void refusesAKeySetProtectedByAnotherKmsKeyAndSendsNothing() {
    host.sealedUnder = FakeHost.ATTACKER_KMS_KEY_ID;
    send("--expect-kms-key", FakeHost.KMS_KEY_ID)
        .failsWith(
            ExitCodes.VERIFICATION_FAILED,
            "keycast send: the enclave's key set "
                + host.keySet.id()
                + " is protected by KMS key "
                + FakeHost.ATTACKER_KMS_KEY_ID
                + ", not by the pinned KMS key "
                + FakeHost.KMS_KEY_ID);
    assertThat(host.sendPayloads).isEmpty();
    assertThat(host.requests).noneMatch(q -> q.startsWith("POST /v1/sends"));
  }

  @Test
  void refusesAnUnlockedKmsKeyAndSendsNothingUnlessAllowed() {
    host.kmsKeyUnlocked = true;
    send("--expect-kms-key", FakeHost.KMS_KEY_ID)
        .failsWith(
            ExitCodes.VERIFICATION_FAILED,
            "keycast send: the enclave's KMS key " + FakeHost.KMS_KEY_ID + " is not locked");
    assertThat(host.sendPayloads).isEmpty();
    assertThat(host.requests).noneMatch(q -> q.startsWith("POST /v1/sends"));
    send("--expect-kms-key", FakeHost.KMS_KEY_ID, "--allow-unlocked-kms-key").ok();
    assertThat(host.sendPayloads).hasSize(1);
  }

  @Test
  void kmsKeySubstitutionIsRefusedByThePublishedDeploymentFileAloneBeforeAnythingIsSent() {
    // the sender passes only --expect-pcrs, the file the operator published (PCRs + kms_key_arn)
    host.sealedUnder = FakeHost.ATTACKER_KMS_KEY_ID;
    Cli.Run r =
        send()
            .failsWith(
                ExitCodes.VERIFICATION_FAILED,
                "keycast send: the enclave's key set "
                    + host.keySet.id()
                    + " is protected by KMS key "
                    + FakeHost.ATTACKER_KMS_KEY_ID
                    + ", not by the pinned KMS key "
                    + FakeHost.KMS_KEY_ID);
    assertThat(r.out()).isEmpty();
    assertThat(host.sendPayloads).isEmpty();
    assertThat(host.requests).noneMatch(q -> q.startsWith("POST /v1/sends"));
  }

  @Test
  void kmsKeySubstitutionCannotSlipThroughASenderWhoForgetsTheKmsKeyPin() throws Exception {
    // measurements without a KMS key and no --expect-kms-key: refused before the host is contacted
    Files.writeString(pcrs, FakeHost.pcrsOnlyJson());
    host.sealedUnder = FakeHost.ATTACKER_KMS_KEY_ID;
    Cli.Run r =
        send()
            .failsWith(
                ExitCodes.USAGE,
                "keycast send: no KMS key pin: --expect-pcrs "
                    + pcrs
                    + " names no \"kms_key_arn\"; pass --expect-kms-key ARN");
    assertThat(r.out()).isEmpty();
    assertThat(host.requests)
        .noneMatch(q -> q.startsWith("GET /v1/attestation") || q.startsWith("POST /v1/sends"));
    assertThat(host.sendPayloads).isEmpty();
  }

  @Test
  void refusesAHostLyingAboutTheKmsKeyAndSendsNothing() {
    host.sealedUnder = FakeHost.ATTACKER_KMS_KEY_ID;
    host.lieAboutKmsKey = FakeHost.KMS_KEY_ID;
    send("--expect-kms-key", FakeHost.KMS_KEY_ID)
        .failsWith(ExitCodes.VERIFICATION_FAILED, "keycast send: attestation USER_DATA_MISMATCH: ");
    assertThat(host.sendPayloads).isEmpty();
  }

  @Test
  void sendsWhenTheKmsKeyIsTheExpectedOneAndShowsIt() {
    Cli.Run r = send("--expect-kms-key", FakeHost.KMS_KEY_ID).ok();
    assertThat(r.out()).contains("kms key:      " + FakeHost.KMS_KEY_ID + " (as pinned)");
    assertThat(host.sendPayloads).hasSize(1);
  }

  @Test
  void detectsATamperedReceipt() {
    host.tamperReceipt = true;
    Cli.Run r = send().failsWith(ExitCodes.VERIFICATION_FAILED, "keycast send: send ");
    assertThat(r.err()).contains("the receipt does not verify with the attested signing key");
    assertThat(r.out()).isEmpty();
  }

  @Test
  void detectsAReceiptOverAnotherPolicy() {
    host.receiptOverOtherPolicy = true;
    send().failsWith(ExitCodes.VERIFICATION_FAILED, "keycast send: send ");
  }

  @Test
  void receiptChecksCatchSwappedPayloadsAndExtraDeliveries() throws Exception {
    // a receipt validly signed by the enclave, but for another payload, is refused
    send().ok();
    EnclaveApi.SendPayload p = host.sendPayloads.getFirst();
    byte[] policyBytes = host.openedPolicies.getFirst();
    var view = host.receipts.values().iterator().next();
    byte[] cose = Base64Url.decode("r", view.receipt(), 1 << 20);
    var identity = new EnclaveIdentity(host.bundle(), null, new byte[0], new byte[0]);
    var result =
        new dev.keycast.protocol.api.HostApi.SendResult(
            view.sendId(), "reel-1", view.receiptId(), view.receipt(), List.of(), List.of(), false);
    byte[] enc = Base64Url.decode("enc", p.enc(), 32);
    byte[] ct = Base64Url.decode("ct", p.ciphertext(), 1000);
    SendPolicy policy = SendPolicy.parse(policyBytes);
    assertThat(
            SendCommand.checkReceipt(cose, identity, result, policy, policyBytes, enc, ct).sendId())
        .isEqualTo(view.sendId());
    byte[] otherCt = ct.clone();
    otherCt[0] ^= 1;
    assertThatThrownBy(
            () ->
                SendCommand.checkReceipt(cose, identity, result, policy, policyBytes, enc, otherCt))
        .isInstanceOf(CliException.class)
        .hasMessageContaining("covers another payload");
    var lying =
        new dev.keycast.protocol.api.HostApi.SendResult(
            view.sendId(),
            "reel-1",
            view.receiptId(),
            view.receipt(),
            List.of(
                new dev.keycast.protocol.api.HostApi.DeliverySummary(
                    "feedface", view.sendId(), fpUnregistered, "hpke-x25519-v1", Instant.now())),
            List.of(),
            false);
    assertThatThrownBy(
            () -> SendCommand.checkReceipt(cose, identity, lying, policy, policyBytes, enc, ct))
        .isInstanceOf(CliException.class)
        .hasMessageContaining("which the signed receipt does not contain");
    var wrongId =
        new dev.keycast.protocol.api.HostApi.SendResult(
            "0".repeat(32),
            "reel-1",
            view.receiptId(),
            view.receipt(),
            List.of(),
            List.of(),
            false);
    assertThatThrownBy(
            () -> SendCommand.checkReceipt(cose, identity, wrongId, policy, policyBytes, enc, ct))
        .isInstanceOf(CliException.class)
        .hasMessageContaining("send id mismatch");
  }

  @Test
  void hostErrorsPrintTheServersCodeAndMessage() {
    host.errors.put(
        "POST /v1/sends", new ErrorBody("too_many_recipients", "4 eligible, max_recipients 3"));
    Cli.Run r =
        send()
            .failsWith(
                ExitCodes.HOST_ERROR,
                "keycast send: host answered 422 too_many_recipients: 4 eligible, max_recipients 3");
    assertThat(r.err()).contains("raise --max-recipients");
  }

  @Test
  void oneLineUsageErrors() {
    Cli.run(
            "send",
            "--host",
            host.url(),
            "--secret-id",
            "a",
            "--recipient",
            fpX,
            "--secret-hex",
            "00")
        .failsWith(
            ExitCodes.USAGE,
            "keycast send: --expect-pcrs is required: pass the deployment file the operator published");
    Cli.run("send", "--expect-pcrs", pcrs.toString())
        .failsWith(ExitCodes.USAGE, "keycast send: --host is required");
    Cli.run(
            "send",
            "--host",
            host.url(),
            "--expect-pcrs",
            pcrs.toString(),
            "--secret-hex",
            "00",
            "--recipient",
            fpX)
        .failsWith(ExitCodes.USAGE, "keycast send: --secret-id is required");
    Cli.run(
            "send",
            "--host",
            host.url(),
            "--expect-pcrs",
            pcrs.toString(),
            "--secret-id",
            "a",
            "--recipient",
            fpX)
        .failsWith(ExitCodes.USAGE, "keycast send: the secret is required");
    Cli.run(
            "send",
            "--host",
            host.url(),
            "--expect-pcrs",
            pcrs.toString(),
            "--secret-id",
            "a",
            "--secret-hex",
            "00")
        .failsWith(ExitCodes.USAGE, "keycast send: no recipients");
    Cli.run(
            "send",
            "--host",
            host.url(),
            "--expect-pcrs",
            pcrs.toString(),
            "--secret-id",
            "a b",
            "--secret-hex",
            "00",
            "--recipient",
            fpX)
        .failsWith(ExitCodes.USAGE, "keycast send: policy: secret_id must be");
    Cli.run(
            "send",
            "--host",
            host.url(),
            "--expect-pcrs",
            pcrs.toString(),
            "--secret-id",
            "a",
            "--secret-hex",
            "00",
            "--recipient",
            "abc")
        .failsWith(ExitCodes.USAGE, "keycast send: --recipient: \"abc\" is not a key fingerprint");
    Cli.run(
            "send",
            "--host",
            host.url(),
            "--expect-pcrs",
            pcrs.toString(),
            "--secret-id",
            "a",
            "--secret-hex",
            "00",
            "--recipient",
            fpX,
            "--not-after",
            "2001-01-01")
        .failsWith(ExitCodes.USAGE, "keycast send: --not-after ");
    Cli.run(
            "send",
            "--host",
            host.url(),
            "--expect-pcrs",
            pcrs.toString(),
            "--secret-id",
            "a",
            "--secret-hex",
            "00",
            "--recipient",
            fpX,
            "--bogus")
        .failsWith(ExitCodes.USAGE, "keycast send: Unknown option: '--bogus'");
    Cli.run(
            "send",
            "--host",
            host.url(),
            "--expect-pcrs",
            pcrs.toString(),
            "--secret-id",
            "a",
            "--secret-file",
            tmp.resolve("nope").toString(),
            "--recipient",
            fpX)
        .failsWith(
            ExitCodes.IO, "keycast send: --secret-file " + tmp.resolve("nope") + ": no such file");
    StringBuilder many = new StringBuilder();
    // more fingerprints than fit in a policy of SendPolicy.MAX_BYTES (about 67 bytes each)
    for (int i = 0; i < SendPolicy.MAX_BYTES / 60; i++) {
      many.append(String.format("%064x", i)).append('\n');
    }
    Path big;
    try {
      big = Files.writeString(tmp.resolve("many.txt"), many);
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
    Cli.run(
            "send",
            "--host",
            host.url(),
            "--expect-pcrs",
            pcrs.toString(),
            "--secret-id",
            "a",
            "--secret-hex",
            "00",
            "--recipients-file",
            big.toString())
        .failsWith(ExitCodes.USAGE, "keycast send: the policy is ");
    assertThat(host.sendPayloads).isEmpty();
  }

  @Test
  void recipientsFileAnchorsAndSubject() throws Exception {
    Path list =
        Files.writeString(
            tmp.resolve("fps.txt"),
            "# projectors\n" + fpX.toUpperCase() + "  # screen 1\n\n" + fpRsa + "\n");
    Cli.run(
            "send",
            "--sender-key",
            FakeHost.senderKeyFile(tmp).toString(),
            "--host",
            host.url(),
            "--expect-pcrs",
            pcrs.toString(),
            "--trust-root",
            root.toString(),
            "--secret-hex",
            "0102",
            "--secret-id",
            "k",
            "--recipients-file",
            list.toString(),
            "--anchor",
            root.toString(),
            "--subject",
            "O=Keycast Test,OU=Screens\\, east")
        .ok();
    SendPolicy policy = SendPolicy.parse(host.openedPolicies.getFirst());
    assertThat(policy.recipients().fingerprints()).containsExactly(fpX, fpRsa);
    assertThat(policy.recipients().anchors()).hasSize(1);
    assertThat(policy.recipients().subject())
        .containsEntry("O", "Keycast Test")
        .containsEntry("OU", "Screens, east");
    assertThat(policy.maxRecipients()).isEqualTo(SendCommand.DEFAULT_MAX_WITH_ANCHORS);
  }

  @Test
  void registeredKeysAreTheOnesGenerated() throws Exception {
    RecipientKey k = RecipientKeys.parse(Files.readAllBytes(tmp.resolve("keys/x.pub.pem")));
    assertThat(k.fingerprint()).isEqualTo(fpX);
    assertThat(host.recipients).containsKeys(fpX, fpRsa).doesNotContainKey(fpUnregistered);
    assertThat(host.recipients.get(fpX).labels()).containsEntry("site", "paris");
  }
}
