package dev.keycast.protocol.cinema;

/** Names and URIs of the SMPTE ST 430-1 / 430-3 KDM XML. */
final class KdmXml {
  static final String ETM = "http://www.smpte-ra.org/schemas/430-3/2006/ETM";
  static final String KDM = "http://www.smpte-ra.org/schemas/430-1/2006/KDM";
  static final String DS = "http://www.w3.org/2000/09/xmldsig#";
  static final String ENC = "http://www.w3.org/2001/04/xmlenc#";
  static final String XMLNS = "http://www.w3.org/2000/xmlns/";
  static final String MESSAGE_TYPE = "http://www.smpte-ra.org/430-1/2006/KDM#kdm-key-type";
  static final String KEY_TYPE_SCOPE = "http://www.smpte-ra.org/430-1/2006/KDM#kdm-key-type";

  /** libdcp's scope for Dolby's MDEK (Atmos) key type. */
  static final String DOLBY_KEY_TYPE_SCOPE = "http://www.dolby.com/cp850/2012/KDM#kdm-key-type";

  static final String RSA_OAEP_MGF1P = "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p";
  static final String SHA1 = "http://www.w3.org/2000/09/xmldsig#sha1";
  static final String ID_PUBLIC = "ID_AuthenticatedPublic";
  static final String ID_PRIVATE = "ID_AuthenticatedPrivate";
  static final String OAEP_TRANSFORMATION = "RSA/ECB/OAEPWithSHA-1AndMGF1Padding";

  private KdmXml() {}

  static String scope(KeyType t) {
    return t == KeyType.MDEK ? DOLBY_KEY_TYPE_SCOPE : KEY_TYPE_SCOPE;
  }
}
