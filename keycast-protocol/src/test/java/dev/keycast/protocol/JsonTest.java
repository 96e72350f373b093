package dev.keycast.protocol;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keycast.protocol.api.EnclaveApi;
import dev.keycast.protocol.policy.SendPolicy;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** The shared JSON codec on untrusted input. */
class JsonTest {
  @Test
  void anObjectNamingAKeyTwiceIsMalformedRequestNotLastWins() {
    // a checker reading the first value and a user reading the last would disagree
    byte[] twice =
        ("{\"key_set_id\":\"ks-checked\",\"receive_public_key\":\"AA\",\"signing_public_key\":\"AA\","
                + "\"kms_key_id\":\"arn:aws:kms:eu-west-1:111122223333:key/a\",\"key_set_id\":\"ks-used\"}")
            .getBytes(StandardCharsets.UTF_8);
    assertThatThrownBy(() -> Json.decode(twice, 4096, EnclaveApi.KeyBundle.class))
        .isInstanceOfSatisfying(
            MalformedInputException.class, e -> assertThat(e.code()).isEqualTo("malformed_request"))
        .hasMessageContaining("key_set_id");
    // nested objects too
    byte[] nested = "{\"a\":{\"b\":1,\"b\":2}}".getBytes(StandardCharsets.UTF_8);
    assertThatThrownBy(() -> Json.mapper().readTree(nested))
        .hasMessageContaining("Duplicate field 'b'");
  }

  @Test
  void aPolicyNamingASecretIdTwiceIsRefused() throws Exception {
    String good =
        new String(
            new SendPolicy(
                    1,
                    "reel-1",
                    "Studio",
                    java.time.Instant.parse("2026-01-01T00:00:00Z"),
                    java.time.Instant.parse("2026-02-01T00:00:00Z"),
                    new SendPolicy.RecipientSelector(
                        java.util.List.of("ab".repeat(32)),
                        java.util.List.of(),
                        java.util.Map.of()),
                    false,
                    1,
                    null)
                .toJson(),
            StandardCharsets.UTF_8);
    assertThat(SendPolicy.parse(good.getBytes(StandardCharsets.UTF_8)).secretId())
        .isEqualTo("reel-1");
    byte[] twice =
        good.replaceFirst("\\{", "{\"secret_id\":\"reel-2\",").getBytes(StandardCharsets.UTF_8);
    assertThatThrownBy(() -> SendPolicy.parse(twice))
        .isInstanceOf(MalformedInputException.class)
        .hasMessageContaining("secret_id");
  }
}
