package dev.keycast.protocol.cinema;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.UUID;
import javax.xml.XMLConstants;
import javax.xml.crypto.dsig.CanonicalizationMethod;
import javax.xml.crypto.dsig.DigestMethod;
import javax.xml.crypto.dsig.Reference;
import javax.xml.crypto.dsig.SignatureMethod;
import javax.xml.crypto.dsig.SignedInfo;
import javax.xml.crypto.dsig.XMLSignature;
import javax.xml.crypto.dsig.XMLSignatureFactory;
import javax.xml.crypto.dsig.dom.DOMSignContext;
import javax.xml.crypto.dsig.keyinfo.KeyInfo;
import javax.xml.crypto.dsig.keyinfo.KeyInfoFactory;
import javax.xml.crypto.dsig.keyinfo.X509Data;
import javax.xml.parsers.DocumentBuilderFactory;
import javax.xml.parsers.ParserConfigurationException;
import javax.xml.transform.OutputKeys;
import javax.xml.transform.Transformer;
import javax.xml.transform.TransformerException;
import javax.xml.transform.TransformerFactory;
import javax.xml.transform.dom.DOMSource;
import javax.xml.transform.stream.StreamResult;
import org.w3c.dom.Document;
import org.w3c.dom.Element;

/**
 * Test only: the KDM writer as it was up to December 2026 (a DOM, the JDK's XML signature engine
 * with Apache Santuario's C14N, and the JDK's Transformer), kept as the reference that {@link
 * KdmWriter}'s direct canonical writer must reproduce byte for byte ({@code KdmWriterEquivalenceTest}).
 * It signs with the JDK's {@code SHA256withRSA} and the signer's JDK key: PKCS #1 v1.5 signatures
 * are deterministic, so the bytes are those the backend-held key would give.
 *
 * <p>The original description: writes one SMPTE ST 430-1 KDM for one (CPL, screen), signed by a
 * {@link KdmSigner}.
 *
 * <p>The XML follows the ST 430-3 ETM and ST 430-1 KDM schemas in element order. Each content key
 * becomes one {@code EncryptedKey}: the 138-byte {@link KdmCipherBlock} encrypted with RSA-OAEP
 * (SHA-1, MGF1-SHA-1, no label) to the screen's Security Manager key. The signature is RSA-SHA256
 * over SHA-256 references to {@code #ID_AuthenticatedPublic} and {@code #ID_AuthenticatedPrivate}
 * (no transforms), canonicalized with inclusive C14N with comments; KeyInfo carries the whole
 * signer chain, leaf first, each as X509IssuerSerial and X509Certificate.
 *
 * <p>Refusals: a window whose start is not before its end, or that is not inside the validity of
 * every certificate of the screen's chain and of the signer's chain; a formulation whose trusted
 * devices or content authenticator are missing or present against its rule; malformed thumbprints
 * or forensic-mark flags. Given the same inputs and the same {@code random} output, the bytes are
 * the same (RSA-OAEP consumes randomness; PKCS #1 v1.5 signatures do not).
 */
final class DomKdmWriter {
  /** At most this many trusted-device thumbprints per KDM. */
  static final int MAX_TRUSTED_DEVICES = KdmWriter.MAX_TRUSTED_DEVICES;

  /** The longest AnnotationText accepted. */
  static final int MAX_ANNOTATION_LENGTH = KdmWriter.MAX_ANNOTATION_LENGTH;

  private final javax.xml.parsers.DocumentBuilder documents;
  private final Transformer serializer;
  private final XMLSignatureFactory signatures;

  /**
   * A writer that keeps its XML factories for reuse: cheaper per KDM, but not thread-safe; use
   * one per thread.
   */
  DomKdmWriter() {
    try {
      DocumentBuilderFactory dbf = DocumentBuilderFactory.newInstance();
      dbf.setNamespaceAware(true);
      dbf.setFeature(XMLConstants.FEATURE_SECURE_PROCESSING, true);
      documents = dbf.newDocumentBuilder();
      TransformerFactory tf = TransformerFactory.newInstance();
      tf.setFeature(XMLConstants.FEATURE_SECURE_PROCESSING, true);
      serializer = tf.newTransformer();
      serializer.setOutputProperty(OutputKeys.ENCODING, "UTF-8");
      serializer.setOutputProperty(OutputKeys.INDENT, "no");
      signatures = XMLSignatureFactory.getInstance("DOM");
    } catch (ParserConfigurationException
        | javax.xml.transform.TransformerConfigurationException e) {
      throw new IllegalStateException("the JDK's XML machinery is unavailable", e);
    }
  }

  /** The KDM as UTF-8 XML bytes, with a writer made for this one call. */
  static byte[] write(KdmSigner signer, KdmRequest request, SecureRandom random)
      throws CinemaException {
    return new DomKdmWriter().issue(signer, request, random);
  }

  /** The KDM as UTF-8 XML bytes. */
  byte[] issue(KdmSigner signer, KdmRequest request, SecureRandom random) throws CinemaException {
    OffsetDateTime notBefore = request.notValidBefore().truncatedTo(ChronoUnit.SECONDS);
    OffsetDateTime notAfter = request.notValidAfter().truncatedTo(ChronoUnit.SECONDS);
    String notBeforeText = KdmTimestamps.format(notBefore);
    String notAfterText = KdmTimestamps.format(notAfter);
    String issueDateText = KdmTimestamps.format(request.issueDate());
    if (!notBefore.toInstant().isBefore(notAfter.toInstant())) {
      throw new CinemaException("kdm_window_inverted", "the key window must start before it ends");
    }
    checkInside(
        "kdm_window_outside_screen_certificate",
        "the screen's certificate chain",
        request.screen().chain(),
        notBefore.toInstant(),
        notAfter.toInstant());
    checkInside(
        "kdm_window_outside_signer_certificate",
        "the KDM signer's certificate chain",
        signer.chain(),
        notBefore.toInstant(),
        notAfter.toInstant());
    List<String> devices = deviceList(request);
    String authenticator = contentAuthenticator(request);
    for (String flag : request.forensicMarkFlags()) {
      if (!ForensicMarkFlags.isKnown(flag)) {
        throw new CinemaException(
            "kdm_forensic_mark_flag",
            "forensic-mark flags are the ST 430-1 picture-disable, audio-disable and audio-disable-above-channel-N URIs");
      }
    }
    String annotation =
        request.annotationText() == null ? request.keys().contentTitle() : request.annotationText();
    if (annotation.isEmpty()
        || annotation.length() > MAX_ANNOTATION_LENGTH
        || annotation.chars().anyMatch(Character::isISOControl)) {
      throw new CinemaException(
          "kdm_annotation",
          "the annotation text must be 1 to "
              + MAX_ANNOTATION_LENGTH
              + " characters without control characters");
    }

    Document doc = documents.newDocument();
    doc.setXmlStandalone(true);
    Element root = doc.createElementNS(KdmXml.ETM, "DCinemaSecurityMessage");
    doc.appendChild(root);
    root.setAttributeNS(KdmXml.XMLNS, "xmlns", KdmXml.ETM);
    root.setAttributeNS(KdmXml.XMLNS, "xmlns:ds", KdmXml.DS);
    root.setAttributeNS(KdmXml.XMLNS, "xmlns:enc", KdmXml.ENC);

    Element pub = etm(doc, root, "AuthenticatedPublic", null);
    pub.setAttributeNS(null, "Id", KdmXml.ID_PUBLIC);
    pub.setIdAttributeNS(null, "Id", true);
    etm(doc, pub, "MessageId", "urn:uuid:" + request.messageId());
    etm(doc, pub, "MessageType", KdmXml.MESSAGE_TYPE);
    etm(doc, pub, "AnnotationText", annotation);
    etm(doc, pub, "IssueDate", issueDateText);
    Element signerEl = etm(doc, pub, "Signer", null);
    issuerSerial(doc, signerEl, signer.issuerNames().get(0), signer.leaf());
    Element required = etm(doc, pub, "RequiredExtensions", null);
    Element ext = doc.createElementNS(KdmXml.KDM, "KDMRequiredExtensions");
    ext.setAttributeNS(KdmXml.XMLNS, "xmlns", KdmXml.KDM);
    required.appendChild(ext);
    Element recipient = kdm(doc, ext, "Recipient", null);
    Element ris = kdm(doc, recipient, "X509IssuerSerial", null);
    issuerSerial(doc, ris, request.screen().leafIssuerName(), request.screen().leaf());
    kdm(doc, recipient, "X509SubjectName", request.screen().leafSubjectName());
    kdm(doc, ext, "CompositionPlaylistId", "urn:uuid:" + request.keys().cplId());
    kdm(doc, ext, "ContentTitleText", request.keys().contentTitle());
    if (authenticator != null) {
      kdm(doc, ext, "ContentAuthenticator", authenticator);
    }
    kdm(doc, ext, "ContentKeysNotValidBefore", notBeforeText);
    kdm(doc, ext, "ContentKeysNotValidAfter", notAfterText);
    Element adi = kdm(doc, ext, "AuthorizedDeviceInfo", null);
    kdm(
        doc,
        adi,
        "DeviceListIdentifier",
        "urn:uuid:"
            + UUID.nameUUIDFromBytes(
                ("keycast-device-list:" + request.messageId()).getBytes(StandardCharsets.UTF_8)));
    Element dl = kdm(doc, adi, "DeviceList", null);
    for (String d : devices) {
      kdm(doc, dl, "CertificateThumbprint", d);
    }
    Element kil = kdm(doc, ext, "KeyIdList", null);
    for (ContentKey k : request.keys().keys()) {
      Element tk = kdm(doc, kil, "TypedKeyId", null);
      Element type = kdm(doc, tk, "KeyType", k.type().name());
      type.setAttributeNS(null, "scope", KdmXml.scope(k.type()));
      kdm(doc, tk, "KeyId", "urn:uuid:" + k.keyId());
    }
    if (!request.forensicMarkFlags().isEmpty()) {
      Element fl = kdm(doc, ext, "ForensicMarkFlagList", null);
      for (String flag : request.forensicMarkFlags()) {
        kdm(doc, fl, "ForensicMarkFlag", flag);
      }
    }
    etm(doc, pub, "NonCriticalExtensions", null);

    Element priv = etm(doc, root, "AuthenticatedPrivate", null);
    priv.setAttributeNS(null, "Id", KdmXml.ID_PRIVATE);
    priv.setIdAttributeNS(null, "Id", true);
    byte[] thumbprint = signer.leafThumbprint();
    dev.keycast.protocol.crypto.CryptoBackend rsa =
        dev.keycast.protocol.crypto.CryptoBackends.get();
    for (ContentKey k : request.keys().keys()) {
      byte[] aes = k.key();
      byte[] block =
          new KdmCipherBlock(
                  thumbprint,
                  request.keys().cplId(),
                  k.type(),
                  k.keyId(),
                  notBeforeText,
                  notAfterText,
                  aes)
              .encode();
      byte[] ciphertext;
      try {
        // RSA-OAEP with SHA-1 and MGF1-SHA-1 (KdmXml.OAEP_TRANSFORMATION) on the process's crypto
        // backend: the RSA public operation on libcrypto where it loads
        ciphertext = rsa.rsaOaepSha1Encrypt(request.screen().publicKey(), block, random);
      } catch (IllegalArgumentException e) {
        throw new IllegalStateException(
            "RSA-OAEP encryption of a 138-byte block to an RSA-2048 key failed", e);
      } finally {
        Arrays.fill(block, (byte) 0);
        Arrays.fill(aes, (byte) 0);
      }
      Element ek = doc.createElementNS(KdmXml.ENC, "enc:EncryptedKey");
      priv.appendChild(ek);
      Element em = doc.createElementNS(KdmXml.ENC, "enc:EncryptionMethod");
      em.setAttributeNS(null, "Algorithm", KdmXml.RSA_OAEP_MGF1P);
      ek.appendChild(em);
      Element dm = doc.createElementNS(KdmXml.DS, "ds:DigestMethod");
      dm.setAttributeNS(null, "Algorithm", KdmXml.SHA1);
      em.appendChild(dm);
      Element cd = doc.createElementNS(KdmXml.ENC, "enc:CipherData");
      ek.appendChild(cd);
      Element cv = doc.createElementNS(KdmXml.ENC, "enc:CipherValue");
      cv.setTextContent(Base64.getEncoder().encodeToString(ciphertext));
      cd.appendChild(cv);
    }

    sign(doc, root, signer);
    dropCarriageReturns(root);
    return serialize(doc);
  }

  private static void checkInside(
      String code, String what, List<X509Certificate> chain, Instant from, Instant to)
      throws CinemaException {
    for (X509Certificate c : chain) {
      if (from.isBefore(c.getNotBefore().toInstant()) || to.isAfter(c.getNotAfter().toInstant())) {
        throw new CinemaException(
            code,
            "the key window "
                + from
                + " to "
                + to
                + " is not inside the validity of "
                + what
                + " ("
                + c.getNotBefore().toInstant()
                + " to "
                + c.getNotAfter().toInstant()
                + ")");
      }
    }
  }

  private static List<String> deviceList(KdmRequest r) throws CinemaException {
    List<String> given = r.trustedDeviceThumbprints();
    if (!r.formulation().needsTrustedDevices()) {
      if (!given.isEmpty()) {
        throw new CinemaException(
            "kdm_trusted_devices",
            r.formulation().wireName()
                + " lists no trusted devices (its DeviceList is \"assume trust\")");
      }
      return List.of(DcCertificates.ASSUME_TRUST_THUMBPRINT);
    }
    if (given.isEmpty() || given.size() > MAX_TRUSTED_DEVICES) {
      throw new CinemaException(
          "kdm_trusted_devices",
          r.formulation().wireName()
              + " needs 1 to "
              + MAX_TRUSTED_DEVICES
              + " trusted-device thumbprints");
    }
    List<String> out = new ArrayList<>();
    for (String t : given) {
      out.add(thumbprint("kdm_trusted_devices", t));
    }
    return out;
  }

  private static String contentAuthenticator(KdmRequest r) throws CinemaException {
    String ca = r.contentAuthenticator();
    if (!r.formulation().needsContentAuthenticator()) {
      if (ca != null) {
        throw new CinemaException(
            "kdm_content_authenticator",
            r.formulation().wireName() + " has no ContentAuthenticator");
      }
      return null;
    }
    if (ca == null) {
      throw new CinemaException(
          "kdm_content_authenticator",
          r.formulation().wireName()
              + " needs the CPL signer's certificate thumbprint as ContentAuthenticator");
    }
    return thumbprint("kdm_content_authenticator", ca);
  }

  /** A base64 SHA-1 thumbprint (20 bytes), re-encoded canonically. */
  private static String thumbprint(String code, String b64) throws CinemaException {
    byte[] raw;
    try {
      raw = b64 == null || b64.length() != 28 ? null : Base64.getDecoder().decode(b64);
    } catch (IllegalArgumentException e) {
      raw = null;
    }
    if (raw == null || raw.length != 20) {
      throw new CinemaException(code, "a certificate thumbprint is base64 of 20 bytes (SHA-1)");
    }
    return Base64.getEncoder().encodeToString(raw);
  }

  /**
   * The parts of a signature that do not change from one KDM to the next: the algorithms, and the
   * KeyInfo of the last signer (its whole chain); made once per writer (and signer), which saves
   * a service lookup and a chain walk per KDM. The References are made anew for each KDM: signing
   * stores their digests in them.
   */
  private DigestMethod sha256;

  private CanonicalizationMethod c14n;
  private SignatureMethod rsaSha256;
  private KdmSigner keyInfoSigner;
  private KeyInfo keyInfo;

  private void sign(Document doc, Element root, KdmSigner signer) throws CinemaException {
    try {
      XMLSignatureFactory f = signatures;
      if (sha256 == null) {
        sha256 = f.newDigestMethod(DigestMethod.SHA256, null);
        c14n =
            f.newCanonicalizationMethod(
                CanonicalizationMethod.INCLUSIVE_WITH_COMMENTS,
                (javax.xml.crypto.dsig.spec.C14NMethodParameterSpec) null);
        rsaSha256 = f.newSignatureMethod(SignatureMethod.RSA_SHA256, null);
      }
      if (keyInfoSigner != signer) {
        keyInfo = keyInfo(f.getKeyInfoFactory(), signer);
        keyInfoSigner = signer;
      }
      List<Reference> refs =
          List.of(
              f.newReference("#" + KdmXml.ID_PUBLIC, sha256),
              f.newReference("#" + KdmXml.ID_PRIVATE, sha256));
      SignedInfo si = f.newSignedInfo(c14n, rsaSha256, refs);
      XMLSignature sig = f.newXMLSignature(si, keyInfo);
      DOMSignContext ctx = new DOMSignContext(signer.privateKey(), root);
      ctx.setDefaultNamespacePrefix("ds");
      sig.sign(ctx);
    } catch (GeneralSecurityException
        | javax.xml.crypto.MarshalException
        | javax.xml.crypto.dsig.XMLSignatureException e) {
      throw new CinemaException("kdm_signing_failed", "signing the KDM failed", e);
    }
  }

  /**
   * The signer's KeyInfo: per certificate of the chain, leaf first, an X509Data with its
   * X509IssuerSerial and its X509Certificate. The certificate elements are built here once, as
   * base64 in 76-character lines ended by LF (the JDK's own marshalling ends them with CR LF,
   * which serializes as "&amp;#13;" and had to be stripped from every KDM); the engine imports
   * them into each document.
   */
  private KeyInfo keyInfo(KeyInfoFactory kif, KdmSigner signer) throws CinemaException {
    Document holder = documents.newDocument();
    Base64.Encoder mime = Base64.getMimeEncoder(76, new byte[] {'\n'});
    List<X509Data> data = new ArrayList<>();
    for (int i = 0; i < signer.chain().size(); i++) {
      X509Certificate c = signer.chain().get(i);
      Element cert = holder.createElementNS(KdmXml.DS, "ds:X509Certificate");
      try {
        cert.setTextContent(mime.encodeToString(c.getEncoded()));
      } catch (java.security.cert.CertificateEncodingException e) {
        throw new CinemaException(
            "kdm_signing_failed", "a signer certificate cannot be encoded", e);
      }
      data.add(
          kif.newX509Data(
              List.of(
                  kif.newX509IssuerSerial(signer.issuerNames().get(i), c.getSerialNumber()),
                  new javax.xml.crypto.dom.DOMStructure(cert))));
    }
    return kif.newKeyInfo(new ArrayList<>(data));
  }

  /**
   * The JDK wraps base64 with CR LF, which serializes as "&amp;#13;". SignatureValue lies outside
   * the signed references, so its line ends may change after signing. It is found from the
   * Signature element (the root's last child) rather than by searching the whole document.
   */
  private static void dropCarriageReturns(Element root) {
    Element signature = (Element) root.getLastChild();
    for (org.w3c.dom.Node n = signature.getFirstChild(); n != null; n = n.getNextSibling()) {
      if (n instanceof Element e
          && KdmXml.DS.equals(e.getNamespaceURI())
          && "SignatureValue".equals(e.getLocalName())) {
        stripCr(e);
      }
    }
  }

  private static void stripCr(Element e) {
    String text = e.getTextContent();
    if (text.indexOf('\r') >= 0) {
      e.setTextContent(text.replace("\r", ""));
    }
  }

  private static void issuerSerial(
      Document doc, Element parent, String issuerName, X509Certificate cert) {
    Element name = doc.createElementNS(KdmXml.DS, "ds:X509IssuerName");
    name.setTextContent(issuerName);
    parent.appendChild(name);
    Element serial = doc.createElementNS(KdmXml.DS, "ds:X509SerialNumber");
    serial.setTextContent(cert.getSerialNumber().toString());
    parent.appendChild(serial);
  }

  private static Element etm(Document doc, Element parent, String local, String text) {
    return child(doc, parent, KdmXml.ETM, local, text);
  }

  private static Element kdm(Document doc, Element parent, String local, String text) {
    return child(doc, parent, KdmXml.KDM, local, text);
  }

  private static Element child(Document doc, Element parent, String ns, String local, String text) {
    Element e = doc.createElementNS(ns, local);
    if (text != null) {
      e.setTextContent(text);
    }
    parent.appendChild(e);
    return e;
  }

  private byte[] serialize(Document doc) {
    try {
      ByteArrayOutputStream out = new ByteArrayOutputStream(16384);
      serializer.transform(new DOMSource(doc), new StreamResult(out));
      out.write('\n');
      return out.toByteArray();
    } catch (TransformerException e) {
      throw new IllegalStateException("serializing the KDM failed", e);
    }
  }
}
