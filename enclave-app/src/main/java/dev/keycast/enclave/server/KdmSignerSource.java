package dev.keycast.enclave.server;

import dev.keycast.enclave.keyset.KeySetService;
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
   * (for servers built without a key-set service's signer, such as tests of other families).
   */
  static KdmSignerSource unavailable() {
    return () -> {
      throw unavailableError();
    };
  }

  /**
   * The production source: the signer sealed in the key set the service holds ({@link
   * KeySetService#kdmSigner}), asked afresh for every fan-out so a re-initialized or migrated key
   * set's signer is used at once; {@code kdm_signer_unavailable} while the service has none.
   */
  static KdmSignerSource of(KeySetService keys) {
    java.util.Objects.requireNonNull(keys, "keys");
    return () -> keys.kdmSigner().orElseThrow(KdmSignerSource::unavailableError);
  }

  private static EnclaveApiException unavailableError() {
    return new EnclaveApiException(
        ErrorCode.KDM_SIGNER_UNAVAILABLE,
        "this enclave has no KDM signer for its key set; KDM sends are unavailable");
  }
}
