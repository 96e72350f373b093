package dev.keycast.protocol.cinema;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DcCertificateIssuerTest {
  static final DcCertificateIssuer.ChainNames SIGNER =
      new DcCertificateIssuer.ChainNames(
          "KEYCAST.TEST",
          "KDM.KEYCAST.TEST",
          "ROOT.KEYCAST.TEST",
          "CA.KEYCAST.TEST",
          "CS",
          "KDM-SIGNER.KEYCAST.TEST");

  @Test
  void theSignerChainFollowsTheProfileAndOpensslVerifiesIt(@TempDir Path dir) throws Exception {
    Instant start = Instant.parse("2026-12-07T00:00:00Z");
    DcCertificateIssuer.IssuedChain c =
        DcCertificateIssuer.issue(SIGNER, start, 10, new SecureRandom());
    assertThat(c.chain()).hasSize(3);
    DcCertificateChainValidator.validate(DcCertificateChainValidator.Kind.SIGNER, c.chain(), start);
    assertThat(DcCertificates.roles(c.leafCertificate())).containsExactly("CS");
    assertThat(c.leafCertificate().getNotAfter().toInstant())
        .isEqualTo(Instant.parse("2036-12-07T00:00:00Z"));
    assertThat(c.rootCertificate().getBasicConstraints()).isEqualTo(1);
    assertThat(c.chain().get(1).getBasicConstraints()).isEqualTo(0);
    assertThat(c.leafCertificate().getBasicConstraints()).isEqualTo(-1);

    ExternalTools.requireOpenssl();
    Path root =
        Files.writeString(
            dir.resolve("root.pem"), TestScreens.pem(List.of(c.rootCertificate()), null));
    Path inter =
        Files.writeString(
            dir.resolve("inter.pem"), TestScreens.pem(List.of(c.chain().get(1)), null));
    Path leaf =
        Files.writeString(
            dir.resolve("leaf.pem"), TestScreens.pem(List.of(c.leafCertificate()), null));
    String out =
        ExternalTools.sh(
            "openssl verify -x509_strict -attime "
                + start.plus(1, ChronoUnit.DAYS).getEpochSecond()
                + " -CAfile "
                + root
                + " -untrusted "
                + inter
                + " "
                + leaf);
    assertThat(out).contains(": OK");
    // Every name attribute is a PrintableString (ASN.1 tag 0x13), none a UTF8String (0x0c).
    String dump = ExternalTools.sh("openssl asn1parse -in " + leaf);
    assertThat(dump)
        .contains("PRINTABLESTRING")
        .doesNotContain("UTF8STRING")
        .doesNotContain("T61STRING");
  }

  /** The distributor's-CA path: a CSR OpenSSL verifies, with PrintableString names and the key digest. */
  @Test
  void aSignerCsrVerifiesWithOpenssl(@TempDir Path dir) throws Exception {
    java.security.KeyPair leaf = DcCertificateIssuer.newRsa2048(new SecureRandom());
    byte[] csr =
        DcCertificateIssuer.signerCsr(
            "KEYCAST.TEST", "KDM.KEYCAST.TEST", "CS", "KDM-SIGNER.KEYCAST.TEST", leaf);
    ExternalTools.requireOpenssl();
    Path der = Files.write(dir.resolve("csr.der"), csr);
    String out =
        ExternalTools.sh(
            "openssl req -inform DER -in "
                + der
                + " -verify -noout -subject -nameopt RFC2253 2>&1");
    assertThat(out)
        .contains("verify OK")
        .contains(
            "dnQualifier=" + DcCertificates.publicKeyDigest(leaf.getPublic()).replace("+", "\\+"))
        .contains("CN=CS.KDM-SIGNER.KEYCAST.TEST");
    String dump = ExternalTools.sh("openssl asn1parse -inform DER -in " + der);
    assertThat(dump).contains("PRINTABLESTRING").doesNotContain("UTF8STRING");
    assertThatThrownBy(
            () ->
                DcCertificateIssuer.signerCsr(
                    "O",
                    "OU",
                    "CS",
                    "X",
                    java.security.KeyPairGenerator.getInstance("EC").generateKeyPair()))
        .isInstanceOf(CinemaException.class);
  }

  @Test
  void aScreenChainCanBeIssuedForTests() throws Exception {
    DcCertificateIssuer.IssuedChain c =
        DcCertificateIssuer.issue(
            new DcCertificateIssuer.ChainNames(
                "DC.MAKER.TEST",
                "MAKER.TEST",
                "ROOT.MAKER",
                "CA.MAKER",
                "LE SPB MD FM SM",
                "IMB-1.MAKER"),
            KdmFixtures.NOW,
            5,
            new SecureRandom());
    assertThat(DcCertificateChainValidator.validateScreen(c.chain(), KdmFixtures.NOW).leaf())
        .isEqualTo(c.leafCertificate());
  }

  @Test
  void moreThanTenYearsOrPast2049OrNonPrintableNamesAreRefused() {
    SecureRandom r = new SecureRandom();
    assertThatThrownBy(() -> DcCertificateIssuer.issue(SIGNER, KdmFixtures.NOW, 11, r))
        .isInstanceOfSatisfying(
            CinemaException.class,
            e -> assertThat(e.code()).isEqualTo("certificate_validity_too_long"));
    assertThatThrownBy(
            () -> DcCertificateIssuer.issue(SIGNER, Instant.parse("2041-01-01T00:00:00Z"), 10, r))
        .isInstanceOfSatisfying(
            CinemaException.class,
            e -> assertThat(e.code()).isEqualTo("certificate_validity_too_long"));
    assertThatThrownBy(
            () ->
                DcCertificateIssuer.issue(
                    new DcCertificateIssuer.ChainNames(
                        "KEYCAST_TEST", "OU", "ROOT", "CA", "CS", "SIGNER"),
                    KdmFixtures.NOW,
                    10,
                    r))
        .isInstanceOfSatisfying(
            CinemaException.class, e -> assertThat(e.code()).isEqualTo("certificate_name"));
  }
}
