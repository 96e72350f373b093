package dev.keycast.host.store;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The S3 store's commit protocol. Every object a send or forward needs is written first; the
 * manifest is written last with a conditional put, and that put is the commit. Each receipt and
 * delivery object names its commit reference (the manifest key and the send or receipt id the
 * manifest must name); readers return an object only when that manifest exists and names it. A
 * crash or failure before the manifest leaves orphans that no reader ever returns; two parents
 * committing the same payload race on the manifest and the loser returns the winner's send as a
 * replay. Manifests are immutable once written, so a positive check is remembered.
 */
final class S3CommitProtocol {
  private static final int COMMIT_CACHE_LIMIT = 100_000;
  private final S3Objects objects;
  private final S3RecordCodec codec;
  private final ConcurrentHashMap<String, String> committed = new ConcurrentHashMap<>();

  S3CommitProtocol(S3Objects objects, S3RecordCodec codec) {
    this.objects = Objects.requireNonNull(objects, "objects");
    this.codec = Objects.requireNonNull(codec, "codec");
  }

  /** Remembers that the manifest at {@code key} names {@code token} in {@code field}. */
  void remember(String key, String field, String token) {
    committed.put(key + "#" + field, token);
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
    if (committed.size() > COMMIT_CACHE_LIMIT) {
      committed.clear();
    }
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
