import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;

/**
 * Writes a PKCS#12 trust store (password "changeit", no certificate encryption or MAC, as the
 * JDK's own lib/security/cacerts) holding every certificate of the given PEM files.
 * Used by scripts/docker-base-images: {@code java PemToTrustStore.java OUT PEM...}.
 */
public final class PemToTrustStore {
  public static void main(String[] args) throws Exception {
    if (args.length < 2) {
      System.err.println("usage: java PemToTrustStore.java OUT.p12 CERTS.pem...");
      System.exit(2);
    }
    // As the JDK's own cacerts: certificates not encrypted and no MAC, so that a JVM without
    // javax.net.ssl.trustStorePassword (the default) reads every entry.
    System.setProperty("keystore.pkcs12.certProtectionAlgorithm", "NONE");
    System.setProperty("keystore.pkcs12.macAlgorithm", "NONE");
    CertificateFactory factory = CertificateFactory.getInstance("X.509");
    List<X509Certificate> certificates = new ArrayList<>();
    for (int i = 1; i < args.length; i++) {
      try (InputStream in = Files.newInputStream(Path.of(args[i]))) {
        for (Certificate c : factory.generateCertificates(in)) {
          certificates.add((X509Certificate) c);
        }
      }
    }
    if (certificates.isEmpty()) {
      System.err.println("PemToTrustStore: no certificates in " + String.join(" ", List.of(args).subList(1, args.length)));
      System.exit(1);
    }
    KeyStore store = KeyStore.getInstance("PKCS12");
    store.load(null, null);
    int n = 0;
    for (X509Certificate c : certificates) {
      store.setCertificateEntry(String.format("ca-%03d", n++), c);
    }
    try (OutputStream out = Files.newOutputStream(Path.of(args[0]))) {
      store.store(out, "changeit".toCharArray());
    }
    System.err.println("PemToTrustStore: " + n + " certificates -> " + args[0]);
  }
}
