package dev.keycast.host.server;

import dev.keycast.host.store.ArtefactStore;
import dev.keycast.host.store.DkdmRecord;
import dev.keycast.protocol.Base64Url;
import dev.keycast.protocol.MalformedInputException;
import dev.keycast.protocol.api.EnclaveApi;
import dev.keycast.protocol.api.ErrorCode;
import dev.keycast.protocol.cinema.CinemaException;
import dev.keycast.protocol.cinema.KdmTimestamps;
import io.netty.handler.codec.http.HttpMethod;
import java.time.Clock;
import java.util.Objects;

/**
 * {@code POST /v1/dkdms} (issue 25, api.md section 2.5): a DKDM ingest, signed by a sender twice:
 * the HTTP request ({@code Authorization: Keycast-Sender}, checked here so that strangers cannot
 * make the enclave work) and, inside the body, the ingest statement over the DKDM and the studio
 * roots, which the enclave checks against its sealed sender set (the host's word is not enough to
 * decide which roots are trusted). The body goes to the enclave's {@code /v1/dkdm/ingest} as it
 * came; the sealed answer is stored ({@link ArtefactStore#putDkdm}) before it is answered.
 */
final class DkdmIngestRelay {
  private final ArtefactStore store;
  private final StoreCalls stores;
  private final EnclaveCalls enclave;
  private final SenderRequestAuth auth;
  private final Clock clock;

  DkdmIngestRelay(ArtefactStore store, StoreCalls stores, EnclaveCalls enclave, SenderRequestAuth auth, Clock clock) {
    this.store = Objects.requireNonNull(store, "store");
    this.stores = Objects.requireNonNull(stores, "stores");
    this.enclave = Objects.requireNonNull(enclave, "enclave");
    this.auth = Objects.requireNonNull(auth, "auth");
    this.clock = Objects.requireNonNull(clock, "clock");
  }

  /** {@code POST /v1/dkdms}. */
  HttpAnswer ingest(HttpCall call) throws ApiException, InterruptedException {
    byte[] body = call.body();
    if (body.length > EnclaveApi.DkdmIngestRequest.MAX_BODY_BYTES) {
      throw new ApiException(ErrorCode.PAYLOAD_TOO_LARGE, "a DKDM ingest is at most "
          + EnclaveApi.DkdmIngestRequest.MAX_BODY_BYTES + " bytes, got " + body.length);
    }
    auth.require(call);
    EnclaveApi.DkdmIngestResponse a = EnclaveCalls.decode(enclave.call(HttpMethod.POST, "/v1/dkdm/ingest", body),
        EnclaveApi.DkdmIngestResponse.class);
    DkdmRecord record;
    try {
      record = new DkdmRecord(a.messageId(), a.cplId(), a.keySetId(),
          KdmTimestamps.parse(a.notValidAfter()).toInstant(), a.signerThumbprint(),
          Base64Url.decode("sealed_content_keys", a.sealedContentKeys(), DkdmRecord.MAX_SEALED_BYTES),
          Base64Url.decode("binding", a.binding(), DkdmRecord.MAX_BINDING_BYTES), clock.instant());
    } catch (CinemaException | MalformedInputException | IllegalArgumentException | NullPointerException e) {
      throw new ApiException(ErrorCode.INTERNAL, "the enclave's DKDM answer does not decode");
    }
    stores.call("put_dkdm", () -> store.putDkdm(record));
    return HttpAnswer.json(201, a);
  }
}
