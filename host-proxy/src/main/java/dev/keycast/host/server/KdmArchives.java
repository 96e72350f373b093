package dev.keycast.host.server;

import dev.keycast.host.store.ArtefactStore;
import dev.keycast.host.store.CinemaRecord;
import dev.keycast.host.store.ScreenRecord;
import dev.keycast.host.store.StoredDelivery;
import dev.keycast.protocol.api.ErrorCode;
import dev.keycast.protocol.cinema.KdmDeliveries;
import java.time.ZoneOffset;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The KDM fetch routes (api.md section 2.4): {@code GET /v1/screens/{thumbprint}/kdms} and
 * {@code GET /v1/cinemas/{name}/kdms} answer a zip ({@code application/zip}) of every stored KDM
 * delivery ({@code smpte-kdm-v1}) of that screen or of every screen of that cinema, each file
 * named as wire-format.md section 9.5 says ({@link KdmZip},
 * {@link dev.keycast.protocol.cinema.KdmFileNames}; its fields are read from the KDM unverified,
 * for the name only). Signed by a sender like registration: release schedules are
 * confidential. At most {@link #MAX_FILES} files and {@link #MAX_KDM_BYTES} bytes of KDMs per
 * answer ({@code payload_too_large} beyond: fetch per screen).
 */
final class KdmArchives {
  /** Content type of the answers. */
  static final String ZIP_TYPE = "application/zip";

  /** Most KDM files in one zip. */
  static final int MAX_FILES = KdmZip.MAX_FILES;

  /** Most bytes of KDM documents in one zip (before compression). */
  static final long MAX_KDM_BYTES = KdmZip.MAX_KDM_BYTES;

  private final ArtefactStore store;
  private final StoreCalls stores;
  private final SenderRequestAuth auth;
  private final ScreenRegistry screens;

  KdmArchives(
      ArtefactStore store, StoreCalls stores, SenderRequestAuth auth, ScreenRegistry screens) {
    this.store = Objects.requireNonNull(store, "store");
    this.stores = Objects.requireNonNull(stores, "stores");
    this.auth = Objects.requireNonNull(auth, "auth");
    this.screens = Objects.requireNonNull(screens, "screens");
  }

  /** {@code GET /v1/screens/{thumbprint}/kdms}. */
  HttpAnswer screenKdms(HttpCall call, String thumbprintUrl)
      throws ApiException, InterruptedException {
    auth.require(call);
    String thumbprint = ScreenRecord.fromUrl(thumbprintUrl);
    if (thumbprint == null) {
      throw new ApiException(
          ErrorCode.MALFORMED_REQUEST,
          "a screen is named by its thumbprint in base64url (27 characters)");
    }
    List<ScreenRecord> found =
        stores.call("find_screens", () -> store.findScreens(List.of(thumbprint)));
    if (found.isEmpty()) {
      throw new ApiException(ErrorCode.NOT_FOUND, "no screen " + thumbprintUrl);
    }
    KdmZip zip = new KdmZip();
    add(zip, found.get(0), new HashMap<>());
    return new HttpAnswer(200, ZIP_TYPE, zip.finish(), 0);
  }

  /** {@code GET /v1/cinemas/{name}/kdms}. */
  HttpAnswer cinemaKdms(HttpCall call, String name) throws ApiException, InterruptedException {
    auth.require(call);
    if (!CinemaRecord.isName(name)) {
      throw new ApiException(ErrorCode.MALFORMED_REQUEST, "not a cinema name");
    }
    if (stores.call("get_cinema", () -> store.getCinema(name)).isEmpty()) {
      throw new ApiException(ErrorCode.NOT_FOUND, "no cinema " + Inputs.quote(name));
    }
    KdmZip zip = new KdmZip();
    Map<String, String> offsets = new HashMap<>();
    String after = null;
    while (true) {
      String cursor = after;
      List<ScreenRecord> page =
          stores.call(
              "list_screens", () -> store.listScreens(name, cursor, ArtefactStore.MAX_PAGE));
      for (ScreenRecord s : page) {
        add(zip, s, offsets);
      }
      if (page.size() < ArtefactStore.MAX_PAGE) {
        break;
      }
      after = page.getLast().thumbprint();
    }
    return new HttpAnswer(200, ZIP_TYPE, zip.finish(), 0);
  }

  private void add(KdmZip zip, ScreenRecord s, Map<String, String> offsets) throws ApiException {
    String offset = screens.offsetOf(s.cinema(), offsets);
    ZoneOffset zone = ZoneOffset.of(offset == null ? CinemaRecord.UTC : offset);
    String label = s.screenName() != null ? s.screenName() : s.thumbprintUrl();
    String after = null;
    while (true) {
      String cursor = after;
      List<StoredDelivery> page =
          stores.call(
              "list_deliveries",
              () -> store.listDeliveries(s.fingerprint(), cursor, ArtefactStore.MAX_PAGE));
      for (StoredDelivery d : page) {
        if (!KdmDeliveries.FORMAT_ID.equals(d.delivery().formatId())) {
          continue; // a screen has no other deliveries; a key that is also a recipient may
        }
        zip.addKdm(d.delivery().envelope(), s.cinema(), label, zone, d.deliveryId());
      }
      if (page.size() < ArtefactStore.MAX_PAGE) {
        return;
      }
      after = page.getLast().deliveryId();
    }
  }
}
