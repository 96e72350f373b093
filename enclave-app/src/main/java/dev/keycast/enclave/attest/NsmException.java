package dev.keycast.enclave.attest;

/**
 * The NSM refused a request: it answered {@code {"Error": "<code>"}}, or the request was refused
 * before it was sent for a reason the NSM itself would report (for example
 * {@link NsmErrorCode#INPUT_TOO_LARGE}).
 */
public final class NsmException extends Exception {
  private final NsmErrorCode code;

  public NsmException(NsmErrorCode code, String message) {
    super("NSM error " + code.wireName() + ": " + message);
    this.code = code;
  }

  /** The NSM error code. */
  public NsmErrorCode code() {
    return code;
  }
}
