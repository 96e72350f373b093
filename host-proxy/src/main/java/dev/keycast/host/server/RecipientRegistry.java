package dev.keycast.host.server;

import dev.keycast.host.store.ArtefactStore;
import dev.keycast.host.store.RecipientRecord;
import dev.keycast.host.store.StoredKey;
import dev.keycast.protocol.Base64Url;
import dev.keycast.protocol.Json;
import dev.keycast.protocol.MalformedInputException;
import dev.keycast.protocol.api.EnclaveApi;
import dev.keycast.protocol.api.EnclaveApi.Candidate;
import dev.keycast.protocol.api.ErrorCode;
import dev.keycast.protocol.api.HostApi;
import dev.keycast.protocol.api.RecipientProof;
import dev.keycast.protocol.envelope.RecipientKey;
import dev.keycast.protocol.envelope.RecipientKeys;
import io.netty.handler.codec.http.HttpMethod;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The recipient registry's routes: challenge, registration (proof of possession, the enclave's
 * validation, then the store; late forwards are queued on the {@link LateForwarder}), sessions and
 * the registration's own view. Keys are stored as {@link StoredKey} PEM text.
 */
final class RecipientRegistry {
  private final ArtefactStore store;
  private final EnclaveCalls enclave;
  private final StoreCalls stores;
  private final HostControl control;
  private final Clock clock;
  private final RecipientAuth auth;
  private final LateForwarder late;

  RecipientRegistry(
      ArtefactStore store,
      EnclaveCalls enclave,
      StoreCalls stores,
      HostControl control,
      Clock clock,
      RecipientAuth auth,
      LateForwarder late) {
    this.store = Objects.requireNonNull(store, "store");
    this.enclave = Objects.requireNonNull(enclave, "enclave");
    this.stores = Objects.requireNonNull(stores, "stores");
    this.control = Objects.requireNonNull(control, "control");
    this.clock = Objects.requireNonNull(clock, "clock");
    this.auth = Objects.requireNonNull(auth, "auth");
    this.late = Objects.requireNonNull(late, "late");
  }

  HttpAnswer recipient(String fingerprint, String authorization) throws ApiException {
    Inputs.checkFingerprint(fingerprint);
    auth.checkSession(authorization, fingerprint);
    List<RecipientRecord> found =
        stores.call("find_recipients", () -> store.findRecipients(List.of(fingerprint)));
    if (found.isEmpty()) {
      throw new ApiException(ErrorCode.NOT_FOUND, "no recipient " + fingerprint);
    }
    RecipientRecord r = found.get(0);
    return HttpAnswer.json(
        200, new HostApi.Recipient(r.fingerprint(), r.kind(), r.labels(), r.registeredAt(), 0));
  }

  HttpAnswer register(byte[] body) throws ApiException, InterruptedException {
    if (body.length > HostApiService.MAX_REGISTER_BYTES) {
      // checked before decoding: a 64 MiB body of tiny labels would decode to millions of entries
      throw new ApiException(
          ErrorCode.PAYLOAD_TOO_LARGE,
          "a registration body is at most "
              + HostApiService.MAX_REGISTER_BYTES
              + " bytes, got "
              + body.length);
    }
    HostApi.RegisterRecipient req = Inputs.decode(body, HostApi.RegisterRecipient.class);
    RecipientKey key = parseKey(req.key());
    // proof of possession before anything else: a refused registration stores nothing
    auth.checkProof(key, req.token(), req.proof());
    Map<String, String> labels = req.labels() == null ? Map.of() : req.labels();
    HostApiService.requireReady(control);
    byte[] stored;
    try {
      stored = StoredKey.encode(key);
    } catch (java.security.cert.CertificateEncodingException e) {
      throw new ApiException(
          ErrorCode.INVALID_RECIPIENT, "recipient 0: certificate does not encode");
    }
    Candidate candidate = StoredKey.candidate(stored);
    EnclaveApi.ValidateResponse v =
        EnclaveCalls.decode(
            enclave.call(
                HttpMethod.POST,
                "/v1/recipients/validate",
                Json.encode(new EnclaveApi.ValidateRequest(List.of(candidate)))),
            EnclaveApi.ValidateResponse.class);
    if (v.recipients() == null || v.recipients().size() != 1) {
      throw new ApiException(ErrorCode.INTERNAL, "the enclave's validation answer is unusable");
    }
    EnclaveApi.RecipientCheck check = v.recipients().get(0);
    if (!check.valid()) {
      throw new ApiException(ErrorCode.INVALID_RECIPIENT, "recipient 0: " + check.error());
    }
    if (!key.fingerprint().equals(check.fingerprint())) {
      throw new ApiException(ErrorCode.INTERNAL, "the enclave computed another fingerprint");
    }
    RecipientRecord record;
    try {
      record =
          new RecipientRecord(
              key.fingerprint(), storedKind(check.kind()), stored, labels, clock.instant());
    } catch (IllegalArgumentException e) {
      throw new ApiException(ErrorCode.MALFORMED_REQUEST, e.getMessage());
    }
    List<RecipientRecord> before =
        stores.call("find_recipients", () -> store.findRecipients(List.of(record.fingerprint())));
    // the key's owner proved possession: a registration again replaces the earlier one whole
    RecipientRecord saved = stores.call("replace_recipient", () -> store.replaceRecipient(record));
    // the forwards run on the bounded forward queue; the answer counts those made before it
    int made = late.onRegistered(saved.fingerprint());
    HostApi.Recipient out =
        new HostApi.Recipient(
            saved.fingerprint(), saved.kind(), saved.labels(), saved.registeredAt(), made);
    return HttpAnswer.json(before.isEmpty() ? 201 : 200, out);
  }

  private static RecipientKey parseKey(String text) throws ApiException {
    if (text == null || text.isBlank()) {
      throw new ApiException(ErrorCode.MALFORMED_REQUEST, "key is required");
    }
    try {
      String k = text.strip();
      return k.startsWith("-----BEGIN")
          ? RecipientKeys.parsePem(k)
          : RecipientKeys.parseDer(Base64Url.decode("key", k, RecipientKeys.MAX_INPUT_LENGTH));
    } catch (MalformedInputException e) {
      throw new ApiException(ErrorCode.INVALID_RECIPIENT, "recipient 0: " + e.getMessage());
    }
  }

  /** POST /v1/recipients/challenge: a challenge token (and, for X25519, the sealed response). */
  HttpAnswer challenge(byte[] body) throws ApiException {
    if (body.length > HostApiService.MAX_REGISTER_BYTES) {
      throw new ApiException(
          ErrorCode.PAYLOAD_TOO_LARGE,
          "a challenge request body is at most "
              + HostApiService.MAX_REGISTER_BYTES
              + " bytes, got "
              + body.length);
    }
    RecipientProof.ChallengeRequest req =
        Inputs.decode(body, RecipientProof.ChallengeRequest.class);
    return HttpAnswer.json(200, auth.challenge(parseKey(req.key())));
  }

  /** POST /v1/recipients/{fp}/sessions: a session token for a registered key's owner. */
  HttpAnswer session(String fingerprint, byte[] body) throws ApiException {
    Inputs.checkFingerprint(fingerprint);
    RecipientProof.SessionRequest req = Inputs.decode(body, RecipientProof.SessionRequest.class);
    List<RecipientRecord> found =
        stores.call("find_recipients", () -> store.findRecipients(List.of(fingerprint)));
    if (found.isEmpty()) {
      throw new ApiException(ErrorCode.NOT_FOUND, "no recipient " + fingerprint);
    }
    RecipientKey key;
    try {
      // the stored key's PUBLIC KEY block (the proof is of the key, not of its chain)
      key =
          RecipientKeys.fromSpki(
              Base64Url.decode(
                  "key",
                  StoredKey.candidate(found.get(0).publicKeyOrChain()).key(),
                  RecipientKeys.MAX_INPUT_LENGTH));
    } catch (MalformedInputException | IllegalStateException e) {
      throw new ApiException(
          ErrorCode.INTERNAL, "the stored key of " + fingerprint + " does not parse");
    }
    auth.checkProof(key, req.token(), req.proof());
    return HttpAnswer.json(200, auth.session(fingerprint));
  }

  /** The store's kind ({@code rsa} or {@code x25519}) of the enclave's kind ({@code rsa-2048}, ...). */
  private static String storedKind(String enclaveKind) throws ApiException {
    if (enclaveKind != null && enclaveKind.startsWith("rsa")) {
      return RecipientRecord.KIND_RSA;
    }
    if ("x25519".equals(enclaveKind)) {
      return RecipientRecord.KIND_X25519;
    }
    throw new ApiException(ErrorCode.INTERNAL, "the enclave answered an unknown key kind");
  }
}
