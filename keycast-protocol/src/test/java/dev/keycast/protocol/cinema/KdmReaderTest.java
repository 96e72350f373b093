package dev.keycast.protocol.cinema;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.Base64;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The reader/verifier against KDMs an attacker (the host, its storage, the network) altered or made. */
class KdmReaderTest {
  static String golden() {
    return KdmFixtures.resource("expect-mt1-kdm.xml");
  }

  static void refused(String kdm, String code) {
    refused(kdm.getBytes(StandardCharsets.UTF_8), code);
  }

  static void refused(byte[] kdm, String code) {
    assertThatThrownBy(() -> KdmReader.read(kdm, KdmFixtures.signerRoot(), KdmFixtures.screenKey()))
        .isInstanceOfSatisfying(CinemaException.class, e -> assertThat(e.code()).isEqualTo(code));
  }

  @Test
  void theGoldenKdmVerifies() throws Exception {
    assertThat(
            KdmReader.read(
                    KdmFixtures.resourceBytes("expect-mt1-kdm.xml"), KdmFixtures.signerRoot(), null)
                .blocks())
        .isEmpty();
  }

  /** Attack: the host changes public fields (title, window) of a stored KDM. */
  @Test
  void alteredAuthenticatedPublicIsRefused() {
    String kdm = golden();
    refused(kdm.replace("Keycast_Test_FTR-1", "Keycast_Test_FTR-2"), "kdm_signature_invalid");
    refused(
        kdm.replace(
            "2026-12-24T10:00:00+01:00</ContentKeysNotValidAfter>",
            "2027-12-24T10:00:00+01:00</ContentKeysNotValidAfter>"),
        "kdm_signature_invalid");
  }

  /** Attack: the host swaps or alters a cipher block. */
  @Test
  void alteredAuthenticatedPrivateIsRefused() {
    String kdm = golden();
    int at = kdm.indexOf("<enc:CipherValue>") + "<enc:CipherValue>".length();
    char c = kdm.charAt(at);
    refused(
        kdm.substring(0, at) + (c == 'A' ? 'B' : 'A') + kdm.substring(at + 1),
        "kdm_signature_invalid");
  }

  /** Attack: a KDM signed by someone else's chain is checked against Keycast's signer root. */
  @Test
  void aKdmFromAnotherSignerIsRefused() throws Exception {
    DcCertificateIssuer.IssuedChain other = otherSigner();
    byte[] kdm =
        KdmWriter.write(
            KdmSigner.of(other.leaf().getPrivate(), other.chain(), KdmFixtures.NOW),
            KdmFixtures.goldenRequest(),
            new SecureRandom());
    refused(kdm, "kdm_signer_untrusted");
  }

  /**
   * Attack: a forged chain that ends in the genuine root (KeyInfo lies outside the signed
   * references, so anyone can edit it) but whose leaf the root never certified.
   */
  @Test
  void aForgedChainEndingInTheGenuineRootIsRefused() throws Exception {
    DcCertificateIssuer.IssuedChain other = otherSigner();
    String kdm =
        new String(
            KdmWriter.write(
                KdmSigner.of(other.leaf().getPrivate(), other.chain(), KdmFixtures.NOW),
                KdmFixtures.goldenRequest(),
                new SecureRandom()),
            StandardCharsets.UTF_8);
    String otherRoot = Base64.getEncoder().encodeToString(other.rootCertificate().getEncoded());
    String genuineRoot = Base64.getEncoder().encodeToString(KdmFixtures.signerRoot().getEncoded());
    int last = kdm.lastIndexOf("<ds:X509Certificate>") + "<ds:X509Certificate>".length();
    int end = kdm.indexOf("</ds:X509Certificate>", last);
    assertThat(kdm.substring(last, end).replace("\n", "")).isEqualTo(otherRoot);
    String forged = kdm.substring(0, last) + genuineRoot + kdm.substring(end);
    refused(forged, "signer_certificate_chain_order");
  }

  /**
   * Attack: XXE. The golden KDM with a DOCTYPE whose external entity is used in an unsigned place
   * (a ds:Object): a parser that allowed DOCTYPEs would read the file and the KDM would verify.
   */
  @Test
  void xxeIsRefusedWithoutReadingTheFile(@TempDir Path dir) throws Exception {
    Path secret = Files.writeString(dir.resolve("secret.txt"), "TOP-SECRET-CONTENT");
    String kdm = golden();
    int body = kdm.indexOf("<DCinemaSecurityMessage");
    String xxe =
        kdm.substring(0, body)
            + "<!DOCTYPE DCinemaSecurityMessage [ <!ENTITY leak SYSTEM \""
            + secret.toUri()
            + "\"> ]>\n"
            + kdm.substring(body)
                .replace("</ds:KeyInfo>", "</ds:KeyInfo><ds:Object>&leak;</ds:Object>");
    assertThatThrownBy(
            () ->
                KdmReader.read(
                    xxe.getBytes(StandardCharsets.UTF_8), KdmFixtures.signerRoot(), null))
        .isInstanceOfSatisfying(
            CinemaException.class,
            e -> {
              assertThat(e.code()).isEqualTo("kdm_malformed");
              assertThat(e.getMessage()).doesNotContain("TOP-SECRET");
            });
  }

  /** Any DOCTYPE is refused, even a harmless one on an otherwise genuine KDM. */
  @Test
  void aDoctypeIsRefused() {
    String kdm = golden();
    int body = kdm.indexOf("<DCinemaSecurityMessage");
    refused(
        kdm.substring(0, body) + "<!DOCTYPE DCinemaSecurityMessage>\n" + kdm.substring(body),
        "kdm_malformed");
  }

  /** Attack: entity expansion ("billion laughs"). */
  @Test
  void entityExpansionIsRefused() {
    refused(KdmFixtures.resource("expect-refused-billion-laughs-kdm.xml"), "kdm_malformed");
  }

  /** Attack: a huge document to exhaust memory; refused before parsing. */
  @Test
  void anOversizedKdmIsRefusedBeforeParsing() {
    byte[] big = new byte[KdmReader.MAX_KDM_BYTES + 1];
    refused(big, "kdm_too_large");
  }

  /** Attack: signature wrapping. The signed AuthenticatedPublic is kept elsewhere, a forged one in its place. */
  @Test
  void signatureWrappingIsRefused() {
    String kdm = golden();
    int s = kdm.indexOf("<AuthenticatedPublic");
    int e = kdm.indexOf("</AuthenticatedPublic>") + "</AuthenticatedPublic>".length();
    String original = kdm.substring(s, e);
    String forged = original.replace("Keycast_Test_FTR-1", "Forged");
    String wrapped =
        kdm.substring(0, s)
            + forged
            + kdm.substring(e)
                .replace("</ds:KeyInfo>", "</ds:KeyInfo><ds:Object>" + original + "</ds:Object>");
    assertThatThrownBy(
            () ->
                KdmReader.read(
                    wrapped.getBytes(StandardCharsets.UTF_8), KdmFixtures.signerRoot(), null))
        .isInstanceOfSatisfying(
            CinemaException.class,
            ex -> assertThat(ex.code()).isIn("kdm_signature_invalid", "kdm_malformed"));
  }

  /** All decryption failures look alike: a wrong screen key gives one code and one message. */
  @Test
  void aWrongScreenKeyFailsWithTheOneDecryptionError() {
    byte[] kdm = KdmFixtures.resourceBytes("expect-mt1-kdm.xml");
    assertThatThrownBy(() -> KdmReader.read(kdm, KdmFixtures.signerRoot(), KdmFixtures.signerKey()))
        .isInstanceOfSatisfying(
            CinemaException.class,
            e -> {
              assertThat(e.code()).isEqualTo("kdm_decryption_failed");
              assertThat(e.getMessage())
                  .isEqualTo("a KDM cipher block could not be decrypted with the screen key");
            });
  }

  /** xmlsec1 (the independent checker) also refuses the golden KDM under another root: its check has teeth. */
  @Test
  void xmlsec1RefusesTheKdmUnderAnotherRoot(@TempDir Path dir) throws Exception {
    Path kdm = Files.write(dir.resolve("kdm.xml"), KdmFixtures.resourceBytes("expect-mt1-kdm.xml"));
    X509Certificate otherRoot = otherSigner().rootCertificate();
    Path root =
        Files.writeString(dir.resolve("other-root.pem"), TestScreens.pem(List.of(otherRoot), null));
    assertThat(ExternalTools.xmlsec1Verify(kdm, root).exit()).isNotZero();
    Path tampered =
        Files.writeString(dir.resolve("tampered.xml"), golden().replace("Keycast_Test_FTR-1", "X"));
    Path genuine =
        Files.writeString(
            dir.resolve("root.pem"), TestScreens.pem(List.of(KdmFixtures.signerRoot()), null));
    assertThat(ExternalTools.xmlsec1Verify(tampered, genuine).exit()).isNotZero();
  }

  static DcCertificateIssuer.IssuedChain otherSigner() throws CinemaException {
    return DcCertificateIssuer.issue(
        new DcCertificateIssuer.ChainNames(
            "KEYCAST.TEST",
            "KDM.KEYCAST.TEST",
            "ROOT.KEYCAST.TEST",
            "CA.KEYCAST.TEST",
            "CS",
            "KDM-SIGNER.KEYCAST.TEST"),
        Instant.parse("2026-01-01T00:00:00Z"),
        10,
        new SecureRandom());
  }
}
