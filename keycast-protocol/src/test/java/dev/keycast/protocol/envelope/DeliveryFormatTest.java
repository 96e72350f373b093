package dev.keycast.protocol.envelope;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keycast.protocol.DecryptionFailedException;
import dev.keycast.protocol.MalformedInputException;
import dev.keycast.protocol.hpke.X25519PrivateKey;
import java.security.SecureRandom;
import java.security.interfaces.RSAPrivateKey;
import java.time.Instant;
import java.util.stream.Stream;
import org.bouncycastle.asn1.cms.ContentInfo;
import org.bouncycastle.cms.CMSAuthEnvelopedData;
import org.bouncycastle.cms.KeyTransRecipientId;
import org.bouncycastle.cms.RecipientInformation;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Round trips through every format and key size, and the seal-side argument checks. */
class DeliveryFormatTest {
  static final SecureRandom RANDOM = new SecureRandom();
  static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");
  static final Instant T1 = Instant.parse("2026-12-31T23:59:59Z");

  static DeliveryMetadata metadataFor(RecipientKey k) {
    return DeliveryMetadata.of("secret-1", "Studio \u03a9", T0, T1, k.fingerprint());
  }

  static Stream<Arguments> rsaCases() {
    return Stream.of(2048, 3072, 4096)
        .flatMap(
            bits ->
                Stream.of(CmsDeliveryFormat.AES_256_GCM, CmsDeliveryFormat.AES_256_CBC)
                    .map(f -> Arguments.of(f, bits)));
  }

  @ParameterizedTest(name = "{0} RSA-{1}")
  @MethodSource("rsaCases")
  void rsaRoundTrip(CmsDeliveryFormat format, int bits) throws Exception {
    RsaRecipientKey key = TestKeys.rsaRecipient(bits);
    RSAPrivateKey priv = TestKeys.rsaPrivate(bits);
    for (int size : new int[] {0, 1, 32, 65536}) {
      byte[] secret = new byte[size];
      RANDOM.nextBytes(secret);
      byte[] env = format.seal(key, metadataFor(key), secret, RANDOM);
      OpenedDelivery d = format.open(priv, env);
      assertThat(d.metadata()).isEqualTo(metadataFor(key));
      assertThat(d.secret()).isEqualTo(secret);
    }
  }

  @Test
  void x25519RoundTrip() throws Exception {
    X25519RecipientKey key = TestKeys.x25519Recipient();
    X25519PrivateKey priv = TestKeys.x25519Private();
    for (int size : new int[] {0, 1, 32, 65536}) {
      byte[] secret = new byte[size];
      RANDOM.nextBytes(secret);
      byte[] env = HpkeDeliveryFormat.INSTANCE.seal(key, metadataFor(key), secret, RANDOM);
      assertThat(env).hasSize(13 + metadataFor(key).encode().length + 32 + size + 16);
      OpenedDelivery d = HpkeDeliveryFormat.INSTANCE.open(priv, env);
      assertThat(d.metadata()).isEqualTo(metadataFor(key));
      assertThat(d.secret()).isEqualTo(secret);
      if (size >= 32) {
        assertThat(d.toString()).doesNotContain(java.util.HexFormat.of().formatHex(secret, 0, 16));
      }
    }
  }

  @Test
  void certificateRecipientUsesIssuerAndSerialElseSubjectKeyId() throws Exception {
    RsaRecipientKey withCert = TestKeys.rsaRecipientWithCert();
    byte[] env =
        CmsDeliveryFormat.AES_256_GCM.seal(withCert, metadataFor(withCert), new byte[8], RANDOM);
    RecipientInformation ri =
        new CMSAuthEnvelopedData(ContentInfo.getInstance(env))
            .getRecipientInfos()
            .getRecipients()
            .iterator()
            .next();
    KeyTransRecipientId rid = (KeyTransRecipientId) ri.getRID();
    assertThat(rid.getSerialNumber()).isEqualTo(java.math.BigInteger.valueOf(4242));
    assertThat(rid.getSubjectKeyIdentifier()).isNull();
    assertThat(CmsDeliveryFormat.AES_256_GCM.open(TestKeys.rsaPrivate(2048), env).secret())
        .hasSize(8);

    RsaRecipientKey bare = TestKeys.rsaRecipient(2048);
    env = CmsDeliveryFormat.AES_256_GCM.seal(bare, metadataFor(bare), new byte[8], RANDOM);
    ri =
        new CMSAuthEnvelopedData(ContentInfo.getInstance(env))
            .getRecipientInfos()
            .getRecipients()
            .iterator()
            .next();
    rid = (KeyTransRecipientId) ri.getRID();
    assertThat(rid.getSubjectKeyIdentifier()).isEqualTo(bare.subjectKeyIdentifier()).hasSize(32);
    assertThat(rid.getSerialNumber()).isNull();
  }

  @Test
  void defaultFormatsAndRegistry() throws Exception {
    assertThat(DeliveryFormats.defaultFor(TestKeys.rsaRecipient(3072)))
        .isSameAs(CmsDeliveryFormat.AES_256_GCM);
    assertThat(DeliveryFormats.defaultFor(TestKeys.x25519Recipient()))
        .isSameAs(HpkeDeliveryFormat.INSTANCE);
    assertThat(DeliveryFormats.byId("cms-aes256cbc-v1"))
        .containsSame(CmsDeliveryFormat.AES_256_CBC);
    assertThat(DeliveryFormats.byId("kdm-smpte-430-1")).isEmpty();
    assertThat(DeliveryFormats.ALL).extracting(DeliveryFormat::id).doesNotHaveDuplicates();
  }

  @Test
  void x25519PrivateKeyFromPkcs8() throws Exception {
    assertThat(TestKeys.x25519Private().toRaw())
        .isEqualTo(TestKeys.x25519PrivateRawFromPkcs8Tail());
    assertThatThrownBy(
            () ->
                X25519PrivateKey.fromPkcs8(
                    TestKeys.pemBody(TestKeys.text("keys/rsa-2048.key.pem"))))
        .isInstanceOfSatisfying(
            MalformedInputException.class, e -> assertThat(e.code()).isEqualTo("oversize"));
    assertThatThrownBy(() -> X25519PrivateKey.fromPkcs8(new byte[] {0x30, 0x00}))
        .isInstanceOf(MalformedInputException.class);
  }

  @Test
  void sealChecksArguments() throws Exception {
    RsaRecipientKey rsa = TestKeys.rsaRecipient(2048);
    X25519RecipientKey x = TestKeys.x25519Recipient();
    assertThatThrownBy(
            () -> CmsDeliveryFormat.AES_256_GCM.seal(x, metadataFor(x), new byte[1], RANDOM))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(
            () -> HpkeDeliveryFormat.INSTANCE.seal(rsa, metadataFor(rsa), new byte[1], RANDOM))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(
            () -> HpkeDeliveryFormat.INSTANCE.seal(x, metadataFor(rsa), new byte[1], RANDOM))
        .hasMessageContaining("metadata names recipient");
    assertThatThrownBy(
            () ->
                CmsDeliveryFormat.AES_256_CBC.seal(rsa, metadataFor(rsa), new byte[65537], RANDOM))
        .hasMessageContaining("limit 65536");
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("rsaFormats")
  void wrongRsaKeyFails(CmsDeliveryFormat format) throws Exception {
    RsaRecipientKey key = TestKeys.rsaRecipient(2048);
    byte[] env = format.seal(key, metadataFor(key), new byte[32], RANDOM);
    assertThatThrownBy(() -> format.open(TestKeys.rsaPrivate(3072), env))
        .isInstanceOf(DecryptionFailedException.class)
        .hasMessage(DecryptionFailedException.MESSAGE);
  }

  static Stream<CmsDeliveryFormat> rsaFormats() {
    return Stream.of(CmsDeliveryFormat.AES_256_GCM, CmsDeliveryFormat.AES_256_CBC);
  }

  @Test
  void wrongX25519KeyFails() throws Exception {
    X25519RecipientKey key = TestKeys.x25519Recipient();
    byte[] env = HpkeDeliveryFormat.INSTANCE.seal(key, metadataFor(key), new byte[32], RANDOM);
    assertThatThrownBy(
            () -> HpkeDeliveryFormat.INSTANCE.open(X25519PrivateKey.generate(RANDOM), env))
        .isInstanceOf(DecryptionFailedException.class);
  }

  @Test
  void oversizeEnvelopesAreRejectedBeforeParsing() {
    byte[] big = new byte[DeliveryFormat.MAX_ENVELOPE_LENGTH + 1];
    big[0] = 0x30;
    for (DeliveryFormat<?> f :
        new DeliveryFormat<?>[] {
          CmsDeliveryFormat.AES_256_GCM, CmsDeliveryFormat.AES_256_CBC, HpkeDeliveryFormat.INSTANCE
        }) {
      assertThatThrownBy(() -> openUnchecked(f, big))
          .isInstanceOfSatisfying(
              MalformedInputException.class, e -> assertThat(e.code()).isEqualTo("oversize"));
    }
  }

  @SuppressWarnings("unchecked")
  static OpenedDelivery openUnchecked(DeliveryFormat<?> f, byte[] env) throws Exception {
    if (f instanceof HpkeDeliveryFormat h) {
      return h.open(TestKeys.x25519Private(), env);
    }
    return ((DeliveryFormat<RSAPrivateKey>) f).open(TestKeys.rsaPrivate(2048), env);
  }
}
