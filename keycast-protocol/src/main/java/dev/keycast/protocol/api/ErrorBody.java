package dev.keycast.protocol.api;

/** The JSON body of every error answer: a stable code and a human message (never a secret). */
public record ErrorBody(String error, String message) {
  public static ErrorBody of(ErrorCode code, String message) {
    return new ErrorBody(code.code(), message);
  }
}
