package dev.keycast.enclave.server;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectReader;
import dev.keycast.enclave.keyset.KeySetService;
import dev.keycast.protocol.Base64Url;
import dev.keycast.protocol.DecryptionFailedException;
import dev.keycast.protocol.Json;
import dev.keycast.protocol.MalformedInputException;
import dev.keycast.protocol.TokenSyntax;
import dev.keycast.protocol.api.EnclaveApi;
import dev.keycast.protocol.api.ErrorCode;
import dev.keycast.protocol.envelope.CmsDeliveryFormat;
import dev.keycast.protocol.envelope.DeliveryFormat;
import dev.keycast.protocol.envelope.DeliveryMetadata;
import dev.keycast.protocol.envelope.HpkeDeliveryFormat;
import dev.keycast.protocol.envelope.RecipientKey;
import dev.keycast.protocol.envelope.RsaRecipientKey;
import dev.keycast.protocol.envelope.X25519RecipientKey;
import dev.keycast.protocol.hpke.Hpke;
import dev.keycast.protocol.hpke.HpkeCiphertext;
import dev.keycast.protocol.hpke.HpkeSuite;
import dev.keycast.protocol.keyset.KeySet;
import dev.keycast.protocol.keyset.SealedSecret;
import dev.keycast.protocol.policy.Eligibility;
import dev.keycast.protocol.policy.SendPolicy;
import dev.keycast.protocol.receipt.Receipt;
import dev.keycast.protocol.receipt.ReceiptBuilder;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import java.util.function.IntFunction;

/**
 * The send and forward engine (api.md sections 1.1 and 1.2): opens the sender's HPKE payload,
 * decides each candidate's eligibility from the sealed policy and the candidate's own key or
 * chain, delivers to every eligible recipient in parallel, seals the secret for later forwarding
 * and signs a receipt.
 *
 * <p>Memory stays bounded for large sends: candidates are processed in chunks of {@link #CHUNK};
 * the receipt is encoded incrementally ({@link ReceiptBuilder}) and the JSON answer is streamed to
 * the caller's {@link OutputStream} chunk by chunk, so no more than one chunk of envelopes is held
 * at a time. Every check that can fail a request runs before the first byte of the answer is
 * written.
 *
 * <p>Thread-safe. The calling thread coordinates; the per-candidate work runs on the fan-out pool,
 * which must not be the caller's own pool (the caller blocks on it).
 */
public final class SendService {
  private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(SendService.class);
  /** Most candidates one request may carry (a receipt must stay under 64 MiB). */
  public static final int MAX_CANDIDATES = 250_000;
  /** Candidates processed per chunk. */
  static final int CHUNK = 2048;
  /**
   * Candidates read, decided and sealed per chunk of a streamed send: small enough that what two
   * chunks in flight keep alive across a young collection (candidate JSON strings, envelopes,
   * about 1.5 MiB per chunk) fits the 4 MiB survivor space of the enclave's {@code -Xmn40m}
   * (larger chunks overflowed it: every young collection promoted 2-3 MiB, and the old generation
   * filled up once per 10,000-recipient send), large enough to keep every worker busy.
   */
  static final int STREAM_CHUNK = 256;
  /**
   * Candidates at most this many are decided and sealed on the calling thread: for a one-recipient
   * send the hand-off to the fan-out pool and back cost more than the work saved by it.
   */
  static final int INLINE_MAX = 2;
  /** A send that took at least this long is logged at INFO; a faster, small one at DEBUG. */
  static final long SLOW_SEND_MILLIS = 1_000;
  /** A send with at least this many candidates is logged at INFO however fast it was. */
  static final int LARGE_SEND_CANDIDATES = 1_000;

  private static final byte[] SEND_INFO_LABEL = "keycast/v1/send".getBytes(StandardCharsets.US_ASCII);
  private static final TokenSyntax SEND_ID = TokenSyntax.of("0-9a-f", 32, 32);

  private final KeySetService keys;
  private final ExecutorService fanout;
  private final int parallelism;
  private final SecureRandom random;
  private final Clock clock;
  private final EnclaveMetrics metrics;
  private final RecipientValidator validator = new RecipientValidator();
  private final SenderAuthorizer senders;

  /**
   * @param fanout the worker pool for per-candidate work
   * @param parallelism how many tasks a chunk is split into (the pool's size)
   */
  public SendService(KeySetService keys, SenderAuthorizer senders, ExecutorService fanout,
      int parallelism, SecureRandom random, Clock clock, EnclaveMetrics metrics) {
    if (parallelism < 1) {
      throw new IllegalArgumentException("parallelism must be at least 1");
    }
    this.keys = keys;
    this.senders = java.util.Objects.requireNonNull(senders, "senders");
    this.fanout = fanout;
    this.parallelism = parallelism;
    this.random = random;
    this.clock = clock;
    this.metrics = metrics;
  }

  /**
   * {@code POST /v1/send} of an already decoded request (tests and benchmarks): encodes it and
   * streams it through {@link #send(InputStream, OutputStream)}.
   */
  public void send(EnclaveApi.SendRequest request, OutputStream json) throws ApiException, IOException {
    send(new java.io.ByteArrayInputStream(Json.encode(request)), json);
  }

  /**
   * {@code POST /v1/send}, read incrementally from {@code body} (api.md section 1.1): the
   * {@code payload} member MUST come before {@code candidates}; the payload is checked and opened
   * first, then candidates are read {@link #CHUNK} at a time, each chunk decided and sealed on the
   * fan-out pool while the next chunk is read. Neither the whole body nor all parsed candidates are
   * ever held. Writes a {@link EnclaveApi.SendResponse} as JSON to {@code json}; the caller MUST
   * discard what was written when this throws (a failure can come after deliveries were written:
   * an invalid candidate late in the body, malformed JSON, too many eligible recipients).
   */
  public void send(InputStream body, OutputStream json) throws ApiException, IOException {
    KeySet keySet = keys.current().orElseThrow(ApiException::notReady);
    Streamed run = null;
    try (JsonParser p = Json.mapper().getFactory().createParser(body)) {
      p.disable(JsonParser.Feature.AUTO_CLOSE_SOURCE); // the caller owns the body (and may drain it)
      if (p.nextToken() != JsonToken.START_OBJECT) {
        throw malformed("expected a JSON object");
      }
      EnclaveApi.SendPayload payload = null;
      boolean sawPayload = false;
      JsonToken t;
      while ((t = p.nextToken()) == JsonToken.FIELD_NAME) {
        String name = p.currentName();
        p.nextToken();
        switch (name) {
          case "payload" -> {
            if (sawPayload) {
              throw malformed("payload is given more than once");
            }
            sawPayload = true;
            payload = p.currentToken() == JsonToken.VALUE_NULL ? null : PAYLOAD.readValue(p);
          }
          case "candidates" -> {
            if (run != null) {
              throw malformed("candidates is given more than once");
            }
            if (!sawPayload) {
              throw malformed("payload must come before candidates (api.md section 1.1)");
            }
            run = begin(keySet, payload, json);
            if (p.currentToken() == JsonToken.START_ARRAY) {
              run.readCandidates(p);
            } else if (p.currentToken() != JsonToken.VALUE_NULL) {
              throw malformed("candidates is not an array");
            }
          }
          default -> throw malformed("unknown field \"" + quoteName(name) + "\"" + where(p));
        }
      }
      if (t != JsonToken.END_OBJECT || p.nextToken() != null) {
        throw malformed("malformed JSON: syntax error" + where(p));
      }
      if (run == null) {
        run = begin(keySet, payload, json);
      }
      run.finish();
    } catch (JsonProcessingException e) {
      throw malformed("malformed JSON: " + EnclaveServerHandler.describe(e));
    } catch (IllegalArgumentException e) {
      throw malformed(String.valueOf(e.getMessage())); // a record constructor's validation
    } finally {
      if (run != null) {
        run.close();
      }
    }
  }

  private static final ObjectReader PAYLOAD = Json.mapper().readerFor(EnclaveApi.SendPayload.class)
      .without(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);
  private static final ObjectReader CANDIDATE = Json.mapper().readerFor(EnclaveApi.Candidate.class)
      .without(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

  /** Checks and opens the payload, then writes the answer's members that precede the deliveries. */
  private Streamed begin(KeySet keySet, EnclaveApi.SendPayload p, OutputStream json)
      throws ApiException, IOException {
    if (p == null) {
      throw malformed("payload is missing");
    }
    if (p.version() != 1) {
      throw new ApiException(ErrorCode.UNSUPPORTED_VERSION,
          "payload version " + p.version() + " is not supported (expected 1)");
    }
    if (!EnclaveApi.SUITE_V1.equals(p.suite())) {
      throw new ApiException(ErrorCode.UNSUPPORTED_VERSION,
          "suite " + quote(p.suite()) + " is not supported (expected " + EnclaveApi.SUITE_V1 + ")");
    }
    if (p.keySetId() == null) {
      throw malformed("key_set_id is missing");
    }
    if (!p.keySetId().equals(keySet.id())) {
      throw new ApiException(ErrorCode.WRONG_KEY_SET,
          "payload is sealed to key set " + quote(p.keySetId()) + ", this enclave holds " + keySet.id());
    }
    byte[] policyBytes = decode("policy", p.policy(), SendPolicy.MAX_BYTES);
    byte[] enc = decode("enc", p.enc(), 64);
    byte[] ciphertext = decode("ciphertext", p.ciphertext(), EnclaveApi.MAX_SECRET_BYTES + 16);
    // sender identity (issue 23, SenderAuthorizer): before the payload is opened or anything written
    String sendId = sendId(enc, ciphertext);
    byte[] payloadSha256 = payloadSha256(enc, ciphertext);
    dev.keycast.protocol.sender.SenderKey sender =
        senders.authorize(keySet, p.sender(), sha256(policyBytes), payloadSha256, sendId);
    byte[] secret = open(keySet, policyBytes, enc, ciphertext);
    boolean ok = false;
    try {
      if (secret.length < 1 || secret.length > EnclaveApi.MAX_SECRET_BYTES) {
        throw malformed("the secret must be 1.." + EnclaveApi.MAX_SECRET_BYTES + " bytes");
      }
      SendPolicy policy = parsePolicy(policyBytes);
      Instant now = clock.instant();
      if (!policy.isValidAt(now)) {
        throw new ApiException(ErrorCode.POLICY_NOT_VALID_NOW,
            "now (" + now + ") is outside the policy's window " + policy.notBefore() + ".."
                + policy.notAfter());
      }
      // the receipt and every delivery name the signed sender (issue 23)
      ReceiptBuilder receipt = new ReceiptBuilder(keySet.id(), sendId, Receipt.Kind.SEND,
          sha256(policyBytes), payloadSha256, new Receipt.Sender(HexFormat.of().formatHex(sender.raw()),
              Instant.ofEpochSecond(p.sender().timestamp())));
      FanOut f = new FanOut(policy, secret, sendId, false, List.of(), receipt, now, sender);
      SealedSecret sealed = SealedSecret.seal(keySet, policy.secretId(), secret, policyBytes, random);
      JsonGenerator g = Json.mapper().getFactory().createGenerator(json);
      g.writeStartObject();
      g.writeStringField("send_id", sendId);
      g.writeStringField("secret_id", policy.secretId());
      g.writeStringField("receipt_id", sendId);
      g.writeStringField("sealed_secret", Base64Url.encode(sealed.encode()));
      g.writeArrayFieldStart("deliveries");
      ok = true;
      return new Streamed(keySet, f, secret, g);
    } finally {
      if (!ok) {
        Arrays.fill(secret, (byte) 0);
      }
    }
  }

  /**
   * One streamed send after its payload was opened: candidates arrive in chunks; each chunk is
   * parsed, decided and sealed on the pool (one task per slice, no barrier between deciding and
   * sealing), while the coordinating thread reads the next chunk from the body; results are then
   * checked and written in candidate order. Holds at most two chunks of candidates and envelopes.
   */
  private final class Streamed {
    private final KeySet keySet;
    private final FanOut f;
    private final byte[] secret;
    private final JsonGenerator g;
    private final long started = System.nanoTime();
    private int candidates;
    private List<Future<List<Outcome>>> inFlight = List.of();
    private int inFlightBase;

    Streamed(KeySet keySet, FanOut f, byte[] secret, JsonGenerator g) {
      this.keySet = keySet;
      this.f = f;
      this.secret = secret;
      this.g = g;
    }

    /** Reads the candidates array (the parser is on its START_ARRAY) chunk by chunk. */
    void readCandidates(JsonParser p) throws ApiException, IOException {
      List<EnclaveApi.Candidate> chunk = new ArrayList<>(STREAM_CHUNK);
      JsonToken t;
      while ((t = p.nextToken()) != JsonToken.END_ARRAY) {
        if (t == null) {
          throw malformed("malformed JSON: the body ends inside candidates");
        }
        if (candidates == MAX_CANDIDATES) {
          throw new ApiException(ErrorCode.TOO_MANY_RECIPIENTS,
              "more than " + MAX_CANDIDATES + " candidates exceed the service's limit");
        }
        chunk.add(t == JsonToken.VALUE_NULL ? null : CANDIDATE.readValue(p));
        candidates++;
        if (chunk.size() == STREAM_CHUNK) {
          submitChunk(chunk);
          chunk = new ArrayList<>(STREAM_CHUNK);
        }
      }
      if (!chunk.isEmpty()) {
        submitChunk(chunk);
      }
    }

    /** Starts {@code chunk} on the pool after writing the chunk before it (one in flight). */
    private void submitChunk(List<EnclaveApi.Candidate> chunk) throws ApiException, IOException {
      List<Future<List<Outcome>>> next = submit(0, chunk.size(), i -> f.outcome(chunk.get(i)));
      int base = candidates - chunk.size();
      try {
        drain();
      } catch (ApiException | IOException | RuntimeException e) {
        next.forEach(x -> x.cancel(true));
        throw e;
      }
      inFlight = next;
      inFlightBase = base;
    }

    /** Writes the chunk in flight, in candidate order. */
    private void drain() throws ApiException, IOException {
      List<Future<List<Outcome>>> current = inFlight;
      inFlight = List.of();
      List<Outcome> outcomes = collect(current);
      for (int k = 0; k < outcomes.size(); k++) {
        f.accept(inFlightBase + k, outcomes.get(k), g);
      }
    }

    void finish() throws ApiException, IOException {
      drain();
      f.finishDecisions();
      // the de-duplication set is no longer read: let it go before the receipt is encoded and
      // signed, the send's peak of live heap (about 15 MB of fingerprints at 100,000)
      f.seen.clear();
      long t1 = System.nanoTime();
      g.writeEndArray();
      f.writeSkipped(g);
      // base64url without padding, written straight from the signed bytes: no encoded copy and no
      // String of the whole receipt (about 15 MB at 100,000 deliveries)
      g.writeFieldName("receipt");
      byte[] signed = f.receipt.sign(clock.instant(), keySet);
      g.writeBinary(com.fasterxml.jackson.core.Base64Variants.MODIFIED_FOR_URL, signed, 0, signed.length);
      g.writeEndObject();
      g.flush();
      // A line per send at INFO cost more CPU (formatting, the shipping hop to the host, the
      // host's relay) than the rest of a small send's logging (performance.md section 3): a
      // routine send logs at DEBUG; the metrics count every send (requests by route and status,
      // deliveries by format) and the host's store keeps every signed receipt. A slow send (a
      // second or more) and a large one (LARGE_SEND_CANDIDATES or more) still log at INFO.
      long decideMillis = (t1 - started) / 1_000_000;
      long signMillis = (System.nanoTime() - t1) / 1_000_000;
      boolean notable = decideMillis + signMillis >= SLOW_SEND_MILLIS || candidates >= LARGE_SEND_CANDIDATES;
      if (notable || log.isDebugEnabled()) {
        String line = "send " + f.sendId + ": " + candidates + " candidates, " + f.eligibleCount
            + " delivered, " + f.skipped.size() + " skipped; read, decide and deliver "
            + decideMillis + " ms, sign " + signMillis + " ms";
        if (notable) {
          log.info(line);
        } else {
          log.debug(line);
        }
      }
    }

    void close() {
      inFlight.forEach(x -> x.cancel(true));
      Arrays.fill(secret, (byte) 0);
    }
  }

  /** One candidate's result in a streamed send: invalid, decided, and sealed when eligible. */
  private record Outcome(Decided decided, Delivered delivered) {}

  /** {@code POST /v1/forward}: writes a {@link EnclaveApi.ForwardResponse} as JSON to {@code json}. */
  public void forward(EnclaveApi.ForwardRequest request, OutputStream json)
      throws ApiException, IOException {
    KeySet keySet = keys.current().orElseThrow(ApiException::notReady);
    String sendId = request.sendId();
    if (!SEND_ID.matches(sendId)) {
      throw malformed("send_id must be 32 lowercase hex characters, got " + quote(sendId));
    }
    byte[] policyBytes = decode("policy", request.policy(), SendPolicy.MAX_BYTES);
    byte[] sealedBytes = decode("sealed_secret", request.sealedSecret(), SealedSecret.MAX_ENCODED);
    checkCandidateCount(request.candidates());
    SealedSecret sealed;
    try {
      sealed = SealedSecret.parse(sealedBytes);
    } catch (MalformedInputException e) {
      throw new ApiException(e.code().equals("unsupported_version")
          ? ErrorCode.UNSUPPORTED_VERSION : ErrorCode.MALFORMED_REQUEST, "sealed_secret: " + e.getMessage());
    }
    if (!sealed.keySetId().equals(keySet.id())) {
      throw new ApiException(ErrorCode.WRONG_KEY_SET,
          "sealed secret belongs to key set " + sealed.keySetId() + ", this enclave holds " + keySet.id());
    }
    if (!MessageDigest.isEqual(sha256(policyBytes), sealed.policySha256())) {
      throw new ApiException(ErrorCode.POLICY_MISMATCH,
          "the policy presented is not the one the secret was sealed with");
    }
    byte[] secret;
    try {
      secret = sealed.open(keySet, policyBytes);
    } catch (DecryptionFailedException e) {
      throw new ApiException(ErrorCode.DECRYPTION_FAILED, DecryptionFailedException.MESSAGE);
    }
    try {
      SendPolicy policy = parsePolicy(policyBytes);
      if (!policy.secretId().equals(sealed.secretId())) {
        throw new ApiException(ErrorCode.POLICY_MISMATCH, "the policy names another secret id");
      }
      Instant now = clock.instant();
      ReceiptBuilder receipt = new ReceiptBuilder(keySet.id(), sendId, Receipt.Kind.FORWARD,
          sha256(policyBytes), sha256(sealedBytes));
      FanOut f = new FanOut(policy, secret, sendId, true, request.candidates(), receipt, now, null);
      f.decide();

      JsonGenerator g = Json.mapper().getFactory().createGenerator(json);
      g.writeStartObject();
      g.writeStringField("send_id", sendId);
      g.writeStringField("receipt_id", forwardReceiptId(sendId, f.eligibleFingerprints()));
      f.deliver(g);
      g.writeStringField("receipt", Base64Url.encode(receipt.sign(clock.instant(), keySet)));
      g.writeEndObject();
      g.flush();
      log.info("forward of send {}: {} candidates, {} delivered, {} skipped",
          sendId, request.candidates().size(), f.eligibleCount, f.skipped.size());
    } finally {
      Arrays.fill(secret, (byte) 0);
    }
  }

  /** One send's or forward's eligibility decisions and deliveries. */
  private final class FanOut {
    private final SendPolicy policy;
    private final byte[] secret;
    private final String sendId;
    private final boolean late;
    private final List<EnclaveApi.Candidate> candidates;
    private final ReceiptBuilder receipt;
    private final Instant now;
    private final DeliveryMetadata template;
    private final DeliveryFormat<?> rsaFormat;
    private final Eligibility eligibility;
    private final List<Receipt.Skipped> skipped = new ArrayList<>();
    private final Set<String> seen = new HashSet<>();
    private int[] eligible = new int[64];
    /** Parsed X25519 keys of eligible candidates (small; RSA keys are parsed again when used). */
    private RecipientKey[] eligibleKeys = new RecipientKey[64];
    private int eligibleCount;

    FanOut(SendPolicy policy, byte[] secret, String sendId, boolean late,
        List<EnclaveApi.Candidate> candidates, ReceiptBuilder receipt, Instant now,
        dev.keycast.protocol.sender.SenderKey sender) throws ApiException {
      this.policy = policy;
      this.secret = secret;
      this.sendId = sendId;
      this.late = late;
      this.candidates = candidates;
      this.receipt = receipt;
      this.now = now;
      try {
        this.eligibility = new Eligibility(policy);
      } catch (Eligibility.InvalidPolicyException e) {
        throw new ApiException(ErrorCode.INVALID_POLICY, "policy: " + e.getMessage());
      }
      try {
        // DeliveryMetadata is stricter than the policy format: whole seconds, 256 UTF-8 bytes.
        DeliveryMetadata md = DeliveryMetadata.of(policy.secretId(), policy.sender(), policy.notBefore(),
            policy.notAfter(), "0".repeat(64));
        this.template = sender == null ? md : md.withSender(sender.raw());
      } catch (IllegalArgumentException e) {
        throw new ApiException(ErrorCode.INVALID_POLICY, "policy: " + e.getMessage());
      }
      this.rsaFormat = SendPolicy.CONTENT_AES_256_CBC.equals(policy.rsaContent())
          ? CmsDeliveryFormat.AES_256_CBC : CmsDeliveryFormat.AES_256_GCM;
    }

    /** Phase 1: parse and decide every candidate, in order; fails before anything is delivered. */
    void decide() throws ApiException {
      for (int from = 0; from < candidates.size(); from += CHUNK) {
        int base = from;
        int to = Math.min(candidates.size(), from + CHUNK);
        List<Decided> chunk = parallel(from, to, i -> decideOne(candidates.get(i)));
        for (int k = 0; k < chunk.size(); k++) {
          Decided d = chunk.get(k);
          if (d.invalid() != null) {
            throw new ApiException(ErrorCode.INVALID_RECIPIENT,
                "candidates[" + (base + k) + "]: " + d.invalid());
          }
          if (!seen.add(d.fingerprint())) {
            continue; // a repeated recipient is delivered once
          }
          if (d.decision().eligible()) {
            if (eligibleCount == eligible.length) {
              eligible = Arrays.copyOf(eligible, eligible.length * 2);
              eligibleKeys = Arrays.copyOf(eligibleKeys, eligibleKeys.length * 2);
            }
            eligibleKeys[eligibleCount] = d.key() instanceof X25519RecipientKey ? d.key() : null;
            eligible[eligibleCount++] = base + k;
          } else {
            Receipt.Skipped s = new Receipt.Skipped(
                d.fingerprint(), d.decision().reason(), truncate(d.decision().message()));
            skipped.add(s);
            receipt.add(s);
            metrics.skipped(s.reasonCode());
          }
        }
      }
      if (eligibleCount > policy.maxRecipients()) {
        throw new ApiException(ErrorCode.TOO_MANY_RECIPIENTS, eligibleCount
            + " eligible recipients exceed the policy's max_recipients of " + policy.maxRecipients());
      }
      metrics.fanout(eligibleCount);
    }

    /** Streamed sends: decides one candidate and, when eligible, seals its envelope (on the pool). */
    Outcome outcome(EnclaveApi.Candidate c) {
      Decided d = decideOne(c);
      if (d.invalid() != null || !d.decision().eligible()) {
        return new Outcome(d, null);
      }
      // the outcome waits for its chunk to be written: keep only what accept() reads, not the key
      Delivered sealed = seal(d.key());
      return new Outcome(new Decided(d.fingerprint(), null, d.decision(), null), sealed);
    }

    /** Streamed sends: records one outcome in candidate order and writes its delivery. */
    void accept(int index, Outcome o, JsonGenerator g) throws ApiException, IOException {
      Decided d = o.decided();
      if (d.invalid() != null) {
        throw new ApiException(ErrorCode.INVALID_RECIPIENT, "candidates[" + index + "]: " + d.invalid());
      }
      if (!seen.add(d.fingerprint())) {
        return; // a repeated recipient is delivered once
      }
      if (o.delivered() != null) {
        if (++eligibleCount > policy.maxRecipients()) {
          throw new ApiException(ErrorCode.TOO_MANY_RECIPIENTS, "more than " + policy.maxRecipients()
              + " eligible recipients exceed the policy's max_recipients of " + policy.maxRecipients());
        }
        write(g, List.of(o.delivered()));
      } else {
        Receipt.Skipped s = new Receipt.Skipped(
            d.fingerprint(), d.decision().reason(), truncate(d.decision().message()));
        skipped.add(s);
        receipt.add(s);
        metrics.skipped(s.reasonCode());
      }
    }

    /** Streamed sends: after the last candidate. */
    void finishDecisions() {
      metrics.fanout(eligibleCount);
    }

    private Decided decideOne(EnclaveApi.Candidate c) {
      RecipientValidator.Parsed parsed;
      try {
        parsed = validator.parse(c);
      } catch (RecipientValidator.InvalidRecipientException e) {
        return new Decided(null, null, null, e.getMessage());
      }
      String fp = parsed.key().fingerprint();
      return new Decided(fp, parsed.key(), eligibility.decideParsed(fp, parsed.chain(), now, late), null);
    }

    /** The fingerprints delivered to, sorted. */
    List<String> eligibleFingerprints() {
      TreeSet<String> out = new TreeSet<>();
      for (int i = 0; i < eligibleCount; i++) {
        out.add(key(i).fingerprint());
      }
      return List.copyOf(out);
    }

    /**
     * Phase 2: delivers in chunks, streaming {@code deliveries} and {@code skipped} to {@code g}.
     * The next chunk is already sealing on the pool while this thread writes the current one, so
     * the serial part (receipt entries, JSON) overlaps the parallel part; at most two chunks of
     * envelopes are held.
     */
    void deliver(JsonGenerator g) throws IOException {
      g.writeArrayFieldStart("deliveries");
      List<Future<List<Delivered>>> next = eligibleCount > 0
          ? submit(0, Math.min(eligibleCount, CHUNK), this::deliverOne) : List.of();
      for (int from = 0; from < eligibleCount; from += CHUNK) {
        List<Future<List<Delivered>>> current = next;
        int nextFrom = from + CHUNK;
        next = nextFrom < eligibleCount
            ? submit(nextFrom, Math.min(eligibleCount, nextFrom + CHUNK), this::deliverOne) : List.of();
        try {
          write(g, collect(current));
        } catch (IOException | RuntimeException e) {
          next.forEach(f -> f.cancel(true)); // the caller is gone or a task failed: stop sealing
          throw e;
        }
      }
      g.writeEndArray();
      writeSkipped(g);
    }

    void writeSkipped(JsonGenerator g) throws IOException {
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

    private void write(JsonGenerator g, List<Delivered> chunk) throws IOException {
      for (Delivered d : chunk) {
        receipt.add(new Receipt.Delivery(d.fingerprint(), d.formatId(), d.deliveryId(), d.envelopeSha256()));
        g.writeStartObject();
        g.writeStringField("delivery_id", d.deliveryId());
        g.writeStringField("recipient", d.fingerprint());
        g.writeStringField("format", d.formatId());
        g.writeFieldName("envelope");
        g.writeBinary(BASE64URL, d.envelope(), 0, d.envelope().length); // no String in between
        g.writeEndObject();
        metrics.delivered(d.formatId(), 1);
      }
    }

    private RecipientKey key(int i) {
      if (eligibleKeys[i] != null) {
        return eligibleKeys[i];
      }
      try {
        return validator.parse(candidates.get(eligible[i])).key();
      } catch (RecipientValidator.InvalidRecipientException e) {
        throw new IllegalStateException("a candidate that parsed once no longer parses", e);
      }
    }

    private Delivered deliverOne(int i) {
      return seal(key(i));
    }

    private Delivered seal(RecipientKey key) {
      DeliveryFormat<?> format = switch (key) {
        case RsaRecipientKey r -> rsaFormat;
        case X25519RecipientKey x -> HpkeDeliveryFormat.INSTANCE;
      };
      String fp = key.fingerprint();
      byte[] envelope = format.seal(key, template.withRecipient(fp), secret, random);
      // the digest runs here, on the pool; the base64url text is written straight into the
      // answer's buffer by the coordinating thread (no String per envelope)
      return new Delivered(fp, format.id(), deliveryId(sendId, fp), envelope, sha256(envelope));
    }
  }

  private record Decided(String fingerprint, RecipientKey key, Eligibility.Decision decision,
      String invalid) {}

  /** One sealed delivery: the envelope's bytes, with its SHA-256 for the receipt. */
  private record Delivered(String fingerprint, String formatId, String deliveryId, byte[] envelope,
      byte[] envelopeSha256) {}

  /**
   * base64url without padding (RFC 4648 section 5), as {@link Base64Url#encode}: Jackson's
   * {@code MODIFIED_FOR_URL} variant writes no padding and no line breaks.
   */
  private static final com.fasterxml.jackson.core.Base64Variant BASE64URL =
      com.fasterxml.jackson.core.Base64Variants.MODIFIED_FOR_URL;

  /** Runs {@code work} for every index in [from, to) on the fan-out pool; results in order. */
  private <T> List<T> parallel(int from, int to, IntFunction<T> work) {
    return collect(submit(from, to, work));
  }

  /** Starts {@code work} for every index in [from, to) on the fan-out pool, in slices. */
  private <T> List<Future<List<T>>> submit(int from, int to, IntFunction<T> work) {
    int n = to - from;
    int tasks = Math.min(parallelism, Math.max(1, n / 16));
    List<Future<List<T>>> futures = new ArrayList<>(tasks);
    for (int t = 0; t < tasks; t++) {
      int a = from + (int) ((long) n * t / tasks);
      int b = from + (int) ((long) n * (t + 1) / tasks);
      Callable<List<T>> slice = () -> {
        List<T> out = new ArrayList<>(b - a);
        for (int i = a; i < b; i++) {
          out.add(work.apply(i));
        }
        return out;
      };
      if (n <= INLINE_MAX) {
        // a send to a few recipients: run here, with the pool's failure semantics (the task's
        // exception surfaces from get()), and skip the hand-off to a pool thread and back
        java.util.concurrent.FutureTask<List<T>> here = new java.util.concurrent.FutureTask<>(slice);
        here.run();
        futures.add(here);
        continue;
      }
      futures.add(fanout.submit(slice));
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

  private byte[] open(KeySet keySet, byte[] policyBytes, byte[] enc, byte[] ciphertext)
      throws ApiException {
    // The receive key as the backend holds it for the key set's life (with OpenSSL one EVP_PKEY
    // imported once): only the decapsulation's Diffie-Hellman is computed per send
    try {
      return Hpke.open(HpkeSuite.KEYCAST_V1, keySet.receiveKeyAgreement(),
          sendInfo(keySet.id()), policyBytes, new HpkeCiphertext(enc, ciphertext));
    } catch (DecryptionFailedException e) {
      throw new ApiException(ErrorCode.DECRYPTION_FAILED, DecryptionFailedException.MESSAGE);
    }
  }

  private static SendPolicy parsePolicy(byte[] policyBytes) throws ApiException {
    try {
      return SendPolicy.parse(policyBytes);
    } catch (MalformedInputException e) {
      throw new ApiException(e.code().equals("unsupported_version")
          ? ErrorCode.UNSUPPORTED_VERSION : ErrorCode.INVALID_POLICY, e.getMessage());
    }
  }

  private static void checkCandidateCount(List<EnclaveApi.Candidate> candidates) throws ApiException {
    if (candidates.size() > MAX_CANDIDATES) {
      throw new ApiException(ErrorCode.TOO_MANY_RECIPIENTS,
          candidates.size() + " candidates exceed the service's limit of " + MAX_CANDIDATES);
    }
  }

  /** HPKE {@code info} of a send: {@code "keycast/v1/send" || 0x00 || UTF8(key_set_id)}. */
  public static byte[] sendInfo(String keySetId) {
    byte[] id = keySetId.getBytes(StandardCharsets.UTF_8);
    return ByteBuffer.allocate(SEND_INFO_LABEL.length + 1 + id.length)
        .put(SEND_INFO_LABEL).put((byte) 0).put(id).array();
  }

  /** api.md 1.1 step 5: first 16 bytes, hex, of SHA-256("keycast/v1/send-id" || 0x00 || enc || ciphertext). */
  public static String sendId(byte[] enc, byte[] ciphertext) {
    // one implementation, shared with the host (which looks retried payloads up by it)
    return dev.keycast.protocol.SendIds.of(enc, ciphertext);
  }

  /** api.md 1.1 step 7: first 16 bytes, hex, of SHA-256("keycast/v1/delivery-id" || 0 || send_id || 0 || fp). */
  public static String deliveryId(String sendId, String fingerprint) {
    // one implementation, shared with the host's store (which checks every delivery against it)
    return dev.keycast.protocol.DeliveryIds.of(sendId, fingerprint);
  }

  /**
   * The receipt's {@code pay} digest of a send (api.md 1.1 step 8): SHA-256({@code enc} ||
   * {@code ciphertext}), the decoded payload fields ({@code enc} is 32 bytes).
   */
  public static byte[] payloadSha256(byte[] enc, byte[] ciphertext) {
    MessageDigest d = sha256();
    d.update(enc);
    d.update(ciphertext);
    return d.digest();
  }

  /**
   * api.md 1.2: {@code send_id + "-" +} first 8 bytes, hex, of SHA-256 over the delivered
   * fingerprints sorted ascending, each followed by a line feed (0x0a).
   */
  public static String forwardReceiptId(String sendId, List<String> sortedFingerprints) {
    MessageDigest d = sha256();
    for (String fp : sortedFingerprints) {
      d.update(fp.getBytes(StandardCharsets.US_ASCII));
      d.update((byte) '\n');
    }
    return sendId + "-" + HexFormat.of().formatHex(d.digest(), 0, 8);
  }

  private static byte[] decode(String field, String value, int max) throws ApiException {
    try {
      return Base64Url.decode(field, value, max);
    } catch (MalformedInputException e) {
      throw malformed(e.getMessage());
    }
  }

  private static ApiException malformed(String message) {
    return new ApiException(ErrorCode.MALFORMED_REQUEST, message);
  }

  private static String truncate(String message) {
    String m = message == null ? "" : message;
    return m.length() > Receipt.MAX_MESSAGE ? m.substring(0, Receipt.MAX_MESSAGE) : m;
  }

  private static String quoteName(String name) {
    String shown = name.length() > 64 ? name.substring(0, 64) + "..." : name;
    return shown.replaceAll("\\p{Cntrl}", "?");
  }

  private static String where(JsonParser p) {
    var l = p.currentLocation();
    return l == null ? "" : " at line " + l.getLineNr() + ", column " + l.getColumnNr();
  }

  private static String quote(String s) {
    if (s == null) {
      return "null";
    }
    String shown = s.length() > 64 ? s.substring(0, 64) + "..." : s;
    return "\"" + shown.replaceAll("\\p{Cntrl}", "?") + "\"";
  }

  static byte[] sha256(byte[] data) {
    return sha256().digest(data);
  }

  private static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new AssertionError("SHA-256 is required by the Java platform", e);
    }
  }
}
