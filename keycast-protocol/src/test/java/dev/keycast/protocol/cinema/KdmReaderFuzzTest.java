package dev.keycast.protocol.cinema;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.keycast.protocol.fuzz.FuzzContract;
import dev.keycast.protocol.fuzz.FuzzContract.Outcome;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;

/**
 * Coverage-guided fuzz targets for {@link KdmReader}: the XML a host, a mastering house or a
 * distributor hands Keycast (KDMs to verify, and DKDMs to ingest as they arrive).
 *
 * <p>Contract: only {@link CinemaException} with a stable code escapes (no parser, DOM or XML
 * signature exception leaks through); allocation stays linear in the input (the reader caps the
 * input before parsing); whatever verifies under the test signer root carries the signed content
 * of the golden KDM, since nobody but the signer can make another (with the screen key, its
 * blocks also open to the golden CPL's keys).
 */
class KdmReaderFuzzTest {
  private static final long ALLOCATION_PER_BYTE = 2048;
  private static final X509Certificate ROOT = KdmFixtures.signerRoot();
  private static final PrivateKey SCREEN = KdmFixtures.screenKey();

  @FuzzTest
  void readWithoutScreenKey(byte[] input) {
    check(input, null);
  }

  @FuzzTest
  void readWithScreenKey(byte[] input) {
    check(input, SCREEN);
  }

  private static void check(byte[] input, PrivateKey screenKey) {
    Outcome<VerifiedKdm> read =
        FuzzContract.typedOnly(
            input,
            ALLOCATION_PER_BYTE,
            () -> KdmReader.read(input, ROOT, screenKey),
            CinemaException.class);
    if (!read.ok()) {
      if (read.error() instanceof CinemaException e) {
        assertThat(e.code()).matches(FuzzContract.ERROR_CODE);
      }
      return;
    }
    VerifiedKdm k = read.value();
    assertThat(k.cplId()).isEqualTo(KdmFixtures.CPL_ID);
    assertThat(k.messageId()).isEqualTo(KdmFixtures.MESSAGE_ID);
    assertThat(k.signerChain().get(k.signerChain().size() - 1)).isEqualTo(ROOT);
    if (screenKey != null) {
      assertThat(k.blocks()).hasSameSizeAs(k.keyIds());
      k.blocks().forEach(b -> assertThat(b.cplId()).isEqualTo(KdmFixtures.CPL_ID));
    }
  }
}
