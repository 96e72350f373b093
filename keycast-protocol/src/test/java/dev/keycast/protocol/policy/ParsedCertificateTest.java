package dev.keycast.protocol.policy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keycast.protocol.MalformedInputException;
import java.math.BigInteger;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.Arrays;
import java.util.Date;
import javax.security.auth.x500.X500Principal;
import org.bouncycastle.asn1.ASN1GeneralizedTime;
import org.bouncycastle.asn1.ASN1UTCTime;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.asn1.x509.Time;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The lean certificate parse agrees with the JDK's on what the chain walk reads, and rejects junk. */
class ParsedCertificateTest {
  static KeyPair keys;
  static X509Certificate ca;

  @BeforeAll
  static void setUp() throws Exception {
    KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
    g.initialize(2048);
    keys = g.generateKeyPair();
    var b =
        new JcaX509v3CertificateBuilder(
            new X500Name("CN=Root,O=Maker"),
            BigInteger.valueOf(4242),
            Date.from(Instant.parse("2020-01-02T03:04:05Z")),
            Date.from(Instant.parse("2060-07-08T09:10:11Z")),
            new X500Name("CN=Sub CA,O=Maker"),
            keys.getPublic());
    b.addExtension(Extension.basicConstraints, true, new BasicConstraints(3));
    b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign));
    ca =
        new JcaX509CertificateConverter()
            .getCertificate(
                b.build(new JcaContentSignerBuilder("SHA256withRSA").build(keys.getPrivate())));
  }

  @Test
  void readsWhatTheJdkReads() throws Exception {
    ParsedCertificate p = ParsedCertificate.of(ca);
    assertThat(p.encoded()).isEqualTo(ca.getEncoded());
    assertThat(p.hasPublicKey(ca.getPublicKey().getEncoded())).isTrue();
    assertThat(p.hasPublicKey(Arrays.copyOf(ca.getPublicKey().getEncoded(), 10))).isFalse();
    assertThat(Arrays.copyOfRange(p.der(), p.tbsOffset(), p.tbsOffset() + p.tbsLength()))
        .isEqualTo(ca.getTBSCertificate());
    assertThat(p.subjectPrincipal()).isEqualTo(ca.getSubjectX500Principal());
    assertThat(new X500Principal(p.issuer().getEncoded())).isEqualTo(ca.getIssuerX500Principal());
    assertThat(p.serialNumber()).isEqualTo(ca.getSerialNumber());
    assertThat(p.pathLength()).isEqualTo(ca.getBasicConstraints());
    assertThat(p.mayCertify()).isTrue();
    assertThat(p.validAt(ca.getNotBefore().getTime())).isTrue();
    assertThat(p.validAt(ca.getNotBefore().getTime() - 1)).isFalse();
    assertThat(p.validAt(ca.getNotAfter().getTime())).isTrue();
    assertThat(p.validAt(ca.getNotAfter().getTime() + 1)).isFalse();
    assertThat(p.toX509Certificate()).isEqualTo(ca);
  }

  /** The fast time reader agrees with BouncyCastle's SimpleDateFormat path (and the RFC 5280 window). */
  @ParameterizedTest
  @ValueSource(
      strings = {
        "500101000000Z",
        "491231235959Z",
        "000229120000Z",
        "991231235959Z",
        "260601000000Z",
        "700101000000Z"
      })
  void utcTimes(String t) throws Exception {
    Time time = new Time(new ASN1UTCTime(t));
    assertThat(ParsedCertificate.epochMillis(time)).isEqualTo(time.getDate().getTime());
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "20500101000000Z",
        "99991231235959Z",
        "19500101000000Z",
        "20240229000000Z",
        "20260601123456.5Z",
        "20260601123456+0100"
      })
  void generalizedTimes(String t) throws Exception {
    Time time = new Time(new ASN1GeneralizedTime(t));
    assertThat(ParsedCertificate.epochMillis(time)).isEqualTo(time.getDate().getTime());
  }

  @Test
  void junkIsATypedError() throws Exception {
    byte[] der = ca.getEncoded();
    assertThatThrownBy(() -> ParsedCertificate.parse(Arrays.copyOf(der, der.length - 1)))
        .isInstanceOf(MalformedInputException.class)
        .hasMessageContaining("not a DER X.509 certificate");
    assertThatThrownBy(() -> ParsedCertificate.parse(Arrays.copyOf(der, der.length + 1)))
        .isInstanceOf(MalformedInputException.class);
    assertThatThrownBy(() -> ParsedCertificate.parse(new byte[] {0x30, 0x00}))
        .isInstanceOf(MalformedInputException.class);
    assertThatThrownBy(() -> ParsedCertificate.parse(new byte[0]))
        .isInstanceOf(MalformedInputException.class);
    assertThatThrownBy(() -> ParsedCertificate.parse(new byte[ParsedCertificate.MAX_BYTES + 1]))
        .isInstanceOf(MalformedInputException.class)
        .hasMessageContaining("limit");
    // the outer signature algorithm differs from the one inside tbsCertificate (the JDK refuses it
    // too)
    byte[] swapped = der.clone();
    int at =
        indexOf(
            swapped,
            new byte[] {0x2a, (byte) 0x86, 0x48, (byte) 0x86, (byte) 0xf7, 0x0d, 0x01, 0x01, 0x0b},
            ParsedCertificate.of(ca).tbsOffset() + ParsedCertificate.of(ca).tbsLength());
    swapped[at + 8] = 0x0c; // sha384WithRSAEncryption outside, sha256WithRSAEncryption inside
    assertThatThrownBy(() -> ParsedCertificate.parse(swapped))
        .isInstanceOf(MalformedInputException.class)
        .hasMessageContaining("mismatch");
  }

  private static int indexOf(byte[] a, byte[] b, int from) {
    for (int i = from; i + b.length <= a.length; i++) {
      if (Arrays.equals(a, i, i + b.length, b, 0, b.length)) {
        return i;
      }
    }
    throw new AssertionError("not found");
  }
}
