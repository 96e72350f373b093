package dev.keycast.enclave.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keycast.protocol.api.EnclaveApi;
import dev.keycast.protocol.api.ErrorCode;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A malformed request body must not be echoed into the error body: the credentials requests carry
 * an AWS secret access key and session token, and the host logs and relays error bodies.
 */
class RequestDecodingSecrecyTest {
  private static final String SECRET = "wJalrXUtnFEMIK7MDENGbPxRfiCYSECRETKEY";

  @ParameterizedTest
  @ValueSource(
      strings = {
        // an unquoted token: Jackson's message quotes the token
        "{\"credentials\":{\"access_key_id\":\"AKIA\",\"secret_access_key\":" + SECRET + "}}",
        // an unterminated string followed by garbage
        "{\"credentials\":{\"access_key_id\":\"AKIA\",\"secret_access_key\":\""
            + SECRET
            + "\" "
            + SECRET
            + "}}",
        // a string where an object is expected
        "{\"credentials\":\"" + SECRET + "\"}",
        // a string where a timestamp is expected
        "{\"credentials\":{\"access_key_id\":\"AKIA\",\"expiration\":\"" + SECRET + "\"}}",
      })
  void malformedCredentialsAreNotEchoed(String body) {
    assertThatThrownBy(
            () ->
                EnclaveApiService.decode(
                    body.getBytes(StandardCharsets.UTF_8), EnclaveApi.CredentialsRequest.class))
        .isInstanceOfSatisfying(
            EnclaveApiException.class,
            e -> {
              assertThat(e.code()).isEqualTo(ErrorCode.MALFORMED_REQUEST);
              assertThat(e.getMessage())
                  .startsWith("malformed JSON")
                  .doesNotContain("SECRET", "wJalr");
            });
  }
}
