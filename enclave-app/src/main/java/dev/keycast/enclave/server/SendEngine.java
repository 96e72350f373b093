package dev.keycast.enclave.server;

import com.fasterxml.jackson.core.Base64Variant;
import com.fasterxml.jackson.core.Base64Variants;
import com.fasterxml.jackson.core.JsonGenerator;
import dev.keycast.protocol.FingerprintSet;
import dev.keycast.protocol.api.EnclaveApi;
import dev.keycast.protocol.api.ErrorCode;
import dev.keycast.protocol.cinema.KdmDeliveries;
import dev.keycast.protocol.crypto.Sha256;
import dev.keycast.protocol.envelope.DeliveryFormat;
import dev.keycast.protocol.envelope.DeliveryMetadata;
import dev.keycast.protocol.envelope.RecipientKey;
import dev.keycast.protocol.policy.Eligibility;
import dev.keycast.protocol.policy.SendPolicy;
import dev.keycast.protocol.receipt.Receipt;
import dev.keycast.protocol.receipt.ReceiptBuilder;
import java.io.IOException;
import java.security.SecureRandom;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import java.util.concurrent.FutureTask;
import java.util.function.IntFunction;

/**
 * The one fan-out engine of sends and forwards (api.md sections 1.1 and 1.2), KDM sends included
 * (wire-format.md section 9, {@link KdmDeliveryFamily}): candidates arrive one at a time ({@link FanOut#add}); every {@link #CHUNK} of them is
 * decided (eligibility from the sealed policy and the candidate's own key or chain) and, when
 * eligible, sealed by its {@link DeliveryFamily} on the fan-out pool, while the caller goes on
 * reading; results are then checked and written in candidate order. One path decides, skips,
 * de-duplicates and enforces {@code max_recipients} for every kind of request.
 *
 * <p>Memory stays bounded for large requests: at most two chunks of candidates and envelopes are
 * alive; the deliveries are written to the caller's {@link JsonGenerator} as they come and the
 * receipt is encoded incrementally ({@link ReceiptBuilder}).
 *
 * <p>Thread-safe. The calling thread coordinates; the per-candidate work runs on the fan-out pool,
 * which must not be the caller's own pool (the caller blocks on it).
 */
final class SendEngine {
  /** Most candidates one request may carry (a receipt must stay under 64 MiB). */
  static final int MAX_CANDIDATES = 250_000;

  /**
   * Candidates decided and sealed per chunk: small enough that what two chunks in flight keep
   * alive across a young collection (candidate JSON strings, envelopes, about 1.5 MiB per chunk)
   * fits the 4 MiB survivor space of the enclave's {@code -Xmn40m} (larger chunks overflowed it:
   * every young collection promoted 2-3 MiB, and the old generation filled up once per
   * 10,000-recipient send), large enough to keep every worker busy.
   */
  static final int CHUNK = 256;

  /**
   * Candidates at most this many are decided and sealed on the calling thread: for a one-recipient
   * send the hand-off to the fan-out pool and back cost more than the work saved by it.
   */
  static final int INLINE_MAX = 2;

  /**
   * base64url without padding (RFC 4648 section 5), as {@code Base64Url.encode}: Jackson's {@code
   * MODIFIED_FOR_URL} variant writes no padding and no line breaks.
   */
  static final Base64Variant BASE64URL = Base64Variants.MODIFIED_FOR_URL;

  private final ExecutorService pool;
  private final int parallelism;
  private final SecureRandom random;
  private final EnclaveMetrics metrics;
  private final RecipientValidator validator = new RecipientValidator();

  /** KDM sends (wire-format.md section 9): the signer source and the per-thread KDM writers. */
  private final KdmDeliveryFamily kdm;

  /** An engine without a KDM signer: KDM sends are refused with {@code kdm_signer_unavailable}. */
  SendEngine(ExecutorService pool, int parallelism, SecureRandom random, EnclaveMetrics metrics) {
    this(pool, parallelism, random, metrics, KdmSignerSource.unavailable());
  }

  /**
   * @param pool the worker pool for per-candidate work
   * @param parallelism how many tasks a chunk is split into (the pool's size)
   * @param kdmSigners the key set's KDM signer, asked once per KDM send or forward
   */
  SendEngine(
      ExecutorService pool,
      int parallelism,
      SecureRandom random,
      EnclaveMetrics metrics,
      KdmSignerSource kdmSigners) {
    if (parallelism < 1) {
      throw new IllegalArgumentException("parallelism must be at least 1");
    }
    this.pool = pool;
    this.parallelism = parallelism;
    this.random = random;
    this.metrics = metrics;
    this.kdm = new KdmDeliveryFamily(kdmSigners, random);
  }

  /**
   * What one fan-out delivers.
   *
   * @param kind a send, or a forward (a later delivery: the policy's {@code late_recipients}
   *     applies, and the delivered fingerprints are listed for the receipt id)
   * @param sendId the send's id (deliveries' ids derive from it)
   * @param policy the sealed policy (eligibility, {@code max_recipients}, delivery metadata)
   * @param secret the secret; read, not kept past the fan-out, zeroized by the caller
   * @param receipt the receipt the deliveries and skips are added to
   * @param now the instant eligibility is decided at
   * @param sender the signed sender the deliveries name (a send), or null (a forward)
   */
  record Job(
      Receipt.Kind kind,
      String sendId,
      SendPolicy policy,
      byte[] secret,
      ReceiptBuilder receipt,
      Instant now,
      dev.keycast.protocol.sender.SenderKey sender,
      KdmWindow kdmWindow) {
    /** A job whose KDMs (if any) carry the policy's window as their key window. */
    Job(
        Receipt.Kind kind,
        String sendId,
        SendPolicy policy,
        byte[] secret,
        ReceiptBuilder receipt,
        Instant now,
        dev.keycast.protocol.sender.SenderKey sender) {
      this(kind, sendId, policy, secret, receipt, now, sender, null);
    }

    boolean late() {
      return kind == Receipt.Kind.FORWARD;
    }
  }

  /**
   * A KDM key window other than the policy's (a booking, wire-format.md section 11.5: KDMs are
   * booked before their window opens, so the policy's window, inside which the request must be
   * made, runs from the request to the booking's end, while the KDMs carry the booking's window).
   */
  record KdmWindow(Instant notBefore, Instant notAfter) {}

  /** The error of a request with more than {@link #MAX_CANDIDATES} candidates. */
  static EnclaveApiException tooManyCandidates() {
    return new EnclaveApiException(
        ErrorCode.TOO_MANY_RECIPIENTS,
        "more than " + MAX_CANDIDATES + " candidates exceed the service's limit");
  }

  /**
   * Starts a fan-out that writes the {@code deliveries} array to {@code g} (the caller has written
   * the members before it and writes those after {@link FanOut#finish}).
   *
   * @throws EnclaveApiException {@code invalid_policy} when the policy cannot drive a fan-out; for
   *     a KDM send also {@code kdm_signer_unavailable}, {@code kdm_signer_window} and {@code
   *     invalid_content_keys} (wire-format.md section 9)
   */
  FanOut start(Job job, JsonGenerator g) throws EnclaveApiException, IOException {
    FanOut f = new FanOut(job, g);
    try {
      g.writeArrayFieldStart("deliveries");
    } catch (IOException | RuntimeException e) {
      f.close(); // zeroizes a KDM send's decoded keys
      throw e;
    }
    return f;
  }

  /** One request's fan-out: eligibility decisions, deliveries, skips; used by one thread. */
  final class FanOut implements AutoCloseable {
    private final Job job;
    private final JsonGenerator g;
    private final DeliveryMetadata template;
    private final List<DeliveryFamily> families;
    private final Eligibility eligibility;

    /** A KDM send's issuance (decoded content keys, signer), or null for every other send. */
    private final KdmDeliveryFamily.Send kdmSend;

    private final List<Receipt.Skipped> skipped = new ArrayList<>();
    private final FingerprintSet seen = new FingerprintSet();
    private final TreeSet<String> delivered = new TreeSet<>();

    /** The certificates above the leaves, parsed once per send (RecipientValidator#parse). */
    private final java.util.Map<java.nio.ByteBuffer, dev.keycast.protocol.policy.ParsedCertificate>
        authorities = new java.util.concurrent.ConcurrentHashMap<>();

    private List<EnclaveApi.Candidate> chunk = new ArrayList<>(CHUNK);
    private List<Future<List<Outcome>>> inFlight = List.of();
    private int inFlightBase;
    private int candidates;
    private int eligibleCount;

    private FanOut(Job job, JsonGenerator g) throws EnclaveApiException {
      this.job = job;
      this.g = g;
      SendPolicy policy = job.policy();
      try {
        this.eligibility = new Eligibility(policy);
      } catch (Eligibility.InvalidPolicyException e) {
        throw new EnclaveApiException(ErrorCode.INVALID_POLICY, "policy: " + e.getMessage());
      }
      try {
        // DeliveryMetadata is stricter than the policy format: whole seconds, 256 UTF-8 bytes.
        DeliveryMetadata md =
            DeliveryMetadata.of(
                policy.secretId(),
                policy.sender(),
                policy.notBefore(),
                policy.notAfter(),
                "0".repeat(64));
        // sender identity (issue 23): deliveries of a signed send name the sender, authenticated
        this.template = job.sender() == null ? md : md.withSender(job.sender().raw());
      } catch (IllegalArgumentException e) {
        throw new EnclaveApiException(ErrorCode.INVALID_POLICY, "policy: " + e.getMessage());
      }
      this.families = DeliveryFamily.forPolicy(policy);
      // last: what it decodes is zeroized by close(), which the caller reaches once this returns
      this.kdmSend =
          policy.isKdmSend() ? kdm.start(policy, job.kdmWindow(), job.secret(), job.now()) : null;
    }

    /** Takes the next candidate ({@code null} is an invalid one); starts a full chunk on the pool. */
    void add(EnclaveApi.Candidate candidate) throws EnclaveApiException, IOException {
      if (candidates == MAX_CANDIDATES) {
        throw tooManyCandidates();
      }
      chunk.add(candidate);
      candidates++;
      if (chunk.size() == CHUNK) {
        submitChunk();
      }
    }

    /** Starts the current chunk on the pool after writing the chunk before it (one in flight). */
    private void submitChunk() throws EnclaveApiException, IOException {
      List<EnclaveApi.Candidate> c = chunk;
      chunk = new ArrayList<>(CHUNK);
      List<Future<List<Outcome>>> next = submit(c.size(), i -> outcome(c.get(i)));
      int base = candidates - c.size();
      try {
        drain();
      } catch (EnclaveApiException | IOException | RuntimeException e) {
        next.forEach(x -> x.cancel(true));
        throw e;
      }
      inFlight = next;
      inFlightBase = base;
    }

    /** Writes the chunk in flight, in candidate order. */
    private void drain() throws EnclaveApiException, IOException {
      List<Future<List<Outcome>>> current = inFlight;
      inFlight = List.of();
      List<Outcome> outcomes = collect(current);
      for (int k = 0; k < outcomes.size(); k++) {
        accept(inFlightBase + k, outcomes.get(k));
      }
    }

    /**
     * After the last candidate: writes the rest of the deliveries, closes the array and writes
     * {@code skipped}. Every check that fails a request has run when this returns.
     */
    void finish() throws EnclaveApiException, IOException {
      if (!chunk.isEmpty()) {
        submitChunk();
      }
      drain();
      metrics.fanout(eligibleCount);
      // the de-duplication set is no longer read: let it go before the receipt is signed
      // (FingerprintSet: about 8 MB at 250,000 candidates)
      seen.clear();
      g.writeEndArray();
      g.writeArrayFieldStart("skipped");
      for (Receipt.Skipped s : skipped) {
        g.writeStartObject();
        g.writeStringField("recipient", s.recipientFingerprint());
        g.writeStringField("reason", s.reasonCode());
        g.writeStringField("message", s.message());
        g.writeEndObject();
      }
      g.writeEndArray();
    }

    int candidates() {
      return candidates;
    }

    int deliveredCount() {
      return eligibleCount;
    }

    int skippedCount() {
      return skipped.size();
    }

    /** The fingerprints a forward delivered to, sorted ascending (after {@link #finish}). */
    List<String> deliveredFingerprints() {
      return List.copyOf(delivered);
    }

    /** On the pool: decides one candidate and, when eligible, seals its envelope. */
    private Outcome outcome(EnclaveApi.Candidate c) {
      RecipientValidator.Parsed parsed;
      try {
        parsed = validator.parse(c, authorities);
      } catch (RecipientValidator.InvalidRecipientException e) {
        Outcome refusedScreen = kdmSend == null ? null : refusedScreenKey(c);
        return refusedScreen != null
            ? refusedScreen
            : new Outcome(null, null, e.getMessage(), null);
      }
      String fp = parsed.key().fingerprint();
      if (kdmSend != null) {
        return kdmOutcome(c, parsed, fp);
      }
      Eligibility.Decision d = eligibility.decideParsed(fp, parsed.chain(), job.now(), job.late());
      if (!d.eligible()) {
        return new Outcome(fp, d, null, null);
      }
      // the outcome waits for its chunk to be written: it keeps the envelope, not the key
      return new Outcome(fp, d, null, seal(parsed.key()));
    }

    /**
     * A KDM send's candidate (wire-format.md section 9.4): a screen with a chain that is an ST
     * 430-2 screen chain at the send's instant, eligible under the policy, whose certificates
     * cover the key window, gets one KDM; anything else is skipped with the check's code.
     */
    private Outcome kdmOutcome(
        EnclaveApi.Candidate c, RecipientValidator.Parsed parsed, String fp) {
      String invalid = kdmSend.checkCinemaData(c);
      if (invalid != null) {
        return new Outcome(null, null, invalid, null);
      }
      if (parsed.chain().isEmpty()) {
        return new Outcome(
            fp,
            new Eligibility.Decision(
                false,
                KdmDeliveryFamily.NOT_A_SCREEN,
                "a KDM send delivers to screens: the candidate has no certificate chain"),
            null,
            null);
      }
      // the ST 430-2 checks first: their codes say what a media block would refuse
      KdmDeliveryFamily.Screen screen = kdmSend.screen(parsed.chain());
      if (screen.chain() == null) {
        return new Outcome(
            fp, new Eligibility.Decision(false, screen.skipReason(), screen.message()), null, null);
      }
      Eligibility.Decision d = eligibility.decideParsed(fp, parsed.chain(), job.now(), job.late());
      if (!d.eligible()) {
        return new Outcome(fp, d, null, null);
      }
      KdmDeliveryFamily.Issued issued = kdmSend.issue(c, screen.chain());
      if (issued.kdm() == null) {
        return new Outcome(
            fp, new Eligibility.Decision(false, issued.skipReason(), issued.message()), null, null);
      }
      byte[] xml = issued.kdm();
      return new Outcome(
          fp,
          d,
          null,
          new Delivered(
              fp,
              KdmDeliveries.FORMAT_ID,
              SendService.deliveryId(job.sendId(), fp),
              xml,
              Sha256.digest(xml)));
    }

    /**
     * A KDM send's screen whose key the recipient parser refuses (an RSA key of another size or
     * exponent): when its chain is well formed and its leaf carries the key as given, it is a
     * screen refused by the ST 430-2 checks, skipped with the check's code as any refused screen
     * is; otherwise null (the candidate is invalid).
     */
    private Outcome refusedScreenKey(EnclaveApi.Candidate c) {
      if (c == null
          || c.chain().isEmpty()
          || c.chain().size() > dev.keycast.protocol.envelope.RecipientKeys.MAX_CERTIFICATES) {
        return null;
      }
      try {
        byte[] spki =
            dev.keycast.protocol.Base64Url.decode(
                "key", c.key(), dev.keycast.protocol.envelope.RecipientKeys.MAX_INPUT_LENGTH);
        List<dev.keycast.protocol.policy.ParsedCertificate> chain =
            new ArrayList<>(c.chain().size());
        for (String der : c.chain()) {
          chain.add(
              dev.keycast.protocol.policy.ParsedCertificate.parse(
                  dev.keycast.protocol.Base64Url.decode(
                      "chain", der, RecipientValidator.MAX_CERTIFICATE_BYTES)));
        }
        if (!chain.getFirst().hasPublicKey(spki) || kdmSend.checkCinemaData(c) != null) {
          return null;
        }
        KdmDeliveryFamily.Screen screen = kdmSend.screen(chain);
        if (screen.chain() != null) {
          return null; // a chain the ST 430-2 checks accept with a key the parser refuses: invalid
        }
        return new Outcome(
            dev.keycast.protocol.Fingerprints.ofSpki(spki),
            new Eligibility.Decision(false, screen.skipReason(), screen.message()),
            null,
            null);
      } catch (dev.keycast.protocol.MalformedInputException | RuntimeException e) {
        return null;
      }
    }

    private Delivered seal(RecipientKey key) {
      DeliveryFormat<?> format = formatFor(key);
      String fp = key.fingerprint();
      byte[] envelope = format.seal(key, template.withRecipient(fp), job.secret(), random);
      // the digest runs here, on the pool; the base64url text is written straight into the
      // answer's buffer by the coordinating thread (no String per envelope)
      return new Delivered(
          fp,
          format.id(),
          SendService.deliveryId(job.sendId(), fp),
          envelope,
          Sha256.digest(envelope));
    }

    private DeliveryFormat<?> formatFor(RecipientKey key) {
      for (DeliveryFamily family : families) {
        DeliveryFormat<?> f = family.formatFor(key);
        if (f != null) {
          return f;
        }
      }
      throw new IllegalStateException("no delivery family for a " + key.getClass().getSimpleName());
    }

    /**
     * The one skip and eligibility path: records one outcome in candidate order, refusing an
     * invalid candidate and the delivery past {@code max_recipients}, and writes its delivery.
     */
    private void accept(int index, Outcome o) throws EnclaveApiException, IOException {
      if (o.invalid() != null) {
        throw new EnclaveApiException(
            ErrorCode.INVALID_RECIPIENT, "candidates[" + index + "]: " + o.invalid());
      }
      if (!seen.add(o.fingerprint())) {
        return; // a repeated recipient is delivered once
      }
      Delivered d = o.delivered();
      if (d == null) {
        Eligibility.Decision decision = o.decision();
        Receipt.Skipped s =
            new Receipt.Skipped(o.fingerprint(), decision.reason(), truncate(decision.message()));
        skipped.add(s);
        job.receipt().add(s);
        metrics.skipped(s.reasonCode());
        return;
      }
      int max = job.policy().maxRecipients();
      if (++eligibleCount > max) {
        throw new EnclaveApiException(
            ErrorCode.TOO_MANY_RECIPIENTS,
            "more than "
                + max
                + " eligible recipients exceed the policy's max_recipients of "
                + max);
      }
      if (job.late()) {
        delivered.add(d.fingerprint()); // a forward's receipt id covers them
      }
      job.receipt()
          .add(
              new Receipt.Delivery(
                  d.fingerprint(), d.formatId(), d.deliveryId(), d.envelopeSha256()));
      g.writeStartObject();
      g.writeStringField("delivery_id", d.deliveryId());
      g.writeStringField("recipient", d.fingerprint());
      g.writeStringField("format", d.formatId());
      g.writeFieldName("envelope");
      g.writeBinary(BASE64URL, d.envelope(), 0, d.envelope().length); // no String in between
      g.writeEndObject();
      metrics.delivered(d.formatId(), 1);
    }

    /** Stops the work in flight (the request failed or is done). */
    @Override
    public void close() {
      inFlight.forEach(x -> x.cancel(true));
      if (kdmSend != null) {
        kdmSend.close();
      }
    }
  }

  /**
   * One candidate's result: invalid (a message), skipped (a negative decision) or delivered (an
   * envelope).
   */
  private record Outcome(
      String fingerprint, Eligibility.Decision decision, String invalid, Delivered delivered) {}

  /** One sealed delivery: the envelope's bytes, with its SHA-256 for the receipt. */
  private record Delivered(
      String fingerprint,
      String formatId,
      String deliveryId,
      byte[] envelope,
      byte[] envelopeSha256) {}

  private static String truncate(String message) {
    String m = message == null ? "" : message;
    return m.length() > Receipt.MAX_MESSAGE ? m.substring(0, Receipt.MAX_MESSAGE) : m;
  }

  /** Starts {@code work} for every index in [0, n) on the fan-out pool, in slices. */
  private <T> List<Future<List<T>>> submit(int n, IntFunction<T> work) {
    int tasks = Math.min(parallelism, Math.max(1, n / 16));
    List<Future<List<T>>> futures = new ArrayList<>(tasks);
    for (int t = 0; t < tasks; t++) {
      int a = (int) ((long) n * t / tasks);
      int b = (int) ((long) n * (t + 1) / tasks);
      Callable<List<T>> slice =
          () -> {
            List<T> out = new ArrayList<>(b - a);
            for (int i = a; i < b; i++) {
              out.add(work.apply(i));
            }
            return out;
          };
      if (n <= INLINE_MAX) {
        // a send to a few recipients: run here, with the pool's failure semantics (the task's
        // exception surfaces from get()), and skip the hand-off to a pool thread and back
        FutureTask<List<T>> here = new FutureTask<>(slice);
        here.run();
        futures.add(here);
        continue;
      }
      futures.add(pool.submit(slice));
    }
    return futures;
  }

  /** Waits for the slices started by {@link #submit}; results in order. */
  private static <T> List<T> collect(List<Future<List<T>>> futures) {
    List<T> results = new ArrayList<>();
    try {
      for (Future<List<T>> f : futures) {
        results.addAll(f.get());
      }
    } catch (InterruptedException e) {
      futures.forEach(f -> f.cancel(true));
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted during fan-out", e);
    } catch (ExecutionException e) {
      futures.forEach(f -> f.cancel(true));
      throw new IllegalStateException("fan-out task failed", e.getCause());
    }
    return results;
  }
}
