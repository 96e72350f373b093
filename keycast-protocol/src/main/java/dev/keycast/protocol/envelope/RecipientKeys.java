package dev.keycast.protocol.envelope;

import dev.keycast.protocol.MalformedInputException;
import dev.keycast.protocol.hpke.X25519PublicKey;
import java.io.ByteArrayInputStream;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PublicKey;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.interfaces.RSAPublicKey;
import java.security.spec.X509EncodedKeySpec;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.bouncycastle.asn1.ASN1Encoding;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.ASN1Primitive;
import org.bouncycastle.asn1.ASN1Sequence;
import org.bouncycastle.asn1.DERNull;
import org.bouncycastle.asn1.edec.EdECObjectIdentifiers;
import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;

/**
 * Parses recipient public keys from what people have: SPKI DER, a PEM {@code PUBLIC KEY}, or one
 * X.509 certificate (DER or PEM) or a PEM chain (leaf first).
 *
 * <p>Limits, checked before anything else: input at most {@link #MAX_INPUT_LENGTH} bytes, at most
 * {@link #MAX_CERTIFICATES} certificates. Errors are {@link MalformedInputException} with code
 * {@code oversize}, {@code malformed} or {@code unsupported_key}.
 */
public final class RecipientKeys {
  /** Largest accepted input (PEM or DER). */
  public static final int MAX_INPUT_LENGTH = 64 * 1024;

  /** Largest accepted certificate chain. */
  public static final int MAX_CERTIFICATES = 8;

  private static final Pattern PEM_BLOCK =
      Pattern.compile(
          "-----BEGIN ([A-Z0-9 ]{1,40})-----\\r?\\n([A-Za-z0-9+/=\\r\\n]*?)-----END \\1-----");

  private RecipientKeys() {}

  /** Parses PEM or DER (detected by a leading {@code -----BEGIN}). */
  public static RecipientKey parse(byte[] input) throws MalformedInputException {
    if (input == null) {
      throw new MalformedInputException(MalformedInputException.Kind.MALFORMED, "no key given");
    }
    if (input.length > MAX_INPUT_LENGTH) {
      throw new MalformedInputException(
          MalformedInputException.Kind.OVERSIZE,
          "key input is " + input.length + " bytes, limit " + MAX_INPUT_LENGTH);
    }
    String head = new String(input, 0, Math.min(input.length, 64), StandardCharsets.ISO_8859_1);
    if (head.strip().startsWith("-----BEGIN ")) {
      return parsePem(new String(input, StandardCharsets.US_ASCII));
    }
    return parseDer(input);
  }

  /** Parses PEM text: one {@code PUBLIC KEY} block, or one or more {@code CERTIFICATE} blocks. */
  public static RecipientKey parsePem(String pem) throws MalformedInputException {
    if (pem.length() > MAX_INPUT_LENGTH) {
      throw new MalformedInputException(
          MalformedInputException.Kind.OVERSIZE, "PEM input exceeds " + MAX_INPUT_LENGTH);
    }
    Matcher m = PEM_BLOCK.matcher(pem);
    List<byte[]> certs = new ArrayList<>();
    byte[] spki = null;
    int pos = 0;
    while (m.find()) {
      if (!pem.substring(pos, m.start()).isBlank()) {
        throw new MalformedInputException(
            MalformedInputException.Kind.MALFORMED, "text outside PEM blocks");
      }
      pos = m.end();
      byte[] der;
      try {
        der = Base64.getMimeDecoder().decode(m.group(2));
      } catch (IllegalArgumentException e) {
        throw new MalformedInputException(
            MalformedInputException.Kind.MALFORMED, "bad base64 in PEM " + m.group(1));
      }
      switch (m.group(1)) {
        case "PUBLIC KEY" -> {
          if (spki != null || !certs.isEmpty()) {
            throw new MalformedInputException(
                MalformedInputException.Kind.MALFORMED, "more than one key in PEM input");
          }
          spki = der;
        }
        case "CERTIFICATE" -> {
          if (spki != null) {
            throw new MalformedInputException(
                MalformedInputException.Kind.MALFORMED, "PEM mixes a PUBLIC KEY and certificates");
          }
          if (certs.size() == MAX_CERTIFICATES) {
            throw new MalformedInputException(
                MalformedInputException.Kind.OVERSIZE,
                "more than " + MAX_CERTIFICATES + " certificates");
          }
          certs.add(der);
        }
        default ->
            throw new MalformedInputException(
                MalformedInputException.Kind.UNSUPPORTED_KEY,
                "unsupported PEM type \"" + m.group(1) + "\"");
      }
    }
    if (!pem.substring(pos).isBlank()) {
      throw new MalformedInputException(
          MalformedInputException.Kind.MALFORMED, "text outside PEM blocks or unterminated PEM");
    }
    if (spki != null) {
      return fromSpki(spki);
    }
    if (certs.isEmpty()) {
      throw new MalformedInputException(
          MalformedInputException.Kind.MALFORMED, "no PEM block found");
    }
    return fromCertificates(certs);
  }

  /** Parses DER: a SubjectPublicKeyInfo or a single X.509 certificate. */
  public static RecipientKey parseDer(byte[] der) throws MalformedInputException {
    if (der.length > MAX_INPUT_LENGTH) {
      throw new MalformedInputException(
          MalformedInputException.Kind.OVERSIZE, "DER input exceeds " + MAX_INPUT_LENGTH);
    }
    ASN1Sequence seq = sequence(der);
    // SubjectPublicKeyInfo is SEQ{AlgorithmIdentifier, BIT STRING}; Certificate is SEQ of three.
    if (seq.size() == 2) {
      return fromSpki(der);
    }
    if (seq.size() == 3) {
      return fromCertificates(List.of(der));
    }
    throw new MalformedInputException(
        MalformedInputException.Kind.MALFORMED,
        "DER is neither a public key nor a certificate: " + MalformedInputException.quote(der, 16));
  }

  /** Parses a SubjectPublicKeyInfo DER (RSA or X25519). */
  public static RecipientKey fromSpki(byte[] der) throws MalformedInputException {
    ASN1Sequence seq = sequence(der);
    SubjectPublicKeyInfo info;
    try {
      info = SubjectPublicKeyInfo.getInstance(seq);
    } catch (RuntimeException e) {
      throw new MalformedInputException(
          MalformedInputException.Kind.MALFORMED,
          "not a SubjectPublicKeyInfo: " + MalformedInputException.quote(der, 16));
    }
    ASN1ObjectIdentifier alg = info.getAlgorithm().getAlgorithm();
    if (alg.equals(EdECObjectIdentifiers.id_X25519)) {
      try {
        return new X25519RecipientKey(
            X25519PublicKey.fromSpkiDer(info.getEncoded(ASN1Encoding.DER)));
      } catch (java.io.IOException e) {
        throw new MalformedInputException(
            MalformedInputException.Kind.MALFORMED, "bad X25519 SubjectPublicKeyInfo");
      }
    }
    if (alg.equals(PKCSObjectIdentifiers.rsaEncryption)) {
      RsaRecipientKey lean = canonicalRsa(info, der);
      if (lean != null) {
        return lean;
      }
      PublicKey key;
      try {
        key = KeyFactory.getInstance("RSA").generatePublic(new X509EncodedKeySpec(der));
      } catch (GeneralSecurityException | RuntimeException e) {
        throw new MalformedInputException(
            MalformedInputException.Kind.MALFORMED, "bad RSA SubjectPublicKeyInfo");
      }
      return RsaRecipientKey.of((RSAPublicKey) key, List.of());
    }
    throw new MalformedInputException(
        MalformedInputException.Kind.UNSUPPORTED_KEY,
        "unsupported key algorithm " + alg.getId() + " (want RSA or X25519)");
  }

  /**
   * The RSA key of {@code der} without the JDK's key factory (its provider look-up and its own
   * parse of the DER), when {@code der} is exactly the canonical DER encoding of the key it
   * carries ({@code rsaEncryption} with NULL parameters, minimal DER): then the JDK's parse would
   * give the same modulus, exponent and encoding. Any other form returns null and is left to the
   * JDK, so that what is accepted, and the fingerprint of what is accepted, do not change.
   */
  private static RsaRecipientKey canonicalRsa(SubjectPublicKeyInfo info, byte[] der)
      throws MalformedInputException {
    org.bouncycastle.asn1.pkcs.RSAPublicKey k;
    byte[] canonical;
    try {
      if (!DERNull.INSTANCE.equals(info.getAlgorithm().getParameters())) {
        return null;
      }
      k = org.bouncycastle.asn1.pkcs.RSAPublicKey.getInstance(info.parsePublicKey());
      canonical = new SubjectPublicKeyInfo(info.getAlgorithm(), k).getEncoded(ASN1Encoding.DER);
    } catch (java.io.IOException | RuntimeException e) {
      return null;
    }
    if (!Arrays.equals(canonical, der)) {
      return null;
    }
    return RsaRecipientKey.ofCanonical(
        new DerRsaPublicKey(k.getModulus(), k.getPublicExponent(), canonical));
  }

  /** An RSA public key whose SPKI DER is known to be canonical: no encoding work per call. */
  private static final class DerRsaPublicKey implements RSAPublicKey {
    private static final long serialVersionUID = 1L;
    private final BigInteger modulus;
    private final BigInteger exponent;
    private final byte[] der;

    DerRsaPublicKey(BigInteger modulus, BigInteger exponent, byte[] der) {
      this.modulus = modulus;
      this.exponent = exponent;
      this.der = der;
    }

    @Override
    public BigInteger getModulus() {
      return modulus;
    }

    @Override
    public BigInteger getPublicExponent() {
      return exponent;
    }

    @Override
    public String getAlgorithm() {
      return "RSA";
    }

    @Override
    public String getFormat() {
      return "X.509";
    }

    @Override
    public byte[] getEncoded() {
      return der.clone();
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof DerRsaPublicKey other && Arrays.equals(der, other.der);
    }

    @Override
    public int hashCode() {
      return Arrays.hashCode(der);
    }

    @Override
    public String toString() {
      return "RSA public key, " + modulus.bitLength() + " bits";
    }
  }

  private static RecipientKey fromCertificates(List<byte[]> ders) throws MalformedInputException {
    List<X509Certificate> chain = new ArrayList<>();
    try {
      CertificateFactory cf = CertificateFactory.getInstance("X.509");
      for (byte[] d : ders) {
        sequence(d); // strict DER framing, no trailing bytes
        chain.add((X509Certificate) cf.generateCertificate(new ByteArrayInputStream(d)));
      }
    } catch (GeneralSecurityException | RuntimeException e) {
      throw new MalformedInputException(
          MalformedInputException.Kind.MALFORMED, "bad X.509 certificate");
    }
    byte[] leafSpki = chain.getFirst().getPublicKey().getEncoded();
    RecipientKey key = fromSpki(leafSpki);
    return switch (key) {
      case RsaRecipientKey rsa -> RsaRecipientKey.of(rsa.publicKey(), chain);
      case X25519RecipientKey x -> new X25519RecipientKey(x.publicKey(), chain);
    };
  }

  private static ASN1Sequence sequence(byte[] der) throws MalformedInputException {
    try {
      ASN1Primitive p = ASN1Primitive.fromByteArray(der);
      if (p instanceof ASN1Sequence s) {
        return s;
      }
    } catch (java.io.IOException | RuntimeException e) {
      // fall through
    }
    throw new MalformedInputException(
        MalformedInputException.Kind.MALFORMED,
        "not a DER SEQUENCE: " + MalformedInputException.quote(der, 16));
  }
}
