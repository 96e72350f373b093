package dev.keycast.protocol.booking;

import dev.keycast.protocol.Json;
import dev.keycast.protocol.MalformedInputException;
import dev.keycast.protocol.keyset.KeySet;
import dev.keycast.protocol.policy.SendPolicy;
import java.time.Instant;
import java.util.HashSet;
import java.util.List;

/**
 * A distributor's booking (wire-format.md section 11.2): KDMs of one CPL, from its ingested DKDM,
 * for the screens it names by certificate thumbprint, with one key window. Signed by a sender of
 * the sealed sender set ({@link BookingStatement}); the enclave issues a KDM only to a screen the
 * booking names AND the studio's rules admit.
 *
 * <p>JSON, members in this order, snake_case: {@code version} (1), {@code key_set_id}, {@code
 * cpl_id}, {@code screens}, {@code not_before}, {@code not_after}, {@code kdm} (optional: the
 * formulation, forensic-mark flags, content authenticator and annotation of a send policy's
 * {@code kdm} member; absent: the studio rules' options, which a present one must repeat).
 *
 * @param screens leaf certificate thumbprints (base64, 28 characters), 1..{@link #MAX_SCREENS}, distinct
 */
public record KdmBooking(
    int version,
    String keySetId,
    String cplId,
    List<String> screens,
    Instant notBefore,
    Instant notAfter,
    @com.fasterxml.jackson.annotation.JsonInclude(
            com.fasterxml.jackson.annotation.JsonInclude.Include.NON_NULL)
        SendPolicy.KdmRules kdm) {
  public static final int VERSION = 1;

  /** Most screens one booking names (a bigger distribution is booked in several). */
  public static final int MAX_SCREENS = 5_000;

  /** Largest encoded booking accepted. */
  public static final int MAX_ENCODED = 256 * 1024;

  public KdmBooking {
    if (version != VERSION) {
      throw new IllegalArgumentException("booking version must be " + VERSION);
    }
    if (!KeySet.isWellFormedId(keySetId)) {
      throw new IllegalArgumentException("key_set_id must be ks- followed by 32 lowercase hex");
    }
    if (cplId == null || !StudioRules.URN_UUID.matcher(cplId).matches()) {
      throw new IllegalArgumentException("cpl_id must be urn:uuid: and a lowercase UUID");
    }
    if (screens == null || screens.isEmpty() || screens.size() > MAX_SCREENS) {
      throw new IllegalArgumentException("screens must name 1.." + MAX_SCREENS + " screens");
    }
    screens = List.copyOf(screens);
    HashSet<String> seen = new HashSet<>();
    for (String t : screens) {
      if (!SendPolicy.isWellFormedThumbprint(t)) {
        throw new IllegalArgumentException(
            "screens holds a value that is not a base64 thumbprint (28 characters)");
      }
      if (!seen.add(t)) {
        throw new IllegalArgumentException("screens names " + t + " twice");
      }
    }
    StudioRules.wholeSeconds("not_before", notBefore);
    StudioRules.wholeSeconds("not_after", notAfter);
    if (!notBefore.isBefore(notAfter)) {
      throw new IllegalArgumentException("not_before must be before not_after");
    }
  }

  /** The exact bytes the distributor signs. */
  public byte[] encode() {
    return Json.encode(this);
  }

  /** Parses booking bytes; every violation is {@link MalformedInputException.Kind#MALFORMED}. */
  public static KdmBooking decode(byte[] bytes) throws MalformedInputException {
    try {
      return Json.decode(bytes, MAX_ENCODED, KdmBooking.class);
    } catch (MalformedInputException e) {
      throw new MalformedInputException(
          e.kind() == MalformedInputException.Kind.OVERSIZE
              ? MalformedInputException.Kind.OVERSIZE
              : MalformedInputException.Kind.MALFORMED,
          "booking: " + e.getMessage());
    }
  }
}
