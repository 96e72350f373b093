package dev.keycast.protocol;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Base64;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** {@link Base64Url#decode} accepts and rejects exactly what the JDK's URL decoder does. */
class Base64UrlTest {

  @ParameterizedTest
  @ValueSource(
      strings = {
        "",
        "AA",
        "AAA",
        "AAAA",
        "AA==",
        "AAA=",
        "_-8",
        "_-8=",
        "SGVsbG8",
        "SGVsbG8=",
        "A",
        "A=",
        "A==",
        "AA=",
        "AAA==",
        "AAAA=",
        "=",
        "==",
        "===",
        "AA=A",
        "A=AA",
        "AA==AAAA",
        "+/8=",
        "AA A",
        "AA\n",
        "AAé=",
        "AAAA====",
        "Zm9vYg",
        "Zm9vYmE",
        "Zm9vYmFy",
        "AB==",
        "ABC="
      })
  void sameAsTheJdkOnEdgeCases(String text) {
    check(text);
  }

  /** Random strings over an alphabet of valid, padding, near-miss and non-ASCII characters. */
  @ParameterizedTest
  @ValueSource(longs = {1, 2, 3, 4, 5})
  void sameAsTheJdkOnRandomInput(long seed) {
    String chars = "ABCxyz019-_=+/ \n.\u00e9\u0100\u20ac";
    SplittableRandom r = new SplittableRandom(seed);
    for (int n = 0; n < 20_000; n++) {
      StringBuilder b = new StringBuilder();
      int len = r.nextInt(12);
      for (int i = 0; i < len; i++) {
        // mostly valid characters, so that many inputs decode
        b.append(
            r.nextInt(4) == 0
                ? chars.charAt(r.nextInt(chars.length()))
                : "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
                    .charAt(r.nextInt(64)));
      }
      if (r.nextBoolean()) {
        b.append("==", 0, r.nextInt(3));
      }
      check(b.toString());
    }
    for (int n = 0; n < 2_000; n++) {
      byte[] data = new byte[r.nextInt(700)];
      r.nextBytes(data);
      String text = Base64.getUrlEncoder().withoutPadding().encodeToString(data);
      check(text);
      check(Base64.getUrlEncoder().encodeToString(data));
    }
  }

  @ParameterizedTest
  @ValueSource(ints = {0, 1, 2, 3, 4, 5, 6})
  void capsTheDecodedLength(int max) throws Exception {
    String four = Base64Url.encode(new byte[4]);
    if (max >= 4) {
      assertThat(Base64Url.decode("f", four, max)).hasSize(4);
    } else {
      assertThatThrownBy(() -> Base64Url.decode("f", four, max))
          .isInstanceOfSatisfying(
              MalformedInputException.class, e -> assertThat(e.code()).isEqualTo("oversize"));
    }
  }

  private static void check(String text) {
    byte[] jdk;
    try {
      jdk = Base64.getUrlDecoder().decode(text);
    } catch (IllegalArgumentException e) {
      jdk = null;
    }
    byte[] ours;
    try {
      ours = Base64Url.decode("f", text, 1 << 20);
    } catch (MalformedInputException e) {
      assertThat(e.code()).as("code for \"%s\"", text).isEqualTo("malformed_request");
      ours = null;
    }
    assertThat(ours).as("decode of \"%s\"", text).isEqualTo(jdk);
  }
}
