package dev.keycast.host.server;

import dev.keycast.protocol.api.ErrorCode;
import dev.keycast.protocol.sender.SenderKey;
import dev.keycast.protocol.sender.SenderRequestSignature;
import java.time.Clock;
import java.util.List;
import java.util.Objects;

/**
 * Admits a request of a route a sender must sign (the screen and KDM routes, api.md section 2.4):
 * its {@code Authorization: Keycast-Sender ...} must be a valid signature, within the time window,
 * over this request's method, target and body, by a key of the enclave's sender set in force.
 * Anything else is refused before the route reads the store: {@code sender_required},
 * {@code sender_signature_invalid}, {@code sender_timestamp_out_of_window} (401) or
 * {@code sender_unknown} (403).
 */
final class SenderRequestAuth {
  private final HostControl control;
  private final Clock clock;

  SenderRequestAuth(HostControl control, Clock clock) {
    this.control = Objects.requireNonNull(control, "control");
    this.clock = Objects.requireNonNull(clock, "clock");
  }

  /** The sender who signed {@code call}; an {@link ApiException} when it is not admitted. */
  SenderKey require(HttpCall call) throws ApiException, InterruptedException {
    try {
      return verify(call, control.senderKeys(false));
    } catch (SenderRequestSignature.Refused e) {
      if (e.code() != ErrorCode.SENDER_UNKNOWN) {
        throw new ApiException(e.code(), e.getMessage());
      }
    }
    // perhaps a sender added since the cached set was read: ask again (rate-limited by the keeper)
    try {
      return verify(call, control.senderKeys(true));
    } catch (SenderRequestSignature.Refused e) {
      throw new ApiException(e.code(), e.getMessage());
    }
  }

  private SenderKey verify(HttpCall call, List<SenderKey> allowed)
      throws SenderRequestSignature.Refused {
    return SenderRequestSignature.verify(
        call.authorization(), call.method(), call.target(), call.body(), clock.instant(), allowed);
  }
}
