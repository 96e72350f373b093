package dev.keycast.enclave.kms;

import dev.keycast.protocol.api.EnclaveApi;
import dev.keycast.transport.Endpoint;
import dev.keycast.transport.L4Pipe;
import dev.keycast.transport.TcpEndpoint;
import dev.keycast.transport.Transports;
import io.netty.channel.EventLoopGroup;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.regex.Pattern;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.AwsCredentials;
import software.amazon.awssdk.auth.credentials.AwsSessionCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.awscore.defaultsmode.DefaultsMode;
import software.amazon.awssdk.awscore.retry.AwsRetryStrategy;
import software.amazon.awssdk.http.apache.ApacheHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.kms.KmsClient;

/**
 * How the enclave reaches KMS: the real AWS SDK {@link KmsClient} over HttpClient 4.5 ({@link
 * ApacheHttpClient}, set explicitly), whose connections go through an in-process {@link L4Pipe}
 * ({@code tcp://127.0.0.1:<ephemeral>} to the host's KMS egress endpoint, by default {@code
 * vsock://3:8000}). TLS, SNI and hostname verification for {@code kms.<region>.amazonaws.com}
 * happen in this process; the host only pumps bytes. There is no DNS: the client's resolver knows
 * only the KMS host name (mapped to {@code 127.0.0.1}; the socket factory connects to the pipe).
 *
 * <p>Credentials are static (handed over by the host), the region is explicit, and no default
 * provider chain, region chain or IMDS lookup is used. Plain HTTP is not possible: the endpoint is
 * always {@code https://kms.<region>.amazonaws.com}.
 *
 * <p>Create one per process with {@link #production(Endpoint)} or (mock-enclave mode) {@link
 * #trusting(Endpoint, Path)}, and close it at shutdown. Thread-safe.
 */
public final class KmsConnector implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(KmsConnector.class);

  /** The parent's KMS egress port as seen from the enclave (NITRO-FACTS section 4). */
  public static final String DEFAULT_EGRESS = "vsock://3:8000";

  private static final Pattern REGION = Pattern.compile("[a-z]{2}(-[a-z]+)+-[0-9]+");

  /**
   * Timeouts and retries of KMS calls.
   *
   * @param connectTimeout TCP connect (to the pipe) and TLS handshake of one attempt
   * @param attemptTimeout one HTTP attempt, end to end
   * @param callTimeout one KMS call including retries: the bound on how long a failing call takes
   * @param maxAttempts attempts per call (the SDK's standard retry strategy, 1 = no retry)
   */
  public record Options(
      Duration connectTimeout, Duration attemptTimeout, Duration callTimeout, int maxAttempts) {
    /** 5 s connect, 10 s per attempt, 30 s per call, 3 attempts. */
    public static final Options DEFAULTS =
        new Options(Duration.ofSeconds(5), Duration.ofSeconds(10), Duration.ofSeconds(30), 3);

    public Options {
      for (Duration d : List.of(connectTimeout, attemptTimeout, callTimeout)) {
        if (d.isNegative() || d.isZero() || d.toMillis() > Integer.MAX_VALUE) {
          throw new IllegalArgumentException("timeouts must be positive: " + d);
        }
      }
      if (maxAttempts < 1 || maxAttempts > 10) {
        throw new IllegalArgumentException("maxAttempts must be 1..10: " + maxAttempts);
      }
    }
  }

  private final Endpoint egress;
  private final SSLContext tls;
  private final String trustDescription;
  private final Options options;
  private final Object lock = new Object();
  private EventLoopGroup group;
  private L4Pipe pipe;
  private InetSocketAddress pipeAddress;
  private boolean closed;

  private KmsConnector(Endpoint egress, SSLContext tls, String trustDescription, Options options) {
    this.egress = Objects.requireNonNull(egress, "egress");
    this.tls = tls;
    this.trustDescription = trustDescription;
    this.options = Objects.requireNonNull(options, "options");
  }

  /**
   * Production: KMS's certificate must chain to one of the Amazon Trust Services roots bundled in
   * the measured image ({@link KmsTrustAnchors}), never to the JDK's other public roots.
   */
  public static KmsConnector production(Endpoint egress) throws GeneralSecurityException {
    return production(egress, Options.DEFAULTS);
  }

  /** Production with explicit timeouts. */
  public static KmsConnector production(Endpoint egress, Options options)
      throws GeneralSecurityException {
    List<X509Certificate> roots = KmsTrustAnchors.amazonTrustServices();
    return new KmsConnector(
        egress,
        sslContext(roots),
        "exactly the "
            + roots.size()
            + " Amazon Trust Services roots of the image (Amazon Root CA 1-4, Starfield Services Root CA - G2)",
        options);
  }

  /**
   * Mock-enclave mode: trusts exactly the certificate(s) in {@code pemFile} (the mock KMS's
   * {@code tls/cert.pem}), which must cover {@code kms.<region>.amazonaws.com}.
   */
  public static KmsConnector trusting(Endpoint egress, Path pemFile)
      throws IOException, GeneralSecurityException {
    return trusting(egress, readPem(pemFile), Options.DEFAULTS);
  }

  /** Mock-enclave mode with explicit certificates and timeouts. */
  public static KmsConnector trusting(
      Endpoint egress, List<X509Certificate> trusted, Options options)
      throws GeneralSecurityException {
    if (trusted.isEmpty()) {
      throw new IllegalArgumentException("at least one trusted certificate is required");
    }
    return new KmsConnector(
        egress,
        sslContext(trusted),
        "exactly "
            + trusted.size()
            + " pinned certificate(s) ("
            + trusted.getFirst().getSubjectX500Principal().getName()
            + ")",
        options);
  }

  /** A TLS context whose only trust anchors are {@code trusted} (PKIX, no revocation look-ups). */
  private static SSLContext sslContext(List<X509Certificate> trusted)
      throws GeneralSecurityException {
    KeyStore ks = KeyStore.getInstance("PKCS12");
    try {
      ks.load(null, null);
    } catch (IOException e) {
      throw new GeneralSecurityException("cannot create an empty key store", e);
    }
    for (int i = 0; i < trusted.size(); i++) {
      ks.setCertificateEntry("trusted-" + i, trusted.get(i));
    }
    TrustManagerFactory tmf = TrustManagerFactory.getInstance("PKIX");
    tmf.init(ks);
    SSLContext ctx = SSLContext.getInstance("TLS");
    ctx.init(null, tmf.getTrustManagers(), null);
    return ctx;
  }

  /** Reads every certificate of a PEM file. */
  public static List<X509Certificate> readPem(Path pemFile)
      throws IOException, GeneralSecurityException {
    if (Files.size(pemFile) > 256 * 1024) {
      throw new IOException(pemFile + " is larger than 256 KiB: not a certificate file");
    }
    CertificateFactory cf = CertificateFactory.getInstance("X.509");
    List<X509Certificate> out = new ArrayList<>();
    try (InputStream in = Files.newInputStream(pemFile)) {
      for (var c : cf.generateCertificates(in)) {
        out.add((X509Certificate) c);
      }
    }
    if (out.isEmpty()) {
      throw new IOException(pemFile + " holds no certificate");
    }
    return out;
  }

  /** {@code kms.<region>.amazonaws.com}: the name used for SNI, verification and SigV4. */
  public static String kmsHost(String region) {
    checkRegion(region);
    return "kms." + region + ".amazonaws.com";
  }

  /** The host's KMS egress endpoint this connector forwards to. */
  public Endpoint egress() {
    return egress;
  }

  /** The configured timeouts. */
  public Options options() {
    return options;
  }

  /** The local forwarder's connect failures so far (to tell "KMS unreachable" apart). */
  public long forwarderConnectFailures() {
    synchronized (lock) {
      return pipe == null ? 0 : pipe.stats().connectFailures();
    }
  }

  /**
   * A new KMS client for {@code region} signing with {@code credentials} (session credentials
   * when a session token is present). The caller closes it. Starts the forwarder on first use.
   *
   * @throws IOException if the local forwarder cannot be started
   */
  public KmsClient client(String region, EnclaveApi.AwsCredentials credentials) throws IOException {
    String host = kmsHost(region);
    Objects.requireNonNull(credentials, "credentials");
    InetSocketAddress forwarder = startForwarder();
    AwsCredentials creds =
        credentials.sessionToken() == null || credentials.sessionToken().isEmpty()
            ? AwsBasicCredentials.create(credentials.accessKeyId(), credentials.secretAccessKey())
            : AwsSessionCredentials.create(
                credentials.accessKeyId(),
                credentials.secretAccessKey(),
                credentials.sessionToken());
    InetAddress loopback;
    try {
      loopback = InetAddress.getByAddress(host, new byte[] {127, 0, 0, 1});
    } catch (UnknownHostException e) {
      throw new AssertionError("a 4-byte address is always valid", e);
    }
    ApacheHttpClient.Builder http =
        ApacheHttpClient.builder()
            .socketFactory(new KmsTlsSocketFactory(tls, host, () -> forwarder))
            .dnsResolver(
                name -> {
                  if (!host.equalsIgnoreCase(name)) {
                    throw new UnknownHostException(
                        "no DNS in the enclave; only " + host + " is known");
                  }
                  return new InetAddress[] {loopback};
                })
            .connectionTimeout(options.connectTimeout())
            .socketTimeout(options.attemptTimeout())
            .connectionAcquisitionTimeout(options.connectTimeout())
            .maxConnections(4)
            .useIdleConnectionReaper(false);
    return KmsClient.builder()
        .region(Region.of(region))
        .defaultsMode(DefaultsMode.STANDARD)
        .credentialsProvider(StaticCredentialsProvider.create(creds))
        .httpClient(http.build())
        .overrideConfiguration(
            o ->
                o.retryStrategy(
                        AwsRetryStrategy.standardRetryStrategy().toBuilder()
                            .maxAttempts(options.maxAttempts())
                            .build())
                    .apiCallAttemptTimeout(options.attemptTimeout())
                    .apiCallTimeout(options.callTimeout()))
        .build();
  }

  private InetSocketAddress startForwarder() throws IOException {
    synchronized (lock) {
      if (closed) {
        throw new IOException("the KMS connector is closed");
      }
      if (pipe != null) {
        return pipeAddress;
      }
      EventLoopGroup g = Transports.newEventLoopGroup(1);
      L4Pipe p =
          new L4Pipe(
              new L4Pipe.Config(
                  new TcpEndpoint("127.0.0.1", 0),
                  egress,
                  options.connectTimeout(),
                  Duration.ofMinutes(5),
                  16),
              Set.of(egress));
      try {
        Endpoint bound = p.start(g, g);
        if (!(bound instanceof TcpEndpoint t)) {
          throw new IOException("the forwarder bound " + bound + ", not a TCP port");
        }
        pipeAddress = new InetSocketAddress(InetAddress.getLoopbackAddress(), t.port());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        p.close();
        g.shutdownGracefully(0, 0, java.util.concurrent.TimeUnit.MILLISECONDS);
        throw new IOException("interrupted while starting the KMS forwarder", e);
      } catch (IOException e) {
        p.close();
        g.shutdownGracefully(0, 0, java.util.concurrent.TimeUnit.MILLISECONDS);
        // In a Nitro Enclave nothing configures networking: EnclaveMain brings the loopback
        // interface up (dev.keycast.enclave.net.LoopbackInterface) before the KMS path is used.
        throw new IOException(e.getMessage() + " (is the loopback interface lo up?)", e);
      } catch (RuntimeException e) {
        p.close();
        g.shutdownGracefully(0, 0, java.util.concurrent.TimeUnit.MILLISECONDS);
        throw e;
      }
      group = g;
      pipe = p;
      log.info(
          "KMS egress: {} -> {} (TLS to kms.<region>.amazonaws.com terminates in this process; trust: {})",
          pipeAddress,
          egress,
          trustDescription);
      return pipeAddress;
    }
  }

  /** Stops the forwarder. Idempotent. */
  @Override
  public void close() {
    synchronized (lock) {
      closed = true;
      if (pipe != null) {
        pipe.close();
        pipe = null;
      }
      if (group != null) {
        group.shutdownGracefully(0, 1, java.util.concurrent.TimeUnit.SECONDS);
        group = null;
      }
    }
  }

  static void checkRegion(String region) {
    if (region == null || region.length() > 32 || !REGION.matcher(region).matches()) {
      throw new IllegalArgumentException(
          "not a region name: \""
              + (region == null ? "null" : region.substring(0, Math.min(region.length(), 32)))
              + "\"");
    }
  }

  @Override
  public String toString() {
    return "KmsConnector[egress=" + egress + ", trust=" + trustDescription + "]";
  }
}
