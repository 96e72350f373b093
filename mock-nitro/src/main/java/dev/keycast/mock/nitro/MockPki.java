package dev.keycast.mock.nitro;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.security.spec.PKCS8EncodedKeySpec;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Arrays;
import java.util.Base64;
import java.util.Date;
import java.util.Set;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * The mock Nitro PKI kept in a state directory: a P-384 root, one intermediate and a short-lived
 * leaf, each as {@code <name>.pem} (certificate) and {@code <name>.key} (PKCS#8 PEM, mode 0600).
 *
 * <p>The root is created once and never replaced (clients pin it). The intermediate is replaced
 * when less than {@link #INTERMEDIATE_RENEW_BEFORE} of its life remains, the leaf when less than
 * {@link #LEAF_RENEW_BEFORE} remains. Not thread-safe; {@link MockAttester} serialises access.
 */
final class MockPki {
  static final Duration ROOT_LIFETIME = Duration.ofDays(3650);
  static final Duration INTERMEDIATE_LIFETIME = Duration.ofDays(90);
  static final Duration INTERMEDIATE_RENEW_BEFORE = Duration.ofDays(7);
  static final Duration LEAF_LIFETIME = Duration.ofHours(3);
  static final Duration LEAF_RENEW_BEFORE = Duration.ofMinutes(30);

  static final String ROOT = "mock-root";
  static final String INTERMEDIATE = "mock-intermediate";
  static final String LEAF = "mock-leaf";

  private static final Set<PosixFilePermission> KEY_PERMS =
      PosixFilePermissions.fromString("rw-------");
  private static final Set<PosixFilePermission> CERT_PERMS =
      PosixFilePermissions.fromString("rw-r--r--");
  private static final Set<PosixFilePermission> DIR_PERMS =
      PosixFilePermissions.fromString("rwx------");

  /** A certificate with its private key. */
  record Issued(X509Certificate certificate, PrivateKey key) {
    @Override
    public String toString() {
      return "Issued[" + certificate.getSubjectX500Principal() + ", key=<redacted>]";
    }
  }

  private final Path dir;
  private final SecureRandom random;
  private final Issued root;
  private Issued intermediate;
  private Issued leaf;

  private MockPki(Path dir, SecureRandom random, Issued root) {
    this.dir = dir;
    this.random = random;
    this.root = root;
  }

  /** Loads the PKI from {@code dir}, creating the directory and any missing part. */
  static MockPki open(Path dir, Instant now, SecureRandom random)
      throws IOException, GeneralSecurityException {
    if (!Files.isDirectory(dir)) {
      Files.createDirectories(dir);
      Files.setPosixFilePermissions(dir, DIR_PERMS);
    }
    Issued root = load(dir, ROOT);
    if (root == null) {
      KeyPair kp = newKeyPair(random);
      X500Name name = new X500Name("CN=keycast mock nitro root (NOT AWS),O=Keycast mock enclave");
      X509Certificate cert =
          issue(
              name,
              kp.getPublic(),
              name,
              kp.getPrivate(),
              null,
              now,
              ROOT_LIFETIME,
              Kind.ROOT,
              random);
      root = new Issued(cert, kp.getPrivate());
      store(dir, ROOT, root);
    } else {
      root.certificate().verify(root.certificate().getPublicKey());
    }
    MockPki pki = new MockPki(dir, random, root);
    // loaded parts must chain (keys were checked against their certificates by load); a part
    // that does not is replaced below
    pki.intermediate = issuedBy(load(dir, INTERMEDIATE), root.certificate().getPublicKey());
    pki.leaf =
        pki.intermediate == null
            ? null
            : issuedBy(load(dir, LEAF), pki.intermediate.certificate().getPublicKey());
    pki.renew(now);
    return pki;
  }

  X509Certificate rootCertificate() {
    return root.certificate();
  }

  X509Certificate intermediateCertificate() {
    return intermediate.certificate();
  }

  /** The leaf valid at {@code now}, replaced first if it (or its issuer) nears expiry. */
  Issued leaf(Instant now) throws IOException, GeneralSecurityException {
    renew(now);
    return leaf;
  }

  private void renew(Instant now) throws IOException, GeneralSecurityException {
    if (!usable(intermediate, now, INTERMEDIATE_RENEW_BEFORE)) {
      KeyPair kp = newKeyPair(random);
      X509Certificate cert =
          issue(
              new X500Name("CN=keycast mock nitro intermediate (NOT AWS),O=Keycast mock enclave"),
              kp.getPublic(),
              subject(root.certificate()),
              root.key(),
              root.certificate(),
              now,
              INTERMEDIATE_LIFETIME,
              Kind.INTERMEDIATE,
              random);
      intermediate = new Issued(cert, kp.getPrivate());
      store(dir, INTERMEDIATE, intermediate);
      leaf = null;
    }
    if (!usable(leaf, now, LEAF_RENEW_BEFORE)) {
      KeyPair kp = newKeyPair(random);
      X509Certificate cert =
          issue(
              new X500Name("CN=keycast mock enclave leaf (NOT AWS),O=Keycast mock enclave"),
              kp.getPublic(),
              subject(intermediate.certificate()),
              intermediate.key(),
              intermediate.certificate(),
              now,
              LEAF_LIFETIME,
              Kind.LEAF,
              random);
      leaf = new Issued(cert, kp.getPrivate());
      store(dir, LEAF, leaf);
    }
  }

  /** True if the part exists and stays valid for longer than {@code renewBefore}. */
  private static boolean usable(Issued issued, Instant now, Duration renewBefore) {
    if (issued == null) {
      return false;
    }
    X509Certificate c = issued.certificate();
    return !now.isBefore(c.getNotBefore().toInstant())
        && !now.plus(renewBefore).isAfter(c.getNotAfter().toInstant());
  }

  private static Issued issuedBy(Issued issued, PublicKey issuer) {
    if (issued == null) {
      return null;
    }
    try {
      issued.certificate().verify(issuer);
      return issued;
    } catch (GeneralSecurityException e) {
      return null;
    }
  }

  private enum Kind {
    ROOT,
    INTERMEDIATE,
    LEAF
  }

  private static X500Name subject(X509Certificate c) {
    return X500Name.getInstance(c.getSubjectX500Principal().getEncoded());
  }

  private static X509Certificate issue(
      X500Name subject,
      PublicKey subjectKey,
      X500Name issuer,
      PrivateKey issuerKey,
      X509Certificate issuerCert,
      Instant now,
      Duration lifetime,
      Kind kind,
      SecureRandom random)
      throws GeneralSecurityException, IOException {
    Instant notBefore = now.truncatedTo(ChronoUnit.SECONDS);
    byte[] serial = new byte[16];
    random.nextBytes(serial);
    serial[0] &= 0x7F;
    serial[0] |= 0x01;
    X509v3CertificateBuilder b =
        new JcaX509v3CertificateBuilder(
            issuer,
            new BigInteger(serial),
            Date.from(notBefore),
            Date.from(notBefore.plus(lifetime)),
            subject,
            subjectKey);
    JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
    b.addExtension(
        Extension.subjectKeyIdentifier, false, ext.createSubjectKeyIdentifier(subjectKey));
    if (issuerCert != null) {
      b.addExtension(
          Extension.authorityKeyIdentifier, false, ext.createAuthorityKeyIdentifier(issuerCert));
    }
    switch (kind) {
      case ROOT -> {
        b.addExtension(Extension.basicConstraints, true, new BasicConstraints(true));
        b.addExtension(
            Extension.keyUsage,
            true,
            new KeyUsage(KeyUsage.digitalSignature | KeyUsage.keyCertSign | KeyUsage.cRLSign));
      }
      case INTERMEDIATE -> {
        b.addExtension(Extension.basicConstraints, true, new BasicConstraints(0));
        b.addExtension(
            Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
      }
      case LEAF -> {
        b.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
        b.addExtension(Extension.keyUsage, false, new KeyUsage(KeyUsage.digitalSignature));
      }
    }
    try {
      return new JcaX509CertificateConverter()
          .getCertificate(b.build(new JcaContentSignerBuilder("SHA384withECDSA").build(issuerKey)));
    } catch (org.bouncycastle.operator.OperatorCreationException e) {
      throw new GeneralSecurityException("cannot sign a mock certificate", e);
    }
  }

  private static KeyPair newKeyPair(SecureRandom random) throws GeneralSecurityException {
    KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
    g.initialize(new ECGenParameterSpec("secp384r1"), random);
    return g.generateKeyPair();
  }

  /** True if the private key belongs to the certificate's public key (sign-then-verify). */
  private static boolean matches(Issued issued) throws GeneralSecurityException {
    byte[] probe = "keycast mock pki key check".getBytes(StandardCharsets.US_ASCII);
    Signature s = Signature.getInstance("SHA384withECDSA");
    s.initSign(issued.key());
    s.update(probe);
    byte[] sig = s.sign();
    s.initVerify(issued.certificate().getPublicKey());
    s.update(probe);
    return s.verify(sig);
  }

  private static Issued load(Path dir, String name) throws IOException, GeneralSecurityException {
    Path certFile = dir.resolve(name + ".pem");
    Path keyFile = dir.resolve(name + ".key");
    if (!Files.exists(certFile) || !Files.exists(keyFile)) {
      return null;
    }
    X509Certificate cert =
        (X509Certificate)
            CertificateFactory.getInstance("X.509")
                .generateCertificate(new ByteArrayInputStream(Files.readAllBytes(certFile)));
    byte[] der =
        pemBody(Files.readString(keyFile, StandardCharsets.US_ASCII), "PRIVATE KEY", keyFile);
    try {
      PrivateKey key = KeyFactory.getInstance("EC").generatePrivate(new PKCS8EncodedKeySpec(der));
      Issued issued = new Issued(cert, key);
      if (!matches(issued)) {
        throw new GeneralSecurityException(keyFile + " does not belong to " + certFile);
      }
      return issued;
    } finally {
      Arrays.fill(der, (byte) 0);
    }
  }

  private static void store(Path dir, String name, Issued issued)
      throws IOException, GeneralSecurityException {
    byte[] der = issued.key().getEncoded();
    try {
      writeAtomically(dir, name + ".key", pem("PRIVATE KEY", der), KEY_PERMS);
    } finally {
      Arrays.fill(der, (byte) 0);
    }
    writeAtomically(
        dir, name + ".pem", pem("CERTIFICATE", issued.certificate().getEncoded()), CERT_PERMS);
  }

  /** Writes a file with the given permissions set before any content is written. */
  static void writeAtomically(Path dir, String name, byte[] content, Set<PosixFilePermission> perms)
      throws IOException {
    Path tmp = dir.resolve("." + name + ".tmp");
    Files.deleteIfExists(tmp);
    try {
      Files.createFile(tmp, PosixFilePermissions.asFileAttribute(perms));
    } catch (FileAlreadyExistsException e) {
      throw new IOException("concurrent writer on " + tmp, e);
    }
    Files.setPosixFilePermissions(tmp, perms); // the umask may have removed bits from the request
    try {
      Files.write(tmp, content);
      try {
        Files.move(
            tmp,
            dir.resolve(name),
            StandardCopyOption.ATOMIC_MOVE,
            StandardCopyOption.REPLACE_EXISTING);
      } catch (AtomicMoveNotSupportedException e) {
        Files.move(tmp, dir.resolve(name), StandardCopyOption.REPLACE_EXISTING);
      }
    } finally {
      Files.deleteIfExists(tmp);
      Arrays.fill(content, (byte) 0);
    }
  }

  static byte[] pem(String label, byte[] der) {
    String body = Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(der);
    return ("-----BEGIN " + label + "-----\n" + body + "\n-----END " + label + "-----\n")
        .getBytes(StandardCharsets.US_ASCII);
  }

  private static byte[] pemBody(String text, String label, Path file) throws IOException {
    String begin = "-----BEGIN " + label + "-----";
    String end = "-----END " + label + "-----";
    int b = text.indexOf(begin);
    int e = text.indexOf(end);
    if (b < 0 || e < b) {
      throw new IOException(file + " is not a PEM " + label);
    }
    try {
      return Base64.getMimeDecoder().decode(text.substring(b + begin.length(), e));
    } catch (IllegalArgumentException ex) {
      throw new IOException(file + " has invalid base64", ex);
    }
  }
}
