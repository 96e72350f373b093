package dev.keycast.protocol.keyset;

import dev.keycast.protocol.cinema.CinemaException;
import dev.keycast.protocol.cinema.DcCertificateChainValidator;
import dev.keycast.protocol.cinema.DcCertificateIssuer;
import dev.keycast.protocol.cinema.KdmSigner;
import java.io.ByteArrayInputStream;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.interfaces.RSAPrivateCrtKey;
import java.security.interfaces.RSAPrivateKey;
import java.security.interfaces.RSAPublicKey;
import java.security.spec.PKCS8EncodedKeySpec;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * The key set's KDM signer (issue 24; wire-format.md sections 4.2 and 4.3): an SMPTE ST 430-2
 * signer chain (leaf first, root last) and the private keys of its first certificates (the leaf's
 * at least; a chain the enclave generated seals all three, so the CAs can issue a renewed leaf).
 *
 * <p>Every instance passed {@link DcCertificateChainValidator} as a {@link
 * DcCertificateChainValidator.Kind#SIGNER SIGNER} chain at {@link #validatedAt()} (the latest
 * {@code notBefore} of the chain, so a chain that expired later still loads: whether it covers a
 * KDM's window is the KDM writer's check), and each private key is the key of its certificate.
 *
 * <p>The private keys are JDK RSA key objects, which cannot be wiped: they live until the garbage
 * collector reclaims them. Every PKCS #8 byte array this class encodes or decodes is zeroized after
 * use. {@link #toString()} shows only the leaf's subject.
 */
public final class KdmSignerKeys {
  /** Most certificates in a signer chain (the validator's limit). */
  public static final int MAX_CERTIFICATES = DcCertificateChainValidator.MAX_CHAIN_LENGTH;

  /** Longest DER certificate of a signer chain. */
  public static final int MAX_CERTIFICATE_BYTES = 4096;

  /** Most DER bytes of a whole signer chain (the certificates, without length prefixes). */
  public static final int MAX_CHAIN_BYTES = 16384;

  /** Longest PKCS #8 private key (an RSA-2048 key is about 1218 bytes). */
  public static final int MAX_PRIVATE_KEY_BYTES = 4096;

  private final List<X509Certificate> chain;
  private final List<byte[]> chainDer;
  private final List<PrivateKey> privateKeys;
  private final Instant validatedAt;

  private KdmSignerKeys(
      List<X509Certificate> chain,
      List<byte[]> chainDer,
      List<PrivateKey> privateKeys,
      Instant validatedAt) {
    this.chain = List.copyOf(chain);
    this.chainDer = chainDer.stream().map(byte[]::clone).toList();
    this.privateKeys = List.copyOf(privateKeys);
    this.validatedAt = validatedAt;
  }

  /**
   * Generates a signer for key set {@code keySetId}: three fresh RSA-2048 (e = 65537) keys and a
   * chain issued by {@link DcCertificateIssuer} valid from {@code notBefore} for {@code years}
   * (1..10) years, named {@code O=Keycast, OU=<key-set id>}, root CN {@code .keycast-kdm-root},
   * intermediate CN {@code .keycast-kdm-ca}, leaf CN {@code CS.keycast-kdm-signer} (the ST 430-2
   * role CS: content/KDM signer). Costs about half a second of CPU (three RSA key generations):
   * call it at key-set init or migration, never on a request path.
   */
  public static KdmSignerKeys generate(
      String keySetId, Instant notBefore, int years, SecureRandom random) throws CinemaException {
    if (!KeySet.isWellFormedId(keySetId)) {
      throw new IllegalArgumentException("bad key-set id");
    }
    DcCertificateIssuer.IssuedChain issued =
        DcCertificateIssuer.issue(
            new DcCertificateIssuer.ChainNames(
                ORGANIZATION,
                keySetId,
                "keycast-kdm-root",
                "keycast-kdm-ca",
                LEAF_ROLES,
                LEAF_ENTITY),
            notBefore,
            years,
            random);
    List<byte[]> der = new ArrayList<>();
    for (X509Certificate c : issued.chain()) {
      der.add(encoded(c));
    }
    return of(
        issued.chain(),
        der,
        List.of(
            issued.leaf().getPrivate(),
            issued.intermediate().getPrivate(),
            issued.root().getPrivate()));
  }

  /**
   * Checks and wraps a signer chain (leaf first) and the private keys of its first {@code
   * privateKeys.size()} certificates (1..chain length).
   *
   * @throws CinemaException the chain is not an ST 430-2 signer chain (the validator's code), or
   *     {@code signer_key_mismatch} when a key is not its certificate's, or {@code
   *     signer_certificate_chain_length}/{@code signer_key_count} for counts out of bounds
   */
  public static KdmSignerKeys of(List<X509Certificate> chain, List<PrivateKey> privateKeys)
      throws CinemaException {
    List<byte[]> der = new ArrayList<>();
    for (X509Certificate c : chain) {
      der.add(encoded(c));
    }
    return of(chain, der, privateKeys);
  }

  private static KdmSignerKeys of(
      List<X509Certificate> chain, List<byte[]> der, List<PrivateKey> privateKeys)
      throws CinemaException {
    Objects.requireNonNull(chain, "chain");
    Objects.requireNonNull(privateKeys, "privateKeys");
    checkChainBounds(der);
    if (privateKeys.isEmpty() || privateKeys.size() > chain.size()) {
      throw new CinemaException(
          "signer_key_count",
          "a KDM signer needs the private key of its leaf and at most one key per certificate");
    }
    Instant at = validationInstant(chain);
    DcCertificateChainValidator.validate(DcCertificateChainValidator.Kind.SIGNER, chain, at);
    for (int i = 0; i < privateKeys.size(); i++) {
      if (!matches(privateKeys.get(i), chain.get(i))) {
        throw new CinemaException(
            "signer_key_mismatch",
            "private key " + i + " is not the key of certificate " + i + " of the signer chain");
      }
    }
    return new KdmSignerKeys(chain, der, privateKeys, at);
  }

  /** Parses DER certificates (each within the caps); {@code signer_certificate_malformed} otherwise. */
  public static List<X509Certificate> parseChain(List<byte[]> der) throws CinemaException {
    checkChainBounds(der);
    List<X509Certificate> out = new ArrayList<>();
    try {
      CertificateFactory f = CertificateFactory.getInstance("X.509");
      for (byte[] d : der) {
        out.add((X509Certificate) f.generateCertificate(new ByteArrayInputStream(d)));
      }
    } catch (CertificateException | ClassCastException e) {
      throw new CinemaException(
          "signer_certificate_malformed", "a signer chain certificate is not X.509 DER");
    }
    for (int i = 0; i < out.size(); i++) {
      if (!Arrays.equals(encoded(out.get(i)), der.get(i))) {
        throw new CinemaException(
            "signer_certificate_malformed",
            "signer chain certificate " + i + " is not in DER (it re-encodes differently)");
      }
    }
    return out;
  }

  /**
   * Parses a signer chain (DER, leaf first) and validates it as an ST 430-2 signer chain at its
   * latest {@code notBefore} (its structure, whatever the date): what a client checks of the chain
   * an attested bundle names ({@code keycast kdm signer}, {@code send}). Whether it is valid now is
   * the caller's check.
   *
   * @throws CinemaException a malformed certificate or a chain outside the profile (the check's code)
   */
  public static List<X509Certificate> validateChain(List<byte[]> der) throws CinemaException {
    List<X509Certificate> chain = parseChain(der);
    DcCertificateChainValidator.validate(
        DcCertificateChainValidator.Kind.SIGNER, chain, validationInstant(chain));
    return chain;
  }

  /** The ST 430-2 names a signer leaf of key set {@code keySetId} is requested and generated with. */
  static final String ORGANIZATION = "Keycast";

  static final String LEAF_ROLES = "CS";
  static final String LEAF_ENTITY = "keycast-kdm-signer";

  /**
   * A PKCS #10 certificate signing request (DER) for this signer's leaf key, for a distributor's
   * own CA (wire-format.md section 4.6): subject {@code O=<organization>, OU=<organizational
   * unit>, CN=CS.<entity>, dnQualifier=<key digest>}, all PrintableString, SHA256withRSA signed by
   * the leaf key (RSA PKCS #1 v1.5 is deterministic: the same names give the same request). ST
   * 430-2 wants a leaf's O to be its issuer's, so a distributor names its CA's O here; null names
   * default to {@code Keycast}, {@code keySetId} and {@code keycast-kdm-signer}.
   *
   * @throws CinemaException {@code certificate_name} for a name that is not 1..64 PrintableString
   *     characters
   */
  public byte[] leafCsr(
      String keySetId, String organization, String organizationalUnit, String entity)
      throws CinemaException {
    if (!KeySet.isWellFormedId(keySetId)) {
      throw new IllegalArgumentException("bad key-set id");
    }
    return DcCertificateIssuer.signerCsr(
        organization == null ? ORGANIZATION : organization,
        organizationalUnit == null ? keySetId : organizationalUnit,
        LEAF_ROLES,
        entity == null ? LEAF_ENTITY : entity,
        new java.security.KeyPair(chain.get(0).getPublicKey(), privateKeys.get(0)));
  }

  /**
   * This signer's leaf key with {@code der}, a chain a distributor's CA issued for it (leaf first,
   * root last; wire-format.md section 4.6). In order, each failing closed: 2..8 certificates of at
   * most 4096 bytes each and 16384 in all, before parsing; each parses as X.509 DER; the leaf's
   * SubjectPublicKeyInfo equals this signer's leaf's, compared in constant time ({@code
   * kdm_signer_chain_key_mismatch}); the chain is an ST 430-2 signer chain valid at {@code now}
   * ({@link DcCertificateChainValidator.Kind#SIGNER}, the validator's code); the leaf's CN names
   * the role {@code CS} ({@code signer_certificate_role}). The result holds the leaf's private key
   * only: the distributor keeps its CA keys, and the generated chain's CA keys are dropped.
   *
   * @throws CinemaException the check that failed, by its code
   */
  public KdmSignerKeys withImportedChain(List<byte[]> der, Instant now) throws CinemaException {
    Objects.requireNonNull(now, "now");
    List<X509Certificate> imported = parseChain(der);
    byte[] mine = chain.get(0).getPublicKey().getEncoded();
    byte[] theirs = imported.get(0).getPublicKey().getEncoded();
    if (!java.security.MessageDigest.isEqual(mine, theirs)) {
      throw new CinemaException(
          "kdm_signer_chain_key_mismatch",
          "the chain's leaf certifies another public key than the enclave's KDM signer key (ask for a new CSR)");
    }
    DcCertificateChainValidator.validate(DcCertificateChainValidator.Kind.SIGNER, imported, now);
    if (!dev.keycast.protocol.cinema.DcCertificates.roles(imported.get(0)).contains(LEAF_ROLES)) {
      throw new CinemaException(
          "signer_certificate_role",
          "the leaf's common name lacks the content signer role CS (roles are the words before the first '.')");
    }
    List<byte[]> copies = new ArrayList<>();
    for (byte[] d : der) {
      copies.add(d.clone());
    }
    return of(imported, copies, List.of(privateKeys.get(0)));
  }

  /** Decodes an RSA private key from PKCS #8 DER; zeroizes nothing (the caller owns {@code pkcs8}). */
  static PrivateKey decodePrivateKey(byte[] pkcs8) throws GeneralSecurityException {
    PKCS8EncodedKeySpec spec = new PKCS8EncodedKeySpec(pkcs8);
    return KeyFactory.getInstance("RSA").generatePrivate(spec);
  }

  private static void checkChainBounds(List<byte[]> der) throws CinemaException {
    if (der == null || der.size() < 2 || der.size() > MAX_CERTIFICATES) {
      throw new CinemaException(
          "signer_certificate_chain_length",
          "a signer chain holds 2 to " + MAX_CERTIFICATES + " certificates, leaf first");
    }
    int total = 0;
    for (byte[] d : der) {
      if (d == null || d.length < 1 || d.length > MAX_CERTIFICATE_BYTES) {
        throw new CinemaException(
            "signer_certificate_size",
            "a signer certificate is 1 to " + MAX_CERTIFICATE_BYTES + " bytes of DER");
      }
      total += d.length;
    }
    if (total > MAX_CHAIN_BYTES) {
      throw new CinemaException(
          "signer_certificate_size",
          "a signer chain is at most " + MAX_CHAIN_BYTES + " bytes of DER, got " + total);
    }
  }

  /** The latest notBefore of the chain: the instant its structure is validated at. */
  private static Instant validationInstant(List<X509Certificate> chain) {
    Instant at = Instant.EPOCH;
    for (X509Certificate c : chain) {
      Instant nb = c.getNotBefore().toInstant();
      if (nb.isAfter(at)) {
        at = nb;
      }
    }
    return at;
  }

  static boolean matches(PrivateKey key, X509Certificate cert) {
    if (!(cert.getPublicKey() instanceof RSAPublicKey pub) || !(key instanceof RSAPrivateKey rsa)) {
      return false;
    }
    return rsa.getModulus().equals(pub.getModulus())
        && (!(key instanceof RSAPrivateCrtKey crt)
            || crt.getPublicExponent().equals(pub.getPublicExponent()));
  }

  private static byte[] encoded(X509Certificate c) throws CinemaException {
    try {
      return c.getEncoded();
    } catch (java.security.cert.CertificateEncodingException e) {
      throw new CinemaException(
          "signer_certificate_malformed", "a signer certificate cannot be encoded");
    }
  }

  /** The chain, leaf first. */
  public List<X509Certificate> chain() {
    return chain;
  }

  /** The chain as DER, leaf first (copies). */
  public List<byte[]> chainDer() {
    return chainDer.stream().map(byte[]::clone).toList();
  }

  /** How many private keys are held (the first certificates', leaf first). */
  public int privateKeyCount() {
    return privateKeys.size();
  }

  /** The private key of certificate {@code i} (0 = leaf). Package-private: sealing only. */
  PrivateKey privateKey(int i) {
    return privateKeys.get(i);
  }

  /** The instant the chain was validated at (its latest notBefore). */
  public Instant validatedAt() {
    return validatedAt;
  }

  /** The KDM signer (leaf key and chain) for {@code KdmWriter}. */
  public KdmSigner signer() {
    try {
      return KdmSigner.of(privateKeys.get(0), chain, validatedAt);
    } catch (CinemaException e) {
      throw new IllegalStateException("a checked signer chain no longer checks: " + e.code(), e);
    }
  }

  @Override
  public String toString() {
    return "KdmSignerKeys[leaf="
        + chain.get(0).getSubjectX500Principal().getName()
        + ", certificates="
        + chain.size()
        + ", privateKeys="
        + privateKeys.size()
        + "]";
  }
}
