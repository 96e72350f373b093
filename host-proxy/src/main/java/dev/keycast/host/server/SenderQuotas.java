package dev.keycast.host.server;

import dev.keycast.protocol.Base64Url;
import dev.keycast.protocol.MalformedInputException;
import dev.keycast.protocol.api.EnclaveApi;
import dev.keycast.protocol.api.ErrorCode;
import dev.keycast.protocol.crypto.Sha256;
import dev.keycast.protocol.sender.SendStatement;
import dev.keycast.protocol.sender.SenderKey;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Per-sender rate limit, in-flight cap and daily delivery quota of {@code POST /v1/sends}
 * ({@link SenderLimits}; issue 23, api.md section 2.1, operations.md section 4a).
 *
 * <p>A send is counted against the sender whose key signed it only after the host checked that
 * signature itself, exactly as the enclave will (api.md 1.1 step 2a, in the enclave's order): the
 * key is a sender of the set in force (as the enclave's {@code GET /v1/senders} lists it), the
 * Ed25519 signature verifies over the send statement (wire-format.md 8.3) and the signed time is in
 * the enclave's window. Otherwise anyone could spend a studio's quota by sending garbage that
 * names the studio's public key, and anyone could make a fresh bucket per request by naming fresh
 * keys. What fails a check is refused here, with the code the enclave would answer, before it is
 * counted, stored or passed on; the enclave still makes the authoritative check.
 *
 * <p>Sends the enclave refuses before it looks at the sender (a payload version, suite or key set
 * other than the enclave's) pass uncounted: the enclave answers their own code. So do sends while
 * the host cannot read the sender set (the enclave then has none, {@code sender_set_missing}, or
 * cannot be reached): nothing is admitted then, so there is nothing to count. Only keys of the set
 * get state (at most {@link dev.keycast.protocol.sender.SenderSet#MAX_SENDERS} of them, plus keys
 * removed since), so memory is bounded whatever the clients send.
 *
 * <p>The state is the process's: a restart or another parent starts from full buckets and empty
 * day counts. The daily quota is checked before a send and charged with the deliveries the
 * enclave made once the send is committed, so one day may overshoot by the deliveries of the sends
 * in flight when the quota was reached (at most the in-flight cap times each send's
 * {@code max_recipients}).
 */
final class SenderQuotas {
  /** How far in the past a signed send time may lie (the enclave's {@code SenderAuthorizer.MAX_AGE}). */
  static final long MAX_AGE_SECONDS = 300;

  /** How far in the future a signed send time may lie (the enclave's {@code SenderAuthorizer.MAX_AHEAD}). */
  static final long MAX_AHEAD_SECONDS = 60;

  private static final long DAY_MILLIS = 86_400_000L;
  static final String REFUSALS = "keycast_host_sender_refusals_total";
  private static final String REFUSALS_HELP =
      "sends the host refused per sender check or limit (reason: a fixed set, never a key)";

  private final SenderLimits limits;
  private final HostControl control;
  private final HostMetrics metrics;
  private final Clock clock;
  private final Map<SenderKey, Account> accounts = new ConcurrentHashMap<>();

  SenderQuotas(SenderLimits limits, HostControl control, HostMetrics metrics, Clock clock) {
    this.limits = Objects.requireNonNull(limits, "limits");
    this.control = Objects.requireNonNull(control, "control");
    this.metrics = Objects.requireNonNull(metrics, "metrics");
    this.clock = Objects.requireNonNull(clock, "clock");
  }

  /** One admitted send: release it when done, charge its deliveries once committed. */
  interface Permit extends AutoCloseable {
    /** Charges {@code deliveries} to the sender's day. */
    void delivered(int deliveries);

    /** Ends the send (its in-flight slot is free again); idempotent. */
    @Override
    void close();
  }

  /** The permit of a send that is not counted. */
  static final Permit UNCOUNTED =
      new Permit() {
        @Override
        public void delivered(int deliveries) {}

        @Override
        public void close() {}
      };

  /**
   * Checks the sender of {@code p} (its decoded {@code policy}, {@code enc}, {@code ciphertext} and
   * {@code sendId}) and takes one send of its limits.
   *
   * @throws ApiException {@code sender_required}, {@code malformed_request},
   *     {@code sender_unknown}, {@code sender_signature_invalid},
   *     {@code sender_timestamp_out_of_window}, or (429, with Retry-After)
   *     {@code sender_quota_exceeded}, {@code sender_in_flight_limited}, {@code sender_rate_limited}
   */
  Permit admit(
      EnclaveApi.SendPayload p, byte[] policy, byte[] enc, byte[] ciphertext, String sendId)
      throws ApiException, InterruptedException {
    if (limits.off()) {
      return UNCOUNTED;
    }
    EnclaveApi.KeyBundle bundle = control.keyBundle();
    if (p.version() != 1
        || !EnclaveApi.SUITE_V1.equals(p.suite())
        || bundle == null
        || !p.keySetId().equals(bundle.keySetId())) {
      return UNCOUNTED; // the enclave refuses it before it looks at the sender
    }
    List<SenderKey> allowed = control.senderKeys(false);
    if (allowed.isEmpty()) {
      return UNCOUNTED; // no set readable: the enclave refuses every send (sender_set_missing)
    }
    EnclaveApi.SenderSignature s = p.sender();
    if (s == null) {
      throw refused(
          "required",
          ErrorCode.SENDER_REQUIRED,
          "the send carries no sender signature; sign it with keycast send --sender-key");
    }
    if (s.key() == null || s.timestamp() == null || s.signature() == null) {
      throw refused(
          "malformed", ErrorCode.MALFORMED_REQUEST, "sender needs key, timestamp and signature");
    }
    SenderKey key;
    byte[] signature;
    try {
      key = SenderKey.of("sender.key", Base64Url.decode("sender.key", s.key(), SenderKey.LENGTH));
      signature = Base64Url.decode("sender.signature", s.signature(), 64);
    } catch (MalformedInputException e) {
      throw refused("malformed", ErrorCode.MALFORMED_REQUEST, e.getMessage());
    }
    if (s.timestamp() < 0 || s.timestamp() > Instant.MAX.getEpochSecond()) {
      throw refused("malformed", ErrorCode.MALFORMED_REQUEST, "sender.timestamp is out of range");
    }
    if (!allowed.contains(key)) {
      allowed = control.senderKeys(true); // perhaps a sender just added (rate-limited refresh)
      if (allowed.isEmpty()) {
        return UNCOUNTED;
      }
    }
    if (!allowed.contains(key)) {
      throw refused(
          "unknown",
          ErrorCode.SENDER_UNKNOWN,
          "sender " + key.fingerprint() + " is not in the enclave's sender set");
    }
    Instant ts = Instant.ofEpochSecond(s.timestamp());
    SendStatement statement =
        new SendStatement(
            p.keySetId(), Sha256.digest(policy), Sha256.digest(enc, ciphertext), sendId, ts, key);
    if (!statement.verifies(signature)) {
      throw refused(
          "signature_invalid",
          ErrorCode.SENDER_SIGNATURE_INVALID,
          "the sender signature does not verify over this send's statement");
    }
    long now = clock.instant().getEpochSecond();
    if (s.timestamp() < now - MAX_AGE_SECONDS || s.timestamp() > now + MAX_AHEAD_SECONDS) {
      throw refused(
          "timestamp",
          ErrorCode.SENDER_TIMESTAMP_OUT_OF_WINDOW,
          "the signed timestamp "
              + ts
              + " is outside the window (now "
              + now
              + "s, -"
              + MAX_AGE_SECONDS
              + "s..+"
              + MAX_AHEAD_SECONDS
              + "s)");
    }
    if (accounts.size() > 4 * dev.keycast.protocol.sender.SenderSet.MAX_SENDERS) {
      accounts.keySet().retainAll(allowed); // keys removed from the set since: forget them
    }
    return accounts.computeIfAbsent(key, k -> new Account(limits)).take(key, clock.millis());
  }

  private ApiException refused(String reason, ErrorCode code, String message) {
    metrics.inc(REFUSALS, REFUSALS_HELP, "reason", reason);
    return new ApiException(code, message);
  }

  private ApiException limited(String reason, ErrorCode code, String message, long retryAfter) {
    metrics.inc(REFUSALS, REFUSALS_HELP, "reason", reason);
    return ApiException.retryAfter(code, message, retryAfter);
  }

  /** One sender's bucket, sends in flight and day count; guarded by its own monitor. */
  private final class Account {
    private final SenderLimits l;
    private double tokens;
    private long refilledAtMillis = Long.MIN_VALUE;
    private int inFlight;
    private long day = Long.MIN_VALUE;
    private long deliveredToday;

    Account(SenderLimits l) {
      this.l = l;
      this.tokens = l.burst();
    }

    synchronized Permit take(SenderKey key, long nowMillis) throws ApiException {
      rollDay(nowMillis);
      if (l.dailyDeliveries() > 0 && deliveredToday >= l.dailyDeliveries()) {
        long toMidnight = (day + 1) * DAY_MILLIS - nowMillis;
        throw limited(
            "daily_quota",
            ErrorCode.SENDER_QUOTA_EXCEEDED,
            "sender "
                + key.fingerprint()
                + " has used its quota of "
                + l.dailyDeliveries()
                + " deliveries for this UTC day",
            (toMidnight + 999) / 1000);
      }
      if (l.maxInFlight() > 0 && inFlight >= l.maxInFlight()) {
        throw limited(
            "in_flight",
            ErrorCode.SENDER_IN_FLIGHT_LIMITED,
            "sender "
                + key.fingerprint()
                + " already has "
                + inFlight
                + " sends in flight, the most it may",
            1);
      }
      if (l.sendsPerMinute() > 0) {
        double perMilli = l.sendsPerMinute() / 60_000.0;
        if (refilledAtMillis != Long.MIN_VALUE && nowMillis > refilledAtMillis) {
          tokens = Math.min(l.burst(), tokens + (nowMillis - refilledAtMillis) * perMilli);
        }
        refilledAtMillis =
            Math.max(nowMillis, refilledAtMillis == Long.MIN_VALUE ? nowMillis : refilledAtMillis);
        if (tokens < 1) {
          long waitMillis = (long) Math.ceil((1 - tokens) / perMilli);
          throw limited(
              "rate",
              ErrorCode.SENDER_RATE_LIMITED,
              "sender "
                  + key.fingerprint()
                  + " sends faster than "
                  + l.sendsPerMinute()
                  + " per minute (burst "
                  + l.burst()
                  + ")",
              (waitMillis + 999) / 1000);
        }
        tokens -= 1;
      }
      inFlight++;
      return new Permit() {
        private boolean closed;

        @Override
        public void delivered(int deliveries) {
          charge(deliveries, clock.millis());
        }

        @Override
        public void close() {
          synchronized (Account.this) {
            if (!closed) {
              closed = true;
              inFlight--;
            }
          }
        }
      };
    }

    synchronized void charge(int deliveries, long nowMillis) {
      rollDay(nowMillis);
      deliveredToday += Math.max(0, deliveries);
    }

    private void rollDay(long nowMillis) {
      long today = Math.floorDiv(nowMillis, DAY_MILLIS);
      if (today != day) {
        day = today;
        deliveredToday = 0;
      }
    }
  }
}
