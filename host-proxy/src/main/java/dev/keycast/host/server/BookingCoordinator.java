package dev.keycast.host.server;

import dev.keycast.host.bridge.EnclaveResponse;
import dev.keycast.host.bridge.SendResponseReader;
import dev.keycast.host.store.ArtefactStore;
import dev.keycast.host.store.DkdmRecord;
import dev.keycast.host.store.RulesRecord;
import dev.keycast.host.store.ScreenRecord;
import dev.keycast.protocol.Base64Url;
import dev.keycast.protocol.Json;
import dev.keycast.protocol.MalformedInputException;
import dev.keycast.protocol.api.EnclaveApi;
import dev.keycast.protocol.api.ErrorCode;
import dev.keycast.protocol.api.HostApi;
import dev.keycast.protocol.booking.KdmBooking;
import dev.keycast.protocol.cinema.CinemaException;
import dev.keycast.protocol.cinema.DkdmBinding;
import dev.keycast.protocol.cinema.KdmTimestamps;
import dev.keycast.protocol.crypto.Sha256;
import dev.keycast.protocol.policy.SendPolicy;
import dev.keycast.protocol.sender.BookingStatement;
import dev.keycast.protocol.sender.SenderKey;
import io.netty.handler.codec.http.HttpMethod;
import java.nio.ByteBuffer;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * {@code POST /v1/bookings} (issue 25, api.md section 2.6): a distributor's signed booking of KDMs
 * for (CPL, screens, window). The host finds what the enclave needs (the DKDM ingested for the CPL
 * whose window covers the booking, else the latest, so that the enclave names the refusal; the
 * studio's stored rules; the booked screens it knows, with their cinema's offset), calls the
 * enclave's {@code /v1/kdm/book}, and commits the answer as the send {@code booking_id} through
 * {@link SendCoordinator#commit} (so {@code keycast kdm fetch} serves the KDMs as any KDM send's).
 * A retry of the same signed booking is answered from the store. Booked thumbprints the host has
 * no screen for are answered in {@code unknown_screens}; every other refusal is the enclave's.
 */
final class BookingCoordinator {
  /** Largest body: the booking in base64url and the sender signature. */
  static final int MAX_BODY_BYTES = (KdmBooking.MAX_ENCODED / 3 + 1) * 4 + 4096;

  private final ArtefactStore store;
  private final StoreCalls stores;
  private final EnclaveCalls enclave;
  private final SendCoordinator sends;
  private final HostControl control;
  private final SenderRequestAuth auth;

  BookingCoordinator(
      ArtefactStore store,
      StoreCalls stores,
      EnclaveCalls enclave,
      SendCoordinator sends,
      HostControl control,
      SenderRequestAuth auth) {
    this.store = Objects.requireNonNull(store, "store");
    this.stores = Objects.requireNonNull(stores, "stores");
    this.enclave = Objects.requireNonNull(enclave, "enclave");
    this.sends = Objects.requireNonNull(sends, "sends");
    this.control = Objects.requireNonNull(control, "control");
    this.auth = Objects.requireNonNull(auth, "auth");
  }

  /** {@code POST /v1/bookings}. */
  HttpAnswer book(HttpCall call) throws ApiException, InterruptedException {
    byte[] body = call.body();
    if (body.length > MAX_BODY_BYTES) {
      throw new ApiException(
          ErrorCode.PAYLOAD_TOO_LARGE,
          "a booking body is at most " + MAX_BODY_BYTES + " bytes, got " + body.length);
    }
    auth.require(call);
    HostApi.BookingRequest req = Inputs.decode(body, HostApi.BookingRequest.class);
    EnclaveApi.SenderSignature sig = req.sender();
    if (req.booking() == null
        || sig == null
        || sig.key() == null
        || sig.timestamp() == null
        || sig.signature() == null) {
      throw new ApiException(
          ErrorCode.MALFORMED_REQUEST,
          "a booking needs booking and sender (key, timestamp, " + "signature)");
    }
    byte[] bookingBytes = Inputs.b64("booking", req.booking(), KdmBooking.MAX_ENCODED);
    byte[] signature = Inputs.b64("sender.signature", sig.signature(), 64);
    KdmBooking booking;
    SenderKey booker;
    try {
      booking = KdmBooking.decode(bookingBytes);
      booker = SenderKey.of("sender.key", Inputs.b64("sender.key", sig.key(), SenderKey.LENGTH));
    } catch (MalformedInputException e) {
      throw new ApiException(ErrorCode.BOOKING_INVALID, e.getMessage());
    }
    if (sig.timestamp() < 0 || sig.timestamp() > Instant.MAX.getEpochSecond()) {
      throw new ApiException(ErrorCode.MALFORMED_REQUEST, "sender.timestamp is out of range");
    }
    HostApiService.requireReady(control);
    String bookingId =
        BookingStatement.of(
                booking.keySetId(), bookingBytes, Instant.ofEpochSecond(sig.timestamp()), booker)
            .bookingId();
    // the idempotency key: the exact signed booking (a retry carries the same bytes and signature)
    byte[] hash =
        Sha256.digest(
            bookingBytes,
            ByteBuffer.allocate(8).putLong(sig.timestamp()).array(),
            booker.raw(),
            signature);
    var existing = stores.call("find_send", () -> store.findSend(bookingId, hash));
    if (existing.isPresent()) {
      HostApi.SendResult r = sends.replay(existing.get());
      return HttpAnswer.json(200, result(r, booking, null, List.of()));
    }

    DkdmRecord dkdm = pickDkdm(booking);
    RulesRecord rules =
        stores
            .call("get_rules", () -> store.getRules(booking.cplId()))
            .orElseThrow(
                () ->
                    new ApiException(
                        ErrorCode.RULES_NOT_FOUND,
                        "no studio rules are stored for CPL "
                            + booking.cplId()
                            + "; the studio sends them with keycast rules send"));
    List<EnclaveApi.Candidate> candidates = new ArrayList<>();
    List<String> unknown = candidates(booking, candidates);
    if (candidates.isEmpty()) {
      throw new ApiException(
          ErrorCode.BOOKING_INVALID,
          "none of the " + booking.screens().size() + " booked screens is registered on this host");
    }
    EnclaveApi.BookingRequest request =
        new EnclaveApi.BookingRequest(
            req.booking(),
            sig,
            new EnclaveApi.SignedRules(
                Base64Url.encode(rules.statement()),
                Base64Url.encode(rules.key()),
                Base64Url.encode(rules.signature()),
                Base64Url.encode(rules.signerCertificate()),
                Base64Url.encode(rules.signerSignature())),
            Base64Url.encode(dkdm.sealedContentKeys()),
            Base64Url.encode(dkdm.binding()),
            candidates);
    EnclaveResponse answer = enclave.call(HttpMethod.POST, "/v1/kdm/book", Json.encode(request));
    try (answer) { // a large answer is spooled (AnswerSpool): its file goes with it
      if (!answer.ok()) {
        throw EnclaveCalls.unavailable(answer.toException());
      }
      SendResponseReader.Names names;
      SendResponseReader.Header header;
      byte[] policyBytes;
      SendPolicy policy;
      try {
        names = SendResponseReader.names(answer.source());
        header = names.header();
        policyBytes = Base64Url.decode("policy", header.policy(), SendPolicy.MAX_BYTES);
        policy = SendPolicy.parse(policyBytes);
      } catch (MalformedInputException | NullPointerException e) {
        throw new ApiException(
            ErrorCode.INTERNAL, "the enclave's booking answer is unusable: " + e.getMessage());
      }
      HostApi.SendResult r =
          sends.commit(
              bookingId, hash, policyBytes, policy, answer.source(), names, SenderQuotas.UNCOUNTED);
      return HttpAnswer.json(
          200,
          result(
              r,
              booking,
              header.booking() == null ? null : header.booking().dkdmMessageId(),
              unknown));
    }
  }

  private static HostApi.BookingResult result(
      HostApi.SendResult r, KdmBooking booking, String dkdmMessageId, List<String> unknown) {
    return new HostApi.BookingResult(
        r.sendId(),
        booking.cplId(),
        dkdmMessageId,
        r.receiptId(),
        r.receipt(),
        r.delivered(),
        r.skipped(),
        unknown,
        r.replayed());
  }

  /**
   * The DKDM to book from: of those ingested for the CPL, the one whose window covers the booking
   * (the latest ending, when several do); when none does, the latest ending, so that the enclave
   * refuses with the window it checked ({@code booking_outside_dkdm_window}).
   */
  private DkdmRecord pickDkdm(KdmBooking booking) throws ApiException, InterruptedException {
    List<DkdmRecord> all = stores.call("find_dkdms", () -> store.findDkdms(booking.cplId()));
    DkdmRecord covering = null;
    DkdmRecord latest = null;
    for (DkdmRecord d : all) {
      if (latest == null || d.notValidAfter().isAfter(latest.notValidAfter())) {
        latest = d;
      }
      try {
        DkdmBinding b = DkdmBinding.decode(d.binding());
        Instant start = KdmTimestamps.parse(b.notValidBefore()).toInstant();
        Instant end = KdmTimestamps.parse(b.notValidAfter()).toInstant();
        boolean covers = !booking.notBefore().isBefore(start) && !booking.notAfter().isAfter(end);
        if (covers && (covering == null || end.isAfter(covering.notValidAfter()))) {
          covering = d;
        }
      } catch (MalformedInputException | CinemaException e) {
        // a binding the host cannot read is still the enclave's to judge; it is not preferred
      }
    }
    if (latest == null) {
      throw new ApiException(
          ErrorCode.DKDM_NOT_FOUND, "no DKDM is ingested for CPL " + booking.cplId());
    }
    return covering != null ? covering : latest;
  }

  /** Adds the booked screens this host knows to {@code out}; returns the booked thumbprints it does not. */
  private List<String> candidates(KdmBooking booking, List<EnclaveApi.Candidate> out)
      throws ApiException, InterruptedException {
    Set<String> found = new HashSet<>();
    CinemaOffsets offsets = new CinemaOffsets(stores, store);
    List<String> thumbs = booking.screens();
    for (int i = 0; i < thumbs.size(); i += ArtefactStore.MAX_PAGE) {
      List<String> chunk = thumbs.subList(i, Math.min(thumbs.size(), i + ArtefactStore.MAX_PAGE));
      for (ScreenRecord s : stores.call("find_screens", () -> store.findScreens(chunk))) {
        if (!found.add(s.thumbprint())) {
          continue;
        }
        out.add(ScreenCandidates.of(s, offsets.of(s)));
      }
    }
    List<String> unknown = new ArrayList<>();
    for (String t : thumbs) {
      if (!found.contains(t)) {
        unknown.add(t);
      }
    }
    return unknown;
  }
}
