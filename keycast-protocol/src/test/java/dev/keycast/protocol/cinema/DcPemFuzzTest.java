package dev.keycast.protocol.cinema;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.keycast.protocol.MalformedInputException;
import dev.keycast.protocol.fuzz.FuzzContract;
import dev.keycast.protocol.fuzz.FuzzContract.Outcome;
import dev.keycast.protocol.keyset.KdmSignerKeys;
import java.nio.charset.StandardCharsets;
import java.security.cert.X509Certificate;
import java.security.interfaces.RSAPublicKey;
import java.util.List;

/**
 * Coverage-guided fuzz targets for the KDM signer's distributor-CA import (wire-format.md 4.6):
 * {@link DcPem#parseCertificates}, which reads the PEM chain an operator posts to the host's admin
 * listener ({@code POST /admin/kdm-signer/chain}) and the PEM files the CLI reads
 * ({@code keycast kdm signer-import --chain}, {@code dkdm ingest --studio-root}, {@code dkdm
 * import-key --certificate}), and the import as a whole, {@code KdmSignerKeys.validateChain(DcPem
 * .parseCertificates(pem))} (what {@code keycast kdm signer-import} checks before posting).
 *
 * <p>Contract of {@code parseCertificates}: only {@link MalformedInputException} with a stable code
 * escapes; nothing is allocated for a block before its size is capped; what it returns is 1 to
 * {@link KdmSignerKeys#MAX_CERTIFICATES} blocks of 1 to {@link KdmSignerKeys#MAX_CERTIFICATE_BYTES}
 * bytes each (its documented caps), and {@link DcPem#certificates} of them parses back to the same
 * bytes (round trip through the writer).
 *
 * <p>Contract of the import: only {@code MalformedInputException} or {@link CinemaException} with
 * a stable code escapes; an accepted chain is re-checked independently of the validator: 2 to 8
 * certificates, each the exact DER it came from, each signed (JCA {@code verify}) by the next, the
 * last self-signed, every key RSA of at least 2048 bits.
 */
class DcPemFuzzTest {
  private static final long ALLOCATION_PER_BYTE = 256;

  @FuzzTest
  void parseCertificates(byte[] input) {
    Outcome<List<byte[]>> out =
        FuzzContract.typedOnly(
            input,
            ALLOCATION_PER_BYTE,
            () -> DcPem.parseCertificates(input),
            MalformedInputException.class);
    if (!out.ok()) {
      return;
    }
    List<byte[]> der = out.value();
    assertThat(der).isNotEmpty().hasSizeLessThanOrEqualTo(KdmSignerKeys.MAX_CERTIFICATES);
    der.forEach(
        d ->
            assertThat(d.length)
                .as("a block's DER within the documented cap")
                .isBetween(0, KdmSignerKeys.MAX_CERTIFICATE_BYTES));
    byte[] again = DcPem.certificates(der).getBytes(StandardCharsets.US_ASCII);
    List<byte[]> reread;
    try {
      reread = DcPem.parseCertificates(again);
    } catch (MalformedInputException e) {
      throw new AssertionError(
          "DcPem.certificates of an accepted chain does not parse back: " + e.getMessage(), e);
    }
    assertThat(reread).hasSameSizeAs(der);
    for (int i = 0; i < der.size(); i++) {
      assertThat(reread.get(i)).isEqualTo(der.get(i));
    }
  }

  @FuzzTest
  void signerChain(byte[] input) throws Exception {
    Outcome<List<X509Certificate>> out =
        FuzzContract.typedOnly(
            input,
            ALLOCATION_PER_BYTE,
            () -> KdmSignerKeys.validateChain(DcPem.parseCertificates(input)),
            MalformedInputException.class,
            CinemaException.class);
    if (!out.ok()) {
      if (out.error() instanceof CinemaException e) {
        assertThat(e.code()).matches(FuzzContract.ERROR_CODE);
      }
      return;
    }
    List<X509Certificate> chain = out.value();
    List<byte[]> der = DcPem.parseCertificates(input);
    assertThat(chain).hasSizeBetween(2, KdmSignerKeys.MAX_CERTIFICATES).hasSameSizeAs(der);
    for (int i = 0; i < chain.size(); i++) {
      X509Certificate c = chain.get(i);
      assertThat(c.getEncoded()).isEqualTo(der.get(i));
      X509Certificate issuer = chain.get(Math.min(i + 1, chain.size() - 1));
      c.verify(issuer.getPublicKey());
      assertThat(c.getIssuerX500Principal()).isEqualTo(issuer.getSubjectX500Principal());
      assertThat(c.getPublicKey()).isInstanceOf(RSAPublicKey.class);
      assertThat(((RSAPublicKey) c.getPublicKey()).getModulus().bitLength())
          .isGreaterThanOrEqualTo(2048);
    }
  }
}
