package dev.keycast.kms.mock;

import java.net.URI;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.util.List;
import java.util.function.Consumer;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.AwsCredentials;
import software.amazon.awssdk.auth.credentials.AwsSessionCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.awscore.retry.AwsRetryStrategy;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.kms.KmsClient;

/** Shared test setup: callers, a test Nitro PKI, and SDK clients pointed at a mock KMS. */
final class KmsFixture {
  static final String ACCOUNT = "111122223333";
  static final String ROOT_ARN = "arn:aws:iam::" + ACCOUNT + ":root";
  static final String ROLE_ARN = "arn:aws:iam::" + ACCOUNT + ":role/keycast-parent";
  static final StaticCredential ADMIN =
      StaticCredential.of("AKIAADMIN0000000001", "admin-secret-key-0001", ROOT_ARN);
  static final StaticCredential PARENT =
      StaticCredential.of("AKIAPARENT000000001", "parent-secret-key-001", ROLE_ARN);
  static final StaticCredential TEMP =
      StaticCredential.withSessionToken(
          "ASIATEMP00000000001", "temp-secret-key-0001", "session-token-xyz", ROLE_ARN);

  private KmsFixture() {}

  static MockKmsConfig.Builder config(Path state, List<X509Certificate> roots) {
    return MockKmsConfig.builder()
        .stateDirectory(state)
        .region("us-east-1")
        .accountId(ACCOUNT)
        .addCredential(ADMIN)
        .addCredential(PARENT)
        .addCredential(TEMP)
        .recipientVerifier(ProtocolRecipientVerifierTest.verifier(roots, Clock.systemUTC()));
  }

  static KmsClient client(URI endpoint, StaticCredential c) {
    return client(
        endpoint, c.accessKeyId(), c.secretAccessKey(), c.sessionToken().orElse(null), h -> {});
  }

  static KmsClient client(
      URI endpoint,
      String akid,
      String secret,
      String token,
      Consumer<UrlConnectionHttpClient.Builder> http) {
    AwsCredentials creds =
        token == null
            ? AwsBasicCredentials.create(akid, secret)
            : AwsSessionCredentials.create(akid, secret, token);
    UrlConnectionHttpClient.Builder hb = UrlConnectionHttpClient.builder();
    http.accept(hb);
    return KmsClient.builder()
        .endpointOverride(endpoint)
        .region(Region.US_EAST_1)
        .credentialsProvider(StaticCredentialsProvider.create(creds))
        .httpClient(hb.build())
        .overrideConfiguration(o -> o.retryStrategy(AwsRetryStrategy.doNotRetry()))
        .build();
  }
}
