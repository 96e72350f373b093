package dev.keycast.protocol.cinema;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.math.BigInteger;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.PrivateKey;
import java.security.cert.CertificateEncodingException;
import java.security.cert.X509Certificate;
import java.security.spec.MGF1ParameterSpec;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.UUID;
import java.util.regex.Pattern;
import javax.crypto.Cipher;
import javax.crypto.spec.OAEPParameterSpec;
import javax.crypto.spec.PSource;
import javax.xml.XMLConstants;
import javax.xml.crypto.MarshalException;
import javax.xml.crypto.dsig.CanonicalizationMethod;
import javax.xml.crypto.dsig.DigestMethod;
import javax.xml.crypto.dsig.Reference;
import javax.xml.crypto.dsig.SignatureMethod;
import javax.xml.crypto.dsig.SignedInfo;
import javax.xml.crypto.dsig.XMLSignature;
import javax.xml.crypto.dsig.XMLSignatureException;
import javax.xml.crypto.dsig.XMLSignatureFactory;
import javax.xml.crypto.dsig.dom.DOMValidateContext;
import javax.xml.crypto.dsig.keyinfo.KeyInfo;
import javax.xml.crypto.dsig.keyinfo.X509Data;
import javax.xml.parsers.DocumentBuilder;
import javax.xml.parsers.DocumentBuilderFactory;
import javax.xml.parsers.ParserConfigurationException;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.Node;
import org.xml.sax.SAXException;
import org.xml.sax.helpers.DefaultHandler;

/**
 * Parses and verifies an SMPTE ST 430-1 KDM: the structure Keycast writes (ETM root with
 * AuthenticatedPublic, AuthenticatedPrivate and Signature, in that order), the signature (exactly
 * the algorithms and the two references {@link KdmWriter} uses), the signer chain from KeyInfo as
 * an ST 430-2 signer chain ending in the expected root, the key window inside that chain's
 * validity, and, given the screen's private key, every cipher block: 138 bytes, the StructureID,
 * the signer's thumbprint, the CPL id, key type and id in KeyIdList order, and dates equal to the
 * XML's.
 *
 * <p>Input is capped at {@link #MAX_KDM_BYTES} before parsing; the parser refuses any DOCTYPE, so
 * no DTD, entity or external resource is ever read. Codes start with {@code kdm_}; a chain outside
 * the profile reports the {@code signer_certificate_*} code of the failed check.
 */
public final class KdmReader {
  /** The largest KDM accepted. */
  public static final int MAX_KDM_BYTES = 1 << 20;

  private static final int MAX_KEYS = ContentKeySet.MAX_KEYS;
  private static final Pattern URN_UUID =
      Pattern.compile(
          "urn:uuid:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}");

  private KdmReader() {}

  /**
   * Verifies {@code kdm} against {@code signerRoot} and, when {@code screenKey} is not {@code
   * null}, decrypts its blocks.
   */
  public static VerifiedKdm read(byte[] kdm, X509Certificate signerRoot, PrivateKey screenKey)
      throws CinemaException {
    return read(kdm, List.of(signerRoot), screenKey, v -> {});
  }

  /**
   * A check run on a KDM whose signature, signer chain and public fields verified, before any of
   * its blocks is decrypted (a DKDM's recipient and window, wire-format.md section 10.3).
   */
  @FunctionalInterface
  public interface BeforeDecryption {
    /** Throws to refuse {@code verified} (its {@code blocks} are still empty). */
    void check(VerifiedKdm verified) throws CinemaException;
  }

  /**
   * As {@link #read(byte[], X509Certificate, PrivateKey)}, trusting a signer chain that ends in
   * any of {@code trustedRoots} (compared whole, DER), and running {@code beforeDecryption} on the
   * verified public fields before decrypting with {@code key}.
   */
  public static VerifiedKdm read(
      byte[] kdm,
      List<X509Certificate> trustedRoots,
      PrivateKey key,
      BeforeDecryption beforeDecryption)
      throws CinemaException {
    PrivateKey screenKey = key;
    if (trustedRoots == null || trustedRoots.isEmpty()) {
      throw new CinemaException("kdm_signer_untrusted", "no trusted signer root was given");
    }
    if (kdm == null || kdm.length > MAX_KDM_BYTES) {
      throw new CinemaException("kdm_too_large", "a KDM is at most " + MAX_KDM_BYTES + " bytes");
    }
    Document doc = parse(kdm);
    Element root = doc.getDocumentElement();
    if (!is(root, KdmXml.ETM, "DCinemaSecurityMessage")) {
      throw malformed("the root element is not an ST 430-3 DCinemaSecurityMessage");
    }
    List<Element> top = children(root);
    if (top.size() != 3
        || !is(top.get(0), KdmXml.ETM, "AuthenticatedPublic")
        || !is(top.get(1), KdmXml.ETM, "AuthenticatedPrivate")
        || !is(top.get(2), KdmXml.DS, "Signature")) {
      throw malformed(
          "DCinemaSecurityMessage must hold AuthenticatedPublic, AuthenticatedPrivate and ds:Signature");
    }
    Element pub = top.get(0);
    Element priv = top.get(1);
    if (!KdmXml.ID_PUBLIC.equals(pub.getAttributeNS(null, "Id"))
        || !KdmXml.ID_PRIVATE.equals(priv.getAttributeNS(null, "Id"))) {
      throw malformed(
          "the Id attributes must be ID_AuthenticatedPublic and ID_AuthenticatedPrivate");
    }
    pub.setIdAttributeNS(null, "Id", true);
    priv.setIdAttributeNS(null, "Id", true);

    List<X509Certificate> chain = verifySignature(top.get(2), trustedRoots);

    // AuthenticatedPublic
    List<Element> p = children(pub);
    int i = 0;
    UUID messageId = uuid(text(expect(p, i++, KdmXml.ETM, "MessageId")));
    if (!KdmXml.MESSAGE_TYPE.equals(text(expect(p, i++, KdmXml.ETM, "MessageType")))) {
      throw malformed("MessageType is not " + KdmXml.MESSAGE_TYPE);
    }
    String annotation = null;
    if (i < p.size() && is(p.get(i), KdmXml.ETM, "AnnotationText")) {
      annotation = text(p.get(i++));
    }
    OffsetDateTime issueDate = KdmTimestamps.parse(text(expect(p, i++, KdmXml.ETM, "IssueDate")));
    Element signerEl = expect(p, i++, KdmXml.ETM, "Signer");
    List<Element> se = children(signerEl);
    X509Certificate leaf = chain.get(0);
    if (se.size() != 2
        || !is(se.get(0), KdmXml.DS, "X509IssuerName")
        || !is(se.get(1), KdmXml.DS, "X509SerialNumber")
        || !serial(text(se.get(1))).equals(leaf.getSerialNumber())) {
      throw new CinemaException(
          "kdm_signer_mismatch", "the Signer element does not name the KeyInfo leaf certificate");
    }
    Element required = expect(p, i++, KdmXml.ETM, "RequiredExtensions");
    expect(p, i++, KdmXml.ETM, "NonCriticalExtensions");
    if (i != p.size()) {
      throw malformed("AuthenticatedPublic has unexpected elements");
    }
    List<Element> req = children(required);
    if (req.size() != 1 || !is(req.get(0), KdmXml.KDM, "KDMRequiredExtensions")) {
      throw malformed("RequiredExtensions must hold one KDMRequiredExtensions");
    }
    List<Element> x = children(req.get(0));
    int j = 0;
    List<Element> recipient = children(expect(x, j++, KdmXml.KDM, "Recipient"));
    if (recipient.size() != 2
        || !is(recipient.get(0), KdmXml.KDM, "X509IssuerSerial")
        || !is(recipient.get(1), KdmXml.KDM, "X509SubjectName")) {
      throw malformed("Recipient must hold X509IssuerSerial and X509SubjectName");
    }
    List<Element> ris = children(recipient.get(0));
    if (ris.size() != 2
        || !is(ris.get(0), KdmXml.DS, "X509IssuerName")
        || !is(ris.get(1), KdmXml.DS, "X509SerialNumber")) {
      throw malformed("Recipient/X509IssuerSerial must hold X509IssuerName and X509SerialNumber");
    }
    String recipientIssuer = text(ris.get(0));
    BigInteger recipientSerial = serial(text(ris.get(1)));
    String recipientSubject = text(recipient.get(1));
    UUID cplId = uuid(text(expect(x, j++, KdmXml.KDM, "CompositionPlaylistId")));
    String title = text(expect(x, j++, KdmXml.KDM, "ContentTitleText"));
    String authenticator = null;
    if (j < x.size() && is(x.get(j), KdmXml.KDM, "ContentAuthenticator")) {
      authenticator = text(x.get(j++));
    }
    String notBeforeText = text(expect(x, j++, KdmXml.KDM, "ContentKeysNotValidBefore"));
    String notAfterText = text(expect(x, j++, KdmXml.KDM, "ContentKeysNotValidAfter"));
    OffsetDateTime notBefore = KdmTimestamps.parse(notBeforeText);
    OffsetDateTime notAfter = KdmTimestamps.parse(notAfterText);
    List<Element> adi = children(expect(x, j++, KdmXml.KDM, "AuthorizedDeviceInfo"));
    List<String> devices = new ArrayList<>();
    if (adi.isEmpty()
        || !is(adi.get(0), KdmXml.KDM, "DeviceListIdentifier")
        || !is(adi.get(adi.size() - 1), KdmXml.KDM, "DeviceList")) {
      throw malformed("AuthorizedDeviceInfo must hold DeviceListIdentifier and DeviceList");
    }
    for (Element t : children(adi.get(adi.size() - 1))) {
      if (!is(t, KdmXml.KDM, "CertificateThumbprint")
          || devices.size() >= KdmWriter.MAX_TRUSTED_DEVICES) {
        throw malformed(
            "DeviceList must hold 1 to "
                + KdmWriter.MAX_TRUSTED_DEVICES
                + " CertificateThumbprint");
      }
      devices.add(text(t));
    }
    List<VerifiedKdm.TypedKeyId> keyIds = new ArrayList<>();
    for (Element tk : children(expect(x, j++, KdmXml.KDM, "KeyIdList"))) {
      List<Element> f = children(tk);
      if (!is(tk, KdmXml.KDM, "TypedKeyId")
          || f.size() != 2
          || !is(f.get(0), KdmXml.KDM, "KeyType")
          || !is(f.get(1), KdmXml.KDM, "KeyId")
          || keyIds.size() >= MAX_KEYS) {
        throw malformed(
            "KeyIdList must hold 1 to " + MAX_KEYS + " TypedKeyId, each one KeyType and one KeyId");
      }
      keyIds.add(new VerifiedKdm.TypedKeyId(KeyType.parse(text(f.get(0))), uuid(text(f.get(1)))));
    }
    List<String> flags = new ArrayList<>();
    if (j < x.size() && is(x.get(j), KdmXml.KDM, "ForensicMarkFlagList")) {
      for (Element fl : children(x.get(j++))) {
        if (!is(fl, KdmXml.KDM, "ForensicMarkFlag") || flags.size() >= 16) {
          throw malformed("ForensicMarkFlagList must hold 1 to 16 ForensicMarkFlag");
        }
        flags.add(text(fl));
      }
    }
    if (j != x.size() || keyIds.isEmpty() || devices.isEmpty()) {
      throw malformed("KDMRequiredExtensions has missing or unexpected elements");
    }
    if (!notBefore.toInstant().isBefore(notAfter.toInstant())) {
      throw new CinemaException("kdm_window_inverted", "the key window must start before it ends");
    }
    for (X509Certificate c : chain) {
      if (notBefore.toInstant().isBefore(c.getNotBefore().toInstant())
          || notAfter.toInstant().isAfter(c.getNotAfter().toInstant())) {
        throw new CinemaException(
            "kdm_window_outside_signer_certificate",
            "the key window is not inside the validity of the signer chain");
      }
    }

    // AuthenticatedPrivate
    List<Element> keys = children(priv);
    if (keys.size() != keyIds.size()) {
      throw malformed("AuthenticatedPrivate must hold one EncryptedKey per TypedKeyId");
    }
    List<byte[]> ciphertexts = new ArrayList<>();
    for (Element ek : keys) {
      List<Element> f = children(ek);
      if (!is(ek, KdmXml.ENC, "EncryptedKey")
          || f.size() != 2
          || !is(f.get(0), KdmXml.ENC, "EncryptionMethod")
          || !KdmXml.RSA_OAEP_MGF1P.equals(f.get(0).getAttributeNS(null, "Algorithm"))
          || !is(f.get(1), KdmXml.ENC, "CipherData")) {
        throw malformed("each EncryptedKey must use rsa-oaep-mgf1p and hold CipherData");
      }
      List<Element> dm = children(f.get(0));
      if (dm.size() != 1
          || !is(dm.get(0), KdmXml.DS, "DigestMethod")
          || !KdmXml.SHA1.equals(dm.get(0).getAttributeNS(null, "Algorithm"))) {
        throw malformed("each EncryptionMethod must name the SHA-1 DigestMethod");
      }
      List<Element> cv = children(f.get(1));
      if (cv.size() != 1 || !is(cv.get(0), KdmXml.ENC, "CipherValue")) {
        throw malformed("each CipherData must hold one CipherValue");
      }
      String b64 = text(cv.get(0)).replaceAll("\\s", "");
      if (b64.length() > 1024) {
        throw malformed("a CipherValue is too long");
      }
      try {
        ciphertexts.add(Base64.getDecoder().decode(b64));
      } catch (IllegalArgumentException e) {
        throw malformed("a CipherValue is not base64");
      }
    }

    beforeDecryption.check(
        new VerifiedKdm(
            messageId,
            annotation,
            issueDate,
            recipientIssuer,
            recipientSerial,
            recipientSubject,
            cplId,
            title,
            authenticator,
            notBefore,
            notAfter,
            devices,
            keyIds,
            flags,
            chain,
            List.of()));
    List<KdmCipherBlock> blocks = new ArrayList<>();
    if (screenKey != null) {
      byte[] thumb = DcCertificates.thumbprint(leaf);
      for (int k = 0; k < ciphertexts.size(); k++) {
        KdmCipherBlock b = decrypt(screenKey, ciphertexts.get(k));
        VerifiedKdm.TypedKeyId id = keyIds.get(k);
        if (!MessageDigest.isEqual(b.signerThumbprint(), thumb)
            || !b.cplId().equals(cplId)
            || b.keyType() != id.type()
            || !b.keyId().equals(id.keyId())
            || !b.notValidBefore().equals(notBeforeText)
            || !b.notValidAfter().equals(notAfterText)) {
          throw new CinemaException(
              "kdm_cipher_block_mismatch",
              "cipher block "
                  + k
                  + " does not match the KDM's signer, CPL id, key id, key type or dates");
        }
        blocks.add(b);
      }
    }
    return new VerifiedKdm(
        messageId,
        annotation,
        issueDate,
        recipientIssuer,
        recipientSerial,
        recipientSubject,
        cplId,
        title,
        authenticator,
        notBefore,
        notAfter,
        devices,
        keyIds,
        flags,
        chain,
        blocks);
  }

  /**
   * The public fields that name a KDM file (wire-format.md section 9.5), read WITHOUT verifying
   * the signature, the signer chain or anything else: for naming files only, never for a
   * decision. The input is capped at {@link #MAX_KDM_BYTES} and parsed as {@link #read} parses
   * (no DOCTYPE, no entity, no external resource).
   */
  public record UnverifiedNames(
      UUID cplId,
      String contentTitle,
      OffsetDateTime notValidBefore,
      OffsetDateTime notValidAfter) {}

  /** {@link UnverifiedNames} of {@code kdm}; codes {@code kdm_too_large}, {@code kdm_malformed}. */
  public static UnverifiedNames readUnverifiedNames(byte[] kdm) throws CinemaException {
    if (kdm == null || kdm.length > MAX_KDM_BYTES) {
      throw new CinemaException("kdm_too_large", "a KDM is at most " + MAX_KDM_BYTES + " bytes");
    }
    Element root = parse(kdm).getDocumentElement();
    if (!is(root, KdmXml.ETM, "DCinemaSecurityMessage")) {
      throw malformed("the root element is not an ST 430-3 DCinemaSecurityMessage");
    }
    Element pub = child(root, KdmXml.ETM, "AuthenticatedPublic");
    Element req =
        child(child(pub, KdmXml.ETM, "RequiredExtensions"), KdmXml.KDM, "KDMRequiredExtensions");
    return new UnverifiedNames(
        uuid(text(child(req, KdmXml.KDM, "CompositionPlaylistId"))),
        text(child(req, KdmXml.KDM, "ContentTitleText")),
        KdmTimestamps.parse(text(child(req, KdmXml.KDM, "ContentKeysNotValidBefore"))),
        KdmTimestamps.parse(text(child(req, KdmXml.KDM, "ContentKeysNotValidAfter"))));
  }

  private static Element child(Element parent, String ns, String local) throws CinemaException {
    for (Element c : children(parent)) {
      if (is(c, ns, local)) {
        return c;
      }
    }
    throw malformed(parent.getLocalName() + " has no " + local);
  }

  private static KdmCipherBlock decrypt(PrivateKey key, byte[] ciphertext) throws CinemaException {
    byte[] plain = null;
    try {
      Cipher c = Cipher.getInstance(KdmXml.OAEP_TRANSFORMATION);
      c.init(
          Cipher.DECRYPT_MODE,
          key,
          new OAEPParameterSpec(
              "SHA-1", "MGF1", MGF1ParameterSpec.SHA1, PSource.PSpecified.DEFAULT));
      plain = c.doFinal(ciphertext);
      return KdmCipherBlock.decode(plain);
    } catch (GeneralSecurityException | CinemaException | RuntimeException e) {
      throw new CinemaException(
          "kdm_decryption_failed", "a KDM cipher block could not be decrypted with the screen key");
    } finally {
      if (plain != null) {
        Arrays.fill(plain, (byte) 0);
      }
    }
  }

  private static List<X509Certificate> verifySignature(
      Element sigEl, List<X509Certificate> trustedRoots) throws CinemaException {
    XMLSignatureFactory f = XMLSignatureFactory.getInstance("DOM");
    DOMValidateContext ctx = new DOMValidateContext(new LeafKeySelector(), sigEl);
    ctx.setProperty("org.jcp.xml.dsig.secureValidation", Boolean.TRUE);
    XMLSignature sig;
    try {
      sig = f.unmarshalXMLSignature(ctx);
    } catch (MarshalException e) {
      throw malformed("the ds:Signature does not parse");
    }
    SignedInfo si = sig.getSignedInfo();
    if (!CanonicalizationMethod.INCLUSIVE_WITH_COMMENTS.equals(
            si.getCanonicalizationMethod().getAlgorithm())
        || !SignatureMethod.RSA_SHA256.equals(si.getSignatureMethod().getAlgorithm())) {
      throw new CinemaException(
          "kdm_signature_algorithm",
          "a KDM signature is RSA-SHA256 with inclusive C14N with comments");
    }
    List<?> refs = si.getReferences();
    List<String> uris = List.of("#" + KdmXml.ID_PUBLIC, "#" + KdmXml.ID_PRIVATE);
    if (refs.size() != 2) {
      throw new CinemaException(
          "kdm_signature_references", "a KDM signature has exactly two references");
    }
    for (int k = 0; k < 2; k++) {
      Reference r = (Reference) refs.get(k);
      if (!uris.get(k).equals(r.getURI())
          || !r.getTransforms().isEmpty()
          || !DigestMethod.SHA256.equals(r.getDigestMethod().getAlgorithm())) {
        throw new CinemaException(
            "kdm_signature_references",
            "a KDM signature references #ID_AuthenticatedPublic and #ID_AuthenticatedPrivate with SHA-256, no transforms");
      }
    }
    List<X509Certificate> chain = keyInfoChain(sig.getKeyInfo());
    X509Certificate root = chain.get(chain.size() - 1);
    try {
      byte[] presented = root.getEncoded();
      boolean trusted = false;
      for (X509Certificate r : trustedRoots) {
        trusted |= MessageDigest.isEqual(presented, r.getEncoded()); // no early exit
      }
      if (!trusted) {
        throw new CinemaException(
            "kdm_signer_untrusted", "the KDM's signer chain does not end in a trusted signer root");
      }
    } catch (CertificateEncodingException e) {
      throw malformed("a certificate cannot be re-encoded");
    }
    // The profile checks that do not depend on time; the window is checked against validity later.
    DcCertificateChainValidator.validate(
        DcCertificateChainValidator.Kind.SIGNER, chain, latestNotBefore(chain));
    ctx.setKeySelector(
        javax.xml.crypto.KeySelector.singletonKeySelector(chain.get(0).getPublicKey()));
    boolean valid;
    try {
      valid = sig.validate(ctx);
    } catch (XMLSignatureException e) {
      valid = false;
    }
    if (!valid) {
      throw new CinemaException("kdm_signature_invalid", "the KDM's signature does not verify");
    }
    return chain;
  }

  private static java.time.Instant latestNotBefore(List<X509Certificate> chain) {
    java.time.Instant t = java.time.Instant.MIN;
    for (X509Certificate c : chain) {
      java.time.Instant nb = c.getNotBefore().toInstant();
      t = nb.isAfter(t) ? nb : t;
    }
    return t;
  }

  private static List<X509Certificate> keyInfoChain(KeyInfo ki) throws CinemaException {
    if (ki == null) {
      throw malformed("the signature has no KeyInfo");
    }
    List<X509Certificate> chain = new ArrayList<>();
    for (Object o : ki.getContent()) {
      if (!(o instanceof X509Data data)) {
        continue;
      }
      for (Object item : data.getContent()) {
        if (item instanceof X509Certificate c) {
          if (chain.size() >= DcCertificateChainValidator.MAX_CHAIN_LENGTH) {
            throw new CinemaException(
                "signer_certificate_chain_length", "the KeyInfo chain is too long");
          }
          chain.add(c);
        }
      }
    }
    if (chain.size() < 2) {
      throw new CinemaException(
          "signer_certificate_chain_length",
          "KeyInfo must carry the whole signer chain, leaf first");
    }
    return chain;
  }

  /** Unused at unmarshal time; the key is set once the chain is checked. */
  private static final class LeafKeySelector extends javax.xml.crypto.KeySelector {
    @Override
    public javax.xml.crypto.KeySelectorResult select(
        KeyInfo keyInfo,
        Purpose purpose,
        javax.xml.crypto.AlgorithmMethod method,
        javax.xml.crypto.XMLCryptoContext context)
        throws javax.xml.crypto.KeySelectorException {
      throw new javax.xml.crypto.KeySelectorException("no key before the chain is checked");
    }
  }

  private static Document parse(byte[] kdm) throws CinemaException {
    try {
      DocumentBuilderFactory dbf = DocumentBuilderFactory.newInstance();
      dbf.setNamespaceAware(true);
      dbf.setFeature(XMLConstants.FEATURE_SECURE_PROCESSING, true);
      dbf.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
      dbf.setFeature("http://xml.org/sax/features/external-general-entities", false);
      dbf.setFeature("http://xml.org/sax/features/external-parameter-entities", false);
      dbf.setFeature("http://apache.org/xml/features/nonvalidating/load-external-dtd", false);
      dbf.setAttribute(XMLConstants.ACCESS_EXTERNAL_DTD, "");
      dbf.setAttribute(XMLConstants.ACCESS_EXTERNAL_SCHEMA, "");
      dbf.setXIncludeAware(false);
      dbf.setExpandEntityReferences(false);
      DocumentBuilder db = dbf.newDocumentBuilder();
      db.setErrorHandler(new DefaultHandler());
      db.setEntityResolver(
          (publicId, systemId) -> {
            throw new SAXException("external entities are refused");
          });
      return db.parse(new ByteArrayInputStream(kdm));
    } catch (ParserConfigurationException e) {
      throw new IllegalStateException("the JDK's XML parser lacks a required safety feature", e);
    } catch (SAXException | IOException e) {
      throw malformed("the KDM is not well-formed XML without a DOCTYPE");
    }
  }

  private static Element expect(List<Element> list, int i, String ns, String local)
      throws CinemaException {
    if (i >= list.size() || !is(list.get(i), ns, local)) {
      throw malformed("expected " + local + " at position " + (i + 1));
    }
    return list.get(i);
  }

  private static boolean is(Element e, String ns, String local) {
    return ns.equals(e.getNamespaceURI()) && local.equals(e.getLocalName());
  }

  private static List<Element> children(Element e) throws CinemaException {
    List<Element> out = new ArrayList<>();
    for (Node n = e.getFirstChild(); n != null; n = n.getNextSibling()) {
      if (n instanceof Element c) {
        out.add(c);
      } else if (n.getNodeType() == Node.TEXT_NODE && !n.getNodeValue().isBlank()) {
        throw malformed("unexpected text in " + e.getLocalName());
      }
    }
    return out;
  }

  private static String text(Element e) throws CinemaException {
    for (Node n = e.getFirstChild(); n != null; n = n.getNextSibling()) {
      if (n.getNodeType() == Node.ELEMENT_NODE) {
        throw malformed(e.getLocalName() + " must hold text only");
      }
    }
    return e.getTextContent().strip();
  }

  private static UUID uuid(String urn) throws CinemaException {
    if (!URN_UUID.matcher(urn).matches()) {
      throw malformed("expected urn:uuid:..., got a different value");
    }
    return UUID.fromString(urn.substring("urn:uuid:".length()));
  }

  private static BigInteger serial(String decimal) throws CinemaException {
    if (!decimal.matches("[0-9]{1,50}")) {
      throw malformed("a serial number is a decimal integer");
    }
    return new BigInteger(decimal);
  }

  private static CinemaException malformed(String message) {
    return new CinemaException("kdm_malformed", message);
  }
}
