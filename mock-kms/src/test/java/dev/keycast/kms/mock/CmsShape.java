package dev.keycast.kms.mock;

import org.bouncycastle.asn1.ASN1InputStream;
import org.bouncycastle.asn1.ASN1OctetString;
import org.bouncycastle.asn1.ASN1Primitive;
import org.bouncycastle.asn1.cms.ContentInfo;
import org.bouncycastle.asn1.cms.EnvelopedData;
import org.bouncycastle.asn1.cms.KeyTransRecipientInfo;
import org.bouncycastle.asn1.cms.RecipientInfo;
import org.bouncycastle.asn1.pkcs.RSAESOAEPparams;
import org.bouncycastle.asn1.x509.AlgorithmIdentifier;

/** The structural facts of a CiphertextForRecipient that must match real KMS output. */
record CmsShape(
    String contentType,
    int envelopedDataVersion,
    boolean hasOriginatorInfo,
    int recipientCount,
    int ktriVersion,
    boolean ridIsSubjectKeyIdentifier,
    int skiLength,
    String keyEncryptionOid,
    String oaepHashOid,
    String oaepMgfOid,
    String oaepMgfHashOid,
    boolean oaepDefaultLabel,
    int encryptedKeyLength,
    String contentEncryptionOid,
    int ivLength) {

  static CmsShape of(byte[] ber) throws Exception {
    ASN1Primitive p;
    try (ASN1InputStream in = new ASN1InputStream(ber)) {
      p = in.readObject();
    }
    ContentInfo ci = ContentInfo.getInstance(p);
    EnvelopedData ed = EnvelopedData.getInstance(ci.getContent());
    RecipientInfo ri = RecipientInfo.getInstance(ed.getRecipientInfos().getObjectAt(0));
    KeyTransRecipientInfo k = KeyTransRecipientInfo.getInstance(ri.getInfo());
    boolean ski = k.getRecipientIdentifier().isTagged();
    int skiLen =
        ski
            ? ASN1OctetString.getInstance(k.getRecipientIdentifier().getId()).getOctets().length
            : -1;
    AlgorithmIdentifier kea = k.getKeyEncryptionAlgorithm();
    RSAESOAEPparams oaep = RSAESOAEPparams.getInstance(kea.getParameters());
    AlgorithmIdentifier mgfHash =
        AlgorithmIdentifier.getInstance(oaep.getMaskGenAlgorithm().getParameters());
    AlgorithmIdentifier cea = ed.getEncryptedContentInfo().getContentEncryptionAlgorithm();
    return new CmsShape(
        ci.getContentType().getId(),
        ed.getVersion().intValueExact(),
        ed.getOriginatorInfo() != null,
        ed.getRecipientInfos().size(),
        k.getVersion().intValueExact(),
        ski,
        skiLen,
        kea.getAlgorithm().getId(),
        oaep.getHashAlgorithm().getAlgorithm().getId(),
        oaep.getMaskGenAlgorithm().getAlgorithm().getId(),
        mgfHash.getAlgorithm().getId(),
        oaep.getPSourceAlgorithm().equals(RSAESOAEPparams.DEFAULT_P_SOURCE_ALGORITHM),
        k.getEncryptedKey().getOctets().length,
        cea.getAlgorithm().getId(),
        ASN1OctetString.getInstance(cea.getParameters()).getOctets().length);
  }
}
