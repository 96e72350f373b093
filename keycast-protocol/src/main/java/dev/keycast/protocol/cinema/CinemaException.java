package dev.keycast.protocol.cinema;

/**
 * A digital-cinema input was refused: a certificate outside the SMPTE ST 430-2 profile, a content
 * key set or KDM request that breaks a rule, or a KDM that does not parse or verify.
 *
 * <p>{@link #code()} is a stable machine-readable code naming the check that failed (for example
 * {@code screen_certificate_rsa_size}); the message says what is wrong for a human. Neither ever
 * contains key material. Every failure to decrypt a KDM cipher block carries the one code {@code
 * kdm_decryption_failed} and the same message, whatever the cause.
 */
public final class CinemaException extends Exception {
  private final String code;

  public CinemaException(String code, String message) {
    super(message);
    this.code = code;
  }

  public CinemaException(String code, String message, Throwable cause) {
    super(message, cause);
    this.code = code;
  }

  /** The stable machine-readable code of the failed check. */
  public String code() {
    return code;
  }
}
