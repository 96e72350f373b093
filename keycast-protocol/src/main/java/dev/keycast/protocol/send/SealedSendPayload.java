package dev.keycast.protocol.send;

import dev.keycast.protocol.Base64Url;
import dev.keycast.protocol.api.EnclaveApi;

/**
 * A sealed send payload: the parameters it was sealed under, the policy bytes it is bound to (the
 * associated data, sent in the clear) and the HPKE {@code enc} and {@code ciphertext}. The arrays
 * are the caller's to read, not to change.
 */
public record SealedSendPayload(
    SendPayloadParameters parameters, byte[] policyBytes, byte[] enc, byte[] ciphertext) {

  /** The payload as it travels in {@code POST /v1/sends} and {@code POST /v1/send}. */
  public EnclaveApi.SendPayload toApi() {
    return new EnclaveApi.SendPayload(
        parameters.version(),
        parameters.suiteName(),
        parameters.keySetId(),
        Base64Url.encode(policyBytes),
        Base64Url.encode(enc),
        Base64Url.encode(ciphertext));
  }
}
