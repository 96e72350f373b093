package dev.keycast.e2e;

import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.keycast.cli.KeycastCli;
import dev.keycast.host.store.S3ArtefactStore;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.awaitility.core.ConditionTimeoutException;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * Several parents on one S3, as processes: s3proxy (its own process, filesystem blob store), a
 * {@link FaultRelay} in front of it, the mock KMS, and per parent an enclave (mock mode) and a host
 * proxy whose store is {@code s3://keycast/parents/} through the relay. One KMS key (policy from
 * {@code scripts/kms-key-policy}) admits the enclave build's PCR0; both enclaves run from one mock
 * identity (one state directory), so both unseal the one sealed key set. The first host creates
 * the key set and the sender set (owner and studio keys); every other host starts after it is
 * ready, finds the sealed key set in the store and unseals it (storage.md 1), then restores the
 * stored sender set.
 */
final class TwoParentStack implements AutoCloseable {
  static final String REGION = "us-east-1";
  static final String ACCOUNT = "111122223333";
  static final String ROLE_ARN = "arn:aws:iam::" + ACCOUNT + ":role/keycast-e2e";
  static final String ACCESS_KEY = "AKIAKEYCASTE2E000002";
  static final String SECRET_KEY = "keycast-e2e-two-parent-secret-not-a-real-key";
  static final String BUCKET = "keycast";
  private static final Duration START = Duration.ofSeconds(180);
  private static final Duration READY = Duration.ofSeconds(240);
  private static final ObjectMapper JSON = new ObjectMapper();

  private final Path repo =
      Path.of(System.getProperty("keycast.repo.root", "..")).toAbsolutePath().normalize();
  private final Path dir;
  private final List<StackProcess> processes = new ArrayList<>();
  private final List<String> hosts = new ArrayList<>();
  private S3ProxyProcess s3;
  private FaultRelay relay;
  private Path enclaveDir;
  private Path kmsCert;
  private int kmsPort;
  private String keyArn;
  private Path bundle;
  private Path deployment;

  private TwoParentStack(Path dir) {
    this.dir = dir;
  }

  /** Starts s3proxy, the relay, the KMS and {@code parents} parents (enclave and host each). */
  static TwoParentStack start(Path dir, int parents) throws Exception {
    TwoParentStack s = new TwoParentStack(dir);
    try {
      s.startShared();
      for (int i = 1; i <= parents; i++) {
        s.startParent(i);
        s.awaitReady(s.hosts.get(i - 1));
      }
      s.attest();
      return s;
    } catch (Exception | Error e) {
      s.close();
      throw e;
    }
  }

  private void startShared() throws Exception {
    s3 =
        S3ProxyProcess.start(
            Files.createDirectories(dir.resolve("s3")),
            ACCESS_KEY,
            SECRET_KEY,
            dir.resolve("s3proxy.log"));
    relay = FaultRelay.start(s3.port());
    try (S3Client admin =
        S3ArtefactStore.client(
            s3.endpoint(),
            Region.US_EAST_1,
            StaticCredentialsProvider.create(AwsBasicCredentials.create(ACCESS_KEY, SECRET_KEY)),
            2)) {
      admin.createBucket(b -> b.bucket(BUCKET));
    }
    enclaveDir = Files.createDirectories(dir.resolve("enclave"));
    Path kmsDir = Files.createDirectories(dir.resolve("kms"));
    StackProcess init =
        start(
            "enclave-init",
            enclaveJar(),
            List.of(
                "--state", enclaveDir.toString(), "--listen", "unix:" + dir.resolve("init.sock")),
            Map.of());
    Path measurements = enclaveDir.resolve("measurements.json");
    Path mockRoot = mockRoot();
    init.awaitCondition(
        "the enclave's mock PKI and measurements.json",
        START,
        () -> Files.isRegularFile(mockRoot) && Files.isRegularFile(measurements));
    init.stop(Duration.ofSeconds(30));
    processes.remove(init);
    String pcr0 = JSON.readTree(measurements.toFile()).path("Measurements").path("PCR0").asText();
    StackProcess kms =
        start(
            "mock-kms",
            repo.resolve("mock-kms/target/keycast-mock-kms.jar"),
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
    if (!m.find()) {
      throw new AssertionError("no port line in the mock KMS's log");
    }
    kmsPort = Integer.parseInt(m.group(1));
    kmsCert = kmsDir.resolve("tls/cert.pem");
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
    keyArn =
        MockKmsKeys.createLocked(
            kmsPort,
            kmsCert,
            REGION,
            ACCESS_KEY,
            SECRET_KEY,
            Files.readString(policy),
            "two-parent");
    ObjectNodeWriter.deployment(measurements, keyArn, dir.resolve("deployment.json"));
    deployment = dir.resolve("deployment.json");
    Path senders = Files.createDirectories(dir.resolve("senders"));
    for (String who : List.of("owner", "studio", "distributor")) {
      cliJson("sender", "keygen", "--out-dir", senders.toString(), "--name", who, "--json");
    }
  }

  private void startParent(int i) throws Exception {
    Path enclaveSock = dir.resolve("e" + i + ".sock");
    Path egressSock = dir.resolve("g" + i + ".sock");
    StackProcess enclave =
        start(
            "enclave-" + i,
            enclaveJar(),
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
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    Path senders = dir.resolve("senders");
    start(
        "host-" + i,
        repo.resolve("host-proxy/target/keycast-host.jar"),
        List.of(
            "--mock",
            "--store",
            "s3://" + BUCKET + "/parents",
            "--s3-endpoint",
            "http://127.0.0.1:" + relay.port(),
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
            "tcp://127.0.0.1:" + port,
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
    hosts.add("http://127.0.0.1:" + port);
  }

  /** {@code keycast attest} through the first host; keeps the verified bundle. */
  private void attest() throws Exception {
    bundle = dir.resolve("bundle.json");
    cliJson(
        "attest",
        "--host",
        hosts.get(0),
        "--expect-pcrs",
        deployment.toString(),
        "--trust-root",
        mockRoot().toString(),
        "--out-bundle",
        bundle.toString(),
        "--json");
  }

  // ---- accessors -----------------------------------------------------------------------------

  String host(int i) {
    return hosts.get(i - 1);
  }

  FaultRelay relay() {
    return relay;
  }

  S3ProxyProcess s3() {
    return s3;
  }

  Path dir() {
    return dir;
  }

  Path bundle() {
    return bundle;
  }

  Path senderKey(String who) {
    return dir.resolve("senders/" + who + ".key.pem");
  }

  Path senderPub(String who) {
    return dir.resolve("senders/" + who + ".pub.pem");
  }

  /** The options every verifying command takes: bundle/pins and the mock root. */
  List<String> pins() {
    return List.of("--expect-pcrs", deployment.toString(), "--trust-root", mockRoot().toString());
  }

  private Path mockRoot() {
    return enclaveDir.resolve("mock-root.pem");
  }

  private Path enclaveJar() {
    return repo.resolve("enclave-mock/target/keycast-enclave-mock.jar");
  }

  // ---- processes -----------------------------------------------------------------------------

  private StackProcess start(String name, Path jar, List<String> args, Map<String, String> env)
      throws IOException {
    StackProcess p = StackProcess.start(name, jar, args, env, dir.resolve(name + ".log"));
    processes.add(p);
    return p;
  }

  /** Polls the host's /v1/ready until 200; fails fast on a failed state or a dead process. */
  JsonNode awaitReady(String host) throws Exception {
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
                  if (!p.isAlive()) {
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
          host + " was not ready within " + READY.toSeconds() + " s; last: " + last + "\n" + logs(),
          e);
    }
    return ready.get();
  }

  /**
   * No secret in any process's log: none of {@code secrets} (hex either case, base64, base64url)
   * and not the AWS secret key the hosts and s3proxy were given.
   */
  void assertNoSecretInLogs(java.util.Collection<byte[]> secrets) throws IOException {
    List<String> needles = new ArrayList<>(List.of(SECRET_KEY));
    for (byte[] secret : secrets) {
      needles.add(java.util.HexFormat.of().formatHex(secret));
      needles.add(java.util.HexFormat.of().withUpperCase().formatHex(secret));
      needles.add(java.util.Base64.getEncoder().withoutPadding().encodeToString(secret));
      needles.add(java.util.Base64.getUrlEncoder().withoutPadding().encodeToString(secret));
    }
    List<Path> logs;
    try (java.util.stream.Stream<Path> files = Files.list(dir)) {
      logs = files.filter(f -> f.getFileName().toString().endsWith(".log")).toList();
    }
    if (logs.size() < 6) {
      throw new AssertionError(
          "expected the logs of s3proxy, the KMS, 2 enclaves, 2 hosts: " + logs);
    }
    for (Path log : logs) {
      String text = Files.readString(log, java.nio.charset.StandardCharsets.ISO_8859_1);
      for (String needle : needles) {
        if (text.contains(needle)) {
          throw new AssertionError(
              log + " contains secret material (" + needle.length() + " chars)");
        }
      }
    }
  }

  /** The last lines of every process's log. */
  String logs() {
    StringBuilder sb = new StringBuilder();
    List<StackProcess> all = new ArrayList<>(processes);
    if (s3 != null) {
      all.add(s3.process());
    }
    for (StackProcess p : all) {
      sb.append("---- ")
          .append(p)
          .append(p.isAlive() ? " (running)" : " (exited)")
          .append(", last lines:\n")
          .append(p.tail(25))
          .append('\n');
    }
    return sb.toString();
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

  @Override
  public void close() {
    if (relay != null) {
      relay.close();
    }
    for (StackProcess p : processes.reversed()) {
      p.close();
    }
    for (StackProcess p : processes) {
      p.kill();
    }
    if (s3 != null) {
      s3.close();
      s3.kill();
    }
  }

  // ---- CLI -----------------------------------------------------------------------------------

  /** One in-process run of the CLI. */
  record CliRun(int exit, String out, String err) {}

  static CliRun run(List<String> args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int exit =
        KeycastCli.newCommandLine(new PrintWriter(out, true), new PrintWriter(err, true))
            .execute(args.toArray(String[]::new));
    return new CliRun(exit, out.toString(), err.toString());
  }

  JsonNode cliJson(String... args) throws IOException {
    return cliJson(List.of(args));
  }

  JsonNode cliJson(List<String> args) throws IOException {
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
    return JSON.readTree(r.out());
  }

  /** Writes the deployment file (measurements plus the KMS key ARN). */
  private static final class ObjectNodeWriter {
    static void deployment(Path measurements, String keyArn, Path out) throws IOException {
      com.fasterxml.jackson.databind.node.ObjectNode n =
          (com.fasterxml.jackson.databind.node.ObjectNode) JSON.readTree(measurements.toFile());
      n.put("kms_key_arn", keyArn);
      Files.write(out, JSON.writeValueAsBytes(n));
    }
  }
}
