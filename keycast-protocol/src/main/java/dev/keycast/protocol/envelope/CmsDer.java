package dev.keycast.protocol.envelope;

import java.io.IOException;
import java.io.UncheckedIOException;
import org.bouncycastle.asn1.ASN1Encodable;
import org.bouncycastle.asn1.ASN1Encoding;
import org.bouncycastle.asn1.ASN1Integer;
import org.bouncycastle.asn1.cms.CMSObjectIdentifiers;
import org.bouncycastle.asn1.nist.NISTObjectIdentifiers;

/**
 * DER of the two CMS structures a Keycast delivery is (wire-format.md section 3.3), written
 * straight into one exactly sized array: the same bytes BouncyCastle's {@code ContentInfo(...)
 * .getEncoded(DER)} produces for them (tested against it), without building and walking an ASN.1
 * object tree for every delivery (performance.md section 1). Only the parts that vary per delivery
 * are written per call; object identifiers and the OAEP parameters are encoded once, by
 * BouncyCastle.
 *
 * <pre>
 * ContentInfo SEQUENCE {
 *   contentType  id-ct-authEnvelopedData | id-envelopedData
 *   [0] EXPLICIT SEQUENCE {                         -- AuthEnvelopedData | EnvelopedData
 *     version INTEGER                               -- AED: 0; ED: 0 with issuerAndSerial, else 2
 *     recipientInfos SET { KeyTransRecipientInfo SEQUENCE {
 *       version INTEGER                             -- 0 issuerAndSerialNumber, 2 subjectKeyIdentifier
 *       rid                                         -- IssuerAndSerialNumber | [0] IMPLICIT OCTET STRING
 *       keyEncryptionAlgorithm AlgorithmIdentifier
 *       encryptedKey OCTET STRING } }
 *     encryptedContentInfo SEQUENCE {
 *       contentType id-data
 *       contentEncryptionAlgorithm SEQUENCE { aes256-GCM, GCMParameters { nonce OCTET STRING, icvLen 16 } }
 *                                | SEQUENCE { aes256-CBC, iv OCTET STRING }
 *       encryptedContent [0] IMPLICIT OCTET STRING }
 *     mac OCTET STRING                              -- AuthEnvelopedData only: the GCM tag
 *   } }
 * </pre>
 */
final class CmsDer {
  private static final byte[] OID_AUTH_ENVELOPED = der(CMSObjectIdentifiers.authEnvelopedData);
  private static final byte[] OID_ENVELOPED = der(CMSObjectIdentifiers.envelopedData);
  private static final byte[] OID_DATA = der(CMSObjectIdentifiers.data);
  private static final byte[] OID_AES256_GCM = der(NISTObjectIdentifiers.id_aes256_GCM);
  private static final byte[] OID_AES256_CBC = der(NISTObjectIdentifiers.id_aes256_CBC);
  private static final byte[] INTEGER_0 = der(new ASN1Integer(0));
  private static final byte[] INTEGER_2 = der(new ASN1Integer(2));

  static final int SEQUENCE = 0x30;
  static final int SET = 0x31;
  static final int OCTET_STRING = 0x04;
  static final int INTEGER = 0x02;

  /** [0] IMPLICIT, primitive: encryptedContent and the subjectKeyIdentifier rid. */
  static final int CONTEXT_0_PRIMITIVE = 0x80;

  /** [0] EXPLICIT: the content of ContentInfo. */
  static final int CONTEXT_0_CONSTRUCTED = 0xa0;

  private CmsDer() {}

  static byte[] der(ASN1Encodable e) {
    try {
      return e.toASN1Primitive().getEncoded(ASN1Encoding.DER);
    } catch (IOException x) {
      throw new UncheckedIOException(x);
    }
  }

  /** DER rid of a subjectKeyIdentifier: {@code [0] IMPLICIT OCTET STRING}. */
  static byte[] subjectKeyIdRid(byte[] ski) {
    byte[] out = new byte[tlvLength(ski.length)];
    int p = header(out, 0, CONTEXT_0_PRIMITIVE, ski.length);
    System.arraycopy(ski, 0, out, p, ski.length);
    return out;
  }

  /**
   * One delivery's envelope with its fixed parts written: every length is known before anything
   * is encrypted, so the content cipher and the key transport write their output in place.
   *
   * @param out the whole envelope (DER), exactly sized
   * @param encryptedKeyAt where the RSA ciphertext goes
   * @param contentAt where the encrypted content goes
   * @param tagAt where the GCM tag goes (-1 for CBC)
   */
  record Layout(byte[] out, int encryptedKeyAt, int contentAt, int tagAt) {
    /**
     * Lays out a delivery and writes everything but the encrypted key, content and tag.
     *
     * @param gcm AuthEnvelopedData with AES-256-GCM (else EnvelopedData with AES-256-CBC)
     * @param rid DER of the RecipientIdentifier
     * @param ridIsSki whether {@code rid} is a subjectKeyIdentifier (versions 2 in KeyTransRecipientInfo and EnvelopedData)
     * @param keyWrap DER of the keyEncryptionAlgorithm AlgorithmIdentifier
     * @param encryptedKeyLength length of the RSA ciphertext (the modulus length)
     * @param iv the GCM nonce or CBC IV
     * @param contentLength length of the encrypted content (GCM: without the tag)
     * @param tagLength GCM tag length (16; 0 for CBC)
     */
    static Layout of(
        boolean gcm,
        byte[] rid,
        boolean ridIsSki,
        byte[] keyWrap,
        int encryptedKeyLength,
        byte[] iv,
        int contentLength,
        int tagLength) {
      if (gcm && tagLength != 16) {
        throw new IllegalArgumentException("GCM tag length " + tagLength); // icvLen is one byte
      }
      byte[] version = ridIsSki ? INTEGER_2 : INTEGER_0;
      int ktri = version.length + rid.length + keyWrap.length + tlvLength(encryptedKeyLength);
      int set = tlvLength(ktri);
      int params = gcm ? tlvLength(tlvLength(iv.length) + 3) : tlvLength(iv.length);
      int alg = (gcm ? OID_AES256_GCM : OID_AES256_CBC).length + params;
      int eci = OID_DATA.length + tlvLength(alg) + tlvLength(contentLength);
      int body =
          (gcm ? INTEGER_0 : version).length
              + tlvLength(set)
              + tlvLength(eci)
              + (gcm ? tlvLength(tagLength) : 0);
      byte[] outerOid = gcm ? OID_AUTH_ENVELOPED : OID_ENVELOPED;
      int explicit = tlvLength(body);
      int ci = outerOid.length + tlvLength(explicit);
      byte[] out = new byte[tlvLength(ci)];

      int p = header(out, 0, SEQUENCE, ci);
      p = put(out, p, outerOid);
      p = header(out, p, CONTEXT_0_CONSTRUCTED, explicit);
      p = header(out, p, SEQUENCE, body);
      p = put(out, p, gcm ? INTEGER_0 : version);
      p = header(out, p, SET, set);
      p = header(out, p, SEQUENCE, ktri);
      p = put(out, p, version);
      p = put(out, p, rid);
      p = put(out, p, keyWrap);
      p = header(out, p, OCTET_STRING, encryptedKeyLength);
      int encryptedKeyAt = p;
      p += encryptedKeyLength;
      p = header(out, p, SEQUENCE, eci);
      p = put(out, p, OID_DATA);
      p = header(out, p, SEQUENCE, alg);
      if (gcm) {
        p = put(out, p, OID_AES256_GCM);
        p = header(out, p, SEQUENCE, tlvLength(iv.length) + 3);
        p = header(out, p, OCTET_STRING, iv.length);
        p = put(out, p, iv);
        out[p++] = INTEGER;
        out[p++] = 1;
        out[p++] = (byte) tagLength;
      } else {
        p = put(out, p, OID_AES256_CBC);
        p = header(out, p, OCTET_STRING, iv.length);
        p = put(out, p, iv);
      }
      p = header(out, p, CONTEXT_0_PRIMITIVE, contentLength);
      int contentAt = p;
      p += contentLength;
      int tagAt = -1;
      if (gcm) {
        p = header(out, p, OCTET_STRING, tagLength);
        tagAt = p;
        p += tagLength;
      }
      if (p != out.length) {
        throw new IllegalStateException("CMS layout wrote " + p + " of " + out.length + " bytes");
      }
      return new Layout(out, encryptedKeyAt, contentAt, tagAt);
    }
  }

  /** Length of a TLV whose value is {@code n} bytes (one-byte tag, definite DER length). */
  static int tlvLength(int n) {
    return 1 + lengthOfLength(n) + n;
  }

  private static int lengthOfLength(int n) {
    if (n < 0x80) {
      return 1;
    }
    return n < 0x100 ? 2 : n < 0x10000 ? 3 : n < 0x1000000 ? 4 : 5;
  }

  /** Writes tag and DER length at {@code p}; returns the position of the value. */
  static int header(byte[] out, int p, int tag, int n) {
    out[p++] = (byte) tag;
    if (n < 0x80) {
      out[p++] = (byte) n;
      return p;
    }
    int bytes = lengthOfLength(n) - 1;
    out[p++] = (byte) (0x80 | bytes);
    for (int i = bytes - 1; i >= 0; i--) {
      out[p++] = (byte) (n >>> (8 * i));
    }
    return p;
  }

  private static int put(byte[] out, int p, byte[] b) {
    System.arraycopy(b, 0, out, p, b.length);
    return p + b.length;
  }
}
