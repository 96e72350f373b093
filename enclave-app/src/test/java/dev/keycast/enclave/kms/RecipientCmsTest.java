package dev.keycast.enclave.kms;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keycast.protocol.DecryptionFailedException;
import dev.keycast.protocol.MalformedInputException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyFactory;
import java.security.MessageDigest;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.spec.X509EncodedKeySpec;
import java.util.Arrays;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.DERNull;
import org.bouncycastle.asn1.nist.NISTObjectIdentifiers;
import org.bouncycastle.asn1.oiw.OIWObjectIdentifiers;
import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.asn1.pkcs.RSAESOAEPparams;
import org.bouncycastle.asn1.x509.AlgorithmIdentifier;
import org.bouncycastle.cms.CMSAlgorithm;
import org.bouncycastle.cms.CMSEnvelopedDataGenerator;
import org.bouncycastle.cms.CMSProcessableByteArray;
import org.bouncycastle.cms.jcajce.JceCMSContentEncryptorBuilder;
import org.bouncycastle.cms.jcajce.JceKeyTransRecipientInfoGenerator;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The strict CiphertextForRecipient reader: the two real KMS samples parse (structure only; their
 * private key is unknown), a structurally identical message decrypts, and every departure from the
 * profile is a typed refusal.
 */
class RecipientCmsTest {
  private static final SecureRandom RANDOM = new SecureRandom();
  private static RecipientKeyPair pair;
  private static PublicKey publicKey;

  @BeforeAll
  static void keys() throws Exception {
    pair = RecipientKeyPair.generate(RANDOM);
    publicKey =
        KeyFactory.getInstance("RSA").generatePublic(new X509EncodedKeySpec(pair.publicKeySpki()));
  }

  static Path vector(String name) {
    return Path.of(System.getProperty("keycast.vectors"), "kms", name);
  }

  @ParameterizedTest
  @ValueSource(strings = {"ciphertext-for-recipient-1.ber", "ciphertext-for-recipient-2.ber"})
  void realKmsSamplesHaveTheKmsProfile(String name) throws Exception {
    byte[] ber = Files.readAllBytes(vector(name));
    RecipientCms.Structure s = RecipientCms.inspect(ber);
    assertThat(s.envelopedDataVersion()).isEqualTo(2);
    assertThat(s.recipientVersion()).isEqualTo(2);
    assertThat(s.subjectKeyIdentifier()).hasSize(32);
    assertThat(s.encryptedKeyLength()).isEqualTo(256);
    assertThat(s.contentEncryptedLength()).isPositive();
    assertThat(s.contentEncryptedLength() % 16).isZero();
    // Their private key is unknown: our key must fail to open them, with the one decryption error.
    assertThatThrownBy(() -> pair.open(ber, 32)).isInstanceOf(DecryptionFailedException.class);
  }

  @ParameterizedTest
  @ValueSource(strings = {"ciphertext-for-recipient-1.ber", "ciphertext-for-recipient-2.ber"})
  void aTruncatedRealSampleIsMalformed(String name) throws Exception {
    byte[] ber = Files.readAllBytes(vector(name));
    byte[] cut = Arrays.copyOf(ber, ber.length / 2);
    assertThatThrownBy(() -> RecipientCms.inspect(cut))
        .isInstanceOf(MalformedInputException.class)
        .hasMessageContaining("not a CMS EnvelopedData");
  }

  @Test
  void aKmsShapedMessageToOurKeyOpens() throws Exception {
    byte[] dataKey = new byte[32];
    RANDOM.nextBytes(dataKey);
    byte[] cms =
        envelope(
            dataKey,
            oaep(NISTObjectIdentifiers.id_sha256, NISTObjectIdentifiers.id_sha256),
            CMSAlgorithm.AES256_CBC,
            1);
    RecipientCms.Structure s = RecipientCms.inspect(cms);
    assertThat(s.envelopedDataVersion()).isEqualTo(2);
    assertThat(s.recipientVersion()).isEqualTo(2);
    assertThat(s.subjectKeyIdentifier())
        .isEqualTo(MessageDigest.getInstance("SHA-256").digest(pair.publicKeySpki()));
    assertThat(pair.open(cms, 32)).isEqualTo(dataKey);
  }

  @Test
  void anotherKeyOrLengthIsOneDecryptionFailure() throws Exception {
    byte[] cms =
        envelope(
            new byte[32],
            oaep(NISTObjectIdentifiers.id_sha256, NISTObjectIdentifiers.id_sha256),
            CMSAlgorithm.AES256_CBC,
            1);
    try (RecipientKeyPair other = RecipientKeyPair.generate(RANDOM)) {
      assertThatThrownBy(() -> other.open(cms, 32))
          .isInstanceOf(DecryptionFailedException.class)
          .hasMessage(DecryptionFailedException.MESSAGE);
    }
    assertThatThrownBy(() -> pair.open(cms, 16)).isInstanceOf(DecryptionFailedException.class);
    byte[] flipped = cms.clone();
    flipped[flipped.length - 30] ^=
        1; // in the last AES-CBC block (before the BER end-of-contents octets)
    assertThatThrownBy(() -> pair.open(flipped, 32)).isInstanceOf(DecryptionFailedException.class);
  }

  @Test
  void oaepWithSha1IsRefusedBeforeDecrypting() throws Exception {
    byte[] cms =
        envelope(
            new byte[32],
            oaep(OIWObjectIdentifiers.idSHA1, OIWObjectIdentifiers.idSHA1),
            CMSAlgorithm.AES256_CBC,
            1);
    assertThatThrownBy(() -> pair.open(cms, 32))
        .isInstanceOf(MalformedInputException.class)
        .hasMessageContaining("SHA-256 and MGF1-SHA-256");
  }

  @Test
  void mixedOaepHashesAreRefused() throws Exception {
    byte[] cms =
        envelope(
            new byte[32],
            oaep(NISTObjectIdentifiers.id_sha256, OIWObjectIdentifiers.idSHA1),
            CMSAlgorithm.AES256_CBC,
            1);
    assertThatThrownBy(() -> RecipientCms.inspect(cms))
        .isInstanceOf(MalformedInputException.class)
        .hasMessageContaining("MGF1-SHA-256");
  }

  @Test
  void pkcs1v15IsRefused() throws Exception {
    byte[] cms =
        envelope(
            new byte[32],
            new AlgorithmIdentifier(PKCSObjectIdentifiers.rsaEncryption, DERNull.INSTANCE),
            CMSAlgorithm.AES256_CBC,
            1);
    assertThatThrownBy(() -> RecipientCms.inspect(cms))
        .isInstanceOf(MalformedInputException.class)
        .hasMessageContaining("only id-RSAES-OAEP");
  }

  @Test
  void aes128IsRefused() throws Exception {
    byte[] cms =
        envelope(
            new byte[32],
            oaep(NISTObjectIdentifiers.id_sha256, NISTObjectIdentifiers.id_sha256),
            CMSAlgorithm.AES128_CBC,
            1);
    assertThatThrownBy(() -> RecipientCms.inspect(cms))
        .isInstanceOf(MalformedInputException.class)
        .hasMessageContaining("only aes256-CBC");
  }

  @Test
  void twoRecipientsAreRefused() throws Exception {
    byte[] cms =
        envelope(
            new byte[32],
            oaep(NISTObjectIdentifiers.id_sha256, NISTObjectIdentifiers.id_sha256),
            CMSAlgorithm.AES256_CBC,
            2);
    assertThatThrownBy(() -> RecipientCms.inspect(cms))
        .isInstanceOf(MalformedInputException.class)
        .hasMessageContaining("2 recipients, expected 1");
  }

  @Test
  void garbageEmptyAndOversizeAreTyped() {
    assertThatThrownBy(() -> RecipientCms.inspect(new byte[0]))
        .isInstanceOf(MalformedInputException.class)
        .satisfies(e -> assertThat(((MalformedInputException) e).code()).isEqualTo("truncated"));
    assertThatThrownBy(() -> RecipientCms.inspect(new byte[] {0x30, (byte) 0x80, 0x06, 0x01}))
        .isInstanceOf(MalformedInputException.class)
        .satisfies(e -> assertThat(((MalformedInputException) e).code()).isEqualTo("malformed"));
    assertThatThrownBy(() -> RecipientCms.inspect(new byte[RecipientCms.MAX_BYTES + 1]))
        .isInstanceOf(MalformedInputException.class)
        .satisfies(e -> assertThat(((MalformedInputException) e).code()).isEqualTo("oversize"));
    // A DER SEQUENCE that claims 2 GiB: refused by the size cap or the parser, never allocated.
    assertThatThrownBy(
            () ->
                RecipientCms.inspect(
                    new byte[] {0x30, (byte) 0x84, 0x7f, (byte) 0xff, (byte) 0xff, (byte) 0xff}))
        .isInstanceOf(MalformedInputException.class);
  }

  private static AlgorithmIdentifier oaep(ASN1ObjectIdentifier hash, ASN1ObjectIdentifier mgfHash) {
    return new AlgorithmIdentifier(
        PKCSObjectIdentifiers.id_RSAES_OAEP,
        new RSAESOAEPparams(
            new AlgorithmIdentifier(hash, DERNull.INSTANCE),
            new AlgorithmIdentifier(
                PKCSObjectIdentifiers.id_mgf1, new AlgorithmIdentifier(mgfHash, DERNull.INSTANCE)),
            RSAESOAEPparams.DEFAULT_P_SOURCE_ALGORITHM));
  }

  /** KMS's shape (KTRI v2 with a 32-byte SKI) built with BC, with the given algorithms. */
  private static byte[] envelope(
      byte[] content,
      AlgorithmIdentifier keyEncryption,
      ASN1ObjectIdentifier contentAlg,
      int recipients)
      throws Exception {
    byte[] ski = MessageDigest.getInstance("SHA-256").digest(pair.publicKeySpki());
    CMSEnvelopedDataGenerator gen = new CMSEnvelopedDataGenerator();
    for (int i = 0; i < recipients; i++) {
      gen.addRecipientInfoGenerator(
          new JceKeyTransRecipientInfoGenerator(ski, keyEncryption, publicKey));
    }
    return gen.generate(
            new CMSProcessableByteArray(content),
            new JceCMSContentEncryptorBuilder(contentAlg).setSecureRandom(RANDOM).build())
        .getEncoded();
  }
}
