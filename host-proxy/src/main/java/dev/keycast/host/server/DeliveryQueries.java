package dev.keycast.host.server;

import dev.keycast.host.store.ArtefactStore;
import dev.keycast.host.store.ReceiptRecord;
import dev.keycast.host.store.StoredDelivery;
import dev.keycast.protocol.Base64Url;
import dev.keycast.protocol.api.ErrorCode;
import dev.keycast.protocol.api.HostApi;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The fetch routes: a recipient's delivery list and one delivery (both need the recipient's
 * session), and a receipt by id. Reads only the store.
 */
final class DeliveryQueries {
  private final ArtefactStore store;
  private final StoreCalls stores;
  private final RecipientAuth auth;

  DeliveryQueries(ArtefactStore store, StoreCalls stores, RecipientAuth auth) {
    this.store = Objects.requireNonNull(store, "store");
    this.stores = Objects.requireNonNull(stores, "stores");
    this.auth = Objects.requireNonNull(auth, "auth");
  }

  HttpAnswer deliveries(String fingerprint, String after, String limitText,
      String authorization) throws ApiException {
    Inputs.checkFingerprint(fingerprint);
    auth.checkSession(authorization, fingerprint);
    if (after != null && !Inputs.ID.matches(after)) {
      throw new ApiException(ErrorCode.MALFORMED_REQUEST, "after must be a delivery id: "
          + Inputs.quote(after));
    }
    int limit = 100;
    if (limitText != null) {
      try {
        limit = Integer.parseInt(limitText);
      } catch (NumberFormatException e) {
        limit = -1;
      }
      if (limit < 1 || limit > ArtefactStore.MAX_PAGE) {
        throw new ApiException(ErrorCode.MALFORMED_REQUEST, "limit must be 1.."
            + ArtefactStore.MAX_PAGE + ": " + Inputs.quote(limitText));
      }
    }
    int n = limit;
    List<StoredDelivery> page = stores.call("list_deliveries",
        () -> store.listDeliveries(fingerprint, after, n + 1));
    boolean more = page.size() > n;
    List<StoredDelivery> shown = more ? page.subList(0, n) : page;
    List<HostApi.DeliverySummary> out = new ArrayList<>(shown.size());
    Map<String, Instant> sendTimes = new LinkedHashMap<>();
    for (StoredDelivery d : shown) {
      Instant created = sendTimes.get(d.receiptId());
      if (created == null) {
        created = stores.call("get_receipt", () -> store.getReceipt(d.receiptId()))
            .map(ReceiptRecord::createdAt).orElse(null);
        sendTimes.put(d.receiptId(), created);
      }
      out.add(new HostApi.DeliverySummary(d.deliveryId(), d.sendId(), d.recipientFingerprint(),
          d.delivery().formatId(), created));
    }
    String next = more ? shown.get(shown.size() - 1).deliveryId() : null;
    return HttpAnswer.json(200, new HostApi.DeliveryPage(out, next));
  }

  HttpAnswer delivery(String id, String authorization) throws ApiException {
    Inputs.checkId("delivery id", id);
    String holder = auth.sessionFingerprint(authorization);
    StoredDelivery d = stores.call("get_delivery", () -> store.getDelivery(id))
        // another recipient's delivery is answered as an absent one: no existence oracle
        .filter(found -> MessageDigest.isEqual(
            found.recipientFingerprint().getBytes(StandardCharsets.US_ASCII),
            holder.getBytes(StandardCharsets.US_ASCII)))
        .orElseThrow(() -> new ApiException(ErrorCode.NOT_FOUND, "no delivery " + id
            + " for this recipient"));
    String type = d.delivery().formatId().startsWith("cms") ? HostApiService.CMS_TYPE : HostApiService.HPKE_TYPE;
    return new HttpAnswer(200, type, d.delivery().envelope(), 0);
  }

  HttpAnswer receipt(String id) throws ApiException {
    Inputs.checkId("receipt id", id);
    ReceiptRecord r = stores.call("get_receipt", () -> store.getReceipt(id))
        .orElseThrow(() -> new ApiException(ErrorCode.NOT_FOUND, "no receipt " + id));
    return HttpAnswer.json(200,
        new HostApi.ReceiptView(r.receiptId(), r.sendId(), Base64Url.encode(r.bytes())));
  }

}
