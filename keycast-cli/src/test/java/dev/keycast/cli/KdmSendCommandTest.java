package dev.keycast.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keycast.protocol.cinema.ContentKey;
import dev.keycast.protocol.cinema.ContentKeySet;
import dev.keycast.protocol.cinema.ContentKeySetCodec;
import dev.keycast.protocol.cinema.KdmFormulation;
import dev.keycast.protocol.cinema.KeyType;
import dev.keycast.protocol.policy.SendPolicy;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code keycast kdm send} against a fake host that opens the payload like the enclave: the
 * content keys travel as a content-key set sealed to the attested key, the rules as the policy's
 * {@code kdm} member, and every mistake is a usage error before anything is sent.
 */
class KdmSendCommandTest {
  static final String CPL = "5d9a0c55-0000-4000-8000-000000000001";
  static final String KEY1 =
      "11111111-2222-4333-8444-555555555555:MDIK:000102030405060708090a0b0c0d0e0f";
  static final String KEY2 =
      "11111111-2222-4333-8444-666666666666:MDAK:f0e0d0c0b0a090807060504030201000";

  /** Base64 SHA-1 thumbprints (20 bytes) of two screens. */
  static final String SCREEN_A = "AAECAwQFBgcICQoLDA0ODxAREhM=";

  static final String SCREEN_B = "FBUWFxgZGhscHR4fICEiIyQlJic=";

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

  Cli.Run kdmSend(String... extra) {
    List<String> a =
        new ArrayList<>(
            List.of(
                "kdm",
                "send",
                "--host",
                host.url(),
                "--expect-pcrs",
                pcrs.toString(),
                "--trust-root",
                root.toString(),
                "--sender-key",
                FakeHost.senderKeyFile(tmp).toString(),
                "--cpl",
                "urn:uuid:" + CPL,
                "--title",
                "Feature_FTR_S_EN-XX_51_2K_20261207_SMPTE_OV",
                "--not-before",
                "now",
                "--not-after",
                Instant.now().plusSeconds(7 * 86400).toString()));
    a.addAll(List.of(extra));
    return Cli.run(a.toArray(String[]::new));
  }

  @Test
  void sealsTheContentKeysAsAContentKeySetAndTheRulesAsTheKdmPolicy() throws Exception {
    kdmSend(
            "--key",
            KEY1,
            "--key",
            KEY2,
            "--screen",
            SCREEN_A,
            "--screen",
            SCREEN_B,
            "--forensic-mark-flag",
            "http://www.smpte-ra.org/430-1/2006/KDM#mrkflg-audio-disable")
        .ok();

    assertThat(host.openedPolicies).hasSize(1);
    SendPolicy policy = SendPolicy.parse(host.openedPolicies.getFirst());
    assertThat(policy.isKdmSend()).isTrue();
    assertThat(policy.kdm().parsedFormulation()).isEqualTo(KdmFormulation.MODIFIED_TRANSITIONAL_1);
    assertThat(policy.kdm().forensicMarkFlags())
        .containsExactly("http://www.smpte-ra.org/430-1/2006/KDM#mrkflg-audio-disable");
    assertThat(policy.recipients().thumbprints()).containsExactly(SCREEN_A, SCREEN_B);
    assertThat(policy.recipients().fingerprints()).isEmpty();
    assertThat(policy.maxRecipients()).isEqualTo(2);
    assertThat(policy.secretId()).isEqualTo("cpl-" + CPL);

    ContentKeySet set = ContentKeySetCodec.decode(host.openedSecrets.getFirst());
    assertThat(set.cplId()).isEqualTo(UUID.fromString(CPL));
    assertThat(set.contentTitle()).isEqualTo("Feature_FTR_S_EN-XX_51_2K_20261207_SMPTE_OV");
    assertThat(set.keys())
        .containsExactly(
            new ContentKey(
                UUID.fromString("11111111-2222-4333-8444-555555555555"),
                KeyType.MDIK,
                HexFormat.of().parseHex("000102030405060708090a0b0c0d0e0f")),
            new ContentKey(
                UUID.fromString("11111111-2222-4333-8444-666666666666"),
                KeyType.MDAK,
                HexFormat.of().parseHex("f0e0d0c0b0a090807060504030201000")));
  }

  @Test
  void readsKeysFromAFileAndSelectsScreensByManufacturerRoot() throws Exception {
    Path keys =
        Files.writeString(
            tmp.resolve("keys.txt"), "# reel 1\n" + KEY1 + "\n\n" + KEY2 + "  # audio\n");
    kdmSend(
            "--keys-file",
            keys.toString(),
            "--screen-root",
            root.toString(),
            "--subject",
            "O=Cinema Gear",
            "--formulation",
            "dci-any",
            "--content-authenticator",
            SCREEN_A,
            "--late-screens")
        .ok();

    SendPolicy policy = SendPolicy.parse(host.openedPolicies.getFirst());
    assertThat(policy.recipients().anchors()).hasSize(1);
    assertThat(policy.recipients().subject()).containsEntry("O", "Cinema Gear");
    assertThat(policy.kdm().parsedFormulation()).isEqualTo(KdmFormulation.DCI_ANY);
    assertThat(policy.kdm().contentAuthenticator()).isEqualTo(SCREEN_A);
    assertThat(policy.lateRecipients()).isTrue();
    assertThat(ContentKeySetCodec.decode(host.openedSecrets.getFirst()).keys()).hasSize(2);
  }

  @Test
  void eachMistakeIsAUsageErrorAndNothingIsSent() {
    kdmSend("--key", KEY1).failsWith(ExitCodes.USAGE, "keycast kdm send: no screens");
    kdmSend("--screen", SCREEN_A).failsWith(ExitCodes.USAGE, "keycast kdm send: no content keys");
    kdmSend("--key", "11111111-2222-4333-8444-555555555555:MDIK:0001", "--screen", SCREEN_A)
        .failsWith(ExitCodes.USAGE, "keycast kdm send: content key 1 is not UUID:TYPE:HEX");
    kdmSend(
            "--key",
            "11111111-2222-4333-8444-555555555555:XXXX:000102030405060708090a0b0c0d0e0f",
            "--screen",
            SCREEN_A)
        .failsWith(ExitCodes.USAGE, "keycast kdm send: key type must be one of");
    kdmSend("--key", KEY1, "--key", KEY1, "--screen", SCREEN_A)
        .failsWith(
            ExitCodes.USAGE,
            "keycast kdm send: key id 11111111-2222-4333-8444-555555555555 appears twice");
    kdmSend("--key", KEY1, "--screen", "not-a-thumbprint")
        .failsWith(
            ExitCodes.USAGE,
            "keycast kdm send: --screen \"not-a-thumbprint\" is not a certificate thumbprint");
    kdmSend("--key", KEY1, "--screen", SCREEN_A, "--formulation", "dci-any")
        .failsWith(
            ExitCodes.USAGE, "keycast kdm send: kdm.content_authenticator is required by dci-any");
    kdmSend("--key", KEY1, "--screen", SCREEN_A, "--formulation", "interop")
        .failsWith(ExitCodes.USAGE, "keycast kdm send: kdm.formulation: formulation must be");
    kdmSend("--key", KEY1, "--screen", SCREEN_A, "--subject", "O=X")
        .failsWith(ExitCodes.USAGE, "keycast kdm send: --subject needs");
    kdmSend("--key", KEY1, "--screen", SCREEN_A, "--forensic-mark-flag", "http://example.com/flag")
        .failsWith(ExitCodes.USAGE, "keycast kdm send: kdm.forensic_mark_flags: unknown flag");
    assertThat(host.sendPayloads).isEmpty();
  }

  @Test
  void theKeysNeverAppearInTheOutput() {
    Cli.Run r = kdmSend("--key", KEY1, "--screen", SCREEN_A, "--json").ok();
    assertThat(r.out())
        .doesNotContain("000102030405060708090a0b0c0d0e0f")
        .contains("\"cpl_id\":\"" + CPL + "\"");
  }
}
