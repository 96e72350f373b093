package dev.keycast.enclave.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keycast.protocol.Base64Url;
import dev.keycast.protocol.api.EnclaveApi;
import dev.keycast.protocol.envelope.RsaRecipientKey;
import java.math.BigInteger;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.interfaces.RSAPublicKey;
import java.time.temporal.ChronoUnit;
import java.util.Date;
import java.util.List;
import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.AlgorithmIdentifier;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Candidates with chains, parsed once into ParsedCertificate: what is accepted and what is refused. */
class RecipientValidatorTest {
  static KeyPair ca;
  static KeyPair leaf;
  static KeyPair other;

  @BeforeAll
  static void keys() throws Exception {
    KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
    g.initialize(2048);
    ca = g.generateKeyPair();
    leaf = g.generateKeyPair();
    other = g.generateKeyPair();
  }

  @Test
  void aChainedRsaCandidateCarriesTheLeafsIssuerAndSerial() throws Exception {
    var cert =
        TestKit.cert("CN=Projector", leaf.getPublic(), "CN=Maker CA", ca.getPrivate(), false);
    var caCert = TestKit.cert("CN=Maker CA", ca.getPublic(), "CN=Maker CA", ca.getPrivate(), true);
    var p = new RecipientValidator().parse(TestKit.candidate(leaf.getPublic(), cert, caCert));
    assertThat(p.kind()).isEqualTo("rsa-2048");
    assertThat(p.key().fingerprint()).isEqualTo(TestKit.fp(leaf.getPublic()));
    assertThat(p.chain()).hasSize(2);
    assertThat(p.chain().getFirst().encoded()).isEqualTo(cert.getEncoded());
    assertThat(p.chain().getFirst().serialNumber()).isEqualTo(cert.getSerialNumber());
    assertThat(((RsaRecipientKey) p.key()).publicKey().getModulus())
        .isEqualTo(((RSAPublicKey) leaf.getPublic()).getModulus());
  }

  /**
   * A send parses each CA above its leaves once: the same CA object serves the next candidate,
   * while each leaf is parsed (and checked against its key) every time; a broken CA is refused as
   * without the cache, and is not kept.
   */
  @Test
  void aSendParsesEachCaOnceAndEveryLeaf() throws Exception {
    var caCert = TestKit.cert("CN=Maker CA", ca.getPublic(), "CN=Maker CA", ca.getPrivate(), true);
    var one =
        TestKit.cert("CN=Projector 1", leaf.getPublic(), "CN=Maker CA", ca.getPrivate(), false);
    var two =
        TestKit.cert("CN=Projector 2", other.getPublic(), "CN=Maker CA", ca.getPrivate(), false);
    java.util.Map<java.nio.ByteBuffer, dev.keycast.protocol.policy.ParsedCertificate> send =
        new java.util.concurrent.ConcurrentHashMap<>();
    RecipientValidator v = new RecipientValidator();
    var p1 = v.parse(TestKit.candidate(leaf.getPublic(), one, caCert), send);
    var p2 = v.parse(TestKit.candidate(other.getPublic(), two, caCert), send);
    assertThat(p2.chain().get(1)).isSameAs(p1.chain().get(1));
    assertThat(p1.chain().getFirst().encoded()).isEqualTo(one.getEncoded());
    assertThat(p2.chain().getFirst().encoded()).isEqualTo(two.getEncoded());
    assertThat(send).hasSize(1);
    // a leaf is never taken from the cache: a leaf whose key is not the candidate's is refused
    assertThatThrownBy(() -> v.parse(TestKit.candidate(leaf.getPublic(), two, caCert), send))
        .hasMessage("chain[0] (the leaf) does not carry the candidate's key");
    byte[] cut = java.util.Arrays.copyOf(caCert.getEncoded(), caCert.getEncoded().length - 3);
    assertThatThrownBy(
            () ->
                v.parse(
                    new EnclaveApi.Candidate(
                        Base64Url.encode(leaf.getPublic().getEncoded()),
                        List.of(Base64Url.encode(one.getEncoded()), Base64Url.encode(cut))),
                    send))
        .hasMessage("chain[1] is not a DER X.509 certificate");
    assertThat(send).hasSize(1);
  }

  @Test
  void aLeafWithAnotherKeyOrABrokenCertificateIsRefused() throws Exception {
    var cert =
        TestKit.cert("CN=Projector", other.getPublic(), "CN=Maker CA", ca.getPrivate(), false);
    RecipientValidator v = new RecipientValidator();
    assertThatThrownBy(() -> v.parse(TestKit.candidate(leaf.getPublic(), cert)))
        .hasMessage("chain[0] (the leaf) does not carry the candidate's key");
    byte[] der = cert.getEncoded();
    byte[] cut = java.util.Arrays.copyOf(der, der.length - 3);
    assertThatThrownBy(
            () ->
                v.parse(
                    new EnclaveApi.Candidate(
                        Base64Url.encode(leaf.getPublic().getEncoded()),
                        List.of(Base64Url.encode(cut)))))
        .hasMessage("chain[0] is not a DER X.509 certificate");
    assertThatThrownBy(
            () ->
                v.parse(
                    new EnclaveApi.Candidate(
                        Base64Url.encode(leaf.getPublic().getEncoded()), List.of("!!"))))
        .hasMessageContaining("chain[0]");
  }

  /**
   * A leaf whose RSA key is encoded without the algorithm identifier's NULL parameters is the same
   * key as the candidate's (the JDK's encoding, with NULL): accepted, as the JDK parse accepted it.
   */
  @Test
  void aLeafKeyEncodedWithoutNullParametersIsTheSameKey() throws Exception {
    RSAPublicKey k = (RSAPublicKey) leaf.getPublic();
    SubjectPublicKeyInfo noNull =
        new SubjectPublicKeyInfo(
            new AlgorithmIdentifier(PKCSObjectIdentifiers.rsaEncryption),
            new org.bouncycastle.asn1.pkcs.RSAPublicKey(k.getModulus(), k.getPublicExponent()));
    var b =
        new X509v3CertificateBuilder(
            new X500Name("CN=Maker CA"),
            BigInteger.TEN,
            Date.from(TestKit.NOW.minus(1, ChronoUnit.DAYS)),
            Date.from(TestKit.NOW.plus(1, ChronoUnit.DAYS)),
            new X500Name("CN=Projector"),
            noNull);
    byte[] der =
        b.build(new JcaContentSignerBuilder("SHA256withRSA").build(ca.getPrivate())).getEncoded();
    assertThat(java.util.Arrays.equals(noNull.getEncoded(), k.getEncoded())).isFalse();
    var p =
        new RecipientValidator()
            .parse(
                new EnclaveApi.Candidate(
                    Base64Url.encode(k.getEncoded()), List.of(Base64Url.encode(der))));
    assertThat(p.key().fingerprint()).isEqualTo(TestKit.fp(k));
    assertThat(p.chain().getFirst().serialNumber()).isEqualTo(BigInteger.TEN);
  }
}
