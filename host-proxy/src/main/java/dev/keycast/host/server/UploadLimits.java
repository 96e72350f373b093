package dev.keycast.host.server;

import java.time.Duration;
import java.util.Objects;

/**
 * Limits on request bodies that an unauthenticated client can make the host hold.
 *
 * <p>Every body byte a listener accepts is counted against one budget shared by all connections
 * ({@code maxBytesInFlight}) from the moment its request head arrives (its declared
 * {@code Content-Length}, or chunk by chunk) until its answer has been written: a request that
 * does not fit is answered {@code 503 overloaded} before any of its body is read. Each route has
 * its own body cap ({@link RouteBodyCaps}); a larger declared or received body is answered
 * {@code 413 payload_too_large}. A body must arrive at {@code minBytesPerSecond} or faster on
 * average, counted from {@code grace} after its head (time the host itself stopped reading, for
 * back-pressure, does not count); a slower one is answered {@code 408 request_timeout} and its
 * connection closed.
 *
 * @param maxBytesInFlight body bytes held at once, across all connections of the server
 * @param minBytesPerSecond slowest accepted upload rate, averaged
 * @param grace time after a request head before the upload rate is enforced
 * @param checkEvery how often the upload rate of a body in progress is checked
 */
public record UploadLimits(
    long maxBytesInFlight, long minBytesPerSecond, Duration grace, Duration checkEvery) {
  /** Default budget of body bytes in flight: 256 MiB (four of the largest sends). */
  public static final long DEFAULT_MAX_BYTES_IN_FLIGHT = 256L << 20;

  /** Default slowest upload: 16 KiB/s. */
  public static final long DEFAULT_MIN_BYTES_PER_SECOND = 16L << 10;

  /** Validates the limits. */
  public UploadLimits {
    Objects.requireNonNull(grace, "grace");
    Objects.requireNonNull(checkEvery, "checkEvery");
    if (maxBytesInFlight < 1
        || minBytesPerSecond < 1
        || grace.isNegative()
        || checkEvery.toMillis() < 1) {
      throw new IllegalArgumentException(
          "upload limits must be positive (budget, rate, check interval) and the grace not negative");
    }
  }

  /** 256 MiB in flight, 16 KiB/s after 10 s, checked every second. */
  public static UploadLimits defaults() {
    return new UploadLimits(
        DEFAULT_MAX_BYTES_IN_FLIGHT,
        DEFAULT_MIN_BYTES_PER_SECOND,
        Duration.ofSeconds(10),
        Duration.ofSeconds(1));
  }
}
