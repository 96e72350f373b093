package dev.keycast.kms.mock;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keycast.protocol.attestation.TrustRoot;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPairGenerator;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The mock KMS's Recipient check: the protocol verifier plus an RSA >= 2048 public key. */
class ProtocolRecipientVerifierTest {
  static ProtocolRecipientVerifier verifier(List<X509Certificate> roots, Clock clock) {
    return new ProtocolRecipientVerifier(
        roots.stream().map(c -> TrustRoot.of(c.getSubjectX500Principal().getName(), c)).toList(),
        ProtocolRecipientVerifier.DEFAULT_MAX_AGE,
        clock);
  }

  static Path vectors() {
    return Path.of(System.getProperty("keycast.vectors"));
  }

  static byte[] realProductionDocument() throws Exception {
    return Base64.getMimeDecoder()
        .decode(Files.readString(vectors().resolve("attestation/nitrite-production.b64")).strip());
  }

  static List<X509Certificate> awsRoot() throws Exception {
    return ProtocolRecipientVerifier.readPemCertificates(
        List.of(vectors().resolve("attestation/aws-nitro-enclaves-root-g1.pem")));
  }

  @Test
  void realAwsDocumentPassesSignatureAndChainAtItsTimestamp() throws Exception {
    // 2024-09-07T14:37:39.545Z; the document's public_key is not an RSA SPKI, so verification
    // gets past the COSE signature and the PKIX chain and stops at the public key check.
    Clock then = Clock.fixed(Instant.ofEpochMilli(1725719859545L), ZoneOffset.UTC);
    var v = verifier(awsRoot(), then);
    assertThatThrownBy(() -> v.verify(realProductionDocument()))
        .isInstanceOf(RecipientVerificationException.class)
        .hasMessageContaining("public_key");
  }

  @Test
  void realAwsDocumentIsExpiredToday() throws Exception {
    var v = verifier(awsRoot(), Clock.systemUTC());
    assertThatThrownBy(() -> v.verify(realProductionDocument()))
        .isInstanceOf(RecipientVerificationException.class)
        .hasMessageContaining("EXPIRED");
  }

  @Test
  void tamperedRealDocumentFailsTheSignature() throws Exception {
    byte[] doc = realProductionDocument();
    doc[doc.length - 200] ^= 1; // inside the payload's tail (nonce bytes), before the signature
    Clock then = Clock.fixed(Instant.ofEpochMilli(1725719859545L), ZoneOffset.UTC);
    var v = verifier(awsRoot(), then);
    assertThatThrownBy(() -> v.verify(doc))
        .isInstanceOf(RecipientVerificationException.class)
        .hasMessageStartingWith("BAD_SIGNATURE");
  }

  @Test
  void mintedDocumentVerifiesAndExposesPcrsAndKey() throws Exception {
    TestNitroPki pki = TestNitroPki.create("unit");
    var g = KeyPairGenerator.getInstance("RSA");
    g.initialize(2048);
    byte[] spki = g.generateKeyPair().getPublic().getEncoded();
    byte[] pcr0 = new byte[48];
    pcr0[0] = 0x11;
    VerifiedRecipient r =
        verifier(List.of(pki.root), Clock.systemUTC())
            .verify(pki.mint(TestNitroPki.pcrs(Map.of(0, pcr0)), spki));
    assertThat(r.publicKeySpki()).isEqualTo(spki);
    assertThat(r.pcrHex(0)).contains("11" + "00".repeat(47));
    assertThat(r.pcrs()).hasSize(16);
    // A document whose chain goes to another root is refused.
    assertThatThrownBy(
            () ->
                verifier(awsRoot(), Clock.systemUTC())
                    .verify(pki.mint(TestNitroPki.pcrs(Map.of()), spki)))
        .hasMessageStartingWith("UNTRUSTED_ROOT");
  }

  @Test
  void garbageIsATypedError() throws Exception {
    var v = verifier(awsRoot(), Clock.systemUTC());
    byte[][] inputs = {
      {},
      {(byte) 0xff, 0x00},
      {(byte) 0x83, 0x40, (byte) 0xa0, 0x40}, // 3-element array
      {(byte) 0x84, 0x44, (byte) 0xa1, 0x01, 0x38, 0x23, (byte) 0xa0, 0x40, 0x40}, // ES512 header
      {
        (byte) 0x84, 0x44, (byte) 0xa1, 0x01, 0x38, 0x22, (byte) 0xa0, 0x40, 0x40
      }, // empty signature
      {(byte) 0x5a, 0x7f, (byte) 0xff, (byte) 0xff, (byte) 0xff}, // claims a 2 GiB byte string
      new byte[RecipientAttestationVerifier.MAX_DOCUMENT_BYTES + 1]
    };
    for (byte[] in : inputs) {
      assertThatThrownBy(() -> v.verify(in)).isInstanceOf(RecipientVerificationException.class);
    }
  }
}
