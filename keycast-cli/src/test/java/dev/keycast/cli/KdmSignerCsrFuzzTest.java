package dev.keycast.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.keycast.protocol.fuzz.FuzzContract;
import dev.keycast.protocol.fuzz.FuzzContract.Outcome;
import java.nio.charset.StandardCharsets;
import java.security.KeyFactory;
import java.security.PublicKey;
import java.security.Signature;
import java.security.spec.X509EncodedKeySpec;
import java.util.Base64;
import java.util.Map;
import org.bouncycastle.asn1.ASN1Encoding;
import org.bouncycastle.asn1.pkcs.CertificationRequest;

/**
 * Coverage-guided fuzz target for the CLI's reader of the KDM signer's certificate request,
 * {@link KdmSignerCsrCommand#readCsr}: the PEM the host's admin listener answers to {@code keycast
 * kdm signer-csr} (wire-format.md 4.6), which the CLI checks and writes for the distributor's CA.
 *
 * <p>Contract: only {@link CliException} ({@link ExitCodes#VERIFICATION_FAILED}) escapes, nothing
 * else the PEM, ASN.1 or signature code throws; allocation stays linear in the input; an accepted
 * request is re-checked independently of Bouncy Castle's {@code isSignatureValid}: for the
 * signature algorithms a CA would sign from (RSA PKCS #1 v1.5 and ECDSA with SHA-2), the JDK's own
 * {@link Signature} verifies the request's signature over its CertificationRequestInfo under the
 * key the request names; and the PEM the CLI writes reads back to the same subject, dnQualifier and
 * PEM (round trip through its writer, {@code DcPem.encode}).
 */
class KdmSignerCsrFuzzTest {
  private static final long ALLOCATION_PER_BYTE = 512;
  private static final Map<String, String> JDK_SIGNATURES =
      Map.of(
          "1.2.840.113549.1.1.5", "SHA1withRSA",
          "1.2.840.113549.1.1.11", "SHA256withRSA",
          "1.2.840.113549.1.1.12", "SHA384withRSA",
          "1.2.840.113549.1.1.13", "SHA512withRSA",
          "1.2.840.10045.4.3.2", "SHA256withECDSA",
          "1.2.840.10045.4.3.3", "SHA384withECDSA");

  @FuzzTest
  void readCsr(byte[] input) throws Exception {
    Outcome<KdmSignerCsrCommand.Csr> out =
        FuzzContract.typedOnly(
            input,
            ALLOCATION_PER_BYTE,
            () -> KdmSignerCsrCommand.readCsr(input),
            CliException.class);
    if (!out.ok()) {
      assertThat(((CliException) out.error()).exitCode()).isEqualTo(ExitCodes.VERIFICATION_FAILED);
      return;
    }
    KdmSignerCsrCommand.Csr csr = out.value();
    String pem = new String(csr.pem(), StandardCharsets.US_ASCII);
    byte[] der =
        Base64.getMimeDecoder()
            .decode(
                pem.replace("-----BEGIN CERTIFICATE REQUEST-----", "")
                    .replace("-----END CERTIFICATE REQUEST-----", "")
                    .strip());
    CertificationRequest req = CertificationRequest.getInstance(der);
    String alg = JDK_SIGNATURES.get(req.getSignatureAlgorithm().getAlgorithm().getId());
    if (alg != null) {
      byte[] spki =
          req.getCertificationRequestInfo().getSubjectPublicKeyInfo().getEncoded(ASN1Encoding.DER);
      PublicKey key =
          KeyFactory.getInstance(alg.endsWith("RSA") ? "RSA" : "EC")
              .generatePublic(new X509EncodedKeySpec(spki));
      Signature v = Signature.getInstance(alg);
      v.initVerify(key);
      v.update(req.getCertificationRequestInfo().getEncoded(ASN1Encoding.DER));
      assertThat(v.verify(req.getSignature().getOctets()))
          .as("the JDK verifies what the CLI accepted")
          .isTrue();
    }
    KdmSignerCsrCommand.Csr again = KdmSignerCsrCommand.readCsr(csr.pem());
    assertThat(again.subject()).isEqualTo(csr.subject());
    assertThat(again.dnQualifier()).isEqualTo(csr.dnQualifier());
    assertThat(again.pem()).isEqualTo(csr.pem());
  }
}
