package dev.keycast.protocol.cinema;

import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

/**
 * Writes the golden and negative vectors of {@code src/test/resources/kdm}. Runs only when asked:
 * {@code ./mvnw -pl keycast-protocol -am test -Dtest=RegenerateKdmVectors -Dkeycast.regenerate=kdm
 * -Dsurefire.failIfNoSpecifiedTests=false}. Regenerating changes every key, certificate and the
 * golden KDM; commit them together.
 */
@EnabledIfSystemProperty(named = "keycast.regenerate", matches = "kdm")
class RegenerateKdmVectors {
  static final Instant MAKER_FROM = Instant.parse("2025-01-01T00:00:00Z");
  static final Instant MAKER_TO = Instant.parse("2035-01-01T00:00:00Z");
  static final Instant LEAF_FROM = Instant.parse("2025-06-01T00:00:00Z");
  static final Instant LEAF_TO = Instant.parse("2034-06-01T00:00:00Z");

  @Test
  void regenerate() throws Exception {
    Path dir =
        Path.of(System.getProperty("keycast.repo.root"), "keycast-protocol/src/test/resources/kdm");
    Files.createDirectories(dir);
    SecureRandom r = new SecureRandom();
    DcCertificateIssuer.IssuedChain signer =
        DcCertificateIssuer.issue(
            new DcCertificateIssuer.ChainNames(
                "KEYCAST.TEST",
                "KDM.KEYCAST.TEST",
                "ROOT.KEYCAST.TEST",
                "CA.KEYCAST.TEST",
                "CS",
                "KDM-SIGNER.KEYCAST.TEST"),
            Instant.parse("2026-01-01T00:00:00Z"),
            10,
            r);
    write(dir, "signer-chain.pem", TestScreens.pem(signer.chain(), null));
    write(dir, "signer-key.pem", TestScreens.pem(List.of(), signer.leaf().getPrivate()));
    TestScreens.Manufacturer maker =
        TestScreens.manufacturer("DC2.SMPTE.TESTMAKER.COM", MAKER_FROM, MAKER_TO, true, r);
    TestScreens.Screen screen =
        TestScreens.screen(maker, TestScreens.Spec.valid(LEAF_FROM, LEAF_TO), r);
    write(dir, "screen-chain.pem", TestScreens.pem(screen.chain(), null));
    write(dir, "screen-key.pem", TestScreens.pem(List.of(), screen.privateKey()));

    TestScreens.Spec valid = TestScreens.Spec.valid(LEAF_FROM, LEAF_TO);
    refused(
        dir,
        maker,
        "wrong-role",
        valid.withCommonName("LE SPB MD FM.IMB-000001.DC.TESTMAKER.SMPTE"),
        "screen_certificate_role",
        r);
    refused(
        dir,
        maker,
        "rsa-1024",
        valid.withKey(1024, RSAKeyGen.F4),
        "screen_certificate_rsa_size",
        r);
    refused(
        dir,
        maker,
        "exponent-3",
        valid.withKey(2048, BigInteger.valueOf(3)),
        "screen_certificate_rsa_exponent",
        r);
    refused(
        dir,
        maker,
        "utf8string-names",
        valid.withUtf8Names(),
        "screen_certificate_string_encoding",
        r);
    refused(
        dir,
        maker,
        "wrong-dnqualifier",
        valid.withWrongDnQualifier(),
        "screen_certificate_dn_qualifier",
        r);
    refused(
        dir,
        maker,
        "expired",
        valid.withValidity(
            Instant.parse("2025-01-02T00:00:00Z"), Instant.parse("2026-01-02T00:00:00Z")),
        "screen_certificate_expired",
        r);
    refused(
        dir,
        maker,
        "sha1-signature",
        valid.withSignatureAlgorithm("SHA1withRSA"),
        "screen_certificate_signature_algorithm",
        r);
    TestScreens.Manufacturer notCa =
        TestScreens.manufacturer("DC2.SMPTE.TESTMAKER.COM", MAKER_FROM, MAKER_TO, false, r);
    refused(dir, notCa, "intermediate-not-ca", valid, "screen_certificate_ca", r);

    KdmRequest golden =
        KdmRequest.modifiedTransitional1(
            KdmFixtures.keys(),
            DcCertificateChainValidator.validateScreen(screen.chain(), KdmFixtures.NOW),
            KdmFixtures.NOT_BEFORE,
            KdmFixtures.NOT_AFTER,
            KdmFixtures.MESSAGE_ID,
            KdmFixtures.ISSUE_DATE);
    byte[] kdm =
        KdmWriter.write(
            KdmSigner.of(signer.leaf().getPrivate(), signer.chain(), KdmFixtures.NOW),
            golden,
            KdmFixtures.goldenRandom());
    Files.write(dir.resolve("expect-mt1-kdm.xml"), kdm);
  }

  private static void refused(
      Path dir,
      TestScreens.Manufacturer m,
      String name,
      TestScreens.Spec spec,
      String code,
      SecureRandom r)
      throws Exception {
    TestScreens.Screen s = TestScreens.screen(m, spec, r);
    write(
        dir,
        "expect-refused-" + name + ".pem",
        "# expect: "
            + code
            + "\n# at: "
            + KdmFixtures.NOW
            + "\n"
            + TestScreens.pem(s.chain(), null));
  }

  private static void write(Path dir, String name, String text) throws Exception {
    Files.writeString(dir.resolve(name), text, StandardCharsets.US_ASCII);
  }

  /** RSAKeyGenParameterSpec.F4 under a shorter name. */
  private static final class RSAKeyGen {
    static final BigInteger F4 = java.security.spec.RSAKeyGenParameterSpec.F4;
  }
}
