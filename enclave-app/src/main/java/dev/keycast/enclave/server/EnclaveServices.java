package dev.keycast.enclave.server;

import dev.keycast.enclave.keyset.KeySetService;
import java.util.concurrent.ExecutorService;

/**
 * Everything the request path needs, built once by {@link EnclaveServer}.
 *
 * @param keys the key set holder (init, unseal, readiness)
 * @param attestation attestation documents over the key bundle
 * @param senders the sender set and the check of every send's sender signature (issue 23)
 * @param send the send and forward engine
 * @param recipients recipient validation
 * @param metrics counters and histograms
 * @param requests where requests that do more than answer from memory run (never the event
 *     loop); a bounded pool that rejects when full ({@code 503 overloaded})
 * @param dkdms DKDM ingest (issue 25)
 */
public record EnclaveServices(
    KeySetService keys,
    AttestationService attestation,
    SenderAuthorizer senders,
    SendService send,
    RecipientValidator recipients,
    EnclaveMetrics metrics,
    ExecutorService requests,
    DkdmIngestRoute dkdms) {

  /** Services without a KDM signer source for DKDM ingest: every ingest is {@code kdm_signer_unavailable}. */
  public EnclaveServices(
      KeySetService keys,
      AttestationService attestation,
      SenderAuthorizer senders,
      SendService send,
      RecipientValidator recipients,
      EnclaveMetrics metrics,
      ExecutorService requests) {
    this(
        keys,
        attestation,
        senders,
        send,
        recipients,
        metrics,
        requests,
        new DkdmIngestRoute(
            keys,
            senders,
            KdmSignerSource.unavailable(),
            new java.security.SecureRandom(),
            java.time.Clock.systemUTC()));
  }
}
