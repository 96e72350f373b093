package dev.keycast.host.store;

/**
 * Where the S3 store keeps what (all keys under the store's optional prefix; ids are
 * {@code [A-Za-z0-9_-]}, fingerprints hex):
 * <pre>
 * keysets/v{version, 10 digits}             sealed key set bytes            If-None-Match: *
 * sendersets/v{version, 19 digits}          sealed sender set bytes         If-None-Match: *
 * recipients/{fp}                           recipient JSON                  If-None-Match: *
 * sends/{sendId}/ref                        payload hash hex                If-None-Match: *
 * sends/{sendId}/recipients/{fp}            delivery id                     If-None-Match: *
 * receipts/{receiptId}                      receipt JSON + commit ref       If-None-Match: *
 * deliveries/by-id/{deliveryId}             delivery JSON + commit ref      If-None-Match: *
 * deliveries/by-recipient/{fp}/{deliveryId} send id (index for listing)
 * open-sends/{sendId}                       payload hash hex (late-allowed sends only)
 * payload-hash/{hex}                        SEND MANIFEST: the commit point If-None-Match: *
 * sends/{sendId}/forwards/{fp}              FORWARD MANIFEST: commit point  If-None-Match: *
 * cinemas/{hex(UTF-8 name)}                 cinema JSON (last write wins)
 * screens/by-thumbprint/{thumb}             screen JSON (last write wins)
 * screens/by-fingerprint/{fp}/{thumb}       empty (index; checked against the screen on read)
 * screens/by-cinema/{hex(name)}/{thumb}     empty (index; checked against the screen on read)
 * dkdms/by-cpl/{cpl uuid}/{message uuid}    ingested DKDM JSON (issue 25; last write wins)
 * rules/by-cpl/{cpl uuid}                    a studio's signed rules JSON (issue 25; last write wins)
 * dkdm-keys/{id}                             an imported legacy DKDM key JSON (issue 25; sealed)
 * mail/{sendId}/{hex(cinema)}               KDM mail outbox entry JSON      If-None-Match: * (queue)
 * </pre>
 * where {@code thumb} is the screen's thumbprint in base64url without padding (27 characters).
 */
final class S3Layout {
  /** Prefix of the sealed key sets. */
  static final String KEY_SETS = "keysets/v";

  /** Prefix of the recipients. */
  static final String RECIPIENTS = "recipients/";

  /** Prefix of the sends open for late recipients. */
  static final String OPEN_SENDS = "open-sends/";

  private static final String MANIFESTS = "payload-hash/";
  private static final String SENDS = "sends/";

  private S3Layout() {}

  /** Prefix of the screens by thumbprint. */
  static final String SCREENS = "screens/by-thumbprint/";

  /** Prefix of the imported legacy DKDM keys. */
  static final String LEGACY_KEYS = "dkdm-keys/";

  /** The studio rules of CPL {@code cplUuid} (lowercase UUID, no urn prefix). */
  static String rulesOfCpl(String cplUuid) {
    return "rules/by-cpl/" + cplUuid;
  }

  /** Prefix of the DKDMs ingested for CPL {@code cplUuid} (lowercase UUID, no urn prefix). */
  static String dkdmsOfCpl(String cplUuid) {
    return "dkdms/by-cpl/" + cplUuid + "/";
  }

  /** Prefix of the whole mail outbox. */
  static final String MAIL = "mail/";

  /** Prefix of a send's mail outbox entries. */
  static String mailsOfSend(String sendId) {
    return MAIL + sendId + "/";
  }

  /** The mail outbox entry of a send to a cinema. */
  static String mail(String sendId, String cinema) {
    return mailsOfSend(sendId) + hexName(cinema);
  }

  static String cinema(String name) {
    return "cinemas/" + hexName(name);
  }

  static String screen(String thumbUrl) {
    return SCREENS + thumbUrl;
  }

  /** Prefix of the screens whose leaf key has fingerprint {@code fp}. */
  static String screensByFingerprint(String fp) {
    return "screens/by-fingerprint/" + fp + "/";
  }

  /** Prefix of a cinema's screens. */
  static String screensByCinema(String name) {
    return "screens/by-cinema/" + hexName(name) + "/";
  }

  private static String hexName(String name) {
    return java.util.HexFormat.of()
        .formatHex(name.getBytes(java.nio.charset.StandardCharsets.UTF_8));
  }

  /** Prefix of the sealed sender sets. */
  static final String SENDER_SETS = "sendersets/v";

  static String senderSet(long version) {
    return String.format("sendersets/v%019d", version);
  }

  static String keySet(int version) {
    return String.format("keysets/v%010d", version);
  }

  static String recipient(String fp) {
    return RECIPIENTS + fp;
  }

  /** The send manifest of a payload hash: a send's commit point. */
  static String manifest(String payloadHashHex) {
    return MANIFESTS + payloadHashHex;
  }

  /** The forward manifest of a send and recipient: a forward's commit point. */
  static String forward(String sendId, String fp) {
    return forwards(sendId) + fp;
  }

  /** Prefix of a send's forward manifests. */
  static String forwards(String sendId) {
    return SENDS + sendId + "/forwards/";
  }

  /** A send id's reference to its payload hash. */
  static String sendRef(String sendId) {
    return SENDS + sendId + "/ref";
  }

  /** The delivery id of a send's recipient. */
  static String sendRecipient(String sendId, String fp) {
    return SENDS + sendId + "/recipients/" + fp;
  }

  static String receipt(String receiptId) {
    return "receipts/" + receiptId;
  }

  static String delivery(String deliveryId) {
    return "deliveries/by-id/" + deliveryId;
  }

  /** Prefix of a recipient's delivery index. */
  static String byRecipient(String fp) {
    return "deliveries/by-recipient/" + fp + "/";
  }

  static String openSend(String sendId) {
    return OPEN_SENDS + sendId;
  }

  /** True for a key a commit reference may name (a send or forward manifest). */
  static boolean isManifest(String key) {
    return key.startsWith(MANIFESTS) || key.startsWith(SENDS);
  }
}
