package dev.keycast.enclave.kms;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import dev.keycast.kms.mock.MockKms;
import dev.keycast.kms.mock.MockKmsConfig;
import dev.keycast.protocol.api.EnclaveApi;
import dev.keycast.transport.Endpoint;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.MessageDigest;
import java.security.cert.X509Certificate;
import java.util.Collections;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import javax.net.ssl.SSLHandshakeException;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509TrustManager;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.services.kms.KmsClient;

/** The trust anchors of the enclave's TLS client to KMS in production. */
class KmsTrustAnchorsTest {
  static final String REGION = "us-east-1";
  static final EnclaveApi.AwsCredentials CREDENTIALS =
      new EnclaveApi.AwsCredentials(
          "AKIAADMIN0000000002", "admin-secret-key-000000000000000000002", null, null);

  @TempDir Path tmp;

  @Test
  void theImageTrustsExactlyTheFiveAmazonTrustServicesRoots() throws Exception {
    List<X509Certificate> roots = KmsTrustAnchors.amazonTrustServices();
    Set<String> subjects =
        roots.stream().map(c -> c.getSubjectX500Principal().getName()).collect(Collectors.toSet());
    assertThat(subjects)
        .containsExactlyInAnyOrder(
            "CN=Amazon Root CA 1,O=Amazon,C=US",
            "CN=Amazon Root CA 2,O=Amazon,C=US",
            "CN=Amazon Root CA 3,O=Amazon,C=US",
            "CN=Amazon Root CA 4,O=Amazon,C=US",
            "CN=Starfield Services Root Certificate Authority - G2,O=Starfield Technologies\\, Inc.,L=Scottsdale,ST=Arizona,C=US");
    for (X509Certificate c : roots) {
      assertThat(c.getSubjectX500Principal())
          .isEqualTo(c.getIssuerX500Principal()); // self-signed roots
      c.verify(c.getPublicKey());
      assertThat(c.getBasicConstraints()).isGreaterThanOrEqualTo(0);
    }
    // the JDK's own copies of these roots have the same fingerprints (an independent source)
    KeyStore jdk = jdkCacerts();
    Set<String> jdkFingerprints =
        Collections.list(jdk.aliases()).stream()
            .map(
                a -> {
                  try {
                    return sha256((X509Certificate) jdk.getCertificate(a));
                  } catch (Exception e) {
                    throw new IllegalStateException(e);
                  }
                })
            .collect(Collectors.toSet());
    assertThat(jdkFingerprints).containsAll(KmsTrustAnchors.SHA256);
  }

  @Test
  void aKmsCertificateFromAnotherCaTheJdkTrustsIsRefusedByTheEnclavesKmsClient() throws Exception {
    // The host answers the enclave's KMS connection itself, with a certificate for
    // kms.us-east-1.amazonaws.com from a CA that the JDK's trust store holds (a mis-issuance by
    // one of its ~140 public roots, played here by a test CA added to that store).
    try (MockKms impostor =
        MockKms.start(
            MockKmsConfig.builder().stateDirectory(tmp.resolve("impostor")).tls(true).build())) {
      X509Certificate rogue =
          KmsConnector.readPem(impostor.tlsCertificateFile().orElseThrow()).getFirst();
      KeyStore jdkPlusRogue = jdkCacerts();
      jdkPlusRogue.setCertificateEntry("rogue-public-looking-ca", rogue);
      Path store = tmp.resolve("jdk-plus-rogue.p12");
      try (OutputStream out = Files.newOutputStream(store)) {
        jdkPlusRogue.store(out, "changeit".toCharArray());
      }
      // what the JDK would trust: its default trust manager over that store accepts the certificate
      TrustManagerFactory tmf =
          TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      tmf.init(jdkPlusRogue);
      ((X509TrustManager) tmf.getTrustManagers()[0])
          .checkServerTrusted(new X509Certificate[] {rogue}, "ECDHE_RSA");

      String[] keys = {
        "javax.net.ssl.trustStore",
        "javax.net.ssl.trustStoreType",
        "javax.net.ssl.trustStorePassword"
      };
      String[] saved = new String[keys.length];
      for (int i = 0; i < keys.length; i++) {
        saved[i] = System.getProperty(keys[i]);
      }
      System.setProperty(keys[0], store.toString());
      System.setProperty(keys[1], "PKCS12");
      System.setProperty(keys[2], "changeit");
      Throwable t;
      try (KmsConnector production =
              KmsConnector.production(
                  Endpoint.parse("tcp://127.0.0.1:" + impostor.port()),
                  new KmsConnector.Options(
                      java.time.Duration.ofSeconds(5),
                      java.time.Duration.ofSeconds(10),
                      java.time.Duration.ofSeconds(20),
                      1));
          KmsClient kms = production.client(REGION, CREDENTIALS)) {
        t = catchThrowable(() -> kms.generateRandom(b -> b.numberOfBytes(32)));
      } finally {
        for (int i = 0; i < keys.length; i++) {
          if (saved[i] == null) {
            System.clearProperty(keys[i]);
          } else {
            System.setProperty(keys[i], saved[i]);
          }
        }
      }
      assertThat(t).as("the enclave's KMS client must refuse the rogue certificate").isNotNull();
      Throwable root = t;
      boolean handshake = false;
      while (root != null) {
        handshake |= root instanceof SSLHandshakeException;
        root = root.getCause();
      }
      assertThat(handshake).as("refused in the TLS handshake: %s", t).isTrue();
    }
  }

  static KeyStore jdkCacerts() throws Exception {
    KeyStore ks =
        KeyStore.getInstance(
            new java.io.File(System.getProperty("java.home"), "lib/security/cacerts"),
            "changeit".toCharArray());
    KeyStore copy = KeyStore.getInstance("PKCS12");
    copy.load(null, null);
    for (String a : Collections.list(ks.aliases())) {
      copy.setCertificateEntry(a, ks.getCertificate(a));
    }
    return copy;
  }

  static String sha256(X509Certificate c) throws Exception {
    return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(c.getEncoded()));
  }
}
