package dev.keycast.host.store;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * The S3 store's commit protocol. Every object a send or forward needs is written first; the
 * manifest is written last with a conditional put, and that put is the commit. Each receipt and
 * delivery object names its commit reference (the manifest key and the send or receipt id the
 * manifest must name); readers return an object only when that manifest exists and names it. A
 * crash or failure before the manifest leaves orphans that no reader ever returns; two parents
 * committing the same payload race on the manifest and the loser returns the winner's send as a
 * replay.
 *
 * <p>Manifests are immutable once written (conditional puts, never deleted or overwritten), so what
 * a manifest names is remembered: a remembered fact stays true whatever another parent sharing the
 * store writes later (it can only add manifests), and an absent manifest is never remembered, so a
 * send or forward committed by another parent is seen at its first check. The memory is a bounded
 * least-recently-used map ({@link #DEFAULT_CACHE_LIMIT} entries, about 30 MB at most): a parent that
 * only commits (every commit remembers its manifest) no longer grows it without end.
 */
final class S3CommitProtocol {
  static final int DEFAULT_CACHE_LIMIT = 100_000;
  private final S3Objects objects;
  private final S3RecordCodec codec;
  private final Map<String, String> committed;

  S3CommitProtocol(S3Objects objects, S3RecordCodec codec) {
    this(objects, codec, DEFAULT_CACHE_LIMIT);
  }

  S3CommitProtocol(S3Objects objects, S3RecordCodec codec, int cacheLimit) {
    this.objects = Objects.requireNonNull(objects, "objects");
    this.codec = Objects.requireNonNull(codec, "codec");
    if (cacheLimit < 1) {
      throw new IllegalArgumentException("cacheLimit must be positive");
    }
    this.committed =
        Collections.synchronizedMap(
            new LinkedHashMap<>(16, 0.75f, true) {
              @Override
              protected boolean removeEldestEntry(Map.Entry<String, String> eldest) {
                return size() > cacheLimit;
              }
            });
  }

  /** Remembers that the manifest at {@code key} names {@code token} in {@code field}. */
  void remember(String key, String field, String token) {
    committed.put(key + "#" + field, token);
  }

  /** How many manifest facts are remembered (tests). */
  int cached() {
    return committed.size();
  }

  /** True when the manifest at {@code key} exists and names {@code token} in {@code field}. */
  boolean isCommitted(String key, String field, String token) throws StoreException {
    String cacheKey = key + "#" + field;
    if (token.equals(committed.get(cacheKey))) {
      return true;
    }
    Optional<byte[]> body = objects.get(key, S3Objects.MAX_SMALL_OBJECT);
    if (body.isEmpty()) {
      return false;
    }
    String named = S3RecordCodec.text(key, codec.decode(key, body.get()), field);
    committed.put(cacheKey, named);
    return named.equals(token);
  }

  boolean isCommitted(JsonNode obj, String key) throws StoreException {
    JsonNode c = obj.get("commit");
    if (c == null || !c.isObject()) {
      throw new StoreException(StoreException.Code.STORE_CORRUPT, key + ": missing commit ref");
    }
    String ckey = S3RecordCodec.text(key, c, "key");
    if (!S3Layout.isManifest(ckey)) {
      throw new StoreException(StoreException.Code.STORE_CORRUPT, key + ": bad commit ref");
    }
    return isCommitted(
        ckey, S3RecordCodec.text(key, c, "field"), S3RecordCodec.text(key, c, "token"));
  }

  ObjectNode ref(String key, String field, String token) {
    ObjectNode c = codec.object();
    c.put("key", key);
    c.put("field", field);
    c.put("token", token);
    return c;
  }
}
