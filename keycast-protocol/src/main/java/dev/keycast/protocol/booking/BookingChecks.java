package dev.keycast.protocol.booking;

import dev.keycast.protocol.api.ErrorCode;
import dev.keycast.protocol.cinema.CinemaException;
import dev.keycast.protocol.cinema.DkdmBinding;
import dev.keycast.protocol.cinema.KdmTimestamps;
import dev.keycast.protocol.policy.SendPolicy;
import java.time.Duration;
import java.time.Instant;

/**
 * The checks that bind a booking to its DKDM and to the studio's rules (wire-format.md sections
 * 11.3 and 11.4), in the order the enclave runs them; each refusal has its own code. Pure
 * functions of their arguments (the enclave's clock is one), so the same checks run in tests and
 * could run in any verifier.
 */
public final class BookingChecks {
  private BookingChecks() {}

  /**
   * Section 11.3: the rules are for this DKDM: they name the binding's key set, CPL and DKDM signer
   * (whose own key signed them: the caller checks that signature against the signer certificate
   * whose thumbprint this compares).
   *
   * @throws BookingException {@code rules_dkdm_mismatch}
   */
  public static void rulesFitDkdm(StudioRules rules, DkdmBinding binding) throws BookingException {
    if (!rules.keySetId().equals(binding.keySetId())) {
      throw new BookingException(
          ErrorCode.RULES_DKDM_MISMATCH,
          "the rules are for key set "
              + rules.keySetId()
              + ", the DKDM's keys are sealed to "
              + binding.keySetId());
    }
    if (!rules.cplId().equals(binding.cplId())) {
      throw new BookingException(
          ErrorCode.RULES_DKDM_MISMATCH,
          "the rules are for CPL " + rules.cplId() + ", the DKDM carries " + binding.cplId());
    }
    if (!rules.dkdmSigner().equals(binding.signerThumbprint())) {
      throw new BookingException(
          ErrorCode.RULES_DKDM_MISMATCH,
          "the rules name DKDM signer "
              + rules.dkdmSigner()
              + ", the DKDM was signed by "
              + binding.signerThumbprint());
    }
  }

  /**
   * Section 11.4: the booking's window and size under the DKDM and the rules, at {@code now}.
   *
   * @throws BookingException {@code booking_invalid} (another key set or CPL), {@code
   *     booking_outside_dkdm_window}, {@code booking_window_past}, {@code booking_after_latest_end},
   *     {@code booking_window_too_long}, {@code booking_kdm_not_allowed}, {@code booking_over_cap}
   */
  public static void bookingFits(
      KdmBooking booking, StudioRules rules, DkdmBinding binding, Instant now)
      throws BookingException {
    if (!booking.keySetId().equals(binding.keySetId())
        || !booking.cplId().equals(binding.cplId())) {
      throw new BookingException(
          ErrorCode.BOOKING_INVALID,
          "the booking is for key set "
              + booking.keySetId()
              + " and CPL "
              + booking.cplId()
              + "; the DKDM presented is for "
              + binding.keySetId()
              + " and "
              + binding.cplId());
    }
    Instant dkdmStart;
    Instant dkdmEnd;
    try {
      dkdmStart = KdmTimestamps.parse(binding.notValidBefore()).toInstant();
      dkdmEnd = KdmTimestamps.parse(binding.notValidAfter()).toInstant();
    } catch (CinemaException e) {
      throw new BookingException(
          ErrorCode.DKDM_MALFORMED, "the DKDM binding's window does not parse");
    }
    if (booking.notBefore().isBefore(dkdmStart) || booking.notAfter().isAfter(dkdmEnd)) {
      throw new BookingException(
          ErrorCode.BOOKING_OUTSIDE_DKDM_WINDOW,
          "the booking's window "
              + booking.notBefore()
              + " to "
              + booking.notAfter()
              + " is not inside the DKDM's "
              + dkdmStart
              + " to "
              + dkdmEnd);
    }
    if (!booking.notAfter().isAfter(now)) {
      throw new BookingException(
          ErrorCode.BOOKING_WINDOW_PAST,
          "the booking's window ended at "
              + booking.notAfter()
              + ", before now ("
              + now.getEpochSecond()
              + "s)");
    }
    if (booking.notAfter().isAfter(rules.latestEnd())) {
      throw new BookingException(
          ErrorCode.BOOKING_AFTER_LATEST_END,
          "the booking's window ends at "
              + booking.notAfter()
              + ", after the studio's latest end "
              + rules.latestEnd());
    }
    Duration length = Duration.between(booking.notBefore(), booking.notAfter());
    if (length.compareTo(rules.maxWindow()) > 0) {
      throw new BookingException(
          ErrorCode.BOOKING_WINDOW_TOO_LONG,
          "the booking's window is "
              + length.toSeconds()
              + " s long; the studio allows at most "
              + rules.maxWindowSeconds()
              + " s");
    }
    SendPolicy.KdmRules asked = booking.kdm();
    SendPolicy.KdmRules allowed = rules.kdm();
    if (asked != null
        && (!asked.formulation().equals(allowed.formulation())
            || !java.util.Set.copyOf(asked.forensicMarkFlags())
                .equals(java.util.Set.copyOf(allowed.forensicMarkFlags()))
            || !java.util.Objects.equals(
                asked.contentAuthenticator(), allowed.contentAuthenticator()))) {
      throw new BookingException(
          ErrorCode.BOOKING_KDM_NOT_ALLOWED,
          "the booking asks for "
              + asked.formulation()
              + " with forensic-mark flags "
              + asked.forensicMarkFlags()
              + "; the studio's rules set "
              + allowed.formulation()
              + " with "
              + allowed.forensicMarkFlags());
    }
    if (booking.screens().size() > rules.maxScreens()) {
      throw new BookingException(
          ErrorCode.BOOKING_OVER_CAP,
          "the booking names "
              + booking.screens().size()
              + " screens; the studio allows at most "
              + rules.maxScreens()
              + " per booking");
    }
  }
}
