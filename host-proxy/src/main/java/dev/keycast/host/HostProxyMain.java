package dev.keycast.host;

import dev.keycast.host.bridge.EnclaveClient;
import dev.keycast.host.egress.CredentialsProvider;
import dev.keycast.host.egress.ImdsCredentials;
import dev.keycast.host.egress.KmsEgress;
import dev.keycast.host.egress.StaticCredentials;
import dev.keycast.host.server.HostServer;
import dev.keycast.host.server.SenderLimits;
import dev.keycast.host.server.UploadLimits;
import dev.keycast.host.store.ArtefactStore;
import dev.keycast.host.store.S3ArtefactStore;
import dev.keycast.host.store.SqliteArtefactStore;
import dev.keycast.host.store.StoreException;
import dev.keycast.transport.Endpoint;
import java.io.IOException;
import java.io.Reader;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import software.amazon.awssdk.auth.credentials.DefaultCredentialsProvider;
import software.amazon.awssdk.regions.Region;

/**
 * Command line of the host proxy ({@code java -jar keycast-host.jar ...}). Runs until SIGTERM or
 * SIGINT, then drains requests in flight for {@code --shutdown-grace} seconds.
 */
@Command(
    name = "keycast-host",
    mixinStandardHelpOptions = true,
    description = {
      "Keycast host proxy: public API, bridge to the enclave, artefact store, KMS egress.",
      "'keycast-host relay --help': the raw relay (tcp:// or unix: to a fixed target)."
    })
public final class HostProxyMain implements Callable<Integer> {
  private static final Logger LOG = LoggerFactory.getLogger(HostProxyMain.class);

  @Option(
      names = "--enclave",
      defaultValue = "vsock://16:5000",
      description =
          "enclave API address (vsock://CID:PORT, unix:PATH, tcp://HOST:PORT); default ${DEFAULT-VALUE}")
  String enclave;

  @Option(
      names = "--listen",
      defaultValue = "tcp://0.0.0.0:8443",
      description = "public API address; default ${DEFAULT-VALUE}")
  String listen;

  @Option(
      names = "--admin",
      defaultValue = "tcp://127.0.0.1:8444",
      description =
          "admin API address, loopback or unix: only ('none' to disable); default ${DEFAULT-VALUE}")
  String admin;

  @Option(
      names = "--store",
      required = true,
      description = "sqlite:/path/to/keycast.db or s3://bucket/prefix")
  String store;

  @Option(
      names = "--s3-endpoint",
      description = "S3 endpoint URL (S3-compatible servers); default AWS")
  URI s3Endpoint;

  @Option(names = "--s3-region", description = "S3 region; default --region")
  String s3Region;

  @Option(
      names = "--sqlite-max-pages",
      defaultValue = "0",
      description = "cap of the SQLite database in pages (0: none)")
  long sqliteMaxPages;

  @Option(names = "--region", description = "AWS region (default: env AWS_REGION)")
  String region;

  @Option(
      names = "--kms-egress-listen",
      defaultValue = "vsock://ANY:8000",
      description =
          "where the enclave's KMS traffic arrives ('none' to disable); default ${DEFAULT-VALUE}")
  String kmsEgressListen;

  @Option(
      names = "--kms-target",
      description =
          "where KMS traffic goes: HOST:PORT or an address; default kms.REGION.amazonaws.com:443")
  String kmsTarget;

  @Option(
      names = "--mock",
      description =
          "mock mode: allow a --kms-target other than AWS KMS; default credentials static")
  boolean mock;

  @Option(
      names = "--init-kms-key-id",
      description =
          "on first boot (no sealed key set stored), create the key set with this KMS key")
  String initKmsKeyId;

  @Option(
      names = "--import-sealed-key-set",
      paramLabel = "FILE",
      description =
          "before starting, store this sealed key set as the store's first (the answer of"
              + " POST /admin/keyset/rewrap, for a successor image; operations.md 6a); refused if the"
              + " store already holds a different one")
  java.nio.file.Path importSealedKeySet;

  @Option(
      names = "--sender-state",
      description =
          "deprecated: the store keeps the enclave's sealed sender set (issue 23; api.md 2.3); "
              + "this file, when it exists and the store holds no set, is imported on start, and it is "
              + "still written")
  Path senderState;

  @Option(
      names = "--sender-owner-key",
      description =
          "PEM Ed25519 public key of a sender-set owner, established right after the key "
              + "set's init (repeatable)")
  List<Path> senderOwnerKeys = new java.util.ArrayList<>();

  @Option(
      names = "--sender-key",
      description =
          "PEM Ed25519 public key of a sender admitted by that first sender set (repeatable)")
  List<Path> senderKeys = new java.util.ArrayList<>();

  @Option(
      names = "--sender-rate",
      defaultValue = "600/min",
      description =
          "sends per sender (the verified key that signed them): N/min, N/s or off; a "
              + "faster sender is answered 429 sender_rate_limited with Retry-After; default ${DEFAULT-VALUE}")
  String senderRate;

  @Option(
      names = "--sender-burst",
      description =
          "sends a sender idle long enough may make at once (the rate's bucket size); "
              + "default ten seconds of --sender-rate")
  String senderBurst;

  @Option(
      names = "--sender-max-in-flight",
      defaultValue = "32",
      description =
          "most sends of one sender worked on at once (N or off); more are answered 429 "
              + "sender_in_flight_limited; default ${DEFAULT-VALUE}")
  String senderMaxInFlight;

  @Option(
      names = "--sender-daily-deliveries",
      defaultValue = "off",
      description =
          "most deliveries (recipients or screens) of one sender's sends per UTC day "
              + "(N or off); past it sends are answered 429 sender_quota_exceeded; default ${DEFAULT-VALUE}")
  String senderDailyDeliveries;

  @Option(
      names = "--credentials",
      description = "static or imds; default imds (static with --mock)")
  String credentialsMode;

  @Option(
      names = "--access-key-id",
      description = "static credentials (default env AWS_ACCESS_KEY_ID)")
  String accessKeyId;

  @Option(
      names = "--secret-access-key",
      description = "static credentials (prefer env AWS_SECRET_ACCESS_KEY or --credentials-file)")
  String secretAccessKey;

  @Option(
      names = "--session-token",
      description = "static credentials (default env AWS_SESSION_TOKEN)")
  String sessionToken;

  @Option(
      names = "--credentials-file",
      description =
          "properties file with aws_access_key_id, aws_secret_access_key, aws_session_token")
  Path credentialsFile;

  @Option(
      names = "--imds-endpoint",
      defaultValue = "http://169.254.169.254",
      description = "instance metadata service; default ${DEFAULT-VALUE}")
  URI imdsEndpoint;

  @Option(names = "--tls-cert", description = "PEM certificate chain of the public listener")
  Path tlsCert;

  @Option(
      names = "--plain-http",
      description =
          "serve the public API as plain HTTP on a "
              + "non-loopback --listen (only behind a TLS terminator or on a private network); without "
              + "it such a listener needs --tls-cert and --tls-key")
  boolean plainHttp;

  @Option(names = "--tls-key", description = "PEM PKCS#8 private key of --tls-cert")
  Path tlsKey;

  @Option(
      names = "--enclave-log-listen",
      defaultValue = "vsock://ANY:5001",
      description =
          "where the enclave's log stream arrives ('none' to disable); default ${DEFAULT-VALUE}")
  String enclaveLogListen;

  @Option(
      names = "--max-enclave-connections",
      defaultValue = "64",
      description = "most open connections to the enclave; default ${DEFAULT-VALUE}")
  int maxEnclaveConnections;

  @Option(
      names = "--enclave-timeout",
      defaultValue = "300",
      description = "seconds an enclave request may take; default ${DEFAULT-VALUE}")
  int enclaveTimeout;

  @Option(
      names = "--shutdown-grace",
      defaultValue = "30",
      description = "seconds to drain requests in flight on SIGTERM; default ${DEFAULT-VALUE}")
  int shutdownGrace;

  @Option(
      names = "--idle-timeout",
      defaultValue = "60",
      description = "seconds before an idle client connection is closed; default ${DEFAULT-VALUE}")
  int idleTimeout;

  @Option(
      names = "--max-upload-mib-in-flight",
      defaultValue = "256",
      description =
          "MiB of request bodies held at once across all connections; a request that "
              + "does not fit is answered 503 overloaded; default ${DEFAULT-VALUE}")
  long maxUploadMibInFlight;

  @Option(
      names = "--min-upload-kib-per-second",
      defaultValue = "16",
      description =
          "slowest accepted upload (KiB/s, averaged, enforced 10 s after the request "
              + "head); a slower body is answered 408 request_timeout; default ${DEFAULT-VALUE}")
  long minUploadKibPerSecond;

  @Option(
      names = "--credentials-refresh",
      defaultValue = "60",
      description = "seconds between credential checks; default ${DEFAULT-VALUE}")
  int credentialsRefresh;

  @Option(
      names = "--smtp-host",
      paramLabel = "HOST",
      description =
          "SMTP server that KDM mail (keycast kdm mail) goes through; without it the host sends no mail")
  String smtpHost;

  @Option(
      names = "--smtp-port",
      defaultValue = "587",
      paramLabel = "PORT",
      description = "SMTP port; default ${DEFAULT-VALUE}")
  int smtpPort;

  @Option(
      names = "--smtp-from",
      paramLabel = "ADDR",
      description = "sender address of KDM mail (needed with --smtp-host)")
  String smtpFrom;

  @Option(
      names = "--smtp-starttls",
      negatable = true,
      defaultValue = "true",
      fallbackValue = "true",
      description =
          "require STARTTLS before anything is sent (--no-smtp-starttls: plain SMTP, local relays"
              + " only); default ${DEFAULT-VALUE}")
  boolean smtpStartTls;

  @Option(
      names = "--smtp-user",
      paramLabel = "USER",
      description = "SMTP login, with --smtp-password-file")
  String smtpUser;

  @Option(
      names = "--smtp-password-file",
      paramLabel = "FILE",
      description = "file holding the SMTP password (one line); never given on the command line")
  Path smtpPasswordFile;

  @Option(
      names = "--smtp-timeout",
      defaultValue = "30",
      paramLabel = "SECONDS",
      description = "SMTP connect and read timeout in seconds; default ${DEFAULT-VALUE}")
  int smtpTimeout;

  @Option(
      names = "--mail-template",
      paramLabel = "FILE",
      description =
          "KDM mail template (first line 'Subject: ...', then the body; placeholders in"
              + " operations.md); default built in")
  Path mailTemplate;

  private final Map<String, String> env;

  HostProxyMain(Map<String, String> env) {
    this.env = env;
  }

  /** Entry point; {@code relay ...} runs the raw relay ({@link dev.keycast.host.relay.RelayMain}). */
  public static void main(String[] args) {
    if (args.length > 0 && args[0].equals("relay")) {
      dev.keycast.host.relay.RelayMain.main(java.util.Arrays.copyOfRange(args, 1, args.length));
      return;
    }
    System.exit(new CommandLine(new HostProxyMain(System.getenv())).execute(args));
  }

  @Override
  public Integer call() throws Exception {
    HostProxy.Config config = config();
    UploadLimits uploads = uploadLimits();
    senderLimits(); // flags checked before the store is opened
    dev.keycast.host.server.MailSettings mail = mailSettings();
    CredentialsProvider creds = credentials();
    ArtefactStore artefacts = openStore();
    if (importSealedKeySet != null) {
      byte[] file = java.nio.file.Files.readAllBytes(importSealedKeySet);
      KeySetImport.Outcome o = KeySetImport.importInto(artefacts, file);
      LOG.info(
          "--import-sealed-key-set {}: {}",
          importSealedKeySet,
          o == KeySetImport.Outcome.IMPORTED
              ? "stored as key set version 1"
              : "already the store's key set");
    }
    SenderLimits limits = senderLimits();
    HostProxy proxy =
        new HostProxy(
            config,
            artefacts,
            store,
            creds,
            Clock.systemUTC(),
            uploads,
            senderSettings(),
            limits,
            mail);
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  try {
                    proxy.shutdown();
                  } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                  } finally {
                    stopped.countDown();
                  }
                },
                "keycast-shutdown"));
    proxy.start();
    stopped.await();
    return 0;
  }

  HostProxy.Config config() {
    String reg = region != null ? region : env.get("AWS_REGION");
    if (reg == null || reg.isBlank()) {
      throw new CommandLine.ParameterException(
          new CommandLine(this), "--region is required (or env AWS_REGION)");
    }
    Endpoint adminEp = none(admin) ? null : Endpoint.parse(admin);
    if (adminEp != null) {
      HostServer.requireLocal(adminEp);
    }
    Endpoint egressListen = none(kmsEgressListen) ? null : Endpoint.parse(kmsEgressListen);
    Endpoint target = kmsTarget == null ? KmsEgress.defaultTarget(reg) : address(kmsTarget);
    Endpoint extra = null;
    if (!KmsEgress.allowlist(reg).contains(target)) {
      if (!mock) {
        throw new IllegalArgumentException(
            "--kms-target "
                + target
                + " is not the KMS endpoint of "
                + reg
                + " (allowed only with --mock)");
      }
      extra = target;
      LOG.warn("mock mode: KMS egress goes to {}, not AWS KMS", target);
    }
    EnclaveClient.Settings es =
        EnclaveClient.Settings.defaults(Endpoint.parse(enclave))
            .withMaxConnections(maxEnclaveConnections)
            .withResponseTimeout(Duration.ofSeconds(enclaveTimeout));
    Endpoint listenEp = Endpoint.parse(listen);
    if (plainHttp && tlsCert != null) {
      throw new IllegalArgumentException("--plain-http and --tls-cert exclude each other");
    }
    if (tlsCert == null && !HostServer.isLocal(listenEp)) {
      if (!plainHttp) {
        throw new IllegalArgumentException(
            "--listen "
                + listenEp
                + " is reachable from other "
                + "machines: give --tls-cert and --tls-key, or --plain-http when a TLS terminator in "
                + "front of this host encrypts the traffic");
      }
      LOG.warn(
          "the public API is plain HTTP on {} (--plain-http): only behind a TLS terminator "
              + "or on a private network",
          listenEp);
    }
    return new HostProxy.Config(
        Endpoint.parse(enclave),
        listenEp,
        adminEp,
        reg,
        initKmsKeyId,
        tlsCert,
        tlsKey,
        egressListen,
        target,
        extra,
        none(enclaveLogListen) ? null : Endpoint.parse(enclaveLogListen),
        es,
        Duration.ofSeconds(shutdownGrace),
        Duration.ofSeconds(idleTimeout),
        Duration.ofSeconds(credentialsRefresh));
  }

  /** The sender-set settings of the flags (issue 23). */
  dev.keycast.host.SenderSetKeeper.Settings senderSettings() throws java.io.IOException {
    try {
      List<dev.keycast.protocol.sender.SenderKey> owners = new java.util.ArrayList<>();
      for (Path f : senderOwnerKeys) {
        owners.add(dev.keycast.protocol.sender.SenderKeyFiles.readPublic(f));
      }
      List<dev.keycast.protocol.sender.SenderKey> senders = new java.util.ArrayList<>();
      for (Path f : senderKeys) {
        senders.add(dev.keycast.protocol.sender.SenderKeyFiles.readPublic(f));
      }
      if (!senders.isEmpty() && owners.isEmpty()) {
        throw new IllegalArgumentException("--sender-key needs at least one --sender-owner-key");
      }
      return new dev.keycast.host.SenderSetKeeper.Settings(senderState, owners, senders);
    } catch (dev.keycast.protocol.MalformedInputException e) {
      throw new IllegalArgumentException(
          "a sender key file is not a PEM Ed25519 public key: " + e.getMessage());
    }
  }

  /** The per-sender limits of the flags (issue 23; operations.md section 4a). */
  SenderLimits senderLimits() {
    long rate = SenderLimits.parseRate(senderRate);
    long burst =
        senderBurst == null
            ? SenderLimits.defaultBurst(rate)
            : SenderLimits.parseCount(senderBurst, "--sender-burst");
    if (rate > 0 && burst < 1) {
      throw new IllegalArgumentException("--sender-burst must be at least 1 with a --sender-rate");
    }
    long inFlight = SenderLimits.parseCount(senderMaxInFlight, "--sender-max-in-flight");
    if (inFlight > 1_000_000) {
      throw new IllegalArgumentException("--sender-max-in-flight must be at most 1000000 or off");
    }
    long daily = SenderLimits.parseCount(senderDailyDeliveries, "--sender-daily-deliveries");
    return new SenderLimits(rate, rate == 0 ? 0 : burst, (int) inFlight, daily);
  }

  /** The KDM mail settings of the flags (issue 25; operations.md): none without --smtp-host. */
  dev.keycast.host.server.MailSettings mailSettings() throws java.io.IOException {
    dev.keycast.host.mail.MailTemplate template =
        mailTemplate == null
            ? dev.keycast.host.mail.MailTemplate.DEFAULT
            : dev.keycast.host.mail.MailTemplate.read(mailTemplate);
    if (smtpHost == null) {
      if (smtpFrom != null || smtpUser != null || smtpPasswordFile != null) {
        throw new IllegalArgumentException(
            "--smtp-from, --smtp-user and --smtp-password-file need --smtp-host");
      }
      return dev.keycast.host.server.MailSettings.of(null, template);
    }
    if (smtpFrom == null) {
      throw new IllegalArgumentException(
          "--smtp-host needs --smtp-from (the sender address of KDM mail)");
    }
    if (smtpTimeout < 1 || smtpTimeout > 600) {
      throw new IllegalArgumentException("--smtp-timeout must be 1..600 seconds");
    }
    String password = null;
    if (smtpPasswordFile != null) {
      byte[] b;
      try (java.io.InputStream in = java.nio.file.Files.newInputStream(smtpPasswordFile)) {
        b = in.readNBytes(dev.keycast.host.mail.SmtpSettings.MAX_PASSWORD + 3);
      }
      password =
          new String(b, java.nio.charset.StandardCharsets.UTF_8).replaceAll("[\\r\\n]+$", "");
      if (password.isEmpty()
          || password.indexOf('\n') >= 0
          || password.length() > dev.keycast.host.mail.SmtpSettings.MAX_PASSWORD) {
        throw new IllegalArgumentException(
            "--smtp-password-file must hold one line of 1 to "
                + dev.keycast.host.mail.SmtpSettings.MAX_PASSWORD
                + " characters");
      }
    }
    dev.keycast.host.mail.SmtpSettings smtp =
        new dev.keycast.host.mail.SmtpSettings(
            smtpHost,
            smtpPort,
            smtpFrom,
            smtpStartTls,
            smtpUser,
            password,
            Duration.ofSeconds(smtpTimeout));
    if (!smtpStartTls && smtpUser != null) {
      LOG.warn(
          "KDM mail: SMTP login without STARTTLS (--no-smtp-starttls): the password crosses the network in clear");
    }
    LOG.info("KDM mail through {}", smtp);
    return dev.keycast.host.server.MailSettings.of(smtp, template);
  }

  /** The upload limits of the flags. */
  UploadLimits uploadLimits() {
    if (maxUploadMibInFlight < 64 || maxUploadMibInFlight > 1L << 20) {
      throw new IllegalArgumentException(
          "--max-upload-mib-in-flight must be 64 (one largest "
              + "request) to 1048576, not "
              + maxUploadMibInFlight);
    }
    if (minUploadKibPerSecond < 1 || minUploadKibPerSecond > 1L << 20) {
      throw new IllegalArgumentException(
          "--min-upload-kib-per-second must be 1 to 1048576, not " + minUploadKibPerSecond);
    }
    UploadLimits d = UploadLimits.defaults();
    return new UploadLimits(
        maxUploadMibInFlight << 20, minUploadKibPerSecond << 10, d.grace(), d.checkEvery());
  }

  private static boolean none(String s) {
    return s == null || s.equals("none");
  }

  /** {@code HOST:PORT} (as vsock-proxy writes it) or a full address. */
  static Endpoint address(String s) {
    if (s.contains("://") || s.startsWith("unix:")) {
      return Endpoint.parse(s);
    }
    return Endpoint.parse("tcp://" + s);
  }

  CredentialsProvider credentials() throws IOException {
    String mode = credentialsMode != null ? credentialsMode : (mock ? "static" : "imds");
    switch (mode) {
      case "imds":
        return new ImdsCredentials(imdsEndpoint, Clock.systemUTC());
      case "static":
        Map<String, String> values = new HashMap<>(env);
        if (credentialsFile != null) {
          Properties p = new Properties();
          try (Reader r = Files.newBufferedReader(credentialsFile)) {
            p.load(r);
          }
          putIf(values, "AWS_ACCESS_KEY_ID", p.getProperty("aws_access_key_id"));
          putIf(values, "AWS_SECRET_ACCESS_KEY", p.getProperty("aws_secret_access_key"));
          putIf(values, "AWS_SESSION_TOKEN", p.getProperty("aws_session_token"));
        }
        putIf(values, "AWS_ACCESS_KEY_ID", accessKeyId);
        putIf(values, "AWS_SECRET_ACCESS_KEY", secretAccessKey);
        putIf(values, "AWS_SESSION_TOKEN", sessionToken);
        return StaticCredentials.fromEnvironment(values);
      default:
        throw new IllegalArgumentException("--credentials must be static or imds, not " + mode);
    }
  }

  private static void putIf(Map<String, String> m, String k, String v) {
    if (v != null) {
      m.put(k, v);
    }
  }

  ArtefactStore openStore() throws StoreException {
    if (store.startsWith("sqlite:")) {
      Path file = Path.of(store.substring("sqlite:".length()));
      return SqliteArtefactStore.open(
          file, SqliteArtefactStore.Options.defaults().withMaxPageCount(sqliteMaxPages));
    }
    if (store.startsWith("s3://")) {
      String rest = store.substring("s3://".length());
      int slash = rest.indexOf('/');
      String bucket = slash < 0 ? rest : rest.substring(0, slash);
      String prefix = slash < 0 ? "" : rest.substring(slash + 1);
      if (!prefix.isEmpty() && !prefix.endsWith("/")) {
        prefix += "/";
      }
      String reg = s3Region != null ? s3Region : region != null ? region : env.get("AWS_REGION");
      int parallelism = 32;
      return new S3ArtefactStore(
          S3ArtefactStore.client(
              s3Endpoint,
              Region.of(reg == null ? "us-east-1" : reg),
              DefaultCredentialsProvider.builder().build(),
              parallelism),
          true,
          bucket,
          prefix,
          parallelism);
    }
    throw new IllegalArgumentException(
        "--store must be sqlite:/path or s3://bucket/prefix, not " + store);
  }
}
