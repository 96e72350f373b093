package dev.keycast.host.server;

import dev.keycast.host.store.ArtefactStore;
import dev.keycast.host.store.ReceiptRecord;
import dev.keycast.host.store.StoredDelivery;
import dev.keycast.protocol.Base64Url;
import dev.keycast.protocol.MalformedInputException;
import dev.keycast.protocol.api.EnclaveApi;
import dev.keycast.protocol.api.ErrorCode;
import dev.keycast.protocol.api.HostApi;
import dev.keycast.protocol.receipt.Receipt;
import dev.keycast.protocol.receipt.ReceiptSignatureException;
import dev.keycast.protocol.receipt.ReceiptVerifier;
import dev.keycast.protocol.sender.SenderKey;
import dev.keycast.protocol.sender.SenderRequestSignature;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The fetch routes: a recipient's delivery list and one delivery (both need the recipient's
 * session), and a receipt by id (its sender's signed request, or the session of a recipient it
 * names). Reads only the store.
 */
final class DeliveryQueries {
  private final ArtefactStore store;
  private final StoreCalls stores;
  private final RecipientAuth auth;
  private final SenderRequestAuth senderAuth;
  private final HostControl control;

  DeliveryQueries(
      ArtefactStore store,
      StoreCalls stores,
      RecipientAuth auth,
      SenderRequestAuth senderAuth,
      HostControl control) {
    this.store = Objects.requireNonNull(store, "store");
    this.stores = Objects.requireNonNull(stores, "stores");
    this.auth = Objects.requireNonNull(auth, "auth");
    this.senderAuth = Objects.requireNonNull(senderAuth, "senderAuth");
    this.control = Objects.requireNonNull(control, "control");
  }

  HttpAnswer deliveries(String fingerprint, String after, String limitText, String authorization)
      throws ApiException {
    Inputs.checkFingerprint(fingerprint);
    auth.checkSession(authorization, fingerprint);
    if (after != null && !Inputs.ID.matches(after)) {
      throw new ApiException(
          ErrorCode.MALFORMED_REQUEST, "after must be a delivery id: " + Inputs.quote(after));
    }
    int limit = 100;
    if (limitText != null) {
      try {
        limit = Integer.parseInt(limitText);
      } catch (NumberFormatException e) {
        limit = -1;
      }
      if (limit < 1 || limit > ArtefactStore.MAX_PAGE) {
        throw new ApiException(
            ErrorCode.MALFORMED_REQUEST,
            "limit must be 1.." + ArtefactStore.MAX_PAGE + ": " + Inputs.quote(limitText));
      }
    }
    int n = limit;
    List<StoredDelivery> page =
        stores.call("list_deliveries", () -> store.listDeliveries(fingerprint, after, n + 1));
    boolean more = page.size() > n;
    List<StoredDelivery> shown = more ? page.subList(0, n) : page;
    List<HostApi.DeliverySummary> out = new ArrayList<>(shown.size());
    Map<String, Instant> sendTimes = new LinkedHashMap<>();
    for (StoredDelivery d : shown) {
      Instant created = sendTimes.get(d.receiptId());
      if (created == null) {
        created =
            stores
                .call("get_receipt", () -> store.getReceipt(d.receiptId()))
                .map(ReceiptRecord::createdAt)
                .orElse(null);
        sendTimes.put(d.receiptId(), created);
      }
      out.add(
          new HostApi.DeliverySummary(
              d.deliveryId(),
              d.sendId(),
              d.recipientFingerprint(),
              d.delivery().formatId(),
              created));
    }
    String next = more ? shown.get(shown.size() - 1).deliveryId() : null;
    return HttpAnswer.json(200, new HostApi.DeliveryPage(out, next));
  }

  HttpAnswer delivery(String id, String authorization) throws ApiException {
    Inputs.checkId("delivery id", id);
    String holder = auth.sessionFingerprint(authorization);
    StoredDelivery d =
        stores
            .call("get_delivery", () -> store.getDelivery(id))
            // another recipient's delivery is answered as an absent one: no existence oracle
            .filter(
                found ->
                    MessageDigest.isEqual(
                        found.recipientFingerprint().getBytes(StandardCharsets.US_ASCII),
                        holder.getBytes(StandardCharsets.US_ASCII)))
            .orElseThrow(
                () ->
                    new ApiException(
                        ErrorCode.NOT_FOUND, "no delivery " + id + " for this recipient"));
    String type =
        d.delivery().formatId().startsWith("cms")
            ? HostApiService.CMS_TYPE
            : HostApiService.HPKE_TYPE;
    return new HttpAnswer(200, type, d.delivery().envelope(), 0);
  }

  /**
   * GET /v1/receipts/{id} (api.md 2.2): answered to the receipt's sender, by a request signed with
   * the sender key the receipt names (version 2), or to a recipient the receipt names (delivered or
   * skipped), by that recipient's session. Anyone else gets {@code not_found}, as for an absent
   * receipt: no oracle of which receipt ids exist. Without either credential: 401.
   */
  HttpAnswer receipt(String id, HttpCall call) throws ApiException, InterruptedException {
    Inputs.checkId("receipt id", id);
    String authorization = call.authorization();
    boolean bySender =
        authorization != null && authorization.startsWith(SenderRequestSignature.SCHEME + " ");
    if (authorization == null || authorization.isEmpty()) {
      throw new ApiException(
          ErrorCode.SESSION_REQUIRED,
          "a receipt is answered to its sender (Authorization: "
              + SenderRequestSignature.SCHEME
              + " ..., api.md 2.4) or to a recipient it names (Authorization: Bearer"
              + " <session token>, POST /v1/recipients/{fingerprint}/sessions)");
    }
    SenderKey sender = bySender ? senderAuth.require(call) : null;
    String holder = bySender ? null : auth.sessionFingerprint(authorization);
    ApiException absent =
        new ApiException(
            ErrorCode.NOT_FOUND,
            "no receipt " + id + (bySender ? " of this sender" : " naming this recipient"));
    ReceiptRecord r =
        stores.call("get_receipt", () -> store.getReceipt(id)).orElseThrow(() -> absent);
    Receipt receipt = read(r);
    if (receipt == null) {
      throw absent;
    }
    boolean allowed = false;
    if (bySender) {
      allowed =
          receipt.sender() != null
              && MessageDigest.isEqual(
                  receipt.sender().key().getBytes(StandardCharsets.US_ASCII),
                  HexFormat.of().formatHex(sender.raw()).getBytes(StandardCharsets.US_ASCII));
    } else {
      byte[] h = holder.getBytes(StandardCharsets.US_ASCII);
      for (Receipt.Delivery d : receipt.deliveries()) {
        allowed |=
            MessageDigest.isEqual(d.recipientFingerprint().getBytes(StandardCharsets.US_ASCII), h);
      }
      for (Receipt.Skipped k : receipt.skipped()) {
        allowed |=
            MessageDigest.isEqual(k.recipientFingerprint().getBytes(StandardCharsets.US_ASCII), h);
      }
    }
    if (!allowed) {
      throw absent;
    }
    return HttpAnswer.json(
        200, new HostApi.ReceiptView(r.receiptId(), r.sendId(), Base64Url.encode(r.bytes())));
  }

  /**
   * The stored receipt as the enclave signed it, checked under the key set's signing key the host
   * holds (null when it does not verify: the host stored it, so that is a store fault, answered as
   * absent rather than trusted for a decision).
   */
  private Receipt read(ReceiptRecord r) {
    return verified(control, r);
  }

  /**
   * The stored receipt as the enclave signed it, checked under the signing key of the key bundle
   * {@code control} holds; null when it does not verify (or no bundle is known yet).
   */
  static Receipt verified(HostControl control, ReceiptRecord r) {
    try {
      EnclaveApi.KeyBundle b = control.keyBundle();
      if (b == null) {
        return null;
      }
      byte[] key = Base64Url.decode("signing_public_key", b.signingPublicKey(), 44);
      if (key.length != 32) {
        key =
            java.util.Arrays.copyOfRange(
                key, key.length - 32, key.length); // RFC 8410 SPKI: the key is its tail
      }
      return ReceiptVerifier.verify(r.bytes(), key);
    } catch (MalformedInputException | ReceiptSignatureException | RuntimeException e) {
      return null;
    }
  }
}
