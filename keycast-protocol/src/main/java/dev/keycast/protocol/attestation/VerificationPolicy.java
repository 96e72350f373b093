package dev.keycast.protocol.attestation;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * What an attestation verifier requires. Immutable; build with {@link #builder()}.
 *
 * <p>Defaults: trust only the AWS Nitro Enclaves Root-G1; validate now with a 5-minute maximum
 * age and 60 s of clock skew; reject debug-mode documents; no PCR, nonce, public key or user data
 * expectation (a caller that omits them gets a warning flag in the result, not silence).
 */
public final class VerificationPolicy {
  /** Default tolerance for a document timestamp ahead of the verifier's clock. */
  public static final Duration DEFAULT_CLOCK_SKEW = Duration.ofSeconds(60);

  private final List<TrustRoot> trustRoots;
  private final ValidationTime validationTime;
  private final Duration clockSkew;
  private final ExpectedPcrs expectedPcrs;
  private final boolean allowDebug;
  private final byte[] expectedNonce;
  private final byte[] expectedPublicKey;
  private final byte[] expectedUserData;

  private VerificationPolicy(Builder b) {
    this.trustRoots = List.copyOf(b.trustRoots);
    this.validationTime = b.validationTime;
    this.clockSkew = b.clockSkew;
    this.expectedPcrs = b.expectedPcrs;
    this.allowDebug = b.allowDebug;
    this.expectedNonce = b.expectedNonce == null ? null : b.expectedNonce.clone();
    this.expectedPublicKey = b.expectedPublicKey == null ? null : b.expectedPublicKey.clone();
    this.expectedUserData = b.expectedUserData == null ? null : b.expectedUserData.clone();
  }

  /** A builder with the defaults described above. */
  public static Builder builder() {
    return new Builder();
  }

  /** The default policy: AWS root only, now with a 5-minute maximum age, no debug. */
  public static VerificationPolicy defaults() {
    return builder().build();
  }

  public List<TrustRoot> trustRoots() {
    return trustRoots;
  }

  public ValidationTime validationTime() {
    return validationTime;
  }

  public Duration clockSkew() {
    return clockSkew;
  }

  public Optional<ExpectedPcrs> expectedPcrs() {
    return Optional.ofNullable(expectedPcrs);
  }

  public boolean allowDebug() {
    return allowDebug;
  }

  public Optional<byte[]> expectedNonce() {
    return Optional.ofNullable(expectedNonce).map(byte[]::clone);
  }

  public Optional<byte[]> expectedPublicKey() {
    return Optional.ofNullable(expectedPublicKey).map(byte[]::clone);
  }

  public Optional<byte[]> expectedUserData() {
    return Optional.ofNullable(expectedUserData).map(byte[]::clone);
  }

  byte[] expectedNonceRef() {
    return expectedNonce;
  }

  byte[] expectedPublicKeyRef() {
    return expectedPublicKey;
  }

  byte[] expectedUserDataRef() {
    return expectedUserData;
  }

  /** A builder of the same policy, to derive a variant. */
  public Builder toBuilder() {
    Builder b = new Builder();
    b.trustRoots.clear();
    b.trustRoots.addAll(trustRoots);
    b.validationTime = validationTime;
    b.clockSkew = clockSkew;
    b.expectedPcrs = expectedPcrs;
    b.allowDebug = allowDebug;
    b.expectedNonce = expectedNonce;
    b.expectedPublicKey = expectedPublicKey;
    b.expectedUserData = expectedUserData;
    return b;
  }

  @Override
  public String toString() {
    return "VerificationPolicy[roots="
        + trustRoots.stream().map(TrustRoot::name).toList()
        + ", time="
        + validationTime
        + ", pcrs="
        + (expectedPcrs == null ? "unchecked" : expectedPcrs.setsRef().size() + " set(s)")
        + ", allowDebug="
        + allowDebug
        + ", nonce="
        + (expectedNonce != null)
        + ", publicKey="
        + (expectedPublicKey != null)
        + ", userData="
        + (expectedUserData != null)
        + "]";
  }

  /** Builds a {@link VerificationPolicy}. Not thread-safe. */
  public static final class Builder {
    private final List<TrustRoot> trustRoots = new ArrayList<>(List.of(TrustRoot.awsNitroRootG1()));
    private ValidationTime validationTime = ValidationTime.now();
    private Duration clockSkew = DEFAULT_CLOCK_SKEW;
    private ExpectedPcrs expectedPcrs;
    private boolean allowDebug;
    private byte[] expectedNonce;
    private byte[] expectedPublicKey;
    private byte[] expectedUserData;

    private Builder() {}

    /**
     * Also trusts {@code root} (for example a mock-enclave root). Documents that chain to a
     * non-AWS root are reported with {@link VerifiedAttestation.Warning#NON_AWS_ROOT}.
     */
    public Builder addTrustRoot(TrustRoot root) {
      trustRoots.add(Objects.requireNonNull(root, "root"));
      return this;
    }

    /** Replaces the trust roots (the AWS root is then trusted only if included). */
    public Builder trustRoots(List<TrustRoot> roots) {
      if (roots.isEmpty()) {
        throw new IllegalArgumentException("at least one trust root is required");
      }
      trustRoots.clear();
      roots.forEach(r -> trustRoots.add(Objects.requireNonNull(r, "root")));
      return this;
    }

    public Builder validationTime(ValidationTime time) {
      this.validationTime = Objects.requireNonNull(time, "time");
      return this;
    }

    public Builder clockSkew(Duration skew) {
      if (skew.isNegative()) {
        throw new IllegalArgumentException("clock skew must not be negative");
      }
      this.clockSkew = skew;
      return this;
    }

    public Builder expectedPcrs(ExpectedPcrs pcrs) {
      this.expectedPcrs = Objects.requireNonNull(pcrs, "pcrs");
      return this;
    }

    /** Accept debug-mode documents (PCR0 all zeros). Never for production secrets. */
    public Builder allowDebug(boolean allow) {
      this.allowDebug = allow;
      return this;
    }

    public Builder expectedNonce(byte[] nonce) {
      this.expectedNonce = nonce.clone();
      return this;
    }

    public Builder expectedPublicKey(byte[] publicKey) {
      this.expectedPublicKey = publicKey.clone();
      return this;
    }

    public Builder expectedUserData(byte[] userData) {
      this.expectedUserData = userData.clone();
      return this;
    }

    public VerificationPolicy build() {
      return new VerificationPolicy(this);
    }
  }
}
