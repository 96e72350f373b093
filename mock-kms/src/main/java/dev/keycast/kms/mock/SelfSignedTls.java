package dev.keycast.kms.mock;

import java.io.IOException;
import java.io.StringReader;
import java.io.StringWriter;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * The mock KMS's self-signed TLS identity: an ECDSA P-256 certificate for {@code 127.0.0.1}, {@code
 * localhost} and {@code kms.<region>.amazonaws.com}, kept in {@code <state>/tls/cert.pem} and
 * {@code key.pem} (0600) and reused across restarts.
 */
final class SelfSignedTls {
  final X509Certificate certificate;
  final Path certificateFile;
  final SSLContext context;

  private SelfSignedTls(X509Certificate certificate, Path certificateFile, SSLContext context) {
    this.certificate = certificate;
    this.certificateFile = certificateFile;
    this.context = context;
  }

  static SelfSignedTls loadOrCreate(Path stateDir, String region, SecureRandom random)
      throws IOException, GeneralSecurityException {
    Path dir = stateDir.resolve("tls");
    dev.keycast.kms.mock.KeyStore.createPrivateDirectory(dir);
    Path certFile = dir.resolve("cert.pem");
    Path keyFile = dir.resolve("key.pem");
    X509Certificate cert;
    PrivateKey key;
    if (Files.exists(certFile) && Files.exists(keyFile)) {
      cert =
          (X509Certificate)
              CertificateFactory.getInstance("X.509")
                  .generateCertificate(Files.newInputStream(certFile));
      try (PEMParser p = new PEMParser(new StringReader(Files.readString(keyFile)))) {
        Object o = p.readObject();
        if (!(o instanceof PrivateKeyInfo pki)) {
          throw new IOException("tls/key.pem does not hold a PKCS#8 private key");
        }
        key = new JcaPEMKeyConverter().getPrivateKey(pki);
      }
    } else {
      KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
      g.initialize(new ECGenParameterSpec("secp256r1"), random);
      KeyPair kp = g.generateKeyPair();
      Instant now = Instant.now();
      X500Name name = new X500Name("CN=Keycast MOCK KMS (not AWS),O=Keycast mock");
      try {
        JcaX509v3CertificateBuilder b =
            new JcaX509v3CertificateBuilder(
                name,
                new BigInteger(64, random).abs().add(BigInteger.ONE),
                Date.from(now.minus(Duration.ofHours(1))),
                Date.from(now.plus(Duration.ofDays(3650))),
                name,
                kp.getPublic());
        b.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
        b.addExtension(
            Extension.subjectAlternativeName,
            false,
            new GeneralNames(
                new GeneralName[] {
                  new GeneralName(GeneralName.iPAddress, "127.0.0.1"),
                  new GeneralName(GeneralName.dNSName, "localhost"),
                  new GeneralName(GeneralName.dNSName, "kms." + region + ".amazonaws.com")
                }));
        cert =
            new JcaX509CertificateConverter()
                .getCertificate(
                    b.build(new JcaContentSignerBuilder("SHA256withECDSA").build(kp.getPrivate())));
      } catch (OperatorCreationException e) {
        throw new GeneralSecurityException("cannot sign the TLS certificate", e);
      }
      key = kp.getPrivate();
      writeFile(keyFile, pem(new org.bouncycastle.openssl.jcajce.JcaPKCS8Generator(key, null)));
      writeFile(certFile, pem(cert));
    }
    KeyStore ks = KeyStore.getInstance("PKCS12");
    ks.load(null, null);
    char[] pw = new char[0];
    ks.setKeyEntry("mock-kms", key, pw, new X509Certificate[] {cert});
    KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
    kmf.init(ks, pw);
    SSLContext ctx = SSLContext.getInstance("TLS");
    ctx.init(kmf.getKeyManagers(), null, random);
    return new SelfSignedTls(cert, certFile, ctx);
  }

  private static void writeFile(Path file, String text) throws IOException {
    dev.keycast.kms.mock.KeyStore.writeAtomically(file, text.getBytes(StandardCharsets.US_ASCII));
  }

  static String pem(Object o) throws IOException {
    StringWriter w = new StringWriter();
    try (JcaPEMWriter pw = new JcaPEMWriter(w)) {
      pw.writeObject(o);
    }
    return w.toString();
  }
}
