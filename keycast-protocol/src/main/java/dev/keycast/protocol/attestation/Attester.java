package dev.keycast.protocol.attestation;

/**
 * Produces attestation documents for the enclave: what {@code GET attestation} and the KMS
 * Recipient calls use.
 *
 * <p>The document is an untagged COSE_Sign1 (ES384) over the NSM attestation payload map
 * (NITRO-FACTS section 2). In the production enclave jar the only implementation is the enclave's
 * {@code NsmAttester}, which asks the real NSM. The mock implementation ({@code MockAttester},
 * module {@code mock-nitro}) signs documents in the same format with a local mock root and says so
 * loudly; it is not in the production jar (architecture.md, "Trust tiers"). Callers MUST NOT treat
 * the two alike: {@link #isMock()} is part of every status report.
 */
public interface Attester {
  /** The most bytes each optional field (user data, nonce, public key) may have: NSM's limit. */
  int MAX_FIELD_BYTES = 512;

  /**
   * Returns a fresh attestation document binding the given optional fields (each null or at most
   * {@value #MAX_FIELD_BYTES} bytes).
   *
   * @throws IllegalArgumentException if a field is longer than the limit
   * @throws AttesterException if the document cannot be produced
   */
  byte[] attest(byte[] userData, byte[] nonce, byte[] publicKey) throws AttesterException;

  /** True when the documents are signed by a local mock root, not by AWS Nitro hardware. */
  boolean isMock();

  /** One line for logs and status pages: which attester, module id, and (for mocks) the root. */
  String describe();
}
