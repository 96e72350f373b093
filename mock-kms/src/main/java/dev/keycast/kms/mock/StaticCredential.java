package dev.keycast.kms.mock;

import java.util.Objects;
import java.util.Optional;

/**
 * One configured caller: an access key id, its secret, the IAM principal ARN that requests signed
 * with it act as, and optionally the session token it must present ({@code X-Amz-Security-Token}).
 *
 * <p>{@link #toString()} omits the secret and the session token.
 */
public record StaticCredential(
    String accessKeyId,
    String secretAccessKey,
    String principalArn,
    Optional<String> sessionToken) {
  public StaticCredential {
    Objects.requireNonNull(accessKeyId, "accessKeyId");
    Objects.requireNonNull(secretAccessKey, "secretAccessKey");
    Objects.requireNonNull(principalArn, "principalArn");
    Objects.requireNonNull(sessionToken, "sessionToken");
    if (accessKeyId.isEmpty() || secretAccessKey.isEmpty() || principalArn.isEmpty()) {
      throw new IllegalArgumentException(
          "access key id, secret and principal ARN must be non-empty");
    }
  }

  /** A long-term credential (no session token). */
  public static StaticCredential of(
      String accessKeyId, String secretAccessKey, String principalArn) {
    return new StaticCredential(accessKeyId, secretAccessKey, principalArn, Optional.empty());
  }

  /** A temporary credential that must present {@code sessionToken}. */
  public static StaticCredential withSessionToken(
      String accessKeyId, String secretAccessKey, String sessionToken, String principalArn) {
    return new StaticCredential(
        accessKeyId, secretAccessKey, principalArn, Optional.of(sessionToken));
  }

  @Override
  public String toString() {
    return "StaticCredential[accessKeyId="
        + accessKeyId
        + ", principalArn="
        + principalArn
        + ", sessionToken="
        + (sessionToken.isPresent() ? "<set>" : "<none>")
        + "]";
  }
}
