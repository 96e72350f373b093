package dev.keycast.bench.load;

import dev.keycast.protocol.sender.SenderKeyFiles;
import dev.keycast.protocol.sender.SenderSigningKey;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A private Keycast stack for the fault campaign, as {@code scripts/run-local} runs it: the mock
 * KMS (TLS), the enclave app in mock mode on a unix socket, and the host proxy with a SQLite store,
 * each a {@code java -jar} process of its own with its log in the state directory. The campaign
 * plays the supervisor: it kills the host or the enclave with SIGKILL and starts the same command
 * again on the same state, and repairs nothing in between.
 */
final class FaultStack implements AutoCloseable {
  static final String REGION = "us-east-1";
  private static final String ACCOUNT = "111122223333";
  private static final String ROLE_ARN = "arn:aws:iam::" + ACCOUNT + ":role/keycast-faults";

  /** The mock KMS's static credentials (they protect nothing: the mock KMS is local). */
  private static final Map<String, String> AWS_ENV =
      Map.of(
          "AWS_ACCESS_KEY_ID", "AKIAKEYCASTFAULTS001",
          "AWS_SECRET_ACCESS_KEY", "keycast-faults-mock-secret-not-a-real-key",
          "AWS_REGION", REGION);

  private static final Duration START = Duration.ofMinutes(3);

  /** Where the jars and scripts are, and where the state goes. */
  record Layout(Path repo, Path state, Path dbDir) {
    Path enclaveJar() {
      return repo.resolve("enclave-mock/target/keycast-enclave-mock.jar");
    }

    Path hostJar() {
      return repo.resolve("host-proxy/target/keycast-host.jar");
    }

    Path kmsJar() {
      return repo.resolve("mock-kms/target/keycast-mock-kms.jar");
    }

    Path db() {
      return dbDir.resolve("keycast.db");
    }
  }

  /** One running process and its log. */
  record Running(String name, Process process, Path log) {}

  private final Layout layout;
  private final String java;
  private final int hostPort;
  private final List<String> enclaveCmd;
  private final List<String> hostCmd;
  private final SenderSigningKey sender;
  private Running kms;
  private Running enclave;
  private Running host;

  private FaultStack(
      Layout layout,
      String java,
      int hostPort,
      List<String> enclaveCmd,
      List<String> hostCmd,
      SenderSigningKey sender,
      Running kms) {
    this.layout = layout;
    this.java = java;
    this.hostPort = hostPort;
    this.enclaveCmd = enclaveCmd;
    this.hostCmd = hostCmd;
    this.sender = sender;
    this.kms = kms;
  }

  /**
   * Creates the enclave's mock identity, starts the mock KMS, creates a locked KMS key for this
   * enclave build, a sender key pair, then the enclave and the host; returns once the host is
   * ready.
   */
  static FaultStack start(Layout layout) throws IOException, InterruptedException {
    for (Path jar : List.of(layout.enclaveJar(), layout.hostJar(), layout.kmsJar())) {
      if (!Files.isRegularFile(jar)) {
        throw new IOException(jar + " does not exist: build the jars first (scripts/run-local)");
      }
    }
    Path state = layout.state();
    Path enclaveDir = Files.createDirectories(state.resolve("enclave"));
    Path kmsDir = Files.createDirectories(state.resolve("kms"));
    Files.createDirectories(layout.dbDir());
    String java = ProcessHandle.current().info().command().orElse("java");

    // 1. The enclave's mock PKI and measurements.json: a first, short enclave run.
    Path measurements = enclaveDir.resolve("measurements.json");
    Path mockRoot = enclaveDir.resolve("mock-root.pem");
    Running init =
        spawn(
            "enclave-init",
            List.of(
                java,
                "-jar",
                layout.enclaveJar().toString(),
                "--state",
                enclaveDir.toString(),
                "--listen",
                "unix:" + state.resolve("init.sock")),
            state);
    await(
        init,
        "the enclave's mock identity",
        () -> Files.isRegularFile(measurements) && Files.isRegularFile(mockRoot));
    kill(init);
    String pcr0 = extract(Files.readString(measurements), "\"PCR0\"\\s*:\\s*\"([0-9a-f]{96})\"");

    // 2. The mock KMS over TLS on a free port, trusting the mock root.
    Running kms =
        spawn(
            "mock-kms",
            List.of(
                java,
                "-jar",
                layout.kmsJar().toString(),
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
                AWS_ENV.get("AWS_ACCESS_KEY_ID"),
                "--secret-key",
                AWS_ENV.get("AWS_SECRET_ACCESS_KEY"),
                "--principal-arn",
                ROLE_ARN,
                "--trust-root",
                mockRoot.toString()),
            state);
    Pattern portLine = Pattern.compile("MOCK KMS listening on \\S+ \\(port (\\d+)\\)");
    await(kms, "the mock KMS listening", () -> portLine.matcher(readLog(kms)).find());
    Matcher m = portLine.matcher(readLog(kms));
    if (!m.find()) {
      throw new IOException("no port line in " + kms.log());
    }
    int kmsPort = Integer.parseInt(m.group(1));
    Path kmsCert = kmsDir.resolve("tls/cert.pem");

    // 3. A locked KMS key whose policy admits only this enclave build (scripts/kms-key-policy).
    Path policy = state.resolve("kms-key-policy.json");
    runToEnd(
        "kms-key-policy",
        List.of(
            "bash",
            layout.repo().resolve("scripts/kms-key-policy").toString(),
            "--pcr0",
            pcr0,
            "--role-arn",
            ROLE_ARN,
            "--region",
            REGION,
            "--out",
            policy.toString()),
        state);
    String created =
        runToEnd(
            "create-key",
            List.of(
                java,
                "-cp",
                layout.enclaveJar().toString(),
                layout.repo().resolve("scripts/lib/KmsCreateKey.java").toString(),
                "--endpoint",
                "https://127.0.0.1:" + kmsPort,
                "--ca-cert",
                kmsCert.toString(),
                "--region",
                REGION,
                "--policy",
                policy.toString(),
                "--bypass-policy-lockout-safety-check",
                "true"),
            state);
    String keyArn = extract(created, "(arn:aws:kms:[a-z0-9-]+:\\d{12}:key/[A-Za-z0-9-]+)");

    // 4. The owner's and the sender's keys (issue 23): the host establishes the sender set.
    Path senders = Files.createDirectories(state.resolve("senders"));
    SecureRandom random = new SecureRandom();
    SenderSigningKey owner = SenderSigningKey.generate(random);
    SenderSigningKey studio = SenderSigningKey.generate(random);
    Files.writeString(
        senders.resolve("owner.pub.pem"), SenderKeyFiles.publicPem(owner.publicKey()));
    Files.writeString(
        senders.resolve("studio.pub.pem"), SenderKeyFiles.publicPem(studio.publicKey()));

    // 5. The enclave and the host: the commands the supervisor (this campaign) runs again.
    List<String> enclaveCmd =
        List.of(
            java,
            "-XX:+ExitOnOutOfMemoryError",
            "-XX:+UseSerialGC",
            "-Xmx96m",
            "-XX:ErrorFile=" + state.resolve("enclave-hs_err_%p.log"),
            "-jar",
            layout.enclaveJar().toString(),
            "--state",
            enclaveDir.toString(),
            "--listen",
            "unix:" + state.resolve("enclave.sock"),
            "--kms-egress",
            "unix:" + state.resolve("kms-egress.sock"),
            "--kms-tls-cert",
            kmsCert.toString(),
            "--log-to",
            "unix:" + state.resolve("enclave-logs.sock"),
            "--kms-key-arn",
            keyArn);
    int hostPort = freePort();
    List<String> hostCmd =
        List.of(
            java,
            "-XX:+ExitOnOutOfMemoryError",
            "-Xmx512m",
            "-XX:ErrorFile=" + state.resolve("host-hs_err_%p.log"),
            "-jar",
            layout.hostJar().toString(),
            "--mock",
            "--store",
            "sqlite:" + layout.db(),
            "--enclave",
            "unix:" + state.resolve("enclave.sock"),
            "--kms-egress-listen",
            "unix:" + state.resolve("kms-egress.sock"),
            "--kms-target",
            "127.0.0.1:" + kmsPort,
            "--region",
            REGION,
            "--credentials",
            "static",
            "--enclave-log-listen",
            "unix:" + state.resolve("enclave-logs.sock"),
            "--admin",
            "unix:" + state.resolve("admin.sock"),
            "--sender-state",
            state.resolve("sender-set.bin").toString(),
            "--sender-owner-key",
            senders.resolve("owner.pub.pem").toString(),
            "--sender-key",
            senders.resolve("studio.pub.pem").toString(),
            "--listen",
            "tcp://127.0.0.1:" + hostPort,
            "--init-kms-key-id",
            keyArn,
            "--sender-rate",
            "off",
            "--sender-max-in-flight",
            "off");
    FaultStack s = new FaultStack(layout, java, hostPort, enclaveCmd, hostCmd, studio, kms);
    s.startEnclave();
    s.startHost();
    return s;
  }

  String hostUrl() {
    return "http://127.0.0.1:" + hostPort;
  }

  SenderSigningKey sender() {
    return sender;
  }

  Path measurements() {
    return layout.state().resolve("enclave/measurements.json");
  }

  Path mockRoot() {
    return layout.state().resolve("enclave/mock-root.pem");
  }

  boolean hostAlive() {
    return host != null && host.process().isAlive();
  }

  /** Starts the enclave process (its command again after a kill) and waits for its socket. */
  void startEnclave() throws IOException, InterruptedException {
    enclave = spawn("enclave", enclaveCmd, layout.state());
    Path sock = layout.state().resolve("enclave.sock");
    await(enclave, "the enclave listening on " + sock, () -> Files.exists(sock));
  }

  /** Starts the host process (its command again after a kill); does not wait for readiness. */
  void startHost() throws IOException {
    host = spawn("host", hostCmd, layout.state());
  }

  /** SIGKILLs the host and waits for it to be gone. */
  void killHost() throws InterruptedException {
    kill(host);
  }

  /** SIGKILLs the enclave and waits for it to be gone. */
  void killEnclave() throws InterruptedException {
    kill(enclave);
  }

  /** The pid of the host process (for the report). */
  long hostPid() {
    return host.process().pid();
  }

  String hostLogTail(int lines) {
    return tail(host, lines);
  }

  /** Stops host, enclave and KMS (SIGTERM, SIGKILL after 20 s); never leaves one running. */
  @Override
  public void close() {
    for (Running r : new Running[] {host, enclave, kms}) {
      if (r != null && r.process().isAlive()) {
        r.process().destroy();
        try {
          if (!r.process().waitFor(20, TimeUnit.SECONDS)) {
            kill(r);
          }
        } catch (InterruptedException e) {
          r.process().destroyForcibly();
          Thread.currentThread().interrupt();
        }
      }
    }
  }

  // ------------------------------------------------------------------ processes

  private static Running spawn(String name, List<String> cmd, Path state) throws IOException {
    Path log = state.resolve(name + ".log");
    Files.writeString(
        log,
        "=== " + String.join(" ", cmd) + "\n",
        StandardCharsets.UTF_8,
        StandardOpenOption.CREATE,
        StandardOpenOption.APPEND);
    ProcessBuilder pb =
        new ProcessBuilder(cmd)
            .redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
            .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()));
    pb.environment().putAll(AWS_ENV);
    pb.environment().put("MALLOC_ARENA_MAX", "2");
    return new Running(name, pb.start(), log);
  }

  /** SIGKILL (Process.destroyForcibly on Linux) and wait for the exit. */
  private static void kill(Running r) throws InterruptedException {
    if (r == null) {
      return;
    }
    r.process().destroyForcibly();
    if (!r.process().waitFor(30, TimeUnit.SECONDS)) {
      throw new IllegalStateException(
          r.name() + " (pid " + r.process().pid() + ") survived SIGKILL");
    }
  }

  private static String runToEnd(String name, List<String> cmd, Path state)
      throws IOException, InterruptedException {
    Running r = spawn(name, cmd, state);
    if (!r.process().waitFor(START.toSeconds(), TimeUnit.SECONDS)) {
      kill(r);
      throw new IOException(name + " did not finish; see " + r.log());
    }
    if (r.process().exitValue() != 0) {
      throw new IOException(
          name + " failed (status " + r.process().exitValue() + "): " + tail(r, 20));
    }
    return readLog(r);
  }

  private static void await(Running r, String what, BooleanSupplier condition)
      throws IOException, InterruptedException {
    long end = System.nanoTime() + START.toNanos();
    while (!condition.getAsBoolean()) {
      if (!r.process().isAlive()) {
        throw new IOException(
            r.name()
                + " exited (status "
                + r.process().exitValue()
                + ") before "
                + what
                + ": "
                + tail(r, 30));
      }
      if (System.nanoTime() > end) {
        throw new IOException(
            what + " did not happen within " + START.toSeconds() + " s: " + tail(r, 30));
      }
      Thread.sleep(50);
    }
  }

  private static String readLog(Running r) {
    try {
      return Files.readString(r.log(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      return "";
    }
  }

  private static String tail(Running r, int lines) {
    List<String> all = new ArrayList<>(List.of(readLog(r).split("\n")));
    return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
  }

  private static String extract(String text, String regex) throws IOException {
    Matcher m = Pattern.compile(regex).matcher(text);
    String found = null;
    while (m.find()) {
      found = m.group(1);
    }
    if (found == null) {
      throw new IOException("no match for " + regex);
    }
    return found;
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  @Override
  public String toString() {
    return "FaultStack[" + hostUrl() + ", state " + layout.state() + ", java " + java + "]";
  }
}
