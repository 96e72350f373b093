package dev.keycast.enclave.server;

import dev.keycast.protocol.policy.SendPolicy;
import dev.keycast.protocol.receipt.Receipt;

/**
 * Whether one send or forward may fan out: the one place where a sender authorization check plugs
 * into the enclave's send path. {@link SendService} calls it exactly once per request, after the
 * payload (send) or sealed secret (forward) was opened, its policy parsed and checked against the
 * clock and the key set, and before the first candidate is decided or anything is delivered or
 * written; a refusal is the request's error answer and nothing is delivered. An implementation
 * that needs more of the request (a sender's signature over the payload, say) gets it added to
 * {@link Request}.
 *
 * <p>Implementations are thread-safe and throw {@link EnclaveApiException} with a stable code to refuse.
 */
@FunctionalInterface
interface SendAuthorization {
  /**
   * What is known of a request when it is authorized.
   *
   * @param kind a send or a forward
   * @param keySetId the key set that opened it
   * @param sendId the send's id
   * @param policyBytes the policy's exact bytes (authenticated: they are the HPKE associated data
   *     of the payload, or hash to the sealed secret's policy digest); not to be changed
   * @param policy the parsed policy
   */
  record Request(
      Receipt.Kind kind, String keySetId, String sendId, byte[] policyBytes, SendPolicy policy) {}

  /** Returns when {@code request} may fan out; throws to refuse it. */
  void authorize(Request request) throws EnclaveApiException;

  /**
   * Today's rule (api.md section 1.1): whoever sealed the payload to the attested receive key,
   * with the policy as associated data, may send it; the open that came before already proved
   * both, so nothing is left to check here. A forward is the host asking for later deliveries of a
   * secret the enclave sealed itself, under the same policy.
   */
  SendAuthorization SEALED_TO_ATTESTED_KEY = request -> {};
}
