package dev.keycast.protocol.policy;

import static dev.keycast.protocol.policy.AnchorChainValidatorTest.NOW;
import static dev.keycast.protocol.policy.AnchorChainValidatorTest.check;
import static dev.keycast.protocol.policy.AnchorChainValidatorTest.leaf;
import static dev.keycast.protocol.policy.AnchorChainValidatorTest.parsed;
import static org.assertj.core.api.Assertions.assertThat;

import dev.keycast.protocol.crypto.CryptoBackend;
import dev.keycast.protocol.policy.AnchorChainValidatorTest.Cert;
import java.security.cert.X509Certificate;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * More attacks on the anchor-chain walk, beside {@link AnchorChainValidatorTest} (which is at the
 * size limit): each found unpinned by the mutation run over {@code policy} (testing.md 2.3).
 */
class AnchorChainAttacksTest {
  @BeforeAll
  static void keys() throws Exception {
    AnchorChainValidatorTest.keys();
  }

  /**
   * An intermediate that names the studio root as its issuer but is signed by the attacker's key,
   * above a leaf the attacker's intermediate key signed genuinely: only the intermediate's
   * signature is forged. Refused on the first sight of that intermediate (nothing is remembered
   * yet) and again after a genuine intermediate of the same name was remembered.
   */
  @Test
  void forgedIntermediateUnderTheStudioRootIsRefused() throws Exception {
    X509Certificate forgedIntermediate =
        new Cert("CN=Intermediate,O=Maker", AnchorChainValidatorTest.intKeys.getPublic())
            .ca(-1)
            .build("CN=Root,O=Maker", AnchorChainValidatorTest.otherKeys.getPrivate());
    X509Certificate leaf =
        leaf().build("CN=Intermediate,O=Maker", AnchorChainValidatorTest.intKeys.getPrivate());
    check(List.of(leaf, forgedIntermediate), false, true);
    for (CryptoBackend backend : AnchorChainValidatorTest.backends()) {
      AnchorChainValidator v =
          new AnchorChainValidator(parsed(List.of(AnchorChainValidatorTest.root)), backend);
      assertThat(v.isValid(parsed(List.of(leaf, forgedIntermediate)), NOW))
          .as("first sight, " + backend.name())
          .isFalse();
      assertThat(v.isValid(parsed(List.of(leaf, AnchorChainValidatorTest.intermediate())), NOW))
          .as("the genuine intermediate, " + backend.name())
          .isTrue();
      assertThat(v.isValid(parsed(List.of(leaf, forgedIntermediate)), NOW))
          .as("after the genuine one was remembered, " + backend.name())
          .isFalse();
    }
  }

  /** A self-signed certificate alone is no chain to the anchor unless it is the anchor's leaf. */
  @Test
  void aLoneSelfSignedCertificateIsNotAChainToTheAnchor() throws Exception {
    X509Certificate selfSigned =
        new Cert("CN=Projector,O=Cinema", AnchorChainValidatorTest.leafKeys.getPublic())
            .leafUsage()
            .build("CN=Projector,O=Cinema", AnchorChainValidatorTest.leafKeys.getPrivate());
    check(List.of(selfSigned), false, true);
  }
}
