package dev.keycast.protocol.cinema;

import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;

/**
 * The secret of a KDM send: the content keys of one composition playlist (CPL).
 *
 * <p>Rules ({@link #of} enforces them): a CPL id; a content title of 1 to {@link
 * #MAX_TITLE_LENGTH} characters without control characters; 1 to {@link #MAX_KEYS} keys, each
 * valid per {@link ContentKey#of}, with distinct key ids.
 */
public record ContentKeySet(UUID cplId, String contentTitle, List<ContentKey> keys) {
  public static final int MAX_TITLE_LENGTH = 256;
  public static final int MAX_KEYS = 256;

  public ContentKeySet {
    keys = List.copyOf(keys);
  }

  /** A checked content key set, or a refusal naming the broken rule. */
  public static ContentKeySet of(UUID cplId, String contentTitle, List<ContentKey> keys)
      throws CinemaException {
    if (cplId == null) {
      throw new CinemaException(
          "content_key_set_cpl_id", "a content key set needs its CPL id (a UUID)");
    }
    if (contentTitle == null
        || contentTitle.isBlank()
        || contentTitle.length() > MAX_TITLE_LENGTH
        || !KdmText.isWritable(contentTitle)) {
      throw new CinemaException(
          "content_key_set_title",
          "the content title must be 1 to "
              + MAX_TITLE_LENGTH
              + " characters, not blank, without control characters or characters XML does not allow");
    }
    if (keys == null || keys.isEmpty() || keys.size() > MAX_KEYS) {
      throw new CinemaException(
          "content_key_set_key_count", "a content key set holds 1 to " + MAX_KEYS + " keys");
    }
    Set<UUID> ids = new HashSet<>();
    for (ContentKey k : keys) {
      if (k == null) {
        throw new CinemaException("content_key_missing", "a content key is missing");
      }
      ContentKey.of(k.keyId(), k.type(), k.key()); // re-check
      if (!ids.add(k.keyId())) {
        throw new CinemaException(
            "content_key_set_duplicate_key_id", "key id " + k.keyId() + " appears twice");
      }
    }
    return new ContentKeySet(cplId, contentTitle, keys);
  }
}
