package dev.keycast.host.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keycast.protocol.Base64Url;
import dev.keycast.protocol.api.EnclaveApi.Candidate;
import dev.keycast.protocol.envelope.RsaRecipientKey;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The stored-key scanner that turns a registered recipient into a send candidate. */
class StoredKeyTest {
  private static KeyPair rsa;
  private static X509Certificate leaf;

  @BeforeAll
  static void keys() throws Exception {
    KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
    g.initialize(2048);
    rsa = g.generateKeyPair();
    Instant now = Instant.now();
    leaf =
        new JcaX509CertificateConverter()
            .getCertificate(
                new JcaX509v3CertificateBuilder(
                        new X500Name("CN=test"),
                        BigInteger.ONE,
                        Date.from(now.minusSeconds(60)),
                        Date.from(now.plusSeconds(3600)),
                        new X500Name("CN=test"),
                        rsa.getPublic())
                    .build(new JcaContentSignerBuilder("SHA256withRSA").build(rsa.getPrivate())));
  }

  @Test
  void keyAndChainComeBackAsBase64UrlOfTheirDer() throws Exception {
    RsaRecipientKey key =
        RsaRecipientKey.of(
            (java.security.interfaces.RSAPublicKey) rsa.getPublic(), List.of(leaf, leaf));
    Candidate c = StoredKey.candidate(StoredKey.encode(key));
    assertThat(c.key()).isEqualTo(Base64Url.encode(rsa.getPublic().getEncoded()));
    assertThat(c.chain())
        .containsExactly(Base64Url.encode(leaf.getEncoded()), Base64Url.encode(leaf.getEncoded()));
    assertThat(StoredKey.hasChain(StoredKey.encode(key))).isTrue();
  }

  @Test
  void anX25519CertificateRegisteredKeepsItsChainAsACandidate() throws Exception {
    // an X25519 recipient registers its certificate: anchor-selected sends need the chain
    KeyPair x = KeyPairGenerator.getInstance("X25519").generateKeyPair();
    Instant now = Instant.now();
    X509Certificate xLeaf =
        new JcaX509CertificateConverter()
            .getCertificate(
                new JcaX509v3CertificateBuilder(
                        new X500Name("CN=test"),
                        BigInteger.TWO,
                        Date.from(now.minusSeconds(60)),
                        Date.from(now.plusSeconds(3600)),
                        new X500Name("CN=projector,OU=Projectors"),
                        x.getPublic())
                    .build(new JcaContentSignerBuilder("SHA256withRSA").build(rsa.getPrivate())));
    String pem =
        "-----BEGIN CERTIFICATE-----\n"
            + java.util.Base64.getMimeEncoder().encodeToString(xLeaf.getEncoded())
            + "\n-----END CERTIFICATE-----\n";
    var key =
        dev.keycast.protocol.envelope.RecipientKeys.parse(pem.getBytes(StandardCharsets.US_ASCII));
    byte[] stored = StoredKey.encode(key);
    assertThat(StoredKey.hasChain(stored)).isTrue();
    Candidate c = StoredKey.candidate(stored);
    assertThat(c.key()).isEqualTo(Base64Url.encode(x.getPublic().getEncoded()));
    assertThat(c.chain()).containsExactly(Base64Url.encode(xLeaf.getEncoded()));
  }

  @Test
  void everyPaddingLengthIsRespelledExactly() {
    for (int n = 1; n <= 6; n++) {
      byte[] der = new byte[n];
      for (int i = 0; i < n; i++) {
        der[i] = (byte) (0xfb + i); // bytes whose base64 uses '+' and '/'
      }
      String pem =
          "-----BEGIN PUBLIC KEY-----\n"
              + java.util.Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(der)
              + "\n-----END PUBLIC KEY-----\n";
      Candidate c = StoredKey.candidate(pem.getBytes(StandardCharsets.US_ASCII));
      assertThat(c.key()).isEqualTo(Base64Url.encode(der));
      assertThat(c.chain()).isEmpty();
    }
  }

  @Test
  void blocksWithForeignCharactersOrTypesAreIgnored() {
    String stored =
        "-----BEGIN PUBLIC KEY-----\nAB*C\n-----END PUBLIC KEY-----\n"
            + "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"
            + "-----BEGIN PUBLIC KEY-----\nAQID\n-----END PUBLIC KEY-----\n";
    Candidate c = StoredKey.candidate(stored.getBytes(StandardCharsets.US_ASCII));
    assertThat(c.key()).isEqualTo("AQID");
    assertThat(StoredKey.hasChain(stored.getBytes(StandardCharsets.US_ASCII))).isFalse();
  }

  @Test
  void noPublicKeyBlockIsRefused() {
    assertThatThrownBy(
            () ->
                StoredKey.candidate(
                    "-----BEGIN CERTIFICATE-----\nAQID\n-----END CERTIFICATE-----\n"
                        .getBytes(StandardCharsets.US_ASCII)))
        .isInstanceOf(IllegalStateException.class);
    assertThatThrownBy(
            () ->
                StoredKey.candidate(
                    "-----BEGIN PUBLIC KEY-----\nAQIDB\n-----END PUBLIC KEY-----\n"
                        .getBytes(StandardCharsets.US_ASCII)))
        .isInstanceOf(IllegalStateException.class);
  }

  /** The JSON the send request carries for a stored key: exactly what encoding the candidate gives. */
  private static String written(byte[] stored, StoredKey.Scan scan) throws Exception {
    java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
    StoredKey.writeCandidate(stored, scan, out);
    return out.toString(StandardCharsets.US_ASCII);
  }

  @Test
  void writtenCandidateIsTheJsonOfTheCandidate() throws Exception {
    RsaRecipientKey chained =
        RsaRecipientKey.of(
            (java.security.interfaces.RSAPublicKey) rsa.getPublic(), List.of(leaf, leaf));
    RsaRecipientKey bare =
        RsaRecipientKey.of((java.security.interfaces.RSAPublicKey) rsa.getPublic(), List.of());
    StoredKey.Scan scan = new StoredKey.Scan();
    List<byte[]> stored =
        List.of(
            StoredKey.encode(chained),
            StoredKey.encode(bare),
            // a foreign block, a block with a bad character, a second key (the last one counts)
            ("-----BEGIN PUBLIC KEY-----\nAB*C\n-----END PUBLIC KEY-----\n"
                    + "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"
                    + "-----BEGIN CERTIFICATE-----\n+/+/\n-----END CERTIFICATE-----\n"
                    + "-----BEGIN PUBLIC KEY-----\nAQID\n-----END PUBLIC KEY-----\n"
                    + "-----BEGIN PUBLIC KEY-----\nAQIDBA==\n-----END PUBLIC KEY-----\n")
                .getBytes(StandardCharsets.US_ASCII),
            StoredKey.encode(chained));
    for (byte[] s : stored) { // one scan reused across keys of different sizes
      String json = written(s, scan);
      Candidate c = StoredKey.candidate(s);
      assertThat(json)
          .isEqualTo(
              c.chain().isEmpty()
                  ? "{\"key\":\"" + c.key() + "\"}"
                  : new String(dev.keycast.protocol.Json.encode(c), StandardCharsets.UTF_8));
      Candidate back =
          dev.keycast.protocol.Json.decode(
              json.getBytes(StandardCharsets.US_ASCII), 1 << 20, Candidate.class);
      assertThat(back).isEqualTo(StoredKey.candidate(s));
    }
    assertThat(written(stored.get(2), scan)).isEqualTo("{\"key\":\"AQIDBA\",\"chain\":[\"-_-_\"]}");
    assertThatThrownBy(
            () ->
                written(
                    "-----BEGIN CERTIFICATE-----\nAQID\n-----END CERTIFICATE-----\n"
                        .getBytes(StandardCharsets.US_ASCII),
                    scan))
        .isInstanceOf(IllegalStateException.class);
  }
}
