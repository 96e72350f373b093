package dev.keycast.protocol.cinema;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.keycast.protocol.fuzz.FuzzContract;
import dev.keycast.protocol.fuzz.FuzzContract.Outcome;

/**
 * Coverage-guided fuzz target for {@link ContentKeySetCodec#decode}: the secret of a KDM send, which
 * the enclave reads after opening a payload any admitted sender may have built.
 *
 * <p>Contract: only {@link CinemaException} with a stable code escapes, and its message never
 * carries input bytes as hex (no key material in errors); allocation stays linear in the input;
 * whatever decodes re-encodes to exactly the input (one encoding per content-key set) and obeys
 * {@link ContentKeySet#of}'s rules.
 */
class ContentKeySetCodecFuzzTest {
  private static final long ALLOCATION_PER_BYTE = 64;

  @FuzzTest
  void decode(byte[] input) {
    Outcome<ContentKeySet> read =
        FuzzContract.typedOnly(
            input,
            ALLOCATION_PER_BYTE,
            () -> ContentKeySetCodec.decode(input),
            CinemaException.class);
    if (!read.ok()) {
      CinemaException e = (CinemaException) read.error();
      assertThat(e.code()).matches(FuzzContract.ERROR_CODE).startsWith("content_key");
      assertThat(e.getMessage()).doesNotContainPattern("[0-9a-f]{32}");
      return;
    }
    ContentKeySet set = read.value();
    assertThat(ContentKeySetCodec.encode(set)).isEqualTo(input);
    assertThat(set.keys()).isNotEmpty().hasSizeLessThanOrEqualTo(ContentKeySet.MAX_KEYS);
    assertThat(set.contentTitle()).isNotBlank();
    set.keys().forEach(k -> assertThat(k.key()).hasSize(ContentKey.KEY_LENGTH));
  }
}
