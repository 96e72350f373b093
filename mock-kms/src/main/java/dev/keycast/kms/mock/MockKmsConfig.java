package dev.keycast.kms.mock;

import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * Immutable configuration of a {@link MockKms}. Build it with {@link #builder()}.
 *
 * @param listen address to bind ({@code 127.0.0.1} and port 0 for an ephemeral port)
 * @param stateDirectory where keys, policies and the TLS certificate persist
 * @param region the region requests must be signed for
 * @param accountId the AWS account that owns the keys (12 digits)
 * @param credentials the callers the server accepts
 * @param recipientVerifier verifies {@code Recipient.AttestationDocument}s
 * @param tls serve HTTPS with a self-signed certificate kept in the state directory
 * @param maxRequestBytes request bodies larger than this are refused before they are read
 * @param clockSkew how far {@code X-Amz-Date} may be from the server clock
 * @param clock the server clock
 * @param iamPolicies the IAM identity policies of the account's principals (the mock's IAM)
 */
public record MockKmsConfig(
    InetSocketAddress listen,
    Path stateDirectory,
    String region,
    String accountId,
    List<StaticCredential> credentials,
    RecipientAttestationVerifier recipientVerifier,
    boolean tls,
    int maxRequestBytes,
    Duration clockSkew,
    Clock clock,
    IamPolicies iamPolicies) {
  private static final Pattern ACCOUNT = Pattern.compile("[0-9]{12}");
  private static final Pattern REGION = Pattern.compile("[a-z]{2}(-[a-z]+)+-[0-9]+");

  public MockKmsConfig {
    Objects.requireNonNull(listen, "listen");
    Objects.requireNonNull(stateDirectory, "stateDirectory");
    Objects.requireNonNull(region, "region");
    Objects.requireNonNull(accountId, "accountId");
    Objects.requireNonNull(recipientVerifier, "recipientVerifier");
    Objects.requireNonNull(clockSkew, "clockSkew");
    Objects.requireNonNull(clock, "clock");
    Objects.requireNonNull(iamPolicies, "iamPolicies");
    credentials = List.copyOf(credentials);
    if (!REGION.matcher(region).matches()) {
      throw new IllegalArgumentException("not a region name: \"" + region + "\"");
    }
    if (!ACCOUNT.matcher(accountId).matches()) {
      throw new IllegalArgumentException("account id must be 12 digits: \"" + accountId + "\"");
    }
    if (maxRequestBytes < 1024 || maxRequestBytes > (64 << 20)) {
      throw new IllegalArgumentException("maxRequestBytes out of range: " + maxRequestBytes);
    }
    if (clockSkew.isNegative()) {
      throw new IllegalArgumentException("clockSkew must not be negative");
    }
  }

  /** A builder with the defaults: 127.0.0.1:0, us-east-1, account 111122223333, 1 MiB, 5 min. */
  public static Builder builder() {
    return new Builder();
  }

  /** Builder for {@link MockKmsConfig}. */
  public static final class Builder {
    private InetSocketAddress listen = new InetSocketAddress("127.0.0.1", 0);
    private Path stateDirectory;
    private String region = "us-east-1";
    private String accountId = "111122223333";
    private final List<StaticCredential> credentials = new ArrayList<>();
    private RecipientAttestationVerifier recipientVerifier;
    private boolean tls;
    private int maxRequestBytes = 1 << 20;
    private Duration clockSkew = Duration.ofMinutes(5);
    private Clock clock = Clock.systemUTC();
    private IamPolicies iamPolicies = IamPolicies.none();

    private Builder() {}

    public Builder listen(InetSocketAddress listen) {
      this.listen = listen;
      return this;
    }

    public Builder stateDirectory(Path stateDirectory) {
      this.stateDirectory = stateDirectory;
      return this;
    }

    public Builder region(String region) {
      this.region = region;
      return this;
    }

    public Builder accountId(String accountId) {
      this.accountId = accountId;
      return this;
    }

    public Builder addCredential(StaticCredential credential) {
      this.credentials.add(Objects.requireNonNull(credential));
      return this;
    }

    public Builder recipientVerifier(RecipientAttestationVerifier recipientVerifier) {
      this.recipientVerifier = recipientVerifier;
      return this;
    }

    public Builder tls(boolean tls) {
      this.tls = tls;
      return this;
    }

    public Builder maxRequestBytes(int maxRequestBytes) {
      this.maxRequestBytes = maxRequestBytes;
      return this;
    }

    public Builder clockSkew(Duration clockSkew) {
      this.clockSkew = clockSkew;
      return this;
    }

    public Builder clock(Clock clock) {
      this.clock = clock;
      return this;
    }

    public Builder iamPolicies(IamPolicies iamPolicies) {
      this.iamPolicies = iamPolicies;
      return this;
    }

    public MockKmsConfig build() {
      RecipientAttestationVerifier verifier =
          recipientVerifier != null ? recipientVerifier : RecipientAttestationVerifier.rejectAll();
      return new MockKmsConfig(
          listen,
          stateDirectory,
          region,
          accountId,
          credentials,
          verifier,
          tls,
          maxRequestBytes,
          clockSkew,
          clock,
          iamPolicies);
    }
  }
}
