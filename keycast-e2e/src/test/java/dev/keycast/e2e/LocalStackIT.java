package dev.keycast.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.keycast.cli.KeycastCli;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.Reader;
import java.io.StringWriter;
import java.math.BigInteger;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.awaitility.core.ConditionTimeoutException;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The whole system as separate processes, as {@code scripts/run-local} runs it: the mock KMS
 * (TLS), the enclave app in mock mode on a unix socket, the host proxy with a SQLite store, each
 * from its shaded jar. A KMS key whose policy ({@code scripts/kms-key-policy}) admits only this
 * enclave build's PCR0 seals the key set. The demo's scenario runs through the real CLI
 * (in-process {@link KeycastCli}); then the enclave and host are restarted and must come back
 * with the same identity and serve an earlier delivery.
 *
 * <p>Generous bounded waits (the CI machine may be a loaded 2-core box), no timing assertions;
 * every failure quotes the tail of each process's log.
 */
class LocalStackIT {
  private static final String REGION = "us-east-1";
  private static final String ACCOUNT = "111122223333";
  private static final String ROLE_ARN = "arn:aws:iam::" + ACCOUNT + ":role/keycast-e2e";
  private static final String ACCESS_KEY = "AKIAKEYCASTE2E000001";
  private static final String SECRET_KEY = "keycast-e2e-mock-secret-not-a-real-key";
  private static final Duration START = Duration.ofSeconds(180);
  private static final Duration READY = Duration.ofSeconds(240);
  private static final ObjectMapper JSON = new ObjectMapper();

  private final Path repo =
      Path.of(System.getProperty("keycast.repo.root", "..")).toAbsolutePath().normalize();
  private final List<StackProcess> processes = new ArrayList<>();
  private final java.util.Set<StackProcess> stopped = new java.util.HashSet<>();
  private final Thread killer = new Thread(this::killAll, "keycast-e2e-kill");
  private Path dir;
  private boolean passed;

  @AfterEach
  void stopEverything() throws Exception {
    try {
      for (StackProcess p : processes.reversed()) {
        p.close();
      }
    } finally {
      killAll();
      try {
        Runtime.getRuntime().removeShutdownHook(killer);
      } catch (IllegalStateException | IllegalArgumentException ignored) {
        // already shutting down, or never added
      }
      if (passed && dir != null) {
        deleteTree(dir);
      } else if (dir != null) {
        System.err.println("keycast-e2e: state and logs kept in " + dir);
      }
    }
  }

  @Test
  void wholeSystemAsProcesses() throws Exception {
    Runtime.getRuntime().addShutdownHook(killer);
    // Unix socket paths are limited to ~108 bytes: keep the state under a short temporary path.
    dir = Files.createTempDirectory("kc-e2e");
    Path enclaveDir = Files.createDirectories(dir.resolve("enclave"));
    Path kmsDir = Files.createDirectories(dir.resolve("kms"));
    Path work = Files.createDirectories(dir.resolve("work"));
    Path enclaveJar = repo.resolve("enclave-mock/target/keycast-enclave-mock.jar"); // dev tier
    Path hostJar = repo.resolve("host-proxy/target/keycast-host.jar");
    Path kmsJar = repo.resolve("mock-kms/target/keycast-mock-kms.jar");

    // 1. The enclave's mock identity (mock PKI, measurements.json): a first, short enclave run.
    StackProcess init =
        start(
            "enclave-init",
            enclaveJar,
            List.of(
                "--state", enclaveDir.toString(), "--listen", "unix:" + dir.resolve("init.sock")),
            Map.of());
    Path measurements = enclaveDir.resolve("measurements.json");
    Path mockRoot = enclaveDir.resolve("mock-root.pem");
    init.awaitCondition(
        "the enclave's mock PKI and measurements.json",
        START,
        // MockAttester writes the PKI first and measurements.json last, atomically.
        () -> Files.isRegularFile(mockRoot) && Files.isRegularFile(measurements));
    init.stop(Duration.ofSeconds(30));
    stopped.add(init);
    String pcr0 = JSON.readTree(measurements.toFile()).path("Measurements").path("PCR0").asText();
    assertThat(pcr0).as("PCR0 in %s", measurements).matches("[0-9a-f]{96}");

    // 2. The mock KMS over TLS, trusting the mock root.
    StackProcess kms =
        start(
            "mock-kms",
            kmsJar,
            List.of(
                "--tls",
                "--listen",
                "tcp://127.0.0.1:0",
                "--state",
                kmsDir.toString(),
                "--region",
                REGION,
                "--account",
                ACCOUNT,
                "--access-key",
                ACCESS_KEY,
                "--secret-key",
                SECRET_KEY,
                "--principal-arn",
                ROLE_ARN,
                "--trust-root",
                mockRoot.toString()),
            Map.of());
    Pattern portLine = Pattern.compile("MOCK KMS listening on \\S+ \\(port (\\d+)\\)");
    kms.awaitCondition(
        "the mock KMS listening", START, () -> portLine.matcher(kms.tail(200)).find());
    Matcher m = portLine.matcher(kms.tail(200));
    assertThat(m.find()).isTrue();
    int kmsPort = Integer.parseInt(m.group(1));
    Path kmsCert = kmsDir.resolve("tls/cert.pem");
    assertThat(kmsCert).as("the mock KMS's TLS certificate").isRegularFile();

    // 3. A KMS key whose policy, from scripts/kms-key-policy, admits only this enclave's PCR0.
    Path policy = dir.resolve("kms-key-policy.json");
    runScript(
        List.of(
            "bash",
            repo.resolve("scripts/kms-key-policy").toString(),
            "--pcr0",
            pcr0,
            "--role-arn",
            ROLE_ARN,
            "--region",
            REGION,
            "--out",
            policy.toString()));
    String keyArn = createKmsKey(kmsPort, kmsCert, Files.readString(policy));
    assertThat(keyArn).startsWith("arn:aws:kms:" + REGION + ":" + ACCOUNT + ":key/");

    // 4. Enclave and host; the host bootstraps the key set through the enclave and the egress pipe.
    int hostPort = freePort();
    String host = "http://127.0.0.1:" + hostPort;
    startEnclaveAndHost(enclaveJar, hostJar, enclaveDir, kmsCert, kmsPort, keyArn, hostPort, "");
    JsonNode ready = awaitReady(host);
    String keySetId = ready.path("key_set_id").asText();
    assertThat(keySetId).as("key set id in %s", ready).startsWith("ks-");

    // 5. The demo's scenario through the CLI.
    Path bundle = work.resolve("bundle.json");
    // The operator publishes one deployment file: the measurements and the KMS key ARN
    // (operations.md 5); every command that sends or accepts a secret pins both from it.
    Path deployment = deploymentFile(measurements, keyArn, work.resolve("deployment.json"));
    JsonNode attest =
        cliJson(
            "attest",
            "--host",
            host,
            "--expect-pcrs",
            deployment.toString(),
            "--trust-root",
            mockRoot.toString(),
            "--out-bundle",
            bundle.toString(),
            "--json");
    assertThat(attest.toString()).contains(keySetId);
    assertThat(attest.path("kms_key_id").asText())
        .as("attested KMS key in %s", attest)
        .isEqualTo(keyArn);
    String otherArn =
        "arn:aws:kms:" + REGION + ":" + ACCOUNT + ":key/00000000-0000-4000-8000-000000000000";
    CliRun wrongKey =
        run(
            "attest",
            "--host",
            host,
            "--expect-pcrs",
            deploymentFile(measurements, otherArn, work.resolve("other-deployment.json"))
                .toString(),
            "--trust-root",
            mockRoot.toString());
    assertThat(wrongKey.exit()).as("attest pinning another KMS key: %s", wrongKey).isEqualTo(1);
    assertThat(wrongKey.err())
        .contains("is protected by KMS key " + keyArn + ", not by the pinned KMS key " + otherArn);
    CliRun noKmsPin =
        run(
            "attest",
            "--host",
            host,
            "--expect-pcrs",
            measurements.toString(),
            "--trust-root",
            mockRoot.toString());
    assertThat(noKmsPin.exit()).as("attest without a KMS key pin: %s", noKmsPin).isEqualTo(2);
    assertThat(noKmsPin.err()).contains("no KMS key pin");

    Map<String, String> fp = new LinkedHashMap<>();
    fp.put("projector-1", keygen(work, "projector-1", "rsa-2048"));
    fp.put("projector-2", keygen(work, "projector-2", "rsa-2048"));
    fp.put("projector-3", keygen(work, "projector-3", "x25519"));
    // projector-2 registers a certificate chain under the studio's CA, but as the lobby, not a
    // projector: the policy's anchor admits only OU=Projectors, so the enclave skips it with a
    // reason.
    Path ca = work.resolve("studio-ca.pem");
    Path chain = work.resolve("projector-2.chain.pem");
    issueCertificate(
        work.resolve("projector-2.pub.pem"), ca, chain, "O=Studio,OU=Lobby,CN=projector-2");
    // registering proves possession of the private key (api.md 2.2): a public key alone is refused
    cli(
        "recipient",
        "register",
        "--host",
        host,
        "--key",
        work.resolve("projector-1.key.pem").toString());
    cli(
        "recipient",
        "register",
        "--host",
        host,
        "--key",
        work.resolve("projector-2.key.pem").toString(),
        "--chain",
        chain.toString());
    cli(
        "recipient",
        "register",
        "--host",
        host,
        "--key",
        work.resolve("projector-3.key.pem").toString());

    byte[] secret = new byte[16];
    new SecureRandom().nextBytes(secret);
    Path secretFile = work.resolve("content-key.bin");
    Files.write(secretFile, secret);
    Path receipt = work.resolve("receipt.cose");
    JsonNode sent =
        cliJson(
            "send",
            "--sender-key",
            dir.resolve("senders/studio.key.pem").toString(),
            "--host",
            host,
            "--expect-pcrs",
            deployment.toString(),
            "--trust-root",
            mockRoot.toString(),
            "--secret-file",
            secretFile.toString(),
            "--secret-id",
            "e2e-1",
            "--sender",
            "keycast e2e",
            "--recipient",
            fp.get("projector-1"),
            "--recipient",
            fp.get("projector-3"),
            "--anchor",
            ca.toString(),
            "--subject",
            "O=Studio,OU=Projectors",
            "--max-recipients",
            "2",
            "--valid-for",
            "1d",
            "--receipt-out",
            receipt.toString(),
            "--json");
    assertThat(sent.path("kms_key_id").asText()).as("KMS key of %s", sent).isEqualTo(keyArn);
    assertThat(recipients(sent.path("delivered")))
        .as("delivered of %s", sent)
        .containsExactlyInAnyOrder(fp.get("projector-1"), fp.get("projector-3"));
    assertThat(sent.path("skipped")).as("skipped of %s", sent).hasSize(1);
    assertThat(sent.path("skipped").get(0).path("recipient").asText())
        .isEqualTo(fp.get("projector-2"));
    assertThat(sent.path("skipped").get(0).path("reason").asText()).isEqualTo("subject_mismatch");

    // Each admitted projector fetches and decrypts; the receipt must list its envelope (--bundle).
    Path out1 = work.resolve("out-1");
    JsonNode f1 =
        cliJson(
            "fetch",
            "--host",
            host,
            "--key",
            work.resolve("projector-1.key.pem").toString(),
            "--out-dir",
            out1.toString(),
            "--bundle",
            bundle.toString(),
            "--expect-pcrs",
            deployment.toString(),
            "--trust-root",
            mockRoot.toString(),
            "--json",
            "--expect-sender",
            dir.resolve("senders/studio.pub.pem").toString());
    assertThat(f1.path("fetched").asInt()).as("%s", f1).isEqualTo(1);
    String rsaDelivery = f1.path("deliveries").get(0).path("delivery_id").asText();
    assertThat(Files.readAllBytes(out1.resolve(rsaDelivery + ".secret"))).isEqualTo(secret);
    JsonNode f3 =
        cliJson(
            "fetch",
            "--host",
            host,
            "--key",
            work.resolve("projector-3.key.pem").toString(),
            "--out-dir",
            work.resolve("out-3").toString(),
            "--bundle",
            bundle.toString(),
            "--expect-pcrs",
            deployment.toString(),
            "--trust-root",
            mockRoot.toString(),
            "--json",
            "--expect-sender",
            dir.resolve("senders/studio.pub.pem").toString());
    assertThat(f3.path("fetched").asInt()).as("%s", f3).isEqualTo(1);
    String x25519Delivery = f3.path("deliveries").get(0).path("delivery_id").asText();
    assertThat(Files.readAllBytes(work.resolve("out-3").resolve(x25519Delivery + ".secret")))
        .isEqualTo(secret);
    JsonNode f2 =
        cliJson(
            "fetch",
            "--host",
            host,
            "--key",
            work.resolve("projector-2.key.pem").toString(),
            "--out-dir",
            work.resolve("out-2").toString(),
            "--json",
            "--bundle",
            bundle.toString(),
            "--expect-pcrs",
            deployment.toString(),
            "--trust-root",
            mockRoot.toString());
    assertThat(f2.path("listed").asInt()).as("projector-2 must have no delivery: %s", f2).isZero();

    // The RSA delivery with stock openssl, when the machine has it.
    opensslDecrypt(
        out1.resolve(rsaDelivery + ".env"),
        work.resolve("projector-1.key.pem"),
        secret,
        fp.get("projector-1"));

    JsonNode verified =
        cliJson(
            "receipt",
            "verify",
            "--receipt",
            receipt.toString(),
            "--bundle",
            bundle.toString(),
            "--expect-pcrs",
            deployment.toString(),
            "--trust-root",
            mockRoot.toString(),
            "--json");
    assertThat(verified.toString())
        .contains(fp.get("projector-1"), fp.get("projector-3"), "subject_mismatch");
    // A receipt with one flipped byte must not verify.
    byte[] cose = Files.readAllBytes(receipt);
    cose[cose.length - 10] ^= 1;
    Path tampered = work.resolve("tampered.cose");
    Files.write(tampered, cose);
    assertThat(
            run(
                    "receipt",
                    "verify",
                    "--receipt",
                    tampered.toString(),
                    "--bundle",
                    bundle.toString(),
                    "--expect-pcrs",
                    deployment.toString(),
                    "--trust-root",
                    mockRoot.toString())
                .exit())
        .as("a tampered receipt")
        .isEqualTo(1);

    // 6. Restart the enclave and the host: same state, so the same key set comes back (unseal).
    for (StackProcess p : processes.reversed()) {
      if (p.name().startsWith("host") || p.name().startsWith("enclave")) {
        p.stop(Duration.ofSeconds(60));
        stopped.add(p);
      }
    }
    int hostPort2 = freePort();
    String host2 = "http://127.0.0.1:" + hostPort2;
    startEnclaveAndHost(enclaveJar, hostJar, enclaveDir, kmsCert, kmsPort, keyArn, hostPort2, "-2");
    JsonNode ready2 = awaitReady(host2);
    assertThat(ready2.path("key_set_id").asText())
        .as("key set after the restart: %s", ready2)
        .isEqualTo(keySetId);
    JsonNode attest2 =
        cliJson(
            "attest",
            "--host",
            host2,
            "--expect-pcrs",
            deployment.toString(),
            "--trust-root",
            mockRoot.toString(),
            "--json");
    assertThat(attest2.toString()).contains(keySetId);
    JsonNode again =
        cliJson(
            "fetch",
            "--host",
            host2,
            "--key",
            work.resolve("projector-1.key.pem").toString(),
            "--out-dir",
            work.resolve("out-1-after-restart").toString(),
            "--bundle",
            bundle.toString(),
            "--expect-pcrs",
            deployment.toString(),
            "--trust-root",
            mockRoot.toString(),
            "--json");
    assertThat(again.path("fetched").asInt()).as("%s", again).isEqualTo(1);
    assertThat(
            Files.readAllBytes(
                work.resolve("out-1-after-restart").resolve(rsaDelivery + ".secret")))
        .isEqualTo(secret);

    // 7. No secret in any log: the content key (hex, base64, base64url), the host's AWS secret key
    //    and the projectors' private keys appear in none of the processes' or commands' logs.
    assertNoSecretInLogs(
        secret, List.of(work.resolve("projector-1.key.pem"), work.resolve("projector-3.key.pem")));
    passed = true;
  }

  private void assertNoSecretInLogs(byte[] secret, List<Path> privateKeyFiles) throws IOException {
    List<String> needles =
        new java.util.ArrayList<>(
            List.of(
                java.util.HexFormat.of().formatHex(secret),
                java.util.HexFormat.of().withUpperCase().formatHex(secret),
                java.util.Base64.getEncoder().withoutPadding().encodeToString(secret),
                java.util.Base64.getUrlEncoder().withoutPadding().encodeToString(secret),
                SECRET_KEY));
    for (Path key : privateKeyFiles) {
      if (Files.exists(key)) {
        // each full base64 line of the PEM body is 64 characters of private key material
        Files.readAllLines(key).stream()
            .filter(l -> l.length() == 64 && !l.startsWith("-----"))
            .limit(3)
            .forEach(needles::add);
      }
    }
    List<Path> logs;
    try (Stream<Path> walk = Files.walk(dir)) {
      logs =
          walk.filter(f -> f.getFileName().toString().endsWith(".log") && Files.isRegularFile(f))
              .toList();
    }
    assertThat(logs).as("logs under %s", dir).isNotEmpty();
    for (Path log : logs) {
      String text = Files.readString(log, java.nio.charset.StandardCharsets.ISO_8859_1);
      for (String needle : needles) {
        assertThat(text.contains(needle))
            .as("%s contains secret material (%d chars)", log, needle.length())
            .isFalse();
      }
    }
  }

  // ---- processes --------------------------------------------------------------------------------

  private StackProcess start(String name, Path jar, List<String> args, Map<String, String> env)
      throws IOException {
    StackProcess p = StackProcess.start(name, jar, args, env, dir.resolve(name + ".log"));
    processes.add(p);
    return p;
  }

  private void startEnclaveAndHost(
      Path enclaveJar,
      Path hostJar,
      Path enclaveDir,
      Path kmsCert,
      int kmsPort,
      String keyArn,
      int hostPort,
      String suffix)
      throws Exception {
    Path enclaveSock = dir.resolve("enclave.sock");
    Path egressSock = dir.resolve("egress.sock");
    Files.deleteIfExists(enclaveSock);
    Files.deleteIfExists(egressSock);
    StackProcess enclave =
        start(
            "enclave" + suffix,
            enclaveJar,
            List.of(
                "--state",
                enclaveDir.toString(),
                "--listen",
                "unix:" + enclaveSock,
                "--kms-egress",
                "unix:" + egressSock,
                "--kms-tls-cert",
                kmsCert.toString(),
                "--kms-key-arn",
                keyArn,
                "--workers",
                "2"),
            Map.of());
    enclave.awaitCondition(
        "the enclave listening on " + enclaveSock, START, () -> Files.exists(enclaveSock));
    // issue 23: an owner and a studio sender; the host establishes the set after init and keeps
    // the enclave's seal across the restart
    Path senders = Files.createDirectories(dir.resolve("senders"));
    for (String who : List.of("owner", "studio")) {
      if (!Files.exists(senders.resolve(who + ".key.pem"))) {
        cliJson("sender", "keygen", "--out-dir", senders.toString(), "--name", who, "--json");
      }
    }
    start(
        "host" + suffix,
        hostJar,
        List.of(
            "--mock",
            "--store",
            "sqlite:" + dir.resolve("keycast.db"),
            "--enclave",
            "unix:" + enclaveSock,
            "--kms-egress-listen",
            "unix:" + egressSock,
            "--kms-target",
            "127.0.0.1:" + kmsPort,
            "--region",
            REGION,
            "--credentials",
            "static",
            "--enclave-log-listen",
            "none",
            "--admin",
            "none",
            "--listen",
            "tcp://127.0.0.1:" + hostPort,
            "--sender-state",
            dir.resolve("sender-set.bin").toString(),
            "--sender-owner-key",
            senders.resolve("owner.pub.pem").toString(),
            "--sender-key",
            senders.resolve("studio.pub.pem").toString(),
            "--init-kms-key-id",
            keyArn,
            "--shutdown-grace",
            "5"),
        Map.of(
            "AWS_ACCESS_KEY_ID",
            ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY",
            SECRET_KEY,
            "AWS_REGION",
            REGION));
  }

  /** Polls the host's /v1/ready until 200; fails fast on a failed state or a dead process. */
  private JsonNode awaitReady(String host) throws Exception {
    HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
    AtomicReference<String> last = new AtomicReference<>("no answer yet");
    AtomicReference<JsonNode> ready = new AtomicReference<>();
    try {
      await()
          .atMost(READY)
          .pollDelay(Duration.ZERO)
          .pollInterval(Duration.ofMillis(300))
          .until(
              () -> {
                for (StackProcess p : processes) {
                  if (!p.isAlive() && !stopped.contains(p)) {
                    throw new AssertionError(p + " exited while waiting for readiness\n" + logs());
                  }
                }
                try {
                  HttpResponse<String> r =
                      http.send(
                          HttpRequest.newBuilder(URI.create(host + "/v1/ready"))
                              .timeout(Duration.ofSeconds(20))
                              .build(),
                          HttpResponse.BodyHandlers.ofString());
                  last.set(r.statusCode() + " " + r.body());
                  if (r.statusCode() == 200) {
                    ready.set(JSON.readTree(r.body()));
                    return true;
                  }
                  if (r.body().contains("\"state\":\"failed\"")) {
                    throw new AssertionError(
                        "the host reports a failed key set: " + last.get() + "\n" + logs());
                  }
                } catch (IOException e) {
                  last.set(e.toString());
                }
                return false;
              });
    } catch (ConditionTimeoutException e) {
      throw new AssertionError(
          "the host at "
              + host
              + " was not ready within "
              + READY.toSeconds()
              + " s; last answer: "
              + last.get()
              + "\n"
              + logs(),
          e);
    }
    return ready.get();
  }

  private String logs() {
    StringBuilder sb = new StringBuilder();
    for (StackProcess p : processes) {
      sb.append("---- ")
          .append(p)
          .append(p.isAlive() ? " (running)" : " (exited)")
          .append(", last lines:\n")
          .append(p.tail(25))
          .append('\n');
    }
    return sb.toString();
  }

  private void killAll() {
    for (StackProcess p : processes) {
      p.kill();
    }
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  /** The deployment file an operator publishes: the enclave's measurements plus the KMS key ARN. */
  private static Path deploymentFile(Path measurements, String keyArn, Path out) throws Exception {
    com.fasterxml.jackson.databind.node.ObjectNode n =
        (com.fasterxml.jackson.databind.node.ObjectNode) JSON.readTree(measurements.toFile());
    n.put("kms_key_arn", keyArn);
    return Files.write(out, JSON.writeValueAsBytes(n));
  }

  // ---- KMS, certificates, openssl ------------------------------------------------------------

  private String createKmsKey(int port, Path caCert, String policy) throws Exception {
    return MockKmsKeys.createLocked(
        port, caCert, REGION, ACCESS_KEY, SECRET_KEY, policy, "keycast e2e");
  }

  /** A CA (written to caOut) and a certificate for the public key in pubPem with the subject. */
  private static void issueCertificate(Path pubPem, Path caOut, Path chainOut, String subject)
      throws Exception {
    PublicKey leafKey;
    try (Reader r = Files.newBufferedReader(pubPem);
        PEMParser p = new PEMParser(r)) {
      leafKey = new JcaPEMKeyConverter().getPublicKey((SubjectPublicKeyInfo) p.readObject());
    }
    KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
    g.initialize(new ECGenParameterSpec("secp256r1"));
    KeyPair caKeys = g.generateKeyPair();
    Instant now = Instant.now();
    X500Name caName = new X500Name("O=Studio,CN=Studio Projector CA");
    X509v3CertificateBuilder caBuilder =
        new JcaX509v3CertificateBuilder(
                caName,
                BigInteger.ONE,
                java.util.Date.from(now.minusSeconds(3600)),
                java.util.Date.from(now.plus(Duration.ofDays(30))),
                caName,
                caKeys.getPublic())
            .addExtension(Extension.basicConstraints, true, new BasicConstraints(true))
            .addExtension(
                Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
    var signer = new JcaContentSignerBuilder("SHA256withECDSA").build(caKeys.getPrivate());
    X509Certificate caCert =
        new JcaX509CertificateConverter().getCertificate(caBuilder.build(signer));
    X509v3CertificateBuilder leafBuilder =
        new JcaX509v3CertificateBuilder(
                caName,
                BigInteger.TWO,
                java.util.Date.from(now.minusSeconds(3600)),
                java.util.Date.from(now.plus(Duration.ofDays(30))),
                new X500Name(subject),
                leafKey)
            .addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
    X509Certificate leaf =
        new JcaX509CertificateConverter().getCertificate(leafBuilder.build(signer));
    writePem(caOut, caCert);
    writePem(chainOut, leaf);
  }

  private static void writePem(Path file, Object o) throws IOException {
    StringWriter s = new StringWriter();
    try (JcaPEMWriter w = new JcaPEMWriter(s)) {
      w.writeObject(o);
    }
    Files.writeString(file, s.toString());
  }

  /** Decrypts an RSA delivery with the real openssl binary when present (skipped otherwise). */
  private void opensslDecrypt(Path envelope, Path key, byte[] secret, String fingerprint)
      throws Exception {
    if (!onPath("openssl")) {
      System.err.println("keycast-e2e: openssl not found; the openssl cms check is skipped");
      return;
    }
    Path out = dir.resolve("work/openssl.bin");
    runScript(
        List.of(
            "openssl",
            "cms",
            "-decrypt",
            "-binary",
            "-inform",
            "DER",
            "-in",
            envelope.toString(),
            "-inkey",
            key.toString(),
            "-out",
            out.toString()));
    byte[] plain = Files.readAllBytes(out);
    // The CMS content is Keycast's delivery payload: metadata (naming the recipient), then
    // u32 length and the secret.
    assertThat(Arrays.copyOfRange(plain, plain.length - secret.length, plain.length))
        .isEqualTo(secret);
    assertThat(
            Arrays.copyOfRange(
                plain, plain.length - secret.length - 4, plain.length - secret.length))
        .isEqualTo(new byte[] {0, 0, 0, (byte) secret.length});
    assertThat(HexFormat.of().formatHex(plain)).contains(fingerprint);
  }

  private static boolean onPath(String binary) {
    String path = System.getenv().getOrDefault("PATH", "");
    return Stream.of(path.split(java.io.File.pathSeparator))
        .anyMatch(d -> !d.isEmpty() && Files.isExecutable(Path.of(d, binary)));
  }

  private void runScript(List<String> cmd) throws Exception {
    Path log = dir.resolve("commands.log");
    Process p =
        new ProcessBuilder(cmd)
            .redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
            .start();
    if (!p.waitFor(120, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new AssertionError(String.join(" ", cmd) + " did not finish within 120 s");
    }
    if (p.exitValue() != 0) {
      throw new AssertionError(
          String.join(" ", cmd) + " exited " + p.exitValue() + ":\n" + Files.readString(log));
    }
  }

  // ---- CLI ----------------------------------------------------------------------------------

  private record CliRun(int exit, String out, String err) {}

  private static CliRun run(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int exit =
        KeycastCli.newCommandLine(new PrintWriter(out, true), new PrintWriter(err, true))
            .execute(args);
    return new CliRun(exit, out.toString(), err.toString());
  }

  private String cli(String... args) {
    CliRun r = run(args);
    if (r.exit() != 0) {
      throw new AssertionError(
          "keycast "
              + String.join(" ", args)
              + " exited "
              + r.exit()
              + "\nstdout: "
              + r.out()
              + "\nstderr: "
              + r.err()
              + "\n"
              + logs());
    }
    return r.out();
  }

  private JsonNode cliJson(String... args) throws IOException {
    return JSON.readTree(cli(args));
  }

  private String keygen(Path work, String name, String type) throws IOException {
    String fingerprint =
        cliJson(
                "recipient",
                "keygen",
                "--type",
                type,
                "--out-dir",
                work.toString(),
                "--name",
                name,
                "--json")
            .path("fingerprint")
            .asText();
    assertThat(fingerprint).matches("[0-9a-f]{64}");
    return fingerprint;
  }

  private static List<String> recipients(JsonNode array) {
    List<String> out = new ArrayList<>();
    array.forEach(n -> out.add(n.path("recipient").asText()));
    return out;
  }

  private static void deleteTree(Path root) throws IOException {
    try (Stream<Path> s = Files.walk(root)) {
      s.sorted(Comparator.reverseOrder())
          .forEach(
              p -> {
                try {
                  Files.deleteIfExists(p);
                } catch (IOException ignored) {
                  // best effort: a temporary directory
                }
              });
    }
  }
}
