package dev.keycast.protocol.attestation;

/**
 * An attestation document failed verification. {@link #reason()} names the one check that failed;
 * the message says why and quotes the offending value when it is not secret.
 */
public final class AttestationException extends Exception {
  /** The check that failed. Each check of the verifier has exactly one reason. */
  public enum Reason {
    /** The bytes are not a well-formed COSE_Sign1 attestation document (types, sizes, limits). */
    MALFORMED,
    /** The protected header's {@code alg} is not ES384 (-35). */
    UNSUPPORTED_ALGORITHM,
    /** The ES384 signature does not verify with the leaf certificate's key. */
    BAD_SIGNATURE,
    /** {@code cabundle[0]} is not one of the pinned trust roots. */
    UNTRUSTED_ROOT,
    /** A certificate breaks the Nitro profile: basic constraints, key usage, ecdsa-with-SHA384, P-384. */
    CERT_EXTENSIONS,
    /** A certificate of the chain has expired at the validation instant. */
    EXPIRED,
    /** A certificate of the chain is not yet valid at the validation instant. */
    NOT_YET_VALID,
    /** The PKIX path from the leaf through the CA bundle to the pinned root does not validate. */
    CHAIN_INVALID,
    /** The document timestamp is older than the policy's maximum age. */
    TOO_OLD,
    /** The document timestamp is later than the validation instant plus the allowed clock skew. */
    TIMESTAMP_IN_FUTURE,
    /** PCR0 is all zeros (debug-mode enclave) and the policy does not allow debug documents. */
    DEBUG_MODE,
    /** The PCRs match none of the allowed PCR sets. */
    PCR_MISMATCH,
    /** The nonce differs from (or lacks) the expected nonce. */
    NONCE_MISMATCH,
    /** The public_key differs from (or lacks) the expected public key. */
    PUBLIC_KEY_MISMATCH,
    /** The user_data differs from (or lacks) the expected user data. */
    USER_DATA_MISMATCH
  }

  private final Reason reason;

  public AttestationException(Reason reason, String message) {
    super(message);
    this.reason = reason;
  }

  public AttestationException(Reason reason, String message, Throwable cause) {
    super(message, cause);
    this.reason = reason;
  }

  /** The check that failed. */
  public Reason reason() {
    return reason;
  }

  @Override
  public String toString() {
    return reason + ": " + getMessage();
  }
}
