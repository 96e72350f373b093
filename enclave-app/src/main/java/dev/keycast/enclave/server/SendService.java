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
import dev.keycast.protocol.crypto.Sha256;
import dev.keycast.protocol.keyset.KeySet;
import dev.keycast.protocol.keyset.SealedSecret;
import dev.keycast.protocol.policy.SendPolicy;
import dev.keycast.protocol.receipt.Receipt;
import dev.keycast.protocol.receipt.ReceiptBuilder;
import dev.keycast.protocol.send.SendPayloadOpener;
import dev.keycast.protocol.send.SendPayloadParameters;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Instant;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;

/**
 * {@code POST /v1/send} and {@code POST /v1/forward} (api.md sections 1.1 and 1.2): checks and
 * opens the request (the sender's HPKE payload with {@link SendPayloadOpener}, or the enclave's own
 * sealed secret), asks {@link SendAuthorization} once, then hands the candidates to the one {@link
 * SendEngine} and signs the receipt. For a send it also seals the secret for later forwarding.
 *
 * <p>The order of a request, the same for both: (1) the key set is ready; (2) the request's own
 * fields are checked and decoded, lengths capped before anything is allocated; (3) the secret is
 * opened (one {@code decryption_failed} for every failure); (4) the policy is parsed and checked
 * (version, window, key set); (5) {@link SendAuthorization#authorize}; (6) the fan-out: candidates
 * decided and delivered in chunks, the answer streamed; (7) the receipt signed. Every check that
 * can fail a request runs before the answer is complete, and the caller MUST discard what was
 * written when a method throws. The secret is zeroized when the request ends, however it ends.
 *
 * <p>Thread-safe. The calling thread coordinates; the per-candidate work runs on the fan-out pool,
 * which must not be the caller's own pool (the caller blocks on it).
 */
public final class SendService {
  private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(SendService.class);

  /** Most candidates one request may carry (a receipt must stay under 64 MiB). */
  public static final int MAX_CANDIDATES = SendEngine.MAX_CANDIDATES;

  /** A send that took at least this long is logged at INFO; a faster, small one at DEBUG. */
  static final long SLOW_SEND_MILLIS = 1_000;

  /** A send with at least this many candidates is logged at INFO however fast it was. */
  static final int LARGE_SEND_CANDIDATES = 1_000;

  private static final TokenSyntax SEND_ID = TokenSyntax.of("0-9a-f", 32, 32);
  private static final ObjectReader PAYLOAD =
      Json.mapper()
          .readerFor(EnclaveApi.SendPayload.class)
          .without(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);
  private static final ObjectReader CANDIDATE =
      Json.mapper()
          .readerFor(EnclaveApi.Candidate.class)
          .without(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

  private final KeySetService keys;
  private final SendEngine engine;
  private final SendAuthorization authorization;

  /** Sender identity (issue 23): the signed sender, checked before the payload is opened. */
  private final SenderAuthorizer senders;

  private final SecureRandom random;
  private final Clock clock;

  /** Bookings of KDMs from ingested DKDMs (issue 25), on the same engine. */
  private final BookingRoute bookings;

  /**
   * With today's authorization rule, {@link SendAuthorization#SEALED_TO_ATTESTED_KEY}.
   *
   * @param fanout the worker pool for per-candidate work
   * @param parallelism how many tasks a chunk is split into (the pool's size)
   */
  public SendService(
      KeySetService keys,
      SenderAuthorizer senders,
      java.util.concurrent.ExecutorService fanout,
      int parallelism,
      SecureRandom random,
      Clock clock,
      EnclaveMetrics metrics) {
    this(keys, senders, fanout, parallelism, random, clock, metrics, KdmSignerSource.unavailable());
  }

  /**
   * As above, with the key set's KDM signer for KDM sends (wire-format.md section 9).
   *
   * @param kdmSigners asked once per KDM send or forward
   */
  public SendService(
      KeySetService keys,
      SenderAuthorizer senders,
      java.util.concurrent.ExecutorService fanout,
      int parallelism,
      SecureRandom random,
      Clock clock,
      EnclaveMetrics metrics,
      KdmSignerSource kdmSigners) {
    this(
        keys,
        senders,
        new SendEngine(fanout, parallelism, random, metrics, kdmSigners),
        SendAuthorization.SEALED_TO_ATTESTED_KEY,
        random,
        clock);
  }

  SendService(
      KeySetService keys,
      SenderAuthorizer senders,
      SendEngine engine,
      SendAuthorization authorization,
      SecureRandom random,
      Clock clock) {
    this.keys = keys;
    this.senders = java.util.Objects.requireNonNull(senders, "senders");
    this.engine = engine;
    this.authorization = authorization;
    this.random = random;
    this.clock = clock;
    this.bookings = new BookingRoute(keys, this.senders, engine, random, clock);
  }

  /**
   * {@code POST /v1/kdm/book} (wire-format.md section 11): KDMs from an ingested DKDM, on this
   * service's engine ({@link BookingRoute}). The caller MUST discard what was written when this
   * throws.
   */
  public void book(EnclaveApi.BookingRequest request, OutputStream json)
      throws EnclaveApiException, IOException {
    bookings.book(request, json);
  }

  /**
   * {@code POST /v1/send} of an already decoded request (tests and benchmarks): encodes it and
   * streams it through {@link #send(InputStream, OutputStream)}.
   */
  public void send(EnclaveApi.SendRequest request, OutputStream json)
      throws EnclaveApiException, IOException {
    send(new ByteArrayInputStream(Json.encode(request)), json);
  }

  /**
   * {@code POST /v1/send}, read incrementally from {@code body} (api.md section 1.1): the
   * {@code payload} member MUST come before {@code candidates}; the payload is checked and opened
   * first, then candidates are fed to the engine as they are parsed. Neither the whole body nor all
   * parsed candidates are ever held. Writes a {@link EnclaveApi.SendResponse} as JSON to {@code
   * json}; the caller MUST discard what was written when this throws.
   */
  public void send(InputStream body, OutputStream json) throws EnclaveApiException, IOException {
    KeySet keySet = keys.current().orElseThrow(EnclaveApiException::notReady);
    OpenedSend send = null;
    try (JsonParser p = Json.mapper().getFactory().createParser(body)) {
      p.disable(
          JsonParser.Feature.AUTO_CLOSE_SOURCE); // the caller owns the body (and may drain it)
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
            if (send != null) {
              throw malformed("candidates is given more than once");
            }
            if (!sawPayload) {
              throw malformed("payload must come before candidates (api.md section 1.1)");
            }
            send = begin(keySet, payload, json);
            if (p.currentToken() == JsonToken.START_ARRAY) {
              readCandidates(p, send.fanOut());
            } else if (p.currentToken() != JsonToken.VALUE_NULL) {
              throw malformed("candidates is not an array");
            }
          }
          default ->
              throw malformed(
                  "unknown field " + MalformedInputException.quote(name, 64) + where(p));
        }
      }
      if (t != JsonToken.END_OBJECT || p.nextToken() != null) {
        throw malformed("malformed JSON: syntax error" + where(p));
      }
      if (send == null) {
        send = begin(keySet, payload, json);
      }
      finishSend(keySet, send);
    } catch (JsonProcessingException e) {
      throw malformed("malformed JSON: " + EnclaveApiService.describe(e));
    } catch (IllegalArgumentException e) {
      throw malformed(String.valueOf(e.getMessage())); // a record constructor's validation
    } finally {
      if (send != null) {
        send.close();
      }
    }
  }

  /** A send whose payload was opened: its secret, fan-out and answer. */
  private record OpenedSend(
      String sendId,
      byte[] secret,
      SendEngine.FanOut fanOut,
      ReceiptBuilder receipt,
      JsonGenerator g,
      long started)
      implements AutoCloseable {
    @Override
    public void close() {
      fanOut.close();
      Arrays.fill(secret, (byte) 0);
    }
  }

  /** Checks and opens the payload, then writes the answer's members that precede the deliveries. */
  private OpenedSend begin(KeySet keySet, EnclaveApi.SendPayload p, OutputStream json)
      throws EnclaveApiException, IOException {
    if (p == null) {
      throw malformed("payload is missing");
    }
    if (p.version() != 1) {
      throw new EnclaveApiException(
          ErrorCode.UNSUPPORTED_VERSION,
          "payload version " + p.version() + " is not supported (expected 1)");
    }
    if (!EnclaveApi.SUITE_V1.equals(p.suite())) {
      throw new EnclaveApiException(
          ErrorCode.UNSUPPORTED_VERSION,
          "suite "
              + MalformedInputException.quote(p.suite(), 64)
              + " is not supported (expected "
              + EnclaveApi.SUITE_V1
              + ")");
    }
    if (p.keySetId() == null) {
      throw malformed("key_set_id is missing");
    }
    if (!p.keySetId().equals(keySet.id())) {
      throw new EnclaveApiException(
          ErrorCode.WRONG_KEY_SET,
          "payload is sealed to key set "
              + MalformedInputException.quote(p.keySetId(), 64)
              + ", this enclave holds "
              + keySet.id());
    }
    byte[] policyBytes = decode("policy", p.policy(), SendPolicy.MAX_BYTES);
    byte[] enc = decode("enc", p.enc(), 64);
    byte[] ciphertext = decode("ciphertext", p.ciphertext(), EnclaveApi.MAX_SECRET_BYTES + 16);
    // sender identity (issue 23, SenderAuthorizer): before the payload is opened or anything
    // written
    String sendId = sendId(enc, ciphertext);
    byte[] payloadSha256 = payloadSha256(enc, ciphertext);
    dev.keycast.protocol.sender.SenderKey sender =
        senders.authorize(keySet, p.sender(), Sha256.digest(policyBytes), payloadSha256, sendId);
    byte[] secret;
    try {
      // the receive key as the backend holds it for the key set's life (with OpenSSL one EVP_PKEY
      // imported once): only the decapsulation's Diffie-Hellman is computed per send
      secret =
          SendPayloadOpener.create(
                  SendPayloadParameters.v1(keySet.id()), keySet.receiveKeyAgreement())
              .open(policyBytes, enc, ciphertext);
    } catch (DecryptionFailedException e) {
      throw new EnclaveApiException(ErrorCode.DECRYPTION_FAILED, DecryptionFailedException.MESSAGE);
    }
    boolean ok = false;
    try {
      if (secret.length < 1 || secret.length > EnclaveApi.MAX_SECRET_BYTES) {
        throw malformed("the secret must be 1.." + EnclaveApi.MAX_SECRET_BYTES + " bytes");
      }
      SendPolicy policy = parsePolicy(policyBytes);
      Instant now = clock.instant();
      if (!policy.isValidAt(now)) {
        throw new EnclaveApiException(
            ErrorCode.POLICY_NOT_VALID_NOW,
            "now ("
                + now
                + ") is outside the policy's window "
                + policy.notBefore()
                + ".."
                + policy.notAfter());
      }
      authorization.authorize(
          new SendAuthorization.Request(
              Receipt.Kind.SEND, keySet.id(), sendId, policyBytes, policy));
      // the receipt and every delivery name the signed sender (issue 23)
      Instant signedAt = Instant.ofEpochSecond(p.sender().timestamp());
      ReceiptBuilder receipt =
          new ReceiptBuilder(
              keySet.id(),
              sendId,
              Receipt.Kind.SEND,
              Sha256.digest(policyBytes),
              payloadSha256,
              new Receipt.Sender(java.util.HexFormat.of().formatHex(sender.raw()), signedAt));
      // the sealed secret binds the sender too, so a later forward names it (wire-format.md 4.4)
      SealedSecret sealed =
          SealedSecret.seal(
              keySet, policy.secretId(), secret, policyBytes, sender.raw(), signedAt, random);
      JsonGenerator g = Json.mapper().getFactory().createGenerator(json);
      g.writeStartObject();
      g.writeStringField("send_id", sendId);
      g.writeStringField("secret_id", policy.secretId());
      g.writeStringField("receipt_id", sendId);
      g.writeStringField("sealed_secret", Base64Url.encode(sealed.encode()));
      SendEngine.FanOut fanOut =
          engine.start(
              new SendEngine.Job(Receipt.Kind.SEND, sendId, policy, secret, receipt, now, sender),
              g);
      ok = true;
      return new OpenedSend(sendId, secret, fanOut, receipt, g, System.nanoTime());
    } finally {
      if (!ok) {
        Arrays.fill(secret, (byte) 0);
      }
    }
  }

  /** Feeds the candidates array (the parser is on its START_ARRAY) to the fan-out. */
  private static void readCandidates(JsonParser p, SendEngine.FanOut fanOut)
      throws EnclaveApiException, IOException {
    JsonToken t;
    while ((t = p.nextToken()) != JsonToken.END_ARRAY) {
      if (t == null) {
        throw malformed("malformed JSON: the body ends inside candidates");
      }
      if (fanOut.candidates() == MAX_CANDIDATES) {
        throw SendEngine.tooManyCandidates(); // before the candidate is parsed
      }
      fanOut.add(t == JsonToken.VALUE_NULL ? null : CANDIDATE.readValue(p));
    }
  }

  private void finishSend(KeySet keySet, OpenedSend s) throws EnclaveApiException, IOException {
    SendEngine.FanOut f = s.fanOut();
    f.finish();
    long t1 = System.nanoTime();
    // base64url without padding, written straight from the signed bytes: no encoded copy and no
    // String of the whole receipt (about 15 MB at 100,000 deliveries)
    s.g().writeFieldName("receipt");
    byte[] signed = s.receipt().sign(clock.instant(), keySet);
    s.g().writeBinary(SendEngine.BASE64URL, signed, 0, signed.length);
    s.g().writeEndObject();
    s.g().flush();
    // A line per send at INFO cost more CPU (formatting, the shipping hop to the host, the host's
    // relay) than the rest of a small send's logging (performance.md section 3): a routine send
    // logs at DEBUG; the metrics count every send (requests by route and status, deliveries by
    // format) and the host's store keeps every signed receipt. A slow send (a second or more) and
    // a large one (LARGE_SEND_CANDIDATES or more) still log at INFO.
    long decideMillis = (t1 - s.started()) / 1_000_000;
    long signMillis = (System.nanoTime() - t1) / 1_000_000;
    boolean notable =
        decideMillis + signMillis >= SLOW_SEND_MILLIS || f.candidates() >= LARGE_SEND_CANDIDATES;
    if (notable || log.isDebugEnabled()) {
      String line =
          "send "
              + s.sendId()
              + ": "
              + f.candidates()
              + " candidates, "
              + f.deliveredCount()
              + " delivered, "
              + f.skippedCount()
              + " skipped; read, decide and deliver "
              + decideMillis
              + " ms, sign "
              + signMillis
              + " ms";
      if (notable) {
        log.info(line);
      } else {
        log.debug(line);
      }
    }
  }

  /**
   * {@code POST /v1/forward}: writes a {@link EnclaveApi.ForwardResponse} as JSON to {@code json};
   * the caller MUST discard what was written when this throws.
   */
  public void forward(EnclaveApi.ForwardRequest request, OutputStream json)
      throws EnclaveApiException, IOException {
    KeySet keySet = keys.current().orElseThrow(EnclaveApiException::notReady);
    String sendId = request.sendId();
    if (!SEND_ID.matches(sendId)) {
      throw malformed(
          "send_id must be 32 lowercase hex characters, got "
              + MalformedInputException.quote(sendId, 64));
    }
    byte[] policyBytes = decode("policy", request.policy(), SendPolicy.MAX_BYTES);
    byte[] sealedBytes = decode("sealed_secret", request.sealedSecret(), SealedSecret.MAX_ENCODED);
    if (request.candidates().size() > MAX_CANDIDATES) {
      throw SendEngine.tooManyCandidates();
    }
    SealedSecret sealed;
    try {
      sealed = SealedSecret.parse(sealedBytes);
    } catch (MalformedInputException e) {
      throw new EnclaveApiException(
          e.kind() == MalformedInputException.Kind.UNSUPPORTED_VERSION
              ? ErrorCode.UNSUPPORTED_VERSION
              : ErrorCode.MALFORMED_REQUEST,
          "sealed_secret: " + e.getMessage());
    }
    if (!sealed.keySetId().equals(keySet.id())) {
      throw new EnclaveApiException(
          ErrorCode.WRONG_KEY_SET,
          "sealed secret belongs to key set "
              + sealed.keySetId()
              + ", this enclave holds "
              + keySet.id());
    }
    byte[] policySha256 = Sha256.digest(policyBytes);
    if (!MessageDigest.isEqual(policySha256, sealed.policySha256())) {
      throw new EnclaveApiException(
          ErrorCode.POLICY_MISMATCH,
          "the policy presented is not the one the secret was sealed with");
    }
    byte[] secret;
    try {
      secret = sealed.open(keySet, policyBytes);
    } catch (DecryptionFailedException e) {
      throw new EnclaveApiException(ErrorCode.DECRYPTION_FAILED, DecryptionFailedException.MESSAGE);
    }
    try {
      SendPolicy policy = parsePolicy(policyBytes);
      if (!policy.secretId().equals(sealed.secretId())) {
        throw new EnclaveApiException(
            ErrorCode.POLICY_MISMATCH, "the policy names another secret id");
      }
      authorization.authorize(
          new SendAuthorization.Request(
              Receipt.Kind.FORWARD, keySet.id(), sendId, policyBytes, policy));
      // a version-2 sealed secret names the signed send's sender: the forward's receipt and
      // deliveries name it too (a version-1 one, sealed before sender identity, names nobody)
      byte[] senderRaw = sealed.senderKey();
      dev.keycast.protocol.sender.SenderKey sender =
          senderRaw == null ? null : new dev.keycast.protocol.sender.SenderKey(senderRaw);
      ReceiptBuilder receipt =
          sender == null
              ? new ReceiptBuilder(
                  keySet.id(),
                  sendId,
                  Receipt.Kind.FORWARD,
                  policySha256,
                  Sha256.digest(sealedBytes))
              : new ReceiptBuilder(
                  keySet.id(),
                  sendId,
                  Receipt.Kind.FORWARD,
                  policySha256,
                  Sha256.digest(sealedBytes),
                  new Receipt.Sender(
                      java.util.HexFormat.of().formatHex(senderRaw), sealed.senderSignedAt()));
      JsonGenerator g = Json.mapper().getFactory().createGenerator(json);
      g.writeStartObject();
      g.writeStringField("send_id", sendId);
      try (SendEngine.FanOut f =
          engine.start(
              new SendEngine.Job(
                  Receipt.Kind.FORWARD, sendId, policy, secret, receipt, clock.instant(), sender),
              g)) {
        for (EnclaveApi.Candidate c : request.candidates()) {
          f.add(c);
        }
        f.finish();
        // after the deliveries: the id covers the fingerprints delivered to (member order is free)
        g.writeStringField("receipt_id", forwardReceiptId(sendId, f.deliveredFingerprints()));
        g.writeStringField("receipt", Base64Url.encode(receipt.sign(clock.instant(), keySet)));
        g.writeEndObject();
        g.flush();
        log.info(
            "forward of send {}: {} candidates, {} delivered, {} skipped",
            sendId,
            f.candidates(),
            f.deliveredCount(),
            f.skippedCount());
      }
    } finally {
      Arrays.fill(secret, (byte) 0);
    }
  }

  private static SendPolicy parsePolicy(byte[] policyBytes) throws EnclaveApiException {
    try {
      return SendPolicy.parse(policyBytes);
    } catch (MalformedInputException e) {
      throw new EnclaveApiException(
          e.kind() == MalformedInputException.Kind.UNSUPPORTED_VERSION
              ? ErrorCode.UNSUPPORTED_VERSION
              : ErrorCode.INVALID_POLICY,
          e.getMessage());
    }
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
    return Sha256.digest(enc, ciphertext);
  }

  /**
   * api.md 1.2: {@code send_id + "-" +} first 8 bytes, hex, of SHA-256 over the delivered
   * fingerprints sorted ascending, each followed by a line feed (0x0a).
   */
  public static String forwardReceiptId(String sendId, List<String> sortedFingerprints) {
    MessageDigest d = Sha256.newMessageDigest();
    for (String fp : sortedFingerprints) {
      d.update(fp.getBytes(StandardCharsets.US_ASCII));
      d.update((byte) '\n');
    }
    return sendId + "-" + HexFormat.of().formatHex(d.digest(), 0, 8);
  }

  private static byte[] decode(String field, String value, int max) throws EnclaveApiException {
    try {
      return Base64Url.decode(field, value, max);
    } catch (MalformedInputException e) {
      throw malformed(e.getMessage());
    }
  }

  private static EnclaveApiException malformed(String message) {
    return new EnclaveApiException(ErrorCode.MALFORMED_REQUEST, message);
  }

  private static String where(JsonParser p) {
    var l = p.currentLocation();
    return l == null ? "" : " at line " + l.getLineNr() + ", column " + l.getColumnNr();
  }
}
