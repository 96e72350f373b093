package dev.keycast.host.server;

import dev.keycast.protocol.api.HostApi;

/**
 * The largest request body each route of the host's listeners accepts. Routes that take no body
 * accept {@link #NO_BODY_CAP} bytes (a body there is answered by the route as usual); a path the
 * host does not serve gets the same small cap, so an unknown path cannot be used to park a large
 * upload.
 */
final class RouteBodyCaps {
  /** Routes without a body (GET and unknown paths). */
  static final long NO_BODY_CAP = 16 * 1024;

  /** {@code POST /v1/recipients}: a public key or a certificate chain, as JSON. */
  static final long REGISTER_CAP = HostApiService.MAX_REGISTER_BYTES;

  /** {@code POST /v1/screens}: a screen's chain, names and trusted devices, as JSON. */
  static final long SCREEN_CAP = ScreenRegistry.MAX_REGISTER_BYTES;

  /** {@code POST /admin/keyset/init}: parameters only. */
  static final long ADMIN_CAP = 64 * 1024;

  private RouteBodyCaps() {}

  /** The body cap of {@code method path} on the public ({@code admin == false}) or admin listener. */
  static long capFor(boolean admin, String method, String path) {
    if (admin) {
      return ADMIN_CAP;
    }
    if (!"POST".equals(method)) {
      return NO_BODY_CAP;
    }
    String p =
        path.length() > 1 && path.endsWith("/") ? path.substring(0, path.length() - 1) : path;
    return switch (p) {
      case "/v1/sends" -> HostApi.MAX_REQUEST_BYTES;
      case "/v1/recipients", "/v1/recipients/challenge" -> REGISTER_CAP;
      case "/v1/senders" -> dev.keycast.host.SenderSetKeeper.MAX_UPDATE_BYTES;
      case "/v1/screens" -> SCREEN_CAP;
      case "/v1/dkdms" ->
          dev.keycast.protocol.api.EnclaveApi.DkdmIngestRequest.MAX_BODY_BYTES; // issue 25
      case "/v1/rules" -> RulesRelay.MAX_BODY_BYTES;
      case "/v1/dkdm-keys" -> DkdmIngestRelay.MAX_KEY_IMPORT_BYTES;
      case "/v1/bookings" -> BookingCoordinator.MAX_BODY_BYTES;
      default -> NO_BODY_CAP;
    };
  }
}
