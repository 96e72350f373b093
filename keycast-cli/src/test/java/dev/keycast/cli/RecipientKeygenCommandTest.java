package dev.keycast.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.keycast.protocol.Json;
import dev.keycast.protocol.envelope.RecipientKey;
import dev.keycast.protocol.envelope.RecipientKeys;
import dev.keycast.protocol.envelope.RsaRecipientKey;
import dev.keycast.protocol.envelope.X25519RecipientKey;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** {@code keycast recipient keygen}: files, permissions, fingerprints, openssl interop. */
class RecipientKeygenCommandTest {
  @TempDir Path tmp;

  @ParameterizedTest
  @ValueSource(strings = {"rsa-2048", "rsa-3072", "x25519"})
  void writesLoadableKeyPair(String type) throws Exception {
    Cli.Run r =
        Cli.run(
                "recipient",
                "keygen",
                "--type",
                type,
                "--out-dir",
                tmp.resolve("k").toString(),
                "--name",
                "p1")
            .ok();
    Path key = tmp.resolve("k/p1.key.pem");
    Path pub = tmp.resolve("k/p1.pub.pem");
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(key)))
        .isEqualTo("rw-------");
    assertThat(Files.readString(key))
        .startsWith("-----BEGIN PRIVATE KEY-----\n")
        .endsWith("-----END PRIVATE KEY-----\n");
    RecipientKey pk = RecipientKeys.parse(Files.readAllBytes(pub));
    assertThat(r.out()).contains("fingerprint:  " + pk.fingerprint());
    if (type.equals("x25519")) {
      assertThat(pk).isInstanceOf(X25519RecipientKey.class);
    } else {
      assertThat(((RsaRecipientKey) pk).bits()).isEqualTo(Integer.parseInt(type.substring(4)));
    }
    try (RecipientPrivateKey priv = RecipientPrivateKey.load(key, "--key")) {
      assertThat(priv.fingerprint()).isEqualTo(pk.fingerprint());
    }
    assertThat(Files.list(tmp.resolve("k"))).hasSize(2); // no temporary files left behind
  }

  @ParameterizedTest
  @ValueSource(strings = {"rsa-2048", "x25519"})
  void opensslReadsTheKeysAndAgreesOnThePublicKey(String type) throws Exception {
    assumeTrue(openssl(), "openssl not installed");
    Cli.run("recipient", "keygen", "--type", type, "--out-dir", tmp.toString(), "--name", "o").ok();
    Process p =
        new ProcessBuilder("openssl", "pkey", "-in", tmp.resolve("o.key.pem").toString(), "-pubout")
            .redirectErrorStream(true)
            .start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
    assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).as(out).isZero();
    assertThat(out).isEqualTo(Files.readString(tmp.resolve("o.pub.pem")));
  }

  @Test
  void jsonAndRefusesToOverwrite() throws Exception {
    Cli.Run r =
        Cli.run("recipient", "keygen", "--type", "x25519", "--out-dir", tmp.toString(), "--json")
            .ok();
    JsonNode j = Json.mapper().readTree(r.out());
    assertThat(j.get("fingerprint").asText()).hasSize(64);
    assertThat(j.get("private_key").asText()).endsWith("recipient.key.pem");
    String before = Files.readString(tmp.resolve("recipient.key.pem"));
    Cli.run("recipient", "keygen", "--type", "x25519", "--out-dir", tmp.toString())
        .failsWith(
            ExitCodes.IO,
            "keycast recipient keygen: " + tmp.resolve("recipient.key.pem") + " already exists");
    assertThat(Files.readString(tmp.resolve("recipient.key.pem"))).isEqualTo(before);
  }

  @Test
  void usageErrors() {
    Cli.run("recipient", "keygen", "--type", "ed25519", "--out-dir", tmp.toString())
        .failsWith(ExitCodes.USAGE, "keycast recipient keygen: --type: \"ed25519\" is not one of");
    Cli.run(
            "recipient",
            "keygen",
            "--type",
            "x25519",
            "--out-dir",
            tmp.toString(),
            "--name",
            "../evil")
        .failsWith(ExitCodes.USAGE, "keycast recipient keygen: --name: ");
    Cli.run("recipient", "keygen", "--out-dir", tmp.toString())
        .failsWith(
            ExitCodes.USAGE,
            "keycast recipient keygen: --type is required (the key type: rsa-2048");
    Cli.run("recipient").failsWith(ExitCodes.USAGE, "keycast recipient: missing subcommand");
  }

  static boolean openssl() {
    try {
      Process p = new ProcessBuilder("openssl", "version").redirectErrorStream(true).start();
      p.getInputStream().readAllBytes();
      return p.waitFor(10, TimeUnit.SECONDS) && p.exitValue() == 0;
    } catch (Exception e) {
      return false;
    }
  }
}
