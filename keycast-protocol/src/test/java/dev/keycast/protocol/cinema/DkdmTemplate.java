package dev.keycast.protocol.cinema;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.UUID;

/**
 * Test support for issue 25: a DKDM built by a path INDEPENDENT of Keycast's KDM writer. The XML
 * is a hand-written ST 430-1 template filled by string substitution; the recipient's names come
 * from {@code openssl x509 -nameopt RFC2253}; each 138-byte block is packed here byte by byte
 * (CINEMA.md section 1.3) and encrypted by {@code openssl pkeyutl -encrypt -pkeyopt
 * rsa_padding_mode:oaep} (SHA-1/MGF1-SHA-1, as libdcp); the signature is made by {@code xmlsec1
 * --sign} (RSA-SHA256, C14N with comments, KeyInfo = the studio chain, leaf first).
 */
public final class DkdmTemplate {
  private DkdmTemplate() {}

  /** One content key of the template. */
  public record Key(String type, UUID keyId, byte[] aesKey) {}

  /** What goes into one DKDM. */
  public record Spec(UUID cplId, String title, String notBefore, String notAfter, List<Key> keys) {}

  private static final String STRUCTURE_ID = "f1dc124460169a0e85bc300642f866ab";

  /**
   * Writes, encrypts and signs a DKDM in {@code dir}: addressed to {@code recipient}, keys
   * encrypted to {@code encryptTo} (normally the recipient's key), signed by {@code studioLeafKey}
   * with {@code studioChain} (leaf first) in KeyInfo. Returns the signed XML's bytes.
   */
  public static byte[] build(
      Path dir,
      Spec spec,
      X509Certificate recipient,
      X509Certificate encryptTo,
      List<X509Certificate> studioChain,
      PrivateKey studioLeafKey)
      throws Exception {
    Files.createDirectories(dir);
    Path recipientPem = pem(dir.resolve("recipient.pem"), "CERTIFICATE", recipient.getEncoded());
    Path encryptPem = pem(dir.resolve("encrypt-to.pem"), "CERTIFICATE", encryptTo.getEncoded());
    Path leafPem =
        pem(dir.resolve("studio-leaf.pem"), "CERTIFICATE", studioChain.get(0).getEncoded());
    String recipientIssuer = nameOf(recipientPem, "-issuer");
    String recipientSubject = nameOf(recipientPem, "-subject");
    String signerIssuer = nameOf(leafPem, "-issuer");
    ExternalTools.sh(
        "openssl x509 -in " + encryptPem + " -pubkey -noout > " + dir.resolve("encrypt-to.pub"));
    byte[] signerThumb =
        MessageDigest.getInstance("SHA-1").digest(studioChain.get(0).getTBSCertificate());

    StringBuilder typed = new StringBuilder();
    StringBuilder encrypted = new StringBuilder();
    int i = 0;
    for (Key k : spec.keys()) {
      typed
          .append(
              "<TypedKeyId><KeyType scope=\"http://www.smpte-ra.org/430-1/2006/KDM#kdm-key-type\">")
          .append(k.type())
          .append("</KeyType><KeyId>urn:uuid:")
          .append(k.keyId())
          .append("</KeyId></TypedKeyId>\n");
      ByteBuffer b = ByteBuffer.allocate(138);
      b.put(HexFormat.of().parseHex(STRUCTURE_ID))
          .put(signerThumb)
          .put(uuid(spec.cplId()))
          .put(k.type().getBytes(StandardCharsets.US_ASCII))
          .put(uuid(k.keyId()))
          .put(spec.notBefore().getBytes(StandardCharsets.US_ASCII))
          .put(spec.notAfter().getBytes(StandardCharsets.US_ASCII))
          .put(k.aesKey());
      Path plain = dir.resolve("block-" + i + ".bin");
      Files.write(plain, b.array());
      Path ct = dir.resolve("block-" + i + ".enc");
      ExternalTools.sh(
          "openssl pkeyutl -encrypt -pubin -inkey "
              + dir.resolve("encrypt-to.pub")
              + " -pkeyopt rsa_padding_mode:oaep -in "
              + plain
              + " -out "
              + ct);
      Files.delete(plain);
      encrypted
          .append(
              "<enc:EncryptedKey><enc:EncryptionMethod Algorithm=\"http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p\">"
                  + "<dsig:DigestMethod Algorithm=\"http://www.w3.org/2000/09/xmldsig#sha1\"/></enc:EncryptionMethod>"
                  + "<enc:CipherData><enc:CipherValue>")
          .append(Base64.getEncoder().encodeToString(Files.readAllBytes(ct)))
          .append("</enc:CipherValue></enc:CipherData></enc:EncryptedKey>\n");
      i++;
    }
    String xml =
        """
        <?xml version="1.0" encoding="UTF-8" standalone="no"?>
        <DCinemaSecurityMessage xmlns="http://www.smpte-ra.org/schemas/430-3/2006/ETM" xmlns:dsig="http://www.w3.org/2000/09/xmldsig#" xmlns:enc="http://www.w3.org/2001/04/xmlenc#">
        <AuthenticatedPublic Id="ID_AuthenticatedPublic">
        <MessageId>urn:uuid:%s</MessageId>
        <MessageType>http://www.smpte-ra.org/430-1/2006/KDM#kdm-key-type</MessageType>
        <AnnotationText>DKDM for %s (test template)</AnnotationText>
        <IssueDate>%s</IssueDate>
        <Signer><dsig:X509IssuerName>%s</dsig:X509IssuerName><dsig:X509SerialNumber>%s</dsig:X509SerialNumber></Signer>
        <RequiredExtensions>
        <KDMRequiredExtensions xmlns="http://www.smpte-ra.org/schemas/430-1/2006/KDM">
        <Recipient><X509IssuerSerial><dsig:X509IssuerName>%s</dsig:X509IssuerName><dsig:X509SerialNumber>%s</dsig:X509SerialNumber></X509IssuerSerial><X509SubjectName>%s</X509SubjectName></Recipient>
        <CompositionPlaylistId>urn:uuid:%s</CompositionPlaylistId>
        <ContentTitleText>%s</ContentTitleText>
        <ContentKeysNotValidBefore>%s</ContentKeysNotValidBefore>
        <ContentKeysNotValidAfter>%s</ContentKeysNotValidAfter>
        <AuthorizedDeviceInfo><DeviceListIdentifier>urn:uuid:%s</DeviceListIdentifier><DeviceList><CertificateThumbprint>2jmj7l5rSw0yVb/vlWAYkK/YBwk=</CertificateThumbprint></DeviceList></AuthorizedDeviceInfo>
        <KeyIdList>
        %s</KeyIdList>
        </KDMRequiredExtensions>
        </RequiredExtensions>
        <NonCriticalExtensions/>
        </AuthenticatedPublic>
        <AuthenticatedPrivate Id="ID_AuthenticatedPrivate">
        %s</AuthenticatedPrivate>
        <dsig:Signature><dsig:SignedInfo><dsig:CanonicalizationMethod Algorithm="http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments"/><dsig:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/><dsig:Reference URI="#ID_AuthenticatedPublic"><dsig:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><dsig:DigestValue/></dsig:Reference><dsig:Reference URI="#ID_AuthenticatedPrivate"><dsig:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><dsig:DigestValue/></dsig:Reference></dsig:SignedInfo><dsig:SignatureValue/><dsig:KeyInfo><dsig:X509Data/></dsig:KeyInfo></dsig:Signature>
        </DCinemaSecurityMessage>
        """
            .formatted(
                UUID.randomUUID(),
                spec.title(),
                spec.notBefore(),
                signerIssuer,
                studioChain.get(0).getSerialNumber(),
                recipientIssuer,
                recipient.getSerialNumber(),
                recipientSubject,
                spec.cplId(),
                spec.title(),
                spec.notBefore(),
                spec.notAfter(),
                UUID.randomUUID(),
                typed,
                encrypted);
    Path template = dir.resolve("template.xml");
    Files.writeString(template, xml);
    Path key = pem(dir.resolve("studio-leaf.key"), "PRIVATE KEY", studioLeafKey.getEncoded());
    List<String> certs = new ArrayList<>();
    for (int c = 0; c < studioChain.size(); c++) {
      certs.add(
          pem(dir.resolve("studio-" + c + ".pem"), "CERTIFICATE", studioChain.get(c).getEncoded())
              .toString());
    }
    Path signed = dir.resolve("dkdm.xml");
    ExternalTools.sh(
        "xmlsec1 --sign --privkey-pem "
            + key
            + ","
            + String.join(",", certs)
            + " --id-attr:Id http://www.smpte-ra.org/schemas/430-3/2006/ETM:AuthenticatedPublic"
            + " --id-attr:Id http://www.smpte-ra.org/schemas/430-3/2006/ETM:AuthenticatedPrivate"
            + " --output "
            + signed
            + " "
            + template);
    Files.delete(key);
    return Files.readAllBytes(signed);
  }

  /** xmlsec1 and openssl are present (skipped off CI, failed on CI). */
  public static void requireTools() {
    ExternalTools.require("xmlsec1");
    ExternalTools.requireOpenssl();
  }

  /** Verifies {@code dkdm} with xmlsec1 against {@code root} (the independent check of a template). */
  public static void xmlsecVerifies(
      Path dir, byte[] dkdm, X509Certificate root, X509Certificate intermediate) throws Exception {
    Path f = dir.resolve("verify.xml");
    Files.write(f, dkdm);
    ExternalTools.sh(
        "xmlsec1 --verify --id-attr:Id http://www.smpte-ra.org/schemas/430-3/2006/ETM:AuthenticatedPublic"
            + " --id-attr:Id http://www.smpte-ra.org/schemas/430-3/2006/ETM:AuthenticatedPrivate --trusted-pem "
            + pem(dir.resolve("verify-root.pem"), "CERTIFICATE", root.getEncoded())
            + " --untrusted-pem "
            + pem(dir.resolve("verify-ca.pem"), "CERTIFICATE", intermediate.getEncoded())
            + " "
            + f);
  }

  private static String nameOf(Path pem, String which) throws Exception {
    String out =
        ExternalTools.sh("openssl x509 -in " + pem + " -noout " + which + " -nameopt RFC2253")
            .strip();
    return xmlEscape(out.substring(out.indexOf('=') + 1).strip());
  }

  private static String xmlEscape(String s) {
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;");
  }

  private static Path pem(Path file, String label, byte[] der) throws Exception {
    Files.writeString(
        file,
        "-----BEGIN "
            + label
            + "-----\n"
            + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII))
                .encodeToString(der)
            + "\n-----END "
            + label
            + "-----\n");
    return file;
  }

  private static byte[] uuid(UUID u) {
    return ByteBuffer.allocate(16)
        .putLong(u.getMostSignificantBits())
        .putLong(u.getLeastSignificantBits())
        .array();
  }
}
