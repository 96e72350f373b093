package dev.keycast.protocol;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Random;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class TokenSyntaxTest {
  /** Every syntax the code base checks with a TokenSyntax, as set, min, max. */
  @ParameterizedTest(name = "[{0}]'{'{1},{2}'}'")
  @CsvSource(
      delimiter = ' ',
      value = {
        "0-9a-f 64 64",
        "0-9a-f 32 32",
        "A-Za-z0-9_- 1 128",
        "A-Za-z0-9_- 0 128",
        "a-z0-9._- 1 64",
        "A-Za-z0-9._:- 1 128"
      })
  void agreesWithTheRegularExpressionOnRandomInputs(String set, int min, int max) {
    TokenSyntax syntax = TokenSyntax.of(set, min, max);
    Pattern regex = Pattern.compile(syntax.pattern());
    // an alphabet around the set's edges: neighbours of each range, non-ASCII look-alikes
    String alphabet =
        "09afAFzZ:;@[`{/.-_ \t\u00e9\u0660\uff10\u212a" + "0123456789abcdefghijklmnop";
    String members =
        alphabet
            .chars()
            .filter(c -> syntax.allows((char) c))
            .collect(StringBuilder::new, StringBuilder::appendCodePoint, StringBuilder::append)
            .toString();
    Random random = new Random(42);
    int accepted = 0;
    for (int i = 0; i < 20_000; i++) {
      // a token of the syntax, then in half of the cases one mutation: a character replaced by
      // any of the alphabet, or the length one off
      int length = min + random.nextInt(max - min + 1);
      StringBuilder b = new StringBuilder(length + 1);
      for (int j = 0; j < length; j++) {
        b.append(members.charAt(random.nextInt(members.length())));
      }
      switch (random.nextInt(6)) {
        case 0 -> {
          if (length > 0) {
            b.setCharAt(random.nextInt(length), alphabet.charAt(random.nextInt(alphabet.length())));
          }
        }
        case 1 -> b.append(members.charAt(0));
        case 2 -> {
          if (length > 0) {
            b.setLength(length - 1);
          }
        }
        default -> {}
      }
      String s = b.toString();
      boolean expected = regex.matcher(s).matches();
      assertThat(syntax.matches(s)).as("%s on \"%s\"", syntax, s).isEqualTo(expected);
      accepted += expected ? 1 : 0;
    }
    assertThat(accepted)
        .as("inputs the syntax accepted (the test must see both answers)")
        .isBetween(100, 19_900);
  }

  @Test
  void checksLengthsAtTheirBounds() {
    TokenSyntax id = TokenSyntax.of("A-Za-z0-9_-", 1, 128);
    assertThat(id.matches("")).isFalse();
    assertThat(id.matches("a")).isTrue();
    assertThat(id.matches("a".repeat(128))).isTrue();
    assertThat(id.matches("a".repeat(129))).isFalse();
    assertThat(id.matches(null)).isFalse();
    assertThat(id.pattern()).isEqualTo("[A-Za-z0-9_-]{1,128}");
    assertThat(TokenSyntax.of("0-9a-f", 64, 64).pattern()).isEqualTo("[0-9a-f]{64}");
  }

  @Test
  void checksARangeOfTheInput() {
    TokenSyntax hex32 = TokenSyntax.of("0-9a-f", 32, 32);
    String keySetId = "ks-" + "0123456789abcdef".repeat(2);
    assertThat(hex32.matches(keySetId, 3, keySetId.length())).isTrue();
    assertThat(hex32.matches(keySetId, 2, keySetId.length())).isFalse(); // '-' and 33 long
    assertThatThrownBy(() -> hex32.matches(keySetId, 3, 99))
        .isInstanceOf(IndexOutOfBoundsException.class);
  }

  @Test
  void rejectsNonAsciiAndControlCharacters() {
    TokenSyntax hex = TokenSyntax.of("0-9a-f", 1, 8);
    assertThat(hex.matches("\u0661")).as("Arabic-Indic digit one").isFalse();
    assertThat(hex.matches("\uff41")).as("fullwidth a").isFalse();
    assertThat(hex.matches("a\u0000")).isFalse();
    assertThat(hex.allows('!')).isFalse(); // '!' = 33 has the bit of 'a' (97) in the other word
    assertThat(hex.allows((char) ('0' + 128))).isFalse();
  }

  @Test
  void rejectsMalformedSets() {
    assertThatThrownBy(() -> TokenSyntax.of("z-a", 1, 2))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("\"z-a\"");
    assertThatThrownBy(() -> TokenSyntax.of("a\u00e9", 1, 2))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> TokenSyntax.of("a b", 1, 2))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> TokenSyntax.of("", 1, 2)).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> TokenSyntax.of("a", 3, 2))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> TokenSyntax.of("a", -1, 2))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
