package dev.keycast.protocol.cinema;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.HexFormat;
import java.util.List;
import java.util.UUID;

/** Test support: the golden chains, keys and request of {@code src/test/resources/kdm}. */
final class KdmFixtures {
  /** The instant the golden chains are validated at. */
  static final Instant NOW = Instant.parse("2026-12-07T00:00:00Z");

  static final UUID CPL_ID = UUID.fromString("3a5f1d2c-8b4e-4c6a-9f0e-1b2c3d4e5f60");
  static final UUID MESSAGE_ID = UUID.fromString("8c0b2f9e-4d7a-4f3b-a1c2-d3e4f5a6b7c8");
  static final OffsetDateTime ISSUE_DATE =
      OffsetDateTime.of(2026, 12, 7, 0, 0, 0, 0, ZoneOffset.UTC);
  static final OffsetDateTime NOT_BEFORE =
      OffsetDateTime.of(2026, 12, 10, 10, 0, 0, 0, ZoneOffset.ofHours(1));
  static final OffsetDateTime NOT_AFTER = NOT_BEFORE.plusDays(14);

  private KdmFixtures() {}

  static String resource(String name) {
    try (InputStream in = KdmFixtures.class.getResourceAsStream("/kdm/" + name)) {
      if (in == null) {
        throw new IllegalStateException("missing test resource kdm/" + name);
      }
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  static byte[] resourceBytes(String name) {
    return resource(name).getBytes(StandardCharsets.UTF_8);
  }

  static List<X509Certificate> signerChain() {
    return TestScreens.certificates(resource("signer-chain.pem"));
  }

  static PrivateKey signerKey() {
    return TestScreens.privateKey(resource("signer-key.pem"));
  }

  static KdmSigner signer() throws CinemaException {
    return KdmSigner.of(signerKey(), signerChain(), NOW);
  }

  static X509Certificate signerRoot() {
    List<X509Certificate> c = signerChain();
    return c.get(c.size() - 1);
  }

  static List<X509Certificate> screenChain() {
    return TestScreens.certificates(resource("screen-chain.pem"));
  }

  static PrivateKey screenKey() {
    return TestScreens.privateKey(resource("screen-key.pem"));
  }

  static ScreenCertificateChain screen() throws CinemaException {
    return DcCertificateChainValidator.validateScreen(screenChain(), NOW);
  }

  static ContentKeySet keys() throws CinemaException {
    return ContentKeySet.of(
        CPL_ID,
        "Keycast_Test_FTR-1_F_EN-XX_51_2K_20261207_SMPTE_OV",
        List.of(
            ContentKey.of(
                UUID.fromString("11111111-2222-4333-8444-555555555555"),
                KeyType.MDIK,
                HexFormat.of().parseHex("000102030405060708090a0b0c0d0e0f")),
            ContentKey.of(
                UUID.fromString("66666666-7777-4888-9999-aaaaaaaaaaaa"),
                KeyType.MDAK,
                HexFormat.of().parseHex("f0e0d0c0b0a090807060504030201000")),
            ContentKey.of(
                UUID.fromString("0f0e0d0c-0b0a-4908-8706-050403020100"),
                KeyType.MDSK,
                HexFormat.of().parseHex("aabbccddeeff00112233445566778899"))));
  }

  /** The golden modified-transitional-1 request. */
  static KdmRequest goldenRequest() throws CinemaException {
    return KdmRequest.modifiedTransitional1(
        keys(), screen(), NOT_BEFORE, NOT_AFTER, MESSAGE_ID, ISSUE_DATE);
  }

  /** The seed of the randomness the golden KDM was written with. */
  static DeterministicRandom goldenRandom() {
    return new DeterministicRandom("keycast golden KDM mt1");
  }
}
