package dev.keycast.protocol.booking;

import dev.keycast.protocol.Json;
import dev.keycast.protocol.MalformedInputException;
import dev.keycast.protocol.keyset.KeySet;
import dev.keycast.protocol.policy.SendPolicy;
import java.time.Duration;
import java.time.Instant;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * A studio's rules for one CPL (wire-format.md section 11.1): which screens KDMs made from its
 * ingested DKDM may go to, the latest end and the longest length of any KDM window, and how many
 * screens one booking may name. The studio signs the exact bytes ({@link RulesStatement}) with the
 * sender key that ingested the DKDM; the host stores them and presents them with every booking,
 * and cannot alter a byte without breaking the signature.
 *
 * <p>JSON, members in this order, snake_case: {@code version} (1), {@code key_set_id}, {@code
 * cpl_id} ({@code urn:uuid:} and a lowercase UUID), {@code dkdm_signer} (base64 thumbprint of the
 * DKDM signer leaf the rules apply to), {@code screens} (a recipient selector as a send policy's:
 * anchors with an optional subject, and/or thumbprints, and/or fingerprints), {@code latest_end},
 * {@code max_window_seconds}, {@code max_screens}, {@code issued_at}, {@code kdm}.
 *
 * @param version {@link #VERSION}
 * @param keySetId the key set the rules are for
 * @param cplId the CPL ({@code urn:uuid:...})
 * @param dkdmSigner base64 SHA-1 thumbprint of the DKDM signer leaf's TBSCertificate
 * @param screens the screens KDMs may go to (send-policy.md section 2)
 * @param latestEnd no KDM window may end later
 * @param maxWindowSeconds no KDM window may be longer
 * @param maxScreens no booking may name more screens
 * @param issuedAt when the studio signed the rules (informational: a stateless enclave cannot tell
 *     newer rules from older ones, section 11.5)
 * @param kdm the KDM options every KDM made under the rules carries (formulation, forensic-mark
 *     flags, content authenticator; a send policy's {@code kdm} member): a booking may repeat them,
 *     never change them. Absent: modified-transitional-1, no forensic-mark flag (marking on).
 */
public record StudioRules(
    int version,
    String keySetId,
    String cplId,
    String dkdmSigner,
    SendPolicy.RecipientSelector screens,
    Instant latestEnd,
    long maxWindowSeconds,
    int maxScreens,
    Instant issuedAt,
    SendPolicy.KdmRules kdm) {
  public static final int VERSION = 1;

  /** Largest encoded rules accepted (room for about 30,000 thumbprints). */
  public static final int MAX_ENCODED = 1 << 20;

  /** Longest KDM window rules may allow: ten years, the longest certificate validity of ST 430-2. */
  public static final long MAX_WINDOW_SECONDS = Duration.ofDays(3653).toSeconds();

  /** Most screens rules may allow per booking (a booking's own limit, {@link KdmBooking#MAX_SCREENS}). */
  public static final int MAX_SCREENS = KdmBooking.MAX_SCREENS;

  static final Pattern URN_UUID =
      Pattern.compile("urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}");

  public StudioRules {
    if (version != VERSION) {
      throw new IllegalArgumentException("rules version must be " + VERSION);
    }
    if (!KeySet.isWellFormedId(keySetId)) {
      throw new IllegalArgumentException("key_set_id must be ks- followed by 32 lowercase hex");
    }
    if (cplId == null || !URN_UUID.matcher(cplId).matches()) {
      throw new IllegalArgumentException("cpl_id must be urn:uuid: and a lowercase UUID");
    }
    if (!SendPolicy.isWellFormedThumbprint(dkdmSigner)) {
      throw new IllegalArgumentException(
          "dkdm_signer must be a base64 certificate thumbprint (28 characters)");
    }
    Objects.requireNonNull(screens, "screens");
    wholeSeconds("latest_end", latestEnd);
    wholeSeconds("issued_at", issuedAt);
    if (maxWindowSeconds < 1 || maxWindowSeconds > MAX_WINDOW_SECONDS) {
      throw new IllegalArgumentException("max_window_seconds must be 1.." + MAX_WINDOW_SECONDS);
    }
    if (maxScreens < 1 || maxScreens > MAX_SCREENS) {
      throw new IllegalArgumentException("max_screens must be 1.." + MAX_SCREENS);
    }
    if (kdm == null) {
      kdm = new SendPolicy.KdmRules(null, null, null, null);
    }
  }

  /** Rules with the default KDM options (modified-transitional-1, no forensic-mark flag). */
  public StudioRules(
      int version,
      String keySetId,
      String cplId,
      String dkdmSigner,
      SendPolicy.RecipientSelector screens,
      Instant latestEnd,
      long maxWindowSeconds,
      int maxScreens,
      Instant issuedAt) {
    this(
        version,
        keySetId,
        cplId,
        dkdmSigner,
        screens,
        latestEnd,
        maxWindowSeconds,
        maxScreens,
        issuedAt,
        null);
  }

  static void wholeSeconds(String field, Instant t) {
    if (t == null) {
      throw new IllegalArgumentException(field + " is missing");
    }
    if (t.getNano() != 0 || t.getEpochSecond() < 0) {
      throw new IllegalArgumentException(field + " must be whole seconds after 1970");
    }
  }

  /** The longest KDM window the rules allow. */
  public Duration maxWindow() {
    return Duration.ofSeconds(maxWindowSeconds);
  }

  /** The exact bytes the studio signs. */
  public byte[] encode() {
    return Json.encode(this);
  }

  /** Parses rules bytes; every violation is {@link MalformedInputException.Kind#MALFORMED}. */
  public static StudioRules decode(byte[] bytes) throws MalformedInputException {
    try {
      return Json.decode(bytes, MAX_ENCODED, StudioRules.class);
    } catch (MalformedInputException e) {
      throw new MalformedInputException(
          e.kind() == MalformedInputException.Kind.OVERSIZE
              ? MalformedInputException.Kind.OVERSIZE
              : MalformedInputException.Kind.MALFORMED,
          "rules: " + e.getMessage());
    }
  }
}
