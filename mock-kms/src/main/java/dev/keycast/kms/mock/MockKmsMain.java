package dev.keycast.kms.mock;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code mock-kms}: runs the mock KMS until interrupted. */
@Command(
    name = "mock-kms",
    mixinStandardHelpOptions = true,
    description = {
      "Runs a MOCK AWS KMS (JSON 1.1 protocol, SigV4, Recipient attestation, key policies).",
      "It is not AWS KMS and protects nothing: keys are plain files in the state directory."
    })
public final class MockKmsMain implements Callable<Integer> {
  @Option(
      names = "--listen",
      defaultValue = "tcp://127.0.0.1:4566",
      description = "tcp://HOST:PORT (port 0 = ephemeral); default ${DEFAULT-VALUE}")
  String listen;

  @Option(
      names = "--state",
      required = true,
      description = "state directory (keys, policies, TLS certificate)")
  Path state;

  @Option(
      names = "--region",
      defaultValue = "us-east-1",
      description = "signing region; default ${DEFAULT-VALUE}")
  String region;

  @Option(
      names = "--account",
      defaultValue = "111122223333",
      description = "account id that owns the keys; default ${DEFAULT-VALUE}")
  String account;

  @Option(
      names = "--credentials",
      description =
          "JSON file: [{\"accessKeyId\",\"secretAccessKey\",\"principalArn\",\"sessionToken\"?}]")
  Path credentials;

  @Option(
      names = "--iam-policies",
      description =
          "JSON file: {\"PRINCIPAL_ARN\": IAM policy document, ...}: what each principal's IAM policy allows where a key policy delegates to the account root")
  Path iamPolicies;

  @Option(names = "--access-key", description = "access key id of a single caller")
  String accessKey;

  @Option(names = "--secret-key", description = "secret access key of that caller")
  String secretKey;

  @Option(names = "--session-token", description = "session token that caller must send (optional)")
  String sessionToken;

  @Option(
      names = "--principal-arn",
      description = "principal ARN of that caller; default the account root")
  String principalArn;

  @Option(
      names = "--trust-root",
      arity = "1..*",
      description =
          "PEM trust roots for attestation documents (e.g. the AWS Nitro root and a mock root)")
  List<Path> trustRoots = new ArrayList<>();

  @Option(
      names = "--tls",
      description = "serve HTTPS with a self-signed certificate kept in the state directory")
  boolean tls;

  @Option(
      names = "--max-request-bytes",
      defaultValue = "1048576",
      description = "request body limit; default ${DEFAULT-VALUE}")
  int maxRequestBytes;

  @Option(
      names = "--clock-skew",
      defaultValue = "PT5M",
      description = "allowed X-Amz-Date skew (ISO-8601 duration); default ${DEFAULT-VALUE}")
  Duration clockSkew;

  public static void main(String[] args) {
    System.exit(new CommandLine(new MockKmsMain()).execute(args));
  }

  /** Parses {@code tcp://host:port}. */
  static InetSocketAddress parseListen(String s) {
    URI u = URI.create(s);
    if (!"tcp".equals(u.getScheme())
        || u.getHost() == null
        || u.getPort() < 0
        || u.getPath() != null && !u.getPath().isEmpty()) {
      throw new IllegalArgumentException("--listen must be tcp://HOST:PORT, got \"" + s + "\"");
    }
    return new InetSocketAddress(u.getHost(), u.getPort());
  }

  static List<StaticCredential> readCredentials(Path file) throws java.io.IOException {
    JsonNode n = new ObjectMapper().readTree(Files.readAllBytes(file));
    if (n == null || !n.isArray()) {
      throw new IllegalArgumentException(file + ": expected a JSON array of credentials");
    }
    List<StaticCredential> out = new ArrayList<>();
    for (JsonNode c : n) {
      String token = c.hasNonNull("sessionToken") ? c.get("sessionToken").asText() : null;
      out.add(
          new StaticCredential(
              c.path("accessKeyId").asText(),
              c.path("secretAccessKey").asText(),
              c.path("principalArn").asText(),
              Optional.ofNullable(token)));
    }
    return out;
  }

  @Override
  public Integer call() throws Exception {
    MockKms.banner().forEach(System.err::println);
    MockKmsConfig.Builder b =
        MockKmsConfig.builder()
            .listen(parseListen(listen))
            .stateDirectory(state)
            .region(region)
            .accountId(account)
            .tls(tls)
            .maxRequestBytes(maxRequestBytes)
            .clockSkew(clockSkew);
    if (iamPolicies != null) {
      b.iamPolicies(IamPolicies.read(iamPolicies));
    }
    if (credentials != null) {
      readCredentials(credentials).forEach(b::addCredential);
    }
    if (accessKey != null || secretKey != null) {
      if (accessKey == null || secretKey == null) {
        throw new CommandLine.ParameterException(
            new CommandLine(this), "--access-key and --secret-key go together");
      }
      String arn = principalArn != null ? principalArn : "arn:aws:iam::" + account + ":root";
      b.addCredential(
          new StaticCredential(accessKey, secretKey, arn, Optional.ofNullable(sessionToken)));
    }
    if (!trustRoots.isEmpty()) {
      b.recipientVerifier(ProtocolRecipientVerifier.trusting(trustRoots, Clock.systemUTC()));
    } else {
      System.err.println(
          "mock-kms: no --trust-root given; every Recipient request will be rejected");
    }
    MockKmsConfig config = b.build();
    if (config.credentials().isEmpty()) {
      System.err.println("mock-kms: no credentials configured; every request will be rejected");
    }
    MockKms kms = MockKms.start(config);
    CountDownLatch stop = new CountDownLatch(1);
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  kms.close();
                  stop.countDown();
                }));
    System.err.println(
        "mock-kms: MOCK KMS listening on " + kms.endpoint() + " (port " + kms.port() + ")");
    kms.tlsCertificateFile()
        .ifPresent(p -> System.err.println("mock-kms: TLS certificate to trust: " + p));
    config.credentials().forEach(c -> System.err.println("mock-kms: caller " + c));
    stop.await();
    return 0;
  }
}
