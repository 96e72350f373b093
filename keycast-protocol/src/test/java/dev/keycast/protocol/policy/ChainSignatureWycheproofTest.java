package dev.keycast.protocol.policy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keycast.protocol.wycheproof.Wycheproof;
import dev.keycast.protocol.wycheproof.Wycheproof.Result;
import dev.keycast.protocol.wycheproof.Wycheproof.Vector;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Wycheproof vectors against the certificate-chain signature check of {@link
 * AnchorChainValidator} for its non-RSA algorithms ({@link AnchorChainValidator#verifyJca}):
 * ECDSA P-384 with SHA-384 in X.509's DER form ({@code ecdsa_secp384r1_sha384_test.json}) and
 * Ed25519 ({@code ed25519_test.json}). Neither file has an {@code acceptable} vector; BER
 * encodings of the DER signature are {@code invalid} and must be refused.
 */
class ChainSignatureWycheproofTest {
  static List<Vector> ecdsa() {
    return Wycheproof.load("ecdsa_secp384r1_sha384_test.json");
  }

  static List<Vector> ed25519() {
    return Wycheproof.load("ed25519_test.json");
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("ecdsa")
  void ecdsaP384DerSignaturesOfAStudioCa(Vector v) {
    byte[] msg = v.hex("msg");
    assertThat(
            AnchorChainValidator.verifyJca(
                "SHA384withECDSA", v.groupHex("publicKeyDer"), msg, 0, msg.length, v.hex("sig")))
        .as(v.toString())
        .isEqualTo(v.result() == Result.VALID);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("ed25519")
  void ed25519SignaturesOfAStudioCa(Vector v) {
    byte[] msg = v.hex("msg");
    assertThat(
            AnchorChainValidator.verifyJca(
                "Ed25519", v.groupHex("publicKeyDer"), msg, 0, msg.length, v.hex("sig")))
        .as(v.toString())
        .isEqualTo(v.result() == Result.VALID);
  }
}
