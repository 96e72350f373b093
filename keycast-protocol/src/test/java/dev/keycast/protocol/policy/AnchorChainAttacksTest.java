package dev.keycast.protocol.policy;

import static dev.keycast.protocol.policy.AnchorChainValidatorTest.NOW;
import static dev.keycast.protocol.policy.AnchorChainValidatorTest.check;
import static dev.keycast.protocol.policy.AnchorChainValidatorTest.leaf;
import static dev.keycast.protocol.policy.AnchorChainValidatorTest.parsed;
import static org.assertj.core.api.Assertions.assertThat;

import dev.keycast.protocol.crypto.CryptoBackend;
import dev.keycast.protocol.policy.AnchorChainValidatorTest.Cert;
import java.security.cert.X509Certificate;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * More attacks on the anchor-chain walk, beside {@link AnchorChainValidatorTest} (which is at the
 * size limit): each found unpinned by the mutation run over {@code policy} (testing.md 2.3).
 */
class AnchorChainAttacksTest {
  @BeforeAll
  static void keys() throws Exception {
    AnchorChainValidatorTest.keys();
  }

  /**
   * An intermediate that names the studio root as its issuer but is signed by the attacker's key,
   * above a leaf the attacker's intermediate key signed genuinely: only the intermediate's
   * signature is forged. Refused on the first sight of that intermediate (nothing is remembered
   * yet) and again after a genuine intermediate of the same name was remembered.
   */
  @Test
  void forgedIntermediateUnderTheStudioRootIsRefused() throws Exception {
    X509Certificate forgedIntermediate =
        new Cert("CN=Intermediate,O=Maker", AnchorChainValidatorTest.intKeys.getPublic())
            .ca(-1)
            .build("CN=Root,O=Maker", AnchorChainValidatorTest.otherKeys.getPrivate());
    X509Certificate leaf =
        leaf().build("CN=Intermediate,O=Maker", AnchorChainValidatorTest.intKeys.getPrivate());
    check(List.of(leaf, forgedIntermediate), false, true);
    for (CryptoBackend backend : AnchorChainValidatorTest.backends()) {
      AnchorChainValidator v =
          new AnchorChainValidator(parsed(List.of(AnchorChainValidatorTest.root)), backend);
      assertThat(v.isValid(parsed(List.of(leaf, forgedIntermediate)), NOW))
          .as("first sight, " + backend.name())
          .isFalse();
      assertThat(v.isValid(parsed(List.of(leaf, AnchorChainValidatorTest.intermediate())), NOW))
          .as("the genuine intermediate, " + backend.name())
          .isTrue();
      assertThat(v.isValid(parsed(List.of(leaf, forgedIntermediate)), NOW))
          .as("after the genuine one was remembered, " + backend.name())
          .isFalse();
    }
  }

  /** A self-signed certificate alone is no chain to the anchor unless it is the anchor's leaf. */
  @Test
  void aLoneSelfSignedCertificateIsNotAChainToTheAnchor() throws Exception {
    X509Certificate selfSigned =
        new Cert("CN=Projector,O=Cinema", AnchorChainValidatorTest.leafKeys.getPublic())
            .leafUsage()
            .build("CN=Projector,O=Cinema", AnchorChainValidatorTest.leafKeys.getPrivate());
    check(List.of(selfSigned), false, true);
  }

  /**
   * RFC 5280 6.1.4 (l): a CA with {@code pathLenConstraint} 1 admits one CA below it, not two. The
   * walk's decrement of the remaining path length is what refuses the second.
   */
  @Test
  void aPathLengthConstraintOfOneAdmitsOneCaBelowItNotTwo() throws Exception {
    java.security.KeyPairGenerator rsa = java.security.KeyPairGenerator.getInstance("RSA");
    rsa.initialize(2048);
    java.security.KeyPair k2 = rsa.generateKeyPair();
    java.security.KeyPair k3 = rsa.generateKeyPair();
    X509Certificate int1 =
        new Cert("CN=Intermediate,O=Maker", AnchorChainValidatorTest.intKeys.getPublic())
            .ca(1)
            .build("CN=Root,O=Maker", AnchorChainValidatorTest.rootKeys.getPrivate());
    X509Certificate int2 =
        new Cert("CN=Intermediate 2,O=Maker", k2.getPublic())
            .ca(-1)
            .build("CN=Intermediate,O=Maker", AnchorChainValidatorTest.intKeys.getPrivate());
    X509Certificate int3 =
        new Cert("CN=Intermediate 3,O=Maker", k3.getPublic())
            .ca(-1)
            .build("CN=Intermediate 2,O=Maker", k2.getPrivate());
    check(
        List.of(leaf().build("CN=Intermediate 2,O=Maker", k2.getPrivate()), int2, int1),
        true,
        true);
    check(
        List.of(leaf().build("CN=Intermediate 3,O=Maker", k3.getPrivate()), int3, int2, int1),
        false,
        true);
  }

  /**
   * The walk takes only DER ECDSA signatures (one encoding, one fingerprint per certificate),
   * whatever the JDK's own decoder would also refuse: a SEQUENCE of one or three INTEGERs, a zero
   * or negative INTEGER, a long-form length, trailing bytes, and no ASN.1 at all.
   */
  @Test
  void onlyDerEcdsaSignaturesAreTaken() {
    byte[] der = {0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x02};
    assertThat(AnchorChainValidator.isDerEcdsaSignature(der)).isTrue();
    assertThat(AnchorChainValidator.isDerEcdsaSignature(new byte[] {0x30, 0x03, 0x02, 0x01, 0x01}))
        .as("one INTEGER")
        .isFalse();
    assertThat(
            AnchorChainValidator.isDerEcdsaSignature(
                new byte[] {0x30, 0x09, 0x02, 0x01, 0x01, 0x02, 0x01, 0x02, 0x02, 0x01, 0x03}))
        .as("three INTEGERs")
        .isFalse();
    assertThat(
            AnchorChainValidator.isDerEcdsaSignature(
                new byte[] {0x30, 0x06, 0x02, 0x01, 0x00, 0x02, 0x01, 0x02}))
        .as("r = 0")
        .isFalse();
    assertThat(
            AnchorChainValidator.isDerEcdsaSignature(
                new byte[] {0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, (byte) 0x80}))
        .as("s negative (MissingZero)")
        .isFalse();
    assertThat(
            AnchorChainValidator.isDerEcdsaSignature(
                new byte[] {0x30, (byte) 0x81, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x02}))
        .as("long-form length")
        .isFalse();
    assertThat(AnchorChainValidator.isDerEcdsaSignature(new byte[] {0x30, 0x06, 0x02}))
        .as("truncated")
        .isFalse();
    assertThat(AnchorChainValidator.isDerEcdsaSignature(new byte[] {0x02, 0x01, 0x01}))
        .as("an INTEGER, no SEQUENCE")
        .isFalse();
  }

  /**
   * Keys the walk does not vet go to PKIX: EC on a curve outside P-256/384/521, X25519 and Ed25519
   * keys that are not 32 bytes or carry parameters.
   */
  @Test
  void keysOutsideTheWalksCurvesAndSizesGoToPkix() throws Exception {
    AnchorChainValidator v =
        new AnchorChainValidator(
            parsed(List.of(AnchorChainValidatorTest.root)),
            dev.keycast.protocol.crypto.CryptoBackends.java());
    var secp256k1 =
        new org.bouncycastle.asn1.x509.SubjectPublicKeyInfo(
            new org.bouncycastle.asn1.x509.AlgorithmIdentifier(
                new org.bouncycastle.asn1.ASN1ObjectIdentifier("1.2.840.10045.2.1"),
                new org.bouncycastle.asn1.ASN1ObjectIdentifier("1.3.132.0.10")),
            new byte[65]);
    assertThat(v.walks(List.of(AnchorChainValidatorTest.leafWithKey(secp256k1)))).isFalse();
    var x25519Short =
        new org.bouncycastle.asn1.x509.SubjectPublicKeyInfo(
            new org.bouncycastle.asn1.x509.AlgorithmIdentifier(
                new org.bouncycastle.asn1.ASN1ObjectIdentifier("1.3.101.110")),
            new byte[31]);
    assertThat(v.walks(List.of(AnchorChainValidatorTest.leafWithKey(x25519Short)))).isFalse();
    var ed25519WithParams =
        new org.bouncycastle.asn1.x509.SubjectPublicKeyInfo(
            new org.bouncycastle.asn1.x509.AlgorithmIdentifier(
                new org.bouncycastle.asn1.ASN1ObjectIdentifier("1.3.101.112"),
                org.bouncycastle.asn1.DERNull.INSTANCE),
            new byte[32]);
    assertThat(v.walks(List.of(AnchorChainValidatorTest.leafWithKey(ed25519WithParams)))).isFalse();
  }

  /**
   * An EC leaf is a recipient's only if its key usage allows key establishment (keyAgreement or
   * keyEncipherment); a signing-only EC leaf is not.
   */
  @Test
  void aSigningOnlyEcLeafDoesNotAllowKeyEstablishment() throws Exception {
    java.security.KeyPairGenerator ec = java.security.KeyPairGenerator.getInstance("EC");
    ec.initialize(256);
    java.security.PublicKey key = ec.generateKeyPair().getPublic();
    Cert signing = new Cert("CN=Projector,O=Cinema", key);
    signing.ku =
        new org.bouncycastle.asn1.x509.KeyUsage(
            org.bouncycastle.asn1.x509.KeyUsage.digitalSignature);
    Cert agreement = new Cert("CN=Projector,O=Cinema", key);
    agreement.ku =
        new org.bouncycastle.asn1.x509.KeyUsage(org.bouncycastle.asn1.x509.KeyUsage.keyAgreement);
    Cert none = new Cert("CN=Projector,O=Cinema", key);
    assertThat(
            parsed(
                    List.of(
                        signing.build(
                            "CN=Root,O=Maker", AnchorChainValidatorTest.rootKeys.getPrivate())))
                .getFirst()
                .allowsKeyEstablishment())
        .isFalse();
    assertThat(
            parsed(
                    List.of(
                        agreement.build(
                            "CN=Root,O=Maker", AnchorChainValidatorTest.rootKeys.getPrivate())))
                .getFirst()
                .allowsKeyEstablishment())
        .isTrue();
    assertThat(
            parsed(
                    List.of(
                        none.build(
                            "CN=Root,O=Maker", AnchorChainValidatorTest.rootKeys.getPrivate())))
                .getFirst()
                .allowsKeyEstablishment())
        .isTrue();
  }

  /**
   * A studio root with a 512-bit RSA key, which PKIX's algorithm constraints refuse: the walk must
   * not take its chains (an anchor outside the walk's keys sends every chain to PKIX).
   */
  @Test
  void aChainUnderAWeakRsaAnchorIsRefusedAsPkixRefusesIt() throws Exception {
    java.security.KeyPairGenerator rsa = java.security.KeyPairGenerator.getInstance("RSA");
    rsa.initialize(512);
    java.security.KeyPair weak = rsa.generateKeyPair();
    X509Certificate weakRoot =
        new Cert("CN=Weak Root", weak.getPublic()).ca(-1).build("CN=Weak Root", weak.getPrivate());
    check(List.of(leaf().build("CN=Weak Root", weak.getPrivate())), false, false, weakRoot);
  }

  /**
   * The leaf names its issuer with PrintableStrings where the anchor's subject has UTF8Strings: the
   * same name to X.500 (and to PKIX), other DER bytes. The walk compares such names as the JDK's
   * {@code X500Principal} does.
   */
  @Test
  void anIssuerNameInAnotherStringTypeStillChains() throws Exception {
    var issuer =
        new org.bouncycastle.asn1.x500.X500Name(
            new org.bouncycastle.asn1.x500.RDN[] {
              new org.bouncycastle.asn1.x500.RDN(
                  org.bouncycastle.asn1.x500.style.BCStyle.CN,
                  new org.bouncycastle.asn1.DERPrintableString("Root")),
              new org.bouncycastle.asn1.x500.RDN(
                  org.bouncycastle.asn1.x500.style.BCStyle.O,
                  new org.bouncycastle.asn1.DERPrintableString("Maker"))
            });
    var b =
        new org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder(
            issuer,
            java.math.BigInteger.valueOf(AnchorChainValidatorTest.SERIAL.getAndIncrement()),
            java.util.Date.from(NOW.minus(1, java.time.temporal.ChronoUnit.DAYS)),
            java.util.Date.from(NOW.plus(30, java.time.temporal.ChronoUnit.DAYS)),
            new org.bouncycastle.asn1.x500.X500Name("CN=Projector,O=Cinema"),
            AnchorChainValidatorTest.leafKeys.getPublic());
    b.addExtension(
        org.bouncycastle.asn1.x509.Extension.keyUsage,
        true,
        new org.bouncycastle.asn1.x509.KeyUsage(
            org.bouncycastle.asn1.x509.KeyUsage.keyEncipherment));
    X509Certificate leaf =
        new org.bouncycastle.cert.jcajce.JcaX509CertificateConverter()
            .getCertificate(
                b.build(
                    new org.bouncycastle.operator.jcajce.JcaContentSignerBuilder("SHA256withRSA")
                        .build(AnchorChainValidatorTest.rootKeys.getPrivate())));
    assertThat(leaf.getIssuerX500Principal().getEncoded())
        .isNotEqualTo(AnchorChainValidatorTest.root.getSubjectX500Principal().getEncoded());
    check(List.of(leaf), true, true);
  }

  /** A leaf under the RSA root signed with {@code signer}, whose algorithm identifier is {@code id}. */
  private static X509Certificate leafSignedAs(
      org.bouncycastle.operator.ContentSigner signer,
      org.bouncycastle.asn1.x509.AlgorithmIdentifier id)
      throws Exception {
    org.bouncycastle.operator.ContentSigner as =
        new org.bouncycastle.operator.ContentSigner() {
          @Override
          public org.bouncycastle.asn1.x509.AlgorithmIdentifier getAlgorithmIdentifier() {
            return id;
          }

          @Override
          public java.io.OutputStream getOutputStream() {
            return signer.getOutputStream();
          }

          @Override
          public byte[] getSignature() {
            return signer.getSignature();
          }
        };
    var b =
        new org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder(
            new org.bouncycastle.asn1.x500.X500Name("CN=Root,O=Maker"),
            java.math.BigInteger.valueOf(AnchorChainValidatorTest.SERIAL.getAndIncrement()),
            java.util.Date.from(NOW.minus(1, java.time.temporal.ChronoUnit.DAYS)),
            java.util.Date.from(NOW.plus(30, java.time.temporal.ChronoUnit.DAYS)),
            new org.bouncycastle.asn1.x500.X500Name("CN=Projector,O=Cinema"),
            AnchorChainValidatorTest.leafKeys.getPublic());
    return new org.bouncycastle.cert.jcajce.JcaX509CertificateConverter()
        .getCertificate(b.build(as));
  }

  /**
   * Signature algorithms the walk does not verify go to PKIX, whose verdict stands: RSASSA-PSS (the
   * walk knows PKCS #1 v1.5 only), and sha256WithRSAEncryption whose parameters are not NULL.
   */
  @Test
  void signatureAlgorithmsOutsideTheWalkGoToPkix() throws Exception {
    var pss =
        new org.bouncycastle.operator.jcajce.JcaContentSignerBuilder("SHA256withRSAandMGF1")
            .setProvider(new org.bouncycastle.jce.provider.BouncyCastleProvider())
            .build(AnchorChainValidatorTest.rootKeys.getPrivate());
    X509Certificate pssLeaf = leafSignedAs(pss, pss.getAlgorithmIdentifier());
    check(List.of(pssLeaf), true, false);
    var pkcs1 =
        new org.bouncycastle.operator.jcajce.JcaContentSignerBuilder("SHA256withRSA")
            .build(AnchorChainValidatorTest.rootKeys.getPrivate());
    X509Certificate withParams =
        leafSignedAs(
            pkcs1,
            new org.bouncycastle.asn1.x509.AlgorithmIdentifier(
                org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers.sha256WithRSAEncryption,
                new org.bouncycastle.asn1.ASN1Integer(0)));
    boolean pkix =
        AnchorChainValidatorTest.jdkPkix(
            List.of(AnchorChainValidatorTest.root), List.of(withParams));
    check(List.of(withParams), pkix, false);
  }
}
