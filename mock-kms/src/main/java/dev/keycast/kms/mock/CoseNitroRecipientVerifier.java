package dev.keycast.kms.mock;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.cbor.CBORFactory;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.MessageDigest;
import java.security.PublicKey;
import java.security.Signature;
import java.security.cert.CertPath;
import java.security.cert.CertPathValidator;
import java.security.cert.CertificateFactory;
import java.security.cert.PKIXParameters;
import java.security.cert.TrustAnchor;
import java.security.cert.X509Certificate;
import java.security.interfaces.RSAPublicKey;
import java.security.spec.X509EncodedKeySpec;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Date;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * Verifies NSM attestation documents as KMS does for {@code Recipient}: untagged or tagged
 * COSE_Sign1 with protected header {@code {1: -35}} (ES384), signature over the RFC 8152
 * Sig_structure with the leaf certificate's P-384 key, PKIX chain {@code [certificate,
 * cabundle[n-1] .. cabundle[1]]} to one of the configured trust roots (which must also equal
 * {@code cabundle[0]}), validity at the current time, and an RSA {@code public_key} (SPKI DER).
 *
 * <p>This is the mock KMS's own verifier, used until {@code dev.keycast.protocol.attestation} is
 * available; it follows NITRO-FACTS 2.1 to 2.3.
 */
public final class CoseNitroRecipientVerifier implements RecipientAttestationVerifier {
  private static final byte[] PROTECTED_ES384 = {(byte) 0xa1, 0x01, 0x38, 0x22};
  private static final int MAX_CABUNDLE = 8;
  private static final int MAX_PUBLIC_KEY = 4096;

  private final List<X509Certificate> roots;
  private final Clock clock;
  private final ObjectMapper cbor = new ObjectMapper(new CBORFactory());

  /** A verifier that trusts the given root certificates (for example the AWS Nitro root G1). */
  public CoseNitroRecipientVerifier(List<X509Certificate> roots, Clock clock) {
    if (roots.isEmpty()) {
      throw new IllegalArgumentException("at least one trust root is required");
    }
    this.roots = List.copyOf(roots);
    this.clock = Objects.requireNonNull(clock);
  }

  /** Reads PEM certificate files (each may hold several certificates). */
  public static List<X509Certificate> readPemCertificates(List<Path> files)
      throws IOException, GeneralSecurityException {
    CertificateFactory cf = CertificateFactory.getInstance("X.509");
    List<X509Certificate> out = new ArrayList<>();
    for (Path f : files) {
      try (InputStream in = Files.newInputStream(f)) {
        for (var c : cf.generateCertificates(in)) {
          out.add((X509Certificate) c);
        }
      }
    }
    return out;
  }

  @Override
  public VerifiedRecipient verify(byte[] document) throws RecipientVerificationException {
    if (document == null || document.length == 0) {
      throw new RecipientVerificationException("attestation document is empty");
    }
    if (document.length > MAX_DOCUMENT_BYTES) {
      throw new RecipientVerificationException(
          "attestation document is " + document.length + " bytes, limit " + MAX_DOCUMENT_BYTES);
    }
    JsonNode cose = readCbor(document, "COSE_Sign1");
    if (!cose.isArray() || cose.size() != 4) {
      throw new RecipientVerificationException("attestation document is not a COSE_Sign1 array");
    }
    byte[] protectedHeader = binary(cose.get(0), "protected header");
    if (!MessageDigest.isEqual(protectedHeader, PROTECTED_ES384)) {
      throw new RecipientVerificationException("protected header is not {1: -35} (ES384)");
    }
    byte[] payload = binary(cose.get(2), "payload");
    byte[] signature = binary(cose.get(3), "signature");
    if (signature.length != 96) {
      throw new RecipientVerificationException(
          "ES384 signature must be 96 bytes, got " + signature.length);
    }
    JsonNode doc = readCbor(payload, "payload");
    if (!doc.isObject()) {
      throw new RecipientVerificationException("payload is not a CBOR map");
    }
    if (!"SHA384".equals(text(doc, "digest"))) {
      throw new RecipientVerificationException("digest is not SHA384");
    }
    X509Certificate leaf;
    List<X509Certificate> bundle = new ArrayList<>();
    try {
      CertificateFactory cf = CertificateFactory.getInstance("X.509");
      leaf = cert(cf, binary(doc.get("certificate"), "certificate"));
      JsonNode cab = doc.get("cabundle");
      if (cab == null || !cab.isArray() || cab.isEmpty() || cab.size() > MAX_CABUNDLE) {
        throw new RecipientVerificationException("cabundle must be an array of 1.." + MAX_CABUNDLE);
      }
      for (JsonNode c : cab) {
        bundle.add(cert(cf, binary(c, "cabundle entry")));
      }
      X509Certificate bundleRoot = bundle.get(0);
      X509Certificate anchor = null;
      for (X509Certificate r : roots) {
        if (MessageDigest.isEqual(r.getEncoded(), bundleRoot.getEncoded())) {
          anchor = r;
        }
      }
      if (anchor == null) {
        throw new RecipientVerificationException(
            "cabundle[0] is not a trusted root: " + bundleRoot.getSubjectX500Principal());
      }
      List<X509Certificate> path = new ArrayList<>();
      path.add(leaf);
      for (int i = bundle.size() - 1; i >= 1; i--) {
        path.add(bundle.get(i));
      }
      CertPath certPath = cf.generateCertPath(path);
      PKIXParameters params = new PKIXParameters(Set.of(new TrustAnchor(anchor, null)));
      params.setRevocationEnabled(false);
      params.setDate(Date.from(clock.instant()));
      CertPathValidator.getInstance("PKIX").validate(certPath, params);
      if (leaf.getBasicConstraints() != -1) {
        throw new RecipientVerificationException("leaf certificate is a CA certificate");
      }
      Signature sig = Signature.getInstance("SHA384withECDSAinP1363Format");
      sig.initVerify(leaf.getPublicKey());
      sig.update(sigStructure(protectedHeader, payload));
      if (!sig.verify(signature)) {
        throw new RecipientVerificationException("COSE signature does not verify");
      }
    } catch (GeneralSecurityException e) {
      throw new RecipientVerificationException(
          "attestation certificate chain or signature invalid: " + e.getMessage(), e);
    }
    Map<Integer, byte[]> pcrs = pcrs(doc.get("pcrs"));
    JsonNode pk = doc.get("public_key");
    if (pk == null || pk.isNull()) {
      throw new RecipientVerificationException("attestation document has no public_key");
    }
    byte[] spki = binary(pk, "public_key");
    if (spki.length > MAX_PUBLIC_KEY) {
      throw new RecipientVerificationException("public_key is too large: " + spki.length);
    }
    try {
      PublicKey key = KeyFactory.getInstance("RSA").generatePublic(new X509EncodedKeySpec(spki));
      if (!(key instanceof RSAPublicKey rsa) || rsa.getModulus().bitLength() < 2048) {
        throw new RecipientVerificationException("public_key must be an RSA key of 2048 bits or more");
      }
    } catch (GeneralSecurityException e) {
      throw new RecipientVerificationException("public_key is not an RSA SubjectPublicKeyInfo", e);
    }
    return new VerifiedRecipient(pcrs, spki);
  }

  private JsonNode readCbor(byte[] bytes, String what) throws RecipientVerificationException {
    try {
      return cbor.readTree(new ByteArrayInputStream(bytes));
    } catch (IOException | RuntimeException e) {
      throw new RecipientVerificationException(what + " is not valid CBOR", e);
    }
  }

  private static X509Certificate cert(CertificateFactory cf, byte[] der)
      throws GeneralSecurityException {
    return (X509Certificate) cf.generateCertificate(new ByteArrayInputStream(der));
  }

  private static Map<Integer, byte[]> pcrs(JsonNode node) throws RecipientVerificationException {
    if (node == null || !node.isObject() || node.isEmpty() || node.size() > 32) {
      throw new RecipientVerificationException("pcrs must be a map of 1..32 entries");
    }
    Map<Integer, byte[]> out = new HashMap<>();
    Set<Integer> seen = new HashSet<>();
    for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      int index;
      try {
        index = Integer.parseInt(e.getKey());
      } catch (NumberFormatException ex) {
        throw new RecipientVerificationException("PCR index is not an integer: " + e.getKey());
      }
      if (index < 0 || index >= 32 || !seen.add(index)) {
        throw new RecipientVerificationException("PCR index out of range or repeated: " + index);
      }
      byte[] v = binary(e.getValue(), "PCR" + index);
      if (v.length != 32 && v.length != 48 && v.length != 64) {
        throw new RecipientVerificationException("PCR" + index + " has length " + v.length);
      }
      out.put(index, v);
    }
    return out;
  }

  private static String text(JsonNode doc, String field) {
    JsonNode n = doc.get(field);
    return n != null && n.isTextual() ? n.asText() : null;
  }

  private static byte[] binary(JsonNode n, String what) throws RecipientVerificationException {
    if (n == null || !n.isBinary()) {
      throw new RecipientVerificationException(what + " is not a byte string");
    }
    try {
      return n.binaryValue();
    } catch (IOException e) {
      throw new RecipientVerificationException(what + " is not a byte string", e);
    }
  }

  /** RFC 8152 Sig_structure {@code ["Signature1", protected, h'', payload]}. */
  static byte[] sigStructure(byte[] protectedHeader, byte[] payload) {
    ByteArrayOutputStream out = new ByteArrayOutputStream(payload.length + 32);
    out.write(0x84);
    byte[] ctx = "Signature1".getBytes(StandardCharsets.US_ASCII);
    head(out, 3, ctx.length);
    out.writeBytes(ctx);
    head(out, 2, protectedHeader.length);
    out.writeBytes(protectedHeader);
    head(out, 2, 0);
    head(out, 2, payload.length);
    out.writeBytes(payload);
    return out.toByteArray();
  }

  private static void head(ByteArrayOutputStream out, int major, long len) {
    int mt = major << 5;
    if (len < 24) {
      out.write(mt | (int) len);
    } else if (len < 0x100) {
      out.write(mt | 24);
      out.write((int) len);
    } else if (len < 0x10000) {
      out.write(mt | 25);
      out.write((int) (len >> 8));
      out.write((int) len);
    } else {
      out.write(mt | 26);
      for (int s = 24; s >= 0; s -= 8) {
        out.write((int) (len >> s));
      }
    }
  }
}
