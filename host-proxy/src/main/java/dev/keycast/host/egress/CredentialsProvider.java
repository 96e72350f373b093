package dev.keycast.host.egress;

import dev.keycast.protocol.api.EnclaveApi.AwsCredentials;
import java.io.IOException;

/**
 * Where the host gets the AWS credentials it hands to the enclave (which signs its KMS calls with
 * them). Implementations never log or print secret parts.
 */
public interface CredentialsProvider {
  /**
   * Current credentials, fetched or refreshed when needed.
   *
   * @throws IOException when they cannot be obtained
   */
  AwsCredentials credentials() throws IOException, InterruptedException;

  /** A short description for status pages (never a secret). */
  String describe();
}
