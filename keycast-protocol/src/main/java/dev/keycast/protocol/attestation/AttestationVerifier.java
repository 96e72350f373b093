package dev.keycast.protocol.attestation;

import java.time.Clock;

/**
 * Verifies AWS Nitro attestation documents against a {@link VerificationPolicy}.
 *
 * <pre>{@code
 * AttestationVerifier v = AttestationVerifier.create(
 *     VerificationPolicy.builder().expectedPcrs(pcrs).expectedNonce(nonce).build());
 * VerifiedAttestation ok = v.verify(documentBytes);   // or throws AttestationException
 * }</pre>
 */
public interface AttestationVerifier {

  /**
   * Verifies a COSE_Sign1 attestation document (tagged or untagged CBOR bytes).
   *
   * @throws AttestationException naming the first check that failed
   */
  VerifiedAttestation verify(byte[] document) throws AttestationException;

  /** A verifier using the system UTC clock. */
  static AttestationVerifier create(VerificationPolicy policy) {
    return new NitroAttestationVerifier(policy, Clock.systemUTC());
  }

  /** A verifier reading "now" from {@code clock}. */
  static AttestationVerifier create(VerificationPolicy policy, Clock clock) {
    return new NitroAttestationVerifier(policy, clock);
  }
}
