package dev.keycast.protocol.send;

import dev.keycast.protocol.DecryptionFailedException;
import dev.keycast.protocol.crypto.CryptoBackend;
import dev.keycast.protocol.crypto.X25519KeyAgreement;
import dev.keycast.protocol.hpke.Hpke;
import dev.keycast.protocol.hpke.HpkeCiphertext;
import dev.keycast.protocol.hpke.HpkeSuite;
import dev.keycast.protocol.hpke.X25519PrivateKey;
import java.util.Objects;

/**
 * Opens a send payload (api.md section 1.1 step 3) with the receive key of the {@link
 * SendPayloadParameters}' key set: HPKE base mode with their suite and {@code info}, the policy's
 * exact bytes as associated data. Every failure (wrong key, key set or suite, altered {@code enc},
 * ciphertext or policy, truncated input) is the one {@link DecryptionFailedException}. Immutable
 * and thread-safe.
 */
public final class SendPayloadOpener {
  /** How the receive key decapsulates: a key held by a backend, or a private key object. */
  private interface ReceiveKey {
    byte[] open(HpkeSuite suite, byte[] info, byte[] aad, HpkeCiphertext sealed)
        throws DecryptionFailedException;
  }

  private final SendPayloadParameters parameters;
  private final ReceiveKey key;
  private final byte[] info;

  private SendPayloadOpener(SendPayloadParameters parameters, ReceiveKey key) {
    this.parameters = Objects.requireNonNull(parameters, "parameters");
    this.key = key;
    this.info = parameters.info();
  }

  /**
   * An opener with the receive key as the key set holds it for its life ({@code
   * KeySet.receiveKeyAgreement()}): only the decapsulation's Diffie-Hellman is computed per open.
   */
  public static SendPayloadOpener create(
      SendPayloadParameters parameters, X25519KeyAgreement receiveKey) {
    Objects.requireNonNull(receiveKey, "receiveKey");
    return new SendPayloadOpener(
        parameters,
        (suite, info, aad, sealedPayload) ->
            Hpke.open(suite, receiveKey, info, aad, sealedPayload));
  }

  /** An opener with a private key object on {@code backend} (tests, benchmarks, fakes). */
  public static SendPayloadOpener create(
      SendPayloadParameters parameters, CryptoBackend backend, X25519PrivateKey receiveKey) {
    Objects.requireNonNull(backend, "backend");
    Objects.requireNonNull(receiveKey, "receiveKey");
    return new SendPayloadOpener(
        parameters,
        (suite, info, aad, sealedPayload) ->
            Hpke.open(backend, suite, receiveKey, info, aad, sealedPayload));
  }

  public SendPayloadParameters parameters() {
    return parameters;
  }

  /**
   * The secret of a payload sealed to this key set and bound to {@code policyBytes}; a fresh array
   * the caller zeroizes.
   *
   * @throws DecryptionFailedException for every failure, with one message
   */
  public byte[] open(byte[] policyBytes, byte[] enc, byte[] ciphertext)
      throws DecryptionFailedException {
    return key.open(parameters.suite(), info, policyBytes, new HpkeCiphertext(enc, ciphertext));
  }

  @Override
  public String toString() {
    return "SendPayloadOpener[" + parameters.keySetId() + "]";
  }
}
