package dev.keycast.host.server;

import dev.keycast.host.store.ArtefactStore;
import dev.keycast.host.store.DkdmRecord;
import dev.keycast.host.store.LegacyKeyRecord;
import dev.keycast.protocol.Base64Url;
import dev.keycast.protocol.Json;
import dev.keycast.protocol.MalformedInputException;
import dev.keycast.protocol.api.EnclaveApi;
import dev.keycast.protocol.api.ErrorCode;
import dev.keycast.protocol.api.HostApi;
import dev.keycast.protocol.cinema.CinemaException;
import dev.keycast.protocol.cinema.KdmTimestamps;
import io.netty.handler.codec.http.HttpMethod;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
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

  DkdmIngestRelay(
      ArtefactStore store,
      StoreCalls stores,
      EnclaveCalls enclave,
      SenderRequestAuth auth,
      Clock clock) {
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
      throw new ApiException(
          ErrorCode.PAYLOAD_TOO_LARGE,
          "a DKDM ingest is at most "
              + EnclaveApi.DkdmIngestRequest.MAX_BODY_BYTES
              + " bytes, got "
              + body.length);
    }
    auth.require(call);
    // the sender's request, with every legacy DKDM key this host keeps (wire-format.md 10.6): the
    // enclave opens the one the DKDM is addressed to, if any
    EnclaveApi.DkdmIngestRequest req = Inputs.decode(body, EnclaveApi.DkdmIngestRequest.class);
    List<EnclaveApi.LegacyDkdmKey> legacy = new ArrayList<>();
    for (LegacyKeyRecord k : stores.call("list_legacy_keys", store::listLegacyKeys)) {
      legacy.add(
          new EnclaveApi.LegacyDkdmKey(
              Base64Url.encode(k.certificate()), Base64Url.encode(k.sealedKey())));
    }
    byte[] relayed =
        Json.encode(
            new EnclaveApi.DkdmIngestRequest(req.dkdm(), req.studioRoots(), req.sender(), legacy));
    EnclaveApi.DkdmIngestResponse a =
        EnclaveCalls.decode(
            enclave.call(HttpMethod.POST, "/v1/dkdm/ingest", relayed),
            EnclaveApi.DkdmIngestResponse.class);
    DkdmRecord record;
    try {
      record =
          new DkdmRecord(
              a.messageId(),
              a.cplId(),
              a.keySetId(),
              KdmTimestamps.parse(a.notValidAfter()).toInstant(),
              a.signerThumbprint(),
              Base64Url.decode(
                  "sealed_content_keys", a.sealedContentKeys(), DkdmRecord.MAX_SEALED_BYTES),
              Base64Url.decode("binding", a.binding(), DkdmRecord.MAX_BINDING_BYTES),
              clock.instant());
    } catch (CinemaException
        | MalformedInputException
        | IllegalArgumentException
        | NullPointerException e) {
      throw new ApiException(ErrorCode.INTERNAL, "the enclave's DKDM answer does not decode");
    }
    stores.call("put_dkdm", () -> store.putDkdm(record));
    return HttpAnswer.json(201, a);
  }

  /**
   * {@code POST /v1/dkdm-keys} (api.md section 2.5): a legacy DKDM key import, signed by a sender
   * (the request, and inside it the import statement the enclave checks), relayed to the enclave's
   * {@code /v1/dkdm/key-import}; the sealed key is stored before {@code 201}. At most {@link
   * LegacyKeyRecord#MAX_KEYS} keys are kept ({@code 409 conflict} past that).
   */
  HttpAnswer importKey(HttpCall call) throws ApiException, InterruptedException {
    byte[] body = call.body();
    if (body.length > MAX_KEY_IMPORT_BYTES) {
      throw new ApiException(
          ErrorCode.PAYLOAD_TOO_LARGE,
          "a key import is at most " + MAX_KEY_IMPORT_BYTES + " bytes");
    }
    auth.require(call);
    EnclaveApi.DkdmKeyImportResponse a =
        EnclaveCalls.decode(
            enclave.call(HttpMethod.POST, "/v1/dkdm/key-import", body),
            EnclaveApi.DkdmKeyImportResponse.class);
    LegacyKeyRecord record;
    try {
      byte[] der = Base64Url.decode("certificate", a.certificate(), 8192);
      record =
          new LegacyKeyRecord(
              dev.keycast.protocol.cinema.LegacyDkdmKeys.secretId(der),
              der,
              Base64Url.decode("sealed_key", a.sealedKey(), 16384),
              clock.instant());
    } catch (MalformedInputException | IllegalArgumentException | NullPointerException e) {
      throw new ApiException(ErrorCode.INTERNAL, "the enclave's key import answer does not decode");
    }
    List<LegacyKeyRecord> kept = stores.call("list_legacy_keys", store::listLegacyKeys);
    if (kept.size() >= LegacyKeyRecord.MAX_KEYS
        && kept.stream().noneMatch(k -> k.id().equals(record.id()))) {
      throw new ApiException(
          ErrorCode.ALREADY_INITIALIZED,
          "this host keeps " + LegacyKeyRecord.MAX_KEYS + " legacy DKDM keys already");
    }
    stores.call("put_legacy_key", () -> store.putLegacyKey(record));
    return HttpAnswer.json(
        201,
        new EnclaveApi.DkdmKeyImportResponse(
            a.keySetId(),
            a.thumbprint(),
            a.subject(),
            a.issuer(),
            a.serialNumber(),
            a.notAfter(),
            a.certificate(),
            null));
  }

  /**
   * {@code GET /v1/dkdms?cpl=UUID} (api.md section 2.5, signed by a sender): the DKDMs ingested for
   * a CPL as the host keeps them (message id, window end, signer thumbprint), never the sealed keys.
   */
  HttpAnswer list(HttpCall call) throws ApiException, InterruptedException {
    auth.require(call);
    String cpl = call.param("cpl");
    if (cpl == null) {
      throw new ApiException(
          ErrorCode.MALFORMED_REQUEST, "cpl is missing (GET /v1/dkdms?cpl=UUID)");
    }
    String urn = cpl.startsWith("urn:uuid:") ? cpl : "urn:uuid:" + cpl;
    if (!urn.matches("urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")) {
      throw new ApiException(
          ErrorCode.MALFORMED_REQUEST, "cpl must be a lowercase UUID (urn:uuid: prefix allowed)");
    }
    List<HostApi.DkdmSummary> out = new ArrayList<>();
    for (DkdmRecord d : stores.call("find_dkdms", () -> store.findDkdms(urn))) {
      out.add(
          new HostApi.DkdmSummary(
              d.messageId(),
              d.cplId(),
              d.keySetId(),
              d.notValidAfter().toString(),
              d.signerThumbprint(),
              d.ingestedAt().toString()));
    }
    return HttpAnswer.json(200, new HostApi.DkdmList(out));
  }

  /** Largest key import body: a certificate, an HPKE-sealed RSA-4096 key and a signature. */
  static final int MAX_KEY_IMPORT_BYTES = 64 * 1024;
}
