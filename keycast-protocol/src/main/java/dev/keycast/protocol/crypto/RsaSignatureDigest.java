package dev.keycast.protocol.crypto;

/**
 * The digests of RSASSA-PKCS1-v1_5 signatures (RFC 8017 section 8.2) that {@link
 * CryptoBackend#rsaPkcs1Verify} checks: the X.509 signature algorithms {@code
 * sha256WithRSAEncryption}, {@code sha384WithRSAEncryption} and {@code sha512WithRSAEncryption}
 * (RFC 4055 section 5).
 */
public enum RsaSignatureDigest {
  SHA256("SHA256withRSA", "1.2.840.113549.1.1.11"),
  SHA384("SHA384withRSA", "1.2.840.113549.1.1.12"),
  SHA512("SHA512withRSA", "1.2.840.113549.1.1.13");

  private final String jcaName;
  private final String signatureOid;

  RsaSignatureDigest(String jcaName, String signatureOid) {
    this.jcaName = jcaName;
    this.signatureOid = signatureOid;
  }

  /** The JCA signature algorithm name, e.g. {@code SHA256withRSA}. */
  public String jcaName() {
    return jcaName;
  }

  /** The X.509 signature algorithm OID, e.g. {@code 1.2.840.113549.1.1.11}. */
  public String signatureOid() {
    return signatureOid;
  }

  /** The digest whose signature algorithm OID is {@code oid}, or null. */
  public static RsaSignatureDigest forSignatureOid(String oid) {
    for (RsaSignatureDigest d : values()) {
      if (d.signatureOid.equals(oid)) {
        return d;
      }
    }
    return null;
  }
}
