package dev.keycast.protocol.envelope;

/**
 * A recipient's public key, parsed and checked once ({@link RecipientKeys#parse(byte[])}) and then
 * reused for every delivery to it.
 */
public sealed interface RecipientKey permits RsaRecipientKey, X25519RecipientKey {
  /** The Keycast fingerprint (SHA-256 of the SPKI DER, 64 lowercase hex). */
  String fingerprint();

  /** The DER SubjectPublicKeyInfo (a copy). */
  byte[] spkiDer();

  /**
   * The certificate chain the key was registered with, leaf first; empty when it came without
   * certificates. Kept for both key types: eligibility by certificate authority reads it.
   */
  java.util.List<java.security.cert.X509Certificate> certificateChain();
}
