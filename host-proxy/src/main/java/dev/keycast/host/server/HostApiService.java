package dev.keycast.host.server;

import dev.keycast.host.bridge.EnclaveClient;
import dev.keycast.host.bridge.EnclaveResponse;
import dev.keycast.host.server.HostRouter.Route;
import dev.keycast.host.store.ArtefactStore;
import dev.keycast.protocol.TokenSyntax;
import dev.keycast.protocol.api.EnclaveApi;
import dev.keycast.protocol.api.ErrorCode;
import io.netty.handler.codec.http.HttpMethod;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The host's request logic, independent of Netty: answers every public and admin route of
 * {@code api.md} section 2. Methods block (store I/O, waiting for the enclave) and are meant to run
 * on virtual threads, never on an event loop.
 *
 * <p>Built of parts by role: the route tables ({@link #publicRoutes}, {@link #adminRoutes}: the one
 * place a route is added) dispatched by a {@link HostRouter}; sends by the {@link SendCoordinator};
 * registrations and sessions by the {@link RecipientRegistry}, whose late forwards run on the
 * bounded {@link LateForwarder}; fetches by {@link DeliveryQueries}.
 *
 * <p>Sends are answered only after {@link ArtefactStore#commitSend} returned; a store failure
 * answers {@code store_unavailable} (503) or {@code store_full} (507) and nothing is acknowledged.
 */
public final class HostApiService implements AutoCloseable {
  /** Content type of CMS deliveries. */
  public static final String CMS_TYPE = "application/pkcs7-mime";

  /** Content type of HPKE deliveries. */
  public static final String HPKE_TYPE = "application/vnd.keycast.hpke-envelope";

  /** Prometheus text content type. */
  public static final String METRICS_TYPE = "text/plain; version=0.0.4; charset=utf-8";

  /** Most candidates one enclave request carries (api.md section 1). */
  public static final int MAX_CANDIDATES = 250_000;

  /**
   * Largest {@code POST /v1/recipients} body: a key (at most 64 KiB, PEM or base64url) and at most
   * 64 labels of at most 1024 characters each, JSON-escaped, fit well within it.
   */
  public static final int MAX_REGISTER_BYTES = 1024 * 1024;

  private static final TokenSyntax NONCE = TokenSyntax.of("A-Za-z0-9_-", 0, 128);

  private final HostMetrics metrics;
  private final HostControl control;
  private final EnclaveCalls enclave;
  private final SendCoordinator sends;
  private final RecipientRegistry recipients;
  private final DeliveryQueries deliveries;
  private final LateForwarder late;
  private final ScreenRegistry screens;
  private final KdmArchives kdms;
  private final DkdmIngestRelay dkdms;
  private final RulesRelay rules;
  private final BookingCoordinator bookings;
  private final KdmMailer mailer;
  private final KdmMail mail;
  private final HostRouter publicRouter;
  private final HostRouter adminRouter;

  /** A service over its parts, with recipient authentication by a random per-process secret. */
  public HostApiService(
      ArtefactStore store,
      EnclaveClient enclave,
      HostMetrics metrics,
      HostControl control,
      Clock clock) {
    this(store, enclave, metrics, control, clock, RecipientAuth.withRandomSecret(clock));
  }

  /** A service over its parts, without per-sender limits. */
  public HostApiService(
      ArtefactStore store,
      EnclaveClient enclave,
      HostMetrics metrics,
      HostControl control,
      Clock clock,
      RecipientAuth auth) {
    this(store, enclave, metrics, control, clock, auth, SenderLimits.none());
  }

  /** A service over its parts with per-sender limits of sends ({@link SenderQuotas}). */
  public HostApiService(
      ArtefactStore store,
      EnclaveClient enclave,
      HostMetrics metrics,
      HostControl control,
      Clock clock,
      SenderLimits senderLimits) {
    this(
        store,
        enclave,
        metrics,
        control,
        clock,
        RecipientAuth.withRandomSecret(clock),
        senderLimits);
  }

  /** A service over its parts, without KDM mail. */
  public HostApiService(
      ArtefactStore store,
      EnclaveClient enclave,
      HostMetrics metrics,
      HostControl control,
      Clock clock,
      RecipientAuth auth,
      SenderLimits senderLimits) {
    this(store, enclave, metrics, control, clock, auth, senderLimits, MailSettings.none());
  }

  /**
   * A service over its parts; with {@code mail} enabled, its KDM mail worker runs from now until
   * {@link #close} (it first sends what an earlier run left queued).
   */
  public HostApiService(
      ArtefactStore store,
      EnclaveClient enclave,
      HostMetrics metrics,
      HostControl control,
      Clock clock,
      RecipientAuth auth,
      SenderLimits senderLimits,
      MailSettings mail) {
    Objects.requireNonNull(store, "store");
    Objects.requireNonNull(mail, "mail");
    Objects.requireNonNull(clock, "clock");
    Objects.requireNonNull(auth, "auth");
    this.metrics = Objects.requireNonNull(metrics, "metrics");
    this.control = Objects.requireNonNull(control, "control");
    this.enclave = new EnclaveCalls(enclave, metrics);
    StoreCalls stores = new StoreCalls(metrics);
    this.sends =
        new SendCoordinator(
            store,
            this.enclave,
            stores,
            metrics,
            control,
            clock,
            new SenderQuotas(senderLimits, control, metrics, clock));
    this.late = new LateForwarder(store, this.enclave, stores, metrics, clock);
    this.recipients =
        new RecipientRegistry(store, this.enclave, stores, control, clock, auth, late);
    SenderRequestAuth senderAuth = new SenderRequestAuth(control, clock);
    this.deliveries = new DeliveryQueries(store, stores, auth, senderAuth, control);
    this.screens = new ScreenRegistry(store, stores, clock, senderAuth, late);
    this.kdms = new KdmArchives(store, stores, senderAuth, screens);
    this.dkdms = new DkdmIngestRelay(store, stores, this.enclave, senderAuth, clock);
    this.rules = new RulesRelay(store, stores, control, senderAuth, clock);
    this.bookings =
        new BookingCoordinator(store, stores, this.enclave, this.sends, control, senderAuth);
    this.mailer =
        mail.enabled()
            ? new KdmMailer(
                store, mail, new dev.keycast.host.mail.SmtpTransport(mail.smtp()), clock, metrics)
            : null;
    this.mail = new KdmMail(store, stores, senderAuth, control, mailer, clock);
    if (mailer != null) {
      mailer.start();
    }
    this.publicRouter = new HostRouter(publicRoutes(), metrics);
    this.adminRouter = new HostRouter(adminRoutes(), metrics);
  }

  /**
   * The public listener's routes, first match wins (so {@code /v1/recipients/challenge} stands
   * before {@code /v1/recipients/{}}); the first name is the metrics' {@code route} label.
   */
  private List<Route> publicRoutes() {
    return List.of(
        Route.of(
            "health", "GET", "/v1/health", (c, v) -> HttpAnswer.json(200, Map.of("status", "ok"))),
        Route.of("ready", "GET", "/v1/ready", (c, v) -> ready()),
        Route.of("metrics", "GET", "/metrics", (c, v) -> metricsText()),
        Route.of("attestation", "GET", "/v1/attestation", (c, v) -> attestation(c.param("nonce"))),
        Route.of("sends", "POST", "/v1/sends", (c, v) -> sends.send(c.body())),
        Route.of("recipients", "POST", "/v1/recipients", (c, v) -> recipients.register(c.body())),
        Route.of(
            "recipient_challenge",
            "POST",
            "/v1/recipients/challenge",
            (c, v) -> recipients.challenge(c.body())),
        Route.of(
            "recipient_session",
            "POST",
            "/v1/recipients/{}/sessions",
            (c, v) -> recipients.session(v.get(0), c.body())),
        Route.of(
            "recipient",
            "GET",
            "/v1/recipients/{}",
            (c, v) -> recipients.recipient(v.get(0), c.authorization())),
        Route.of(
            "deliveries",
            "GET",
            "/v1/recipients/{}/deliveries",
            (c, v) ->
                deliveries.deliveries(
                    v.get(0), c.param("after"), c.param("limit"), c.authorization())),
        Route.of(
            "delivery",
            "GET",
            "/v1/deliveries/{}",
            (c, v) -> deliveries.delivery(v.get(0), c.authorization())),
        // sender identity (issue 23): GET the sender set in force, POST an owner-signed change
        Route.of(
            "senders",
            HostRouter.ANY_METHOD,
            "/v1/senders",
            (c, v) -> control.senders(c.method(), c.body())),
        Route.of("receipt", "GET", "/v1/receipts/{}", (c, v) -> deliveries.receipt(v.get(0), c)),
        // KDM sends (issue 24, api.md section 2.4): screens and their KDMs, signed by a sender
        Route.of(
            "screens",
            HostRouter.ANY_METHOD,
            "/v1/screens",
            (c, v) ->
                switch (c.method()) {
                  case "POST" -> screens.register(c);
                  case "GET" -> screens.list(c);
                  default ->
                      throw new ApiException(
                          ErrorCode.METHOD_NOT_ALLOWED, "/v1/screens takes GET or POST");
                }),
        Route.of(
            "screen_kdms", "GET", "/v1/screens/{}/kdms", (c, v) -> kdms.screenKdms(c, v.get(0))),
        Route.of(
            "cinema_kdms", "GET", "/v1/cinemas/{}/kdms", (c, v) -> kdms.cinemaKdms(c, v.get(0))),
        // DKDMs in (issue 25, api.md section 2.5): sealed in the enclave, stored here
        Route.of(
            "dkdms",
            HostRouter.ANY_METHOD,
            "/v1/dkdms",
            (c, v) ->
                switch (c.method()) {
                  case "POST" -> dkdms.ingest(c);
                  case "GET" -> dkdms.list(c);
                  default ->
                      throw new ApiException(
                          ErrorCode.METHOD_NOT_ALLOWED, "/v1/dkdms takes GET or POST");
                }),
        Route.of("dkdm_keys", "POST", "/v1/dkdm-keys", (c, v) -> dkdms.importKey(c)),
        // the studio's rules and the distributor's bookings (issue 25, api.md section 2.6)
        Route.of("rules", "POST", "/v1/rules", (c, v) -> rules.put(c)),
        Route.of("bookings", "POST", "/v1/bookings", (c, v) -> bookings.book(c)),
        // KDM mail (issue 25, api.md section 2.7): queued in the store's outbox, sent by the worker
        Route.of(
            "send_mail",
            HostRouter.ANY_METHOD,
            "/v1/sends/{}/mail",
            (c, v) -> mail.handle(c, v.get(0))));
  }

  /** The admin listener's routes. */
  private List<Route> adminRoutes() {
    return List.of(
        Route.of(
            "admin_status",
            "GET",
            "/admin/status",
            (c, v) -> HttpAnswer.json(200, control.status())),
        Route.of(
            "admin_init",
            "POST",
            "/admin/keyset/init",
            (c, v) -> HttpAnswer.json(200, control.initKeySet(c.param("kms_key_id")))),
        Route.of(
            "admin_rewrap",
            "POST",
            "/admin/keyset/rewrap",
            (c, v) -> HttpAnswer.json(200, control.rewrapKeySet(c.body()))),
        // the KDM signer leaf certified by the distributor's own CA (issue 24, wire-format.md 4.6)
        Route.of(
            "admin_kdm_signer_csr",
            "POST",
            "/admin/kdm-signer/csr",
            (c, v) ->
                control.kdmSignerCsr(
                    c.param("organization"), c.param("organizational_unit"), c.param("entity"))),
        Route.of(
            "admin_kdm_signer_chain",
            "POST",
            "/admin/kdm-signer/chain",
            (c, v) -> HttpAnswer.json(200, control.importKdmSignerChain(c.body()))),
        Route.of("metrics", "GET", "/metrics", (c, v) -> metricsText()));
  }

  /** The metrics registry. */
  public HostMetrics metrics() {
    return metrics;
  }

  /** Answers a request of the public listener. */
  public HttpAnswer handlePublic(HttpCall call) {
    return publicRouter.handle(call);
  }

  /** Answers a request of the admin listener. */
  public HttpAnswer handleAdmin(HttpCall call) {
    return adminRouter.handle(call);
  }

  /**
   * Stops the late-forward workers (forwards not yet made are made on a later registration) and the
   * mail worker (queued mail stays queued for the next start).
   */
  @Override
  public void close() {
    late.close();
    if (mailer != null) {
      mailer.close();
    }
  }

  /**
   * The idempotency key of a send: SHA-256 over {@code "keycast/v1/send-payload" || 0x00 ||
   * u32(version) || lp(UTF8(suite)) || lp(UTF8(key_set_id)) || lp(policy) || lp(enc) ||
   * lp(ciphertext)}, where {@code lp(x) = u32(len(x)) || x}, {@code u32} big-endian, and policy,
   * enc and ciphertext are the base64url-decoded bytes (see api.md section 2.1).
   */
  public static byte[] payloadHash(
      int version, String suite, String keySetId, byte[] policy, byte[] enc, byte[] ciphertext) {
    return SendCoordinator.payloadHash(version, suite, keySetId, policy, enc, ciphertext);
  }

  /** Throws {@code not_ready} unless the enclave is ready. */
  static void requireReady(HostControl control) throws ApiException {
    EnclaveApi.Readiness r = control.readiness();
    if (!r.ready()) {
      throw new ApiException(
          ErrorCode.NOT_READY,
          "the host is not ready: "
              + r.state()
              + (r.reason() == null ? "" : " (" + r.reason() + ")"));
    }
  }

  private HttpAnswer metricsText() {
    return HttpAnswer.text(200, METRICS_TYPE, metrics.render());
  }

  private HttpAnswer ready() {
    EnclaveApi.Readiness r = control.readiness();
    HttpAnswer a = HttpAnswer.json(r.ready() ? 200 : 503, r);
    return r.ready() ? a : new HttpAnswer(503, a.contentType(), a.body(), 2, a.file());
  }

  private HttpAnswer attestation(String nonce) throws ApiException, InterruptedException {
    if (nonce != null && !NONCE.matches(nonce)) {
      throw new ApiException(
          ErrorCode.MALFORMED_REQUEST,
          "nonce must be base64url of at most " + EnclaveApi.MAX_NONCE_BYTES + " bytes");
    }
    EnclaveResponse r =
        enclave.call(
            HttpMethod.GET, "/v1/attestation" + (nonce == null ? "" : "?nonce=" + nonce), null);
    return new HttpAnswer(
        r.status(),
        r.contentType().isEmpty() ? HttpAnswer.JSON : r.contentType(),
        r.body(),
        r.status() == 503 ? 2 : 0);
  }
}
