package dev.keycast.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPairGenerator;
import java.util.Base64;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code keycast kdm verify} on the golden KDM of keycast-protocol's vectors ({@code /kdm/} of its
 * test jar): what a cinema runs on a KDM file, and each refusal it must make.
 */
class KdmVerifyCommandTest {
  /** The golden KDM's three content keys (KdmFixtures.keys()): never printed. */
  private static final String[] CONTENT_KEYS = {
    "000102030405060708090a0b0c0d0e0f",
    "f0e0d0c0b0a090807060504030201000",
    "aabbccddeeff00112233445566778899"
  };

  @TempDir Path tmp;
  Path kdm;
  Path signerRoot;
  Path screenKey;
  Path screenRoot;

  private static String resource(String name) throws IOException {
    try (InputStream in = KdmVerifyCommandTest.class.getResourceAsStream("/kdm/" + name)) {
      assertThat(in).as("test resource /kdm/%s (keycast-protocol test jar)", name).isNotNull();
      return new String(in.readAllBytes(), StandardCharsets.US_ASCII);
    }
  }

  /** The last PEM certificate of a chain file (leaf first): its root. */
  private static String lastCertificate(String chain) {
    Matcher m =
        Pattern.compile("-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----").matcher(chain);
    String last = null;
    while (m.find()) {
      last = m.group();
    }
    assertThat(last).isNotNull();
    return last + "\n";
  }

  @BeforeEach
  void files() throws IOException {
    kdm = Files.writeString(tmp.resolve("kdm.xml"), resource("expect-mt1-kdm.xml"));
    signerRoot =
        Files.writeString(
            tmp.resolve("signer-root.pem"), lastCertificate(resource("signer-chain.pem")));
    screenKey = Files.writeString(tmp.resolve("screen-key.pem"), resource("screen-key.pem"));
    screenRoot =
        Files.writeString(
            tmp.resolve("screen-root.pem"), lastCertificate(resource("screen-chain.pem")));
  }

  @Test
  void aCinemaVerifiesTheKdmAndDecryptsEveryBlockWithItsScreenKey() throws Exception {
    Cli.Run r =
        Cli.run(
                "kdm",
                "verify",
                "--kdm",
                kdm.toString(),
                "--signer-root",
                signerRoot.toString(),
                "--screen-key",
                screenKey.toString(),
                "--json")
            .ok();
    JsonNode j = new ObjectMapper().readTree(r.out());
    assertThat(j.path("verified").asBoolean()).isTrue();
    assertThat(j.path("blocks_decrypted").asInt()).isEqualTo(3);
    assertThat(j.path("keys")).hasSize(3);
    assertThat(j.path("keys").get(0).path("type").asText()).isEqualTo("MDIK");
    assertThat(j.path("formulation").asText()).isEqualTo("MODIFIED_TRANSITIONAL_1");
    assertThat(j.path("signer_chain")).hasSize(3);
    assertThat(j.path("recipient_subject").asText()).contains("SM.IMB-000001");
    for (String key : CONTENT_KEYS) {
      assertThat(r.out()).doesNotContainIgnoringCase(key);
    }
  }

  @Test
  void withoutTheScreenKeyTheSignatureIsStillVerifiedAndBlocksAreNotOpened() {
    Cli.Run r =
        Cli.run("kdm", "verify", "--kdm", kdm.toString(), "--signer-root", signerRoot.toString())
            .ok();
    assertThat(r.out()).contains("signature verified", "not decrypted", "MDAK", "MDSK");
  }

  @Test
  void aKdmAlteredAfterSigningIsRefused() throws Exception {
    String xml = Files.readString(kdm);
    assertThat(xml).contains("Keycast_Test_FTR-1");
    Files.writeString(kdm, xml.replace("Keycast_Test_FTR-1", "Keycast_Test_FTR-2"));
    Cli.run("kdm", "verify", "--kdm", kdm.toString(), "--signer-root", signerRoot.toString())
        .failsWith(ExitCodes.VERIFICATION_FAILED, "keycast kdm verify: kdm_signature_invalid");
  }

  @Test
  void aKdmSignedUnderAnotherRootIsRefused() {
    Cli.run("kdm", "verify", "--kdm", kdm.toString(), "--signer-root", screenRoot.toString())
        .failsWith(ExitCodes.VERIFICATION_FAILED, "keycast kdm verify: kdm_signer_untrusted");
  }

  @Test
  void aKdmForAnotherScreenDoesNotOpenWithThisScreensKey() throws Exception {
    KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
    g.initialize(2048);
    byte[] pkcs8 = g.generateKeyPair().getPrivate().getEncoded();
    Path other =
        Files.writeString(
            tmp.resolve("other.pem"),
            "-----BEGIN PRIVATE KEY-----\n"
                + Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(pkcs8)
                + "\n-----END PRIVATE KEY-----\n");
    Cli.run(
            "kdm",
            "verify",
            "--kdm",
            kdm.toString(),
            "--signer-root",
            signerRoot.toString(),
            "--screen-key",
            other.toString())
        .failsWith(ExitCodes.VERIFICATION_FAILED, "keycast kdm verify: kdm_decryption_failed");
  }

  @Test
  void aRootFileWithoutACertificateIsAUsageError() throws Exception {
    Path notPem = Files.writeString(tmp.resolve("x.pem"), "hello\n");
    Cli.run("kdm", "verify", "--kdm", kdm.toString(), "--signer-root", notPem.toString())
        .failsWith(ExitCodes.USAGE, "keycast kdm verify: --signer-root");
  }
}
