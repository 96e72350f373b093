package dev.keycast.protocol;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class SecretIdsTest {
  @ParameterizedTest
  @ValueSource(strings = {"a", "movie-2026.reel_1:key", "A.Z_z:0-9"})
  void acceptsTheAlphabet(String id) {
    assertThat(SecretIds.isWellFormed(id)).isTrue();
  }

  @ParameterizedTest
  @ValueSource(strings = {"", "with space", "slash/no", "é", "tab\t", "plus+", "comma,"})
  void refusesAnythingElse(String id) {
    assertThat(SecretIds.isWellFormed(id)).isFalse();
  }

  @Test
  void lengthBoundsAndNull() {
    assertThat(SecretIds.isWellFormed("x".repeat(SecretIds.MAX_LENGTH))).isTrue();
    assertThat(SecretIds.isWellFormed("x".repeat(SecretIds.MAX_LENGTH + 1))).isFalse();
    assertThat(SecretIds.isWellFormed(null)).isFalse();
    assertThat(SecretIds.RULE).contains(Integer.toString(SecretIds.MAX_LENGTH));
  }
}
