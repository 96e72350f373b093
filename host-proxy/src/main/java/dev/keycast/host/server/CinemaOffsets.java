package dev.keycast.host.server;

import dev.keycast.host.store.ArtefactStore;
import dev.keycast.host.store.CinemaRecord;
import dev.keycast.host.store.ScreenRecord;
import java.util.HashMap;
import java.util.Map;

/**
 * The UTC offsets of screens' cinemas for one request (a send's or a booking's candidates): each
 * cinema read from the store once; a cinema that is not stored is at {@link CinemaRecord#UTC}.
 */
final class CinemaOffsets {
  private final StoreCalls stores;
  private final ArtefactStore store;
  private final Map<String, String> offsets = new HashMap<>();

  CinemaOffsets(StoreCalls stores, ArtefactStore store) {
    this.stores = stores;
    this.store = store;
  }

  /** The offset of {@code s}'s cinema, or null for a screen of no cinema. */
  String of(ScreenRecord s) throws ApiException {
    if (s.cinema() == null) {
      return null;
    }
    String offset = offsets.get(s.cinema());
    if (offset == null) {
      offset =
          stores
              .call("get_cinema", () -> store.getCinema(s.cinema()))
              .map(CinemaRecord::utcOffset)
              .orElse(CinemaRecord.UTC);
      offsets.put(s.cinema(), offset);
    }
    return offset;
  }
}
