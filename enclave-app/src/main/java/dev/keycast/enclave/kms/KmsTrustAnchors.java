package dev.keycast.enclave.kms;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * The only roots the enclave's TLS client trusts for {@code kms.<region>.amazonaws.com} in
 * production: the Amazon Trust Services roots that AWS service endpoints chain to, Amazon Root CA
 * 1 to 4 and Starfield Services Root Certificate Authority - G2 (which cross-signs them; AWS
 * chains may end at that cross-certificate). Not the JDK's ~140 public roots: one certificate
 * mis-issued for the KMS host name by any of those would let the host, which carries the
 * enclave's KMS traffic, answer KMS itself (threat-model.md).
 *
 * <p>The certificates are a resource of the enclave jar ({@value #RESOURCE}), so they are part
 * of the measured image; each is checked here against its SHA-256 fingerprint, and loading fails
 * unless the resource holds exactly these five (kms-sealing.md lists them).
 */
final class KmsTrustAnchors {
  /** The PEM resource, next to this class. */
  static final String RESOURCE = "amazon-trust-services-roots.pem";

  /** SHA-256 of the DER of each root (the fingerprints amazontrust.com publishes). */
  static final Set<String> SHA256 =
      Set.of(
          "8ecde6884f3d87b1125ba31ac3fcb13d7016de7f57cc904fe1cb97c6ae98196e", // Amazon Root CA 1
          "1ba5b2aa8c65401a82960118f80bec4f62304d83cec4713a19c39c011ea46db4", // Amazon Root CA 2
          "18ce6cfe7bf14e60b2e347b8dfe868cb31d02ebb3ada271569f50343b46db3a4", // Amazon Root CA 3
          "e35d28419ed02025cfa69038cd623962458da5c695fbdea3c22b0bfb25897092", // Amazon Root CA 4
          "568d6905a2c88708a4b3025190edcfedb1974a606a13c6e5290fcb2ae63edab5"); // Starfield Services

  // Root CA - G2

  private static final int MAX_RESOURCE_BYTES = 64 * 1024;

  private KmsTrustAnchors() {}

  /**
   * The five roots, read from {@value #RESOURCE} and checked against {@link #SHA256}.
   *
   * @throws GeneralSecurityException the resource is missing, unreadable, or not exactly these roots
   */
  static List<X509Certificate> amazonTrustServices() throws GeneralSecurityException {
    byte[] pem;
    try (InputStream in = KmsTrustAnchors.class.getResourceAsStream(RESOURCE)) {
      if (in == null) {
        throw new GeneralSecurityException(
            "the KMS trust anchors resource " + RESOURCE + " is missing");
      }
      pem = in.readNBytes(MAX_RESOURCE_BYTES + 1);
    } catch (IOException e) {
      throw new GeneralSecurityException(
          "cannot read the KMS trust anchors resource " + RESOURCE, e);
    }
    if (pem.length > MAX_RESOURCE_BYTES) {
      throw new GeneralSecurityException(
          "the KMS trust anchors resource " + RESOURCE + " is too large");
    }
    StringBuilder certificatesOnly = new StringBuilder();
    for (String line : new String(pem, StandardCharsets.US_ASCII).split("\n")) {
      if (!line.startsWith("#")) {
        certificatesOnly.append(line).append('\n');
      }
    }
    List<X509Certificate> roots = new ArrayList<>();
    Set<String> seen = new TreeSet<>();
    CertificateFactory cf = CertificateFactory.getInstance("X.509");
    for (Certificate c :
        cf.generateCertificates(
            new ByteArrayInputStream(
                certificatesOnly.toString().getBytes(StandardCharsets.US_ASCII)))) {
      X509Certificate x = (X509Certificate) c;
      seen.add(HexFormat.of().formatHex(dev.keycast.protocol.crypto.Sha256.digest(x.getEncoded())));
      roots.add(x);
    }
    if (roots.size() != SHA256.size() || !seen.equals(new TreeSet<>(SHA256))) {
      throw new GeneralSecurityException(
          "the KMS trust anchors resource "
              + RESOURCE
              + " does not hold exactly the pinned Amazon Trust Services roots (found SHA-256 "
              + seen
              + ")");
    }
    return List.copyOf(roots);
  }
}
