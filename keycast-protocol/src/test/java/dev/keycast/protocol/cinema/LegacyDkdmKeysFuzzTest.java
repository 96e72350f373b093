package dev.keycast.protocol.cinema;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.keycast.protocol.fuzz.FuzzContract;
import dev.keycast.protocol.fuzz.FuzzContract.Outcome;
import java.nio.charset.StandardCharsets;
import java.security.PrivateKey;
import java.security.Signature;
import java.security.cert.X509Certificate;
import java.security.interfaces.RSAPublicKey;
import java.util.Arrays;
import java.util.Set;

/**
 * Coverage-guided fuzz target for the readers of a legacy DKDM key import (wire-format.md 10.6):
 * {@link LegacyDkdmKeys#certificate} (the certificate a sender names in {@code POST
 * /v1/dkdm-keys}) and {@link LegacyDkdmKeys#privateKey} (the PKCS #8 key the enclave finds inside
 * the sender's HPKE-sealed payload, a sender's bytes). {@code DkdmKeyImportStatement} itself is a
 * record the enclave builds from the request's fields, not a parser.
 *
 * <p>Input: a big-endian u16 length, that many bytes of certificate DER, then the PKCS #8 DER.
 * Seeds: the test screen's leaf and key ({@code src/test/resources/kdm}), RSA-2048, standing for a
 * legacy DKDM certificate.
 *
 * <p>Contract: only {@link CinemaException} with {@code dkdm_key_invalid} or {@code
 * dkdm_key_mismatch} escapes; allocation stays linear in the input (the route caps both before
 * parsing: {@link LegacyDkdmKeys#MAX_CERTIFICATE_BYTES}, {@link LegacyDkdmKeys#MAX_PKCS8_BYTES});
 * an accepted certificate has an RSA key of 2,048 to 4,096 bits; an accepted private key is
 * re-checked by use rather than by comparing numbers: a signature it makes (SHA256withRSA)
 * verifies under the certificate's public key.
 */
class LegacyDkdmKeysFuzzTest {
  private static final long ALLOCATION_PER_BYTE = 512;
  private static final Set<String> CODES = Set.of("dkdm_key_invalid", "dkdm_key_mismatch");
  private static final byte[] MESSAGE =
      "keycast legacy DKDM key check".getBytes(StandardCharsets.US_ASCII);

  @FuzzTest
  void certificateAndKey(byte[] input) throws Exception {
    int n =
        input.length < 2
            ? 0
            : Math.min(((input[0] & 0xff) << 8) | (input[1] & 0xff), input.length - 2);
    byte[] cert =
        Arrays.copyOfRange(input, Math.min(2, input.length), Math.min(2, input.length) + n);
    byte[] pkcs8 = Arrays.copyOfRange(input, Math.min(2, input.length) + n, input.length);
    Outcome<X509Certificate> c =
        FuzzContract.typedOnly(
            input,
            ALLOCATION_PER_BYTE,
            () -> LegacyDkdmKeys.certificate(cert),
            CinemaException.class);
    if (!c.ok()) {
      assertThat(((CinemaException) c.error()).code()).isIn(CODES);
      return;
    }
    X509Certificate certificate = c.value();
    int bits = ((RSAPublicKey) certificate.getPublicKey()).getModulus().bitLength();
    assertThat(bits).isBetween(2048, 4096);
    Outcome<PrivateKey> k =
        FuzzContract.typedOnly(
            input,
            ALLOCATION_PER_BYTE,
            () -> LegacyDkdmKeys.privateKey(pkcs8, certificate),
            CinemaException.class);
    if (!k.ok()) {
      assertThat(((CinemaException) k.error()).code()).isIn(CODES);
      return;
    }
    Signature s = Signature.getInstance("SHA256withRSA");
    s.initSign(k.value());
    s.update(MESSAGE);
    byte[] sig = s.sign();
    Signature v = Signature.getInstance("SHA256withRSA");
    v.initVerify(certificate.getPublicKey());
    v.update(MESSAGE);
    assertThat(v.verify(sig)).as("the accepted key is the certificate's key").isTrue();
  }
}
