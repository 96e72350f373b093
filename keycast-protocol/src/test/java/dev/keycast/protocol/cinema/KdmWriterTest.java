package dev.keycast.protocol.cinema;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.HexFormat;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class KdmWriterTest {
  static final Instant NOW = Instant.parse("2026-12-07T00:00:00Z");
  static DcCertificateIssuer.IssuedChain signerChain;
  static KdmSigner signer;
  static TestScreens.Manufacturer maker;
  static TestScreens.Screen screen;
  static ScreenCertificateChain screenChain;

  @BeforeAll
  static void setUp() throws Exception {
    SecureRandom r = new SecureRandom();
    signerChain = DcCertificateIssuer.issue(new DcCertificateIssuer.ChainNames("KEYCAST.TEST", "KDM.KEYCAST.TEST",
        "ROOT.KEYCAST.TEST", "CA.KEYCAST.TEST", "CS", "KDM-SIGNER.KEYCAST.TEST"), Instant.parse("2026-01-01T00:00:00Z"),
        10, r);
    signer = KdmSigner.of(signerChain.leaf().getPrivate(), signerChain.chain(), NOW);
    maker = TestScreens.manufacturer("DC2.SMPTE.TESTMAKER.COM", Instant.parse("2025-01-01T00:00:00Z"),
        Instant.parse("2035-01-01T00:00:00Z"), true, r);
    screen = TestScreens.screen(maker, TestScreens.Spec.valid(Instant.parse("2025-06-01T00:00:00Z"),
        Instant.parse("2034-06-01T00:00:00Z")), r);
    screenChain = DcCertificateChainValidator.validateScreen(screen.chain(), NOW);
  }

  static ContentKeySet keys() throws CinemaException {
    return ContentKeySet.of(UUID.fromString("3a5f1d2c-8b4e-4c6a-9f0e-1b2c3d4e5f60"), "Keycast_Test_FTR-1_F_EN-XX_51_2K_20261207_SMPTE_OV",
        List.of(ContentKey.of(UUID.fromString("11111111-2222-4333-8444-555555555555"), KeyType.MDIK,
                HexFormat.of().parseHex("000102030405060708090a0b0c0d0e0f")),
            ContentKey.of(UUID.fromString("66666666-7777-4888-9999-aaaaaaaaaaaa"), KeyType.MDAK,
                HexFormat.of().parseHex("f0e0d0c0b0a090807060504030201000"))));
  }

  @Test
  void mt1RoundTripsThroughTheReader(@TempDir Path dir) throws Exception {
    OffsetDateTime nb = OffsetDateTime.of(2026, 12, 10, 10, 0, 0, 0, ZoneOffset.ofHours(1));
    KdmRequest req = KdmRequest.modifiedTransitional1(keys(), screenChain, nb, nb.plusDays(14),
        UUID.randomUUID(), OffsetDateTime.of(2026, 12, 7, 0, 0, 0, 0, ZoneOffset.UTC));
    byte[] kdm = KdmWriter.write(signer, req, new SecureRandom());
    Files.write(dir.resolve("kdm.xml"), kdm);
    System.out.println(new String(kdm, StandardCharsets.UTF_8));
    VerifiedKdm v = KdmReader.read(kdm, signerChain.rootCertificate(), screen.privateKey());
    assertThat(v.blocks()).hasSize(2);
    Files.writeString(dir.resolve("root.pem"), TestScreens.pem(List.of(signerChain.rootCertificate()), null));
    ExternalTools.Result lint = ExternalTools.xmllint(dir.resolve("kdm.xml"));
    System.out.println(lint);
    ExternalTools.Result sec = ExternalTools.xmlsec1Verify(dir.resolve("kdm.xml"), dir.resolve("root.pem"));
    System.out.println(sec);
    assertThat(lint.exit()).isZero();
    assertThat(sec.exit()).isZero();
  }
}
