package dev.keycast.host.server;

import dev.keycast.host.store.ArtefactStore;
import dev.keycast.host.store.CinemaRecord;
import dev.keycast.host.store.MailRecord;
import dev.keycast.host.store.ReceiptRecord;
import dev.keycast.host.store.ScreenRecord;
import dev.keycast.protocol.Json;
import dev.keycast.protocol.MalformedInputException;
import dev.keycast.protocol.api.ErrorCode;
import dev.keycast.protocol.api.HostApi;
import dev.keycast.protocol.cinema.KdmDeliveries;
import dev.keycast.protocol.receipt.Receipt;
import dev.keycast.protocol.sender.SenderKey;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * The KDM mail routes (issue 25, api.md section 2.7): {@code POST /v1/sends/{id}/mail} queues one
 * e-mail per cinema with the send's KDMs in the store's outbox and answers 202 with what it queued
 * (the {@link KdmMailer} sends them); {@code GET /v1/sends/{id}/mail} answers every mail of the
 * send and its state. Both are signed by a sender ({@link SenderRequestAuth}) and answered only to
 * the send's own sender, the one its receipt names (checked under the key set's signing key): any
 * other sender, like an absent send, gets {@code not_found}. A host without SMTP answers
 * {@code mail_not_configured}.
 */
final class KdmMail {
  /** Largest request body. */
  static final int MAX_BODY = 4096;

  private final ArtefactStore store;
  private final StoreCalls stores;
  private final SenderRequestAuth auth;
  private final HostControl control;
  private final KdmMailer mailer;
  private final Clock clock;

  /** Routes over their parts; {@code mailer} is null when no SMTP server is configured. */
  KdmMail(
      ArtefactStore store,
      StoreCalls stores,
      SenderRequestAuth auth,
      HostControl control,
      KdmMailer mailer,
      Clock clock) {
    this.store = Objects.requireNonNull(store, "store");
    this.stores = Objects.requireNonNull(stores, "stores");
    this.auth = Objects.requireNonNull(auth, "auth");
    this.control = Objects.requireNonNull(control, "control");
    this.mailer = mailer;
    this.clock = Objects.requireNonNull(clock, "clock");
  }

  /** {@code /v1/sends/{id}/mail}: POST queues, GET reports. */
  HttpAnswer handle(HttpCall call, String sendId) throws ApiException, InterruptedException {
    return switch (call.method()) {
      case "POST" -> queue(call, sendId);
      case "GET" -> status(call, sendId);
      default ->
          throw new ApiException(
              ErrorCode.METHOD_NOT_ALLOWED, "/v1/sends/{id}/mail takes GET or POST");
    };
  }

  private HttpAnswer queue(HttpCall call, String sendId) throws ApiException, InterruptedException {
    byte[] body = call.body();
    if (body.length > MAX_BODY) {
      throw new ApiException(
          ErrorCode.PAYLOAD_TOO_LARGE, "a mail request is at most " + MAX_BODY + " bytes");
    }
    SenderKey sender = auth.require(call);
    if (mailer == null) {
      throw new ApiException(
          ErrorCode.MAIL_NOT_CONFIGURED,
          "this host sends no mail: it was started without --smtp-host (operations.md)");
    }
    HostApi.MailRequest req;
    try {
      req =
          body.length == 0
              ? new HostApi.MailRequest(null)
              : Json.decode(body, MAX_BODY, HostApi.MailRequest.class);
    } catch (MalformedInputException e) {
      throw new ApiException(ErrorCode.MALFORMED_REQUEST, e.getMessage());
    }
    if (req.cinema() != null && !CinemaRecord.isName(req.cinema())) {
      throw new ApiException(ErrorCode.MALFORMED_REQUEST, "cinema must be a cinema name");
    }
    List<Receipt> receipts = ownReceipts(sendId, sender);
    Map<String, Integer> cinemas = cinemasOf(receipts);
    if (req.cinema() != null) {
      if (!cinemas.containsKey(req.cinema())) {
        throw new ApiException(
            ErrorCode.NOT_FOUND,
            "send "
                + sendId
                + " issued no KDM to a screen of cinema "
                + Inputs.quote(req.cinema()));
      }
      cinemas.keySet().retainAll(List.of(req.cinema()));
    }
    String senderHex = HexFormat.of().formatHex(sender.raw());
    List<HostApi.Mail> queued = new ArrayList<>();
    List<HostApi.MailSkipped> skipped = new ArrayList<>();
    for (String name : cinemas.keySet()) {
      Optional<CinemaRecord> c = stores.call("get_cinema", () -> store.getCinema(name));
      if (c.isEmpty() || c.get().emails().isEmpty()) {
        skipped.add(new HostApi.MailSkipped(name, "no_email"));
        continue;
      }
      Instant now = clock.instant();
      MailRecord fresh =
          new MailRecord(
              sendId,
              name,
              KdmMailer.messageId(sendId, name),
              c.get().emails(),
              senderHex,
              MailRecord.State.QUEUED,
              0,
              now,
              null,
              now,
              now);
      MailRecord stored = stores.call("queue_mail", () -> store.queueMail(fresh));
      if (stored.state() == MailRecord.State.FAILED) {
        MailRecord again = stored.requeued(c.get().emails(), now);
        stores.call(
            "update_mail",
            () -> {
              store.updateMail(again);
              return null;
            });
        stored = again;
      }
      queued.add(view(stored));
    }
    mailer.wake();
    return HttpAnswer.json(202, new HostApi.MailStatus(sendId, queued, skipped));
  }

  private HttpAnswer status(HttpCall call, String sendId)
      throws ApiException, InterruptedException {
    SenderKey sender = auth.require(call);
    ownReceipts(sendId, sender);
    List<MailRecord> mails = stores.call("mails_of_send", () -> store.mailsOfSend(sendId));
    return HttpAnswer.json(
        200, new HostApi.MailStatus(sendId, mails.stream().map(KdmMail::view).toList(), List.of()));
  }

  /**
   * The verified receipts of the send (its own and its forwards') when {@code sender} is the sender
   * its own receipt names; {@code not_found} otherwise, whether the send is absent or another's.
   */
  private List<Receipt> ownReceipts(String sendId, SenderKey sender) throws ApiException {
    Inputs.checkId("send id", sendId);
    ApiException absent =
        new ApiException(ErrorCode.NOT_FOUND, "no send " + sendId + " of this sender");
    List<ReceiptRecord> records =
        stores.call("receipts_for_send", () -> store.receiptsForSend(sendId));
    if (records.isEmpty() || !records.getFirst().receiptId().equals(sendId)) {
      throw absent;
    }
    byte[] want = HexFormat.of().formatHex(sender.raw()).getBytes(StandardCharsets.US_ASCII);
    List<Receipt> out = new ArrayList<>(records.size());
    for (ReceiptRecord r : records) {
      Receipt receipt = DeliveryQueries.verified(control, r);
      if (receipt == null) {
        if (out.isEmpty()) {
          throw absent;
        }
        continue; // a forward receipt that does not verify names no KDM to mail
      }
      if (out.isEmpty()
          && (receipt.sender() == null
              || !MessageDigest.isEqual(
                  receipt.sender().key().getBytes(StandardCharsets.US_ASCII), want))) {
        throw absent;
      }
      out.add(receipt);
    }
    return out;
  }

  /** The cinemas of the screens the receipts name a KDM delivery to, in name order, with their KDM counts. */
  private Map<String, Integer> cinemasOf(List<Receipt> receipts) throws ApiException {
    TreeSet<String> fingerprints = new TreeSet<>();
    for (Receipt r : receipts) {
      for (Receipt.Delivery d : r.deliveries()) {
        if (KdmDeliveries.FORMAT_ID.equals(d.formatId())) {
          fingerprints.add(d.recipientFingerprint());
        }
      }
    }
    Map<String, Integer> out = new TreeMap<>();
    List<String> all = new ArrayList<>(fingerprints);
    for (int i = 0; i < all.size(); i += ArtefactStore.MAX_PAGE) {
      List<String> chunk = all.subList(i, Math.min(all.size(), i + ArtefactStore.MAX_PAGE));
      List<ScreenRecord> screens =
          stores.call("find_screens", () -> store.findScreensByFingerprint(chunk));
      for (ScreenRecord s : screens) {
        if (s.cinema() != null) {
          out.merge(s.cinema(), 1, Integer::sum);
        }
      }
    }
    return out;
  }

  private static HostApi.Mail view(MailRecord m) {
    return new HostApi.Mail(
        m.cinema(),
        m.messageId(),
        m.to(),
        m.state().wire(),
        m.attempts(),
        m.state() == MailRecord.State.QUEUED ? m.nextAttemptAt() : null,
        m.lastError(),
        m.updatedAt());
  }
}
