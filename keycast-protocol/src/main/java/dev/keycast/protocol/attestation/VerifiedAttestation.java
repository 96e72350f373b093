package dev.keycast.protocol.attestation;

import java.time.Instant;
import java.util.Set;

/**
 * A document that passed every check of a {@link VerificationPolicy}.
 *
 * @param document the verified payload
 * @param trustRoot the pinned root that {@code cabundle[0]} matched
 * @param validatedAt the instant the certificate chain was validated at
 * @param warnings what the caller should know although verification succeeded
 */
public record VerifiedAttestation(
    AttestationDocument document, TrustRoot trustRoot, Instant validatedAt, Set<Warning> warnings) {

  /** Conditions that do not fail verification but weaken what it proves. */
  public enum Warning {
    /** The chain ends at a root other than AWS's (for example a mock-enclave root). */
    NON_AWS_ROOT,
    /** The policy had no PCR expectation: any enclave image was accepted. */
    PCRS_NOT_CHECKED,
    /** The document is from a debug-mode enclave (PCR0 all zeros) and the policy allowed it. */
    DEBUG_MODE,
    /** Validated at the document's own timestamp: origin is proven, freshness is not. */
    FRESHNESS_NOT_CHECKED
  }

  public VerifiedAttestation {
    warnings = Set.copyOf(warnings);
  }
}
