package dev.keycast.protocol.envelope;

import dev.keycast.protocol.Fingerprints;
import dev.keycast.protocol.MalformedInputException;
import java.math.BigInteger;
import java.security.cert.X509Certificate;
import java.security.interfaces.RSAPublicKey;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.bouncycastle.asn1.cms.IssuerAndSerialNumber;
import org.bouncycastle.asn1.x500.X500Name;

/**
 * An RSA recipient (2048, 3072 or 4096 bits, public exponent 65537), optionally with its X.509
 * certificate chain (leaf first; carried, not validated). Deliveries to it use {@link
 * CmsDeliveryFormat}.
 */
public final class RsaRecipientKey implements RecipientKey {
  /** Accepted modulus sizes in bits. */
  public static final Set<Integer> ALLOWED_BITS = Set.of(2048, 3072, 4096);

  private static final BigInteger F4 = BigInteger.valueOf(65537);

  private final RSAPublicKey publicKey;
  private final List<X509Certificate> chain;
  private final byte[] spki;
  private final String fingerprint;
  private final byte[] subjectKeyId;
  private final IssuerAndSerialNumber issuerAndSerial;

  private RsaRecipientKey(RSAPublicKey publicKey, List<X509Certificate> chain) {
    this(
        publicKey,
        publicKey.getEncoded(),
        chain,
        chain.isEmpty()
            ? null
            : new IssuerAndSerialNumber(
                X500Name.getInstance(chain.getFirst().getIssuerX500Principal().getEncoded()),
                chain.getFirst().getSerialNumber()));
  }

  private RsaRecipientKey(
      RSAPublicKey publicKey,
      byte[] spki,
      List<X509Certificate> chain,
      IssuerAndSerialNumber issuerAndSerial) {
    this.publicKey = publicKey;
    this.chain = List.copyOf(chain);
    this.spki = spki;
    this.fingerprint = Fingerprints.ofSpki(spki);
    this.subjectKeyId = HexFormat.of().parseHex(fingerprint);
    this.issuerAndSerial = issuerAndSerial;
  }

  /**
   * Checks an RSA key (and the chain whose leaf certifies it).
   *
   * @throws MalformedInputException {@code unsupported_key} for a modulus size other than
   *     2048/3072/4096 or an exponent other than 65537; {@code malformed} if the leaf certificate
   *     does not carry this key
   */
  public static RsaRecipientKey of(RSAPublicKey key, List<X509Certificate> chain)
      throws MalformedInputException {
    checkKey(key);
    if (!chain.isEmpty()
        && !java.util.Arrays.equals(
            chain.getFirst().getPublicKey().getEncoded(), key.getEncoded())) {
      throw new MalformedInputException(
          MalformedInputException.Kind.MALFORMED, "leaf certificate does not carry the key");
    }
    return new RsaRecipientKey(key, chain);
  }

  /**
   * {@link #of(RSAPublicKey, List)} without a chain for a key whose {@link RSAPublicKey#getEncoded()}
   * is its canonical SPKI DER and is not changed afterwards (the encoding is kept, not copied).
   */
  static RsaRecipientKey ofCanonical(RSAPublicKey key) throws MalformedInputException {
    checkKey(key);
    return new RsaRecipientKey(key, key.getEncoded(), List.of(), null);
  }

  private static void checkKey(RSAPublicKey key) throws MalformedInputException {
    int bits = key.getModulus().bitLength();
    if (!ALLOWED_BITS.contains(bits)) {
      throw new MalformedInputException(
          MalformedInputException.Kind.UNSUPPORTED_KEY,
          "RSA key is " + bits + " bits; only 2048, 3072 and 4096 are accepted");
    }
    if (!F4.equals(key.getPublicExponent())) {
      throw new MalformedInputException(
          MalformedInputException.Kind.UNSUPPORTED_KEY,
          "RSA public exponent " + key.getPublicExponent() + " is not 65537");
    }
  }

  /**
   * This key as certified by {@code leaf} (BouncyCastle's parse of the leaf certificate, as the
   * enclave keeps it): CMS deliveries name the recipient by the leaf's issuer and serial number,
   * as with {@link #of(RSAPublicKey, List)}, but no JDK certificate is kept, so {@link
   * #certificateChain()} is empty. The key's checks and fingerprint are not repeated.
   *
   * @throws MalformedInputException {@code malformed} if the leaf does not carry this key
   */
  public RsaRecipientKey withLeaf(org.bouncycastle.asn1.x509.Certificate leaf)
      throws MalformedInputException {
    byte[] leafSpki;
    try {
      leafSpki = leaf.getSubjectPublicKeyInfo().getEncoded(org.bouncycastle.asn1.ASN1Encoding.DER);
    } catch (java.io.IOException | RuntimeException e) {
      throw new MalformedInputException(
          MalformedInputException.Kind.MALFORMED, "leaf certificate has no encodable key");
    }
    if (!java.util.Arrays.equals(leafSpki, spki) && !sameKey(leafSpki)) {
      throw new MalformedInputException(
          MalformedInputException.Kind.MALFORMED, "leaf certificate does not carry the key");
    }
    return new RsaRecipientKey(
        this, new IssuerAndSerialNumber(leaf.getIssuer(), leaf.getSerialNumber().getValue()));
  }

  /** Whether {@code otherSpki}, encoded differently, is this RSA key (same modulus and exponent). */
  private boolean sameKey(byte[] otherSpki) {
    try {
      var other =
          (RSAPublicKey)
              java.security.KeyFactory.getInstance("RSA")
                  .generatePublic(new java.security.spec.X509EncodedKeySpec(otherSpki));
      return other.getModulus().equals(publicKey.getModulus())
          && other.getPublicExponent().equals(publicKey.getPublicExponent());
    } catch (java.security.GeneralSecurityException | RuntimeException e) {
      return false;
    }
  }

  private RsaRecipientKey(RsaRecipientKey key, IssuerAndSerialNumber issuerAndSerial) {
    this.publicKey = key.publicKey;
    this.chain = List.of();
    this.spki = key.spki;
    this.fingerprint = key.fingerprint;
    this.subjectKeyId = key.subjectKeyId;
    this.issuerAndSerial = issuerAndSerial;
  }

  public RSAPublicKey publicKey() {
    return publicKey;
  }

  /** The certificate chain, leaf first; empty when the key came without certificates. */
  @Override
  public List<X509Certificate> certificateChain() {
    return chain;
  }

  /** Modulus size in bits. */
  public int bits() {
    return publicKey.getModulus().bitLength();
  }

  /** Modulus length in bytes: the length of an RSA ciphertext for this key. */
  int modulusLength() {
    return (bits() + 7) / 8;
  }

  @Override
  public String fingerprint() {
    return fingerprint;
  }

  @Override
  public byte[] spkiDer() {
    return spki.clone();
  }

  /**
   * The CMS subjectKeyIdentifier Keycast uses when no certificate is known: the 32 raw bytes of the
   * fingerprint (SHA-256 of the SPKI DER).
   */
  public byte[] subjectKeyIdentifier() {
    return subjectKeyId.clone();
  }

  /** Issuer and serial of the leaf certificate, when one is known. */
  Optional<IssuerAndSerialNumber> issuerAndSerial() {
    return Optional.ofNullable(issuerAndSerial);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof RsaRecipientKey other
        && fingerprint.equals(other.fingerprint)
        && chain.equals(other.chain);
  }

  @Override
  public int hashCode() {
    return fingerprint.hashCode();
  }

  @Override
  public String toString() {
    return "RsaRecipientKey["
        + bits()
        + " bits, "
        + fingerprint
        + (chain.isEmpty() ? "" : ", " + chain.size() + " certificate(s)")
        + "]";
  }
}
