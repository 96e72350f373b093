package dev.keycast.enclave.keyset;

import dev.keycast.protocol.api.EnclaveApi;
import dev.keycast.protocol.api.ErrorCode;
import java.io.IOException;
import java.net.ConnectException;
import java.net.SocketTimeoutException;
import java.security.cert.CertPathValidatorException;
import java.security.cert.CertificateException;
import javax.net.ssl.SSLPeerUnverifiedException;
import software.amazon.awssdk.awscore.exception.AwsServiceException;
import software.amazon.awssdk.core.exception.ApiCallAttemptTimeoutException;
import software.amazon.awssdk.core.exception.ApiCallTimeoutException;
import software.amazon.awssdk.core.exception.SdkClientException;
import software.amazon.awssdk.core.exception.SdkException;

/**
 * Maps AWS SDK failures of one KMS call to a {@link KeySetException} with a distinct code and a
 * message that says what happened (kms-sealing.md, "Errors"). Messages quote KMS's error code and
 * (shortened) message, never a request, a key or a credential; credential strings are scrubbed
 * from KMS's message as a second line of defence.
 */
final class KmsErrors {
  private static final int MAX_KMS_MESSAGE = 300;

  private KmsErrors() {}

  /** What was being done, for messages: "GenerateDataKey", "Decrypt". */
  static KeySetException map(
      String operation,
      String keyId,
      String region,
      SdkException e,
      EnclaveApi.AwsCredentials creds,
      boolean forwarderConnectFailed) {
    if (e instanceof AwsServiceException s) {
      String code = s.awsErrorDetails() == null ? null : s.awsErrorDetails().errorCode();
      String kmsMessage = s.awsErrorDetails() == null ? null : s.awsErrorDetails().errorMessage();
      String detail = code + (kmsMessage == null ? "" : " (" + scrub(kmsMessage, creds) + ")");
      return switch (code == null ? "" : code) {
        case "AccessDeniedException" ->
            new KeySetException(
                ErrorCode.KMS_ACCESS_DENIED, "KMS denied " + operation + ": " + detail);
        case "UnrecognizedClientException",
            "InvalidSignatureException",
            "ExpiredTokenException",
            "IncompleteSignatureException",
            "MissingAuthenticationTokenException",
            "InvalidClientTokenId",
            "SignatureDoesNotMatch" ->
            new KeySetException(
                ErrorCode.KMS_ACCESS_DENIED,
                "KMS rejected the credentials for " + operation + ": " + detail);
        case "InvalidCiphertextException" ->
            new KeySetException(
                ErrorCode.SEALED_KEY_SET_INVALID,
                "sealed key set does not open: KMS "
                    + operation
                    + " refused its encrypted data key or key-set id (InvalidCiphertextException)");
        case "NotFoundException" ->
            new KeySetException(
                ErrorCode.KMS_ERROR,
                "KMS key "
                    + shorten(keyId)
                    + " was not found in "
                    + region
                    + " ("
                    + operation
                    + "): "
                    + detail);
        case "IncorrectKeyException" ->
            new KeySetException(
                ErrorCode.KMS_ERROR,
                "wrong KMS key: the encrypted data key was not made under "
                    + shorten(keyId)
                    + " ("
                    + operation
                    + "): "
                    + detail);
        case "DisabledException", "KMSInvalidStateException", "KeyUnavailableException" ->
            new KeySetException(
                ErrorCode.KMS_ERROR,
                "KMS key " + shorten(keyId) + " cannot be used now (" + operation + "): " + detail);
        case "ThrottlingException",
            "LimitExceededException",
            "DependencyTimeoutException",
            "ServiceUnavailableException",
            "KMSInternalException" ->
            new KeySetException(
                ErrorCode.KMS_UNAVAILABLE, "KMS " + operation + " failed, retry later: " + detail);
        default ->
            new KeySetException(
                ErrorCode.KMS_ERROR,
                "KMS " + operation + " failed: " + detail + " (HTTP " + s.statusCode() + ")");
      };
    }
    if (e instanceof ApiCallTimeoutException || e instanceof ApiCallAttemptTimeoutException) {
      return new KeySetException(
          ErrorCode.KMS_UNAVAILABLE, "KMS " + operation + " timed out (" + firstLine(e) + ")");
    }
    if (e instanceof SdkClientException) {
      if (isCertificateFailure(e)) {
        return new KeySetException(
            ErrorCode.KMS_ERROR,
            "TLS to kms."
                + region
                + ".amazonaws.com failed: the server certificate is not trusted or not"
                + " issued for that name ("
                + rootCauseName(e)
                + ")");
      }
      if (forwarderConnectFailed
          || hasCause(e, ConnectException.class)
          || hasCause(e, SocketTimeoutException.class)
          || hasCause(e, IOException.class)) {
        return new KeySetException(
            ErrorCode.KMS_UNAVAILABLE,
            "KMS is unreachable for "
                + operation
                + " through the KMS egress endpoint"
                + (forwarderConnectFailed ? " (the egress endpoint refused or did not answer)" : "")
                + ": "
                + rootCauseName(e));
      }
    }
    return new KeySetException(
        ErrorCode.KMS_ERROR, "KMS " + operation + " failed: " + rootCauseName(e));
  }

  private static boolean isCertificateFailure(Throwable e) {
    return hasCause(e, CertificateException.class)
        || hasCause(e, CertPathValidatorException.class)
        || hasCause(e, SSLPeerUnverifiedException.class);
  }

  private static boolean hasCause(Throwable e, Class<? extends Throwable> type) {
    for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
      if (type.isInstance(t)) {
        return true;
      }
    }
    return false;
  }

  /** The innermost exception's class and first line: no request content is in it. */
  private static String rootCauseName(Throwable e) {
    Throwable t = e;
    while (t.getCause() != null && t.getCause() != t) {
      t = t.getCause();
    }
    return t.getClass().getSimpleName() + (t.getMessage() == null ? "" : ": " + firstLine(t));
  }

  private static String firstLine(Throwable t) {
    String m = t.getMessage() == null ? "" : t.getMessage();
    int nl = m.indexOf('\n');
    m = nl >= 0 ? m.substring(0, nl) : m;
    return m.length() > MAX_KMS_MESSAGE ? m.substring(0, MAX_KMS_MESSAGE) + "..." : m;
  }

  static String shorten(String s) {
    if (s == null) {
      return "null";
    }
    return s.length() > 200 ? s.substring(0, 200) + "..." : s;
  }

  /** Removes credential strings and control characters, and bounds the length. */
  static String scrub(String message, EnclaveApi.AwsCredentials creds) {
    String m = message;
    if (creds != null) {
      for (String secret :
          new String[] {creds.secretAccessKey(), creds.sessionToken(), creds.accessKeyId()}) {
        if (secret != null && secret.length() >= 4) {
          m = m.replace(secret, "<redacted>");
        }
      }
    }
    m = m.replaceAll("\\p{Cntrl}", " ");
    return m.length() > MAX_KMS_MESSAGE ? m.substring(0, MAX_KMS_MESSAGE) + "..." : m;
  }
}
