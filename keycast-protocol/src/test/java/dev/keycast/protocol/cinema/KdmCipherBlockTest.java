package dev.keycast.protocol.cinema;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.HexFormat;
import java.util.UUID;
import org.junit.jupiter.api.Test;

class KdmCipherBlockTest {
  static final HexFormat HEX = HexFormat.of();

  /** The exact ST 430-1 layout, byte for byte, written out by hand. */
  @Test
  void encodesTheSmpteLayout() throws Exception {
    KdmCipherBlock b =
        new KdmCipherBlock(
            HEX.parseHex("00112233445566778899aabbccddeeff00112233"),
            UUID.fromString("3a5f1d2c-8b4e-4c6a-9f0e-1b2c3d4e5f60"),
            KeyType.MDAK,
            UUID.fromString("11111111-2222-4333-8444-555555555555"),
            "2026-12-10T10:00:00+01:00",
            "2026-12-24T10:00:00+01:00",
            HEX.parseHex("000102030405060708090a0b0c0d0e0f"));
    String expected =
        "f1dc124460169a0e85bc300642f866ab"
            + "00112233445566778899aabbccddeeff00112233"
            + "3a5f1d2c8b4e4c6a9f0e1b2c3d4e5f60"
            + HEX.formatHex("MDAK".getBytes())
            + "11111111222243338444555555555555"
            + HEX.formatHex("2026-12-10T10:00:00+01:00".getBytes())
            + HEX.formatHex("2026-12-24T10:00:00+01:00".getBytes())
            + "000102030405060708090a0b0c0d0e0f";
    assertThat(HEX.formatHex(b.encode())).isEqualTo(expected);
    assertThat(b.encode()).hasSize(138);
    assertThat(KdmCipherBlock.decode(b.encode())).isEqualTo(b);
  }

  @Test
  void refusesOtherLengthsAndStructureIds() {
    assertThatThrownBy(() -> KdmCipherBlock.decode(new byte[134]))
        .isInstanceOf(CinemaException.class);
    assertThatThrownBy(() -> KdmCipherBlock.decode(new byte[138]))
        .isInstanceOfSatisfying(
            CinemaException.class, e -> assertThat(e.code()).isEqualTo("kdm_cipher_block"));
  }

  /** "Z" would make the block 134 or 136 bytes and libdcp rejects it: UTC is written +00:00. */
  @Test
  void timestampsNeverUseZ() throws Exception {
    assertThat(KdmTimestamps.format(OffsetDateTime.of(2026, 12, 1, 0, 0, 0, 999, ZoneOffset.UTC)))
        .isEqualTo("2026-12-01T00:00:00+00:00");
    assertThat(
            KdmTimestamps.format(
                OffsetDateTime.of(2026, 12, 1, 0, 0, 0, 0, ZoneOffset.ofHoursMinutes(-3, -30))))
        .isEqualTo("2026-12-01T00:00:00-03:30");
    assertThatThrownBy(
            () ->
                KdmTimestamps.format(
                    OffsetDateTime.of(2026, 12, 1, 0, 0, 0, 0, ZoneOffset.ofTotalSeconds(3601))))
        .isInstanceOf(CinemaException.class);
    assertThatThrownBy(() -> KdmTimestamps.parse("2026-12-01T00:00:00Z"))
        .isInstanceOf(CinemaException.class);
    assertThat(KdmTimestamps.parse("2026-12-01T00:00:00+00:00").getOffset())
        .isEqualTo(ZoneOffset.UTC);
  }
}
