package dev.keycast.host.server;

import dev.keycast.host.store.ArtefactStore;
import dev.keycast.host.store.CinemaRecord;
import dev.keycast.host.store.ScreenRecord;
import dev.keycast.protocol.Json;
import dev.keycast.protocol.MalformedInputException;
import dev.keycast.protocol.api.ErrorBody;
import dev.keycast.protocol.api.ErrorCode;
import dev.keycast.protocol.api.HostApi;
import dev.keycast.protocol.cinema.CinemaException;
import dev.keycast.protocol.cinema.DcCertificateChainValidator;
import dev.keycast.protocol.cinema.DcCertificates;
import dev.keycast.protocol.envelope.RecipientKeys;
import dev.keycast.protocol.policy.SendPolicy;
import java.io.ByteArrayInputStream;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * The screen routes (api.md section 2.4): {@code POST /v1/screens} registers or replaces a screen
 * by its ST 430-2 chain, {@code GET /v1/screens} lists them. Both are signed by a sender
 * ({@link SenderRequestAuth}); a registration's chain is pre-checked here as the enclave checks it
 * at issuance ({@link DcCertificateChainValidator}, {@code Kind.SCREEN}, at now) so a bad chain is
 * refused at once with the check's code. The pre-check is a service, not a defence: the host is
 * untrusted and the enclave checks again.
 */
final class ScreenRegistry {
  /** Largest {@code POST /v1/screens} body: 8 certificates of 16 KiB in base64 and 64 thumbprints. */
  static final int MAX_REGISTER_BYTES = 256 * 1024;

  /** Default and largest page of {@code GET /v1/screens}. */
  static final int DEFAULT_PAGE = 100;

  private final ArtefactStore store;
  private final StoreCalls stores;
  private final Clock clock;
  private final SenderRequestAuth auth;
  private final LateForwarder late;

  ScreenRegistry(
      ArtefactStore store,
      StoreCalls stores,
      Clock clock,
      SenderRequestAuth auth,
      LateForwarder late) {
    this.store = Objects.requireNonNull(store, "store");
    this.stores = Objects.requireNonNull(stores, "stores");
    this.clock = Objects.requireNonNull(clock, "clock");
    this.auth = Objects.requireNonNull(auth, "auth");
    this.late = Objects.requireNonNull(late, "late");
  }

  /** {@code POST /v1/screens}. */
  HttpAnswer register(HttpCall call) throws ApiException, InterruptedException {
    byte[] body = call.body();
    if (body.length > MAX_REGISTER_BYTES) {
      throw new ApiException(
          ErrorCode.PAYLOAD_TOO_LARGE,
          "a screen registration is at most " + MAX_REGISTER_BYTES + " bytes, got " + body.length);
    }
    auth.require(call);
    HostApi.RegisterScreen req;
    try {
      req = Json.decode(body, MAX_REGISTER_BYTES, HostApi.RegisterScreen.class);
    } catch (MalformedInputException e) {
      throw new ApiException(ErrorCode.MALFORMED_REQUEST, e.getMessage());
    }
    List<X509Certificate> chain = chain(req.chain());
    Instant now = clock.instant();
    try {
      DcCertificateChainValidator.validate(DcCertificateChainValidator.Kind.SCREEN, chain, now);
    } catch (CinemaException e) {
      // the check's own code (screen_certificate_rsa_size, ...) and message: nothing is stored
      return new HttpAnswer(
          400, HttpAnswer.JSON, Json.encode(new ErrorBody(e.code(), e.getMessage())), 0);
    }
    String cinema = name("cinema", req.cinema());
    String screenName = name("screen", req.screen());
    if (req.utcOffset() != null && !CinemaRecord.isUtcOffset(req.utcOffset())) {
      throw new ApiException(
          ErrorCode.MALFORMED_REQUEST,
          "utc_offset must be +HH:MM or -HH:MM (at most 14:00): " + Inputs.quote(req.utcOffset()));
    }
    if (req.utcOffset() != null && cinema == null) {
      throw new ApiException(
          ErrorCode.MALFORMED_REQUEST, "utc_offset is the cinema's: give cinema with it");
    }
    List<String> emails = null;
    if (req.emails() != null) {
      if (cinema == null) {
        throw new ApiException(
            ErrorCode.MALFORMED_REQUEST, "emails are the cinema's: give cinema with them");
      }
      try {
        emails = CinemaRecord.checkEmails(req.emails());
      } catch (IllegalArgumentException e) {
        throw new ApiException(ErrorCode.MALFORMED_REQUEST, "emails: " + e.getMessage());
      }
    }
    List<String> devices = req.trustedDevices() == null ? List.of() : req.trustedDevices();
    if (devices.size() > ScreenRecord.MAX_TRUSTED_DEVICES) {
      throw new ApiException(
          ErrorCode.MALFORMED_REQUEST,
          "at most " + ScreenRecord.MAX_TRUSTED_DEVICES + " trusted_devices");
    }
    for (String d : devices) {
      if (!SendPolicy.isWellFormedThumbprint(d)) {
        throw new ApiException(
            ErrorCode.MALFORMED_REQUEST,
            "trusted_devices: "
                + Inputs.quote(String.valueOf(d))
                + " is not base64 of 20 bytes (28 characters)");
      }
    }
    X509Certificate leaf = chain.get(0);
    String thumbprint;
    String fingerprint;
    List<byte[]> der = new ArrayList<>();
    try {
      thumbprint = DcCertificates.thumbprintBase64(leaf);
      fingerprint = RecipientKeys.fromSpki(leaf.getPublicKey().getEncoded()).fingerprint();
      for (X509Certificate c : chain) {
        der.add(c.getEncoded());
      }
    } catch (CinemaException
        | MalformedInputException
        | java.security.cert.CertificateEncodingException e) {
      throw new ApiException(
          ErrorCode.INVALID_RECIPIENT, "the screen's leaf certificate: " + e.getMessage());
    }
    String offset = null;
    List<String> addresses = null;
    if (cinema != null) {
      Optional<CinemaRecord> existing = stores.call("get_cinema", () -> store.getCinema(cinema));
      offset =
          req.utcOffset() != null
              ? req.utcOffset()
              : existing.map(CinemaRecord::utcOffset).orElse(CinemaRecord.UTC);
      addresses = emails != null ? emails : existing.map(CinemaRecord::emails).orElse(List.of());
      if (existing.isEmpty()
          || !existing.get().utcOffset().equals(offset)
          || !existing.get().emails().equals(addresses)) {
        CinemaRecord c = new CinemaRecord(cinema, offset, now, addresses);
        stores.call("put_cinema", () -> store.putCinema(c));
      }
    }
    ScreenRecord record =
        new ScreenRecord(thumbprint, fingerprint, cinema, screenName, der, devices, now);
    boolean existed =
        !stores.call("find_screens", () -> store.findScreens(List.of(thumbprint))).isEmpty();
    stores.call("put_screen", () -> store.putScreen(record));
    int made = late.onScreenRegistered(thumbprint);
    return HttpAnswer.json(existed ? 200 : 201, view(record, offset, made, addresses));
  }

  /** {@code GET /v1/screens?cinema=&after=&limit=}. */
  HttpAnswer list(HttpCall call) throws ApiException, InterruptedException {
    auth.require(call);
    String cinema = name("cinema", call.param("cinema"));
    String afterParam = call.param("after");
    String after = null;
    if (afterParam != null) {
      after = ScreenRecord.fromUrl(afterParam);
      if (after == null) {
        throw new ApiException(
            ErrorCode.MALFORMED_REQUEST,
            "after must be a screen thumbprint in base64url (27 characters)");
      }
    }
    int limit = DEFAULT_PAGE;
    String l = call.param("limit");
    if (l != null) {
      if (!l.matches("[0-9]{1,4}")
          || Integer.parseInt(l) < 1
          || Integer.parseInt(l) > ArtefactStore.MAX_PAGE) {
        throw new ApiException(
            ErrorCode.MALFORMED_REQUEST, "limit must be 1.." + ArtefactStore.MAX_PAGE);
      }
      limit = Integer.parseInt(l);
    }
    String a = after;
    int n = limit;
    List<ScreenRecord> page = stores.call("list_screens", () -> store.listScreens(cinema, a, n));
    java.util.Map<String, String> offsets = new java.util.HashMap<>();
    List<HostApi.Screen> out = new ArrayList<>(page.size());
    for (ScreenRecord s : page) {
      out.add(view(s, offsetOf(s.cinema(), offsets), 0, null));
    }
    String next = page.size() < limit || page.isEmpty() ? null : page.getLast().thumbprintUrl();
    return HttpAnswer.json(200, new HostApi.ScreenPage(out, next));
  }

  /** The UTC offset of {@code cinema} (null: no cinema), looked up once per request. */
  String offsetOf(String cinema, java.util.Map<String, String> cache) throws ApiException {
    if (cinema == null) {
      return null;
    }
    String o = cache.get(cinema);
    if (o == null) {
      o =
          stores
              .call("get_cinema", () -> store.getCinema(cinema))
              .map(CinemaRecord::utcOffset)
              .orElse(CinemaRecord.UTC);
      cache.put(cinema, o);
    }
    return o;
  }

  private static HostApi.Screen view(ScreenRecord s, String offset, int made, List<String> emails) {
    X509Certificate leaf = ScreenCandidates.leaf(s.chain().get(0));
    return new HostApi.Screen(
        s.thumbprint(),
        s.thumbprintUrl(),
        s.fingerprint(),
        DcCertificates.rfc2253(leaf.getSubjectX500Principal()),
        s.cinema(),
        s.screenName(),
        offset,
        s.trustedDevices(),
        s.registeredAt(),
        made,
        emails);
  }

  private static String name(String what, String value) throws ApiException {
    if (value == null) {
      return null;
    }
    if (!CinemaRecord.isName(value)) {
      throw new ApiException(
          ErrorCode.MALFORMED_REQUEST,
          what
              + " must be 1 to "
              + CinemaRecord.MAX_NAME
              + " characters without control characters, '/', '\\\\' or outer spaces");
    }
    return value;
  }

  private static List<X509Certificate> chain(List<String> b64) throws ApiException {
    if (b64 == null || b64.isEmpty() || b64.size() > ScreenRecord.MAX_CHAIN) {
      throw new ApiException(
          ErrorCode.MALFORMED_REQUEST,
          "chain must list 2 to "
              + ScreenRecord.MAX_CHAIN
              + " certificates (base64 DER, leaf first)");
    }
    CertificateFactory cf;
    try {
      cf = CertificateFactory.getInstance("X.509");
    } catch (CertificateException e) {
      throw new IllegalStateException(e);
    }
    List<X509Certificate> out = new ArrayList<>(b64.size());
    for (int i = 0; i < b64.size(); i++) {
      String t = b64.get(i);
      if (t == null || t.length() > ScreenRecord.MAX_CERTIFICATE * 4 / 3 + 4) {
        throw new ApiException(
            ErrorCode.MALFORMED_REQUEST,
            "chain["
                + i
                + "] is missing or larger than "
                + ScreenRecord.MAX_CERTIFICATE
                + " bytes");
      }
      byte[] der;
      try {
        der =
            t.indexOf('-') >= 0 || t.indexOf('_') >= 0
                ? Base64.getUrlDecoder().decode(t)
                : Base64.getDecoder().decode(t);
      } catch (IllegalArgumentException e) {
        throw new ApiException(ErrorCode.MALFORMED_REQUEST, "chain[" + i + "] is not base64");
      }
      try {
        out.add((X509Certificate) cf.generateCertificate(new ByteArrayInputStream(der)));
      } catch (CertificateException | ClassCastException e) {
        throw new ApiException(
            ErrorCode.MALFORMED_REQUEST, "chain[" + i + "] is not a DER X.509 certificate");
      }
    }
    return out;
  }
}
