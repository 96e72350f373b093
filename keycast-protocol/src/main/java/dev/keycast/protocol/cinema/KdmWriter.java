package dev.keycast.protocol.cinema;

import dev.keycast.protocol.crypto.CryptoBackend;
import dev.keycast.protocol.crypto.CryptoBackends;
import dev.keycast.protocol.crypto.RsaSigningKey;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.UUID;

/**
 * Writes one SMPTE ST 430-1 KDM for one (CPL, screen), signed by a {@link KdmSigner}.
 *
 * <p>The XML follows the ST 430-3 ETM and ST 430-1 KDM schemas in element order. Each content key
 * becomes one {@code EncryptedKey}: the 138-byte {@link KdmCipherBlock} encrypted with RSA-OAEP
 * (SHA-1, MGF1-SHA-1, no label) to the screen's Security Manager key. The signature is RSA-SHA256
 * over SHA-256 references to {@code #ID_AuthenticatedPublic} and {@code #ID_AuthenticatedPrivate}
 * (no transforms), canonicalized with inclusive C14N with comments; KeyInfo carries the whole
 * signer chain, leaf first, each as X509IssuerSerial and X509Certificate.
 *
 * <p>How: a KDM's shape is fixed and Keycast writes all of it, so the writer emits the bytes
 * directly ({@link KdmXmlBuffer}): no DOM, no XML signature engine, no serializer. The signed
 * parts are written in their canonical form already (character data escaped as C14N escapes it,
 * no comments, no whitespace between elements); what differs in the canonical form of a signed
 * element is known and fixed: its start tag carries the three namespace declarations in scope
 * (inclusive C14N renders them on the apex of a document subset), and empty elements are written
 * {@code <a/>} in the document but {@code <a></a>} when canonical. The two reference digests are
 * SHA-256 over those canonical bytes, the canonical SignedInfo is built the same way and signed
 * with the signer's backend-held key ({@link RsaSigningKey}: OpenSSL where it loads). The bytes are
 * those the earlier DOM writer made (JDK {@code javax.xml.crypto.dsig}, Santuario's C14N and the
 * JDK's {@code Transformer}), byte for byte: {@code KdmWriterEquivalenceTest} keeps that writer as
 * the reference, and xmlsec1 verifies what this one writes ({@code KdmWriterTest}).
 *
 * <p>Refusals: a window whose start is not before its end, or that is not inside the validity of
 * every certificate of the screen's chain and of the signer's chain; a formulation whose trusted
 * devices or content authenticator are missing or present against its rule; malformed thumbprints
 * or forensic-mark flags; a content title or annotation with a lone surrogate. Given the same inputs
 * and the same {@code random} output, the bytes are the same (RSA-OAEP consumes randomness; PKCS #1
 * v1.5 signatures do not).
 */
public final class KdmWriter {
  /** At most this many trusted-device thumbprints per KDM. */
  public static final int MAX_TRUSTED_DEVICES = 64;

  /** The longest AnnotationText accepted. */
  public static final int MAX_ANNOTATION_LENGTH = 256;

  private static final String DECLARATIONS =
      " xmlns=\""
          + KdmXml.ETM
          + "\" xmlns:ds=\""
          + KdmXml.DS
          + "\" xmlns:enc=\""
          + KdmXml.ENC
          + "\"";
  private static final String HEAD =
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?><DCinemaSecurityMessage" + DECLARATIONS + ">";
  private static final String PUBLIC = "AuthenticatedPublic Id=\"" + KdmXml.ID_PUBLIC + "\"";
  private static final String PRIVATE = "AuthenticatedPrivate Id=\"" + KdmXml.ID_PRIVATE + "\"";
  private static final String C14N_WITH_COMMENTS =
      "http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments";
  private static final String RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";
  private static final String SHA256 = "http://www.w3.org/2001/04/xmlenc#sha256";

  /** The document's and the canonical form of the fixed parts, as bytes once per writer. */
  private final byte[] publicDocument = ascii("<" + PUBLIC + ">");

  private final byte[] publicCanonical =
      ascii("<AuthenticatedPublic" + DECLARATIONS + " Id=\"" + KdmXml.ID_PUBLIC + "\">");
  private final byte[] publicEndDocument = ascii("<NonCriticalExtensions/></AuthenticatedPublic>");
  private final byte[] publicEndCanonical =
      ascii("<NonCriticalExtensions></NonCriticalExtensions></AuthenticatedPublic>");
  private final byte[] privateDocument = ascii("<" + PRIVATE + ">");
  private final byte[] privateCanonical =
      ascii("<AuthenticatedPrivate" + DECLARATIONS + " Id=\"" + KdmXml.ID_PRIVATE + "\">");
  private final byte[] encryptedKeyDocument = ascii(encryptedKeyHead(false));
  private final byte[] encryptedKeyCanonical = ascii(encryptedKeyHead(true));
  private final byte[] encryptedKeyEnd =
      ascii("</enc:CipherValue></enc:CipherData></enc:EncryptedKey>");
  private final byte[] privateEnd = ascii("</AuthenticatedPrivate>");

  private final KdmXmlBuffer out = new KdmXmlBuffer(16384);
  private final KdmXmlBuffer signedInfo = new KdmXmlBuffer(1024);
  private final MessageDigest sha256;
  private final Base64.Encoder base64 = Base64.getEncoder();
  private final Base64.Encoder mime = Base64.getMimeEncoder(76, new byte[] {'\n'});

  /** The parts made from the last signer: its Signer element and its KeyInfo (the whole chain). */
  private KdmSigner partsSigner;

  private byte[] signerElement;
  private byte[] keyInfo;

  /** A writer that keeps its buffers for reuse: not thread-safe; use one per thread. */
  public KdmWriter() {
    try {
      sha256 = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("the JDK has no SHA-256", e);
    }
  }

  /** The KDM as UTF-8 XML bytes, with a writer made for this one call. */
  public static byte[] write(KdmSigner signer, KdmRequest request, SecureRandom random)
      throws CinemaException {
    return new KdmWriter().issue(signer, request, random);
  }

  /** The KDM as UTF-8 XML bytes. */
  public byte[] issue(KdmSigner signer, KdmRequest request, SecureRandom random)
      throws CinemaException {
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
    String title = request.keys().contentTitle();
    String annotation = request.annotationText() == null ? title : request.annotationText();
    if (annotation.isEmpty()
        || annotation.length() > MAX_ANNOTATION_LENGTH
        || !KdmText.isWritable(annotation)) {
      throw new CinemaException(
          "kdm_annotation",
          "the annotation text must be 1 to "
              + MAX_ANNOTATION_LENGTH
              + " characters that XML can carry, without control characters");
    }
    if (!KdmText.isWritable(title)) {
      throw new CinemaException(
          "kdm_content_title",
          "the content title holds a character XML cannot carry (a control character, U+FFFE,"
              + " U+FFFF or a lone surrogate)");
    }
    prepareSigner(signer);

    KdmXmlBuffer o = out;
    o.reset();
    o.markup(HEAD).raw(publicDocument);
    int publicStart = o.length();
    element(o, "MessageId", "urn:uuid:" + request.messageId());
    element(o, "MessageType", KdmXml.MESSAGE_TYPE);
    o.markup("<AnnotationText>").text(annotation).markup("</AnnotationText>");
    element(o, "IssueDate", issueDateText);
    o.raw(signerElement);
    o.markup("<RequiredExtensions><KDMRequiredExtensions xmlns=\"")
        .markup(KdmXml.KDM)
        .markup("\"><Recipient><X509IssuerSerial>");
    issuerSerial(o, request.screen().leafIssuerName(), request.screen().leaf());
    o.markup("</X509IssuerSerial><X509SubjectName>")
        .text(request.screen().leafSubjectName())
        .markup("</X509SubjectName></Recipient>");
    element(o, "CompositionPlaylistId", "urn:uuid:" + request.keys().cplId());
    o.markup("<ContentTitleText>").text(title).markup("</ContentTitleText>");
    if (authenticator != null) {
      element(o, "ContentAuthenticator", authenticator);
    }
    element(o, "ContentKeysNotValidBefore", notBeforeText);
    element(o, "ContentKeysNotValidAfter", notAfterText);
    o.markup("<AuthorizedDeviceInfo>");
    element(
        o,
        "DeviceListIdentifier",
        "urn:uuid:"
            + UUID.nameUUIDFromBytes(
                ("keycast-device-list:" + request.messageId()).getBytes(StandardCharsets.UTF_8)));
    o.markup("<DeviceList>");
    for (String d : devices) {
      element(o, "CertificateThumbprint", d);
    }
    o.markup("</DeviceList></AuthorizedDeviceInfo><KeyIdList>");
    for (ContentKey k : request.keys().keys()) {
      o.markup("<TypedKeyId><KeyType scope=\"")
          .markup(KdmXml.scope(k.type()))
          .markup("\">")
          .markup(k.type().name())
          .markup("</KeyType>");
      element(o, "KeyId", "urn:uuid:" + k.keyId());
      o.markup("</TypedKeyId>");
    }
    o.markup("</KeyIdList>");
    if (!request.forensicMarkFlags().isEmpty()) {
      o.markup("<ForensicMarkFlagList>");
      for (String flag : request.forensicMarkFlags()) {
        o.markup("<ForensicMarkFlag>").text(flag).markup("</ForensicMarkFlag>");
      }
      o.markup("</ForensicMarkFlagList>");
    }
    o.markup("</KDMRequiredExtensions></RequiredExtensions>");
    MessageDigest md = sha256;
    md.reset();
    md.update(publicCanonical);
    md.update(o.array(), publicStart, o.length() - publicStart);
    md.update(publicEndCanonical);
    byte[] publicDigest = md.digest();
    o.raw(publicEndDocument);

    o.raw(privateDocument);
    md.update(privateCanonical);
    byte[] thumbprint = signer.leafThumbprint();
    CryptoBackend rsa = CryptoBackends.get();
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
      byte[] value = base64.encode(ciphertext);
      o.raw(encryptedKeyDocument).raw(value).raw(encryptedKeyEnd);
      md.update(encryptedKeyCanonical);
      md.update(value);
      md.update(encryptedKeyEnd);
    }
    o.raw(privateEnd);
    md.update(privateEnd);
    byte[] privateDigest = md.digest();

    KdmXmlBuffer si = signedInfo;
    si.reset();
    si.markup("<ds:SignedInfo").markup(DECLARATIONS).markup(">");
    signedInfoBody(
        si, base64.encodeToString(publicDigest), base64.encodeToString(privateDigest), true);
    si.markup("</ds:SignedInfo>");
    byte[] signature = sign(signer, si);

    o.markup("<ds:Signature><ds:SignedInfo>");
    signedInfoBody(
        o, base64.encodeToString(publicDigest), base64.encodeToString(privateDigest), false);
    o.markup("</ds:SignedInfo><ds:SignatureValue>")
        .raw(mime.encode(signature))
        .markup("</ds:SignatureValue>")
        .raw(keyInfo)
        .markup("</ds:Signature></DCinemaSecurityMessage>\n");
    return o.toByteArray();
  }

  /** The RSA-SHA256 signature of the canonical SignedInfo, by the backend-held key (or the JDK's). */
  private static byte[] sign(KdmSigner signer, KdmXmlBuffer canonicalSignedInfo)
      throws CinemaException {
    RsaSigningKey held = signer.backendKey();
    try {
      if (held != null) {
        return held.signSha256(canonicalSignedInfo.array(), 0, canonicalSignedInfo.length());
      }
      Signature s = Signature.getInstance("SHA256withRSA");
      s.initSign(signer.privateKey());
      s.update(canonicalSignedInfo.array(), 0, canonicalSignedInfo.length());
      return s.sign();
    } catch (GeneralSecurityException | IllegalStateException e) {
      throw new CinemaException("kdm_signing_failed", "signing the KDM failed", e);
    }
  }

  /**
   * SignedInfo's children: the algorithms and the two references. Canonical, its empty elements
   * are written with end tags; in the document, as {@code <a/>}.
   */
  private static void signedInfoBody(
      KdmXmlBuffer b, String publicDigest, String privateDigest, boolean canonical) {
    empty(b, "ds:CanonicalizationMethod", C14N_WITH_COMMENTS, canonical);
    empty(b, "ds:SignatureMethod", RSA_SHA256, canonical);
    for (int i = 0; i < 2; i++) {
      b.markup("<ds:Reference URI=\"#")
          .markup(i == 0 ? KdmXml.ID_PUBLIC : KdmXml.ID_PRIVATE)
          .markup("\">");
      empty(b, "ds:DigestMethod", SHA256, canonical);
      b.markup("<ds:DigestValue>")
          .markup(i == 0 ? publicDigest : privateDigest)
          .markup("</ds:DigestValue></ds:Reference>");
    }
  }

  private static String encryptedKeyHead(boolean canonical) {
    KdmXmlBuffer b = new KdmXmlBuffer(256);
    b.markup("<enc:EncryptedKey><enc:EncryptionMethod Algorithm=\"")
        .markup(KdmXml.RSA_OAEP_MGF1P)
        .markup("\">");
    empty(b, "ds:DigestMethod", KdmXml.SHA1, canonical);
    b.markup("</enc:EncryptionMethod><enc:CipherData><enc:CipherValue>");
    return new String(b.toByteArray(), StandardCharsets.US_ASCII);
  }

  /** An element with one Algorithm attribute and no content. */
  private static void empty(KdmXmlBuffer b, String name, String algorithm, boolean canonical) {
    b.markup("<")
        .markup(name)
        .markup(" Algorithm=\"")
        .markup(algorithm)
        .markup(canonical ? "\"></" + name + ">" : "\"/>");
  }

  /**
   * The Signer element and the KeyInfo of {@code signer}, made once per writer and signer. KeyInfo:
   * per certificate of the chain, leaf first, an X509Data with its X509IssuerSerial and its
   * X509Certificate as base64 in 76-character lines ended by LF (none after the last).
   */
  private void prepareSigner(KdmSigner signer) throws CinemaException {
    if (partsSigner == signer) {
      return;
    }
    KdmXmlBuffer b = new KdmXmlBuffer(512);
    b.markup("<Signer>");
    issuerSerial(b, signer.issuerNames().get(0), signer.leaf());
    b.markup("</Signer>");
    byte[] signerBytes = b.toByteArray();
    b = new KdmXmlBuffer(4096 * signer.chain().size());
    b.markup("<ds:KeyInfo>");
    for (int i = 0; i < signer.chain().size(); i++) {
      X509Certificate c = signer.chain().get(i);
      b.markup("<ds:X509Data><ds:X509IssuerSerial>");
      issuerSerial(b, signer.issuerNames().get(i), c);
      b.markup("</ds:X509IssuerSerial><ds:X509Certificate>");
      try {
        b.raw(mime.encode(c.getEncoded()));
      } catch (java.security.cert.CertificateEncodingException e) {
        throw new CinemaException(
            "kdm_signing_failed", "a signer certificate cannot be encoded", e);
      }
      b.markup("</ds:X509Certificate></ds:X509Data>");
    }
    b.markup("</ds:KeyInfo>");
    keyInfo = b.toByteArray();
    signerElement = signerBytes;
    partsSigner = signer;
  }

  private static void issuerSerial(KdmXmlBuffer b, String issuerName, X509Certificate cert) {
    b.markup("<ds:X509IssuerName>")
        .text(issuerName)
        .markup("</ds:X509IssuerName><ds:X509SerialNumber>")
        .markup(cert.getSerialNumber().toString())
        .markup("</ds:X509SerialNumber>");
  }

  /** An element of the default namespace in scope whose content is ASCII that needs no escaping. */
  private static void element(KdmXmlBuffer b, String name, String content) {
    b.markup("<").markup(name).markup(">").markup(content).markup("</").markup(name).markup(">");
  }

  private static byte[] ascii(String s) {
    return new KdmXmlBuffer(s.length()).markup(s).toByteArray();
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
}
