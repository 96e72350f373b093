package dev.keycast.enclave.keyset;

import static dev.keycast.enclave.keyset.KmsWorld.ADMIN;
import static dev.keycast.enclave.keyset.KmsWorld.PARENT;
import static dev.keycast.enclave.keyset.KmsWorld.REGION;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keycast.mock.nitro.MockAttester;
import dev.keycast.mock.nitro.MockMeasurements;
import dev.keycast.protocol.api.ErrorCode;
import dev.keycast.protocol.keyset.KeyBundle;
import dev.keycast.protocol.keyset.SealedKeySet;
import dev.keycast.protocol.upgrade.ImageApproval;
import dev.keycast.protocol.upgrade.ImageApprovers;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.SecureRandom;
import java.time.Clock;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.services.kms.KmsClient;

/**
 * The upgrade path of a locked KMS key (kms-sealing.md section 7), end to end through the mock KMS
 * over TLS: the old image inits under its locked key; approvers sign an image approval; the old
 * enclave re-wraps its key set under a new locked key that admits only the successor; a process
 * with the successor's measurements unseals it with the same identity. Every attack test names
 * the attack; each fails without its defence in {@link KeySetUpgrade} / {@link ImageApprovers}.
 */
class KeySetUpgradeTest {
  @TempDir Path tmp;
  KmsWorld world;
  MockAttester successor;
  MockAttester hostImage;
  String oldPcr0;
  String newPcr0;
  String hostPcr0;
  KeyPair approver;
  KeyPair otherApprover;
  KmsKeySetService old;
  byte[] oldSealed;
  KeyBundle oldBundle;
  String newKeyArn;

  @BeforeEach
  void setUp() throws Exception {
    world = new KmsWorld(tmp.resolve("world"));
    successor = image("the successor image");
    hostImage = image("an image the host built");
    oldPcr0 = hex(world.attester.measurements().pcr0());
    newPcr0 = hex(successor.measurements().pcr0());
    hostPcr0 = hex(hostImage.measurements().pcr0());
    KeyPairGenerator g = KeyPairGenerator.getInstance("Ed25519");
    approver = g.generateKeyPair();
    otherApprover = g.generateKeyPair();
    old = world.service().withImageApprovers(new ImageApprovers(List.of(raw(approver)), 1));
    KeySetService.Initialized init = old.init(world.keyArn, REGION, PARENT);
    oldSealed = init.sealedKeySet();
    oldBundle = init.bundle();
    newKeyArn = world.createKey(KmsWorld.keyPolicy(newPcr0, "--predecessor-pcr0", oldPcr0));
  }

  @AfterEach
  void tearDown() {
    world.close();
  }

  @Test
  void theSuccessorImageUnsealsTheRewrappedKeySetWithTheSameIdentity() throws Exception {
    KeySetService.Initialized rewrapped =
        old.rewrap(approval(statement(newKeyArn, newPcr0), approver), PARENT);

    SealedKeySet header = SealedKeySet.parse(rewrapped.sealedKeySet());
    assertThat(header.kmsKeyId()).isEqualTo(newKeyArn);
    assertThat(header.keySetId()).isEqualTo(oldBundle.keySetId());
    assertThat(rewrapped.bundle().kmsKeyLocked()).isTrue();

    KmsKeySetService next = KmsKeySetService.create(successor, new SecureRandom(), world.connector);
    KeyBundle nextBundle = next.unseal(rewrapped.sealedKeySet(), REGION, PARENT);
    assertThat(nextBundle.keySetId()).isEqualTo(oldBundle.keySetId());
    assertThat(nextBundle.receivePublicKey()).isEqualTo(oldBundle.receivePublicKey());
    assertThat(nextBundle.signingPublicKey()).isEqualTo(oldBundle.signingPublicKey());
    assertThat(nextBundle.kmsKeyId()).isEqualTo(newKeyArn);
    assertThat(nextBundle.kmsKeyLocked()).isTrue();
    assertThat(next.current().orElseThrow().storageKey())
        .isEqualTo(old.current().orElseThrow().storageKey());
    assertThat(next.kmsKeyVerdict().orElseThrow().admittedImages())
        .containsExactlyInAnyOrder(newPcr0, oldPcr0);

    // the old enclave keeps serving under its own key, and the old sealed key set still opens there
    assertThat(old.currentBundle().orElseThrow().kmsKeyId()).isEqualTo(world.keyArn);
    assertThat(world.service().unseal(oldSealed, REGION, PARENT).keySetId())
        .isEqualTo(oldBundle.keySetId());
  }

  @Test
  void theOldImageCannotDecryptUnderTheNewKey() throws Exception {
    byte[] rewrapped =
        old.rewrap(approval(statement(newKeyArn, newPcr0), approver), PARENT).sealedKeySet();
    KmsKeySetService oldAgain = world.service();
    assertThatThrownBy(() -> oldAgain.unseal(rewrapped, REGION, PARENT))
        .isInstanceOfSatisfying(
            KeySetException.class,
            e -> assertThat(e.code()).isEqualTo(ErrorCode.KMS_ACCESS_DENIED));
    KmsKeySetService hosts =
        KmsKeySetService.create(hostImage, new SecureRandom(), world.connector);
    assertThatThrownBy(() -> hosts.unseal(rewrapped, REGION, PARENT))
        .isInstanceOfSatisfying(
            KeySetException.class,
            e -> assertThat(e.code()).isEqualTo(ErrorCode.KMS_ACCESS_DENIED));
  }

  @Test
  void anUnsignedApprovalFromTheHostIsRefused() throws Exception {
    String hostKey = world.createKey(KmsWorld.keyPolicy(hostPcr0, "--predecessor-pcr0", oldPcr0));
    refused(
        new ImageApproval(statement(hostKey, hostPcr0), List.of()),
        ErrorCode.IMAGE_APPROVAL_REFUSED);
  }

  @Test
  void anApprovalSignedByAKeyThatIsNotAnImageApproverIsRefused() throws Exception {
    String hostKey = world.createKey(KmsWorld.keyPolicy(hostPcr0, "--predecessor-pcr0", oldPcr0));
    refused(
        approval(statement(hostKey, hostPcr0), otherApprover), ErrorCode.IMAGE_APPROVAL_REFUSED);
  }

  @Test
  void aGenuineApprovalWhoseStatementTheHostRewroteForItsOwnImageAndKeyIsRefused()
      throws Exception {
    String hostKey = world.createKey(KmsWorld.keyPolicy(hostPcr0, "--predecessor-pcr0", oldPcr0));
    ImageApproval genuine = approval(statement(newKeyArn, newPcr0), approver);
    ImageApproval rewritten = new ImageApproval(statement(hostKey, hostPcr0), genuine.signatures());
    refused(rewritten, ErrorCode.IMAGE_APPROVAL_REFUSED);
  }

  @Test
  void anApprovalMadeForAnotherKeySetIsRefused() throws Exception {
    String otherKeySet = dev.keycast.protocol.keyset.KeySet.generate(new SecureRandom()).id();
    ImageApproval.Statement s =
        new ImageApproval.Statement(
            otherKeySet, newKeyArn, newPcr0, Optional.empty(), Optional.empty(), oldPcr0);
    assertThat(otherKeySet).isNotEqualTo(oldBundle.keySetId());
    refused(approval(s, approver), ErrorCode.IMAGE_APPROVAL_REFUSED);
  }

  @Test
  void aHostSubstitutedUnlockedKeyIsRefusedEvenWithAValidApproval() throws Exception {
    // The same admissions as the approved key, but the account may PutKeyPolicy: it could admit
    // anything later (and would, after the re-wrap). The approver signed the ARN the host handed
    // over.
    String locked = KmsWorld.keyPolicy(newPcr0, "--predecessor-pcr0", oldPcr0);
    String unlocked =
        locked
            .replace("\"kms:RevokeGrant\"", "\"kms:RevokeGrant\", \"kms:PutKeyPolicy\"")
            .replace("\"kms:CreateGrant\", \"kms:PutKeyPolicy\", ", "\"kms:CreateGrant\", ");
    assertThat(unlocked).isNotEqualTo(locked);
    String hostKey = world.createKey(unlocked);
    refused(approval(statement(hostKey, newPcr0), approver), ErrorCode.SUCCESSOR_KEY_REFUSED);
    // the danger is real: the account can rewrite that key's policy at will
    try (KmsClient admin = world.connector.client(REGION, ADMIN)) {
      admin.putKeyPolicy(b -> b.keyId(hostKey).policyName("default").policy(unlocked));
    }
  }

  @Test
  void aNewKeyThatAlsoLetsTheHostsImageDecryptIsRefused() throws Exception {
    // locked, admits the approved image and its predecessor as approved, and also lets the host's
    // image Decrypt (an extra Allow, and the Decrypt Deny lists it): it would open the re-wrapped
    // set
    String locked = KmsWorld.keyPolicy(newPcr0, "--predecessor-pcr0", oldPcr0);
    String hostDecrypts =
        locked
            .replace(
                "\"Statement\": [",
                "\"Statement\": [\n    {\"Sid\": \"HostDecrypts\", \"Effect\": \"Allow\", \"Principal\": {\"AWS\": \""
                    + KmsWorld.ROLE_ARN
                    + "\"}, \"Action\": \"kms:Decrypt\", \"Resource\": \"*\", \"Condition\": {\"StringEqualsIgnoreCase\": "
                    + "{\"kms:RecipientAttestation:ImageSha384\": \""
                    + hostPcr0
                    + "\", \"kms:RecipientAttestation:PCR0\": \""
                    + hostPcr0
                    + "\"}}},")
            .replace(
                "{\"kms:RecipientAttestation:ImageSha384\": \"" + newPcr0 + "\"}",
                "{\"kms:RecipientAttestation:ImageSha384\": [\""
                    + newPcr0
                    + "\", \""
                    + hostPcr0
                    + "\"]}");
    assertThat(hostDecrypts)
        .contains("HostDecrypts")
        .contains("[\"" + newPcr0 + "\", \"" + hostPcr0 + "\"]");
    String both = world.createKey(hostDecrypts);
    refused(approval(statement(both, newPcr0), approver), ErrorCode.SUCCESSOR_KEY_REFUSED);
  }

  @Test
  void aNewKeyThatLetsAnotherImageGenerateDataKeysIsRefused() throws Exception {
    // the host's image as "predecessor": it could seal a key set of its own under the new key
    String hostSeals = world.createKey(KmsWorld.keyPolicy(newPcr0, "--predecessor-pcr0", hostPcr0));
    refused(approval(statement(hostSeals, newPcr0), approver), ErrorCode.SUCCESSOR_KEY_REFUSED);
  }

  @Test
  void anApprovalForOtherPcrsThanTheNewKeyAdmitsIsRefused() throws Exception {
    // approvers approved the successor; the host pairs that approval's image with a key for its own
    String hostKey = world.createKey(KmsWorld.keyPolicy(hostPcr0, "--predecessor-pcr0", oldPcr0));
    refused(approval(statement(hostKey, newPcr0), approver), ErrorCode.SUCCESSOR_KEY_REFUSED);
  }

  @Test
  void anApprovalPinningPcr8RefusesAKeyThatDoesNotPinIt() throws Exception {
    String pcr8 = "8".repeat(96);
    ImageApproval.Statement s =
        new ImageApproval.Statement(
            oldBundle.keySetId(), newKeyArn, newPcr0, Optional.empty(), Optional.of(pcr8), oldPcr0);
    refused(approval(s, approver), ErrorCode.SUCCESSOR_KEY_REFUSED);
  }

  @Test
  void aQuorumOfTwoIsNotMetByOneApproverSigningTwice() throws Exception {
    KmsKeySetService two =
        world
            .service()
            .withImageApprovers(new ImageApprovers(List.of(raw(approver), raw(otherApprover)), 2));
    two.unseal(oldSealed, REGION, PARENT);
    ImageApproval.Statement s = statement(newKeyArn, newPcr0);
    ImageApproval twice = approval(s, approver, approver);
    assertThatThrownBy(() -> two.rewrap(twice, PARENT))
        .isInstanceOfSatisfying(
            KeySetException.class,
            e -> assertThat(e.code()).isEqualTo(ErrorCode.IMAGE_APPROVAL_REFUSED));
    assertThat(two.rewrap(approval(s, approver, otherApprover), PARENT).bundle().kmsKeyId())
        .isEqualTo(newKeyArn);
  }

  @Test
  void anEnclaveImageWithoutApproversNeverRewraps() throws Exception {
    KmsKeySetService plain = world.service();
    plain.unseal(oldSealed, REGION, PARENT);
    assertThatThrownBy(
            () -> plain.rewrap(approval(statement(newKeyArn, newPcr0), approver), PARENT))
        .isInstanceOfSatisfying(
            KeySetException.class,
            e -> assertThat(e.code()).isEqualTo(ErrorCode.IMAGE_APPROVAL_REFUSED));
  }

  // ---- helpers ------------------------------------------------------------------------------

  private void refused(ImageApproval approval, ErrorCode code) {
    assertThatThrownBy(() -> old.rewrap(approval, PARENT))
        .isInstanceOfSatisfying(KeySetException.class, e -> assertThat(e.code()).isEqualTo(code));
  }

  private ImageApproval.Statement statement(String keyArn, String pcr0) {
    return new ImageApproval.Statement(
        oldBundle.keySetId(), keyArn, pcr0, Optional.empty(), Optional.empty(), oldPcr0);
  }

  private static ImageApproval approval(ImageApproval.Statement s, KeyPair... signers)
      throws Exception {
    ImageApproval a = new ImageApproval(s, List.of());
    for (KeyPair k : signers) {
      a = a.withSignature(ImageApprovers.sign(s, k.getPrivate(), k.getPublic()));
    }
    return a;
  }

  private MockAttester image(String content) throws Exception {
    Path app = tmp.resolve(content.replace(' ', '-') + ".jar");
    Files.writeString(app, content);
    // same mock root as the world's attester (the mock KMS trusts it), other measurements
    return MockAttester.create(
        world.attester.stateDirectory(),
        MockMeasurements.of(List.of(app), "rt"),
        Clock.systemUTC());
  }

  private static byte[] raw(KeyPair k) {
    return ImageApprovers.rawPublicKey(k.getPublic());
  }

  private static String hex(byte[] b) {
    return HexFormat.of().formatHex(b);
  }
}
