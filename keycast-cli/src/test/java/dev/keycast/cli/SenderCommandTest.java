package dev.keycast.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keycast.protocol.Json;
import dev.keycast.protocol.envelope.RecipientKeys;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 23 on the client side: sender keys, the attested sender set, owner-signed changes, and
 * recipients that accept only the senders they expect (the host can make any envelope for a
 * public key: only an enclave receipt naming the sender proves who sent it).
 */
class SenderCommandTest {
  @TempDir Path tmp;
  FakeHost host;
  Path pcrs;
  Path root;
  Path bundle;

  @BeforeEach
  void start() throws Exception {
    host = new FakeHost();
    pcrs = Files.writeString(tmp.resolve("m.json"), FakeHost.measurementsJson());
    root = Files.writeString(tmp.resolve("root.pem"), host.rootPem());
    bundle = tmp.resolve("bundle.json");
    Cli.run(
            "attest",
            "--host",
            host.url(),
            "--expect-pcrs",
            pcrs.toString(),
            "--trust-root",
            root.toString(),
            "--out-bundle",
            bundle.toString())
        .ok();
  }

  @AfterEach
  void stop() {
    host.close();
  }

  String[] pins(String... args) {
    String[] p = {
      "--host", host.url(), "--expect-pcrs", pcrs.toString(), "--trust-root", root.toString()
    };
    String[] all = new String[args.length + p.length];
    System.arraycopy(args, 0, all, 0, args.length);
    System.arraycopy(p, 0, all, args.length, p.length);
    return all;
  }

  String recipient(String type, String name) throws Exception {
    Cli.run("recipient", "keygen", "--type", type, "--out-dir", tmp.toString(), "--name", name)
        .ok();
    Cli.run(
            "recipient",
            "register",
            "--host",
            host.url(),
            "--key",
            tmp.resolve(name + ".key.pem").toString())
        .ok();
    return RecipientKeys.parse(Files.readAllBytes(tmp.resolve(name + ".pub.pem"))).fingerprint();
  }

  /** A second sender, "distributor", admitted by the owner through the CLI. */
  Path admitDistributor() throws Exception {
    Cli.run("sender", "keygen", "--out-dir", tmp.toString(), "--name", "distributor").ok();
    Path owner = FakeHost.keyFile(tmp, "owner", FakeHost.OWNER);
    Cli.Run r =
        Cli.run(
                pins(
                    "sender",
                    "add",
                    "--owner-key",
                    owner.toString(),
                    "--sender",
                    tmp.resolve("distributor.pub.pem").toString()))
            .ok();
    assertThat(r.out()).contains("version 2");
    return tmp.resolve("distributor.key.pem");
  }

  Cli.Run send(Path senderKey, String... recipients) {
    java.util.List<String> a =
        new java.util.ArrayList<>(
            java.util.List.of(
                pins(
                    "send",
                    "--sender-key",
                    senderKey.toString(),
                    "--secret-hex",
                    "c0ffee",
                    "--secret-id",
                    "reel-9")));
    for (String r : recipients) {
      a.add("--recipient");
      a.add(r);
    }
    return Cli.run(a.toArray(String[]::new));
  }

  Cli.Run fetch(String name, String... extra) {
    java.util.List<String> a =
        new java.util.ArrayList<>(
            java.util.List.of(
                "fetch",
                "--host",
                host.url(),
                "--key",
                tmp.resolve(name + ".key.pem").toString(),
                "--out-dir",
                tmp.resolve("inbox-" + name).toString(),
                "--bundle",
                bundle.toString(),
                "--expect-pcrs",
                pcrs.toString(),
                "--trust-root",
                root.toString()));
    a.addAll(java.util.List.of(extra));
    return Cli.run(a.toArray(String[]::new));
  }

  @Test
  void keygenWritesAKeyPairOpensslReads() throws Exception {
    Cli.Run r =
        Cli.run("sender", "keygen", "--out-dir", tmp.toString(), "--name", "studio", "--json").ok();
    String fp = Json.mapper().readTree(r.out()).get("fingerprint").asText();
    Process p =
        new ProcessBuilder(
                "openssl", "pkey", "-in", tmp.resolve("studio.key.pem").toString(), "-pubout")
            .redirectErrorStream(true)
            .start();
    String pub = new String(p.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
    assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
    assertThat(pub.strip()).isEqualTo(Files.readString(tmp.resolve("studio.pub.pem")).strip());
    assertThat(fp)
        .isEqualTo(
            dev.keycast.protocol.sender.SenderKeyFiles.readPublic(tmp.resolve("studio.pub.pem"))
                .fingerprint());
    assertThat(
            java.nio.file.attribute.PosixFilePermissions.toString(
                Files.getPosixFilePermissions(tmp.resolve("studio.key.pem"))))
        .isEqualTo("rw-------");
  }

  @Test
  void showPrintsTheAttestedSenderSet() {
    Cli.Run r = Cli.run(pins("sender", "show")).ok();
    assertThat(r.out())
        .contains("version 1")
        .contains(FakeHost.SENDER.publicKey().fingerprint())
        .contains("(attested)");
  }

  @Test
  void aHostThatAddsASenderToTheSetItRelaysIsCaught() {
    host.lieAboutSenders = true;
    Cli.run(pins("sender", "show"))
        .failsWith(
            ExitCodes.VERIFICATION_FAILED,
            "keycast sender show: the host's sender set (version 2) is not the one the enclave attests (version 1)");
  }

  @Test
  void aSendWithAKeyTheAttestedSetDoesNotHoldStopsBeforeAnythingIsSent() throws Exception {
    String fp = recipient("x25519", "tv");
    Cli.run("sender", "keygen", "--out-dir", tmp.toString(), "--name", "stranger").ok();
    send(tmp.resolve("stranger.key.pem"), fp)
        .failsWith(ExitCodes.VERIFICATION_FAILED, "keycast send: your sender key ");
    assertThat(host.sendPayloads).isEmpty();
  }

  @Test
  void anUpdateSignedByASenderInsteadOfAnOwnerIsRefused() throws Exception {
    Cli.run("sender", "keygen", "--out-dir", tmp.toString(), "--name", "distributor").ok();
    Cli.run(
            pins(
                "sender",
                "add",
                "--owner-key",
                FakeHost.senderKeyFile(tmp).toString(),
                "--sender",
                tmp.resolve("distributor.pub.pem").toString()))
        .failsWith(ExitCodes.USAGE, "keycast sender add: --owner-key: ");
    assertThat(host.senders.version()).isEqualTo(1);
  }

  @Test
  void anOwnerAddsThenRemovesASender() throws Exception {
    String fp = recipient("x25519", "tv");
    Path distributor = admitDistributor();
    send(distributor, fp).ok();
    String dfp =
        dev.keycast.protocol.sender.SenderKeyFiles.readPublic(tmp.resolve("distributor.pub.pem"))
            .fingerprint();
    Cli.run(
            pins(
                "sender",
                "remove",
                "--owner-key",
                FakeHost.keyFile(tmp, "owner", FakeHost.OWNER).toString(),
                "--sender",
                dfp))
        .ok();
    assertThat(host.senders.version()).isEqualTo(3);
    send(distributor, fp)
        .failsWith(ExitCodes.VERIFICATION_FAILED, "keycast send: your sender key ");
  }

  @Test
  void anX25519RecipientRejectsADeliveryFromAnUnexpectedSender() throws Exception {
    rejectsAnUnexpectedSender("x25519");
  }

  @Test
  void anRsaRecipientRejectsADeliveryFromAnUnexpectedSender() throws Exception {
    rejectsAnUnexpectedSender("rsa-2048");
  }

  private void rejectsAnUnexpectedSender(String type) throws Exception {
    String fp = recipient(type, "proj");
    Path distributor = admitDistributor();
    send(distributor, fp).ok();
    String studio = FakeHost.SENDER.publicKey().fingerprint();
    Cli.Run refused =
        fetch("proj", "--expect-sender", studio)
            .failsWith(
                ExitCodes.VERIFICATION_FAILED,
                "keycast fetch: 1 of 1 deliveries could not be opened: ");
    assertThat(refused.err()).contains("not from an expected sender (--expect-sender)");
    try (var files = Files.list(tmp.resolve("inbox-proj"))) {
      assertThat(files.filter(f -> f.toString().endsWith(".secret"))).isEmpty();
    }
    // the distributor, named by its PEM public key, is accepted; the file records the sender
    Cli.Run ok =
        fetch(
                "proj",
                "--expect-sender",
                studio,
                "--expect-sender",
                tmp.resolve("distributor.pub.pem").toString(),
                "--json")
            .ok();
    assertThat(Json.mapper().readTree(ok.out()).get("fetched").asInt()).isEqualTo(1);
  }

  @Test
  void fetchNeedsAReceiptCheckOrAnExplicitOptOut() throws Exception {
    recipient("x25519", "tv");
    Cli.run(
            "fetch",
            "--host",
            host.url(),
            "--key",
            tmp.resolve("tv.key.pem").toString(),
            "--out-dir",
            tmp.resolve("in").toString())
        .failsWith(ExitCodes.USAGE, "keycast fetch: pass --bundle FILE");
    Cli.run(
            "fetch",
            "--host",
            host.url(),
            "--key",
            tmp.resolve("tv.key.pem").toString(),
            "--out-dir",
            tmp.resolve("in").toString(),
            "--no-receipt-check",
            "--expect-sender",
            FakeHost.SENDER.publicKey().fingerprint())
        .failsWith(
            ExitCodes.USAGE, "keycast fetch: --expect-sender checks the sender each receipt names");
  }
}
