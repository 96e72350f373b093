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
  default EnclaveApi.KeySetResponse rewrapKeySet(byte[] approval) throws ApiException, InterruptedException {
    throw new ApiException(dev.keycast.protocol.api.ErrorCode.NOT_FOUND, "this host does not re-wrap key sets");
  }
}
