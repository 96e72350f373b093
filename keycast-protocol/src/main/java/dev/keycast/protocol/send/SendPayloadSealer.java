package dev.keycast.protocol.send;

import dev.keycast.protocol.MalformedInputException;
import dev.keycast.protocol.hpke.Hpke;
import dev.keycast.protocol.hpke.HpkeCiphertext;
import dev.keycast.protocol.hpke.X25519PublicKey;
import java.security.SecureRandom;
import java.util.Objects;

/**
 * Seals a secret to an enclave's attested receive key as api.md section 1.1 says: HPKE base mode
 * with the {@link SendPayloadParameters}' suite and {@code info}, the policy's exact bytes as
 * associated data. Immutable and thread-safe; create one per attested key bundle.
 */
public final class SendPayloadSealer {
  private final SendPayloadParameters parameters;
  private final X25519PublicKey receiveKey;
  private final byte[] info;

  private SendPayloadSealer(SendPayloadParameters parameters, X25519PublicKey receiveKey) {
    this.parameters = parameters;
    this.receiveKey = receiveKey;
    this.info = parameters.info();
  }

  /**
   * A sealer to the receive key of {@code parameters.keySetId()}.
   *
   * @param receivePublicKey the raw 32-byte X25519 key, as the (verified) key bundle carries it
   * @throws MalformedInputException the key is not a 32-byte X25519 public key
   */
  public static SendPayloadSealer create(SendPayloadParameters parameters, byte[] receivePublicKey)
      throws MalformedInputException {
    return new SendPayloadSealer(
        Objects.requireNonNull(parameters, "parameters"),
        X25519PublicKey.fromRaw(receivePublicKey));
  }

  /** {@link #create} with {@link SendPayloadParameters#v1}. */
  public static SendPayloadSealer v1(String keySetId, byte[] receivePublicKey)
      throws MalformedInputException {
    return create(SendPayloadParameters.v1(keySetId), receivePublicKey);
  }

  public SendPayloadParameters parameters() {
    return parameters;
  }

  /**
   * Seals {@code secret} bound to {@code policyBytes} (the associated data). The caller keeps and
   * zeroizes {@code secret}.
   *
   * @throws MalformedInputException the receive key is a low-order point (no usable key agreement)
   */
  public SealedSendPayload seal(byte[] policyBytes, byte[] secret, SecureRandom random)
      throws MalformedInputException {
    HpkeCiphertext c = Hpke.seal(parameters.suite(), receiveKey, info, policyBytes, secret, random);
    return new SealedSendPayload(parameters, policyBytes, c.enc(), c.ciphertext());
  }

  @Override
  public String toString() {
    return "SendPayloadSealer[" + parameters.keySetId() + "]";
  }
}
