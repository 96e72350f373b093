package dev.keycast.protocol.cinema;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Test;

class ContentKeySetTest {
  static final UUID CPL = UUID.randomUUID();

  static ContentKey key() throws CinemaException {
    return ContentKey.of(UUID.randomUUID(), KeyType.MDIK, new byte[16]);
  }

  static void refused(ThrowingCall call, String code) {
    assertThatThrownBy(call::call)
        .isInstanceOfSatisfying(CinemaException.class, e -> assertThat(e.code()).isEqualTo(code));
  }

  interface ThrowingCall {
    void call() throws Exception;
  }

  @Test
  void aValidSetKeepsItsKeysInOrder() throws Exception {
    ContentKey a = key();
    ContentKey b = ContentKey.of(UUID.randomUUID(), KeyType.FMAK, new byte[16]);
    ContentKeySet s = ContentKeySet.of(CPL, "Title", List.of(a, b));
    assertThat(s.keys()).containsExactly(a, b);
  }

  @Test
  void eachRuleIsEnforced() throws Exception {
    ContentKey k = key();
    refused(() -> ContentKeySet.of(null, "T", List.of(k)), "content_key_set_cpl_id");
    refused(() -> ContentKeySet.of(CPL, " ", List.of(k)), "content_key_set_title");
    refused(() -> ContentKeySet.of(CPL, "a\nb", List.of(k)), "content_key_set_title");
    refused(() -> ContentKeySet.of(CPL, "x".repeat(257), List.of(k)), "content_key_set_title");
  }

  /**
   * Attack (security review, 2026-12-07): a title holding characters XML 1.0 does not allow would
   * be signed into KDMs no media block can parse. A title outside the BMP stays allowed.
   */
  @Test
  void aTitleXmlCannotCarryIsRefused() throws Exception {
    ContentKey k = key();
    refused(() -> ContentKeySet.of(CPL, "Title \uFFFE", List.of(k)), "content_key_set_title");
    refused(() -> ContentKeySet.of(CPL, "Title \uFFFF", List.of(k)), "content_key_set_title");
    refused(() -> ContentKeySet.of(CPL, "Title \uD800", List.of(k)), "content_key_set_title");
    refused(() -> ContentKeySet.of(CPL, "Title \uDC00 x", List.of(k)), "content_key_set_title");
    assertThat(ContentKeySet.of(CPL, "Title \uD83C\uDFAC \uFFFD", List.of(k)).contentTitle())
        .isEqualTo("Title \uD83C\uDFAC \uFFFD");
    refused(() -> ContentKeySet.of(CPL, "T", List.of()), "content_key_set_key_count");
    List<ContentKey> many = new ArrayList<>();
    for (int i = 0; i < 257; i++) {
      many.add(key());
    }
    refused(() -> ContentKeySet.of(CPL, "T", many), "content_key_set_key_count");
    refused(
        () ->
            ContentKeySet.of(
                CPL, "T", List.of(k, ContentKey.of(k.keyId(), KeyType.MDAK, new byte[16]))),
        "content_key_set_duplicate_key_id");
    refused(
        () -> ContentKey.of(UUID.randomUUID(), KeyType.MDIK, new byte[15]), "content_key_length");
    refused(
        () -> ContentKey.of(UUID.randomUUID(), KeyType.MDIK, new byte[32]), "content_key_length");
    refused(() -> KeyType.parse("MDXK"), "content_key_type");
    assertThat(KeyType.parse("MDEK")).isEqualTo(KeyType.MDEK);
  }

  @Test
  void theKeyNeverShowsInToStringAndIsCopied() throws Exception {
    byte[] raw = new byte[16];
    java.util.Arrays.fill(raw, (byte) 0x5a);
    ContentKey k =
        ContentKey.of(UUID.fromString("11111111-2222-4333-8444-555555555555"), KeyType.MDIK, raw);
    raw[0] = 0;
    assertThat(k.key()[0]).isEqualTo((byte) 0x5a);
    k.key()[1] = 0;
    assertThat(k.key()[1]).isEqualTo((byte) 0x5a);
    assertThat(k.toString()).doesNotContainIgnoringCase("5a5a").doesNotContain("90");
    k.zeroize();
    assertThat(k.key()).containsOnly(0);
  }
}
