package dev.keycast.protocol.cinema;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.UUID;
import javax.crypto.Cipher;
import javax.xml.parsers.DocumentBuilderFactory;
import org.w3c.dom.Document;
import org.w3c.dom.NodeList;

/**
 * Test support for the enclave's KDM sends, in the protocol's cinema package to reach its
 * test-jar's package-private {@link ExternalTools}: the independent checks every emitted KDM must
 * pass (xmllint against the SMPTE schemas, xmlsec1 against the signer root, every block decrypted
 * with the screen's key, the JDK and openssl, to the exact 138-byte ST 430-1 layout).
 */
public final class KdmChecks {
  private static final byte[] STRUCTURE_ID =
      HexFormat.of().parseHex("f1dc124460169a0e85bc300642f866ab");

  private KdmChecks() {}

  /**
   * Checks one KDM with the external tools and decrypts every block; asserts the layout and that
   * the blocks carry exactly {@code keys}, in order, with the window written as {@code
   * notBefore}/{@code notAfter} (25-character ST 430-1 timestamps).
   */
  public static void check(
      Path dir,
      byte[] kdm,
      X509Certificate signerRoot,
      X509Certificate signerLeaf,
      PrivateKey screenKey,
      String screenKeyPem,
      ContentKeySet keys,
      String notBefore,
      String notAfter)
      throws Exception {
    Files.createDirectories(dir);
    Path file = Files.write(dir.resolve("kdm.xml"), kdm);
    // the project's copy of the SMPTE schemas (src/test-vectors/smpte-xsd, property
    // keycast.vectors)
    ExternalTools.Result lint = ExternalTools.xmllint(file);
    assertThat(lint.exit()).as("xmllint: %s", lint.output()).isZero();
    Path root =
        Files.writeString(
            dir.resolve("signer-root.pem"), TestScreens.pem(List.of(signerRoot), null));
    ExternalTools.Result sec = ExternalTools.xmlsec1Verify(file, root);
    assertThat(sec.exit()).as("xmlsec1: %s", sec.output()).isZero();
    assertThat(sec.output()).contains("OK").contains("SignedInfo References (ok/all): 2/2");

    String text = new String(kdm, StandardCharsets.UTF_8);
    assertThat(text)
        .contains("<ContentKeysNotValidBefore>" + notBefore + "<")
        .contains("<ContentKeysNotValidAfter>" + notAfter + "<")
        .doesNotContainPattern("\\d\\d:\\d\\d:\\d\\dZ");

    DocumentBuilderFactory dbf = DocumentBuilderFactory.newInstance();
    dbf.setNamespaceAware(true);
    dbf.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
    Document doc = dbf.newDocumentBuilder().parse(new ByteArrayInputStream(kdm));
    NodeList values =
        doc.getElementsByTagNameNS("http://www.w3.org/2001/04/xmlenc#", "CipherValue");
    assertThat(values.getLength()).isEqualTo(keys.keys().size());
    byte[] signerThumb = MessageDigest.getInstance("SHA-1").digest(signerLeaf.getTBSCertificate());
    Path keyPem = Files.writeString(dir.resolve("screen-key.pem"), screenKeyPem);
    List<byte[]> plain = new ArrayList<>();
    for (int i = 0; i < values.getLength(); i++) {
      byte[] ct = Base64.getMimeDecoder().decode(values.item(i).getTextContent());
      assertThat(ct).hasSize(256);
      Cipher c = Cipher.getInstance("RSA/ECB/OAEPWithSHA-1AndMGF1Padding");
      c.init(Cipher.DECRYPT_MODE, screenKey);
      byte[] p = c.doFinal(ct);
      plain.add(p);
      if (i == 0) {
        ExternalTools.requireOpenssl();
        Path ctFile = Files.write(dir.resolve("block0.bin"), ct);
        Path ptFile = dir.resolve("block0.plain");
        ExternalTools.sh(
            "openssl pkeyutl -decrypt -inkey "
                + keyPem
                + " -pkeyopt rsa_padding_mode:oaep"
                + " -pkeyopt rsa_oaep_md:sha1 -pkeyopt rsa_mgf1_md:sha1 -in "
                + ctFile
                + " -out "
                + ptFile);
        assertThat(Files.readAllBytes(ptFile)).isEqualTo(p);
      }
    }
    for (int i = 0; i < plain.size(); i++) {
      byte[] p = plain.get(i);
      ContentKey k = keys.keys().get(i);
      assertThat(p).hasSize(138);
      assertThat(Arrays.copyOfRange(p, 0, 16)).isEqualTo(STRUCTURE_ID);
      assertThat(Arrays.copyOfRange(p, 16, 36)).isEqualTo(signerThumb);
      assertThat(Arrays.copyOfRange(p, 36, 52)).isEqualTo(uuidBytes(keys.cplId()));
      assertThat(new String(p, 52, 4, StandardCharsets.US_ASCII)).isEqualTo(k.type().name());
      assertThat(Arrays.copyOfRange(p, 56, 72)).isEqualTo(uuidBytes(k.keyId()));
      assertThat(new String(p, 72, 25, StandardCharsets.US_ASCII)).isEqualTo(notBefore);
      assertThat(new String(p, 97, 25, StandardCharsets.US_ASCII)).isEqualTo(notAfter);
      assertThat(Arrays.copyOfRange(p, 122, 138)).isEqualTo(k.key());
    }
  }

  /** xmllint and xmlsec1 are present (skipped off CI, failed on CI, as ExternalTools does). */
  public static void requireTools() {
    ExternalTools.require("xmllint");
    ExternalTools.require("xmlsec1");
    ExternalTools.requireOpenssl();
  }

  static byte[] uuidBytes(UUID u) {
    return ByteBuffer.allocate(16)
        .putLong(u.getMostSignificantBits())
        .putLong(u.getLeastSignificantBits())
        .array();
  }
}
