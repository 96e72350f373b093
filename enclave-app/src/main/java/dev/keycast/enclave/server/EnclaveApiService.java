package dev.keycast.enclave.server;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import com.fasterxml.jackson.databind.exc.ValueInstantiationException;
import dev.keycast.enclave.keyset.KeySetException;
import dev.keycast.protocol.Base64Url;
import dev.keycast.protocol.Json;
import dev.keycast.protocol.MalformedInputException;
import dev.keycast.protocol.api.EnclaveApi;
import dev.keycast.protocol.api.ErrorBody;
import dev.keycast.protocol.api.ErrorCode;
import dev.keycast.protocol.keyset.SealedKeySet;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The enclave API (api.md section 1) without the transport: routes, request JSON in, answer JSON
 * out, failures mapped to {@link ErrorBody} answers. No Netty here: {@link EnclaveServerHandler}
 * moves bytes between the connection and this service (body as an {@link InputStream}, a large
 * answer into the caller's {@link OutputStream}) and decides which thread runs what.
 *
 * <p>Thread-safe; one instance per server.
 */
final class EnclaveApiService {
  private static final Logger log = LoggerFactory.getLogger(EnclaveApiService.class);
  static final String JSON = "application/json";

  /** The routes, with the path template that labels their metrics. */
  enum Route {
    HEALTH("GET", "/v1/health"),
    READY("GET", "/v1/ready"),
    ATTESTATION("GET", "/v1/attestation"),
    KEYSET_INIT("POST", "/v1/keyset/init"),
    KEYSET_UNSEAL("POST", "/v1/keyset/unseal"),
    KEYSET_REWRAP("POST", "/v1/keyset/rewrap"),
    KDM_SIGNER_CSR("POST", "/v1/kdm-signer/csr"),
    KDM_SIGNER_CHAIN("POST", "/v1/kdm-signer/chain"),
    DKDM_INGEST("POST", "/v1/dkdm/ingest"),
    DKDM_KEY_IMPORT("POST", "/v1/dkdm/key-import"),
    KDM_BOOK("POST", "/v1/kdm/book"),
    CREDENTIALS("POST", "/v1/credentials"),
    VALIDATE("POST", "/v1/recipients/validate"),
    SEND("POST", "/v1/send"),
    FORWARD("POST", "/v1/forward"),
    SENDERS("GET", "/v1/senders"),
    SENDERS_GENESIS("POST", "/v1/senders/genesis"),
    SENDERS_RESTORE("POST", "/v1/senders/restore"),
    SENDERS_UPDATE("POST", "/v1/senders/update"),
    METRICS("GET", "/v1/metrics");

    final String method;
    final String path;

    Route(String method, String path) {
      this.method = method;
      this.path = path;
    }

    /** Answered from memory, on the caller's thread (the event loop): nothing blocks. */
    boolean fromMemory() {
      return this == HEALTH || this == READY || this == METRICS;
    }

    static Route forPath(String path) {
      for (Route r : values()) {
        if (r.path.equals(path)) {
          return r;
        }
      }
      return null;
    }
  }

  /**
   * An answer: status, content type ({@code null} for none), whether to add {@code Retry-After},
   * and the body, or {@code null} when it was written to the caller's stream.
   */
  record Answer(int status, String contentType, boolean retryAfter, byte[] body) {
    static Answer json(int status, Object value) {
      return new Answer(status, JSON, false, Json.encode(value));
    }

    static Answer streamedJson() {
      return new Answer(200, JSON, false, null);
    }
  }

  /** Seconds a client should wait before retrying a 503. */
  static final String RETRY_AFTER_SECONDS = "5";

  private final EnclaveServices services;

  EnclaveApiService(EnclaveServices services) {
    this.services = services;
  }

  /**
   * The route of {@code method} and {@code path}.
   *
   * @throws EnclaveApiException {@code not_found} or {@code method_not_allowed}
   */
  static Route route(String method, String path) throws EnclaveApiException {
    Route route = Route.forPath(path);
    if (route == null) {
      throw new EnclaveApiException(ErrorCode.NOT_FOUND, "no such path");
    }
    if (!route.method.equals(method)) {
      throw new EnclaveApiException(
          ErrorCode.METHOD_NOT_ALLOWED, route.path + " takes " + route.method);
    }
    return route;
  }

  /** Health, readiness and metrics: answers from memory. */
  Answer fromMemory(Route route) {
    return switch (route) {
      case HEALTH -> Answer.json(200, Map.of("status", "ok"));
      case READY -> {
        EnclaveApi.Readiness r = services.keys().readiness();
        yield r.ready() ? Answer.json(200, r) : new Answer(503, JSON, true, Json.encode(r));
      }
      case METRICS ->
          new Answer(
              200,
              "text/plain; version=0.0.4; charset=utf-8",
              false,
              services.metrics().render().getBytes(StandardCharsets.UTF_8));
      default -> throw new IllegalArgumentException(route + " is not answered from memory");
    };
  }

  /**
   * Runs one aggregated request off the event loop.
   *
   * @param query the query parameters
   * @param body the request body, {@code length} bytes; the caller closes it
   * @param freeBody called once the body is no longer needed (it may be called again by the caller)
   * @param out where a large answer is streamed ({@link Answer#body()} is then {@code null}); the
   *     caller discards what was written when this throws
   */
  Answer handle(
      Route route,
      Map<String, List<String>> query,
      InputStream body,
      int length,
      Runnable freeBody,
      OutputStream out)
      throws EnclaveApiException, IOException {
    return switch (route) {
      case ATTESTATION -> {
        List<String> nonce = query.get("nonce");
        if (nonce != null && nonce.size() > 1) {
          throw new EnclaveApiException(
              ErrorCode.MALFORMED_REQUEST, "nonce is given more than once");
        }
        yield Answer.json(
            200, services.attestation().attest(nonce == null ? null : nonce.getFirst()));
      }
      case KEYSET_INIT -> {
        EnclaveApi.InitRequest r = decode(body, length, EnclaveApi.InitRequest.class);
        require(r.kmsKeyId(), "kms_key_id");
        require(r.region(), "region");
        require(r.credentials(), "credentials");
        try {
          var done = services.keys().init(r.kmsKeyId(), r.region(), r.credentials());
          log.info("key set {} initialized", done.bundle().keySetId());
          services.senders().keySetCreated(done.bundle().keySetId()); // issue 23: genesis allowed
          yield Answer.json(
              200,
              new EnclaveApi.KeySetResponse(
                  Base64Url.encode(done.sealedKeySet()),
                  AttestationService.apiBundle(done.bundle())));
        } catch (KeySetException e) {
          throw new EnclaveApiException(e.code(), e.getMessage());
        }
      }
      case KEYSET_UNSEAL -> {
        EnclaveApi.UnsealRequest r = decode(body, length, EnclaveApi.UnsealRequest.class);
        require(r.region(), "region");
        require(r.credentials(), "credentials");
        byte[] sealed;
        try {
          sealed = Base64Url.decode("sealed_key_set", r.sealedKeySet(), SealedKeySet.MAX_ENCODED);
        } catch (MalformedInputException e) {
          throw new EnclaveApiException(ErrorCode.MALFORMED_REQUEST, e.getMessage());
        }
        try {
          var unsealed = services.keys().unsealAndMigrate(sealed, r.region(), r.credentials());
          log.info(
              "key set {} unsealed{}",
              unsealed.bundle().keySetId(),
              unsealed.migratedSealedKeySet().isPresent()
                  ? " and migrated: the host stores the new sealed key set"
                  : "");
          // a migrated key set (wire-format.md 4.3) comes back for the host to store as its next
          // version
          yield Answer.json(
              200,
              new EnclaveApi.KeySetResponse(
                  unsealed.migratedSealedKeySet().map(Base64Url::encode).orElse(null),
                  AttestationService.apiBundle(unsealed.bundle())));
        } catch (KeySetException e) {
          throw new EnclaveApiException(e.code(), e.getMessage());
        }
      }
      case KEYSET_REWRAP ->
          Answer.json(
              200,
              KeySetRewrapRoute.answer(
                  services.keys(),
                  decode(body, length, dev.keycast.protocol.upgrade.RewrapRequest.class)));
      // a distributor's CA certifies the KDM signer leaf (issue 24, wire-format.md 4.6)
      case KDM_SIGNER_CSR ->
          Answer.json(
              200,
              KdmSignerRoutes.csr(
                  services.keys(),
                  length == 0
                      ? new EnclaveApi.KdmSignerCsrRequest(null, null, null)
                      : decode(body, length, EnclaveApi.KdmSignerCsrRequest.class)));
      case KDM_SIGNER_CHAIN ->
          Answer.json(
              200,
              KdmSignerRoutes.importChain(
                  services.keys(), decode(body, length, EnclaveApi.KdmSignerChainRequest.class)));
      // a DKDM addressed to the enclave's certificate (issue 25, wire-format.md 10)
      case DKDM_INGEST -> {
        if (length > DkdmIngestRoute.MAX_BODY_BYTES) { // before the JSON is parsed
          throw new EnclaveApiException(
              ErrorCode.PAYLOAD_TOO_LARGE,
              "a DKDM ingest body is at most " + DkdmIngestRoute.MAX_BODY_BYTES + " bytes");
        }
        yield Answer.json(
            200, services.dkdms().ingest(decode(body, length, EnclaveApi.DkdmIngestRequest.class)));
      }
      // a distributor's legacy DKDM key, sealed to the enclave (issue 25, wire-format.md 10.6)
      case DKDM_KEY_IMPORT -> {
        if (length > DkdmIngestRoute.MAX_KEY_IMPORT_BYTES) { // before the JSON is parsed
          throw new EnclaveApiException(
              ErrorCode.PAYLOAD_TOO_LARGE,
              "a key import body is at most " + DkdmIngestRoute.MAX_KEY_IMPORT_BYTES + " bytes");
        }
        yield Answer.json(
            200,
            services
                .dkdms()
                .importKey(decode(body, length, EnclaveApi.DkdmKeyImportRequest.class)));
      }
      // KDMs booked from an ingested DKDM under the studio's rules (issue 25, wire-format.md 11)
      case KDM_BOOK -> {
        if (length > BookingRoute.MAX_BODY_BYTES) { // before the JSON is parsed
          throw new EnclaveApiException(
              ErrorCode.PAYLOAD_TOO_LARGE,
              "a booking body is at most " + BookingRoute.MAX_BODY_BYTES + " bytes");
        }
        EnclaveApi.BookingRequest r = decode(body, length, EnclaveApi.BookingRequest.class);
        freeBody.run();
        try {
          services.send().book(r, out);
        } catch (EnclaveApiException e) {
          log.info("booking refused: {} {}", e.code().code(), e.getMessage());
          throw e;
        }
        yield Answer.streamedJson();
      }
      case CREDENTIALS -> {
        EnclaveApi.CredentialsRequest r = decode(body, length, EnclaveApi.CredentialsRequest.class);
        require(r.credentials(), "credentials");
        services.keys().updateCredentials(r.credentials());
        yield new Answer(204, null, false, new byte[0]);
      }
      case VALIDATE ->
          Answer.json(
              200,
              services
                  .recipients()
                  .validate(decode(body, length, EnclaveApi.ValidateRequest.class)));
      case FORWARD -> {
        EnclaveApi.ForwardRequest r = decode(body, length, EnclaveApi.ForwardRequest.class);
        freeBody.run();
        services.send().forward(r, out);
        yield Answer.streamedJson();
      }
      // POST /v1/send never arrives aggregated: SendBodyStream takes it out of the aggregation
      case SEND ->
          throw new IllegalStateException("POST /v1/send arrived aggregated; it is streamed");
      // sender identity (issue 23, SenderAuthorizer)
      case SENDERS -> Answer.json(200, services.senders().view());
      case SENDERS_GENESIS ->
          Answer.json(
              200,
              services
                  .senders()
                  .genesis(decode(body, length, EnclaveApi.SenderGenesisRequest.class)));
      case SENDERS_RESTORE ->
          Answer.json(
              200,
              services
                  .senders()
                  .restore(decode(body, length, EnclaveApi.SenderRestoreRequest.class)));
      case SENDERS_UPDATE ->
          Answer.json(
              200,
              services
                  .senders()
                  .update(
                      decode(
                          body, length, dev.keycast.protocol.sender.SenderSetUpdate.Json.class)));
      case HEALTH, READY, METRICS -> fromMemory(route);
    };
  }

  /**
   * {@code POST /v1/send} with its body still arriving: the send reads {@code body} as it comes and
   * streams its answer into {@code out} (discarded by the caller when this throws).
   */
  Answer send(InputStream body, OutputStream out) throws EnclaveApiException, IOException {
    try {
      services.send().send(body, out);
      return Answer.streamedJson();
    } catch (EnclaveApiException e) {
      log.info("send refused: {} {}", e.code().code(), e.getMessage());
      throw e;
    }
  }

  /** The answer of a failed request. */
  static Answer error(EnclaveApiException e) {
    return new Answer(
        e.code().status(),
        JSON,
        e.code().status() == 503,
        Json.encode(ErrorBody.of(e.code(), e.getMessage())));
  }

  /** The answer of {@code code} with {@code message}. */
  static Answer error(ErrorCode code, String message) {
    return error(new EnclaveApiException(code, message));
  }

  /** The answer of an unexpected failure: logged with a correlation id, which alone is returned. */
  static Answer internal(Throwable e) {
    String id = UUID.randomUUID().toString();
    log.error("internal error {}: {}", id, e.getClass().getName(), e);
    return error(ErrorCode.INTERNAL, "internal error; correlation id " + id);
  }

  /** {@link #decode(InputStream, int, Class)} of a whole body. */
  static <T> T decode(byte[] body, Class<T> type) throws EnclaveApiException {
    return decode(new ByteArrayInputStream(body), body.length, type);
  }

  /** Decodes a JSON body of {@code length} bytes with the shared mapper. */
  static <T> T decode(InputStream body, int length, Class<T> type) throws EnclaveApiException {
    if (length == 0) {
      throw new EnclaveApiException(
          ErrorCode.MALFORMED_REQUEST, "empty body; expected a JSON object");
    }
    try {
      T value = Json.mapper().readValue(body, type);
      if (value == null) {
        throw new EnclaveApiException(
            ErrorCode.MALFORMED_REQUEST, "expected a JSON object, got null");
      }
      return value;
    } catch (JsonProcessingException e) {
      throw new EnclaveApiException(ErrorCode.MALFORMED_REQUEST, "malformed JSON: " + describe(e));
    } catch (IOException e) {
      throw new EnclaveApiException(ErrorCode.MALFORMED_REQUEST, "unreadable JSON body");
    } catch (IllegalArgumentException e) {
      throw new EnclaveApiException(ErrorCode.MALFORMED_REQUEST, String.valueOf(e.getMessage()));
    }
  }

  /**
   * Says what is wrong with a body without quoting it: Jackson's own messages quote the offending
   * token or value, and credentials bodies carry an AWS secret key and session token. Only the
   * location, the JSON path and our records' own validation messages (which quote no input) appear.
   */
  static String describe(JsonProcessingException e) {
    Throwable root = e;
    while (root.getCause() != null && root.getCause() != root) {
      root = root.getCause();
    }
    if (root instanceof IllegalArgumentException
        && root.getMessage() != null
        && e instanceof ValueInstantiationException) {
      String m = root.getMessage();
      return m.length() > 200 ? m.substring(0, 200) + "..." : m;
    }
    String where =
        e.getLocation() == null
            ? ""
            : " at line "
                + e.getLocation().getLineNr()
                + ", column "
                + e.getLocation().getColumnNr();
    if (e instanceof UnrecognizedPropertyException u) {
      return "unknown field "
          + MalformedInputException.quote(String.valueOf(u.getPropertyName()), 64)
          + where;
    }
    if (e instanceof JsonMappingException m && !m.getPath().isEmpty()) {
      StringBuilder path = new StringBuilder();
      for (var ref : m.getPath()) {
        path.append(
            ref.getFieldName() != null ? "." + ref.getFieldName() : "[" + ref.getIndex() + "]");
      }
      return "value of the wrong type or format at " + path.substring(1) + where;
    }
    return "syntax error" + where;
  }

  private static void require(Object value, String field) throws EnclaveApiException {
    if (value == null) {
      throw new EnclaveApiException(ErrorCode.MALFORMED_REQUEST, field + " is missing");
    }
  }
}
