package dev.keycast.kms.mock;

import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.MessageDigest;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.spec.X509EncodedKeySpec;
import org.bouncycastle.asn1.DERNull;
import org.bouncycastle.asn1.nist.NISTObjectIdentifiers;
import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.asn1.pkcs.RSAESOAEPparams;
import org.bouncycastle.asn1.x509.AlgorithmIdentifier;
import org.bouncycastle.cms.CMSAlgorithm;
import org.bouncycastle.cms.CMSEnvelopedDataGenerator;
import org.bouncycastle.cms.CMSException;
import org.bouncycastle.cms.CMSProcessableByteArray;
import org.bouncycastle.cms.jcajce.JceCMSContentEncryptorBuilder;
import org.bouncycastle.cms.jcajce.JceKeyTransRecipientInfoGenerator;

/**
 * Builds {@code CiphertextForRecipient} as KMS does: a CMS ContentInfo / EnvelopedData (version 2)
 * with one KeyTransRecipientInfo (version 2, subjectKeyIdentifier = SHA-256 of the recipient SPKI,
 * 32 bytes), key encryption RSAES-OAEP with SHA-256 and MGF1-SHA-256 (empty label), content
 * encryption AES-256-CBC with a random 16-byte IV.
 */
final class RecipientEnvelopes {
  private RecipientEnvelopes() {}

  static byte[] seal(byte[] spki, byte[] plaintext, SecureRandom random) throws KmsException {
    try {
      PublicKey key = KeyFactory.getInstance("RSA").generatePublic(new X509EncodedKeySpec(spki));
      AlgorithmIdentifier sha256 =
          new AlgorithmIdentifier(NISTObjectIdentifiers.id_sha256, DERNull.INSTANCE);
      AlgorithmIdentifier oaep =
          new AlgorithmIdentifier(
              PKCSObjectIdentifiers.id_RSAES_OAEP,
              new RSAESOAEPparams(
                  sha256,
                  new AlgorithmIdentifier(PKCSObjectIdentifiers.id_mgf1, sha256),
                  RSAESOAEPparams.DEFAULT_P_SOURCE_ALGORITHM));
      byte[] ski = MessageDigest.getInstance("SHA-256").digest(spki);
      CMSEnvelopedDataGenerator gen = new CMSEnvelopedDataGenerator();
      gen.addRecipientInfoGenerator(new JceKeyTransRecipientInfoGenerator(ski, oaep, key));
      return gen.generate(
              new CMSProcessableByteArray(plaintext),
              new JceCMSContentEncryptorBuilder(CMSAlgorithm.AES256_CBC)
                  .setSecureRandom(random)
                  .build())
          .getEncoded();
    } catch (GeneralSecurityException | CMSException | java.io.IOException e) {
      throw KmsException.validation(
          "the attestation document's public_key cannot be used for RSAES_OAEP_SHA_256");
    }
  }
}
