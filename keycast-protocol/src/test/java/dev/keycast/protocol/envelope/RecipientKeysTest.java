package dev.keycast.protocol.envelope;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keycast.protocol.MalformedInputException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

class RecipientKeysTest {

  static String sha256Hex(byte[] b) throws Exception {
    return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
  }

  @ParameterizedTest
  @ValueSource(ints = {2048, 3072, 4096})
  void parsesRsaPemAndDer(int bits) throws Exception {
    String pem = TestKeys.text("keys/rsa-" + bits + ".pub.pem");
    byte[] der = TestKeys.pemBody(pem);
    RsaRecipientKey fromPem =
        (RsaRecipientKey) RecipientKeys.parse(pem.getBytes(StandardCharsets.US_ASCII));
    RsaRecipientKey fromDer = (RsaRecipientKey) RecipientKeys.parse(der);
    assertThat(fromPem.bits()).isEqualTo(bits);
    assertThat(fromPem.fingerprint()).isEqualTo(sha256Hex(der)).isEqualTo(fromDer.fingerprint());
    assertThat(fromPem.certificateChain()).isEmpty();
    assertThat(fromPem.subjectKeyIdentifier()).isEqualTo(HexFormat.of().parseHex(sha256Hex(der)));
  }

  @Test
  void parsesCertificatePemAndDer() throws Exception {
    String pem = TestKeys.text("keys/rsa-2048.cert.pem");
    RsaRecipientKey fromPem = TestKeys.rsaRecipientWithCert();
    RsaRecipientKey fromDer = (RsaRecipientKey) RecipientKeys.parse(TestKeys.pemBody(pem));
    assertThat(fromPem.certificateChain()).hasSize(1);
    assertThat(fromPem.fingerprint()).isEqualTo(TestKeys.rsaRecipient(2048).fingerprint());
    assertThat(fromDer.certificateChain()).isEqualTo(fromPem.certificateChain());
    // a chain: two PEM certificates (leaf first)
    RsaRecipientKey chain =
        (RsaRecipientKey) RecipientKeys.parse((pem + pem).getBytes(StandardCharsets.US_ASCII));
    assertThat(chain.certificateChain()).hasSize(2);
  }

  @Test
  void parsesX25519() throws Exception {
    String pem = TestKeys.text("keys/x25519.pub.pem");
    byte[] der = TestKeys.pemBody(pem);
    X25519RecipientKey k = (X25519RecipientKey) RecipientKeys.parse(der);
    assertThat(k.fingerprint()).isEqualTo(sha256Hex(der));
    assertThat(k.spkiDer()).isEqualTo(der);
    assertThat(RecipientKeys.parse(pem.getBytes(StandardCharsets.US_ASCII))).isEqualTo(k);
    assertThat(k.publicKey()).isEqualTo(TestKeys.x25519Private().publicKey());
  }

  static Stream<Arguments> rejected() {
    String cert = TestKeys.text("keys/rsa-2048.cert.pem");
    return Stream.of(
        Arguments.of(
            "RSA 1024", TestKeys.resource("keys/rsa-1024-unsupported.pub.pem"), "unsupported_key"),
        Arguments.of(
            "RSA e=3",
            TestKeys.resource("keys/rsa-2048-e3-unsupported.pub.pem"),
            "unsupported_key"),
        Arguments.of(
            "EC P-256", TestKeys.resource("keys/ec-p256-unsupported.pub.pem"), "unsupported_key"),
        Arguments.of(
            "private key PEM", TestKeys.resource("keys/rsa-2048.key.pem"), "unsupported_key"),
        Arguments.of("empty", new byte[0], "malformed"),
        Arguments.of("garbage DER", new byte[] {0x30, 0x03, 0x02, 0x01, 0x05}, "malformed"),
        Arguments.of(
            "DER with trailing byte",
            append(TestKeys.pemBody(TestKeys.text("keys/rsa-2048.pub.pem")), (byte) 0),
            "malformed"),
        Arguments.of(
            "unterminated PEM",
            "-----BEGIN PUBLIC KEY-----\nAAAA\n".getBytes(StandardCharsets.US_ASCII),
            "malformed"),
        Arguments.of(
            "bad base64",
            "-----BEGIN PUBLIC KEY-----\n!!!!\n-----END PUBLIC KEY-----\n"
                .getBytes(StandardCharsets.US_ASCII),
            "malformed"),
        Arguments.of(
            "nine certificates", cert.repeat(9).getBytes(StandardCharsets.US_ASCII), "oversize"),
        Arguments.of("oversize input", new byte[RecipientKeys.MAX_INPUT_LENGTH + 1], "oversize"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("rejected")
  void rejectsWithTypedError(String name, byte[] input, String code) {
    assertThatThrownBy(() -> RecipientKeys.parse(input))
        .isInstanceOfSatisfying(
            MalformedInputException.class, e -> assertThat(e.code()).isEqualTo(code));
  }

  /**
   * The canonical-DER fast path of {@code fromSpki} (no JDK key factory) gives what the JDK's parse
   * gives: modulus, exponent, encoding and fingerprint; the key encrypts like the JDK's key.
   */
  @ParameterizedTest
  @ValueSource(ints = {2048, 3072, 4096})
  void canonicalRsaMatchesTheJdkParse(int bits) throws Exception {
    byte[] der = TestKeys.pemBody(TestKeys.text("keys/rsa-" + bits + ".pub.pem"));
    RsaRecipientKey fast = (RsaRecipientKey) RecipientKeys.fromSpki(der);
    var jdk =
        (java.security.interfaces.RSAPublicKey)
            java.security.KeyFactory.getInstance("RSA")
                .generatePublic(new java.security.spec.X509EncodedKeySpec(der));
    assertThat(fast.publicKey()).isNotInstanceOf(jdk.getClass()); // the fast path was taken
    assertThat(fast.publicKey().getModulus()).isEqualTo(jdk.getModulus());
    assertThat(fast.publicKey().getPublicExponent()).isEqualTo(jdk.getPublicExponent());
    assertThat(fast.publicKey().getEncoded()).isEqualTo(jdk.getEncoded()).isEqualTo(der);
    assertThat(fast.spkiDer()).isEqualTo(der);
    assertThat(fast.fingerprint()).isEqualTo(sha256Hex(der));
    // the JDK's RSA cipher takes it (it translates foreign RSAPublicKeys)
    javax.crypto.Cipher c = javax.crypto.Cipher.getInstance("RSA/ECB/PKCS1Padding");
    c.init(javax.crypto.Cipher.ENCRYPT_MODE, fast.publicKey());
    assertThat(c.doFinal(new byte[16])).hasSize(bits / 8);
    // the returned encoding is a copy
    fast.publicKey().getEncoded()[0] ^= 1;
    assertThat(fast.publicKey().getEncoded()).isEqualTo(der);
  }

  /** Encodings other than canonical DER still go through the JDK, with the JDK's fingerprint. */
  @Test
  void nonCanonicalRsaEncodingsKeepTheJdkResult() throws Exception {
    byte[] der = TestKeys.pemBody(TestKeys.text("keys/rsa-2048.pub.pem"));
    var info = org.bouncycastle.asn1.x509.SubjectPublicKeyInfo.getInstance(der);
    // rsaEncryption without its NULL parameters: the JDK re-encodes it with them
    byte[] noNull =
        new org.bouncycastle.asn1.x509.SubjectPublicKeyInfo(
                new org.bouncycastle.asn1.x509.AlgorithmIdentifier(
                    org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers.rsaEncryption),
                info.getPublicKeyData().getOctets())
            .getEncoded("DER");
    assertThat(noNull).isNotEqualTo(der);
    RsaRecipientKey viaJdk = (RsaRecipientKey) RecipientKeys.fromSpki(noNull);
    assertThat(viaJdk.fingerprint()).isEqualTo(sha256Hex(der));
    assertThat(viaJdk.spkiDer()).isEqualTo(der);
    // an unsupported size or exponent is refused on the fast path as on the JDK path
    assertThatThrownBy(
            () ->
                RecipientKeys.fromSpki(
                    TestKeys.pemBody(TestKeys.text("keys/rsa-2048-e3-unsupported.pub.pem"))))
        .isInstanceOfSatisfying(
            MalformedInputException.class, e -> assertThat(e.code()).isEqualTo("unsupported_key"));
  }

  private static byte[] append(byte[] a, byte b) {
    byte[] out = java.util.Arrays.copyOf(a, a.length + 1);
    out[a.length] = b;
    return out;
  }

  @Test
  void anX25519KeyWithItsTopBitSetIsRefusedNotRegisteredUnderASecondFingerprint() throws Exception {
    byte[] der = TestKeys.pemBody(TestKeys.text("keys/x25519.pub.pem"));
    byte[] alias = der.clone();
    alias[43] |= (byte) 0x80; // RFC 7748 masks bit 255: the same key, another SPKI and fingerprint
    assertThatThrownBy(() -> RecipientKeys.parse(alias))
        .isInstanceOfSatisfying(
            MalformedInputException.class, e -> assertThat(e.code()).isEqualTo("malformed"))
        .hasMessageContaining("not canonically encoded");
    // u >= p is the same key as u - p: the alias of the base point 9 is p + 9
    byte[] pPlus9 = new byte[32];
    java.util.Arrays.fill(pPlus9, (byte) 0xff);
    pPlus9[0] = (byte) 0xf6;
    pPlus9[31] = 0x7f;
    assertThatThrownBy(() -> dev.keycast.protocol.hpke.X25519PublicKey.fromRaw(pPlus9))
        .isInstanceOf(MalformedInputException.class)
        .hasMessageContaining("not canonically encoded");
    byte[] pMinus1 = pPlus9.clone();
    pMinus1[0] = (byte) 0xec; // p - 1: the largest canonical value
    assertThat(dev.keycast.protocol.hpke.X25519PublicKey.fromRaw(pMinus1).toRaw())
        .isEqualTo(pMinus1);
    assertThat(RecipientKeys.parse(der).fingerprint()).isEqualTo(sha256Hex(der));
  }

  @Test
  void anX25519CertificateChainIsKeptAtRegistration() throws Exception {
    var g = java.security.KeyPairGenerator.getInstance("EC");
    g.initialize(256);
    var caKeys = g.generateKeyPair();
    var x = java.security.KeyPairGenerator.getInstance("X25519").generateKeyPair();
    java.time.Instant now = java.time.Instant.now();
    var b =
        new org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder(
            new org.bouncycastle.asn1.x500.X500Name("CN=Studio CA"),
            java.math.BigInteger.TEN,
            java.util.Date.from(now.minusSeconds(60)),
            java.util.Date.from(now.plusSeconds(3600)),
            new org.bouncycastle.asn1.x500.X500Name("CN=Projector,OU=Projectors,O=Studio"),
            x.getPublic());
    var leaf =
        new org.bouncycastle.cert.jcajce.JcaX509CertificateConverter()
            .getCertificate(
                b.build(
                    new org.bouncycastle.operator.jcajce.JcaContentSignerBuilder("SHA256withECDSA")
                        .build(caKeys.getPrivate())));
    String pem =
        "-----BEGIN CERTIFICATE-----\n"
            + java.util.Base64.getMimeEncoder().encodeToString(leaf.getEncoded())
            + "\n-----END CERTIFICATE-----\n";
    RecipientKey k = RecipientKeys.parse(pem.getBytes(StandardCharsets.US_ASCII));
    assertThat(k).isInstanceOf(X25519RecipientKey.class);
    assertThat(k.certificateChain()).containsExactly(leaf);
    assertThat(k.fingerprint()).isEqualTo(sha256Hex(x.getPublic().getEncoded()));
  }
}
