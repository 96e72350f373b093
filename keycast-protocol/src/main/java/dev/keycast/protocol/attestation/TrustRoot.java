package dev.keycast.protocol.attestation;

import dev.keycast.protocol.MalformedInputException;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.cert.CertificateEncodingException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.Base64;
import java.util.HexFormat;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A pinned root certificate for attestation documents, identified by the SHA-256 fingerprint of
 * its DER encoding (lowercase hex).
 *
 * @param name a label for people (not used in any decision)
 * @param certificate the root certificate
 * @param sha256 SHA-256 of the certificate DER, lowercase hex (64 characters)
 */
public record TrustRoot(String name, X509Certificate certificate, String sha256) {
  /** SHA-256 fingerprint of the AWS Nitro Enclaves Root-G1 certificate DER. */
  public static final String AWS_NITRO_ROOT_G1_SHA256 =
      "641a0321a3e244efe456463195d606317ed7cdcc3c1756e09893f3c68f79bb5b";

  private static final String AWS_RESOURCE = "aws-nitro-enclaves-root-g1.pem";
  private static final int MAX_PEM_BYTES = 64 * 1024;
  private static final Pattern PEM =
      Pattern.compile("-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\\s]+)-----END CERTIFICATE-----");

  public TrustRoot {
    if (name == null || certificate == null || sha256 == null) {
      throw new NullPointerException("name, certificate and sha256 are required");
    }
    String actual = fingerprint(certificate);
    if (!actual.equals(sha256)) {
      throw new IllegalArgumentException("sha256 does not match the certificate: " + actual);
    }
  }

  /** A trust root for a certificate; its fingerprint is computed. */
  public static TrustRoot of(String name, X509Certificate certificate) {
    return new TrustRoot(name, certificate, fingerprint(certificate));
  }

  /** The AWS Nitro Enclaves Root-G1 certificate, embedded in this library and checked by fingerprint. */
  public static TrustRoot awsNitroRootG1() {
    try (InputStream in = TrustRoot.class.getResourceAsStream(AWS_RESOURCE)) {
      if (in == null) {
        throw new IllegalStateException("missing resource " + AWS_RESOURCE);
      }
      TrustRoot root = fromPem("AWS Nitro Enclaves Root-G1", in.readNBytes(MAX_PEM_BYTES));
      if (!root.sha256().equals(AWS_NITRO_ROOT_G1_SHA256)) {
        throw new IllegalStateException(
            "embedded AWS root has the wrong fingerprint " + root.sha256());
      }
      return root;
    } catch (IOException | MalformedInputException e) {
      throw new IllegalStateException("cannot load the embedded AWS Nitro root", e);
    }
  }

  /** True when this is the AWS Nitro Enclaves Root-G1 (by fingerprint). */
  public boolean isAws() {
    return AWS_NITRO_ROOT_G1_SHA256.equals(sha256);
  }

  /** Reads the first certificate of a PEM text (or a DER certificate). */
  public static TrustRoot fromPem(String name, byte[] pemOrDer) throws MalformedInputException {
    if (pemOrDer.length > MAX_PEM_BYTES) {
      throw new MalformedInputException(
          MalformedInputException.Kind.OVERSIZE,
          "trust root: more than " + MAX_PEM_BYTES + " bytes");
    }
    byte[] der;
    Matcher m = PEM.matcher(new String(pemOrDer, StandardCharsets.US_ASCII));
    if (m.find()) {
      try {
        der = Base64.getMimeDecoder().decode(m.group(1).replaceAll("\\s", ""));
      } catch (IllegalArgumentException e) {
        throw new MalformedInputException(
            MalformedInputException.Kind.MALFORMED, "trust root: bad base64 in PEM", e);
      }
    } else {
      der = pemOrDer;
    }
    return of(name, parseCertificate(der, "trust root"));
  }

  /** SHA-256 of a certificate's DER, lowercase hex. */
  public static String fingerprint(X509Certificate certificate) {
    try {
      return HexFormat.of().formatHex(sha256(certificate.getEncoded()));
    } catch (CertificateEncodingException e) {
      throw new IllegalArgumentException("certificate cannot be encoded", e);
    }
  }

  static byte[] sha256(byte[] data) {
    return dev.keycast.protocol.crypto.Sha256.digest(data);
  }

  /** Parses exactly one DER X.509 certificate; trailing bytes are rejected. */
  static X509Certificate parseCertificate(byte[] der, String what) throws MalformedInputException {
    try {
      CertificateFactory cf = CertificateFactory.getInstance("X.509");
      ByteArrayInputStream in = new ByteArrayInputStream(der);
      X509Certificate c = (X509Certificate) cf.generateCertificate(in);
      if (!MessageDigest.isEqual(c.getEncoded(), der)) {
        throw new MalformedInputException(
            MalformedInputException.Kind.MALFORMED,
            what + ": not exactly one DER certificate (trailing or re-encoded bytes)");
      }
      return c;
    } catch (MalformedInputException e) {
      throw e;
    } catch (Exception e) { // CertificateException and any runtime exception from the parser
      throw new MalformedInputException(
          MalformedInputException.Kind.MALFORMED,
          what + ": not a DER X.509 certificate (" + MalformedInputException.quote(der, 16) + ")",
          e);
    }
  }

  @Override
  public String toString() {
    return "TrustRoot[" + name + ", sha256=" + sha256 + "]";
  }
}
