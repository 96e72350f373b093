package dev.keycast.host.egress;

import dev.keycast.transport.Endpoint;
import dev.keycast.transport.L4Pipe;
import dev.keycast.transport.PipeStats;
import dev.keycast.transport.TcpEndpoint;
import io.netty.channel.EventLoopGroup;
import java.io.IOException;
import java.time.Duration;
import java.util.HashSet;
import java.util.Objects;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The enclave's only way out: an L4 pipe from {@code --kms-egress-listen} (VSOCK port 8000 on
 * Nitro) to the KMS endpoint of the region. The target must be in the allowlist: the regional KMS
 * endpoint ({@code kms.<region>.amazonaws.com:443} and its FIPS variant), or an address given
 * explicitly for mock mode. TLS runs end to end between the enclave and KMS; the pipe sees
 * ciphertext only.
 */
public final class KmsEgress implements AutoCloseable {
  private static final Pattern REGION = Pattern.compile("[a-z]{2}(-[a-z]+)+-\\d{1,2}");

  private final L4Pipe pipe;

  /**
   * A pipe to {@code target}, allowed when it is the region's KMS endpoint or equals
   * {@code extraAllowed} (the mock KMS in mock mode; null in production).
   *
   * @throws L4Pipe.TargetNotAllowedException if the target is not allowed
   */
  public KmsEgress(
      Endpoint listen, Endpoint target, String region, Endpoint extraAllowed, int maxConnections) {
    Set<Endpoint> allow = new HashSet<>(allowlist(region));
    if (extraAllowed != null) {
      allow.add(extraAllowed);
    }
    this.pipe =
        new L4Pipe(
            new L4Pipe.Config(
                listen,
                Objects.requireNonNull(target, "target"),
                Duration.ofSeconds(10),
                Duration.ofMinutes(5),
                maxConnections),
            allow);
  }

  /** The default KMS endpoint of {@code region}. */
  public static Endpoint defaultTarget(String region) {
    checkRegion(region);
    return new TcpEndpoint("kms." + region + ".amazonaws.com", 443);
  }

  /** The production allowlist of {@code region}: the KMS endpoint and its FIPS variant, port 443. */
  public static Set<Endpoint> allowlist(String region) {
    checkRegion(region);
    return Set.of(
        new TcpEndpoint("kms." + region + ".amazonaws.com", 443),
        new TcpEndpoint("kms-fips." + region + ".amazonaws.com", 443));
  }

  private static void checkRegion(String region) {
    if (region == null || !REGION.matcher(region).matches()) {
      throw new IllegalArgumentException(
          "not an AWS region name: "
              + (region == null ? "null" : "\"" + region.replaceAll("[^\\x20-\\x7e]", "?") + "\""));
    }
  }

  /** Starts listening; returns the endpoint really bound. */
  public Endpoint start(EventLoopGroup parent, EventLoopGroup child)
      throws IOException, InterruptedException {
    return pipe.start(parent, child);
  }

  /** Live counters (connections, bytes). */
  public PipeStats stats() {
    return pipe.stats();
  }

  /** The pipe's target. */
  public Endpoint target() {
    return pipe.config().target();
  }

  @Override
  public void close() {
    pipe.close();
  }
}
