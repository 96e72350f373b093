package dev.keycast.protocol.envelope;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.time.Instant;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The encoded delivery payload holds the secret in clear; the enclave builds one per RSA delivery,
 * so it must be zeroized once encrypted rather than left in the heap.
 */
class CmsPayloadWipeTest {
  @ParameterizedTest
  @ValueSource(strings = {"gcm", "cbc"})
  void thePlaintextPayloadIsZeroizedAfterSealing(String mode) throws Exception {
    CmsDeliveryFormat format =
        mode.equals("gcm") ? CmsDeliveryFormat.AES_256_GCM : CmsDeliveryFormat.AES_256_CBC;
    RsaRecipientKey key = TestKeys.rsaRecipient(2048);
    byte[] secret = "the secret".getBytes(StandardCharsets.UTF_8);
    DeliveryMetadata md =
        DeliveryMetadata.of(
            "secret-1",
            "sender",
            Instant.parse("2026-01-01T00:00:00Z"),
            Instant.parse("2027-01-01T00:00:00Z"),
            key.fingerprint());
    byte[] payload = DeliveryPayload.encode(md, secret, format.payloadIntegrity());

    byte[] envelope = format.sealPayload(key, payload, new SecureRandom());

    assertThat(payload).containsOnly((byte) 0);
    OpenedDelivery opened = format.open(TestKeys.rsaPrivate(2048), envelope);
    assertThat(opened.secret()).isEqualTo(secret);
  }
}
