package dev.keycast.kms.mock;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.MessageDigest;
import java.security.SecureRandom;
import org.bouncycastle.cms.CMSEnvelopedData;
import org.bouncycastle.cms.KeyTransRecipientId;
import org.bouncycastle.cms.RecipientInformation;
import org.bouncycastle.cms.jcajce.JceKeyTransEnvelopedRecipient;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Our CiphertextForRecipient has the same structure as real KMS responses. */
class CiphertextForRecipientFormatTest {
  static final CmsShape EXPECTED =
      new CmsShape(
          "1.2.840.113549.1.7.3",
          2,
          false,
          1,
          2,
          true,
          32,
          "1.2.840.113549.1.1.7",
          "2.16.840.1.101.3.4.2.1",
          "1.2.840.113549.1.1.8",
          "2.16.840.1.101.3.4.2.1",
          true,
          256,
          "2.16.840.1.101.3.4.1.42",
          16);

  static Path vector(String name) {
    return Path.of(System.getProperty("keycast.vectors"), "kms", name);
  }

  @ParameterizedTest
  @ValueSource(strings = {"ciphertext-for-recipient-1.ber", "ciphertext-for-recipient-2.ber"})
  void realKmsSamplesParse(String name) throws Exception {
    byte[] real = Files.readAllBytes(vector(name));
    assertThat(CmsShape.of(real)).isEqualTo(EXPECTED);
    // BouncyCastle's high-level parser reads them too (as the enclave will).
    assertThat(new CMSEnvelopedData(real).getRecipientInfos().size()).isEqualTo(1);
  }

  @Test
  void ourOutputHasTheRealShapeAndDecrypts() throws Exception {
    KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
    g.initialize(2048);
    KeyPair kp = g.generateKeyPair();
    byte[] secret = new byte[32];
    new SecureRandom().nextBytes(secret);
    byte[] cms = RecipientEnvelopes.seal(kp.getPublic().getEncoded(), secret, new SecureRandom());
    assertThat(CmsShape.of(cms)).isEqualTo(EXPECTED);

    RecipientInformation ri =
        new CMSEnvelopedData(cms).getRecipientInfos().getRecipients().iterator().next();
    byte[] ski = MessageDigest.getInstance("SHA-256").digest(kp.getPublic().getEncoded());
    assertThat(((KeyTransRecipientId) ri.getRID()).getSubjectKeyIdentifier()).isEqualTo(ski);
    assertThat(ri.getContent(new JceKeyTransEnvelopedRecipient(kp.getPrivate()))).isEqualTo(secret);
  }
}
