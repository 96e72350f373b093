package dev.keycast.protocol.attestation;

import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keycast.protocol.wycheproof.Wycheproof;
import dev.keycast.protocol.wycheproof.Wycheproof.Result;
import dev.keycast.protocol.wycheproof.Wycheproof.Vector;
import java.security.KeyFactory;
import java.security.PublicKey;
import java.security.spec.X509EncodedKeySpec;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Wycheproof {@code ecdsa_secp384r1_sha384_p1363_test.json} against the attestation document's
 * COSE ES384 check ({@link NitroAttestationVerifier#verifyEs384}): {@code r || s}, 96 bytes. The
 * file has no {@code acceptable} vector.
 */
class Es384WycheproofTest {
  static List<Vector> vectors() {
    return Wycheproof.load("ecdsa_secp384r1_sha384_p1363_test.json");
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("vectors")
  void validSignaturesVerifyAndEveryForgeryOrEncodingTrickIsRefused(Vector v) throws Exception {
    PublicKey key =
        KeyFactory.getInstance("EC")
            .generatePublic(new X509EncodedKeySpec(v.groupHex("publicKeyDer")));
    if (v.result() == Result.VALID) {
      assertThatCode(() -> NitroAttestationVerifier.verifyEs384(key, v.hex("msg"), v.hex("sig")))
          .as(v.toString())
          .doesNotThrowAnyException();
    } else {
      assertThatThrownBy(
              () -> NitroAttestationVerifier.verifyEs384(key, v.hex("msg"), v.hex("sig")))
          .as(v.toString())
          .isInstanceOfSatisfying(
              AttestationException.class,
              e ->
                  org.assertj.core.api.Assertions.assertThat(e.reason())
                      .isEqualTo(AttestationException.Reason.BAD_SIGNATURE));
    }
  }
}
