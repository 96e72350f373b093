package dev.keycast.enclave.keyset;

import static dev.keycast.enclave.keyset.KmsWorld.PARENT;
import static dev.keycast.enclave.keyset.KmsWorld.REGION;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.keycast.enclave.kms.RecipientKeyPair;
import dev.keycast.protocol.api.ErrorCode;
import dev.keycast.protocol.cinema.DcCertificateChainValidator;
import dev.keycast.protocol.cinema.KdmSigner;
import dev.keycast.protocol.keyset.KdmSignerKeys;
import dev.keycast.protocol.keyset.KeyBundle;
import dev.keycast.protocol.keyset.KeySet;
import dev.keycast.protocol.keyset.SealedKeySet;
import java.io.ByteArrayOutputStream;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.services.kms.KmsClient;
import software.amazon.awssdk.services.kms.model.DataKeySpec;
import software.amazon.awssdk.services.kms.model.GenerateDataKeyResponse;

/**
 * The key set's KDM signer in the enclave (issue 24): generated at init and sealed in the key set
 * (version 2), attested in the bundle, unsealed again, migrated from a version 1 sealed key set,
 * and refused when the host swaps the chain in the sealed header. Real KMS calls (mock KMS, TLS).
 */
class KdmSignerKeySetTest {
  @TempDir static Path tmp;
  static KmsWorld world;

  @BeforeAll
  static void start() throws Exception {
    world = new KmsWorld(tmp.resolve("world"));
  }

  @AfterAll
  static void stop() {
    if (world != null) {
      world.close();
    }
  }

  @Test
  void signerIssuedFrom2040StillEndsBefore2050() throws Exception {
    // ST 430-2 validity is UTCTime: a ten-year chain issued in 2040 would end in 2050 and be
    // refused
    assertThat(KmsKeySetService.signerYears(Instant.parse("2026-12-06T00:00:00Z"))).isEqualTo(10);
    assertThat(KmsKeySetService.signerYears(Instant.parse("2039-12-31T00:00:00Z"))).isEqualTo(10);
    assertThat(KmsKeySetService.signerYears(Instant.parse("2040-01-01T00:00:00Z"))).isEqualTo(9);
    assertThat(KmsKeySetService.signerYears(Instant.parse("2048-06-01T00:00:00Z"))).isEqualTo(1);
    Instant in2045 = Instant.parse("2045-03-01T00:00:00Z");
    String keySetId = world.service().init(world.keyArn, REGION, PARENT).bundle().keySetId();
    KdmSignerKeys keys =
        KdmSignerKeys.generate(
            keySetId, in2045, KmsKeySetService.signerYears(in2045), new SecureRandom());
    assertThat(keys.chain().get(0).getNotAfter().toInstant().atOffset(ZoneOffset.UTC).getYear())
        .isLessThan(2050);
  }

  @Test
  void initGeneratesASignerSealsItAndAttestsItsChain() throws Exception {
    KmsKeySetService first = world.service();
    assertThat(first.kdmSigner()).isEmpty();
    KeySetService.Initialized init = first.init(world.keyArn, REGION, PARENT);
    SealedKeySet sealed = SealedKeySet.parse(init.sealedKeySet());
    assertThat(sealed.version()).isEqualTo(SealedKeySet.VERSION);
    KdmSigner signer = first.kdmSigner().orElseThrow();
    assertThat(signer.chain()).hasSize(3);
    DcCertificateChainValidator.validate(
        DcCertificateChainValidator.Kind.SIGNER, signer.chain(), Instant.now());
    assertThat(signer.leaf().getSubjectX500Principal().getName())
        .contains("OU=" + init.bundle().keySetId())
        .contains("CN=CS.keycast-kdm-signer");
    assertThat(signer.root().getNotAfter().toInstant())
        .isBefore(Instant.now().atOffset(ZoneOffset.UTC).plusYears(10).toInstant());
    // the attested bundle (version 5) carries the chain of the sealed header
    assertThat(init.bundle().version()).isEqualTo(KeyBundle.VERSION_WITH_KDM_SIGNER);
    assertThat(init.bundle().kdmSignerChain())
        .zipSatisfy(sealed.signerChain(), (a, b) -> assertThat(a).isEqualTo(b));
    assertThat(init.bundle().kdmSignerChain().get(0)).isEqualTo(signer.leaf().getEncoded());

    // a restarted enclave unseals the same signer, without migrating
    KmsKeySetService restarted = world.service();
    KeySetService.Unsealed u = restarted.unsealAndMigrate(init.sealedKeySet(), REGION, PARENT);
    assertThat(u.migratedSealedKeySet()).isEmpty();
    assertThat(u.bundle()).isEqualTo(init.bundle());
    assertThat(restarted.kdmSigner().orElseThrow().chain()).isEqualTo(signer.chain());
    assertThat(restarted.kdmSigner().orElseThrow().leafThumbprint())
        .isEqualTo(signer.leafThumbprint());
  }

  @Test
  void aVersion1SealedKeySetIsMigratedUnderTheSameDataKey() throws Exception {
    byte[] v1 = sealVersion1UnderKms();
    SealedKeySet old = SealedKeySet.parse(v1);
    assertThat(old.version()).isEqualTo(1);

    KmsKeySetService enclave = world.service();
    KeySetService.Unsealed u = enclave.unsealAndMigrate(v1, REGION, PARENT);
    byte[] migrated = u.migratedSealedKeySet().orElseThrow();
    SealedKeySet next = SealedKeySet.parse(migrated);
    assertThat(next.version()).isEqualTo(2);
    assertThat(next.keySetId()).isEqualTo(old.keySetId());
    assertThat(next.kmsKeyId()).isEqualTo(old.kmsKeyId());
    assertThat(next.encryptedDataKey()).isEqualTo(old.encryptedDataKey());
    assertThat(next.bundle().receivePublicKey()).isEqualTo(old.bundle().receivePublicKey());
    assertThat(u.bundle().kdmSignerChain())
        .zipSatisfy(next.signerChain(), (a, b) -> assertThat(a).isEqualTo(b));
    KdmSigner signer = enclave.kdmSigner().orElseThrow();
    assertThat(signer.leaf().getEncoded()).isEqualTo(next.signerChain().get(0));
    // asked again (the host lost the answer): the same migrated bytes, no second signer
    assertThat(enclave.unsealAndMigrate(v1, REGION, PARENT).migratedSealedKeySet().orElseThrow())
        .isEqualTo(migrated);
    assertThat(enclave.kdmSigner().orElseThrow().leafThumbprint())
        .isEqualTo(signer.leafThumbprint());

    // the migrated key set opens in another enclave with the same keys and signer, without
    // migrating
    KmsKeySetService later = world.service();
    KeySetService.Unsealed again = later.unsealAndMigrate(migrated, REGION, PARENT);
    assertThat(again.migratedSealedKeySet()).isEmpty();
    assertThat(again.bundle()).isEqualTo(u.bundle());
    assertThat(later.current().orElseThrow().storageKey())
        .isEqualTo(enclave.current().orElseThrow().storageKey());
    assertThat(later.kdmSigner().orElseThrow().leafThumbprint()).isEqualTo(signer.leafThumbprint());
  }

  @Test
  void hostSwapsTheSignerChainInTheSealedKeySetHeader() throws Exception {
    KeySetService.Initialized init = world.service().init(world.keyArn, REGION, PARENT);
    SealedKeySet sealed = SealedKeySet.parse(init.sealedKeySet());
    // a signer chain the host made itself (it holds those keys), for the same key-set id
    KdmSignerKeys hosts =
        KdmSignerKeys.generate(
            sealed.keySetId(), Instant.now().minusSeconds(86400), 10, new SecureRandom());
    byte[] swapped = withHeaderChain(init.sealedKeySet(), sealed.signerChain(), hosts.chainDer());
    assertThat(SealedKeySet.parse(swapped).signerChain().get(0)).isEqualTo(hosts.chainDer().get(0));
    KmsKeySetService enclave = world.service();
    KeySetException e =
        catchThrowableOfType(KeySetException.class, () -> enclave.unseal(swapped, REGION, PARENT));
    assertThat(e.code()).isEqualTo(ErrorCode.SEALED_KEY_SET_INVALID);
    assertThat(enclave.current()).isEmpty();
    assertThat(enclave.kdmSigner()).isEmpty();
  }

  /** A version 1 sealed key set made as the pre-issue-24 enclave made it: a real KMS data key. */
  static byte[] sealVersion1UnderKms() throws Exception {
    KmsKeySetService svc = world.service();
    KeySet ks = KeySet.generate(new SecureRandom());
    try (RecipientKeyPair recipient = svc.dataKeys().newRecipientKey();
        KmsClient kms = svc.dataKeys().client(REGION, PARENT)) {
      var info = svc.dataKeys().recipientInfo(recipient);
      GenerateDataKeyResponse r =
          kms.generateDataKey(
              b ->
                  b.keyId(world.keyArn)
                      .keySpec(DataKeySpec.AES_256)
                      .encryptionContext(SealedKeySet.encryptionContext(ks.id()))
                      .recipient(info));
      byte[] dataKey =
          KmsDataKeys.openRecipient(r.ciphertextForRecipient(), recipient, "GenerateDataKey");
      try {
        return SealedKeySet.sealVersion1(
                ks, dataKey, r.keyId(), r.ciphertextBlob().asByteArray(), new SecureRandom())
            .encode();
      } finally {
        java.util.Arrays.fill(dataKey, (byte) 0);
        ks.destroy();
      }
    }
  }

  /** The sealed bytes with the header's chain (which ends right before the ciphertext) replaced. */
  static byte[] withHeaderChain(byte[] sealed, List<byte[]> chain, List<byte[]> replacement)
      throws Exception {
    int chainLength = 1 + chain.stream().mapToInt(c -> 2 + c.length).sum();
    SealedKeySet parsed = SealedKeySet.parse(sealed);
    int chainAt =
        4
            + 1
            + 1
            + 35
            + 2
            + parsed.kmsKeyId().length()
            + 64
            + 2
            + parsed.encryptedDataKey().length
            + 12;
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.write(sealed, 0, chainAt);
    out.write(replacement.size());
    for (byte[] c : replacement) {
      out.write(c.length >>> 8);
      out.write(c.length);
      out.writeBytes(c);
    }
    out.write(sealed, chainAt + chainLength, sealed.length - chainAt - chainLength);
    return out.toByteArray();
  }
}
