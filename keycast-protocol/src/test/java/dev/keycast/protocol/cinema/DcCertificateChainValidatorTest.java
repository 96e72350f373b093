package dev.keycast.protocol.cinema;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

class DcCertificateChainValidatorTest {
  static final Instant NOW = KdmFixtures.NOW;
  static final SecureRandom RANDOM = new SecureRandom();
  static TestScreens.Manufacturer maker;
  static TestScreens.Spec valid;

  @BeforeAll
  static void maker() {
    maker =
        TestScreens.manufacturer(
            "DC2.SMPTE.TESTMAKER.COM",
            RegenerateKdmVectors.MAKER_FROM,
            RegenerateKdmVectors.MAKER_TO,
            true,
            RANDOM);
    valid = TestScreens.Spec.valid(RegenerateKdmVectors.LEAF_FROM, RegenerateKdmVectors.LEAF_TO);
  }

  @Test
  void aManufacturersScreenChainIsAccepted() throws Exception {
    TestScreens.Screen s = TestScreens.screen(maker, valid, RANDOM);
    ScreenCertificateChain c = DcCertificateChainValidator.validateScreen(s.chain(), NOW);
    assertThat(c.leaf()).isEqualTo(s.leaf());
    assertThat(DcCertificateChainValidator.validateScreen(KdmFixtures.screenChain(), NOW).chain())
        .hasSize(3);
  }

  /** Each golden negative vector ({@code kdm/expect-refused-*.pem}) is refused with the code in its header. */
  @ParameterizedTest
  @ValueSource(
      strings = {
        "wrong-role",
        "rsa-1024",
        "exponent-3",
        "utf8string-names",
        "wrong-dnqualifier",
        "expired",
        "sha1-signature",
        "intermediate-not-ca"
      })
  void goldenNegativeVectorIsRefusedWithItsCode(String name) {
    String pem = KdmFixtures.resource("expect-refused-" + name + ".pem");
    String code =
        pem.lines().filter(l -> l.startsWith("# expect: ")).findFirst().orElseThrow().substring(10);
    Instant at =
        Instant.parse(
            pem.lines().filter(l -> l.startsWith("# at: ")).findFirst().orElseThrow().substring(6));
    assertThatThrownBy(
            () -> DcCertificateChainValidator.validateScreen(TestScreens.certificates(pem), at))
        .isInstanceOfSatisfying(CinemaException.class, e -> assertThat(e.code()).isEqualTo(code));
  }

  static Stream<Arguments> oneBrokenRule() {
    return Stream.of(
        Arguments.of(
            "leaf without the SM role",
            (UnaryOperator<TestScreens.Spec>)
                s -> s.withCommonName("LE SPB MD FM.IMB-1.DC.TESTMAKER.SMPTE"),
            "screen_certificate_role"),
        Arguments.of(
            "SM only in the entity part",
            (UnaryOperator<TestScreens.Spec>)
                s -> s.withCommonName("LE SPB.SM.IMB-1.DC.TESTMAKER.SMPTE"),
            "screen_certificate_role"),
        Arguments.of(
            "RSA-1024",
            (UnaryOperator<TestScreens.Spec>)
                s -> s.withKey(1024, java.security.spec.RSAKeyGenParameterSpec.F4),
            "screen_certificate_rsa_size"),
        Arguments.of(
            "RSA-3072",
            (UnaryOperator<TestScreens.Spec>)
                s -> s.withKey(3072, java.security.spec.RSAKeyGenParameterSpec.F4),
            "screen_certificate_rsa_size"),
        Arguments.of(
            "exponent 3",
            (UnaryOperator<TestScreens.Spec>) s -> s.withKey(2048, BigInteger.valueOf(3)),
            "screen_certificate_rsa_exponent"),
        Arguments.of(
            "UTF8String names",
            (UnaryOperator<TestScreens.Spec>) TestScreens.Spec::withUtf8Names,
            "screen_certificate_string_encoding"),
        // Attack: a PrintableString tag over characters PrintableString does not allow (a control
        // character, '<'), which would reach the KDM's signed X509SubjectName as text that is not
        // XML (security review, 2026-12-07).
        Arguments.of(
            "PrintableString holding a control character",
            (UnaryOperator<TestScreens.Spec>)
                s -> s.withCommonName("SM.IMB\u0001-1.DC.TESTMAKER.SMPTE"),
            "screen_certificate_string_encoding"),
        Arguments.of(
            "PrintableString holding '<'",
            (UnaryOperator<TestScreens.Spec>)
                s -> s.withCommonName("SM.IMB<x/>-1.DC.TESTMAKER.SMPTE"),
            "screen_certificate_string_encoding"),
        Arguments.of(
            "dnQualifier not the key digest",
            (UnaryOperator<TestScreens.Spec>) TestScreens.Spec::withWrongDnQualifier,
            "screen_certificate_dn_qualifier"),
        Arguments.of(
            "sha1WithRSA",
            (UnaryOperator<TestScreens.Spec>) s -> s.withSignatureAlgorithm("SHA1withRSA"),
            "screen_certificate_signature_algorithm"),
        Arguments.of(
            "expired",
            (UnaryOperator<TestScreens.Spec>)
                s ->
                    s.withValidity(
                        Instant.parse("2025-02-01T00:00:00Z"),
                        Instant.parse("2026-12-06T23:59:59Z")),
            "screen_certificate_expired"),
        Arguments.of(
            "not yet valid",
            (UnaryOperator<TestScreens.Spec>)
                s ->
                    s.withValidity(
                        Instant.parse("2026-12-07T00:00:01Z"),
                        Instant.parse("2030-01-01T00:00:00Z")),
            "screen_certificate_not_yet_valid"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("oneBrokenRule")
  void aScreenBreakingOneRuleIsRefusedNamingIt(
      String what, UnaryOperator<TestScreens.Spec> change, String code) {
    TestScreens.Screen s = TestScreens.screen(maker, change.apply(valid), RANDOM);
    assertThatThrownBy(() -> DcCertificateChainValidator.validateScreen(s.chain(), NOW))
        .isInstanceOfSatisfying(CinemaException.class, e -> assertThat(e.code()).isEqualTo(code));
  }

  @Test
  void anIntermediateThatIsNoCaIsRefused() {
    TestScreens.Manufacturer bad =
        TestScreens.manufacturer(
            "DC2.SMPTE.TESTMAKER.COM",
            RegenerateKdmVectors.MAKER_FROM,
            RegenerateKdmVectors.MAKER_TO,
            false,
            RANDOM);
    TestScreens.Screen s = TestScreens.screen(bad, valid, RANDOM);
    assertThatThrownBy(() -> DcCertificateChainValidator.validateScreen(s.chain(), NOW))
        .isInstanceOfSatisfying(
            CinemaException.class, e -> assertThat(e.code()).isEqualTo("screen_certificate_ca"));
  }

  /** Attack: a forged leaf (its signature altered, e.g. a key swapped in) under a genuine manufacturer chain. */
  @Test
  void aLeafWhoseSignatureDoesNotVerifyIsRefused() throws Exception {
    TestScreens.Screen s = TestScreens.screen(maker, valid, RANDOM);
    byte[] der = s.leaf().getEncoded();
    der[der.length - 1] ^= 1;
    X509Certificate forged =
        (X509Certificate)
            java.security.cert.CertificateFactory.getInstance("X.509")
                .generateCertificate(new java.io.ByteArrayInputStream(der));
    assertThatThrownBy(
            () ->
                DcCertificateChainValidator.validateScreen(
                    List.of(forged, maker.intermediate(), maker.root()), NOW))
        .isInstanceOfSatisfying(
            CinemaException.class,
            e -> assertThat(e.code()).isEqualTo("screen_certificate_chain_signature"));
  }

  /** A leaf presented with another manufacturer's CAs: the issuer names (dnQualifier) differ. */
  @Test
  void aLeafUnderAForeignRootIsRefused() {
    TestScreens.Manufacturer other =
        TestScreens.manufacturer(
            "DC2.SMPTE.TESTMAKER.COM",
            RegenerateKdmVectors.MAKER_FROM,
            RegenerateKdmVectors.MAKER_TO,
            true,
            RANDOM);
    TestScreens.Screen s = TestScreens.screen(maker, valid, RANDOM);
    List<X509Certificate> mixed = List.of(s.leaf(), other.intermediate(), other.root());
    assertThatThrownBy(() -> DcCertificateChainValidator.validateScreen(mixed, NOW))
        .isInstanceOfSatisfying(
            CinemaException.class,
            e -> assertThat(e.code()).isEqualTo("screen_certificate_chain_order"));
  }

  @Test
  void aChainWithoutItsRootOrOutOfOrderIsRefused() {
    TestScreens.Screen s = TestScreens.screen(maker, valid, RANDOM);
    assertThatThrownBy(
            () ->
                DcCertificateChainValidator.validateScreen(
                    List.of(s.leaf(), maker.intermediate()), NOW))
        .isInstanceOfSatisfying(
            CinemaException.class,
            e -> assertThat(e.code()).isEqualTo("screen_certificate_chain_order"));
    List<X509Certificate> reversed = new ArrayList<>(s.chain());
    java.util.Collections.reverse(reversed);
    assertThatThrownBy(() -> DcCertificateChainValidator.validateScreen(reversed, NOW))
        .isInstanceOf(CinemaException.class);
    assertThatThrownBy(() -> DcCertificateChainValidator.validateScreen(List.of(s.leaf()), NOW))
        .isInstanceOfSatisfying(
            CinemaException.class,
            e -> assertThat(e.code()).isEqualTo("screen_certificate_chain_length"));
  }

  /**
   * A send's memo (one chain's CAs checked once): a leaf is still checked in full, so a forged or
   * rule-breaking leaf under CAs the memo knows is refused as without it; the memo holds only
   * passes, so a CA it refused stays refused; and it serves one instant only.
   */
  @Test
  void aMemoSkipsOnlyTheCasAlreadyCheckedNeverALeaf() throws Exception {
    DcCertificateChainValidator.Memo memo = new DcCertificateChainValidator.Memo(NOW);
    TestScreens.Screen good = TestScreens.screen(maker, valid, RANDOM);
    assertThat(DcCertificateChainValidator.validateScreen(good.chain(), NOW, memo).leaf())
        .isEqualTo(good.leaf());
    assertThat(DcCertificateChainValidator.validateScreen(good.chain(), NOW, memo).leaf())
        .isEqualTo(good.leaf());

    byte[] der = TestScreens.screen(maker, valid, RANDOM).leaf().getEncoded();
    der[der.length - 1] ^= 1;
    X509Certificate forged =
        (X509Certificate)
            java.security.cert.CertificateFactory.getInstance("X.509")
                .generateCertificate(new java.io.ByteArrayInputStream(der));
    assertThatThrownBy(
            () ->
                DcCertificateChainValidator.validateScreen(
                    List.of(forged, maker.intermediate(), maker.root()), NOW, memo))
        .isInstanceOfSatisfying(
            CinemaException.class,
            e -> assertThat(e.code()).isEqualTo("screen_certificate_chain_signature"));
    for (var broken : oneBrokenRule().toList()) {
      @SuppressWarnings("unchecked")
      UnaryOperator<TestScreens.Spec> change = (UnaryOperator<TestScreens.Spec>) broken.get()[1];
      TestScreens.Screen s = TestScreens.screen(maker, change.apply(valid), RANDOM);
      assertThatThrownBy(() -> DcCertificateChainValidator.validateScreen(s.chain(), NOW, memo))
          .as(String.valueOf(broken.get()[0]))
          .isInstanceOfSatisfying(
              CinemaException.class, e -> assertThat(e.code()).isEqualTo(broken.get()[2]));
    }

    TestScreens.Manufacturer bad =
        TestScreens.manufacturer(
            "DC2.SMPTE.TESTMAKER.COM",
            RegenerateKdmVectors.MAKER_FROM,
            RegenerateKdmVectors.MAKER_TO,
            false,
            RANDOM);
    TestScreens.Screen underBad = TestScreens.screen(bad, valid, RANDOM);
    for (int i = 0; i < 2; i++) {
      assertThatThrownBy(
              () -> DcCertificateChainValidator.validateScreen(underBad.chain(), NOW, memo))
          .isInstanceOfSatisfying(
              CinemaException.class, e -> assertThat(e.code()).isEqualTo("screen_certificate_ca"));
    }
    // the known CAs with a foreign leaf: the link leaf -> intermediate is not one the memo holds
    TestScreens.Screen foreign = TestScreens.screen(bad, valid, RANDOM);
    assertThatThrownBy(
            () ->
                DcCertificateChainValidator.validateScreen(
                    List.of(foreign.leaf(), maker.intermediate(), maker.root()), NOW, memo))
        .isInstanceOfSatisfying(
            CinemaException.class,
            e -> assertThat(e.code()).isEqualTo("screen_certificate_chain_order"));
    // a memo of one instant: an expired CA at a later instant is never excused by it
    assertThatThrownBy(
            () ->
                DcCertificateChainValidator.validateScreen(good.chain(), NOW.plusSeconds(1), memo))
        .isInstanceOf(IllegalArgumentException.class);
  }

  /** A KDM signer chain is not a screen: its leaf has no SM role. */
  @Test
  void theSignerChainIsNotAScreen() {
    assertThatThrownBy(
            () -> DcCertificateChainValidator.validateScreen(KdmFixtures.signerChain(), NOW))
        .isInstanceOfSatisfying(
            CinemaException.class, e -> assertThat(e.code()).isEqualTo("screen_certificate_role"));
  }

  /** Independent check: OpenSSL computes the same dnQualifier, thumbprint and RFC 2253 names. */
  @Test
  void digestsAndNamesMatchOpenssl(@TempDir Path dir) throws Exception {
    ExternalTools.requireOpenssl();
    X509Certificate leaf = KdmFixtures.screenChain().get(0);
    Path pem = Files.writeString(dir.resolve("leaf.pem"), TestScreens.pem(List.of(leaf), null));
    String dnq =
        ExternalTools.sh(
            "openssl x509 -in "
                + pem
                + " -pubkey -noout | openssl rsa -pubin -RSAPublicKey_out"
                + " -outform DER 2>/dev/null | openssl sha1 -binary | base64");
    assertThat(dnq.strip()).isEqualTo(DcCertificates.publicKeyDigest(leaf.getPublicKey()));
    String thumb =
        ExternalTools.sh(
            "openssl x509 -in "
                + pem
                + " -outform DER | openssl asn1parse -inform DER -strparse 4"
                + " -noout -out "
                + dir.resolve("tbs.der")
                + " && openssl sha1 -binary "
                + dir.resolve("tbs.der")
                + " | base64");
    assertThat(thumb.strip()).isEqualTo(DcCertificates.thumbprintBase64(leaf));
    String subject =
        ExternalTools.sh("openssl x509 -in " + pem + " -noout -subject -nameopt RFC2253");
    assertThat(subject.strip())
        .isEqualTo("subject=" + DcCertificates.rfc2253(leaf.getSubjectX500Principal()));
    String issuer =
        ExternalTools.sh("openssl x509 -in " + pem + " -noout -issuer -nameopt RFC2253");
    assertThat(issuer.strip())
        .isEqualTo("issuer=" + DcCertificates.rfc2253(leaf.getIssuerX500Principal()));
  }
}
