package dev.keycast.kms.mock;

/**
 * Verifies the attestation document of a KMS {@code Recipient} and returns what the key policy and
 * the response need from it. Implementations must check the document's signature and certificate
 * chain; a document they cannot fully verify is rejected.
 */
public interface RecipientAttestationVerifier {
  /** Largest attestation document KMS accepts (KMS API reference, {@code RecipientInfo}). */
  int MAX_DOCUMENT_BYTES = 262_144;

  /**
   * Verifies {@code document} (a COSE_Sign1 NSM attestation document).
   *
   * @throws RecipientVerificationException if the document is malformed, not signed by a trusted
   *     chain, expired, or carries no RSA public key
   */
  VerifiedRecipient verify(byte[] document) throws RecipientVerificationException;

  /** A verifier that trusts nothing: every Recipient request fails verification. */
  static RecipientAttestationVerifier rejectAll() {
    return document -> {
      throw new RecipientVerificationException("no attestation trust roots are configured");
    };
  }
}
