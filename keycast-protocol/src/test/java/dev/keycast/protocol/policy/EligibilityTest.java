package dev.keycast.protocol.policy;

import static org.assertj.core.api.Assertions.assertThat;

import java.math.BigInteger;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Base64;
import java.util.Date;
import java.util.List;
import java.util.Map;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class EligibilityTest {
  static final Instant NOW = Instant.parse("2026-06-01T00:00:00Z");
  static KeyPair caKeys;
  static X509Certificate ca;
  static X509Certificate otherCa;
  static X509Certificate projector;
  static X509Certificate projectorOfOtherMaker;

  @BeforeAll
  static void certificates() throws Exception {
    KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
    g.initialize(256);
    caKeys = g.generateKeyPair();
    KeyPair otherKeys = g.generateKeyPair();
    ca = cert("CN=Maker Root,O=Maker", caKeys, "CN=Maker Root,O=Maker", caKeys.getPrivate(), true);
    otherCa =
        cert(
            "CN=Other Root,O=Other",
            otherKeys,
            "CN=Other Root,O=Other",
            otherKeys.getPrivate(),
            true);
    projector =
        cert(
            "CN=Projector 7,OU=Screen 1,O=Cinema Co",
            g.generateKeyPair(),
            "CN=Maker Root,O=Maker",
            caKeys.getPrivate(),
            false);
    projectorOfOtherMaker =
        cert(
            "CN=Projector 8,OU=Screen 1,O=Cinema Co",
            g.generateKeyPair(),
            "CN=Other Root,O=Other",
            otherKeys.getPrivate(),
            false);
  }

  static X509Certificate cert(
      String subject, KeyPair keys, String issuer, PrivateKey signer, boolean isCa)
      throws Exception {
    var b =
        new JcaX509v3CertificateBuilder(
            new X500Name(issuer),
            BigInteger.valueOf(System.nanoTime()),
            Date.from(NOW.minus(1, ChronoUnit.DAYS)),
            Date.from(NOW.plus(365, ChronoUnit.DAYS)),
            new X500Name(subject),
            keys.getPublic());
    b.addExtension(Extension.basicConstraints, true, new BasicConstraints(isCa));
    b.addExtension(
        Extension.keyUsage,
        true,
        new KeyUsage(isCa ? KeyUsage.keyCertSign : KeyUsage.keyEncipherment));
    return new JcaX509CertificateConverter()
        .getCertificate(b.build(new JcaContentSignerBuilder("SHA256withECDSA").build(signer)));
  }

  static SendPolicy policy(
      List<String> fps, List<X509Certificate> anchors, Map<String, String> subject, boolean late)
      throws Exception {
    List<String> a =
        anchors.stream()
            .map(
                c -> {
                  try {
                    return Base64.getEncoder().encodeToString(c.getEncoded());
                  } catch (Exception e) {
                    throw new IllegalStateException(e);
                  }
                })
            .toList();
    return new SendPolicy(
        1,
        "s1",
        "Studio",
        NOW.minus(1, ChronoUnit.HOURS),
        NOW.plus(1, ChronoUnit.HOURS),
        new SendPolicy.RecipientSelector(fps, a, subject),
        late,
        100,
        null);
  }

  @Test
  void explicitFingerprintIsEligibleAndOthersAreNot() throws Exception {
    var e = new Eligibility(policy(List.of("b".repeat(64)), List.of(), Map.of(), false));
    assertThat(e.decide("b".repeat(64), List.of(), NOW, false).eligible()).isTrue();
    var no = e.decide("c".repeat(64), List.of(), NOW, false);
    assertThat(no.eligible()).isFalse();
    assertThat(no.reason()).isEqualTo(Eligibility.NOT_SELECTED);
  }

  @Test
  void chainToAnchorWithMatchingSubjectIsEligible() throws Exception {
    var e =
        new Eligibility(
            policy(List.of(), List.of(ca), Map.of("O", "Cinema Co", "OU", "Screen 1"), false));
    assertThat(e.decide("d".repeat(64), List.of(projector, ca), NOW, false).eligible()).isTrue();
    assertThat(e.decide("d".repeat(64), List.of(projector), NOW, false).eligible()).isTrue();
  }

  @Test
  void chainToAnotherRootIsRefused() throws Exception {
    var e = new Eligibility(policy(List.of(), List.of(ca), Map.of(), false));
    var d = e.decide("d".repeat(64), List.of(projectorOfOtherMaker, otherCa), NOW, false);
    assertThat(d.reason()).isEqualTo(Eligibility.CHAIN_INVALID);
  }

  @Test
  void subjectSelectorMismatchIsRefused() throws Exception {
    var e = new Eligibility(policy(List.of(), List.of(ca), Map.of("OU", "Screen 2"), false));
    assertThat(e.decide("d".repeat(64), List.of(projector), NOW, false).reason())
        .isEqualTo(Eligibility.SUBJECT_MISMATCH);
  }

  @Test
  void validityWindowAndLateFlagAreEnforced() throws Exception {
    var e = new Eligibility(policy(List.of("b".repeat(64)), List.of(), Map.of(), false));
    assertThat(e.decide("b".repeat(64), List.of(), NOW.plus(2, ChronoUnit.HOURS), false).reason())
        .isEqualTo(Eligibility.OUTSIDE_VALIDITY_WINDOW);
    assertThat(e.decide("b".repeat(64), List.of(), NOW, true).reason())
        .isEqualTo(Eligibility.LATE_NOT_ALLOWED);
    var lateOk = new Eligibility(policy(List.of("b".repeat(64)), List.of(), Map.of(), true));
    assertThat(lateOk.decide("b".repeat(64), List.of(), NOW, true).eligible()).isTrue();
  }

  static X509Certificate certWith(
      String subject,
      java.security.PublicKey key,
      String issuer,
      PrivateKey signer,
      BasicConstraints bc,
      KeyUsage ku)
      throws Exception {
    var b =
        new JcaX509v3CertificateBuilder(
            new X500Name(issuer),
            BigInteger.valueOf(System.nanoTime()),
            Date.from(NOW.minus(1, ChronoUnit.DAYS)),
            Date.from(NOW.plus(365, ChronoUnit.DAYS)),
            new X500Name(subject),
            key);
    if (bc != null) {
      b.addExtension(Extension.basicConstraints, true, bc);
    }
    if (ku != null) {
      b.addExtension(Extension.keyUsage, true, ku);
    }
    return new JcaX509CertificateConverter()
        .getCertificate(b.build(new JcaContentSignerBuilder("SHA256withECDSA").build(signer)));
  }

  static String fp(X509Certificate c) throws Exception {
    return java.util.HexFormat.of()
        .formatHex(
            java.security.MessageDigest.getInstance("SHA-256")
                .digest(c.getPublicKey().getEncoded()));
  }

  @Test
  void anIntermediateCaRegisteredAsALeafIsRefused() throws Exception {
    KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
    g.initialize(256);
    X509Certificate intermediate =
        certWith(
            "CN=Maker Intermediate,O=Maker",
            g.generateKeyPair().getPublic(),
            "CN=Maker Root,O=Maker",
            caKeys.getPrivate(),
            new BasicConstraints(0),
            new KeyUsage(KeyUsage.keyCertSign | KeyUsage.keyEncipherment));
    var e = new Eligibility(policy(List.of(), List.of(ca), Map.of(), false));
    var d = e.decide(fp(intermediate), List.of(intermediate), NOW, false);
    assertThat(d.eligible()).isFalse();
    assertThat(d.reason()).isEqualTo(Eligibility.CHAIN_INVALID);
    assertThat(d.message()).contains("CA certificate");
    // the root itself, presented as a recipient's chain
    var root = e.decide(fp(ca), List.of(ca), NOW, false);
    assertThat(root.eligible()).isFalse();
    assertThat(root.reason()).isEqualTo(Eligibility.CHAIN_INVALID);
  }

  @Test
  void aTrustAnchorWithoutBasicConstraintsRegisteredAsARecipientIsRefused() throws Exception {
    KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
    g.initialize(256);
    KeyPair k = g.generateKeyPair();
    // an old-style anchor: self-signed, no basic constraints, key usage allows encryption
    X509Certificate anchor =
        certWith(
            "CN=Legacy Root,O=Legacy",
            k.getPublic(),
            "CN=Legacy Root,O=Legacy",
            k.getPrivate(),
            null,
            new KeyUsage(KeyUsage.keyEncipherment | KeyUsage.keyCertSign));
    var e = new Eligibility(policy(List.of(), List.of(anchor), Map.of(), false));
    var d = e.decide(fp(anchor), List.of(anchor), NOW, false);
    assertThat(d.eligible()).isFalse();
    assertThat(d.message()).contains("policy anchor's key");
  }

  @Test
  void aLeafWhoseKeyUsageForbidsEncryptionIsRefused() throws Exception {
    KeyPairGenerator rsa = KeyPairGenerator.getInstance("RSA");
    rsa.initialize(2048);
    java.security.PublicKey rsaKey = rsa.generateKeyPair().getPublic();
    java.security.PublicKey xKey =
        KeyPairGenerator.getInstance("X25519").generateKeyPair().getPublic();
    var e = new Eligibility(policy(List.of(), List.of(ca), Map.of(), false));
    String issuer = "CN=Maker Root,O=Maker";
    X509Certificate rsaSignOnly =
        certWith(
            "CN=R1,O=Cinema Co",
            rsaKey,
            issuer,
            caKeys.getPrivate(),
            new BasicConstraints(false),
            new KeyUsage(KeyUsage.digitalSignature));
    X509Certificate rsaEncipher =
        certWith(
            "CN=R2,O=Cinema Co",
            rsaKey,
            issuer,
            caKeys.getPrivate(),
            new BasicConstraints(false),
            new KeyUsage(KeyUsage.keyEncipherment));
    X509Certificate xEncipherOnly =
        certWith(
            "CN=X1,O=Cinema Co",
            xKey,
            issuer,
            caKeys.getPrivate(),
            new BasicConstraints(false),
            new KeyUsage(KeyUsage.keyEncipherment));
    X509Certificate xAgreement =
        certWith(
            "CN=X2,O=Cinema Co",
            xKey,
            issuer,
            caKeys.getPrivate(),
            new BasicConstraints(false),
            new KeyUsage(KeyUsage.keyAgreement));
    X509Certificate xNoKeyUsage =
        certWith("CN=X3,O=Cinema Co", xKey, issuer, caKeys.getPrivate(), null, null);
    assertThat(e.decide(fp(rsaSignOnly), List.of(rsaSignOnly), NOW, false).message())
        .contains("key usage");
    assertThat(e.decide(fp(xEncipherOnly), List.of(xEncipherOnly), NOW, false).message())
        .contains("key usage");
    assertThat(e.decide(fp(rsaEncipher), List.of(rsaEncipher), NOW, false).eligible()).isTrue();
    assertThat(e.decide(fp(xAgreement), List.of(xAgreement), NOW, false).eligible()).isTrue();
    assertThat(e.decide(fp(xNoKeyUsage), List.of(xNoKeyUsage), NOW, false).eligible()).isTrue();
  }

  @Test
  void aSerialNumberSubjectSelectorMatchesTheSubjectsSerialNumber() throws Exception {
    KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
    g.initialize(256);
    X509Certificate p =
        certWith(
            "CN=Projector 9,SERIALNUMBER=SN-000123,O=Cinema Co",
            g.generateKeyPair().getPublic(),
            "CN=Maker Root,O=Maker",
            caKeys.getPrivate(),
            new BasicConstraints(false),
            new KeyUsage(KeyUsage.keyEncipherment));
    assertThat(
            new Eligibility(
                    policy(List.of(), List.of(ca), Map.of("SERIALNUMBER", "SN-000123"), false))
                .decide(fp(p), List.of(p), NOW, false)
                .eligible())
        .isTrue();
    assertThat(
            new Eligibility(
                    policy(
                        List.of(),
                        List.of(ca),
                        Map.of("2.5.4.5", "SN-000123", "O", "Cinema Co"),
                        false))
                .decide(fp(p), List.of(p), NOW, false)
                .eligible())
        .isTrue();
    assertThat(
            new Eligibility(
                    policy(List.of(), List.of(ca), Map.of("SERIALNUMBER", "SN-000124"), false))
                .decide(fp(p), List.of(p), NOW, false)
                .reason())
        .isEqualTo(Eligibility.SUBJECT_MISMATCH);
  }

  /**
   * A recipient certificate the parser refuses (over 64 KiB, a host's padding): the recipient is
   * eligible only through a listed fingerprint, never through the unparsable chain.
   */
  @Test
  void unparsableChainIsEligibleOnlyByItsListedFingerprint() throws Exception {
    var b =
        new JcaX509v3CertificateBuilder(
            new X500Name("CN=Maker Root,O=Maker"),
            BigInteger.valueOf(System.nanoTime()),
            Date.from(NOW.minus(1, ChronoUnit.DAYS)),
            Date.from(NOW.plus(365, ChronoUnit.DAYS)),
            new X500Name("CN=Projector 9,O=Cinema Co"),
            KeyPairGenerator.getInstance("EC").generateKeyPair().getPublic());
    b.addExtension(
        new org.bouncycastle.asn1.ASN1ObjectIdentifier("1.3.6.1.4.1.99999.7"),
        false,
        new org.bouncycastle.asn1.DEROctetString(new byte[70 * 1024]));
    X509Certificate huge =
        new JcaX509CertificateConverter()
            .getCertificate(
                b.build(new JcaContentSignerBuilder("SHA256withECDSA").build(caKeys.getPrivate())));
    SendPolicy p = policy(List.of("b".repeat(64)), List.of(ca), Map.of(), false);
    var withAnchor = new Eligibility(p);
    assertThat(withAnchor.policy()).isSameAs(p);
    assertThat(withAnchor.decide("b".repeat(64), List.of(huge), NOW, false).eligible()).isTrue();
    var d = withAnchor.decide("c".repeat(64), List.of(huge), NOW, false);
    assertThat(d.eligible()).isFalse();
    assertThat(d.reason()).isEqualTo(Eligibility.CHAIN_INVALID);
    assertThat(withAnchor.decide("b".repeat(64), List.of(huge), NOW, true).reason())
        .isEqualTo(Eligibility.LATE_NOT_ALLOWED);
    var noAnchor = new Eligibility(policy(List.of("b".repeat(64)), List.of(), Map.of(), false));
    assertThat(noAnchor.decide("c".repeat(64), List.of(huge), NOW, false).reason())
        .isEqualTo(Eligibility.NOT_SELECTED);
  }

  @Test
  void subjectSelectorEdgeCases() {
    assertThat(Eligibility.subjectMatches(null, Map.of())).isTrue();
    assertThat(Eligibility.subjectMatches(null, Map.of("O", "Cinema Co"))).isFalse();
    assertThat(
            Eligibility.subjectMatches(
                new javax.security.auth.x500.X500Principal("CN=P,O=Cinema Co"),
                Map.of("O", "Cinema Co")))
        .isTrue();
  }
}
