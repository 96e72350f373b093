package dev.keycast.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.keycast.protocol.Json;
import dev.keycast.protocol.attestation.TestAttester;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code keycast attest} against a fake host over real HTTP. */
class AttestCommandTest {
  @TempDir Path tmp;
  FakeHost host;
  Path pcrs;
  Path root;

  @BeforeEach
  void start() throws Exception {
    host = new FakeHost();
    pcrs = Files.writeString(tmp.resolve("measurements.json"), FakeHost.measurementsJson());
    root = Files.writeString(tmp.resolve("mock-root.pem"), host.rootPem());
  }

  @AfterEach
  void stop() {
    host.close();
  }

  Cli.Run attest(String... extra) {
    String[] base = {
      "attest",
      "--host",
      host.url(),
      "--expect-pcrs",
      pcrs.toString(),
      "--trust-root",
      root.toString()
    };
    String[] all = new String[base.length + extra.length];
    System.arraycopy(base, 0, all, 0, base.length);
    System.arraycopy(extra, 0, all, base.length, extra.length);
    return Cli.run(all);
  }

  @Test
  void verifiesAndShowsMeasurementsAndKeySet() {
    Cli.Run r = attest().ok();
    assertThat(r.out())
        .contains("key set:      " + host.keySet.id())
        .contains("PCR0:         " + HexFormat.of().formatHex(TestAttester.pcrValue(0x10)))
        .contains("PCR8:         " + HexFormat.of().formatHex(TestAttester.pcrValue(0x18)))
        .contains("WARNING: the document chains to the non-AWS root mock-root.pem");
    assertThat(host.requests).anyMatch(q -> q.equals("GET /v1/attestation"));
  }

  @Test
  void jsonAndSavedBundleAndDocument() throws Exception {
    Path bundle = tmp.resolve("bundle.json");
    Path doc = tmp.resolve("doc.cbor");
    Cli.Run r =
        attest("--json", "--out-bundle", bundle.toString(), "--out-document", doc.toString()).ok();
    JsonNode j = Json.mapper().readTree(r.out());
    assertThat(j.get("verified").asBoolean()).isTrue();
    assertThat(j.get("key_set_id").asText()).isEqualTo(host.keySet.id());
    assertThat(j.at("/key_bundle/signing_public_key").asText())
        .isEqualTo(dev.keycast.protocol.Base64Url.encode(host.keySet.signingPublicKey()));
    assertThat(j.at("/pcrs/PCR1").asText())
        .isEqualTo(HexFormat.of().formatHex(TestAttester.pcrValue(0x11)));
    JsonNode saved = Json.mapper().readTree(bundle.toFile());
    assertThat(saved.at("/key_bundle/signing_public_key").asText())
        .isEqualTo(dev.keycast.protocol.Base64Url.encode(host.keySet.signingPublicKey()));
    assertThat(
            dev.keycast.protocol.Base64Url.decode(
                "d", saved.get("attestation_document").asText(), 1 << 20))
        .isEqualTo(Files.readAllBytes(doc));
    assertThat(Files.size(doc)).isGreaterThan(500);
  }

  @Test
  void showsTheKmsKeyAndAcceptsThePinnedOne() throws Exception {
    Cli.Run plain = attest().ok();
    assertThat(plain.out()).contains("kms key:      " + FakeHost.KMS_KEY_ID + " (as pinned)");
    assertThat(attest("--expect-kms-key", FakeHost.KMS_KEY_ID).ok().out()).contains("(as pinned)");
    JsonNode j = Json.mapper().readTree(attest("--json").ok().out());
    assertThat(j.get("kms_key_id").asText()).isEqualTo(FakeHost.KMS_KEY_ID);
    assertThat(j.at("/key_bundle/kms_key_id").asText()).isEqualTo(FakeHost.KMS_KEY_ID);
    // a file that names no KMS key: --expect-kms-key pins it (any of several)
    Files.writeString(pcrs, FakeHost.pcrsOnlyJson());
    assertThat(
            attest(
                    "--expect-kms-key",
                    FakeHost.ATTACKER_KMS_KEY_ID,
                    "--expect-kms-key",
                    FakeHost.KMS_KEY_ID)
                .ok()
                .out())
        .contains("(as pinned)");
  }

  @Test
  void aFlagCannotWidenThePublishedKmsKeyPin() {
    Cli.Run r =
        attest("--expect-kms-key", FakeHost.ATTACKER_KMS_KEY_ID)
            .failsWith(
                ExitCodes.USAGE,
                "keycast attest: --expect-kms-key "
                    + FakeHost.ATTACKER_KMS_KEY_ID
                    + " contradicts the KMS key "
                    + FakeHost.KMS_KEY_ID
                    + " that --expect-pcrs ");
    assertThat(r.out()).isEmpty();
    assertThat(host.requests).isEmpty();
  }

  @Test
  void aVerifierThatForgetsTheKmsKeyPinIsStoppedBeforeAskingTheHost() throws Exception {
    Files.writeString(pcrs, FakeHost.pcrsOnlyJson());
    host.sealedUnder = FakeHost.ATTACKER_KMS_KEY_ID;
    attest()
        .failsWith(
            ExitCodes.USAGE,
            "keycast attest: no KMS key pin: --expect-pcrs "
                + pcrs
                + " names no \"kms_key_arn\"; pass --expect-kms-key ARN");
    assertThat(host.requests).isEmpty();
  }

  @Test
  void anEnclaveWhoseKeySetIsProtectedByAnotherKmsKeyIsRefused() {
    // the host sealed a key set it knows under its own key; the genuine enclave attests that key
    host.sealedUnder = FakeHost.ATTACKER_KMS_KEY_ID;
    Cli.Run r =
        attest("--expect-kms-key", FakeHost.KMS_KEY_ID)
            .failsWith(
                ExitCodes.VERIFICATION_FAILED,
                "keycast attest: the enclave's key set "
                    + host.keySet.id()
                    + " is protected by KMS key "
                    + FakeHost.ATTACKER_KMS_KEY_ID
                    + ", not by the pinned KMS key "
                    + FakeHost.KMS_KEY_ID);
    assertThat(r.out()).isEmpty();
    // the deployment file alone pins it too
    attest()
        .failsWith(
            ExitCodes.VERIFICATION_FAILED,
            "keycast attest: the enclave's key set "
                + host.keySet.id()
                + " is protected by KMS key "
                + FakeHost.ATTACKER_KMS_KEY_ID
                + ", not by the pinned KMS key "
                + FakeHost.KMS_KEY_ID);
  }

  @Test
  void aHostLyingAboutTheKmsKeyIsCaughtByTheUserData() {
    host.sealedUnder = FakeHost.ATTACKER_KMS_KEY_ID;
    host.lieAboutKmsKey = FakeHost.KMS_KEY_ID;
    Cli.Run r =
        attest("--expect-kms-key", FakeHost.KMS_KEY_ID)
            .failsWith(
                ExitCodes.VERIFICATION_FAILED, "keycast attest: attestation USER_DATA_MISMATCH: ");
    assertThat(r.out()).isEmpty();
  }

  @Test
  void anEnclaveWhoseKmsKeyIsNotLockedIsRefusedUnlessAllowedAndThenWarned() {
    // the enclave read its key's policy and grants and found that someone else could decrypt
    host.kmsKeyUnlocked = true;
    Cli.Run r =
        attest("--expect-kms-key", FakeHost.KMS_KEY_ID)
            .failsWith(
                ExitCodes.VERIFICATION_FAILED,
                "keycast attest: the enclave's KMS key " + FakeHost.KMS_KEY_ID + " is not locked");
    assertThat(r.out()).isEmpty();
    Cli.Run allowed =
        attest("--expect-kms-key", FakeHost.KMS_KEY_ID, "--allow-unlocked-kms-key").ok();
    assertThat(allowed.out())
        .contains("WARNING: the enclave's KMS key " + FakeHost.KMS_KEY_ID + " is not locked")
        .contains("--allow-unlocked-kms-key");
    // a locked key gives no such warning
    host.kmsKeyUnlocked = false;
    assertThat(attest("--expect-kms-key", FakeHost.KMS_KEY_ID).ok().out())
        .doesNotContain("is not locked");
  }

  @Test
  void aHostClaimingAnUnlockedKmsKeyIsLockedIsCaughtByTheUserData() {
    host.kmsKeyUnlocked = true;
    host.lieThatTheKmsKeyIsLocked = true;
    Cli.Run r =
        attest("--expect-kms-key", FakeHost.KMS_KEY_ID)
            .failsWith(
                ExitCodes.VERIFICATION_FAILED, "keycast attest: attestation USER_DATA_MISMATCH: ");
    assertThat(r.out()).isEmpty();
  }

  @Test
  void badExpectKmsKeyIsAUsageError() {
    attest("--expect-kms-key", "not an arn")
        .failsWith(ExitCodes.USAGE, "keycast attest: --expect-kms-key not an arn");
  }

  @Test
  void wrongPcrIsRefused() {
    host.pcr0Override = TestAttester.pcrValue(0x66);
    Cli.Run r =
        attest()
            .failsWith(ExitCodes.VERIFICATION_FAILED, "keycast attest: attestation PCR_MISMATCH: ");
    assertThat(r.out()).isEmpty();
  }

  @Test
  void wrongNonceIsRefused() {
    host.wrongNonce = true;
    attest()
        .failsWith(ExitCodes.VERIFICATION_FAILED, "keycast attest: attestation NONCE_MISMATCH: ");
  }

  @Test
  void untrustedRootIsRefused() {
    Cli.run("attest", "--host", host.url(), "--expect-pcrs", pcrs.toString())
        .failsWith(ExitCodes.VERIFICATION_FAILED, "keycast attest: attestation UNTRUSTED_ROOT: ");
  }

  @Test
  void bundleThatIsNotTheAttestedOneIsRefused() {
    host.foreignSigningKeyInBundle = true;
    attest()
        .failsWith(
            ExitCodes.VERIFICATION_FAILED, "keycast attest: attestation USER_DATA_MISMATCH: ");
  }

  @Test
  void badExpectedPcrsFileIsAUsageError() throws Exception {
    Files.writeString(pcrs, "{\"version\":2}", StandardCharsets.UTF_8);
    attest().failsWith(ExitCodes.USAGE, "keycast attest: --expect-pcrs ");
  }

  @Test
  void missingExpectPcrsSaysWhatToPass() {
    Cli.Run r =
        Cli.run("attest", "--host", host.url())
            .failsWith(
                ExitCodes.USAGE,
                "keycast attest: --expect-pcrs is required: pass the deployment file the operator published");
    assertThat(r.err()).contains("(the measurements and the KMS key ARN of the enclave you trust)");
  }

  @Test
  void hostErrorsPrintTheServersCode() {
    host.errors.put(
        "GET /v1/attestation",
        new dev.keycast.protocol.api.ErrorBody("not_ready", "no key set yet"));
    Cli.Run r =
        attest()
            .failsWith(
                ExitCodes.HOST_ERROR,
                "keycast attest: host answered 503 not_ready: no key set yet");
    assertThat(r.err()).contains("retry after 2 s");
  }

  @Test
  void unreachableHost() throws Exception {
    int port;
    try (java.net.ServerSocket s = new java.net.ServerSocket(0)) {
      port = s.getLocalPort();
    }
    Cli.run("attest", "--host", "http://127.0.0.1:" + port, "--expect-pcrs", pcrs.toString())
        .failsWith(ExitCodes.UNREACHABLE, "keycast attest: cannot reach http://127.0.0.1:" + port);
  }

  @Test
  void badHostUrl() {
    Cli.run("attest", "--host", "ftp://x", "--expect-pcrs", pcrs.toString())
        .failsWith(
            ExitCodes.USAGE,
            "keycast attest: --host: \"ftp://x\" must be an http:// or https:// URL");
  }

  @Test
  void httpsWithAPrivateCa() throws Exception {
    try (FakeHost tls = new FakeHost(true)) {
      Path tlsRoot = Files.writeString(tmp.resolve("tls-root.pem"), tls.rootPem());
      Path ca = Files.writeString(tmp.resolve("ca.pem"), tls.tlsCertificatePem());
      Cli.Run r =
          Cli.run(
                  "attest",
                  "--host",
                  tls.url(),
                  "--expect-pcrs",
                  pcrs.toString(),
                  "--trust-root",
                  tlsRoot.toString(),
                  "--ca-cert",
                  ca.toString())
              .ok();
      assertThat(r.out()).contains("key set:      " + tls.keySet.id());
      Cli.run(
              "attest",
              "--host",
              tls.url(),
              "--expect-pcrs",
              pcrs.toString(),
              "--trust-root",
              tlsRoot.toString())
          .failsWith(
              ExitCodes.UNREACHABLE,
              "keycast attest: TLS handshake with "
                  + tls.url()
                  + " failed: its certificate is not trusted");
      Cli.run(
              "attest",
              "--host",
              tls.url(),
              "--expect-pcrs",
              pcrs.toString(),
              "--ca-cert",
              pcrs.toString())
          .failsWith(ExitCodes.USAGE, "keycast attest: --ca-cert ");
      Cli.run(
              "attest",
              "--host",
              host.url(),
              "--expect-pcrs",
              pcrs.toString(),
              "--ca-cert",
              ca.toString())
          .failsWith(ExitCodes.USAGE, "keycast attest: --ca-cert applies to https:// hosts only");
    }
  }

  @Test
  void answersThatAreNotKeycastAnswers() {
    host.raw.put("GET /v1/attestation", Map.entry(502, "<html>Bad Gateway</html>"));
    attest()
        .failsWith(
            ExitCodes.UNREACHABLE,
            "keycast attest: "
                + host.url()
                + "/v1/attestation answered HTTP 502 without a Keycast error body");
    host.raw.put("GET /v1/attestation", Map.entry(200, "{\"document\": 3"));
    attest()
        .failsWith(
            ExitCodes.UNREACHABLE,
            "keycast attest: "
                + host.url()
                + "/v1/attestation answered a body that is not a Keycast AttestationResponse: malformed JSON");
    host.raw.put(
        "GET /v1/attestation",
        Map.entry(200, "{\"document\":\"AAAA\",\"key_bundle\":{\"key_set_id\":\"ks-1\"}}"));
    attest().failsWith(ExitCodes.VERIFICATION_FAILED, "keycast attest: key bundle: ");
  }
}
