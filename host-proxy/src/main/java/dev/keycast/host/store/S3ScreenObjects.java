package dev.keycast.host.store;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.TreeSet;

/**
 * The S3 store's cinemas and screens: one object a cinema, one a screen (by certificate
 * thumbprint), and empty index objects by key fingerprint and by cinema. The
 * {@link S3ArtefactStore} checks that it is open and delegates here.
 */
final class S3ScreenObjects {
  private final S3Objects objects;
  private final S3RecordCodec codec;

  S3ScreenObjects(S3Objects objects, S3RecordCodec codec) {
    this.objects = objects;
    this.codec = codec;
  }

  CinemaRecord putCinema(CinemaRecord cinema) throws StoreException {
    objects.put(S3Layout.cinema(cinema.name()), codec.encode(codec.cinema(cinema)), false);
    return cinema;
  }

  Optional<CinemaRecord> getCinema(String name) throws StoreException {
    CinemaRecord.checkName("cinema name", name);
    String key = S3Layout.cinema(name);
    Optional<byte[]> body = objects.get(key, S3Objects.MAX_SMALL_OBJECT);
    if (body.isEmpty()) {
      return Optional.empty();
    }
    JsonNode n = codec.decode(key, body.get());
    CinemaRecord c = S3RecordCodec.cinema(key, n);
    if (!c.name().equals(name)) {
      throw new StoreException(StoreException.Code.STORE_CORRUPT, key + " names another cinema");
    }
    return Optional.of(c);
  }

  ScreenRecord putScreen(ScreenRecord s) throws StoreException {
    if (s.cinema() != null && getCinema(s.cinema()).isEmpty()) {
      throw new StoreException(
          StoreException.Code.NOT_FOUND, "cinema " + Checks.quote(s.cinema()) + " is not stored");
    }
    String thumb = s.thumbprintUrl();
    // the indexes first: a screen object is only ever found through an index that names it, and a
    // stale index entry (a replaced screen's old key or cinema) is filtered out on read
    objects.put(S3Layout.screensByFingerprint(s.fingerprint()) + thumb, new byte[0], false);
    if (s.cinema() != null) {
      objects.put(S3Layout.screensByCinema(s.cinema()) + thumb, new byte[0], false);
    }
    ObjectNode n = codec.object();
    n.put("thumbprint", s.thumbprint());
    n.put("fingerprint", s.fingerprint());
    if (s.cinema() != null) {
      n.put("cinema", s.cinema());
    }
    if (s.screenName() != null) {
      n.put("screenName", s.screenName());
    }
    var chain = n.putArray("chain");
    s.chain().forEach(c -> chain.add(S3RecordCodec.b64(c)));
    var devices = n.putArray("trustedDevices");
    s.trustedDevices().forEach(devices::add);
    n.put("registeredAt", s.registeredAt().toEpochMilli());
    objects.put(S3Layout.screen(thumb), codec.encode(n), false);
    return s;
  }

  private Optional<ScreenRecord> getScreen(String thumbUrl) throws StoreException {
    String key = S3Layout.screen(thumbUrl);
    Optional<byte[]> body = objects.get(key, S3Objects.MAX_SMALL_OBJECT);
    if (body.isEmpty()) {
      return Optional.empty();
    }
    JsonNode n = codec.decode(key, body.get());
    ScreenRecord s =
        S3RecordCodec.stored(
            key,
            () -> {
              List<byte[]> chain = new ArrayList<>();
              JsonNode c = n.get("chain");
              if (c == null || !c.isArray() || c.size() > ScreenRecord.MAX_CHAIN) {
                throw new StoreException(StoreException.Code.STORE_CORRUPT, key + ": bad chain");
              }
              for (JsonNode der : c) {
                chain.add(java.util.Base64.getDecoder().decode(der.asText()));
              }
              List<String> devices = new ArrayList<>();
              JsonNode d = n.get("trustedDevices");
              if (d != null && d.isArray() && d.size() <= ScreenRecord.MAX_TRUSTED_DEVICES) {
                d.forEach(x -> devices.add(x.asText()));
              }
              return new ScreenRecord(
                  S3RecordCodec.text(key, n, "thumbprint"),
                  S3RecordCodec.text(key, n, "fingerprint"),
                  n.hasNonNull("cinema") ? n.get("cinema").asText() : null,
                  n.hasNonNull("screenName") ? n.get("screenName").asText() : null,
                  chain,
                  devices,
                  Instant.ofEpochMilli(S3RecordCodec.number(key, n, "registeredAt")));
            });
    if (!s.thumbprintUrl().equals(thumbUrl)) {
      throw new StoreException(StoreException.Code.STORE_CORRUPT, key + " names another screen");
    }
    return Optional.of(s);
  }

  private List<ScreenRecord> fetchScreens(Collection<String> thumbUrls) throws StoreException {
    S3Objects.Batch<Optional<ScreenRecord>> batch = objects.batch();
    for (String t : thumbUrls) {
      batch.submit(() -> getScreen(t));
    }
    List<ScreenRecord> out = new ArrayList<>();
    for (Optional<ScreenRecord> r : batch.await()) {
      r.ifPresent(out::add);
    }
    return out;
  }

  List<ScreenRecord> findScreens(Collection<String> thumbprints) throws StoreException {
    List<String> urls = new ArrayList<>();
    for (String t : Checks.valueSet(thumbprints, true)) {
      urls.add(ScreenRecord.toUrl(t));
    }
    List<ScreenRecord> out = new ArrayList<>(fetchScreens(urls));
    out.sort(Comparator.comparing(ScreenRecord::thumbprint));
    return out;
  }

  List<ScreenRecord> findScreensByFingerprint(Collection<String> fingerprints)
      throws StoreException {
    TreeSet<String> urls = new TreeSet<>();
    var fps = Checks.valueSet(fingerprints, false);
    for (String fp : fps) {
      String sub = S3Layout.screensByFingerprint(fp);
      // one key has few certificates (re-issued leaves): a bounded listing
      for (String key : objects.list(sub, null, ScreenRecord.MAX_CHAIN * 16)) {
        String t = key.substring(sub.length());
        if (ScreenRecord.fromUrl(t) != null) {
          urls.add(t);
        }
      }
    }
    List<ScreenRecord> out = new ArrayList<>();
    for (ScreenRecord s : fetchScreens(urls)) {
      if (fps.contains(s.fingerprint())) {
        out.add(s);
      }
    }
    out.sort(Comparator.comparing(ScreenRecord::thumbprint));
    return out;
  }

  List<ScreenRecord> listScreens(String cinema, String afterThumbprint, int limit)
      throws StoreException {
    int n = Checks.page(limit);
    String sub =
        cinema == null
            ? S3Layout.SCREENS
            : S3Layout.screensByCinema(CinemaRecord.checkName("cinema name", cinema));
    List<ScreenRecord> out = new ArrayList<>();
    String after = afterThumbprint == null ? null : sub + ScreenRecord.toUrl(afterThumbprint);
    while (out.size() < n) {
      List<String> keys = objects.list(sub, after, n - out.size());
      if (keys.isEmpty()) {
        break;
      }
      List<String> urls = new ArrayList<>();
      for (String key : keys) {
        String t = key.substring(sub.length());
        if (ScreenRecord.fromUrl(t) != null) {
          urls.add(t);
        }
      }
      for (ScreenRecord s : fetchScreens(urls)) {
        if (cinema == null || cinema.equals(s.cinema())) {
          out.add(s);
        }
      }
      after = keys.getLast();
    }
    out.sort(Comparator.comparing(ScreenRecord::thumbprintUrl));
    return out;
  }
}
