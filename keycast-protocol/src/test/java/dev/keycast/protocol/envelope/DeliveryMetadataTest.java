package dev.keycast.protocol.envelope;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keycast.protocol.MalformedInputException;
import java.time.Instant;
import java.util.Arrays;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class DeliveryMetadataTest {
  static final String FP = "ab".repeat(32);
  static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");
  static final Instant T1 = Instant.parse("2026-12-31T23:59:59Z");

  @Test
  void encodesCanonicallyAndRoundTrips() throws Exception {
    DeliveryMetadata m = DeliveryMetadata.of("film-42", "Studio \u03a9", T0, T1, FP);
    byte[] e = m.encode();
    // version, len, "film-42", u16 len, UTF-8 label (Ω is 2 bytes), 2 x i64, 32-byte fingerprint
    assertThat(e).hasSize(1 + 1 + 7 + 2 + 9 + 8 + 8 + 32);
    assertThat(e[0]).isEqualTo((byte) 1);
    assertThat(e[1]).isEqualTo((byte) 7);
    assertThat(DeliveryMetadata.decode(e)).isEqualTo(m);
    DeliveryMetadata max = DeliveryMetadata.of("x".repeat(128), "\u00e9".repeat(128), T0, T0, FP);
    assertThat(max.encode()).hasSize(DeliveryMetadata.MAX_ENCODED_LENGTH - 32);
    assertThat(DeliveryMetadata.decode(max.encode())).isEqualTo(max);
    // version 2 (issue 23) appends the sender's 32-byte Ed25519 key
    byte[] sender = new byte[32];
    java.util.Arrays.fill(sender, (byte) 0x5a);
    DeliveryMetadata maxV2 = max.withSender(sender);
    assertThat(maxV2.encode()).hasSize(DeliveryMetadata.MAX_ENCODED_LENGTH);
    assertThat(maxV2.encode()[0]).isEqualTo((byte) 2);
    assertThat(DeliveryMetadata.decode(maxV2.encode())).isEqualTo(maxV2);
    assertThat(DeliveryMetadata.decode(maxV2.encode()).senderKeyBytes()).isEqualTo(sender);
    assertThat(maxV2.withRecipient(FP).senderKey()).isEqualTo(maxV2.senderKey());
  }

  static Stream<Arguments> invalid() {
    return Stream.of(
        Arguments.of("empty secretId", (Runnable) () -> DeliveryMetadata.of("", "", T0, T1, FP)),
        Arguments.of(
            "129-char secretId",
            (Runnable) () -> DeliveryMetadata.of("x".repeat(129), "", T0, T1, FP)),
        Arguments.of(
            "space in secretId", (Runnable) () -> DeliveryMetadata.of("a b", "", T0, T1, FP)),
        Arguments.of(
            "257-byte label",
            (Runnable) () -> DeliveryMetadata.of("a", "\u00e9".repeat(129), T0, T1, FP)),
        Arguments.of(
            "notBefore after notAfter", (Runnable) () -> DeliveryMetadata.of("a", "", T1, T0, FP)),
        Arguments.of(
            "sub-second", (Runnable) () -> DeliveryMetadata.of("a", "", T0.plusMillis(1), T1, FP)),
        Arguments.of(
            "uppercase fingerprint",
            (Runnable) () -> DeliveryMetadata.of("a", "", T0, T1, FP.toUpperCase())),
        Arguments.of(
            "short fingerprint",
            (Runnable) () -> DeliveryMetadata.of("a", "", T0, T1, FP.substring(2))),
        Arguments.of("version 2", (Runnable) () -> new DeliveryMetadata(2, "a", "", T0, T1, FP)));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("invalid")
  void rejectsInvalidFields(String name, Runnable r) {
    assertThatThrownBy(r::run).isInstanceOf(IllegalArgumentException.class);
  }

  static Stream<Arguments> badEncodings() {
    byte[] good = DeliveryMetadata.of("film-42", "label", T0, T1, FP).encode();
    byte[] v3 = good.clone();
    v3[0] = 3;
    byte[] v2NoSender =
        good.clone(); // version 2 needs the 32-byte sender key after the fingerprint
    v2NoSender[0] = 2;
    byte[] zeroId = good.clone();
    zeroId[1] = 0;
    byte[] badUtf8 = good.clone();
    badUtf8[1 + 1 + 7 + 2] = (byte) 0xff;
    byte[] swapped = DeliveryMetadata.of("film-42", "label", T0, T1, FP).encode();
    // notBefore := notAfter + 1
    java.nio.ByteBuffer.wrap(swapped).putLong(1 + 1 + 7 + 2 + 5, T1.getEpochSecond() + 1);
    return Stream.of(
        Arguments.of("empty", new byte[0], "truncated"),
        Arguments.of("version 3", v3, "unsupported_version"),
        Arguments.of("version 2 without its sender key", v2NoSender, "truncated"),
        Arguments.of("cut by one", Arrays.copyOf(good, good.length - 1), "truncated"),
        Arguments.of("trailing byte", Arrays.copyOf(good, good.length + 1), "malformed"),
        Arguments.of("zero-length secretId", zeroId, "malformed"),
        Arguments.of("invalid UTF-8 label", badUtf8, "malformed"),
        Arguments.of("notBefore after notAfter", swapped, "malformed"),
        Arguments.of("oversize", new byte[DeliveryMetadata.MAX_ENCODED_LENGTH + 1], "oversize"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("badEncodings")
  void decodeRejectsWithTypedError(String name, byte[] input, String code) {
    assertThatThrownBy(() -> DeliveryMetadata.decode(input))
        .isInstanceOfSatisfying(
            MalformedInputException.class, e -> assertThat(e.code()).isEqualTo(code));
  }
}
