package dev.keycast.enclave.server;

import dev.keycast.protocol.api.ErrorCode;
import dev.keycast.protocol.cinema.KdmSigner;

/**
 * Where a KDM send gets the key set's KDM signer (wire-format.md section 9.4): the ST 430-2 signer
 * chain and its leaf's private key. Asked once per KDM fan-out, before any candidate.
 *
 * <p>Implementations are thread-safe.
 */
@FunctionalInterface
public interface KdmSignerSource {
  /**
   * The current key set's KDM signer.
   *
   * @throws EnclaveApiException {@code kdm_signer_unavailable} when the enclave has none
   */
  KdmSigner current() throws EnclaveApiException;

  /**
   * A source that has no signer: every KDM send is refused with {@code kdm_signer_unavailable}
   * (the production wiring until the key set carries its signer, {@code KeySetService#kdmSigner}).
   */
  static KdmSignerSource unavailable() {
    return () -> {
      throw new EnclaveApiException(ErrorCode.KDM_SIGNER_UNAVAILABLE,
          "this enclave has no KDM signer for its key set; KDM sends are unavailable");
    };
  }
}
