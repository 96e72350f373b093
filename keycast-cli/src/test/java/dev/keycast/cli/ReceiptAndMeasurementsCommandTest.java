package dev.keycast.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.keycast.protocol.Base64Url;
import dev.keycast.protocol.Json;
import dev.keycast.protocol.attestation.TestAttester;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Base64;
import java.util.HexFormat;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code keycast receipt verify|fetch} and {@code keycast measurements show|compare}. */
class ReceiptAndMeasurementsCommandTest {
  @TempDir Path tmp;
  FakeHost host;
  Path pcrs;
  Path root;
  String sendId;
  String fp;

  @BeforeEach
  void start() throws Exception {
    host = new FakeHost();
    pcrs = Files.writeString(tmp.resolve("measurements.json"), FakeHost.measurementsJson());
    root = Files.writeString(tmp.resolve("root.pem"), host.rootPem());
    Cli.Run k =
        Cli.run("recipient", "keygen", "--type", "x25519", "--out-dir", tmp.toString(), "--json")
            .ok();
    fp = Json.mapper().readTree(k.out()).get("fingerprint").asText();
    Cli.run(
            "recipient",
            "register",
            "--host",
            host.url(),
            "--key",
            tmp.resolve("recipient.key.pem").toString())
        .ok();
    Cli.Run s =
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
                "01",
                "--secret-id",
                "r1",
                "--recipient",
                fp,
                "--recipient",
                "ab".repeat(32),
                "--json")
            .ok();
    sendId = Json.mapper().readTree(s.out()).get("send_id").asText();
  }

  /** {@code receipt verify} with the pins and a bundle saved by {@code attest --out-bundle}. */
  Cli.Run verify(Path receipt, Path bundle, String... extra) {
    java.util.List<String> a =
        new java.util.ArrayList<>(
            java.util.List.of(
                "receipt",
                "verify",
                "--receipt",
                receipt.toString(),
                "--bundle",
                bundle.toString(),
                "--expect-pcrs",
                pcrs.toString(),
                "--trust-root",
                root.toString()));
    a.addAll(java.util.List.of(extra));
    return Cli.run(a.toArray(String[]::new));
  }

  Path attestedBundle() throws Exception {
    Path bundle = tmp.resolve("bundle.json");
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
    return bundle;
  }

  @AfterEach
  void stop() {
    host.close();
  }

  @Test
  void fetchAndVerifyWithTheAttestedBundle() throws Exception {
    Path bundle = attestedBundle();
    Path receipt = tmp.resolve("r.cose");
    Cli.run(
            "receipt",
            "fetch",
            "--host",
            host.url(),
            "--sender-key",
            FakeHost.senderKeyFile(tmp).toString(),
            "--id",
            sendId,
            "--out",
            receipt.toString())
        .ok();
    Cli.Run v = verify(receipt, bundle).ok();
    assertThat(v.out())
        .contains("signature verified (Ed25519, key set " + host.keySet.id())
        .contains(
            "bundle:       attestation verified again (measurements and KMS key "
                + FakeHost.KMS_KEY_ID)
        .contains("send:         " + sendId + " (send)")
        .contains("delivered:    1")
        .contains("  " + fp + "  hpke-x25519-v1  ");

    // base64 text works too, and --json gives the entries
    Path b64 =
        Files.writeString(
            tmp.resolve("r.b64"),
            Base64.getMimeEncoder().encodeToString(Files.readAllBytes(receipt)));
    Cli.Run j = verify(b64, bundle, "--json").ok();
    JsonNode n = Json.mapper().readTree(j.out());
    assertThat(n.get("verified").asBoolean()).isTrue();
    assertThat(n.get("send_id").asText()).isEqualTo(sendId);
    assertThat(n.at("/deliveries/0/recipient").asText()).isEqualTo(fp);

    // the whole `attest --json` output is accepted as a bundle file
    Path attestJson = tmp.resolve("attest.json");
    Files.writeString(
        attestJson,
        Cli.run(
                "attest",
                "--host",
                host.url(),
                "--expect-pcrs",
                pcrs.toString(),
                "--trust-root",
                root.toString(),
                "--json")
            .ok()
            .out());
    verify(receipt, attestJson).ok();
  }

  @Test
  void aReceiptForgedUnderAHostWrittenBundleIsRefused() throws Exception {
    // the host made up a key set, signed a receipt of deliveries that never happened with it, and
    // handed out a bundle file naming that key set's signing key (its user_data recomputed)
    Path genuine = attestedBundle();
    var attacker = dev.keycast.protocol.keyset.KeySet.generate(new java.security.SecureRandom());
    byte[] forgedReceipt =
        new dev.keycast.protocol.receipt.ReceiptBuilder(
                attacker.id(),
                sendId,
                dev.keycast.protocol.receipt.Receipt.Kind.SEND,
                new byte[32],
                new byte[32])
            .add(
                new dev.keycast.protocol.receipt.Receipt.Delivery(
                    "cd".repeat(32), "hpke-x25519-v1", "d-forged", new byte[32]))
            .sign(Instant.now(), attacker);
    Path receipt = Files.write(tmp.resolve("forged.cose"), forgedReceipt);
    var node =
        (com.fasterxml.jackson.databind.node.ObjectNode) Json.mapper().readTree(genuine.toFile());
    var kb = (com.fasterxml.jackson.databind.node.ObjectNode) node.get("key_bundle");
    // the forger keeps the genuine KMS key check (locked) so that its user_data is self-consistent
    var check = kb.get("kms_key_check");
    var forgedKeys =
        new dev.keycast.protocol.keyset.KeyBundle(
                attacker.id(),
                attacker.receivePublicKey(),
                attacker.signingPublicKey(),
                FakeHost.KMS_KEY_ID)
            .withKmsKeyCheck(
                new dev.keycast.protocol.keyset.KmsKeyCheck(
                    check.get("locked").asBoolean(),
                    Base64Url.decode("policy_sha256", check.get("policy_sha256").asText(), 32)))
            // and the genuine sender set (bundle version 4)
            .withSenderSet(
                new dev.keycast.protocol.keyset.KeyBundle.SenderSetRef(
                    kb.get("sender_set").get("version").asLong(),
                    Base64Url.decode("sha256", kb.get("sender_set").get("sha256").asText(), 32)))
            // and the genuine KDM signer chain (bundle version 5)
            .withKdmSignerChain(kdmSignerChain(kb));
    kb.put("key_set_id", attacker.id());
    kb.put("receive_public_key", Base64Url.encode(attacker.receivePublicKey()));
    kb.put("signing_public_key", Base64Url.encode(attacker.signingPublicKey()));
    kb.put("user_data", Base64Url.encode(forgedKeys.userData()));

    // with the genuine enclave's document kept: it attests another bundle
    Path withDocument =
        Files.write(
            tmp.resolve("forged-with-document.json"), Json.mapper().writeValueAsBytes(node));
    Cli.Run r =
        verify(receipt, withDocument)
            .failsWith(
                ExitCodes.VERIFICATION_FAILED,
                "keycast receipt verify: --bundle "
                    + withDocument
                    + ": the bundle's attestation PUBLIC_KEY_MISMATCH: ");
    assertThat(r.out()).isEmpty();
    // without a document (a bare bundle, as files were before)
    node.remove("attestation_document");
    Path bare = Files.write(tmp.resolve("forged-bare.json"), Json.mapper().writeValueAsBytes(node));
    verify(receipt, bare)
        .failsWith(
            ExitCodes.VERIFICATION_FAILED,
            "keycast receipt verify: --bundle "
                + bare
                + ": the bundle carries no attestation document");
    // with a document the host minted under its own attestation root
    var attackerAttester =
        new TestAttester(
            Instant.now().minus(java.time.Duration.ofHours(1)), java.time.Duration.ofHours(3));
    node.put(
        "attestation_document",
        Base64Url.encode(
            attackerAttester
                .doc(Instant.now())
                .publicKey(forgedKeys.receivePublicKeySpki())
                .userData(forgedKeys.userData())
                .encode()));
    Path minted =
        Files.write(tmp.resolve("forged-minted.json"), Json.mapper().writeValueAsBytes(node));
    verify(receipt, minted)
        .failsWith(
            ExitCodes.VERIFICATION_FAILED,
            "keycast receipt verify: --bundle "
                + minted
                + ": the bundle's attestation UNTRUSTED_ROOT: ");
  }

  @Test
  void tamperedReceiptAndWrongKeyFail() throws Exception {
    Path receipt = tmp.resolve("r.cose");
    Cli.run(
            "receipt",
            "fetch",
            "--host",
            host.url(),
            "--sender-key",
            FakeHost.senderKeyFile(tmp).toString(),
            "--id",
            sendId,
            "--out",
            receipt.toString())
        .ok();
    byte[] cose = Files.readAllBytes(receipt);
    Path bundle = attestedBundle();
    for (int i : new int[] {12, cose.length / 2, cose.length - 70, cose.length - 1}) {
      byte[] t = cose.clone();
      t[i] ^= 0x01;
      Path f = Files.write(tmp.resolve("t" + i), t);
      Cli.Run r = verify(f, bundle);
      assertThat(r.exit()).as("byte " + i).isEqualTo(ExitCodes.VERIFICATION_FAILED);
      assertThat(r.err().split("\\R")).hasSize(1);
      assertThat(r.err()).startsWith("keycast receipt verify: ");
      assertThat(r.out()).isEmpty();
    }
    Cli.run("receipt", "verify", "--receipt", receipt.toString(), "--expect-pcrs", pcrs.toString())
        .failsWith(ExitCodes.USAGE, "keycast receipt verify: --bundle is required");
    Cli.run("receipt", "verify", "--receipt", receipt.toString(), "--bundle", bundle.toString())
        .failsWith(ExitCodes.USAGE, "keycast receipt verify: --expect-pcrs is required");
    Cli.run(
            "receipt",
            "fetch",
            "--host",
            host.url(),
            "--sender-key",
            FakeHost.senderKeyFile(tmp).toString(),
            "--id",
            "nope",
            "--out",
            tmp.resolve("x").toString())
        .failsWith(ExitCodes.HOST_ERROR, "keycast receipt fetch: host answered 404 not_found: ");
    Cli.run(
            "receipt",
            "fetch",
            "--host",
            host.url(),
            "--sender-key",
            FakeHost.senderKeyFile(tmp).toString(),
            "--id",
            "../admin",
            "--out",
            tmp.resolve("x").toString())
        .failsWith(
            ExitCodes.USAGE, "keycast receipt fetch: --id: \"../admin\" is not a receipt id");
  }

  @Test
  void measurementsShowAndCompare() throws Exception {
    HexFormat hex = HexFormat.of();
    String nitro =
        "{\"Measurements\":{\"HashAlgorithm\":\"Sha384 { ... }\",\"PCR0\":\""
            + hex.formatHex(TestAttester.pcrValue(0x10))
            + "\",\"PCR1\":\""
            + hex.formatHex(TestAttester.pcrValue(0x11))
            + "\",\"PCR2\":\""
            + hex.formatHex(TestAttester.pcrValue(0x12))
            + "\"}}";
    Path m = Files.writeString(tmp.resolve("nitro.json"), nitro);
    Cli.Run show = Cli.run("measurements", "show", "--file", m.toString()).ok();
    assertThat(show.out())
        .contains("allowed set 0:")
        .contains("  PCR0   " + hex.formatHex(TestAttester.pcrValue(0x10)))
        .contains("kms key:      (none: senders must pass --expect-kms-key with this file)");
    assertThat(Cli.run("measurements", "show", "--file", pcrs.toString()).ok().out())
        .contains("kms key:      " + FakeHost.KMS_KEY_ID + " (a deployment file: pins both)");
    JsonNode j =
        Json.mapper()
            .readTree(Cli.run("measurements", "show", "--file", m.toString(), "--json").ok().out());
    assertThat(j.at("/allowed/0/PCR2").asText())
        .isEqualTo(hex.formatHex(TestAttester.pcrValue(0x12)));

    Path doc = Files.write(tmp.resolve("doc.cbor"), host.attester.doc(Instant.now()).encode());
    Cli.Run same =
        Cli.run("measurements", "compare", "--expected", m.toString(), "--document", doc.toString())
            .ok();
    assertThat(same.out()).contains("allowed set 0: MATCH");
    Path other =
        Files.write(
            tmp.resolve("other.b64"),
            Base64.getEncoder()
                .encode(
                    host.attester.doc(Instant.now()).pcr(1, TestAttester.pcrValue(0x77)).encode()));
    Cli.Run diff =
        Cli.run(
                "measurements",
                "compare",
                "--expected",
                m.toString(),
                "--document",
                other.toString())
            .failsWith(
                ExitCodes.VERIFICATION_FAILED,
                "keycast measurements compare: the document's PCRs match none");
    assertThat(diff.out())
        .contains("PCR1   DIFFERS  " + hex.formatHex(TestAttester.pcrValue(0x77)));
    Path bad = Files.writeString(tmp.resolve("bad.json"), "{}", StandardCharsets.UTF_8);
    Cli.run("measurements", "show", "--file", bad.toString())
        .failsWith(ExitCodes.USAGE, "keycast measurements show: --file ");
    Cli.run("measurements", "compare", "--expected", m.toString(), "--document", bad.toString())
        .failsWith(ExitCodes.USAGE, "keycast measurements compare: --document ");
  }

  @Test
  void recipientShow() throws Exception {
    String key = tmp.resolve("recipient.key.pem").toString();
    Cli.Run r =
        Cli.run(
                "recipient",
                "show",
                "--host",
                host.url(),
                "--key",
                key,
                "--fingerprint",
                fp.toUpperCase())
            .ok();
    assertThat(r.out()).contains("fingerprint:      " + fp).contains("kind:             x25519");
    Cli.run(
            "recipient",
            "show",
            "--host",
            host.url(),
            "--key",
            key,
            "--fingerprint",
            "cd".repeat(32))
        .failsWith(
            ExitCodes.USAGE,
            "keycast recipient show: --fingerprint " + "cd".repeat(32) + " is not the --key's");
  }

  @Test
  void registerNeedsThePrivateKeyAndSaysSo() throws Exception {
    Cli.run(
            "recipient",
            "register",
            "--host",
            host.url(),
            "--key",
            tmp.resolve("recipient.pub.pem").toString())
        .failsWith(
            ExitCodes.USAGE,
            "keycast recipient register: --key "
                + tmp.resolve("recipient.pub.pem")
                + ": is a public key or certificate; pass your private key (NAME.key.pem), PKCS#8 PEM");
    // registering again with the private key replaces the registration (new labels)
    Cli.Run again =
        Cli.run(
                "recipient",
                "register",
                "--host",
                host.url(),
                "--key",
                tmp.resolve("recipient.key.pem").toString(),
                "--label",
                "site=lyon")
            .ok();
    assertThat(again.out()).contains("label:            site=lyon");
    assertThat(host.recipients.get(fp).labels())
        .containsExactly(java.util.Map.entry("site", "lyon"));
  }

  @Test
  void verifiesAReceiptOfOneHundredThousandDeliveries() throws Exception {
    var b =
        new dev.keycast.protocol.receipt.ReceiptBuilder(
            host.keySet.id(),
            "big-send",
            dev.keycast.protocol.receipt.Receipt.Kind.SEND,
            new byte[32],
            new byte[32]);
    java.security.MessageDigest sha = java.security.MessageDigest.getInstance("SHA-256");
    java.util.List<dev.keycast.protocol.receipt.Receipt.Delivery> all = new java.util.ArrayList<>();
    for (int i = 0; i < 100_000; i++) {
      String fp =
          HexFormat.of().formatHex(sha.digest(java.nio.ByteBuffer.allocate(4).putInt(i).array()));
      var d =
          new dev.keycast.protocol.receipt.Receipt.Delivery(
              fp, "hpke-x25519-v1", "d" + i, new byte[32]);
      all.add(d);
      b.add(d);
    }
    // past 16,384 entries the enclave signs a version 3 head; the host stores its bundle
    byte[] cose =
        dev.keycast.protocol.receipt.ReceiptBundle.assemble(
            b.sign(Instant.now(), host.keySet), all.size(), all.iterator(), java.util.List.of());
    Path f = Files.write(tmp.resolve("big.cose"), cose);
    long t0 = System.nanoTime();
    Cli.Run r = verify(f, attestedBundle(), "--json").ok();
    long ms = (System.nanoTime() - t0) / 1_000_000;
    System.out.println(
        "receipt verify --json of 100000 deliveries (" + cose.length + " bytes): " + ms + " ms");
    assertThat(Json.mapper().readTree(r.out()).get("deliveries")).hasSize(100_000);
  }

  private static java.util.List<byte[]> kdmSignerChain(
      com.fasterxml.jackson.databind.JsonNode keyBundle)
      throws dev.keycast.protocol.MalformedInputException {
    java.util.List<byte[]> chain = new java.util.ArrayList<>();
    for (com.fasterxml.jackson.databind.JsonNode c : keyBundle.path("kdm_signer_chain")) {
      chain.add(Base64Url.decode("kdm_signer_chain", c.asText(), 4096));
    }
    return chain;
  }
}
