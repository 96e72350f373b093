package dev.keycast.host.server;

import dev.keycast.host.bridge.EnclaveClient;
import dev.keycast.host.bridge.EnclaveException;
import dev.keycast.host.bridge.EnclaveResponse;
import dev.keycast.host.bridge.SendResponseReader;
import dev.keycast.host.store.ArtefactStore;
import dev.keycast.host.store.Delivery;
import dev.keycast.host.store.ReceiptRecord;
import dev.keycast.host.store.RecipientRecord;
import dev.keycast.host.store.ScreenRecord;
import dev.keycast.host.store.SendCommit;
import dev.keycast.host.store.SendMetadata;
import dev.keycast.host.store.SendRecord;
import dev.keycast.host.store.StoredKey;
import dev.keycast.host.store.StoredSend;
import dev.keycast.protocol.Base64Url;
import dev.keycast.protocol.FingerprintSet;
import dev.keycast.protocol.Json;
import dev.keycast.protocol.MalformedInputException;
import dev.keycast.protocol.SendIds;
import dev.keycast.protocol.api.EnclaveApi;
import dev.keycast.protocol.api.ErrorCode;
import dev.keycast.protocol.api.HostApi;
import dev.keycast.protocol.crypto.Sha256;
import dev.keycast.protocol.policy.SendPolicy;
import dev.keycast.protocol.receipt.Receipt;
import dev.keycast.protocol.receipt.ReceiptVerifier;
import io.netty.handler.codec.http.HttpMethod;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Objects;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code POST /v1/sends}: checks the payload, answers a retry from the store, streams the payload
 * and the matching candidates to the enclave, and commits the enclave's answer in one store step.
 * The result is built from the enclave's answer ({@link SendResponseReader.Header}), not from the
 * store's iteration; nothing is answered before {@link ArtefactStore#commitSend} returned.
 */
final class SendCoordinator {
  private static final Logger LOG = LoggerFactory.getLogger(SendCoordinator.class);
  private static final byte[] PAYLOAD_HASH_LABEL =
      "keycast/v1/send-payload".getBytes(StandardCharsets.US_ASCII);
  private static final int MAX_ENC = 1024;
  private static final int MAX_CIPHERTEXT = EnclaveApi.MAX_SECRET_BYTES + 1024;

  /**
   * Sends with at most this many deliveries hand the store a parsed list (parsed on the request's
   * thread); bigger ones a stream parsed while the store's writer writes it (never held whole).
   */
  static final int MATERIALIZED_DELIVERIES = 64;

  private final ArtefactStore store;
  private final EnclaveCalls enclave;
  private final StoreCalls stores;
  private final HostMetrics metrics;
  private final HostControl control;
  private final Clock clock;
  private final SenderQuotas quotas;

  SendCoordinator(
      ArtefactStore store,
      EnclaveCalls enclave,
      StoreCalls stores,
      HostMetrics metrics,
      HostControl control,
      Clock clock,
      SenderQuotas quotas) {
    this.store = Objects.requireNonNull(store, "store");
    this.enclave = Objects.requireNonNull(enclave, "enclave");
    this.stores = Objects.requireNonNull(stores, "stores");
    this.metrics = Objects.requireNonNull(metrics, "metrics");
    this.control = Objects.requireNonNull(control, "control");
    this.clock = Objects.requireNonNull(clock, "clock");
    this.quotas = Objects.requireNonNull(quotas, "quotas");
  }

  /** See {@link HostApiService#payloadHash}. */
  static byte[] payloadHash(
      int version, String suite, String keySetId, byte[] policy, byte[] enc, byte[] ciphertext) {
    MessageDigest md = Sha256.newMessageDigest();
    md.update(PAYLOAD_HASH_LABEL);
    md.update((byte) 0);
    md.update(ByteBuffer.allocate(4).putInt(version).array());
    for (byte[] part :
        new byte[][] {
          suite.getBytes(StandardCharsets.UTF_8),
          keySetId.getBytes(StandardCharsets.UTF_8),
          policy,
          enc,
          ciphertext
        }) {
      md.update(ByteBuffer.allocate(4).putInt(part.length).array());
      md.update(part);
    }
    return md.digest();
  }

  /** Answers {@code POST /v1/sends}. */
  HttpAnswer send(byte[] body) throws ApiException, InterruptedException {
    EnclaveApi.SendPayload p = Inputs.decode(body, EnclaveApi.SendPayload.class);
    if (p.suite() == null
        || p.keySetId() == null
        || p.policy() == null
        || p.enc() == null
        || p.ciphertext() == null) {
      throw new ApiException(
          ErrorCode.MALFORMED_REQUEST,
          "a send payload needs version, suite, key_set_id, policy, enc and ciphertext");
    }
    if (p.suite().length() > 256 || p.keySetId().length() > 256) {
      throw new ApiException(ErrorCode.MALFORMED_REQUEST, "suite or key_set_id is too long");
    }
    byte[] policyBytes = Inputs.b64("policy", p.policy(), SendPolicy.MAX_BYTES);
    byte[] enc = Inputs.b64("enc", p.enc(), MAX_ENC);
    byte[] ciphertext = Inputs.b64("ciphertext", p.ciphertext(), MAX_CIPHERTEXT);
    byte[] hash = payloadHash(p.version(), p.suite(), p.keySetId(), policyBytes, enc, ciphertext);
    // the id the enclave gives this payload (api.md 1.1 step 5): a retry is found by it
    String sendId = SendIds.of(enc, ciphertext);
    HostApiService.requireReady(control);

    var existing = stores.call("find_send", () -> store.findSend(sendId, hash));
    if (existing.isPresent()) {
      return HttpAnswer.json(200, replay(existing.get()));
    }
    // per-sender limits (issue 23): the sender's signature checked here, then counted; a retry
    // of a committed send (above) is answered without spending any
    try (SenderQuotas.Permit permit = quotas.admit(p, policyBytes, enc, ciphertext, sendId)) {
      SendPolicy policy;
      try {
        policy = SendPolicy.parse(policyBytes);
      } catch (MalformedInputException e) {
        throw new ApiException(
            e.kind() == MalformedInputException.Kind.UNSUPPORTED_VERSION
                ? ErrorCode.UNSUPPORTED_VERSION
                : ErrorCode.INVALID_POLICY,
            e.getMessage());
      }
      try (EnclaveResponse answer = streamSend(p, policy)) {
        if (!answer.ok()) {
          throw EnclaveCalls.unavailable(answer.toException());
        }
        // a large answer is in a spooled file (AnswerSpool): read from there, in passes, and a
        // large result is encoded to a file while its deliveries are read again (StreamedList)
        HostApi.SendResult result =
            commit(sendId, hash, policyBytes, policy, answer.source(), permit);
        if (result.delivered() instanceof StreamedList<?>) {
          try {
            return HttpAnswer.jsonFile(200, result);
          } catch (IOException | java.io.UncheckedIOException e) {
            // committed and acknowledged in the store: a retry replays it from its receipt
            throw new ApiException(
                ErrorCode.STORE_UNAVAILABLE,
                "the send is stored, but its result could not be written; retry the send to get"
                    + " it");
          }
        }
        return HttpAnswer.json(200, result);
      }
    }
  }

  /**
   * Commits the enclave's answer and returns the send's result (or a replay's). A booking
   * ({@link BookingCoordinator}) commits through here too, with the policy the enclave derived.
   */
  HostApi.SendResult commit(
      String expectedSendId,
      byte[] hash,
      byte[] policyBytes,
      SendPolicy policy,
      SendResponseReader.Source answer,
      SenderQuotas.Permit permit)
      throws ApiException {
    SendResponseReader.Names names;
    try {
      names = SendResponseReader.names(answer);
    } catch (MalformedInputException e) {
      throw new ApiException(
          ErrorCode.INTERNAL, "the enclave's send answer is unusable: " + e.getMessage());
    }
    return commit(expectedSendId, hash, policyBytes, policy, answer, names, permit);
  }

  /** {@link #commit(String, byte[], byte[], SendPolicy, SendResponseReader.Source, SenderQuotas.Permit)} of an answer already read. */
  HostApi.SendResult commit(
      String expectedSendId,
      byte[] hash,
      byte[] policyBytes,
      SendPolicy policy,
      SendResponseReader.Source answer,
      SendResponseReader.Names names,
      SenderQuotas.Permit permit)
      throws ApiException {
    Instant now = clock.instant();
    SendResponseReader.Header r = names.header();
    if (!expectedSendId.equals(r.sendId())) {
      // the store keys sends by this id: one payload, one id (ArtefactStore.commitSend)
      throw new ApiException(
          ErrorCode.INTERNAL,
          "the enclave's send answer is unusable: it names "
              + "another send id than this payload's ("
              + expectedSendId
              + ")");
    }
    byte[] signed = Inputs.b64Enclave("receipt", r.receipt());
    byte[] receipt = RootedReceipts.forStore(signed, r, answer, signingPublicKey());
    SendRecord record = record(r, hash, policyBytes, policy, answer, receipt, now);
    SendCommit c =
        stores
            .call("commit_send", () -> SendRaces.commit(store, record, SendRaces.WAIT))
            .orElseThrow(
                () ->
                    new ApiException(
                        ErrorCode.SEND_CONFLICT,
                        "another attempt of this payload is being stored, or failed part-way;"
                            + " nothing was acknowledged: seal the secret again (a new send id)"));
    metrics.observe(
        "keycast_host_send_deliveries",
        "deliveries per send",
        HostMetrics.FANOUT_BUCKETS,
        r.deliveryCount());
    if (c.replayed()) {
      return replay(c.send());
    }
    permit.delivered(r.deliveryCount()); // the sender's daily quota (SenderQuotas)
    // DEBUG, not INFO: at small-send rates a line per send was a measurable share of the CPU
    // (performance.md section 3); keycast_host_request_seconds{route="sends"} and
    // keycast_host_send_deliveries count every send, and the store keeps every signed receipt.
    if (LOG.isDebugEnabled()) {
      LOG.debug(
          "send {} stored: {} deliveries, {} skipped",
          r.sendId(),
          r.deliveryCount(),
          r.skipped().size());
    }
    List<HostApi.DeliverySummary> delivered;
    if (names.delivered() != null) {
      delivered = new ArrayList<>(r.deliveryCount());
      for (SendResponseReader.Delivered d : names.delivered()) {
        delivered.add(
            new HostApi.DeliverySummary(
                d.deliveryId(), r.sendId(), d.recipient(), d.format(), now));
      }
    } else {
      // a large send: the summaries are read from the answer again each time they are iterated
      // (encoding the result iterates them once), never held (issue 28)
      delivered =
          new StreamedList<>(
              r.deliveryCount(),
              () ->
                  mapped(
                      SendResponseReader.deliveries(answer).iterator(),
                      d ->
                          new HostApi.DeliverySummary(
                              d.deliveryId(), r.sendId(), d.recipient(), d.format(), now)));
    }
    // a version 3 receipt is answered as its bundle (the head alone names no delivery)
    String answered = receipt == signed ? r.receipt() : Base64Url.encode(receipt);
    return new HostApi.SendResult(
        r.sendId(), r.secretId(), r.receiptId(), answered, delivered, r.skipped(), false);
  }

  /** The key set's raw Ed25519 receipt key, or null before the host holds its key bundle. */
  private byte[] signingPublicKey() {
    EnclaveApi.KeyBundle bundle = control.keyBundle();
    if (bundle == null) {
      return null;
    }
    try {
      return Base64Url.decode("signing_public_key", bundle.signingPublicKey(), 64);
    } catch (MalformedInputException e) {
      return null;
    }
  }

  /** What the store commits of the enclave's answer. */
  private static SendRecord record(
      SendResponseReader.Header r,
      byte[] hash,
      byte[] policyBytes,
      SendPolicy policy,
      SendResponseReader.Source answer,
      byte[] receipt,
      Instant now)
      throws ApiException {
    byte[] sealed = Inputs.b64Enclave("sealed_secret", r.sealedSecret());
    try {
      Instant nb = policy.notBefore();
      Instant na = policy.notAfter();
      if (!nb.isBefore(na)) {
        nb = null;
      }
      SendMetadata meta =
          new SendMetadata(
              r.sendId(), hash, policyBytes, policy.lateRecipients(), nb, na, sealed, now);
      Iterable<EnclaveApi.Delivery> ds = SendResponseReader.deliveries(answer);
      ReceiptRecord rr = new ReceiptRecord(r.receiptId(), r.sendId(), receipt, now);
      if (r.deliveryCount() <= MATERIALIZED_DELIVERIES) {
        // a small send: parse and check its deliveries here, on the request's own thread, so the
        // store's single writer thread (the serial stage of small sends) only writes rows
        List<Delivery> list = new ArrayList<>(r.deliveryCount());
        for (EnclaveApi.Delivery d : ds) {
          list.add(toStoreDelivery(d));
        }
        return new SendRecord(meta, rr, List.copyOf(list));
      }
      // a big send streams: the answer's deliveries are parsed while the store writes them
      return new SendRecord(
          meta, rr, () -> mapped(ds.iterator(), SendCoordinator::toStoreDelivery));
    } catch (IllegalArgumentException | NullPointerException | java.io.UncheckedIOException e) {
      throw new ApiException(
          ErrorCode.INTERNAL, "the enclave's send answer is unusable: " + e.getMessage());
    }
  }

  static Delivery toStoreDelivery(EnclaveApi.Delivery d) {
    try {
      return new Delivery(
          d.deliveryId(),
          d.recipient(),
          d.format(),
          Base64Url.decode("envelope", d.envelope(), 1 << 20));
    } catch (MalformedInputException e) {
      throw new IllegalArgumentException(
          "the enclave sent a malformed envelope: " + e.getMessage());
    }
  }

  private static <A, B> Iterator<B> mapped(Iterator<A> in, Function<A, B> f) {
    return new Iterator<>() {
      @Override
      public boolean hasNext() {
        return in.hasNext();
      }

      @Override
      public B next() {
        return f.apply(in.next());
      }
    };
  }

  /** The original result of a committed send, rebuilt from its stored, signed receipt. */
  HostApi.SendResult replay(StoredSend s) throws ApiException {
    ReceiptRecord rr =
        stores
            .call("get_receipt", () -> store.getReceipt(s.receiptId()))
            .orElseThrow(
                () ->
                    new ApiException(
                        ErrorCode.STORE_UNAVAILABLE,
                        "the receipt of send " + s.sendId() + " is missing"));
    String secretId = null;
    try {
      secretId = SendPolicy.parse(s.metadata().policyJson()).secretId();
    } catch (MalformedInputException e) {
      LOG.warn("stored policy of send {} does not parse", s.sendId());
    }
    List<HostApi.DeliverySummary> delivered = new ArrayList<>();
    List<EnclaveApi.Skipped> skipped = new ArrayList<>();
    EnclaveApi.KeyBundle bundle = control.keyBundle();
    if (bundle != null) {
      try {
        Receipt receipt =
            ReceiptVerifier.verify(
                rr.bytes(), Base64Url.decode("signing_public_key", bundle.signingPublicKey(), 64));
        for (Receipt.Delivery d : receipt.deliveries()) {
          delivered.add(
              new HostApi.DeliverySummary(
                  d.deliveryId(),
                  s.sendId(),
                  d.recipientFingerprint(),
                  d.formatId(),
                  rr.createdAt()));
        }
        for (Receipt.Skipped k : receipt.skipped()) {
          skipped.add(
              new EnclaveApi.Skipped(k.recipientFingerprint(), k.reasonCode(), k.message()));
        }
      } catch (Exception e) {
        LOG.warn(
            "stored receipt of send {} does not verify under the current key set: {}",
            s.sendId(),
            e.getClass().getSimpleName());
      }
    }
    return new HostApi.SendResult(
        s.sendId(),
        secretId,
        rr.receiptId(),
        Base64Url.encode(rr.bytes()),
        delivered,
        skipped,
        true);
  }

  /**
   * Sends the enclave's {@code POST /v1/send} body while it is written, as the candidates are read
   * from the store ({@link EnclaveClient#stream}: the enclave decides and seals the first
   * candidates while the host still reads the next ones, and the body is never held whole):
   * {@code payload} first, then {@code candidates} (api.md section 1.1 requires that order), each
   * registered recipient the policy may admit once, from its cleartext selector only. A body over
   * {@link EnclaveApi#MAX_SEND_REQUEST_BYTES} or more than {@link HostApiService#MAX_CANDIDATES} candidates abandons
   * the request ({@code too_many_recipients}); a store failure abandons it too.
   */
  private EnclaveResponse streamSend(EnclaveApi.SendPayload payload, SendPolicy policy)
      throws ApiException, InterruptedException {
    byte[] payloadJson = Json.encode(payload);
    int[] attachedCount = new int[1];
    long start = System.nanoTime();
    try {
      EnclaveResponse r =
          enclave.client().stream(
              HttpMethod.POST,
              "/v1/send",
              EnclaveApi.MAX_SEND_REQUEST_BYTES,
              out -> attachedCount[0] = writeSendRequest(out, payloadJson, policy));
      if (!r.ok()) {
        enclave.countError(r.toException());
      }
      return r;
    } catch (EnclaveClient.BodyTooLargeException e) {
      throw new ApiException(
          ErrorCode.TOO_MANY_RECIPIENTS,
          "the matching recipients do not fit in one enclave request");
    } catch (EnclaveException e) {
      enclave.countError(e);
      throw EnclaveCalls.unavailable(e);
    } finally {
      metrics.observe(
          "keycast_host_enclave_seconds",
          "enclave request latency (send: including "
              + "the candidates' lookup while the request is written)",
          HostMetrics.LATENCY_BUCKETS,
          (System.nanoTime() - start) / 1e9,
          "route",
          "send");
      metrics.observe(
          "keycast_host_send_candidates",
          "candidates attached per send",
          HostMetrics.FANOUT_BUCKETS,
          attachedCount[0]);
    }
  }

  private static final byte[] SEND_OPEN = "{\"payload\":".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] CANDIDATES_OPEN =
      ",\"candidates\":[".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] SEND_CLOSE = "]}".getBytes(StandardCharsets.US_ASCII);

  /** Writes one send request body to {@code out}; returns how many candidates it attached. */
  private int writeSendRequest(OutputStream out, byte[] payloadJson, SendPolicy policy)
      throws ApiException, IOException {
    // about 8 MB at 250,000 candidates (a HashSet of their strings held about 40 MB)
    FingerprintSet attached = new FingerprintSet();
    StoredKey.Scan scan = new StoredKey.Scan();
    out.write(SEND_OPEN);
    out.write(payloadJson);
    out.write(CANDIDATES_OPEN);
    if (policy.isKdmSend()) {
      writeScreenCandidates(out, policy, attached);
      out.write(SEND_CLOSE);
      return attached.size();
    }
    List<String> fps = policy.recipients().fingerprints();
    for (int i = 0; i < fps.size(); i += ArtefactStore.MAX_PAGE) {
      List<String> chunk = fps.subList(i, Math.min(fps.size(), i + ArtefactStore.MAX_PAGE));
      for (RecipientRecord r : stores.call("find_recipients", () -> store.findRecipients(chunk))) {
        attach(out, scan, attached, r.fingerprint(), r.publicKeyOrChain());
      }
    }
    if (!policy.recipients().anchors().isEmpty()) {
      String after = null;
      while (true) {
        String cursor = after;
        List<RecipientRecord> page =
            stores.call(
                "list_recipients", () -> store.listRecipients(cursor, ArtefactStore.MAX_PAGE));
        for (RecipientRecord r : page) {
          byte[] stored = r.publicKeyOrChain();
          if (StoredKey.hasChain(stored)) {
            attach(out, scan, attached, r.fingerprint(), stored);
          }
        }
        if (page.size() < ArtefactStore.MAX_PAGE) {
          break;
        }
        after = page.get(page.size() - 1).fingerprint();
      }
    }
    out.write(SEND_CLOSE);
    return attached.size();
  }

  private static void attach(
      OutputStream out,
      StoredKey.Scan scan,
      FingerprintSet attached,
      String fingerprint,
      byte[] stored)
      throws ApiException, IOException {
    if (!attached.add(fingerprint)) {
      return;
    }
    if (attached.size() > HostApiService.MAX_CANDIDATES) {
      throw new ApiException(
          ErrorCode.TOO_MANY_RECIPIENTS,
          "more than "
              + HostApiService.MAX_CANDIDATES
              + " registered recipients match the policy; one send carries at most "
              + HostApiService.MAX_CANDIDATES);
    }
    if (attached.size() > 1) {
      out.write(',');
    }
    StoredKey.writeCandidate(stored, scan, out);
  }

  /**
   * A KDM send's candidates (wire-format.md section 9.3): screens, never recipients. The screens
   * whose leaf thumbprint the policy lists, those whose leaf key fingerprint it lists, and, when it
   * names anchors, every screen (the enclave validates each chain and decides); each once (by
   * key fingerprint, as deliveries are keyed), with its cinema's UTC offset.
   */
  private void writeScreenCandidates(OutputStream out, SendPolicy policy, FingerprintSet attached)
      throws ApiException, IOException {
    CinemaOffsets offsets = new CinemaOffsets(stores, store);
    List<String> thumbs = policy.recipients().thumbprints();
    for (int i = 0; i < thumbs.size(); i += ArtefactStore.MAX_PAGE) {
      List<String> chunk = thumbs.subList(i, Math.min(thumbs.size(), i + ArtefactStore.MAX_PAGE));
      for (ScreenRecord s : stores.call("find_screens", () -> store.findScreens(chunk))) {
        attachScreen(out, attached, s, offsets);
      }
    }
    List<String> fps = policy.recipients().fingerprints();
    for (int i = 0; i < fps.size(); i += ArtefactStore.MAX_PAGE) {
      List<String> chunk = fps.subList(i, Math.min(fps.size(), i + ArtefactStore.MAX_PAGE));
      for (ScreenRecord s :
          stores.call("find_screens_by_fingerprint", () -> store.findScreensByFingerprint(chunk))) {
        attachScreen(out, attached, s, offsets);
      }
    }
    if (!policy.recipients().anchors().isEmpty()) {
      String after = null;
      while (true) {
        String cursor = after;
        List<ScreenRecord> page =
            stores.call(
                "list_screens", () -> store.listScreens(null, cursor, ArtefactStore.MAX_PAGE));
        for (ScreenRecord s : page) {
          attachScreen(out, attached, s, offsets);
        }
        if (page.size() < ArtefactStore.MAX_PAGE) {
          break;
        }
        after = page.get(page.size() - 1).thumbprint();
      }
    }
  }

  private void attachScreen(
      OutputStream out, FingerprintSet attached, ScreenRecord s, CinemaOffsets offsets)
      throws ApiException, IOException {
    if (!attached.add(s.fingerprint())) {
      return;
    }
    if (attached.size() > HostApiService.MAX_CANDIDATES) {
      throw new ApiException(
          ErrorCode.TOO_MANY_RECIPIENTS,
          "more than "
              + HostApiService.MAX_CANDIDATES
              + " registered screens match the policy; one send carries at most "
              + HostApiService.MAX_CANDIDATES);
    }
    String offset = offsets.of(s);
    if (attached.size() > 1) {
      out.write(',');
    }
    out.write(Json.encode(ScreenCandidates.of(s, offset)));
  }
}
