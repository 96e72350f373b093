package dev.keycast.host.server;

import dev.keycast.protocol.api.EnclaveApi;
import dev.keycast.protocol.api.HostApi;

/**
 * What the HTTP layer needs from the host's lifecycle (implemented by {@code HostProxy}): its
 * readiness, the enclave's key bundle once known, and the admin operations.
 */
public interface HostControl {
  /** Readiness of the host: {@code waiting_for_enclave}, {@code unsealing}, {@code initializing},
   * {@code not_initialized}, {@code ready} or {@code failed} (with a reason). */
  EnclaveApi.Readiness readiness();

  /** The enclave's public key bundle (for verifying stored receipts), or null before ready. */
  EnclaveApi.KeyBundle keyBundle();

  /** The admin status. */
  HostApi.Status status();

  /**
   * Creates the key set (first boot) with KMS key {@code kmsKeyId} (null: the configured one) and
   * stores it durably before the host serves.
   */
  HostApi.Status initKeySet(String kmsKeyId) throws ApiException, InterruptedException;

  /**
   * {@code POST /admin/keyset/rewrap}: hands an image approval (JSON, kms-sealing.md section 7) to
   * the enclave with the host's credentials and returns the key set re-wrapped for the successor
   * image. The host stores nothing: the answer is for the successor's deployment.
   */
  default EnclaveApi.KeySetResponse rewrapKeySet(byte[] approval)
      throws ApiException, InterruptedException {
    throw new ApiException(
        dev.keycast.protocol.api.ErrorCode.NOT_FOUND, "this host does not re-wrap key sets");
  }

  /**
   * {@code POST /admin/kdm-signer/csr} (issue 24, wire-format.md section 4.6): the enclave's PKCS
   * #10 request for its KDM signer leaf key, as PEM, subject O/OU/CN entity as given (null: the
   * enclave's defaults), for the distributor's CA.
   */
  default HttpAnswer kdmSignerCsr(String organization, String organizationalUnit, String entity)
      throws ApiException, InterruptedException {
    throw new ApiException(
        dev.keycast.protocol.api.ErrorCode.NOT_FOUND, "this host has no KDM signer");
  }

  /**
   * {@code POST /admin/kdm-signer/chain}: hands a signer chain (PEM, leaf first) the distributor's
   * CA issued for that key to the enclave, which checks it and seals the key set again with it; the
   * host stores that sealed key set as the next key-set version before answering.
   */
  default EnclaveApi.KeySetResponse importKdmSignerChain(byte[] pemChain)
      throws ApiException, InterruptedException {
    throw new ApiException(
        dev.keycast.protocol.api.ErrorCode.NOT_FOUND, "this host has no KDM signer");
  }

  /**
   * {@code GET} / {@code POST /v1/senders} (issue 23, api.md section 2.3): the sender set in force,
   * or an owner-signed change of it. A host without a sender-set keeper has no such route.
   */
  default HttpAnswer senders(String method, byte[] body) throws ApiException, InterruptedException {
    throw new ApiException(
        dev.keycast.protocol.api.ErrorCode.NOT_FOUND, "this host keeps no sender set");
  }

  /**
   * The sender keys the enclave's sender set in force admits (issue 23), for the routes a sender
   * must sign (api.md section 2.4); empty when the host keeps no set or the enclave has none (every
   * signed request is then refused). A cached copy may be answered; {@code refresh} asks for a
   * fresh one unless the copy is very recent (a sender just added).
   */
  default java.util.List<dev.keycast.protocol.sender.SenderKey> senderKeys(boolean refresh)
      throws InterruptedException {
    return java.util.List.of();
  }
}
