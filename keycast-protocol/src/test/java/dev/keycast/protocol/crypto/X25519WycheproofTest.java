package dev.keycast.protocol.crypto;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keycast.protocol.wycheproof.Wycheproof;
import dev.keycast.protocol.wycheproof.Wycheproof.Vector;
import java.security.InvalidKeyException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.bouncycastle.math.ec.rfc7748.X25519;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Wycheproof {@code x25519_test.json} against the three X25519 entry points of both backends
 * ({@code x25519}, {@code x25519SharedSecret}, a held {@code x25519KeyAgreement}).
 *
 * <p>Choices for the {@code acceptable} vectors (testing.md): an all-zero shared secret (flag
 * {@code ZeroSharedSecret}, a low-order peer point) is rejected, as RFC 9180 section 7.1.4
 * requires; every other acceptable vector (twist points, non-canonical u-coordinates, special
 * public keys) is accepted and must give Wycheproof's shared secret, as RFC 7748 section 5
 * prescribes (mask the top bit, reduce modulo p).
 */
class X25519WycheproofTest {
  static List<Arguments> vectors() {
    List<Arguments> out = new ArrayList<>();
    for (Vector v : Wycheproof.load("x25519_test.json")) {
      for (String backend : TestBackends.names()) {
        out.add(Arguments.of(backend, v));
      }
    }
    return out;
  }

  /** Whether Keycast must refuse the vector: only an all-zero shared secret. */
  static boolean mustReject(Vector v) {
    return Arrays.equals(v.hex("shared"), new byte[32]);
  }

  @ParameterizedTest(name = "{0} {1}")
  @MethodSource("vectors")
  void lowOrderPeerPointsRejectedAndEveryOtherVectorAgrees(String backendName, Vector v)
      throws Exception {
    CryptoBackend backend = TestBackends.get(backendName);
    byte[] priv = v.hex("private");
    byte[] peer = v.hex("public");
    byte[] pub = new byte[32];
    X25519.scalarMultBase(priv, 0, pub, 0);
    assertThat(mustReject(v)).isEqualTo(v.hasFlag("ZeroSharedSecret"));
    X25519KeyAgreement held = backend.x25519KeyAgreement(priv, pub);
    try {
      if (mustReject(v)) {
        assertThatThrownBy(() -> backend.x25519(priv, peer))
            .isInstanceOf(InvalidKeyException.class);
        assertThatThrownBy(() -> backend.x25519SharedSecret(priv, pub, peer))
            .isInstanceOf(InvalidKeyException.class);
        assertThatThrownBy(() -> held.sharedSecret(peer)).isInstanceOf(InvalidKeyException.class);
      } else {
        X25519Exchange x = backend.x25519(priv, peer);
        assertThat(x.sharedSecret()).isEqualTo(v.hex("shared"));
        assertThat(x.publicKey()).isEqualTo(pub);
        assertThat(backend.x25519SharedSecret(priv, pub, peer)).isEqualTo(v.hex("shared"));
        assertThat(held.sharedSecret(peer)).isEqualTo(v.hex("shared"));
      }
    } finally {
      held.destroy();
    }
  }
}
