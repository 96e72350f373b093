package dev.keycast.host.server;

/**
 * Per-sender limits of {@code POST /v1/sends} (issue 23: "quotas and rate limits per sender";
 * operations.md section 4a). Each sender, named by the Ed25519 key whose signature of the send the
 * host verified ({@link SenderQuotas}), has its own token bucket, its own count of sends in flight
 * and its own count of deliveries in the current UTC day; a value of 0 switches that limit off.
 *
 * @param sendsPerMinute the bucket's refill rate (sends per minute); 0: no rate limit
 * @param burst the bucket's size: how many sends a sender idle long enough may make at once
 * @param maxInFlight most sends of one sender the host works on at once; 0: no cap
 * @param dailyDeliveries most deliveries (recipients or screens) of one sender's sends per UTC
 *     day; 0: no quota
 */
public record SenderLimits(long sendsPerMinute, long burst, int maxInFlight, long dailyDeliveries) {
  /**
   * Default rate: 600 sends per minute (10 a second, bursts of 100) per sender, generous for a
   * studio's sends; the local stack that measures the service's capacity with one sender lifts it
   * ({@code scripts/run-local}: {@code --sender-rate off}).
   */
  public static final long DEFAULT_SENDS_PER_MINUTE = 600;

  /**
   * Default cap of sends in flight per sender: half of the host's default enclave connections
   * ({@code --max-enclave-connections} 64), so one sender leaves the other half to the others.
   */
  public static final int DEFAULT_MAX_IN_FLIGHT = 32;

  /** Largest value of any limit (far beyond what one host serves). */
  public static final long MAX_VALUE = 1_000_000_000_000L;

  /** Validates the limits. */
  public SenderLimits {
    if (sendsPerMinute < 0
        || sendsPerMinute > MAX_VALUE
        || burst < 0
        || burst > MAX_VALUE
        || maxInFlight < 0
        || dailyDeliveries < 0
        || dailyDeliveries > MAX_VALUE) {
      throw new IllegalArgumentException("sender limits must be 0 (off) to " + MAX_VALUE);
    }
    if (sendsPerMinute > 0 && burst < 1) {
      throw new IllegalArgumentException("a sender rate needs a burst of at least 1");
    }
  }

  /** The default burst of a rate: ten seconds of it, at least 1. */
  public static long defaultBurst(long sendsPerMinute) {
    return Math.max(1, sendsPerMinute / 6);
  }

  /** The defaults: {@link #DEFAULT_SENDS_PER_MINUTE} (burst ten seconds of it), {@link #DEFAULT_MAX_IN_FLIGHT}, no daily quota. */
  public static SenderLimits defaults() {
    return new SenderLimits(
        DEFAULT_SENDS_PER_MINUTE, defaultBurst(DEFAULT_SENDS_PER_MINUTE), DEFAULT_MAX_IN_FLIGHT, 0);
  }

  /** No limit at all (the host then neither verifies nor counts senders; the enclave still checks them). */
  public static SenderLimits none() {
    return new SenderLimits(0, 0, 0, 0);
  }

  /** True when every limit is off. */
  public boolean off() {
    return sendsPerMinute == 0 && maxInFlight == 0 && dailyDeliveries == 0;
  }

  /**
   * A rate as the {@code --sender-rate} flag writes it: {@code N/min}, {@code N/s} or {@code off}
   * (or {@code 0}); answers sends per minute.
   */
  public static long parseRate(String s) {
    if (s == null) {
      throw new IllegalArgumentException("a sender rate is N/min, N/s or off");
    }
    String t = s.trim();
    if (t.equals("off") || t.equals("0")) {
      return 0;
    }
    long factor;
    String n;
    if (t.endsWith("/min")) {
      factor = 1;
      n = t.substring(0, t.length() - 4);
    } else if (t.endsWith("/s")) {
      factor = 60;
      n = t.substring(0, t.length() - 2);
    } else {
      throw new IllegalArgumentException(
          "a sender rate is N/min, N/s or off, not '" + bounded(t) + "'");
    }
    long v = parseCount(n, "a sender rate");
    if (v < 1 || v > MAX_VALUE / 60) {
      throw new IllegalArgumentException(
          "a sender rate must be 1 to " + MAX_VALUE / 60 + " per unit, not " + v);
    }
    return v * factor;
  }

  /** A count of a flag ({@code off} or {@code 0}: 0), at most {@link #MAX_VALUE}. */
  public static long parseCount(String s, String what) {
    String t = s == null ? "" : s.trim();
    if (t.equals("off")) {
      return 0;
    }
    if (t.isEmpty() || t.length() > 13 || !t.chars().allMatch(c -> c >= '0' && c <= '9')) {
      throw new IllegalArgumentException(
          what + " must be a whole number or off, not '" + bounded(t) + "'");
    }
    long v = Long.parseLong(t);
    if (v > MAX_VALUE) {
      throw new IllegalArgumentException(what + " must be at most " + MAX_VALUE);
    }
    return v;
  }

  private static String bounded(String s) {
    return s.length() > 40 ? s.substring(0, 40) + "..." : s;
  }
}
