package dev.keycast.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.model.Bind;
import com.github.dockerjava.api.model.HostConfig;
import dev.keycast.cli.KeycastCli;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.awaitility.core.ConditionTimeoutException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.containers.GenericContainer;
import org.testcontainers.containers.output.OutputFrame;
import org.testcontainers.containers.wait.strategy.Wait;
import org.testcontainers.images.builder.ImageFromDockerfile;

/**
 * Both targets of {@code Dockerfile.enclave}, built and run on a real Docker engine.
 *
 * <ul>
 *   <li>{@code mock}: the containerised enclave in mock mode serves {@code /v1/health}; the mock
 *       KMS and the host proxy run as processes from their jars (as {@code scripts/run-local}),
 *       the host reaches the enclave on the container's published port and the enclave reaches
 *       KMS through the host's egress pipe on the Docker bridge. Through the real CLI: the
 *       attestation verifies against the container's mock root, measurements and KMS key; a send
 *       goes through the host proxy to the container; the recipient decrypts its delivery.
 *   <li>{@code enclave} (production), under plain Docker: exits non-zero with exactly one line
 *       naming /dev/nsm, no stack trace.
 * </ul>
 *
 * <p>Base images: {@code KEYCAST_BUILD_IMAGE} / {@code KEYCAST_RUNTIME_IMAGE} when set (locally
 * built ones, {@code scripts/docker-base-images}), otherwise the Dockerfile's pinned digests. The
 * built images are kept (tags {@code keycast-enclave-mock:it}, {@code keycast-enclave:it}) so that
 * later builds reuse their layers; every container this test starts is removed at the end. Ryuk is
 * disabled in the pom (its image cannot be pulled without a registry). Skipped, with the reason,
 * where no Docker engine is reachable.
 */
class EnclaveMockImageIT {
  private static final String REGION = "us-east-1";
  private static final String ACCOUNT = "111122223333";
  private static final String ROLE_ARN = "arn:aws:iam::" + ACCOUNT + ":role/keycast-docker-it";
  private static final String ACCESS_KEY = "AKIAKEYCASTDOCKERIT1";
  private static final String SECRET_KEY = "keycast-docker-it-mock-secret-not-a-real-key";
  private static final int PORT = 5000;
  private static final Duration START = Duration.ofSeconds(180);
  private static final ObjectMapper JSON = new ObjectMapper();

  private final Path repo =
      Path.of(System.getProperty("keycast.repo.root", "..")).toAbsolutePath().normalize();
  private final List<StackProcess> processes = new ArrayList<>();
  private final List<GenericContainer<?>> containers = new ArrayList<>();
  private final List<String> rawContainers = new ArrayList<>();
  private Path dir;
  private boolean passed;

  @AfterEach
  void cleanUp() throws Exception {
    for (StackProcess p : processes.reversed()) {
      p.close();
    }
    for (GenericContainer<?> c : containers.reversed()) {
      c.stop(); // stops and removes the container (and its volumes)
    }
    for (String id : rawContainers) {
      try {
        DockerClientFactory.lazyClient()
            .removeContainerCmd(id)
            .withForce(true)
            .withRemoveVolumes(true)
            .exec();
      } catch (RuntimeException e) {
        System.err.println(
            "keycast-docker-it: could not remove container " + id + ": " + e.getMessage());
      }
    }
    if (dir != null) {
      if (passed) {
        try (var walk = Files.walk(dir)) {
          walk.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
        }
      } else {
        System.err.println("keycast-docker-it: state and logs kept in " + dir);
      }
    }
  }

  @Test
  void mockImageServesARealFlowAndProductionImageRefusesPlainDocker() throws Exception {
    assumeTrue(
        DockerClientFactory.instance().isDockerAvailable(),
        "no Docker engine reachable (Testcontainers found none): Dockerfile.enclave's images cannot be"
            + " built here; scripts/docker-engine start runs one");
    DockerClient docker = DockerClientFactory.instance().client();
    dir = Files.createTempDirectory("kc-docker-it");
    Path enclaveDir = Files.createDirectories(dir.resolve("enclave"));
    Path kmsDir = Files.createDirectories(dir.resolve("kms"));
    Path work = Files.createDirectories(dir.resolve("work"));
    // The container runs as this user, so the state it writes into the bind mount is ours.
    String user = Files.getAttribute(dir, "unix:uid") + ":" + Files.getAttribute(dir, "unix:gid");

    String mockImage = build("mock", "keycast-enclave-mock:it");
    String enclaveImage = build("enclave", "keycast-enclave:it");

    // 1. The mock enclave's first start creates its mock PKI and measurements.json in /state.
    GenericContainer<?> init = enclave(mockImage, user, enclaveDir, List.of());
    init.start();
    // The host side of Docker's bridge as the container sees it: where the host proxy's KMS
    // egress listens, so that the containerised enclave reaches it.
    String gateway = init.getContainerInfo().getNetworkSettings().getGateway();
    assertThat(gateway)
        .as("gateway of the mock container's network")
        .matches("\\d+\\.\\d+\\.\\d+\\.\\d+");
    assertThat(get(init, "/v1/health").statusCode())
        .as("GET /v1/health of the mock container")
        .isEqualTo(200);
    Path measurements = enclaveDir.resolve("measurements.json");
    Path mockRoot = enclaveDir.resolve("mock-root.pem");
    awaitFile(measurements);
    awaitFile(mockRoot);
    init.stop();
    String pcr0 = JSON.readTree(measurements.toFile()).path("Measurements").path("PCR0").asText();
    assertThat(pcr0).as("PCR0 in %s", measurements).matches("[0-9a-f]{96}");

    // 2. The mock KMS (TLS, trusting the container's mock root) and a key for this PCR0 only.
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
    assertThat(m.find()).isTrue();
    int kmsPort = Integer.parseInt(m.group(1));
    Path kmsCert = kmsDir.resolve("tls/cert.pem");
    Files.copy(kmsCert, enclaveDir.resolve("kms-cert.pem"));
    Path policy = dir.resolve("kms-key-policy.json");
    run(
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

    // 3. The enclave container again (same state), its KMS egress through the host on the bridge.
    int egressPort = freePort(gateway);
    GenericContainer<?> enclave =
        enclave(
            mockImage,
            user,
            enclaveDir,
            List.of(
                "--kms-egress",
                "tcp://" + gateway + ":" + egressPort,
                "--kms-tls-cert",
                "/state/kms-cert.pem",
                "--kms-key-arn",
                keyArn,
                "--workers",
                "2"));
    long t0 = System.nanoTime();
    enclave.start();
    System.err.printf(
        "keycast-docker-it: mock enclave container start to /v1/health 200: %d ms%n",
        (System.nanoTime() - t0) / 1_000_000);

    // 4. The host proxy, a process, reaching the containerised enclave on its published port.
    int hostPort = freePort("127.0.0.1");
    String host = "http://127.0.0.1:" + hostPort;
    // issue 23: an owner and a studio sender, established by the host right after init
    Path senders = Files.createDirectories(dir.resolve("senders"));
    for (String who : List.of("owner", "studio")) {
      cliJson("sender", "keygen", "--out-dir", senders.toString(), "--name", who, "--json");
    }
    start(
        "host",
        repo.resolve("host-proxy/target/keycast-host.jar"),
        List.of(
            "--mock",
            "--sender-state",
            dir.resolve("sender-set.bin").toString(),
            "--sender-owner-key",
            senders.resolve("owner.pub.pem").toString(),
            "--sender-key",
            senders.resolve("studio.pub.pem").toString(),
            "--store",
            "sqlite:" + dir.resolve("keycast.db"),
            "--enclave",
            "tcp://" + enclave.getHost() + ":" + enclave.getMappedPort(PORT),
            "--kms-egress-listen",
            "tcp://" + gateway + ":" + egressPort,
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
    String keySetId = awaitReady(host).path("key_set_id").asText();
    assertThat(keySetId).startsWith("ks-");

    // 5. Attest, send, fetch and decrypt through the real CLI.
    Path bundle = work.resolve("bundle.json");
    JsonNode attest =
        cliJson(
            "attest",
            "--host",
            host,
            "--expect-pcrs",
            measurements.toString(),
            "--expect-kms-key",
            keyArn,
            "--trust-root",
            mockRoot.toString(),
            "--out-bundle",
            bundle.toString(),
            "--json");
    assertThat(attest.toString()).contains(keySetId);
    assertThat(attest.path("kms_key_id").asText()).isEqualTo(keyArn);
    String fingerprint =
        cliJson(
                "recipient",
                "keygen",
                "--type",
                "rsa-2048",
                "--out-dir",
                work.toString(),
                "--name",
                "projector-1",
                "--json")
            .path("fingerprint")
            .asText();
    cli(
        "recipient",
        "register",
        "--host",
        host,
        "--key",
        work.resolve("projector-1.key.pem").toString());
    byte[] secret = new byte[16];
    new SecureRandom().nextBytes(secret);
    Path secretFile = work.resolve("content-key.bin");
    Files.write(secretFile, secret);
    JsonNode sent =
        cliJson(
            "send",
            "--sender-key",
            senders.resolve("studio.key.pem").toString(),
            "--host",
            host,
            "--expect-pcrs",
            measurements.toString(),
            "--expect-kms-key",
            keyArn,
            "--trust-root",
            mockRoot.toString(),
            "--secret-file",
            secretFile.toString(),
            "--secret-id",
            "docker-1",
            "--recipient",
            fingerprint,
            "--json");
    assertThat(sent.path("delivered")).as("delivered of %s", sent).hasSize(1);
    Path out = work.resolve("out");
    JsonNode fetched =
        cliJson(
            "fetch",
            "--host",
            host,
            "--key",
            work.resolve("projector-1.key.pem").toString(),
            "--out-dir",
            out.toString(),
            "--bundle",
            bundle.toString(),
            "--expect-pcrs",
            measurements.toString(),
            "--expect-kms-key",
            keyArn,
            "--trust-root",
            mockRoot.toString(),
            "--json",
            "--expect-sender",
            senders.resolve("studio.pub.pem").toString());
    assertThat(fetched.path("fetched").asInt()).as("%s", fetched).isEqualTo(1);
    String delivery = fetched.path("deliveries").get(0).path("delivery_id").asText();
    assertThat(Files.readAllBytes(out.resolve(delivery + ".secret"))).isEqualTo(secret);
    // A pinned root other than the container's must refuse the attestation.
    CliRun wrongRoot =
        runCli(
            "attest",
            "--host",
            host,
            "--expect-pcrs",
            measurements.toString(),
            "--expect-kms-key",
            keyArn,
            "--trust-root",
            kmsCert.toString());
    assertThat(wrongRoot.exit()).as("attest against another root: %s", wrongRoot).isNotZero();

    // 6. The production target under plain Docker: one line, non-zero, no stack trace.
    String id = docker.createContainerCmd(enclaveImage).exec().getId();
    rawContainers.add(id);
    docker.startContainerCmd(id).exec();
    int exit = docker.waitContainerCmd(id).start().awaitStatusCode(120, TimeUnit.SECONDS);
    String output = org.testcontainers.utility.LogUtils.getOutput(docker, id).strip();
    assertThat(exit)
        .as("exit status of the enclave image under plain Docker; output: %s", output)
        .isNotZero();
    assertThat(output.lines().toList())
        .as("output of the enclave image under plain Docker")
        .hasSize(1);
    assertThat(output)
        .contains("/dev/nsm", "not inside a Nitro Enclave")
        .doesNotContain("Exception", "\tat ");
    assertThat(docker.inspectImageCmd(enclaveImage).exec().getConfig().getEntrypoint())
        .contains("vsock://ANY:5000", "/opt/keycast/keycast-enclave.jar")
        .doesNotContain("/opt/keycast/keycast-enclave-mock.jar");
    assertThat(docker.inspectImageCmd(mockImage).exec().getConfig().getEntrypoint())
        .contains("/opt/keycast/keycast-enclave-mock.jar", "tcp://0.0.0.0:5000")
        .doesNotContain("vsock://ANY:5000");
    passed = true;
  }

  // ---- Docker -----------------------------------------------------------------------------------

  /** Builds a target of Dockerfile.enclave (classic builder, as nitro-cli's docker build). */
  private String build(String target, String tag) {
    // withDockerfile: the build context is the Dockerfile's directory, filtered by .dockerignore.
    ImageFromDockerfile image =
        new ImageFromDockerfile(tag, false)
            .withDockerfile(repo.resolve("Dockerfile.enclave"))
            .withTarget(target);
    String buildImage = System.getenv("KEYCAST_BUILD_IMAGE");
    String runtimeImage = System.getenv("KEYCAST_RUNTIME_IMAGE");
    if (buildImage != null && !buildImage.isBlank()) {
      image.withBuildArg("BUILD_IMAGE", buildImage);
    }
    if (runtimeImage != null && !runtimeImage.isBlank()) {
      image.withBuildArg("RUNTIME_IMAGE", runtimeImage);
    }
    long t0 = System.nanoTime();
    String name = image.get();
    System.err.printf(
        "keycast-docker-it: built target %s as %s in %d s (base images %s, %s)%n",
        target,
        name,
        (System.nanoTime() - t0) / 1_000_000_000,
        buildImage == null ? "pinned" : buildImage,
        runtimeImage == null ? "pinned" : runtimeImage);
    return name;
  }

  private GenericContainer<?> enclave(String image, String user, Path state, List<String> args) {
    GenericContainer<?> c =
        new GenericContainer<>(image)
            .withExposedPorts(PORT)
            .withCreateContainerCmdModifier(
                cmd ->
                    cmd.withUser(user)
                        .withHostConfig(
                            (cmd.getHostConfig() == null
                                    ? HostConfig.newHostConfig()
                                    : cmd.getHostConfig())
                                .withBinds(Bind.parse(state + ":/state:rw"))))
            .withLogConsumer(
                (OutputFrame f) -> appendLog("enclave-container.log", f.getUtf8String()))
            .waitingFor(
                Wait.forHttp("/v1/health")
                    .forPort(PORT)
                    .forStatusCode(200)
                    .withStartupTimeout(START));
    if (!args.isEmpty()) {
      c.withCommand(args.toArray(String[]::new)); // appended to the image's ENTRYPOINT
    }
    containers.add(c);
    return c;
  }

  private void appendLog(String name, String text) {
    try {
      Files.writeString(
          dir.resolve(name),
          text,
          java.nio.file.StandardOpenOption.CREATE,
          java.nio.file.StandardOpenOption.APPEND);
    } catch (IOException e) {
      // a log line lost: the assertions still report what failed
    }
  }

  private HttpResponse<String> get(GenericContainer<?> c, String path) throws Exception {
    try (HttpClient http = HttpClient.newHttpClient()) {
      return http.send(
          HttpRequest.newBuilder(
                  URI.create("http://" + c.getHost() + ":" + c.getMappedPort(PORT) + path))
              .timeout(Duration.ofSeconds(20))
              .build(),
          HttpResponse.BodyHandlers.ofString());
    }
  }

  private void awaitFile(Path file) {
    await(file + " written by the mock container within " + START)
        .atMost(START)
        .pollDelay(Duration.ZERO)
        .pollInterval(Duration.ofMillis(200))
        .until(() -> Files.isRegularFile(file));
  }

  // ---- processes, KMS, CLI ----------------------------------------------------------------------

  private StackProcess start(String name, Path jar, List<String> args, Map<String, String> env)
      throws IOException {
    StackProcess p = StackProcess.start(name, jar, args, env, dir.resolve(name + ".log"));
    processes.add(p);
    return p;
  }

  private JsonNode awaitReady(String host) throws Exception {
    AtomicReference<String> last = new AtomicReference<>("no answer yet");
    AtomicReference<JsonNode> ready = new AtomicReference<>();
    try (HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build()) {
      await()
          .atMost(Duration.ofSeconds(240))
          .pollDelay(Duration.ZERO)
          .pollInterval(Duration.ofMillis(300))
          .until(
              () -> {
                for (StackProcess p : processes) {
                  assertThat(p.isAlive())
                      .as("%s exited while waiting for readiness:%n%s", p, logs())
                      .isTrue();
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
                  assertThat(r.body())
                      .as("the host's key set state%n%s", logs())
                      .doesNotContain("\"state\":\"failed\"");
                } catch (IOException e) {
                  last.set(e.toString());
                }
                return false;
              });
    } catch (ConditionTimeoutException e) {
      throw new AssertionError(
          String.format("host ready within 240 s; last answer: %s%n%s", last.get(), logs()), e);
    }
    return ready.get();
  }

  private String logs() {
    StringBuilder sb = new StringBuilder();
    for (StackProcess p : processes) {
      sb.append("---- ").append(p).append(", last lines:\n").append(p.tail(25)).append('\n');
    }
    try {
      Path log = dir.resolve("enclave-container.log");
      if (Files.exists(log)) {
        List<String> lines = Files.readAllLines(log);
        sb.append("---- enclave container, last lines:\n")
            .append(String.join("\n", lines.subList(Math.max(0, lines.size() - 25), lines.size())));
      }
    } catch (IOException ignored) {
      // best effort
    }
    return sb.toString();
  }

  private static int freePort(String address) throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getByName(address))) {
      return s.getLocalPort();
    }
  }

  private String createKmsKey(int port, Path caCert, String policy) throws Exception {
    return MockKmsKeys.createLocked(
        port, caCert, REGION, ACCESS_KEY, SECRET_KEY, policy, "keycast docker it");
  }

  private void run(List<String> cmd) throws Exception {
    Path log = dir.resolve("commands.log");
    Process p =
        new ProcessBuilder(cmd)
            .redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
            .start();
    assertThat(p.waitFor(120, TimeUnit.SECONDS)).as("%s finished within 120 s", cmd).isTrue();
    assertThat(p.exitValue()).as("%s exit status; log:%n%s", cmd, Files.readString(log)).isZero();
  }

  private record CliRun(int exit, String out, String err) {}

  private static CliRun runCli(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int exit =
        KeycastCli.newCommandLine(new PrintWriter(out, true), new PrintWriter(err, true))
            .execute(args);
    return new CliRun(exit, out.toString(), err.toString());
  }

  private String cli(String... args) {
    CliRun r = runCli(args);
    assertThat(r.exit())
        .as(
            "keycast %s%nstdout: %s%nstderr: %s%n%s",
            String.join(" ", args), r.out(), r.err(), logs())
        .isZero();
    return r.out();
  }

  private JsonNode cliJson(String... args) throws IOException {
    return JSON.readTree(cli(args));
  }
}
