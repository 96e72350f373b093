package dev.keycast.kms.mock;

/**
 * A KMS error as the service reports it: the {@code __type} of the JSON error body, the HTTP status
 * and a human message. The message never contains key material.
 */
public final class KmsException extends Exception {
  private final String type;
  private final int httpStatus;

  KmsException(String type, int httpStatus, String message) {
    super(message);
    this.type = type;
    this.httpStatus = httpStatus;
  }

  /** The KMS error type, e.g. {@code AccessDeniedException}. */
  public String type() {
    return type;
  }

  /** The HTTP status the server answers with. */
  public int httpStatus() {
    return httpStatus;
  }

  static KmsException accessDenied(String message) {
    return new KmsException("AccessDeniedException", 400, message);
  }

  static KmsException invalidCiphertext() {
    return new KmsException("InvalidCiphertextException", 400, null);
  }

  static KmsException notFound(String message) {
    return new KmsException("NotFoundException", 400, message);
  }

  static KmsException validation(String message) {
    return new KmsException("ValidationException", 400, message);
  }

  static KmsException incorrectKey(String message) {
    return new KmsException("IncorrectKeyException", 400, message);
  }

  static KmsException invalidState(String message) {
    return new KmsException("KMSInvalidStateException", 400, message);
  }

  /** A cryptographic operation on a disabled key: KMS answers DisabledException, not an invalid state. */
  static KmsException disabled(String message) {
    return new KmsException("DisabledException", 400, message);
  }

  static KmsException invalidGrantToken() {
    return new KmsException("InvalidGrantTokenException", 400, "The grant token is not valid.");
  }

  static KmsException invalidGrantId(String message) {
    return new KmsException("InvalidGrantIdException", 400, message);
  }

  static KmsException unrecognizedClient() {
    return new KmsException(
        "UnrecognizedClientException",
        400,
        "The security token included in the request is invalid.");
  }

  static KmsException invalidSignature(String message) {
    return new KmsException("InvalidSignatureException", 400, message);
  }

  static KmsException incompleteSignature(String message) {
    return new KmsException("IncompleteSignatureException", 400, message);
  }

  static KmsException missingAuthentication() {
    return new KmsException(
        "MissingAuthenticationTokenException", 400, "Request is missing Authentication Token");
  }

  static KmsException malformedPolicy(String message) {
    return new KmsException("MalformedPolicyDocumentException", 400, message);
  }

  static KmsException serialization(String message) {
    return new KmsException("SerializationException", 400, message);
  }

  static KmsException unknownOperation(String message) {
    return new KmsException("UnknownOperationException", 400, message);
  }

  static KmsException tooLarge(String message) {
    return new KmsException("ValidationException", 413, message);
  }

  static KmsException internal(String message) {
    return new KmsException("KMSInternalException", 500, message);
  }
}
