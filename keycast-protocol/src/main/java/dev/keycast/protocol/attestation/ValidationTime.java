package dev.keycast.protocol.attestation;

import java.time.Duration;
import java.time.Instant;
import java.util.Objects;

/**
 * When the certificate chain is validated and how fresh the document must be.
 *
 * <ul>
 *   <li>{@link #now(Duration)}: at the verifier's clock; the document timestamp must lie within
 *       {@code [now - maxAge, now + skew]}. The default for senders.
 *   <li>{@link #at(Instant, Duration)}: the same, at a fixed instant (an audit of what a verifier
 *       would have said then).
 *   <li>{@link #documentTimestamp()}: at the document's own timestamp, with no freshness check
 *       (replay/audit only: it proves origin, not freshness).
 * </ul>
 */
public final class ValidationTime {
  /** The default maximum document age. */
  public static final Duration DEFAULT_MAX_AGE = Duration.ofMinutes(5);

  enum Mode {
    NOW,
    AT,
    DOCUMENT
  }

  private final Mode mode;
  private final Instant instant;
  private final Duration maxAge;

  private ValidationTime(Mode mode, Instant instant, Duration maxAge) {
    this.mode = mode;
    this.instant = instant;
    this.maxAge = maxAge;
    if (maxAge != null && (maxAge.isNegative() || maxAge.isZero())) {
      throw new IllegalArgumentException("maxAge must be positive: " + maxAge);
    }
  }

  /** Validate at the verifier's clock; the document must be at most {@code maxAge} old. */
  public static ValidationTime now(Duration maxAge) {
    return new ValidationTime(Mode.NOW, null, Objects.requireNonNull(maxAge, "maxAge"));
  }

  /** Validate at the verifier's clock with {@link #DEFAULT_MAX_AGE}. */
  public static ValidationTime now() {
    return now(DEFAULT_MAX_AGE);
  }

  /** Validate at a fixed instant; the document must be at most {@code maxAge} older than it. */
  public static ValidationTime at(Instant instant, Duration maxAge) {
    return new ValidationTime(
        Mode.AT,
        Objects.requireNonNull(instant, "instant"),
        Objects.requireNonNull(maxAge, "maxAge"));
  }

  /** Validate at the document's own timestamp; no freshness check. */
  public static ValidationTime documentTimestamp() {
    return new ValidationTime(Mode.DOCUMENT, null, null);
  }

  Mode mode() {
    return mode;
  }

  Instant instant() {
    return instant;
  }

  Duration maxAge() {
    return maxAge;
  }

  @Override
  public String toString() {
    return switch (mode) {
      case NOW -> "now (max age " + maxAge + ")";
      case AT -> "at " + instant + " (max age " + maxAge + ")";
      case DOCUMENT -> "at the document timestamp (no freshness check)";
    };
  }
}
