package dev.keycast.protocol.upgrade;

import dev.keycast.protocol.api.EnclaveApi;

/**
 * {@code POST /v1/keyset/rewrap} (enclave) and {@code POST /admin/keyset/rewrap} (host, without
 * credentials: the host adds its own): seal the key set the enclave holds under the new locked KMS
 * key that {@code approval} names, for the successor image it names (kms-sealing.md section 7).
 * The answer is {@link EnclaveApi.KeySetResponse}: the re-wrapped sealed key set and its bundle.
 */
public record RewrapRequest(
    ImageApproval.Document approval, EnclaveApi.AwsCredentials credentials) {}
