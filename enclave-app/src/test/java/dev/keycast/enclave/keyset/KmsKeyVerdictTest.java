package dev.keycast.enclave.keyset;

import static dev.keycast.enclave.keyset.KmsWorld.ADMIN;
import static dev.keycast.enclave.keyset.KmsWorld.PARENT;
import static dev.keycast.enclave.keyset.KmsWorld.REGION;
import static dev.keycast.enclave.keyset.KmsWorld.ROLE_ARN;
import static org.assertj.core.api.Assertions.assertThat;

import dev.keycast.protocol.kms.KmsKeyLockVerdict;
import java.nio.file.Path;
import java.util.HexFormat;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.services.kms.KmsClient;
import software.amazon.awssdk.services.kms.model.GrantOperation;

/**
 * At init and unseal the enclave reads its own KMS key's metadata, policy and grants over its own
 * TLS to the (mock) KMS and judges whether the key is locked (kms-sealing.md section 6).
 */
class KmsKeyVerdictTest {
  @TempDir Path tmp;
  KmsWorld world;

  @BeforeEach
  void setUp() throws Exception {
    world = new KmsWorld(tmp.resolve("world"));
  }

  @AfterEach
  void tearDown() {
    world.close();
  }

  @Test
  void theEnclaveFindsTheScriptsLockedKeyLockedAtInitAndUnseal() throws Exception {
    KmsKeySetService first = world.service();
    assertThat(first.kmsKeyVerdict()).isEmpty();
    byte[] sealed = first.init(world.keyArn, REGION, PARENT).sealedKeySet();
    String pcr0 = HexFormat.of().formatHex(world.attester.measurements().pcr0());
    KmsKeyLockVerdict v = first.kmsKeyVerdict().orElseThrow();
    assertThat(v.reasons()).isEmpty();
    assertThat(v.locked()).isTrue();
    assertThat(v.admittedImages()).containsExactly(pcr0);
    assertThat(v.policySha256())
        .isEqualTo(
            java.security.MessageDigest.getInstance("SHA-256")
                .digest(world.policy.getBytes(java.nio.charset.StandardCharsets.UTF_8)));

    // ...and attests it: the bundle (whose digest is the attestation's user_data) carries the
    // check.
    assertThat(first.currentBundle().orElseThrow().kmsKeyCheck())
        .contains(new dev.keycast.protocol.keyset.KmsKeyCheck(true, v.policySha256()));

    KmsKeySetService second = world.service();
    second.unseal(sealed, REGION, PARENT);
    assertThat(second.kmsKeyVerdict().orElseThrow()).isEqualTo(v);
    assertThat(second.currentBundle().orElseThrow().kmsKeyLocked()).isTrue();
  }

  @Test
  void aGrantMadeBeforeThePolicyWasLockedLeavesTheKeyUnlockedInTheEnclavesEyes() throws Exception {
    String keyArn;
    try (KmsClient admin = world.connector.client(REGION, ADMIN)) {
      keyArn = admin.createKey(b -> b.description("default policy first")).keyMetadata().arn();
      // The account grants the role Decrypt, then "locks" the key: the grant survives.
      admin.createGrant(
          b -> b.keyId(keyArn).granteePrincipal(ROLE_ARN).operations(GrantOperation.DECRYPT));
      admin.putKeyPolicy(
          b ->
              b.keyId(keyArn)
                  .policyName("default")
                  .policy(world.policy)
                  .bypassPolicyLockoutSafetyCheck(true));
    }
    KmsKeySetService svc = world.service();
    byte[] sealed = svc.init(keyArn, REGION, PARENT).sealedKeySet();
    KmsKeyLockVerdict v = svc.kmsKeyVerdict().orElseThrow();
    assertThat(v.locked()).isFalse();
    assertThat(String.join("\n", v.reasons())).contains("lets " + ROLE_ARN + " [Decrypt]");

    assertThat(svc.currentBundle().orElseThrow().kmsKeyLocked()).isFalse();

    KmsKeySetService again = world.service();
    again.unseal(sealed, REGION, PARENT);
    assertThat(again.kmsKeyVerdict().orElseThrow().locked()).isFalse();
    assertThat(again.currentBundle().orElseThrow().kmsKeyLocked()).isFalse();
  }

  @Test
  void aKeyWhosePolicyTheEnclaveCannotReadIsNotLocked() throws Exception {
    // KMS's default policy: the account may do everything (and the role nothing, so init fails
    // too).
    String legacy =
        KmsWorld.keyPolicy(
            HexFormat.of().formatHex(world.attester.measurements().pcr0()), "--legacy-unlocked");
    String keyArn = world.createKey(legacy);
    KmsKeySetService svc = world.service();
    svc.init(keyArn, REGION, PARENT);
    KmsKeyLockVerdict v = svc.kmsKeyVerdict().orElseThrow();
    assertThat(v.locked()).isFalse();
    assertThat(v.reasons()).singleElement().asString().contains("AccessDeniedException");
  }
}
