package dev.keycast.protocol.hpke;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keycast.protocol.wycheproof.Wycheproof;
import dev.keycast.protocol.wycheproof.Wycheproof.Result;
import dev.keycast.protocol.wycheproof.Wycheproof.Vector;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Wycheproof {@code hkdf_sha256_test.json} against HPKE's {@link HkdfSha256} (extract then
 * expand; an empty salt means HashLen zeros). The three {@code invalid} vectors ask for more than
 * 255 * 32 bytes and must be refused.
 */
class HkdfWycheproofTest {
  static List<Vector> vectors() {
    return Wycheproof.load("hkdf_sha256_test.json");
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("vectors")
  void extractThenExpandMatchesAndOversizeIsRefused(Vector v) {
    HkdfSha256 h = new HkdfSha256();
    int size = v.test().get("size").asInt();
    byte[] prk = h.extract(v.hex("salt"), v.hex("ikm"));
    if (v.result() == Result.VALID) {
      assertThat(h.expand(prk, v.hex("info"), size)).as(v.toString()).isEqualTo(v.hex("okm"));
    } else {
      assertThatThrownBy(() -> h.expand(prk, v.hex("info"), size))
          .as(v.toString())
          .isInstanceOf(IllegalArgumentException.class);
    }
  }
}
