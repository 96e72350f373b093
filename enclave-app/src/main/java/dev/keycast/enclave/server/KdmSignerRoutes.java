package dev.keycast.enclave.server;

import dev.keycast.enclave.keyset.KeySetException;
import dev.keycast.enclave.keyset.KeySetService;
import dev.keycast.protocol.Base64Url;
import dev.keycast.protocol.MalformedInputException;
import dev.keycast.protocol.api.EnclaveApi;
import dev.keycast.protocol.api.ErrorCode;
import dev.keycast.protocol.keyset.KdmSignerKeys;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code POST /v1/kdm-signer/csr} and {@code POST /v1/kdm-signer/chain} (issue 24, api.md section
 * 1, wire-format.md section 4.6): the enclave's KDM signer leaf certified by a distributor's own CA.
 * The CSR is for the sealed leaf key; the chain that comes back is checked against that key and the
 * ST 430-2 signer profile by the key set service before anything changes.
 */
final class KdmSignerRoutes {
  private KdmSignerRoutes() {}

  static EnclaveApi.KdmSignerCsrResponse csr(KeySetService keys, EnclaveApi.KdmSignerCsrRequest r)
      throws EnclaveApiException {
    try {
      byte[] csr = keys.kdmSignerCsr(r.organization(), r.organizationalUnit(), r.entity());
      String keySetId = keys.current().map(k -> k.id()).orElseThrow(EnclaveApiException::notReady);
      return new EnclaveApi.KdmSignerCsrResponse(keySetId, Base64Url.encode(csr));
    } catch (KeySetException e) {
      throw new EnclaveApiException(e.code(), e.getMessage());
    }
  }

  static EnclaveApi.KeySetResponse importChain(
      KeySetService keys, EnclaveApi.KdmSignerChainRequest r) throws EnclaveApiException {
    if (r.chain() == null || r.credentials() == null) {
      throw new EnclaveApiException(
          ErrorCode.MALFORMED_REQUEST, "chain and credentials are required");
    }
    // caps before decoding: the certificate count, then each certificate's size, then the total
    if (r.chain().size() < 2 || r.chain().size() > KdmSignerKeys.MAX_CERTIFICATES) {
      throw new EnclaveApiException(
          ErrorCode.KDM_SIGNER_CHAIN_INVALID,
          "signer_certificate_chain_length: a signer"
              + " chain holds 2 to "
              + KdmSignerKeys.MAX_CERTIFICATES
              + " certificates, leaf first");
    }
    List<byte[]> der = new ArrayList<>(r.chain().size());
    int total = 0;
    for (int i = 0; i < r.chain().size(); i++) {
      try {
        byte[] c =
            Base64Url.decode(
                "chain[" + i + "]", r.chain().get(i), KdmSignerKeys.MAX_CERTIFICATE_BYTES);
        total += c.length;
        der.add(c);
      } catch (MalformedInputException e) {
        throw new EnclaveApiException(
            ErrorCode.MALFORMED_REQUEST,
            e.getMessage()
                + " (each certificate is base64url DER of at most "
                + KdmSignerKeys.MAX_CERTIFICATE_BYTES
                + " bytes)");
      }
      if (total > KdmSignerKeys.MAX_CHAIN_BYTES) {
        throw new EnclaveApiException(
            ErrorCode.KDM_SIGNER_CHAIN_INVALID,
            "signer_certificate_size: a signer chain is at most "
                + KdmSignerKeys.MAX_CHAIN_BYTES
                + " bytes of DER");
      }
    }
    try {
      KeySetService.Initialized done = keys.importKdmSignerChain(der, r.credentials());
      return new EnclaveApi.KeySetResponse(
          Base64Url.encode(done.sealedKeySet()), AttestationService.apiBundle(done.bundle()));
    } catch (KeySetException e) {
      throw new EnclaveApiException(e.code(), e.getMessage());
    }
  }
}
