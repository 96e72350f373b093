package dev.keycast.protocol.api;

/**
 * Stable machine-readable error codes of every Keycast HTTP API, with their HTTP status. The JSON
 * body of an error is {@link ErrorBody}: {@code {"error": "<code>", "message": "<human text>"}}.
 */
public enum ErrorCode {
  MALFORMED_REQUEST(400, "malformed_request"),
  DECRYPTION_FAILED(400, "decryption_failed"),
  UNSUPPORTED_VERSION(400, "unsupported_version"),
  INVALID_POLICY(422, "invalid_policy"),
  POLICY_MISMATCH(400, "policy_mismatch"),
  POLICY_NOT_VALID_NOW(422, "policy_not_valid_now"),
  TOO_MANY_RECIPIENTS(422, "too_many_recipients"),
  INVALID_RECIPIENT(422, "invalid_recipient"),
  WRONG_KEY_SET(409, "wrong_key_set"),
  ALREADY_INITIALIZED(409, "already_initialized"),
  PROOF_REQUIRED(401, "proof_required"),
  PROOF_INVALID(401, "proof_invalid"),
  SESSION_REQUIRED(401, "session_required"),
  SESSION_INVALID(401, "session_invalid"),
  SESSION_EXPIRED(401, "session_expired"),
  FORBIDDEN(403, "forbidden"),
  NOT_FOUND(404, "not_found"),
  METHOD_NOT_ALLOWED(405, "method_not_allowed"),
  PAYLOAD_TOO_LARGE(413, "payload_too_large"),
  REQUEST_TIMEOUT(408, "request_timeout"),
  NOT_READY(503, "not_ready"),
  ENCLAVE_UNAVAILABLE(503, "enclave_unavailable"),
  STORE_UNAVAILABLE(503, "store_unavailable"),
  STORE_FULL(507, "store_full"),
  KMS_ACCESS_DENIED(502, "kms_access_denied"),
  KMS_UNAVAILABLE(502, "kms_unavailable"),
  KMS_ERROR(502, "kms_error"),
  SEALED_KEY_SET_INVALID(422, "sealed_key_set_invalid"),
  IMAGE_APPROVAL_REFUSED(403, "image_approval_refused"),
  SUCCESSOR_KEY_REFUSED(422, "successor_key_refused"),
  OVERLOADED(503, "overloaded"),
  SENDER_REQUIRED(401, "sender_required"),
  SENDER_SIGNATURE_INVALID(401, "sender_signature_invalid"),
  SENDER_TIMESTAMP_OUT_OF_WINDOW(401, "sender_timestamp_out_of_window"),
  SENDER_UNKNOWN(403, "sender_unknown"),
  SENDER_SET_MISSING(503, "sender_set_missing"),
  SENDER_SET_INVALID(422, "sender_set_invalid"),
  SENDER_SET_STALE(409, "sender_set_stale"),
  SENDER_SET_GENESIS_REFUSED(409, "sender_set_genesis_refused"),
  OWNER_SIGNATURE_INVALID(403, "owner_signature_invalid"),
  /** Host: the sender's sends arrive faster than its rate allows (token bucket; Retry-After). */
  SENDER_RATE_LIMITED(429, "sender_rate_limited"),
  /** Host: the sender already has as many sends in flight as it may (Retry-After). */
  SENDER_IN_FLIGHT_LIMITED(429, "sender_in_flight_limited"),
  /** Host: the sender's deliveries of the UTC day reached its daily quota (Retry-After). */
  SENDER_QUOTA_EXCEEDED(429, "sender_quota_exceeded"),
  /** A KDM send whose secret is not a content-key set (wire-format.md section 9.1). */
  INVALID_CONTENT_KEYS(422, "invalid_content_keys"),
  /** A KDM send whose key window is outside the KDM signer chain's validity (section 9.4). */
  KDM_SIGNER_WINDOW(422, "kdm_signer_window"),
  /** The enclave has no KDM signer for the key set (section 9.4). */
  KDM_SIGNER_UNAVAILABLE(503, "kdm_signer_unavailable"),
  /** An imported KDM signer chain whose leaf does not certify the enclave's signer key (section 4.6). */
  KDM_SIGNER_CHAIN_KEY_MISMATCH(422, "kdm_signer_chain_key_mismatch"),
  /** An imported KDM signer chain outside the ST 430-2 signer profile, or not valid now (section 4.6). */
  KDM_SIGNER_CHAIN_INVALID(422, "kdm_signer_chain_invalid"),
  /** A DKDM that does not parse as an ST 430-1 KDM, or whose window is inconsistent (wire-format.md 10.3). */
  DKDM_MALFORMED(422, "dkdm_malformed"),
  /** A DKDM whose XML signature does not verify, or uses other algorithms or references (10.3). */
  DKDM_SIGNATURE_INVALID(422, "dkdm_signature_invalid"),
  /** A DKDM whose signer chain does not end in a studio root the sender trusted, or breaks ST 430-2 (10.3). */
  DKDM_SIGNER_UNTRUSTED(422, "dkdm_signer_untrusted"),
  /** A DKDM addressed to another certificate than the enclave's DKDM recipient certificate (10.3). */
  DKDM_WRONG_RECIPIENT(422, "dkdm_wrong_recipient"),
  /** A DKDM block that does not decrypt with the enclave's key to the 138-byte layout it must hold (10.3). */
  DKDM_BLOCK_MALFORMED(422, "dkdm_block_malformed"),
  /** A DKDM whose key window has ended (10.3). */
  DKDM_WINDOW_PAST(422, "dkdm_window_past"),
  /** A studio rules statement that does not parse or whose signature does not verify (wire-format.md 11.1). */
  RULES_INVALID(422, "rules_invalid"),
  /** Rules not signed by the sender who ingested the DKDM, or naming another CPL, key set or DKDM signer (11.1). */
  RULES_DKDM_MISMATCH(403, "rules_dkdm_mismatch"),
  /** No studio rules are stored for the booking's CPL (11.3). */
  RULES_NOT_FOUND(404, "rules_not_found"),
  /** No ingested DKDM for the booking's CPL covers the booking's window (11.3). */
  DKDM_NOT_FOUND(404, "dkdm_not_found"),
  /** A booking that does not parse, names no screen or too many, or whose window does not start before it ends (11.2). */
  BOOKING_INVALID(422, "booking_invalid"),
  /** A booking whose KDM window is not inside the DKDM's key window (11.4). */
  BOOKING_OUTSIDE_DKDM_WINDOW(422, "booking_outside_dkdm_window"),
  /** A booking whose KDM window ends after the studio rules' latest end (11.4). */
  BOOKING_AFTER_LATEST_END(422, "booking_after_latest_end"),
  /** A booking whose KDM window is longer than the studio rules allow (11.4). */
  BOOKING_WINDOW_TOO_LONG(422, "booking_window_too_long"),
  /** A booking whose KDM window has already ended (11.4). */
  BOOKING_WINDOW_PAST(422, "booking_window_past"),
  /** A booking naming more screens than the studio rules' cap (11.4). */
  BOOKING_OVER_CAP(422, "booking_over_cap"),
  /** A booking asking for KDM options (formulation, forensic marking) other than the studio's rules set (11.4). */
  BOOKING_KDM_NOT_ALLOWED(422, "booking_kdm_not_allowed"),
  /** A legacy DKDM key or certificate that is not usable: not X.509, not RSA 2048-4096, not PKCS #8 (10.6). */
  DKDM_KEY_INVALID(422, "dkdm_key_invalid"),
  /** A legacy DKDM key that is not the key of the certificate given with it (10.6). */
  DKDM_KEY_MISMATCH(422, "dkdm_key_mismatch"),
  /** Host: KDM mail asked of a host started without {@code --smtp-host} (api.md 2.7). */
  MAIL_NOT_CONFIGURED(503, "mail_not_configured"),
  /**
   * Host: another attempt of this exact payload is being stored, or one failed part-way and left
   * its objects (an S3 store: storage.md 3); nothing was acknowledged.
   */
  SEND_CONFLICT(409, "send_conflict"),
  INTERNAL(500, "internal_error");

  private final int status;
  private final String code;

  ErrorCode(int status, String code) {
    this.status = status;
    this.code = code;
  }

  public int status() {
    return status;
  }

  public String code() {
    return code;
  }

  /** The constant for a wire code, or {@code null}. */
  public static ErrorCode fromCode(String code) {
    for (ErrorCode c : values()) {
      if (c.code.equals(code)) {
        return c;
      }
    }
    return null;
  }
}
