package dev.keycast.enclave.kms;

import dev.keycast.protocol.DecryptionFailedException;
import dev.keycast.protocol.MalformedInputException;
import java.security.PrivateKey;
import java.util.Arrays;
import java.util.Collection;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.cms.ContentInfo;
import org.bouncycastle.asn1.nist.NISTObjectIdentifiers;
import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.asn1.pkcs.RSAESOAEPparams;
import org.bouncycastle.asn1.x509.AlgorithmIdentifier;
import org.bouncycastle.cms.CMSEnvelopedData;
import org.bouncycastle.cms.KeyTransRecipientId;
import org.bouncycastle.cms.KeyTransRecipientInformation;
import org.bouncycastle.cms.RecipientInformation;
import org.bouncycastle.cms.jcajce.JceKeyTransEnvelopedRecipient;

/**
 * Reads KMS's {@code CiphertextForRecipient}: a BER (or DER) CMS {@code ContentInfo} holding
 * {@code EnvelopedData} (RFC 5652) addressed to the RSA key of the Recipient attestation document
 * (NITRO-FACTS section 3).
 *
 * <p>Strict profile; anything else is rejected with a {@link MalformedInputException} before any
 * private-key operation:
 *
 * <ul>
 *   <li>at most {@value #MAX_BYTES} bytes; content type {@code envelopedData}; no originator info;
 *       the EnvelopedData and KeyTransRecipientInfo versions are CMSVersions (0 to 5);
 *   <li>exactly one recipient, a {@code KeyTransRecipientInfo} whose key encryption algorithm is
 *       {@code id-RSAES-OAEP} with hash SHA-256, MGF1 with SHA-256 and the empty default label;
 *   <li>content encryption {@code aes256-CBC} (2.16.840.1.101.3.4.1.42) with a 16-byte IV.
 * </ul>
 *
 * <p>The recipient identifier (KMS uses a 32-byte subjectKeyIdentifier) is not matched: the key pair
 * is fresh for each KMS call, so the one recipient is ours or the decryption fails.
 */
public final class RecipientCms {
  /** Largest CiphertextForRecipient accepted (KMS's answers for a 32-byte key are about 600 B). */
  public static final int MAX_BYTES = 16 * 1024;

  private static final ASN1ObjectIdentifier ENVELOPED_DATA = PKCSObjectIdentifiers.envelopedData;
  private static final ASN1ObjectIdentifier AES256_CBC = NISTObjectIdentifiers.id_aes256_CBC;

  private RecipientCms() {}

  /**
   * What the strict parser found (no secret in it).
   *
   * @param envelopedDataVersion the EnvelopedData version (KMS: 2)
   * @param recipientVersion the KeyTransRecipientInfo version (KMS: 2, subjectKeyIdentifier)
   * @param subjectKeyIdentifier the recipient's subjectKeyIdentifier, or null when the rid is
   *     issuerAndSerialNumber
   * @param encryptedKeyLength length of the RSA-OAEP encrypted content-encryption key
   * @param contentEncryptedLength length of the AES-256-CBC ciphertext, or -1 when BC does not
   *     expose it
   */
  public record Structure(
      int envelopedDataVersion,
      int recipientVersion,
      byte[] subjectKeyIdentifier,
      int encryptedKeyLength,
      int contentEncryptedLength) {}

  /**
   * Parses and checks the profile without decrypting.
   *
   * @throws MalformedInputException {@code oversize}, {@code malformed} or {@code unsupported}
   */
  public static Structure inspect(byte[] cms) throws MalformedInputException {
    Parsed p = parse(cms);
    KeyTransRecipientInformation r = p.recipient;
    KeyTransRecipientId rid = (KeyTransRecipientId) r.getRID();
    byte[] ski = rid.getSubjectKeyIdentifier();
    org.bouncycastle.asn1.cms.EnvelopedData ed =
        org.bouncycastle.asn1.cms.EnvelopedData.getInstance(p.contentInfo.getContent());
    org.bouncycastle.asn1.cms.KeyTransRecipientInfo ktri = keyTransRecipientInfo(ed);
    var eci = ed.getEncryptedContentInfo().getEncryptedContent();
    return new Structure(
        cmsVersion(ed.getVersion(), "EnvelopedData"),
        cmsVersion(ktri.getVersion(), "KeyTransRecipientInfo"),
        ski,
        ktri.getEncryptedKey().getOctets().length,
        eci == null ? -1 : eci.getOctets().length);
  }

  private static org.bouncycastle.asn1.cms.KeyTransRecipientInfo keyTransRecipientInfo(
      org.bouncycastle.asn1.cms.EnvelopedData ed) {
    return org.bouncycastle.asn1.cms.KeyTransRecipientInfo.getInstance(
        ed.getRecipientInfos().getObjectAt(0).toASN1Primitive());
  }

  /**
   * A CMSVersion (RFC 5652 section 10.2.5: v0 to v5); anything else, e.g. a 9-byte INTEGER, is
   * {@code malformed} rather than an {@link ArithmeticException} later.
   */
  private static int cmsVersion(org.bouncycastle.asn1.ASN1Integer version, String what)
      throws MalformedInputException {
    java.math.BigInteger v = version.getValue();
    if (v.signum() < 0 || v.compareTo(java.math.BigInteger.valueOf(5)) > 0) {
      throw new MalformedInputException(
          MalformedInputException.Kind.MALFORMED, what + " version is not a CMSVersion (0 to 5)");
    }
    return v.intValue();
  }

  /**
   * Decrypts with the RSA private key of the Recipient document and returns the content, which
   * must be exactly {@code expectedLength} bytes. The caller zeroizes the result.
   *
   * @throws MalformedInputException the bytes break the profile (see the class comment)
   * @throws DecryptionFailedException the key does not open it, or the content has another length
   */
  public static byte[] open(byte[] cms, PrivateKey rsaPrivateKey, int expectedLength)
      throws MalformedInputException, DecryptionFailedException {
    Parsed p = parse(cms);
    byte[] content;
    try {
      JceKeyTransEnvelopedRecipient recipient = new JceKeyTransEnvelopedRecipient(rsaPrivateKey);
      recipient.setMustProduceEncodableUnwrappedKey(false);
      content = p.recipient.getContent(recipient);
    } catch (Exception e) { // CMSException and any runtime exception from the provider
      throw new DecryptionFailedException();
    }
    if (content == null || content.length != expectedLength) {
      if (content != null) {
        Arrays.fill(content, (byte) 0);
      }
      throw new DecryptionFailedException();
    }
    return content;
  }

  private record Parsed(ContentInfo contentInfo, KeyTransRecipientInformation recipient) {}

  private static Parsed parse(byte[] cms) throws MalformedInputException {
    if (cms == null || cms.length == 0) {
      throw new MalformedInputException(
          MalformedInputException.Kind.TRUNCATED, "CiphertextForRecipient is empty");
    }
    if (cms.length > MAX_BYTES) {
      throw new MalformedInputException(
          MalformedInputException.Kind.OVERSIZE,
          "CiphertextForRecipient is " + cms.length + " bytes, limit " + MAX_BYTES);
    }
    ContentInfo ci;
    CMSEnvelopedData ed;
    try {
      ci = ContentInfo.getInstance(org.bouncycastle.asn1.ASN1Primitive.fromByteArray(cms));
      if (ci == null) {
        throw new MalformedInputException(
            MalformedInputException.Kind.MALFORMED,
            "CiphertextForRecipient is not a CMS ContentInfo");
      }
      if (!ENVELOPED_DATA.equals(ci.getContentType())) {
        throw new MalformedInputException(
            MalformedInputException.Kind.UNSUPPORTED,
            "CiphertextForRecipient content type is "
                + ci.getContentType()
                + ", not envelopedData");
      }
      ed = new CMSEnvelopedData(ci);
    } catch (MalformedInputException e) {
      throw e;
    } catch (Exception e) { // IOException, CMSException, IllegalArgumentException, ClassCast...
      throw new MalformedInputException(
          MalformedInputException.Kind.MALFORMED,
          "CiphertextForRecipient is not a CMS EnvelopedData ("
              + MalformedInputException.quote(cms, 8)
              + ")",
          e);
    }
    if (ed.getOriginatorInfo() != null) {
      throw new MalformedInputException(
          MalformedInputException.Kind.UNSUPPORTED, "CiphertextForRecipient has originatorInfo");
    }
    AlgorithmIdentifier content = ed.getContentEncryptionAlgorithm();
    if (!AES256_CBC.equals(content.getAlgorithm())) {
      throw new MalformedInputException(
          MalformedInputException.Kind.UNSUPPORTED,
          "content encryption is "
              + content.getAlgorithm()
              + ", only aes256-CBC ("
              + AES256_CBC
              + ") is accepted");
    }
    try {
      byte[] iv =
          org.bouncycastle.asn1.ASN1OctetString.getInstance(content.getParameters()).getOctets();
      if (iv.length != 16) {
        throw new MalformedInputException(
            MalformedInputException.Kind.MALFORMED,
            "AES-256-CBC IV is " + iv.length + " bytes, not 16");
      }
    } catch (MalformedInputException e) {
      throw e;
    } catch (RuntimeException e) {
      throw new MalformedInputException(
          MalformedInputException.Kind.MALFORMED, "AES-256-CBC parameters are not a 16-byte IV", e);
    }
    Collection<RecipientInformation> recipients = ed.getRecipientInfos().getRecipients();
    if (recipients.size() != 1) {
      throw new MalformedInputException(
          MalformedInputException.Kind.UNSUPPORTED,
          "CiphertextForRecipient has " + recipients.size() + " recipients, expected 1");
    }
    RecipientInformation ri = recipients.iterator().next();
    if (!(ri instanceof KeyTransRecipientInformation ktri)) {
      throw new MalformedInputException(
          MalformedInputException.Kind.UNSUPPORTED,
          "the recipient is a " + ri.getClass().getSimpleName() + ", not a KeyTransRecipientInfo");
    }
    checkOaepSha256(ktri.getKeyEncryptionAlgorithm());
    // the versions are checked here, so that open and inspect refuse the same messages
    org.bouncycastle.asn1.cms.EnvelopedData asn1 =
        org.bouncycastle.asn1.cms.EnvelopedData.getInstance(ci.getContent());
    cmsVersion(asn1.getVersion(), "EnvelopedData");
    cmsVersion(keyTransRecipientInfo(asn1).getVersion(), "KeyTransRecipientInfo");
    return new Parsed(ci, ktri);
  }

  /** id-RSAES-OAEP with SHA-256, MGF1(SHA-256) and the default (empty) label; nothing else. */
  private static void checkOaepSha256(AlgorithmIdentifier alg) throws MalformedInputException {
    if (!PKCSObjectIdentifiers.id_RSAES_OAEP.equals(alg.getAlgorithm())) {
      throw new MalformedInputException(
          MalformedInputException.Kind.UNSUPPORTED,
          "key encryption is "
              + alg.getAlgorithm()
              + ", only id-RSAES-OAEP ("
              + PKCSObjectIdentifiers.id_RSAES_OAEP
              + ") is accepted");
    }
    RSAESOAEPparams p;
    try {
      p = RSAESOAEPparams.getInstance(alg.getParameters());
    } catch (RuntimeException e) {
      throw new MalformedInputException(
          MalformedInputException.Kind.MALFORMED, "RSAES-OAEP parameters do not parse", e);
    }
    if (p == null) {
      throw new MalformedInputException(
          MalformedInputException.Kind.UNSUPPORTED, "RSAES-OAEP without parameters means SHA-1");
    }
    ASN1ObjectIdentifier hash = p.getHashAlgorithm().getAlgorithm();
    AlgorithmIdentifier mgf = p.getMaskGenAlgorithm();
    ASN1ObjectIdentifier mgfHash;
    try {
      mgfHash = AlgorithmIdentifier.getInstance(mgf.getParameters()).getAlgorithm();
    } catch (RuntimeException e) {
      throw new MalformedInputException(
          MalformedInputException.Kind.MALFORMED, "MGF1 parameters do not parse", e);
    }
    if (!NISTObjectIdentifiers.id_sha256.equals(hash)
        || !PKCSObjectIdentifiers.id_mgf1.equals(mgf.getAlgorithm())
        || !NISTObjectIdentifiers.id_sha256.equals(mgfHash)) {
      throw new MalformedInputException(
          MalformedInputException.Kind.UNSUPPORTED,
          "RSAES-OAEP must use SHA-256 and MGF1-SHA-256, found hash "
              + hash
              + ", mask "
              + mgf.getAlgorithm()
              + "("
              + mgfHash
              + ")");
    }
    AlgorithmIdentifier label = p.getPSourceAlgorithm();
    if (!RSAESOAEPparams.DEFAULT_P_SOURCE_ALGORITHM.equals(label)) {
      throw new MalformedInputException(
          MalformedInputException.Kind.UNSUPPORTED, "RSAES-OAEP must use the empty default label");
    }
  }
}
