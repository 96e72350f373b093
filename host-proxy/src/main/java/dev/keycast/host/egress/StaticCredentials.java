package dev.keycast.host.egress;

import dev.keycast.protocol.api.EnclaveApi.AwsCredentials;
import java.util.Map;
import java.util.Objects;

/** Fixed credentials (mock mode): from options or the standard AWS environment variables. */
public final class StaticCredentials implements CredentialsProvider {
  private final AwsCredentials credentials;

  /** Credentials without expiry. */
  public StaticCredentials(String accessKeyId, String secretAccessKey, String sessionToken) {
    if (accessKeyId == null
        || accessKeyId.isBlank()
        || secretAccessKey == null
        || secretAccessKey.isBlank()) {
      throw new IllegalArgumentException(
          "static credentials need an access key id and a secret key");
    }
    this.credentials =
        new AwsCredentials(
            accessKeyId,
            secretAccessKey,
            sessionToken == null || sessionToken.isBlank() ? null : sessionToken,
            null);
  }

  /**
   * From {@code AWS_ACCESS_KEY_ID}, {@code AWS_SECRET_ACCESS_KEY} and optional
   * {@code AWS_SESSION_TOKEN} in {@code env}.
   */
  public static StaticCredentials fromEnvironment(Map<String, String> env) {
    Objects.requireNonNull(env, "env");
    return new StaticCredentials(
        env.get("AWS_ACCESS_KEY_ID"),
        env.get("AWS_SECRET_ACCESS_KEY"),
        env.get("AWS_SESSION_TOKEN"));
  }

  @Override
  public AwsCredentials credentials() {
    return credentials;
  }

  @Override
  public String describe() {
    return "static (" + credentials.accessKeyId() + ")";
  }

  @Override
  public String toString() {
    return "StaticCredentials[" + credentials.accessKeyId() + ", secret=<redacted>]";
  }
}
