package dev.keycast.protocol.sender;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keycast.protocol.api.ErrorCode;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The signed host request (wire-format.md section 8.7): what binds a signature to one request. */
class SenderRequestSignatureTest {
  static final SecureRandom RANDOM = new SecureRandom();
  static final SenderSigningKey SENDER = SenderSigningKey.generate(RANDOM);
  static final Instant NOW = Instant.parse("2026-12-07T10:00:00Z");
  static final byte[] BODY = "{\"chain\":[]}".getBytes(StandardCharsets.UTF_8);

  static ErrorCode refusal(String auth, String method, String target, byte[] body, Instant at) {
    try {
      SenderRequestSignature.verify(auth, method, target, body, at, List.of(SENDER.publicKey()));
      return null;
    } catch (SenderRequestSignature.Refused e) {
      return e.code();
    }
  }

  @Test
  void aSignedRequestVerifiesAndNamesItsSender() throws Exception {
    String auth = SenderRequestSignature.authorization(SENDER, "POST", "/v1/screens", BODY, NOW);
    assertThat(auth)
        .matches("Keycast-Sender key=[A-Za-z0-9_-]{43}, ts=\\d+, sig=[A-Za-z0-9_-]{86}");
    assertThat(
            SenderRequestSignature.verify(
                auth,
                "POST",
                "/v1/screens",
                BODY,
                NOW.plusSeconds(299),
                List.of(SENDER.publicKey())))
        .isEqualTo(SENDER.publicKey());
    String get =
        SenderRequestSignature.authorization(SENDER, "GET", "/v1/screens?cinema=A%20B", null, NOW);
    assertThat(refusal(get, "GET", "/v1/screens?cinema=A%20B", new byte[0], NOW)).isNull();
  }

  @Test
  void theMessageIsDomainSeparatedAndBindsEveryPart() {
    byte[] m = SenderRequestSignature.message("GET", "/x", null, 7);
    assertThat(new String(m, 0, 25, StandardCharsets.US_ASCII))
        .isEqualTo("keycast/v1/sender-request");
    assertThat(m[25]).isZero();
    assertThat(m).hasSize(25 + 1 + 4 + 3 + 4 + 2 + 32 + 8);
  }

  @Test
  void bodyAlteredAfterSigningIsRefused() {
    String auth = SenderRequestSignature.authorization(SENDER, "POST", "/v1/screens", BODY, NOW);
    byte[] altered = BODY.clone();
    altered[2] ^= 1;
    assertThat(refusal(auth, "POST", "/v1/screens", altered, NOW))
        .isEqualTo(ErrorCode.SENDER_SIGNATURE_INVALID);
  }

  @Test
  void signatureMovedToAnotherTargetOrMethodIsRefused() {
    String auth =
        SenderRequestSignature.authorization(SENDER, "GET", "/v1/cinemas/A/kdms", null, NOW);
    assertThat(refusal(auth, "GET", "/v1/cinemas/B/kdms", null, NOW))
        .isEqualTo(ErrorCode.SENDER_SIGNATURE_INVALID);
    assertThat(refusal(auth, "GET", "/v1/cinemas/A/kdms?x=1", null, NOW))
        .isEqualTo(ErrorCode.SENDER_SIGNATURE_INVALID);
    assertThat(refusal(auth, "POST", "/v1/cinemas/A/kdms", null, NOW))
        .isEqualTo(ErrorCode.SENDER_SIGNATURE_INVALID);
  }

  @Test
  void requestReplayedOutsideTheWindowIsRefused() {
    String auth = SenderRequestSignature.authorization(SENDER, "POST", "/v1/screens", BODY, NOW);
    assertThat(refusal(auth, "POST", "/v1/screens", BODY, NOW.plusSeconds(301)))
        .isEqualTo(ErrorCode.SENDER_TIMESTAMP_OUT_OF_WINDOW);
    assertThat(refusal(auth, "POST", "/v1/screens", BODY, NOW.minusSeconds(301)))
        .isEqualTo(ErrorCode.SENDER_TIMESTAMP_OUT_OF_WINDOW);
  }

  @Test
  void timestampChangedToEnterTheWindowIsRefused() {
    String old =
        SenderRequestSignature.authorization(
            SENDER, "POST", "/v1/screens", BODY, NOW.minusSeconds(3600));
    String moved =
        old.replace("ts=" + NOW.minusSeconds(3600).getEpochSecond(), "ts=" + NOW.getEpochSecond());
    assertThat(refusal(moved, "POST", "/v1/screens", BODY, NOW))
        .isEqualTo(ErrorCode.SENDER_SIGNATURE_INVALID);
  }

  @Test
  void unknownSenderIsRefusedAndMissingOrMalformedHeadersTooWithTheirCodes() {
    SenderSigningKey stranger = SenderSigningKey.generate(RANDOM);
    assertThat(
            refusal(
                SenderRequestSignature.authorization(stranger, "GET", "/v1/screens", null, NOW),
                "GET",
                "/v1/screens",
                null,
                NOW))
        .isEqualTo(ErrorCode.SENDER_UNKNOWN);
    assertThat(refusal(null, "GET", "/v1/screens", null, NOW)).isEqualTo(ErrorCode.SENDER_REQUIRED);
    assertThat(refusal("Bearer abc", "GET", "/v1/screens", null, NOW))
        .isEqualTo(ErrorCode.SENDER_REQUIRED);
    assertThat(refusal("Keycast-Sender key=x, ts=1, sig=y", "GET", "/v1/screens", null, NOW))
        .isEqualTo(ErrorCode.SENDER_SIGNATURE_INVALID);
    assertThat(refusal("Keycast-Sender " + "k".repeat(10_000), "GET", "/v1/screens", null, NOW))
        .isEqualTo(ErrorCode.SENDER_SIGNATURE_INVALID);
    assertThatThrownBy(
            () ->
                SenderRequestSignature.verify(
                    SenderRequestSignature.authorization(SENDER, "GET", "/v1/screens", null, NOW),
                    "GET",
                    "/v1/screens",
                    null,
                    NOW,
                    List.of()))
        .isInstanceOf(SenderRequestSignature.Refused.class);
  }
}
