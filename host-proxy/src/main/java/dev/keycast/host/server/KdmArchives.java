package dev.keycast.host.server;

import dev.keycast.host.store.ArtefactStore;
import dev.keycast.host.store.CinemaRecord;
import dev.keycast.host.store.ScreenRecord;
import dev.keycast.host.store.StoredDelivery;
import dev.keycast.protocol.api.ErrorCode;
import dev.keycast.protocol.cinema.CinemaException;
import dev.keycast.protocol.cinema.KdmDeliveries;
import dev.keycast.protocol.cinema.KdmFileNames;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The KDM fetch routes (api.md section 2.4): {@code GET /v1/screens/{thumbprint}/kdms} and
 * {@code GET /v1/cinemas/{name}/kdms} answer a zip ({@code application/zip}) of every stored KDM
 * delivery ({@code smpte-kdm-v1}) of that screen or of every screen of that cinema, each file
 * named as wire-format.md section 9.5 says ({@link KdmFileNames}; its fields are read from the
 * KDM unverified, for the name only). Signed by a sender like registration: release schedules are
 * confidential. At most {@link #MAX_FILES} files and {@link #MAX_KDM_BYTES} bytes of KDMs per
 * answer ({@code payload_too_large} beyond: fetch per screen).
 */
final class KdmArchives {
  private static final Logger LOG = LoggerFactory.getLogger(KdmArchives.class);
  /** Content type of the answers. */
  static final String ZIP_TYPE = "application/zip";
  /** Most KDM files in one zip. */
  static final int MAX_FILES = 20_000;
  /** Most bytes of KDM documents in one zip (before compression). */
  static final long MAX_KDM_BYTES = 256L << 20;
  private static final LocalDateTime ENTRY_TIME = LocalDateTime.of(2000, 1, 1, 0, 0);

  private final ArtefactStore store;
  private final StoreCalls stores;
  private final SenderRequestAuth auth;
  private final ScreenRegistry screens;

  KdmArchives(ArtefactStore store, StoreCalls stores, SenderRequestAuth auth, ScreenRegistry screens) {
    this.store = Objects.requireNonNull(store, "store");
    this.stores = Objects.requireNonNull(stores, "stores");
    this.auth = Objects.requireNonNull(auth, "auth");
    this.screens = Objects.requireNonNull(screens, "screens");
  }

  /** {@code GET /v1/screens/{thumbprint}/kdms}. */
  HttpAnswer screenKdms(HttpCall call, String thumbprintUrl) throws ApiException, InterruptedException {
    auth.require(call);
    String thumbprint = ScreenRecord.fromUrl(thumbprintUrl);
    if (thumbprint == null) {
      throw new ApiException(ErrorCode.MALFORMED_REQUEST,
          "a screen is named by its thumbprint in base64url (27 characters)");
    }
    List<ScreenRecord> found = stores.call("find_screens", () -> store.findScreens(List.of(thumbprint)));
    if (found.isEmpty()) {
      throw new ApiException(ErrorCode.NOT_FOUND, "no screen " + thumbprintUrl);
    }
    Zip zip = new Zip();
    add(zip, found.get(0), new HashMap<>());
    return zip.answer();
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
    Zip zip = new Zip();
    Map<String, String> offsets = new HashMap<>();
    String after = null;
    while (true) {
      String cursor = after;
      List<ScreenRecord> page = stores.call("list_screens",
          () -> store.listScreens(name, cursor, ArtefactStore.MAX_PAGE));
      for (ScreenRecord s : page) {
        add(zip, s, offsets);
      }
      if (page.size() < ArtefactStore.MAX_PAGE) {
        break;
      }
      after = page.getLast().thumbprint();
    }
    return zip.answer();
  }

  private void add(Zip zip, ScreenRecord s, Map<String, String> offsets) throws ApiException {
    String offset = screens.offsetOf(s.cinema(), offsets);
    ZoneOffset zone = ZoneOffset.of(offset == null ? CinemaRecord.UTC : offset);
    String label = s.screenName() != null ? s.screenName() : s.thumbprintUrl();
    String after = null;
    while (true) {
      String cursor = after;
      List<StoredDelivery> page = stores.call("list_deliveries",
          () -> store.listDeliveries(s.fingerprint(), cursor, ArtefactStore.MAX_PAGE));
      for (StoredDelivery d : page) {
        if (!KdmDeliveries.FORMAT_ID.equals(d.delivery().formatId())) {
          continue; // a screen has no other deliveries; a key that is also a recipient may
        }
        byte[] kdm = d.delivery().envelope();
        String name;
        try {
          name = KdmFileNames.of(kdm, s.cinema(), label, zone);
        } catch (CinemaException e) {
          LOG.warn("stored KDM delivery {} does not parse ({}): named by its delivery id",
              d.deliveryId(), e.code());
          name = "unnamed_" + d.deliveryId() + KdmFileNames.SUFFIX;
        }
        zip.add(name, kdm);
      }
      if (page.size() < ArtefactStore.MAX_PAGE) {
        return;
      }
      after = page.getLast().deliveryId();
    }
  }

  /** A zip being built, with its caps and its names made unique ({@link KdmFileNames#numbered}). */
  private static final class Zip {
    private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    private final ZipOutputStream out = new ZipOutputStream(bytes);
    private final Map<String, Integer> seen = new HashMap<>();
    private int files;
    private long kdmBytes;

    void add(String name, byte[] kdm) throws ApiException {
      files++;
      kdmBytes += kdm.length;
      if (files > MAX_FILES || kdmBytes > MAX_KDM_BYTES) {
        throw new ApiException(ErrorCode.PAYLOAD_TOO_LARGE, "more than " + MAX_FILES + " KDMs or "
            + (MAX_KDM_BYTES >> 20) + " MiB in one answer: fetch per screen");
      }
      int n = seen.merge(name, 1, Integer::sum);
      String unique = KdmFileNames.numbered(name, n);
      while (n > 1 && seen.containsKey(unique)) {
        n = seen.merge(name, 1, Integer::sum);
        unique = KdmFileNames.numbered(name, n);
      }
      if (n > 1) {
        seen.put(unique, 1);
      }
      ZipEntry e = new ZipEntry(unique);
      e.setTimeLocal(ENTRY_TIME);
      try {
        out.putNextEntry(e);
        out.write(kdm);
        out.closeEntry();
      } catch (IOException ex) {
        throw new IllegalStateException(ex); // in memory
      }
    }

    HttpAnswer answer() {
      try {
        out.close();
      } catch (IOException e) {
        throw new IllegalStateException(e);
      }
      return new HttpAnswer(200, ZIP_TYPE, bytes.toByteArray(), 0);
    }
  }
}
