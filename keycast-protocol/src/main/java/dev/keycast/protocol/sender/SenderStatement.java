package dev.keycast.protocol.sender;

/**
 * A statement a sender signs with Ed25519 (wire-format.md section 8): a send ({@link
 * SendStatement}) or a DKDM ingest ({@link DkdmIngestStatement}). Each names its sender and its
 * exact signing input (a domain label first, so a signature of one kind never verifies as another).
 */
public interface SenderStatement {
  /** The sender whose key signs the statement. */
  SenderKey sender();

  /** The exact bytes signed. */
  byte[] signingInput();

  /** The sender's signature over {@link #signingInput()}; {@code key} must be {@link #sender()}'s. */
  default byte[] sign(SenderSigningKey key) {
    if (!key.publicKey().equals(sender())) {
      throw new IllegalArgumentException("the signing key is not the statement's sender");
    }
    return key.sign(signingInput());
  }

  /** True when {@code signature} is {@link #sender()}'s over {@link #signingInput()}. */
  default boolean verifies(byte[] signature) {
    return sender().verifies(signingInput(), signature);
  }
}
