package dev.keycast.protocol.upgrade;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keycast.protocol.MalformedInputException;
import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The image approval format and the quorum rule (kms-sealing.md section 7.1). */
class ImageApprovalTest {
  static final String ARN =
      "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
  static final ImageApproval.Statement S =
      new ImageApproval.Statement(
          "ks-" + "a".repeat(32),
          ARN,
          "1".repeat(96),
          Optional.empty(),
          Optional.of("8".repeat(96)),
          "0".repeat(96));

  @Test
  void theStatementHasOneCanonicalEncoding() throws Exception {
    String text = new String(S.encode(), StandardCharsets.US_ASCII);
    assertThat(text)
        .isEqualTo(
            "keycast-image-approval/1\nkey-set-id: ks-"
                + "a".repeat(32)
                + "\nkms-key-arn: "
                + ARN
                + "\npcr0: "
                + "1".repeat(96)
                + "\npcr3: -\npcr8: "
                + "8".repeat(96)
                + "\npredecessor-pcr0: "
                + "0".repeat(96)
                + "\n");
    assertThat(ImageApproval.Statement.parse(text)).isEqualTo(S);
    assertThat(S.region()).isEqualTo("eu-west-1");
    for (String bad :
        List.of(
            text.replace("\n", "\r\n"),
            text.toUpperCase(),
            text + "extra: 1\n",
            text.substring(0, text.length() - 1),
            text.replace("pcr3: -", "pcr3: "),
            " " + text,
            text.replace("kms-key-arn: " + ARN, "kms-key-arn: alias/keycast"))) {
      assertThatThrownBy(() -> ImageApproval.Statement.parse(bad))
          .isInstanceOf(MalformedInputException.class);
    }
  }

  @Test
  void aQuorumCountsDistinctApproversOfTheSetOverTheExactStatement() throws Exception {
    KeyPairGenerator g = KeyPairGenerator.getInstance("Ed25519");
    KeyPair a = g.generateKeyPair();
    KeyPair b = g.generateKeyPair();
    KeyPair outsider = g.generateKeyPair();
    ImageApprovers two =
        new ImageApprovers(
            List.of(
                ImageApprovers.rawPublicKey(a.getPublic()),
                ImageApprovers.rawPublicKey(b.getPublic())),
            2);
    ImageApproval.Signature sa = ImageApprovers.sign(S, a.getPrivate(), a.getPublic());
    ImageApproval.Signature sb = ImageApprovers.sign(S, b.getPrivate(), b.getPublic());
    ImageApproval.Signature so =
        ImageApprovers.sign(S, outsider.getPrivate(), outsider.getPublic());

    assertThat(two.verify(new ImageApproval(S, List.of(sa, sb)))).isEqualTo(S);
    assertThatThrownBy(() -> two.verify(new ImageApproval(S, List.of(sa, sa))))
        .isInstanceOf(ImageApprovalException.class);
    assertThatThrownBy(() -> two.verify(new ImageApproval(S, List.of(sa, so))))
        .isInstanceOf(ImageApprovalException.class);
    ImageApproval.Statement other =
        new ImageApproval.Statement(
            S.keySetId(), S.kmsKeyArn(), "2".repeat(96), S.pcr3(), S.pcr8(), S.predecessorPcr0());
    assertThatThrownBy(() -> two.verify(new ImageApproval(other, List.of(sa, sb))))
        .isInstanceOf(ImageApprovalException.class);
    assertThatThrownBy(() -> ImageApprovers.NONE.verify(new ImageApproval(S, List.of(sa, sb))))
        .isInstanceOf(ImageApprovalException.class);

    // round trip through the JSON document
    ImageApproval parsed = ImageApproval.parse(new ImageApproval(S, List.of(sb, sa)).encode());
    assertThat(two.verify(parsed)).isEqualTo(S);
  }

  @Test
  void approverSetsAndDocumentsAreBounded() throws Exception {
    assertThatThrownBy(() -> new ImageApprovers(List.of(new byte[32]), 1))
        .isInstanceOf(IllegalArgumentException.class);
    KeyPair a = KeyPairGenerator.getInstance("Ed25519").generateKeyPair();
    byte[] ka = ImageApprovers.rawPublicKey(a.getPublic());
    assertThatThrownBy(() -> new ImageApprovers(List.of(ka), 2))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> new ImageApprovers(List.of(ka, ka), 1))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> ImageApproval.parse(new byte[ImageApproval.MAX_ENCODED + 1]))
        .isInstanceOf(MalformedInputException.class);
    assertThatThrownBy(
            () ->
                ImageApproval.parse(
                    "{\"statement\":\"x\",\"signatures\":[]}".getBytes(StandardCharsets.UTF_8)))
        .isInstanceOf(MalformedInputException.class);
  }
}
