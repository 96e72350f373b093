package dev.keycast.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.keycast.protocol.Json;
import dev.keycast.protocol.api.ErrorBody;
import dev.keycast.protocol.envelope.CmsDeliveryFormat;
import dev.keycast.protocol.envelope.DeliveryPayload;
import dev.keycast.protocol.envelope.HpkeDeliveryFormat;
import dev.keycast.protocol.envelope.OpenedDelivery;
import dev.keycast.protocol.envelope.RecipientKey;
import dev.keycast.protocol.envelope.RecipientKeys;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code keycast fetch}: CMS and HPKE deliveries made with the protocol's formats. */
class FetchCommandTest {
  @TempDir Path tmp;
  FakeHost host;
  Path out;

  @BeforeEach
  void start() throws Exception {
    host = new FakeHost();
    out = tmp.resolve("inbox");
  }

  @AfterEach
  void stop() {
    host.close();
  }

  RecipientKey keygen(String type, String name) throws Exception {
    Cli.run("recipient", "keygen", "--type", type, "--out-dir", tmp.toString(), "--name", name)
        .ok();
    return RecipientKeys.parse(Files.readAllBytes(tmp.resolve(name + ".pub.pem")));
  }

  /** {@code keycast fetch}; without {@code --bundle} it says {@code --no-receipt-check} explicitly. */
  Cli.Run fetch(String name, String... extra) {
    boolean receipts = java.util.Arrays.asList(extra).contains("--bundle");
    String[] base =
        receipts
            ? new String[] {
              "fetch",
              "--host",
              host.url(),
              "--key",
              tmp.resolve(name + ".key.pem").toString(),
              "--out-dir",
              out.toString()
            }
            : new String[] {
              "fetch",
              "--host",
              host.url(),
              "--key",
              tmp.resolve(name + ".key.pem").toString(),
              "--out-dir",
              out.toString(),
              "--no-receipt-check"
            };
    String[] all = new String[base.length + extra.length];
    System.arraycopy(base, 0, all, 0, base.length);
    System.arraycopy(extra, 0, all, base.length, extra.length);
    return Cli.run(all);
  }

  @Test
  void rsaRecipientGetsCmsGcmAndCbcDeliveries() throws Exception {
    RecipientKey rsa = keygen("rsa-2048", "proj");
    byte[] s1 = "key one".getBytes(StandardCharsets.UTF_8);
    byte[] s2 = new byte[4096];
    new java.security.SecureRandom().nextBytes(s2);
    var d1 = host.deliver(rsa, CmsDeliveryFormat.AES_256_GCM, "send-a", "reel-1", s1);
    var d2 = host.deliver(rsa, CmsDeliveryFormat.AES_256_CBC, "send-b", "reel-2", s2);
    Cli.Run r = fetch("proj").ok();
    assertThat(r.out())
        .contains("deliveries:   2 listed, 2 fetched, 0 already fetched, 0 failed")
        .contains(d1.deliveryId() + "  reel-1 from studio");
    assertThat(Files.readAllBytes(out.resolve(d1.deliveryId() + ".secret"))).isEqualTo(s1);
    assertThat(Files.readAllBytes(out.resolve(d2.deliveryId() + ".secret"))).isEqualTo(s2);
    assertThat(Files.readAllBytes(out.resolve(d1.deliveryId() + ".env"))).isEqualTo(d1.envelope());
    assertThat(
            PosixFilePermissions.toString(
                Files.getPosixFilePermissions(out.resolve(d1.deliveryId() + ".secret"))))
        .isEqualTo("rw-------");
    JsonNode md = Json.mapper().readTree(out.resolve(d2.deliveryId() + ".json").toFile());
    assertThat(md.get("secret_id").asText()).isEqualTo("reel-2");
    assertThat(md.get("sender").asText()).isEqualTo("studio");
    assertThat(md.get("recipient").asText()).isEqualTo(rsa.fingerprint());
    assertThat(md.get("format").asText()).isEqualTo("cms-aes256cbc-v1");
    assertThat(md.get("send_id").asText()).isEqualTo("send-b");
    assertThat(md.get("secret_bytes").asInt()).isEqualTo(4096);
    assertThat(md.has("not_before") && md.has("not_after")).isTrue();

    // fetched deliveries are skipped the next time
    Cli.Run again = fetch("proj", "--json").ok();
    JsonNode j = Json.mapper().readTree(again.out());
    assertThat(j.get("already_fetched").asInt()).isEqualTo(2);
    assertThat(j.get("fetched").asInt()).isZero();
    assertThat(host.requests.stream().filter(q -> q.startsWith("GET /v1/deliveries/")).count())
        .isEqualTo(2);
  }

  @Test
  void opensslDecryptsTheSavedEnvelope() throws Exception {
    assumeTrue(RecipientKeygenCommandTest.openssl(), "openssl not installed");
    RecipientKey rsa = keygen("rsa-2048", "proj");
    byte[] secret = "for openssl".getBytes(StandardCharsets.UTF_8);
    var d = host.deliver(rsa, CmsDeliveryFormat.AES_256_GCM, "send-o", "reel-o", secret);
    fetch("proj").ok();
    Process p =
        new ProcessBuilder(
                "openssl",
                "cms",
                "-decrypt",
                "-inform",
                "DER",
                "-in",
                out.resolve(d.deliveryId() + ".env").toString(),
                "-inkey",
                tmp.resolve("proj.key.pem").toString(),
                "-binary")
            .start();
    byte[] payload = p.getInputStream().readAllBytes();
    String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).as(err).isZero();
    OpenedDelivery opened = DeliveryPayload.decode(payload);
    assertThat(opened.secret()).isEqualTo(secret);
    assertThat(opened.metadata().secretId()).isEqualTo("reel-o");
  }

  @Test
  void x25519RecipientGetsHpkeDeliveriesAcrossPages() throws Exception {
    RecipientKey x = keygen("x25519", "tv");
    RecipientKey other = keygen("x25519", "other");
    host.maxPage = 7;
    int n = 25; // above the progress threshold: stderr must stay silent when it is not a terminal
    byte[][] secrets = new byte[n][];
    String[] ids = new String[n];
    for (int i = 0; i < n; i++) {
      secrets[i] = ("secret " + i).getBytes(StandardCharsets.UTF_8);
      ids[i] =
          host.deliver(x, HpkeDeliveryFormat.INSTANCE, "send-" + i, "s" + i, secrets[i])
              .deliveryId();
    }
    host.deliver(
        other,
        HpkeDeliveryFormat.INSTANCE,
        "send-0",
        "s0",
        "not yours".getBytes(StandardCharsets.UTF_8));
    Cli.Run r = fetch("tv", "--json").ok();
    JsonNode j = Json.mapper().readTree(r.out());
    assertThat(r.err()).isEmpty();
    assertThat(j.get("listed").asInt()).isEqualTo(n);
    assertThat(j.get("fetched").asInt()).isEqualTo(n);
    assertThat(j.get("fingerprint").asText()).isEqualTo(x.fingerprint());
    for (int i = 0; i < n; i++) {
      assertThat(Files.readAllBytes(out.resolve(ids[i] + ".secret"))).isEqualTo(secrets[i]);
    }
    assertThat(host.requests.stream().filter(q -> q.endsWith("/deliveries")).count()).isEqualTo(4);
    try (var files = Files.list(out)) {
      assertThat(files.count()).isEqualTo(3L * n);
    }
  }

  @Test
  void sendThenFetchEndToEnd() throws Exception {
    keygen("x25519", "a");
    Cli.run(
            "recipient",
            "register",
            "--host",
            host.url(),
            "--key",
            tmp.resolve("a.key.pem").toString())
        .ok();
    String fp = RecipientKeys.parse(Files.readAllBytes(tmp.resolve("a.pub.pem"))).fingerprint();
    Path pcrs = Files.writeString(tmp.resolve("m.json"), FakeHost.measurementsJson());
    Path root = Files.writeString(tmp.resolve("root.pem"), host.rootPem());
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
            "c0ffee",
            "--secret-id",
            "e2e",
            "--recipient",
            fp)
        .ok();
    fetch("a").ok();
    try (var files = Files.list(out)) {
      Path secret = files.filter(f -> f.toString().endsWith(".secret")).findFirst().orElseThrow();
      assertThat(Files.readAllBytes(secret))
          .isEqualTo(new byte[] {(byte) 0xc0, (byte) 0xff, (byte) 0xee});
    }
  }

  @Test
  void tamperedEnvelopeFailsWithOneLineAndWritesNoSecret() throws Exception {
    RecipientKey x = keygen("x25519", "tv");
    host.tamperEnvelopes = true;
    var d =
        host.deliver(
            x, HpkeDeliveryFormat.INSTANCE, "send-t", "t", "x".getBytes(StandardCharsets.UTF_8));
    Cli.Run r =
        fetch("tv")
            .failsWith(
                ExitCodes.VERIFICATION_FAILED,
                "keycast fetch: 1 of 1 deliveries could not be opened: "
                    + d.deliveryId()
                    + ": decryption failed");
    assertThat(r.out()).contains("1 failed");
    assertThat(Files.exists(out.resolve(d.deliveryId() + ".secret"))).isFalse();
  }

  @Test
  void formatThatDoesNotFitTheKeyIsRefused() throws Exception {
    RecipientKey x = keygen("x25519", "tv");
    var d =
        host.deliver(
            x, HpkeDeliveryFormat.INSTANCE, "send-f", "f", "x".getBytes(StandardCharsets.UTF_8));
    host.deliveries.put(
        d.deliveryId(),
        new FakeHost.Stored(
            d.deliveryId(), d.sendId(), d.recipient(), "cms-aes256gcm-v1", d.envelope(), d.at()));
    fetch("tv")
        .failsWith(
            ExitCodes.VERIFICATION_FAILED,
            "keycast fetch: 1 of 1 deliveries could not be opened: "
                + d.deliveryId()
                + ": a x25519 key cannot open format cms-aes256gcm-v1");
  }

  @Test
  void errors() throws Exception {
    keygen("x25519", "tv");
    // an unregistered key gets no session
    fetch("tv")
        .failsWith(
            ExitCodes.HOST_ERROR, "keycast fetch: host answered 404 not_found: no recipient ");
    Cli.run(
            "recipient",
            "register",
            "--host",
            host.url(),
            "--key",
            tmp.resolve("tv.key.pem").toString())
        .ok();
    host.errors.put("GET /v1/recipients/", new ErrorBody("store_unavailable", "sqlite is locked"));
    fetch("tv")
        .failsWith(
            ExitCodes.HOST_ERROR,
            "keycast fetch: host answered 503 store_unavailable: sqlite is locked");
    Files.writeString(
        tmp.resolve("pub-as-key.key.pem"), Files.readString(tmp.resolve("tv.pub.pem")));
    fetch("pub-as-key").failsWith(ExitCodes.USAGE, "keycast fetch: --key ");
    fetch("missing").failsWith(ExitCodes.IO, "keycast fetch: --key ");
    Cli.run("fetch", "--host", host.url())
        .failsWith(ExitCodes.USAGE, "keycast fetch: --key is required");
  }

  @Test
  void bundleRequiresAnEnclaveReceiptForEveryDelivery() throws Exception {
    RecipientKey x = keygen("x25519", "a");
    Cli.run(
            "recipient",
            "register",
            "--host",
            host.url(),
            "--key",
            tmp.resolve("a.key.pem").toString())
        .ok();
    Path pcrs = Files.writeString(tmp.resolve("m.json"), FakeHost.measurementsJson());
    Path root = Files.writeString(tmp.resolve("root.pem"), host.rootPem());
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
                "0a0b",
                "--secret-id",
                "real",
                "--recipient",
                x.fingerprint(),
                "--json")
            .ok();
    String sendId = Json.mapper().readTree(s.out()).get("send_id").asText();
    String deliveryId = Json.mapper().readTree(s.out()).at("/delivered/0/delivery_id").asText();

    Cli.Run ok =
        fetch(
                "a",
                "--bundle",
                bundle.toString(),
                "--expect-pcrs",
                pcrs.toString(),
                "--trust-root",
                root.toString())
            .ok();
    assertThat(ok.out()).contains("1 fetched");
    assertThat(
            Json.mapper()
                .readTree(out.resolve(deliveryId + ".json").toFile())
                .get("receipt_id")
                .asText())
        .isEqualTo(sendId);

    // a delivery the host made up itself has no receipt: refused, nothing written
    var forged =
        host.deliver(
            x,
            HpkeDeliveryFormat.INSTANCE,
            "send-forged",
            "fake",
            "evil".getBytes(StandardCharsets.UTF_8));
    fetch(
            "a",
            "--bundle",
            bundle.toString(),
            "--expect-pcrs",
            pcrs.toString(),
            "--trust-root",
            root.toString())
        .failsWith(
            ExitCodes.VERIFICATION_FAILED,
            "keycast fetch: 1 of 2 deliveries could not be opened: "
                + forged.deliveryId()
                + ": no receipt signed by key set "
                + host.keySet.id()
                + " lists this delivery");
    assertThat(Files.exists(out.resolve(forged.deliveryId() + ".secret"))).isFalse();
    // without --bundle the same forgery opens (HPKE does not authenticate the sender): hence the
    // option
    host.deliveries.remove(forged.deliveryId());

    // an envelope swapped under a real receipt is refused too
    Files.delete(out.resolve(deliveryId + ".secret"));
    var real = host.deliveries.get(deliveryId);
    byte[] other =
        HpkeDeliveryFormat.INSTANCE.seal(
            x,
            dev.keycast.protocol.envelope.DeliveryMetadata.of(
                "real",
                "",
                java.time.Instant.ofEpochSecond(0),
                java.time.Instant.ofEpochSecond(4_000_000_000L),
                x.fingerprint()),
            "swapped".getBytes(StandardCharsets.UTF_8),
            new java.security.SecureRandom());
    host.deliveries.put(
        deliveryId,
        new FakeHost.Stored(
            deliveryId, real.sendId(), real.recipient(), real.format(), other, real.at()));
    fetch(
            "a",
            "--bundle",
            bundle.toString(),
            "--expect-pcrs",
            pcrs.toString(),
            "--trust-root",
            root.toString())
        .failsWith(
            ExitCodes.VERIFICATION_FAILED,
            "keycast fetch: 1 of 1 deliveries could not be opened: "
                + deliveryId
                + ": the envelope differs from the one receipt "
                + sendId
                + " lists");
    Cli.Run plain = fetch("a").ok();
    assertThat(plain.out()).contains("1 fetched");
    assertThat(Files.readAllBytes(out.resolve(deliveryId + ".secret")))
        .isEqualTo("swapped".getBytes(StandardCharsets.UTF_8));
    // the bundle is only trusted with its pins
    fetch("a", "--bundle", bundle.toString())
        .failsWith(ExitCodes.USAGE, "keycast fetch: --expect-pcrs is required");
  }

  @Test
  void aDeliveryCoveredByAReceiptUnderAHostWrittenBundleIsRefused() throws Exception {
    // the host made up a key set, delivered a secret of its choice, signed a receipt for it and
    // handed the recipient a bundle naming that key set (no attestation document can back it)
    RecipientKey x = keygen("x25519", "a");
    Cli.run(
            "recipient",
            "register",
            "--host",
            host.url(),
            "--key",
            tmp.resolve("a.key.pem").toString())
        .ok();
    Path pcrs = Files.writeString(tmp.resolve("m.json"), FakeHost.measurementsJson());
    Path root = Files.writeString(tmp.resolve("root.pem"), host.rootPem());
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
    var attacker = dev.keycast.protocol.keyset.KeySet.generate(new java.security.SecureRandom());
    var forged =
        host.deliver(
            x,
            HpkeDeliveryFormat.INSTANCE,
            "send-forged",
            "fake",
            "evil".getBytes(StandardCharsets.UTF_8));
    byte[] receipt =
        new dev.keycast.protocol.receipt.ReceiptBuilder(
                attacker.id(),
                "send-forged",
                dev.keycast.protocol.receipt.Receipt.Kind.SEND,
                new byte[32],
                new byte[32])
            .add(
                new dev.keycast.protocol.receipt.Receipt.Delivery(
                    x.fingerprint(),
                    "hpke-x25519-v1",
                    forged.deliveryId(),
                    java.security.MessageDigest.getInstance("SHA-256").digest(forged.envelope())))
            .sign(java.time.Instant.now(), attacker);
    host.receipts.put(
        "send-forged",
        new dev.keycast.protocol.api.HostApi.ReceiptView(
            "send-forged", "send-forged", dev.keycast.protocol.Base64Url.encode(receipt)));
    var node =
        (com.fasterxml.jackson.databind.node.ObjectNode) Json.mapper().readTree(bundle.toFile());
    node.set(
        "key_bundle",
        Json.mapper()
            .valueToTree(
                new dev.keycast.protocol.api.EnclaveApi.KeyBundle(
                    attacker.id(),
                    dev.keycast.protocol.Base64Url.encode(attacker.receivePublicKey()),
                    dev.keycast.protocol.Base64Url.encode(attacker.signingPublicKey()),
                    FakeHost.KMS_KEY_ID,
                    null)));
    Files.write(bundle, Json.mapper().writeValueAsBytes(node));

    Cli.Run r =
        fetch(
                "a",
                "--bundle",
                bundle.toString(),
                "--expect-pcrs",
                pcrs.toString(),
                "--trust-root",
                root.toString())
            .failsWith(
                ExitCodes.VERIFICATION_FAILED,
                "keycast fetch: --bundle " + bundle + ": the bundle's attestation ");
    assertThat(r.out()).isEmpty();
    assertThat(Files.exists(out.resolve(forged.deliveryId() + ".secret"))).isFalse();
  }
}
