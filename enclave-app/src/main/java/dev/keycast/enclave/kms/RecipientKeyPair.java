package dev.keycast.enclave.kms;

import dev.keycast.protocol.DecryptionFailedException;
import dev.keycast.protocol.MalformedInputException;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.spec.RSAKeyGenParameterSpec;
import javax.security.auth.DestroyFailedException;

/**
 * A fresh RSA-2048 (e = 65537) key pair for one KMS call with {@code Recipient}: its public key
 * (SubjectPublicKeyInfo DER) goes into the attestation document's {@code public_key}, its private
 * key opens the {@code CiphertextForRecipient}. One pair per call, never reused or stored.
 *
 * <p>{@link #close()} drops the private key and asks it to destroy itself. The JDK's RSA private
 * keys hold {@code BigInteger}s that cannot be overwritten; the key is unreachable afterwards and
 * lives only for the duration of one KMS call.
 */
public final class RecipientKeyPair implements AutoCloseable {
  /** Modulus size KMS requires for a Recipient key. */
  public static final int BITS = 2048;

  private final byte[] publicKeySpki;
  private PrivateKey privateKey;

  private RecipientKeyPair(KeyPair pair) {
    this.publicKeySpki = pair.getPublic().getEncoded();
    this.privateKey = pair.getPrivate();
  }

  /** Generates a pair with {@code random} (the enclave DRBG). */
  public static RecipientKeyPair generate(SecureRandom random) throws GeneralSecurityException {
    KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
    g.initialize(new RSAKeyGenParameterSpec(BITS, RSAKeyGenParameterSpec.F4), random);
    return new RecipientKeyPair(g.generateKeyPair());
  }

  /** The public key as X.509 SubjectPublicKeyInfo DER (a copy). */
  public byte[] publicKeySpki() {
    return publicKeySpki.clone();
  }

  /**
   * Opens a {@code CiphertextForRecipient} addressed to this pair ({@link RecipientCms#open}).
   * The caller zeroizes the result.
   */
  public byte[] open(byte[] ciphertextForRecipient, int expectedLength)
      throws MalformedInputException, DecryptionFailedException {
    if (privateKey == null) {
      throw new IllegalStateException("the recipient key pair is closed");
    }
    return RecipientCms.open(ciphertextForRecipient, privateKey, expectedLength);
  }

  @Override
  public void close() {
    PrivateKey k = privateKey;
    privateKey = null;
    if (k != null && !k.isDestroyed()) {
      try {
        k.destroy();
      } catch (DestroyFailedException | RuntimeException e) {
        // the JDK's RSA keys do not implement destroy(); the reference is dropped instead
      }
    }
  }

  @Override
  public String toString() {
    return "RecipientKeyPair[RSA-" + BITS + (privateKey == null ? ", closed" : "") + "]";
  }
}
