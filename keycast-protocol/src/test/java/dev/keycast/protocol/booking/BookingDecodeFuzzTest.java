package dev.keycast.protocol.booking;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.keycast.protocol.MalformedInputException;
import dev.keycast.protocol.fuzz.FuzzContract;
import dev.keycast.protocol.fuzz.FuzzContract.Outcome;

/**
 * Coverage-guided fuzz targets for the two documents of a booking (wire-format.md section 11):
 * {@link StudioRules#decode}, which the enclave reads from the host's store at every booking, and
 * {@link KdmBooking#decode}, which any admitted sender writes.
 *
 * <p>Contract: only {@link MalformedInputException} escapes; allocation stays linear in the input;
 * whatever decodes keeps its documented bounds and decodes again, from its own encoding, to an
 * equal value.
 */
class BookingDecodeFuzzTest {
  private static final long ALLOCATION_PER_BYTE = 256;

  @FuzzTest
  void rules(byte[] input) throws Exception {
    Outcome<StudioRules> read =
        FuzzContract.typedOnly(
            input,
            ALLOCATION_PER_BYTE,
            () -> StudioRules.decode(input),
            MalformedInputException.class);
    if (!read.ok()) {
      return;
    }
    StudioRules r = read.value();
    assertThat(r.maxScreens()).isBetween(1, StudioRules.MAX_SCREENS);
    assertThat(r.maxWindowSeconds()).isBetween(1L, StudioRules.MAX_WINDOW_SECONDS);
    assertThat(r.latestEnd().getNano()).isZero();
    assertThat(StudioRules.decode(r.encode())).isEqualTo(r);
  }

  @FuzzTest
  void booking(byte[] input) throws Exception {
    Outcome<KdmBooking> read =
        FuzzContract.typedOnly(
            input,
            ALLOCATION_PER_BYTE,
            () -> KdmBooking.decode(input),
            MalformedInputException.class);
    if (!read.ok()) {
      return;
    }
    KdmBooking b = read.value();
    assertThat(b.screens())
        .isNotEmpty()
        .hasSizeLessThanOrEqualTo(KdmBooking.MAX_SCREENS)
        .doesNotHaveDuplicates();
    assertThat(b.notBefore()).isBefore(b.notAfter());
    assertThat(KdmBooking.decode(b.encode())).isEqualTo(b);
  }
}
