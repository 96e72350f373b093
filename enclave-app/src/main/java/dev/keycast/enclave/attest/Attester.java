package dev.keycast.enclave.attest;

/**
 * Produces attestation documents for the enclave: what {@code GET attestation} and the KMS
 * Recipient calls use.
 *
 * <p>The document is an untagged COSE_Sign1 (ES384) over the NSM attestation payload map
 * (NITRO-FACTS section 2). {@link NsmAttester} asks the real NSM; {@link MockAttester} signs
 * documents in the same format with a local mock root and says so loudly. Callers MUST NOT treat
 * the two alike: {@link #isMock()} is part of every status report.
 */
public interface Attester {
  /**
   * Returns a fresh attestation document binding the given optional fields (each null or at most
   * {@value NsmClient#MAX_ATTESTATION_FIELD_BYTES} bytes).
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
