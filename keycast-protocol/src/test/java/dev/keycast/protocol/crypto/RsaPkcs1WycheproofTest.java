package dev.keycast.protocol.crypto;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keycast.protocol.wycheproof.Wycheproof;
import dev.keycast.protocol.wycheproof.Wycheproof.Result;
import dev.keycast.protocol.wycheproof.Wycheproof.Vector;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Wycheproof RSASSA-PKCS1-v1_5 SHA-256 vectors (2048, 3072, 4096 bits) against {@link
 * CryptoBackend#rsaPkcs1Verify} of both backends: the check of every RSA-signed recipient
 * certificate in a chain.
 *
 * <p>Choice for the one {@code acceptable} vector per file ({@code MissingNull}: a DigestInfo whose
 * AlgorithmIdentifier omits the NULL parameters, RFC 8017 section 9.2 note 2): both backends
 * reject it (neither SunRsaSign nor OpenSSL's EVP_DigestVerify re-encodes the DigestInfo without
 * the NULL), and they must agree, so that a certificate's eligibility never depends on the backend.
 */
class RsaPkcs1WycheproofTest {
  static List<Arguments> vectors() {
    List<Arguments> out = new ArrayList<>();
    for (String bits : List.of("2048", "3072", "4096")) {
      for (Vector v : Wycheproof.load("rsa_signature_" + bits + "_sha256_test.json")) {
        for (String backend : TestBackends.names()) {
          out.add(Arguments.of(backend, v));
        }
      }
    }
    return out;
  }

  @ParameterizedTest(name = "{0} {1}")
  @MethodSource("vectors")
  void validSignaturesVerifyAndForgedOrMalformedOnesDoNot(String backendName, Vector v) {
    CryptoBackend backend = TestBackends.get(backendName);
    byte[] msg = v.hex("msg");
    boolean ok =
        backend.rsaPkcs1Verify(
            RsaSignatureDigest.SHA256,
            v.groupHex("publicKeyDer"),
            msg,
            0,
            msg.length,
            v.hex("sig"));
    assertThat(ok).as(v.toString()).isEqualTo(v.result() == Result.VALID);
  }
}
