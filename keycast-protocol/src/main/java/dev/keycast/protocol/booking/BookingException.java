package dev.keycast.protocol.booking;

import dev.keycast.protocol.api.ErrorCode;

/** A refused booking or rules statement, with its stable code (wire-format.md section 11). */
public final class BookingException extends Exception {
  private final ErrorCode code;

  public BookingException(ErrorCode code, String message) {
    super(message);
    this.code = code;
  }

  /** The code the API answers. */
  public ErrorCode code() {
    return code;
  }
}
