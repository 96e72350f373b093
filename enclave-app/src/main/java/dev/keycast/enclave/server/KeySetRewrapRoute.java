package dev.keycast.enclave.server;

import dev.keycast.enclave.keyset.KeySetException;
import dev.keycast.enclave.keyset.KeySetService;
import dev.keycast.protocol.Base64Url;
import dev.keycast.protocol.MalformedInputException;
import dev.keycast.protocol.api.EnclaveApi;
import dev.keycast.protocol.api.ErrorCode;
import dev.keycast.protocol.upgrade.ImageApproval;
import dev.keycast.protocol.upgrade.RewrapRequest;

/**
 * {@code POST /v1/keyset/rewrap} (api.md, kms-sealing.md section 7), kept out of the HTTP handler:
 * checks the request's fields and asks the key set service to re-wrap.
 */
final class KeySetRewrapRoute {
  private KeySetRewrapRoute() {}

  static EnclaveApi.KeySetResponse answer(KeySetService keys, RewrapRequest r)
      throws EnclaveApiException {
    if (r.approval() == null || r.credentials() == null) {
      throw new EnclaveApiException(
          ErrorCode.MALFORMED_REQUEST, "approval and credentials are required");
    }
    ImageApproval approval;
    try {
      approval = ImageApproval.fromDocument(r.approval());
    } catch (MalformedInputException e) {
      throw new EnclaveApiException(ErrorCode.MALFORMED_REQUEST, "approval: " + e.getMessage());
    }
    try {
      KeySetService.Initialized done = keys.rewrap(approval, r.credentials());
      return new EnclaveApi.KeySetResponse(
          Base64Url.encode(done.sealedKeySet()), AttestationService.apiBundle(done.bundle()));
    } catch (KeySetException e) {
      throw new EnclaveApiException(e.code(), e.getMessage());
    }
  }
}
