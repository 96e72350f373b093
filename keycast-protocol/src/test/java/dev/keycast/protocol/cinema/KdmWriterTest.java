package dev.keycast.protocol.cinema;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.UUID;
import javax.crypto.Cipher;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.w3c.dom.Document;
import org.w3c.dom.NodeList;

class KdmWriterTest {
  static final String THUMB_A = Base64.getEncoder().encodeToString(new byte[20]);
  static final String THUMB_B = "2jmj7l5rSw0yVb/vlWAYkK/YBwk=";

  static KdmRequest request(KdmFormulation f) throws CinemaException {
    KdmRequest g = KdmFixtures.goldenRequest();
    return new KdmRequest(
        g.keys(),
        g.screen(),
        g.notValidBefore(),
        g.notValidAfter(),
        f,
        f.needsTrustedDevices() ? List.of(THUMB_A, THUMB_B) : List.of(),
        f.needsContentAuthenticator() ? THUMB_A : null,
        List.of(ForensicMarkFlags.PICTURE_DISABLE, ForensicMarkFlags.audioDisableAboveChannel(8)),
        UUID.randomUUID(),
        g.issueDate(),
        "Keycast test KDM " + f.wireName());
  }

  /** The golden KDM is what the writer makes from the same inputs and randomness: output is deterministic. */
  @Test
  void goldenMt1IsReproducedByteForByte() throws Exception {
    byte[] again =
        KdmWriter.write(
            KdmFixtures.signer(), KdmFixtures.goldenRequest(), KdmFixtures.goldenRandom());
    assertThat(new String(again, StandardCharsets.UTF_8))
        .isEqualTo(KdmFixtures.resource("expect-mt1-kdm.xml"));
  }

  /** A reused writer (as the benchmark and a send engine use it) carries nothing from one KDM to the next. */
  @Test
  void aReusedWriterWritesTheGoldenKdmEachTime() throws Exception {
    KdmWriter writer = new KdmWriter();
    writer.issue(KdmFixtures.signer(), request(KdmFormulation.DCI_SPECIFIC), new SecureRandom());
    for (int i = 0; i < 2; i++) {
      byte[] kdm =
          writer.issue(
              KdmFixtures.signer(), KdmFixtures.goldenRequest(), KdmFixtures.goldenRandom());
      assertThat(new String(kdm, StandardCharsets.UTF_8))
          .isEqualTo(KdmFixtures.resource("expect-mt1-kdm.xml"));
    }
  }

  /** The golden file itself: schema-valid, xmlsec1-verified, every block decrypts to the layout. */
  @Test
  void goldenMt1PassesTheIndependentCheckers(@TempDir Path dir) throws Exception {
    checkWithIndependentTools(
        dir, KdmFixtures.resourceBytes("expect-mt1-kdm.xml"), KdmFixtures.goldenRequest());
  }

  @ParameterizedTest
  @EnumSource(KdmFormulation.class)
  void everyFormulationValidatesVerifiesAndDecrypts(KdmFormulation f, @TempDir Path dir)
      throws Exception {
    KdmRequest req = request(f);
    byte[] kdm = KdmWriter.write(KdmFixtures.signer(), req, new SecureRandom());
    checkWithIndependentTools(dir, kdm, req);
    VerifiedKdm v = KdmReader.read(kdm, KdmFixtures.signerRoot(), KdmFixtures.screenKey());
    assertThat(v.formulation()).isEqualTo(f);
    assertThat(v.deviceList())
        .isEqualTo(
            f.needsTrustedDevices()
                ? List.of(THUMB_A, THUMB_B)
                : List.of(DcCertificates.ASSUME_TRUST_THUMBPRINT));
    assertThat(v.contentAuthenticator()).isEqualTo(f.needsContentAuthenticator() ? THUMB_A : null);
    assertThat(v.forensicMarkFlags())
        .containsExactly(
            ForensicMarkFlags.PICTURE_DISABLE,
            "http://www.smpte-ra.org/430-1/2006/KDM#mrkflg-audio-disable-above-channel-8");
    assertThat(v.annotationText()).isEqualTo("Keycast test KDM " + f.wireName());
  }

  @Test
  void theReaderReturnsEveryFieldAndKey() throws Exception {
    KdmRequest req = KdmFixtures.goldenRequest();
    VerifiedKdm v =
        KdmReader.read(
            KdmFixtures.resourceBytes("expect-mt1-kdm.xml"),
            KdmFixtures.signerRoot(),
            KdmFixtures.screenKey());
    assertThat(v.messageId()).isEqualTo(KdmFixtures.MESSAGE_ID);
    assertThat(v.cplId()).isEqualTo(KdmFixtures.CPL_ID);
    assertThat(v.contentTitle()).isEqualTo(req.keys().contentTitle());
    assertThat(v.notValidBefore()).isEqualTo(KdmFixtures.NOT_BEFORE);
    assertThat(v.notValidAfter()).isEqualTo(KdmFixtures.NOT_AFTER);
    assertThat(v.issueDate()).isEqualTo(KdmFixtures.ISSUE_DATE);
    assertThat(v.recipientSerialNumber()).isEqualTo(req.screen().leaf().getSerialNumber());
    assertThat(v.recipientSubjectName())
        .isEqualTo(DcCertificates.rfc2253(req.screen().leaf().getSubjectX500Principal()));
    assertThat(v.signerChain()).isEqualTo(KdmFixtures.signerChain());
    assertThat(v.blocks()).hasSize(3);
    for (int i = 0; i < 3; i++) {
      ContentKey k = req.keys().keys().get(i);
      assertThat(v.keyIds().get(i)).isEqualTo(new VerifiedKdm.TypedKeyId(k.type(), k.keyId()));
      assertThat(v.blocks().get(i).contentKey()).isEqualTo(k.key());
      assertThat(v.blocks().get(i).keyType()).isEqualTo(k.type());
    }
  }

  @Test
  void mdekCarriesDolbysScope() throws Exception {
    KdmRequest g = KdmFixtures.goldenRequest();
    ContentKeySet keys =
        ContentKeySet.of(
            KdmFixtures.CPL_ID,
            "Atmos",
            List.of(ContentKey.of(UUID.randomUUID(), KeyType.MDEK, new byte[16])));
    byte[] kdm =
        KdmWriter.write(
            KdmFixtures.signer(),
            KdmRequest.modifiedTransitional1(
                keys,
                g.screen(),
                g.notValidBefore(),
                g.notValidAfter(),
                UUID.randomUUID(),
                g.issueDate()),
            new SecureRandom());
    assertThat(new String(kdm, StandardCharsets.UTF_8))
        .contains(
            "<KeyType scope=\"http://www.dolby.com/cp850/2012/KDM#kdm-key-type\">MDEK</KeyType>");
    assertThat(
            KdmReader.read(kdm, KdmFixtures.signerRoot(), KdmFixtures.screenKey())
                .blocks()
                .get(0)
                .keyType())
        .isEqualTo(KeyType.MDEK);
  }

  @Test
  void aWindowOutsideTheScreenCertificateIsRefused() throws Exception {
    // The screen leaf is valid to 2034-06-01; the signer chain to 2036-01-01.
    OffsetDateTime nb = OffsetDateTime.of(2034, 5, 25, 0, 0, 0, 0, ZoneOffset.UTC);
    refused(window(nb, nb.plusDays(14)), "kdm_window_outside_screen_certificate");
  }

  @Test
  void aWindowOutsideTheSignerChainIsRefused() throws Exception {
    // The screen leaf is valid from 2025-06-01; the signer chain from 2026-01-01.
    OffsetDateTime nb = OffsetDateTime.of(2025, 12, 25, 0, 0, 0, 0, ZoneOffset.UTC);
    refused(window(nb, nb.plusDays(14)), "kdm_window_outside_signer_certificate");
  }

  @Test
  void anInvertedWindowIsRefused() throws Exception {
    refused(window(KdmFixtures.NOT_AFTER, KdmFixtures.NOT_BEFORE), "kdm_window_inverted");
  }

  @Test
  void formulationRulesAreEnforced() throws Exception {
    KdmRequest g = KdmFixtures.goldenRequest();
    refused(
        with(g, KdmFormulation.MODIFIED_TRANSITIONAL_1, List.of(THUMB_A), null),
        "kdm_trusted_devices");
    refused(
        with(g, KdmFormulation.MULTIPLE_MODIFIED_TRANSITIONAL_1, List.of(), null),
        "kdm_trusted_devices");
    refused(
        with(g, KdmFormulation.DCI_SPECIFIC, List.of("not base64!"), THUMB_A),
        "kdm_trusted_devices");
    refused(with(g, KdmFormulation.DCI_ANY, List.of(), null), "kdm_content_authenticator");
    refused(
        with(g, KdmFormulation.MODIFIED_TRANSITIONAL_1, List.of(), THUMB_A),
        "kdm_content_authenticator");
    refused(
        with(
            g, KdmFormulation.DCI_ANY, List.of(), Base64.getEncoder().encodeToString(new byte[32])),
        "kdm_content_authenticator");
    refused(
        new KdmRequest(
            g.keys(),
            g.screen(),
            g.notValidBefore(),
            g.notValidAfter(),
            g.formulation(),
            List.of(),
            null,
            List.of("http://example.com/flag"),
            g.messageId(),
            g.issueDate(),
            null),
        "kdm_forensic_mark_flag");
  }

  /** The KDM signer chain must be a signer chain whose leaf key is the given private key. */
  @Test
  void aSignerKeyThatIsNotTheLeafsIsRefused() {
    assertThatThrownBy(
            () -> KdmSigner.of(KdmFixtures.screenKey(), KdmFixtures.signerChain(), KdmFixtures.NOW))
        .isInstanceOfSatisfying(
            CinemaException.class, e -> assertThat(e.code()).isEqualTo("signer_key_mismatch"));
  }

  private static KdmRequest window(OffsetDateTime nb, OffsetDateTime na) throws CinemaException {
    KdmRequest g = KdmFixtures.goldenRequest();
    return KdmRequest.modifiedTransitional1(
        g.keys(), g.screen(), nb, na, g.messageId(), g.issueDate());
  }

  private static KdmRequest with(
      KdmRequest g, KdmFormulation f, List<String> devices, String authenticator) {
    return new KdmRequest(
        g.keys(),
        g.screen(),
        g.notValidBefore(),
        g.notValidAfter(),
        f,
        devices,
        authenticator,
        List.of(),
        g.messageId(),
        g.issueDate(),
        null);
  }

  private static void refused(KdmRequest r, String code) {
    assertThatThrownBy(() -> KdmWriter.write(KdmFixtures.signer(), r, new SecureRandom()))
        .isInstanceOfSatisfying(CinemaException.class, e -> assertThat(e.code()).isEqualTo(code));
  }

  /**
   * xmllint against the SMPTE schemas; xmlsec1 against the signer root; every CipherValue
   * decrypted with the screen key (JDK and openssl pkeyutl) and read at the ST 430-1 offsets.
   */
  static void checkWithIndependentTools(Path dir, byte[] kdm, KdmRequest req) throws Exception {
    Path file = Files.write(dir.resolve("kdm.xml"), kdm);
    ExternalTools.Result lint = ExternalTools.xmllint(file);
    assertThat(lint.exit()).as("xmllint: %s", lint.output()).isZero();
    Path root =
        Files.writeString(
            dir.resolve("signer-root.pem"),
            TestScreens.pem(List.of(KdmFixtures.signerRoot()), null));
    ExternalTools.Result sec = ExternalTools.xmlsec1Verify(file, root);
    assertThat(sec.exit()).as("xmlsec1: %s", sec.output()).isZero();
    assertThat(sec.output()).contains("OK").contains("SignedInfo References (ok/all): 2/2");

    String text = new String(kdm, StandardCharsets.UTF_8);
    String nb = KdmTimestamps.format(req.notValidBefore());
    String na = KdmTimestamps.format(req.notValidAfter());
    assertThat(text)
        .contains("<ContentKeysNotValidBefore>" + nb + "<")
        .contains("<ContentKeysNotValidAfter>" + na + "<")
        .doesNotContainPattern("\\d\\d:\\d\\d:\\d\\dZ");

    DocumentBuilderFactory dbf = DocumentBuilderFactory.newInstance();
    dbf.setNamespaceAware(true);
    dbf.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
    Document doc = dbf.newDocumentBuilder().parse(new ByteArrayInputStream(kdm));
    NodeList values =
        doc.getElementsByTagNameNS("http://www.w3.org/2001/04/xmlenc#", "CipherValue");
    assertThat(values.getLength()).isEqualTo(req.keys().keys().size());
    byte[] signerThumb =
        MessageDigest.getInstance("SHA-1")
            .digest(KdmFixtures.signerChain().get(0).getTBSCertificate());
    PrivateKey screenKey = KdmFixtures.screenKey();
    Path keyPem =
        Files.writeString(dir.resolve("screen-key.pem"), KdmFixtures.resource("screen-key.pem"));
    List<byte[]> plain = new ArrayList<>();
    for (int i = 0; i < values.getLength(); i++) {
      byte[] ct = Base64.getMimeDecoder().decode(values.item(i).getTextContent());
      assertThat(ct).hasSize(256);
      Cipher c = Cipher.getInstance("RSA/ECB/OAEPWithSHA-1AndMGF1Padding");
      c.init(Cipher.DECRYPT_MODE, screenKey);
      byte[] p = c.doFinal(ct);
      plain.add(p);
      if (i == 0) {
        ExternalTools.requireOpenssl();
        Path ctFile = Files.write(dir.resolve("block0.bin"), ct);
        Path ptFile = dir.resolve("block0.plain");
        ExternalTools.sh(
            "openssl pkeyutl -decrypt -inkey "
                + keyPem
                + " -pkeyopt rsa_padding_mode:oaep"
                + " -pkeyopt rsa_oaep_md:sha1 -pkeyopt rsa_mgf1_md:sha1 -in "
                + ctFile
                + " -out "
                + ptFile);
        assertThat(Files.readAllBytes(ptFile)).isEqualTo(p);
      }
    }
    for (int i = 0; i < plain.size(); i++) {
      byte[] p = plain.get(i);
      ContentKey k = req.keys().keys().get(i);
      assertThat(p).hasSize(138);
      assertThat(Arrays.copyOfRange(p, 0, 16))
          .isEqualTo(java.util.HexFormat.of().parseHex("f1dc124460169a0e85bc300642f866ab"));
      assertThat(Arrays.copyOfRange(p, 16, 36)).isEqualTo(signerThumb);
      assertThat(Arrays.copyOfRange(p, 36, 52)).isEqualTo(uuidBytes(req.keys().cplId()));
      assertThat(new String(p, 52, 4, StandardCharsets.US_ASCII)).isEqualTo(k.type().name());
      assertThat(Arrays.copyOfRange(p, 56, 72)).isEqualTo(uuidBytes(k.keyId()));
      assertThat(new String(p, 72, 25, StandardCharsets.US_ASCII)).isEqualTo(nb);
      assertThat(new String(p, 97, 25, StandardCharsets.US_ASCII)).isEqualTo(na);
      assertThat(Arrays.copyOfRange(p, 122, 138)).isEqualTo(k.key());
    }
  }

  static byte[] uuidBytes(UUID u) {
    return java.nio.ByteBuffer.allocate(16)
        .putLong(u.getMostSignificantBits())
        .putLong(u.getLeastSignificantBits())
        .array();
  }
}
