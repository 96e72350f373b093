package dev.keycast.host.store;

import java.util.List;
import java.util.Optional;

/**
 * The S3 store's sealed key sets and sender sets: one object a version, written once with a
 * conditional put, the latest found by listing (the keys are zero-padded, so the listing's byte
 * order is the version order). The {@link S3ArtefactStore} checks that it is open and delegates
 * here.
 */
final class S3SealedSets {
  private final S3Objects objects;

  S3SealedSets(S3Objects objects) {
    this.objects = objects;
  }

  void putKeySet(StoredKeySet k) throws StoreException {
    if (!objects.put(S3Layout.keySet(k.version()), k.bytes(), true)) {
      throw new StoreException(
          StoreException.Code.CONFLICT,
          "sealed key set version " + k.version() + " already exists");
    }
  }

  Optional<StoredKeySet> latestKeySet() throws StoreException {
    return latest(
        S3Layout.KEY_SETS,
        Integer::parseInt,
        Checks.MAX_KEY_SET,
        (version, body) -> new StoredKeySet((int) version, body));
  }

  void putSenderSet(StoredSenderSet k) throws StoreException {
    if (!objects.put(S3Layout.senderSet(k.version()), k.bytes(), true)) {
      throw new StoreException(
          StoreException.Code.CONFLICT,
          "sealed sender set version " + k.version() + " already exists");
    }
  }

  Optional<StoredSenderSet> latestSenderSet() throws StoreException {
    return latest(
        S3Layout.SENDER_SETS, Long::parseLong, StoredSenderSet.MAX_BYTES, StoredSenderSet::new);
  }

  /** Reads a version number; throws {@link NumberFormatException} for a key that is not ours. */
  private interface VersionParser {
    long parse(String digits);
  }

  private interface Decoder<T> {
    T decode(long version, byte[] body);
  }

  /** The highest version under {@code prefix} whose object can be read. */
  private <T> Optional<T> latest(
      String prefix, VersionParser parser, int maxBytes, Decoder<T> decoder) throws StoreException {
    List<String> keys = objects.list(prefix, null, Integer.MAX_VALUE);
    for (int i = keys.size() - 1; i >= 0; i--) {
      String key = keys.get(i);
      long version;
      try {
        version = parser.parse(key.substring(prefix.length()));
      } catch (NumberFormatException e) {
        continue; // not ours
      }
      Optional<byte[]> body = objects.get(key, maxBytes);
      if (body.isPresent()) {
        return Optional.of(S3RecordCodec.stored(key, () -> decoder.decode(version, body.get())));
      }
    }
    return Optional.empty();
  }
}
