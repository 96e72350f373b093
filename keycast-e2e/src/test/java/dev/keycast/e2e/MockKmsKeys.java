package dev.keycast.e2e;

import java.io.InputStream;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import javax.net.ssl.TrustManagerFactory;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.kms.KmsClient;

/** Creates KMS keys in a running mock KMS through the real AWS SDK (the e2e tests' operator step). */
final class MockKmsKeys {
  private MockKmsKeys() {}

  /**
   * Creates a key with {@code policy} on the mock KMS at {@code https://127.0.0.1:port}, trusting
   * only {@code caCert} for its TLS, and returns its ARN. The locked policy takes PutKeyPolicy away
   * from everyone, so the key is created past the lockout safety check on purpose.
   */
  static String createLocked(
      int port,
      Path caCert,
      String region,
      String accessKey,
      String secretKey,
      String policy,
      String description)
      throws Exception {
    KeyStore trust = KeyStore.getInstance("PKCS12");
    trust.load(null, null);
    try (InputStream in = Files.newInputStream(caCert)) {
      int i = 0;
      for (Certificate c : CertificateFactory.getInstance("X.509").generateCertificates(in)) {
        trust.setCertificateEntry("kms" + i++, c);
      }
    }
    TrustManagerFactory tmf =
        TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(trust);
    try (KmsClient kms =
        KmsClient.builder()
            .endpointOverride(URI.create("https://127.0.0.1:" + port))
            .region(Region.of(region))
            .credentialsProvider(
                StaticCredentialsProvider.create(AwsBasicCredentials.create(accessKey, secretKey)))
            .httpClient(
                UrlConnectionHttpClient.builder()
                    .tlsTrustManagersProvider(tmf::getTrustManagers)
                    .build())
            .build()) {
      return kms.createKey(
              b -> b.policy(policy).bypassPolicyLockoutSafetyCheck(true).description(description))
          .keyMetadata()
          .arn();
    }
  }
}
