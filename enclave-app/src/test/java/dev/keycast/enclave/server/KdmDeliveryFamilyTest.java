package dev.keycast.enclave.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keycast.protocol.api.ErrorCode;
import dev.keycast.protocol.cinema.ContentKey;
import dev.keycast.protocol.cinema.ContentKeySetCodec;
import dev.keycast.protocol.cinema.DcCertificateIssuer;
import dev.keycast.protocol.cinema.KdmSigner;
import dev.keycast.protocol.policy.SendPolicy;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/** The KDM family's per-send state: the decoded keys' life, the refusals before any candidate. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class KdmDeliveryFamilyTest {
  static final Instant NOW = Instant.now().truncatedTo(java.time.temporal.ChronoUnit.SECONDS);
  KdmSigner signer;

  @BeforeAll
  void signer() throws Exception {
    DcCertificateIssuer.IssuedChain c =
        DcCertificateIssuer.issue(
            new DcCertificateIssuer.ChainNames(
                "KEYCAST.TEST",
                "KDM.KEYCAST.TEST",
                "ROOT.KEYCAST.TEST",
                "CA.KEYCAST.TEST",
                "CS",
                "KDM-SIGNER.KEYCAST.TEST"),
            NOW.minus(Duration.ofDays(1)),
            1,
            new SecureRandom());
    signer = KdmSigner.of(c.leaf().getPrivate(), c.chain(), NOW);
  }

  static SendPolicy policy(Instant nb, Instant na) {
    return new SendPolicy(
        1,
        "film:kdm",
        "Studio",
        nb,
        na,
        new SendPolicy.RecipientSelector(List.of("a".repeat(64)), null, null),
        false,
        10,
        null,
        new SendPolicy.KdmRules(null, null, null, null));
  }

  /** The decoded content keys do not outlive the fan-out: closing the send zeroizes them. */
  @Test
  void decodedContentKeysAreZeroizedWhenTheSendCloses() throws Exception {
    KdmDeliveryFamily family = new KdmDeliveryFamily(() -> signer, new SecureRandom());
    byte[] secret = ContentKeySetCodec.encode(KdmSendTest.contentKeys(3));
    KdmDeliveryFamily.Send send =
        family.start(policy(NOW, NOW.plus(Duration.ofDays(7))), secret, NOW);
    List<ContentKey> keys = send.keys().keys();
    assertThat(keys).allSatisfy(k -> assertThat(k.key()).isNotEqualTo(new byte[16]));
    send.close();
    assertThat(keys).allSatisfy(k -> assertThat(k.key()).isEqualTo(new byte[16]));
  }

  /** KDMs refuse an empty key window; the send is refused before any candidate. */
  @Test
  void anEmptyKeyWindowIsAnInvalidPolicy() throws Exception {
    KdmDeliveryFamily family = new KdmDeliveryFamily(() -> signer, new SecureRandom());
    assertThatThrownBy(
            () ->
                family.start(
                    policy(NOW, NOW), ContentKeySetCodec.encode(KdmSendTest.contentKeys(1)), NOW))
        .isInstanceOfSatisfying(
            EnclaveApiException.class,
            e -> assertThat(e.code()).isEqualTo(ErrorCode.INVALID_POLICY));
  }

  /** The production wiring until the key set carries a signer: every KDM send is refused. */
  @Test
  void theUnavailableSourceRefusesWithKdmSignerUnavailable() {
    KdmDeliveryFamily family =
        new KdmDeliveryFamily(KdmSignerSource.unavailable(), new SecureRandom());
    assertThatThrownBy(
            () ->
                family.start(
                    policy(NOW, NOW.plus(Duration.ofDays(1))),
                    ContentKeySetCodec.encode(KdmSendTest.contentKeys(1)),
                    NOW))
        .isInstanceOfSatisfying(
            EnclaveApiException.class,
            e -> assertThat(e.code()).isEqualTo(ErrorCode.KDM_SIGNER_UNAVAILABLE));
  }

  /** The offsets a cinema may have; anything else is not an offset. */
  @Test
  void utcOffsetsAreSignedHoursAndMinutes() {
    assertThat(KdmDeliveryFamily.parseOffset("+01:00")).hasToString("+01:00");
    assertThat(KdmDeliveryFamily.parseOffset("-09:30")).hasToString("-09:30");
    assertThat(KdmDeliveryFamily.parseOffset("+00:00")).hasToString("Z");
    for (String bad :
        List.of(
            "Z", "", "+1:00", "+01", "+0100", "+01:60", "+18:01", "+19:00", " +01:00", "+01:00 ")) {
      assertThat(KdmDeliveryFamily.parseOffset(bad)).as(bad).isNull();
    }
  }
}
