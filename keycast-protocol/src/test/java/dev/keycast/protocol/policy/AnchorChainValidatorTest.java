package dev.keycast.protocol.policy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keycast.protocol.MalformedInputException;
import dev.keycast.protocol.crypto.CryptoBackend;
import dev.keycast.protocol.crypto.CryptoBackends;
import java.math.BigInteger;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.cert.CertPathValidator;
import java.security.cert.CertPathValidatorException;
import java.security.cert.CertificateFactory;
import java.security.cert.PKIXParameters;
import java.security.cert.TrustAnchor;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Date;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.DEROctetString;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralSubtree;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.asn1.x509.NameConstraints;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The direct anchor-chain walk: each rule has a chain that breaks only that rule, and every
 * outcome is also checked against the JDK's PKIX validator (the reference), so the walk is
 * exactly as strict as PKIX on these chains.
 */
class AnchorChainValidatorTest {
  static final Instant NOW = Instant.parse("2026-06-01T00:00:00Z");
  static final AtomicLong SERIAL = new AtomicLong(1);
  static KeyPair rootKeys;
  static KeyPair intKeys;
  static KeyPair leafKeys;
  static KeyPair otherKeys;
  static KeyPair ecRootKeys;
  static X509Certificate root;
  static X509Certificate ecRoot;

  @BeforeAll
  static void keys() throws Exception {
    KeyPairGenerator rsa = KeyPairGenerator.getInstance("RSA");
    rsa.initialize(2048);
    rootKeys = rsa.generateKeyPair();
    intKeys = rsa.generateKeyPair();
    leafKeys = rsa.generateKeyPair();
    otherKeys = rsa.generateKeyPair();
    KeyPairGenerator ec = KeyPairGenerator.getInstance("EC");
    ec.initialize(256);
    ecRootKeys = ec.generateKeyPair();
    root =
        new Cert("CN=Root,O=Maker", rootKeys.getPublic())
            .ca(-1)
            .build("CN=Root,O=Maker", rootKeys.getPrivate());
    ecRoot =
        new Cert("CN=EC Root", ecRootKeys.getPublic())
            .ca(-1)
            .build("CN=EC Root", ecRootKeys.getPrivate());
  }

  /** A certificate under construction; by default valid a day around NOW, no extensions. */
  static final class Cert {
    final String subject;
    final PublicKey key;
    Instant notBefore = NOW.minus(1, ChronoUnit.DAYS);
    Instant notAfter = NOW.plus(30, ChronoUnit.DAYS);
    BasicConstraints bc;
    KeyUsage ku;
    boolean criticalEku;
    boolean unknownCritical;
    boolean nameConstraints;

    Cert(String subject, PublicKey key) {
      this.subject = subject;
      this.key = key;
    }

    Cert ca(int pathLen) {
      bc = pathLen < 0 ? new BasicConstraints(true) : new BasicConstraints(pathLen);
      ku = new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign);
      return this;
    }

    Cert leafUsage() {
      ku = new KeyUsage(KeyUsage.keyEncipherment);
      return this;
    }

    X509Certificate build(String issuer, PrivateKey signer) throws Exception {
      var b =
          new JcaX509v3CertificateBuilder(
              new X500Name(issuer),
              BigInteger.valueOf(SERIAL.getAndIncrement()),
              Date.from(notBefore),
              Date.from(notAfter),
              new X500Name(subject),
              key);
      if (bc != null) {
        b.addExtension(Extension.basicConstraints, true, bc);
      }
      if (ku != null) {
        b.addExtension(Extension.keyUsage, true, ku);
      }
      if (criticalEku) {
        b.addExtension(
            Extension.extendedKeyUsage, true, new ExtendedKeyUsage(KeyPurposeId.id_kp_clientAuth));
      }
      if (unknownCritical) {
        b.addExtension(
            new ASN1ObjectIdentifier("1.3.6.1.4.1.99999.1"),
            true,
            new DEROctetString(new byte[] {1}));
      }
      if (nameConstraints) {
        b.addExtension(
            Extension.nameConstraints,
            true,
            new NameConstraints(
                new GeneralSubtree[] {new GeneralSubtree(new GeneralName(new X500Name("O=Maker")))},
                null));
      }
      String alg =
          switch (signer.getAlgorithm()) {
            case "EC" -> "SHA256withECDSA";
            case "Ed25519", "EdDSA" -> "Ed25519";
            default -> "SHA256withRSA";
          };
      return new JcaX509CertificateConverter()
          .getCertificate(b.build(new JcaContentSignerBuilder(alg).build(signer)));
    }
  }

  static X509Certificate intermediate() throws Exception {
    return new Cert("CN=Intermediate,O=Maker", intKeys.getPublic())
        .ca(-1)
        .build("CN=Root,O=Maker", rootKeys.getPrivate());
  }

  static Cert leaf() {
    return new Cert("CN=Projector,O=Cinema", leafKeys.getPublic()).leafUsage();
  }

  /** The backends the walk's RSA signatures are checked on: pure Java, and OpenSSL where it loads. */
  static List<CryptoBackend> backends() {
    List<CryptoBackend> out = new ArrayList<>();
    out.add(CryptoBackends.java());
    CryptoBackends.openssl().ifPresent(out::add);
    return out;
  }

  static List<ParsedCertificate> parsed(List<X509Certificate> chain) {
    try {
      return ParsedCertificate.of(chain);
    } catch (MalformedInputException e) {
      throw new AssertionError(e);
    }
  }

  /**
   * Asserts the walk's answer (on every backend), that PKIX agrees (the JDK's own parse of the same
   * certificates, independent of {@link ParsedCertificate}), and whether the walk (not PKIX)
   * decided.
   */
  static void check(
      List<X509Certificate> chain, boolean valid, boolean walked, X509Certificate... anchors)
      throws Exception {
    List<X509Certificate> anchorList =
        List.of(anchors.length == 0 ? new X509Certificate[] {root} : anchors);
    List<X509Certificate> path =
        chain.size() > 1
                && chain
                    .getLast()
                    .getSubjectX500Principal()
                    .equals(chain.getLast().getIssuerX500Principal())
            ? chain.subList(0, chain.size() - 1)
            : chain;
    assertThat(jdkPkix(anchorList, path))
        .as("PKIX on the JDK's certificates (the reference)")
        .isEqualTo(valid);
    for (CryptoBackend backend : backends()) {
      AnchorChainValidator v = new AnchorChainValidator(parsed(anchorList), backend);
      assertThat(v.pkix(parsed(path), NOW)).as("PKIX fallback").isEqualTo(valid);
      assertThat(v.walks(parsed(path))).as("decided by the direct walk").isEqualTo(walked);
      assertThat(v.isValid(parsed(chain), NOW))
          .as("the validator on " + backend.name())
          .isEqualTo(valid);
      assertThat(v.isValid(parsed(chain), NOW))
          .as("the validator on " + backend.name() + ", intermediates remembered")
          .isEqualTo(valid);
    }
  }

  static boolean jdkPkix(List<X509Certificate> anchors, List<X509Certificate> path)
      throws Exception {
    Set<TrustAnchor> t = new HashSet<>();
    for (X509Certificate a : anchors) {
      t.add(new TrustAnchor(a, null));
    }
    PKIXParameters params = new PKIXParameters(t);
    params.setRevocationEnabled(false);
    params.setDate(Date.from(NOW));
    try {
      CertPathValidator.getInstance("PKIX")
          .validate(CertificateFactory.getInstance("X.509").generateCertPath(path), params);
      return true;
    } catch (CertPathValidatorException e) {
      return false;
    }
  }

  @Test
  void leafUnderTheAnchorIsValidWithOrWithoutTheRoot() throws Exception {
    X509Certificate leaf = leaf().build("CN=Root,O=Maker", rootKeys.getPrivate());
    check(List.of(leaf), true, true);
    check(List.of(leaf, root), true, true);
  }

  @Test
  void leafUnderAnIntermediateIsValid() throws Exception {
    X509Certificate leaf = leaf().build("CN=Intermediate,O=Maker", intKeys.getPrivate());
    check(List.of(leaf, intermediate()), true, true);
    check(List.of(leaf, intermediate(), root), true, true);
  }

  @Test
  void ecdsaAnchorsAreWalked() throws Exception {
    X509Certificate leaf = leaf().build("CN=EC Root", ecRootKeys.getPrivate());
    check(List.of(leaf), true, true, ecRoot);
    check(List.of(leaf), false, true, root);
  }

  @Test
  void expiredLeafIsInvalid() throws Exception {
    Cert c = leaf();
    c.notBefore = NOW.minus(30, ChronoUnit.DAYS);
    c.notAfter = NOW.minus(1, ChronoUnit.SECONDS);
    check(List.of(c.build("CN=Root,O=Maker", rootKeys.getPrivate())), false, true);
  }

  @Test
  void notYetValidLeafIsInvalid() throws Exception {
    Cert c = leaf();
    c.notBefore = NOW.plus(1, ChronoUnit.HOURS);
    check(List.of(c.build("CN=Root,O=Maker", rootKeys.getPrivate())), false, true);
  }

  @Test
  void expiredIntermediateIsInvalid() throws Exception {
    Cert i = new Cert("CN=Intermediate,O=Maker", intKeys.getPublic()).ca(-1);
    i.notAfter = NOW.minus(1, ChronoUnit.HOURS);
    X509Certificate leaf = leaf().build("CN=Intermediate,O=Maker", intKeys.getPrivate());
    check(List.of(leaf, i.build("CN=Root,O=Maker", rootKeys.getPrivate())), false, true);
  }

  @Test
  void wrongIssuerNameIsInvalid() throws Exception {
    // signed by the anchor's key, but naming another issuer
    check(List.of(leaf().build("CN=Root,O=Someone Else", rootKeys.getPrivate())), false, true);
    // an intermediate whose subject is not the leaf's issuer
    X509Certificate leaf = leaf().build("CN=Other Intermediate,O=Maker", intKeys.getPrivate());
    check(List.of(leaf, intermediate()), false, true);
  }

  @Test
  void badSignatureIsInvalid() throws Exception {
    // the anchor's name, another key's signature
    check(List.of(leaf().build("CN=Root,O=Maker", otherKeys.getPrivate())), false, true);
    X509Certificate leaf = leaf().build("CN=Intermediate,O=Maker", otherKeys.getPrivate());
    check(List.of(leaf, intermediate()), false, true);
  }

  /**
   * The attack of issue 27's mutant (chain signatures never checked): a leaf that names an ECDSA
   * studio CA as its issuer but is signed by the attacker's own P-256 key. Every name, date and
   * extension is right; only the signature is forged.
   */
  @Test
  void forgedEcdsaChainUnderAStudioCaIsInvalid() throws Exception {
    KeyPairGenerator ec = KeyPairGenerator.getInstance("EC");
    ec.initialize(256);
    KeyPair attacker = ec.generateKeyPair();
    check(List.of(leaf().build("CN=EC Root", attacker.getPrivate())), false, true, ecRoot);
    check(List.of(leaf().build("CN=EC Root", ecRootKeys.getPrivate())), true, true, ecRoot);
  }

  /** The same forgery under an Ed25519 studio CA: the leaf's signature is the attacker's. */
  @Test
  void forgedEd25519ChainUnderAStudioCaIsInvalid() throws Exception {
    KeyPairGenerator ed = KeyPairGenerator.getInstance("Ed25519");
    KeyPair caKeys = ed.generateKeyPair();
    KeyPair attacker = ed.generateKeyPair();
    X509Certificate ca =
        new Cert("CN=Ed Studio CA", caKeys.getPublic())
            .ca(-1)
            .build("CN=Ed Studio CA", caKeys.getPrivate());
    check(List.of(leaf().build("CN=Ed Studio CA", attacker.getPrivate())), false, true, ca);
    check(List.of(leaf().build("CN=Ed Studio CA", caKeys.getPrivate())), true, true, ca);
  }

  /**
   * A host re-encodes the ECDSA signature of a genuine recipient certificate in a BER form the
   * JDK's verifier still accepts (Wycheproof {@code MissingZero}: an INTEGER with its top bit set
   * and no leading zero byte): same signer, new certificate bytes, new fingerprint. The walk
   * requires DER signatures, so the re-encoded certificate is not eligible (the JDK's PKIX, the
   * reference elsewhere in this class, accepts it: this is where the walk is stricter).
   */
  @Test
  void reencodedEcdsaSignatureGivesNoSecondValidCertificate() throws Exception {
    for (int attempt = 0; attempt < 64; attempt++) {
      X509Certificate genuine = leaf().build("CN=EC Root", ecRootKeys.getPrivate());
      byte[] sig = genuine.getSignature();
      var seq = org.bouncycastle.asn1.ASN1Sequence.getInstance(sig);
      byte[] r = ((org.bouncycastle.asn1.ASN1Integer) seq.getObjectAt(0)).getValue().toByteArray();
      byte[] s = ((org.bouncycastle.asn1.ASN1Integer) seq.getObjectAt(1)).getValue().toByteArray();
      if (r[0] != 0 || r.length < 2 || (r[1] & 0x80) == 0) {
        continue; // r's top bit is clear: no MissingZero form; sign again
      }
      byte[] rNoZero = java.util.Arrays.copyOfRange(r, 1, r.length);
      var out = new java.io.ByteArrayOutputStream();
      out.write(0x02);
      out.write(rNoZero.length);
      out.writeBytes(rNoZero);
      out.write(0x02);
      out.write(s.length);
      out.writeBytes(s);
      byte[] body = out.toByteArray();
      byte[] ber = new byte[body.length + 2];
      ber[0] = 0x30;
      ber[1] = (byte) body.length;
      System.arraycopy(body, 0, ber, 2, body.length);
      var c = org.bouncycastle.asn1.x509.Certificate.getInstance(genuine.getEncoded());
      var v = new org.bouncycastle.asn1.ASN1EncodableVector();
      v.add(c.getTBSCertificate());
      v.add(c.getSignatureAlgorithm());
      v.add(new org.bouncycastle.asn1.DERBitString(ber));
      byte[] reencoded = new org.bouncycastle.asn1.DERSequence(v).getEncoded();
      X509Certificate twin =
          (X509Certificate)
              CertificateFactory.getInstance("X.509")
                  .generateCertificate(new java.io.ByteArrayInputStream(reencoded));
      twin.verify(ecRootKeys.getPublic()); // the JDK itself accepts the twin's signature
      assertThat(reencoded).isNotEqualTo(genuine.getEncoded());
      for (CryptoBackend backend : backends()) {
        AnchorChainValidator val = new AnchorChainValidator(parsed(List.of(ecRoot)), backend);
        assertThat(val.isValid(parsed(List.of(genuine)), NOW)).isTrue();
        assertThat(val.isValid(parsed(List.of(twin)), NOW))
            .as("BER twin on " + backend.name())
            .isFalse();
      }
      return;
    }
    throw new AssertionError("no signature with r's top bit set in 64 tries");
  }

  @Test
  void emptyChainIsInvalid() {
    for (CryptoBackend backend : backends()) {
      assertThat(new AnchorChainValidator(parsed(List.of(root)), backend).isValid(List.of(), NOW))
          .isFalse();
    }
  }

  /**
   * A leaf whose signature BIT STRING claims unused bits has no octet form of its signature: the
   * parser refuses the certificate, so the walk's own guard for it (the catch in {@code verify})
   * is unreachable (testing.md lists that mutant as such).
   */
  @Test
  void signatureWithUnusedBitsIsRefused() throws Exception {
    X509Certificate genuine = leaf().build("CN=EC Root", ecRootKeys.getPrivate());
    var c = org.bouncycastle.asn1.x509.Certificate.getInstance(genuine.getEncoded());
    var v = new org.bouncycastle.asn1.ASN1EncodableVector();
    v.add(c.getTBSCertificate());
    v.add(c.getSignatureAlgorithm());
    v.add(
        org.bouncycastle.asn1.ASN1Primitive.fromByteArray(
            withPadBits(
                new org.bouncycastle.asn1.DERBitString(c.getSignature().getBytes()).getEncoded())));
    byte[] der = new org.bouncycastle.asn1.DERSequence(v).getEncoded();
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> ParsedCertificate.parse(der))
        .isInstanceOf(MalformedInputException.class);
    var same = new org.bouncycastle.asn1.ASN1EncodableVector();
    same.add(c.getTBSCertificate());
    same.add(c.getSignatureAlgorithm());
    same.add(
        org.bouncycastle.asn1.ASN1Primitive.fromByteArray(
            new org.bouncycastle.asn1.DERBitString(c.getSignature().getBytes()).getEncoded()));
    assertThat(ParsedCertificate.parse(new org.bouncycastle.asn1.DERSequence(same).getEncoded()))
        .as("the same construction without unused bits parses")
        .isNotNull();
  }

  /** A DER BIT STRING whose unused-bits octet says 1 (the bits themselves unchanged). */
  static byte[] withPadBits(byte[] bitString) {
    byte[] out = bitString.clone();
    int lenBytes = (out[1] & 0x80) == 0 ? 1 : 1 + (out[1] & 0x7f);
    out[1 + lenBytes] = 1;
    out[out.length - 1] &= (byte) 0xfe;
    return out;
  }

  /** A leaf with the given SubjectPublicKeyInfo, signed by the RSA root. */
  static ParsedCertificate leafWithKey(org.bouncycastle.asn1.x509.SubjectPublicKeyInfo spki)
      throws Exception {
    var b =
        new org.bouncycastle.cert.X509v3CertificateBuilder(
            new X500Name("CN=Root,O=Maker"),
            BigInteger.valueOf(SERIAL.getAndIncrement()),
            Date.from(NOW.minus(1, ChronoUnit.DAYS)),
            Date.from(NOW.plus(30, ChronoUnit.DAYS)),
            new X500Name("CN=Projector,O=Cinema"),
            spki);
    b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyEncipherment));
    return ParsedCertificate.parse(
        b.build(new JcaContentSignerBuilder("SHA256withRSA").build(rootKeys.getPrivate()))
            .getEncoded());
  }

  static org.bouncycastle.asn1.x509.SubjectPublicKeyInfo spki(PublicKey k) {
    return org.bouncycastle.asn1.x509.SubjectPublicKeyInfo.getInstance(k.getEncoded());
  }

  /**
   * Which leaf keys the direct walk takes (else the chain goes to PKIX): RSA of at least 2048 bits
   * with NULL parameters, EC on the listed curves, Ed25519 and X25519 of 32 bytes; not DSA, not
   * RSA-1024, not an RSA key with parameters or with key bits that are no RSAPublicKey.
   */
  @Test
  void theWalkTakesOnlyTheKeysItKnows() throws Exception {
    AnchorChainValidator v = new AnchorChainValidator(parsed(List.of(root)), CryptoBackends.java());
    assertThat(v.walks(List.of(leafWithKey(spki(leafKeys.getPublic()))))).isTrue();
    assertThat(
            v.walks(
                List.of(
                    leafWithKey(
                        spki(
                            KeyPairGenerator.getInstance("X25519")
                                .generateKeyPair()
                                .getPublic())))))
        .isTrue();
    assertThat(
            v.walks(
                List.of(
                    leafWithKey(
                        spki(
                            KeyPairGenerator.getInstance("Ed25519")
                                .generateKeyPair()
                                .getPublic())))))
        .isTrue();
    KeyPairGenerator dsa = KeyPairGenerator.getInstance("DSA");
    dsa.initialize(2048);
    assertThat(v.walks(List.of(leafWithKey(spki(dsa.generateKeyPair().getPublic()))))).isFalse();
    KeyPairGenerator rsa1024 = KeyPairGenerator.getInstance("RSA");
    rsa1024.initialize(1024);
    assertThat(v.walks(List.of(leafWithKey(spki(rsa1024.generateKeyPair().getPublic())))))
        .isFalse();
    var rsaAlgWithParams =
        new org.bouncycastle.asn1.x509.AlgorithmIdentifier(
            org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers.rsaEncryption,
            org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers.sha256WithRSAEncryption);
    assertThat(
            v.walks(
                List.of(
                    leafWithKey(
                        new org.bouncycastle.asn1.x509.SubjectPublicKeyInfo(
                            rsaAlgWithParams,
                            spki(leafKeys.getPublic()).getPublicKeyData().getBytes())))))
        .isFalse();
    var rsaAlg =
        new org.bouncycastle.asn1.x509.AlgorithmIdentifier(
            org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers.rsaEncryption,
            org.bouncycastle.asn1.DERNull.INSTANCE);
    assertThat(
            v.walks(
                List.of(
                    leafWithKey(
                        new org.bouncycastle.asn1.x509.SubjectPublicKeyInfo(
                            rsaAlg, new byte[] {0x04, 0x01, 0x00})))))
        .isFalse();
  }

  @Test
  void issuerWithoutTheCaFlagIsInvalid() throws Exception {
    Cert i = new Cert("CN=Intermediate,O=Maker", intKeys.getPublic());
    i.bc = new BasicConstraints(false);
    i.ku = new KeyUsage(KeyUsage.keyCertSign);
    X509Certificate leaf = leaf().build("CN=Intermediate,O=Maker", intKeys.getPrivate());
    check(List.of(leaf, i.build("CN=Root,O=Maker", rootKeys.getPrivate())), false, true);
    Cert none = new Cert("CN=Intermediate,O=Maker", intKeys.getPublic());
    check(List.of(leaf, none.build("CN=Root,O=Maker", rootKeys.getPrivate())), false, true);
  }

  @Test
  void issuerWithoutKeyCertSignIsInvalid() throws Exception {
    Cert i = new Cert("CN=Intermediate,O=Maker", intKeys.getPublic()).ca(-1);
    i.ku = new KeyUsage(KeyUsage.digitalSignature | KeyUsage.cRLSign);
    X509Certificate leaf = leaf().build("CN=Intermediate,O=Maker", intKeys.getPrivate());
    check(List.of(leaf, i.build("CN=Root,O=Maker", rootKeys.getPrivate())), false, true);
    // no key usage at all on a CA is allowed (PKIX agrees)
    Cert noKu = new Cert("CN=Intermediate,O=Maker", intKeys.getPublic()).ca(-1);
    noKu.ku = null;
    check(List.of(leaf, noKu.build("CN=Root,O=Maker", rootKeys.getPrivate())), true, true);
  }

  @Test
  void unknownCriticalExtensionIsInvalid() throws Exception {
    Cert c = leaf();
    c.unknownCritical = true;
    check(List.of(c.build("CN=Root,O=Maker", rootKeys.getPrivate())), false, true);
    Cert i = new Cert("CN=Intermediate,O=Maker", intKeys.getPublic()).ca(-1);
    i.unknownCritical = true;
    X509Certificate leaf = leaf().build("CN=Intermediate,O=Maker", intKeys.getPrivate());
    check(List.of(leaf, i.build("CN=Root,O=Maker", rootKeys.getPrivate())), false, true);
  }

  @Test
  void understoodCriticalExtensionsAreAccepted() throws Exception {
    Cert c = leaf();
    c.criticalEku = true;
    check(List.of(c.build("CN=Root,O=Maker", rootKeys.getPrivate())), true, true);
  }

  @Test
  void chainLongerThanAPathLengthConstraintAllowsIsInvalid() throws Exception {
    KeyPairGenerator rsa = KeyPairGenerator.getInstance("RSA");
    rsa.initialize(2048);
    KeyPair int2Keys = rsa.generateKeyPair();
    X509Certificate int2 =
        new Cert("CN=Intermediate 2,O=Maker", int2Keys.getPublic())
            .ca(-1)
            .build("CN=Intermediate,O=Maker", intKeys.getPrivate());
    X509Certificate leaf = leaf().build("CN=Intermediate 2,O=Maker", int2Keys.getPrivate());
    X509Certificate int1Len0 =
        new Cert("CN=Intermediate,O=Maker", intKeys.getPublic())
            .ca(0)
            .build("CN=Root,O=Maker", rootKeys.getPrivate());
    X509Certificate int1Len1 =
        new Cert("CN=Intermediate,O=Maker", intKeys.getPublic())
            .ca(1)
            .build("CN=Root,O=Maker", rootKeys.getPrivate());
    check(List.of(leaf, int2, int1Len0), false, true);
    check(List.of(leaf, int2, int1Len1), true, true);
    check(List.of(leaf, int2, int1Len1, root), true, true);
  }

  @Test
  void chainToAnotherRootIsInvalid() throws Exception {
    X509Certificate otherRoot =
        new Cert("CN=Other Root", otherKeys.getPublic())
            .ca(-1)
            .build("CN=Other Root", otherKeys.getPrivate());
    X509Certificate leaf = leaf().build("CN=Other Root", otherKeys.getPrivate());
    check(List.of(leaf, otherRoot), false, true);
    check(List.of(leaf), false, true);
  }

  @Test
  void nameConstraintsGoToPkix() throws Exception {
    Cert i = new Cert("CN=Intermediate,O=Maker", intKeys.getPublic()).ca(-1);
    i.nameConstraints = true;
    X509Certificate constrained = i.build("CN=Root,O=Maker", rootKeys.getPrivate());
    // the leaf's subject is outside O=Maker: PKIX refuses it, and so does the validator
    X509Certificate outside = leaf().build("CN=Intermediate,O=Maker", intKeys.getPrivate());
    check(List.of(outside, constrained), false, false);
    X509Certificate inside =
        new Cert("O=Maker,CN=Projector", leafKeys.getPublic())
            .leafUsage()
            .build("CN=Intermediate,O=Maker", intKeys.getPrivate());
    check(List.of(inside, constrained), true, false);
  }

  @Test
  void aRememberedIntermediateDoesNotVouchForABadLeaf() throws Exception {
    X509Certificate good = leaf().build("CN=Intermediate,O=Maker", intKeys.getPrivate());
    X509Certificate forged = leaf().build("CN=Intermediate,O=Maker", otherKeys.getPrivate());
    X509Certificate i = intermediate();
    for (CryptoBackend backend : backends()) {
      AnchorChainValidator v = new AnchorChainValidator(parsed(List.of(root)), backend);
      assertThat(v.isValid(parsed(List.of(good, i)), NOW)).isTrue();
      assertThat(v.isValid(parsed(List.of(forged, i)), NOW)).isFalse();
      assertThat(v.isValid(parsed(List.of(good, i)), NOW.plus(60, ChronoUnit.DAYS)))
          .isFalse(); // expired by then
    }
  }
}
