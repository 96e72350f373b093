package dev.keycast.protocol.cinema;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.keycast.protocol.fuzz.FuzzContract;
import dev.keycast.protocol.fuzz.FuzzContract.Outcome;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Set;

/**
 * Coverage-guided fuzz target for the DKDM ingest parse as a whole, {@link DkdmIngest#ingest(byte[],
 * List, List, java.time.Instant)}: the DKDM bytes a sender posts through the host (wire-format.md
 * 10), verified under the studio root, matched to one of the enclave's recipient certificates and
 * decrypted with that recipient's key. Seeds: the golden KDM of {@link KdmFixtures} (addressed to
 * the test screen, here standing for a legacy DKDM certificate) and the reader's corpus.
 *
 * <p>Contract: only {@link CinemaException} escapes, with one of the six {@code dkdm_*} codes the
 * class documents (the reader's own codes never leak); allocation stays linear in the input; the
 * key of a recipient the DKDM does not name is never opened (the decoy's key source fails the
 * target); whatever is ingested is the golden DKDM's content, re-checked against the fixture rather
 * than the reader: its CPL, message id, title and exactly the golden content keys.
 */
class DkdmIngestFuzzTest {
  private static final long ALLOCATION_PER_BYTE = 2048;
  private static final List<X509Certificate> ROOTS = List.of(KdmFixtures.signerRoot());
  private static final PrivateKey SCREEN_KEY = KdmFixtures.screenKey();
  private static final List<DkdmIngest.Recipient> RECIPIENTS =
      List.of(
          new DkdmIngest.Recipient(
              KdmFixtures.signerChain().get(0),
              () -> {
                throw new AssertionError("opened the key of a recipient the DKDM does not name");
              }),
          new DkdmIngest.Recipient(KdmFixtures.screenChain().get(0), () -> SCREEN_KEY));
  private static final Set<String> CODES =
      Set.of(
          "dkdm_malformed",
          "dkdm_signature_invalid",
          "dkdm_signer_untrusted",
          "dkdm_wrong_recipient",
          "dkdm_window_past",
          "dkdm_block_malformed");

  @FuzzTest
  void ingest(byte[] input) throws Exception {
    Outcome<DkdmIngest.Ingested> out =
        FuzzContract.typedOnly(
            input,
            ALLOCATION_PER_BYTE,
            () -> DkdmIngest.ingest(input, ROOTS, RECIPIENTS, KdmFixtures.NOW),
            CinemaException.class);
    if (!out.ok()) {
      assertThat(((CinemaException) out.error()).code()).isIn(CODES);
      return;
    }
    DkdmIngest.Ingested in = out.value();
    assertThat(in.verified().cplId()).isEqualTo(KdmFixtures.CPL_ID);
    assertThat(in.verified().messageId()).isEqualTo(KdmFixtures.MESSAGE_ID);
    ContentKeySet golden = KdmFixtures.keys();
    assertThat(in.contentKeys().cplId()).isEqualTo(golden.cplId());
    assertThat(in.contentKeys().contentTitle()).isEqualTo(golden.contentTitle());
    assertThat(in.contentKeys().keys()).hasSameSizeAs(golden.keys());
    for (int i = 0; i < golden.keys().size(); i++) {
      ContentKey a = in.contentKeys().keys().get(i);
      ContentKey b = golden.keys().get(i);
      assertThat(a.keyId()).isEqualTo(b.keyId());
      assertThat(a.type()).isEqualTo(b.type());
      assertThat(a.key()).isEqualTo(b.key());
    }
  }
}
