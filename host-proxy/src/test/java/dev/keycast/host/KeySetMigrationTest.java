package dev.keycast.host;

import static dev.keycast.host.RealEnclaveStack.decode;
import static dev.keycast.host.RealEnclaveStack.resource;
import static org.assertj.core.api.Assertions.assertThat;

import dev.keycast.enclave.keyset.KmsKeySetService;
import dev.keycast.enclave.kms.KmsConnector;
import dev.keycast.host.store.SqliteArtefactStore;
import dev.keycast.host.store.StoredKeySet;
import dev.keycast.kms.mock.MockKms;
import dev.keycast.kms.mock.MockKmsConfig;
import dev.keycast.kms.mock.ProtocolRecipientVerifier;
import dev.keycast.kms.mock.StaticCredential;
import dev.keycast.mock.nitro.MockAttester;
import dev.keycast.mock.nitro.MockMeasurements;
import dev.keycast.protocol.api.EnclaveApi;
import dev.keycast.protocol.cinema.DcCertificateChainValidator;
import dev.keycast.protocol.keyset.KdmSignerKeys;
import dev.keycast.protocol.keyset.SealedKeySet;
import dev.keycast.transport.Endpoint;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 24, sealed key set migration end to end: a real version 1 sealed key set (made by the code
 * before version 2 against the mock KMS, {@code golden/sealed-key-set-v1/}) in the host's SQLite
 * store; the host boots, the real enclave server ({@link KmsKeySetService}, KMS Decrypt over TLS
 * with a Recipient attestation) unseals it, generates a KDM signer and seals version 2 under the
 * same data key; the host stores it as key-set version 2 and relays the attested bundle with the
 * signer chain. After a restart of both, version 2 unseals with the same signer and no migration.
 */
@Timeout(180)
class KeySetMigrationTest {
  static final String REGION = RealEnclaveStack.REGION;
  static final String ACCOUNT = "111122223333";
  static final String ROLE_ARN = "arn:aws:iam::" + ACCOUNT + ":role/keycast-parent";
  static final EnclaveApi.AwsCredentials PARENT =
      new EnclaveApi.AwsCredentials(
          "ASIAPARENTTEMP000009",
          "parent-role-secret-for-migration-0000000",
          "session-token-migration-0123456789",
          null);

  @TempDir Path dir;

  @Test
  void aStoredVersion1KeySetIsMigratedByTheEnclaveAndStoredAsTheNextVersion() throws Exception {
    byte[] v1 = resource("sealed-key-set-v1.bin");
    String keySetId = new String(resource("key-set-id.txt"), StandardCharsets.US_ASCII).trim();
    String keyArn = new String(resource("key-arn.txt"), StandardCharsets.US_ASCII).trim();
    String keyId = keyArn.substring(keyArn.lastIndexOf('/') + 1);
    SealedKeySet golden = SealedKeySet.parse(v1);
    assertThat(golden.version()).isEqualTo(1);
    assertThat(golden.keySetId()).isEqualTo(keySetId);

    // the mock KMS with the golden key's state, and the enclave image whose PCR0 its policy admits
    Path kmsState = Files.createDirectories(dir.resolve("kms/keys"));
    for (String f : List.of(keyId + ".json", keyId + ".key")) {
      Files.write(kmsState.resolve(f), resource("kms/keys/" + f));
    }
    Path app = dir.resolve("app.jar");
    Files.writeString(app, "the enclave image");
    MockAttester attester =
        MockAttester.create(
            dir.resolve("attester"), MockMeasurements.of(List.of(app), "rt"), Clock.systemUTC());
    Path db = dir.resolve("host.db");
    try (SqliteArtefactStore seed = SqliteArtefactStore.open(db)) {
      seed.putSealedKeySet(1, v1);
    }
    try (MockKms kms =
            MockKms.start(
                MockKmsConfig.builder()
                    .stateDirectory(dir.resolve("kms"))
                    .region(REGION)
                    .accountId(ACCOUNT)
                    .addCredential(
                        StaticCredential.withSessionToken(
                            PARENT.accessKeyId(),
                            PARENT.secretAccessKey(),
                            PARENT.sessionToken(),
                            ROLE_ARN))
                    .recipientVerifier(
                        ProtocolRecipientVerifier.trusting(
                            List.of(attester.stateDirectory().resolve(MockAttester.ROOT_FILE)),
                            Clock.systemUTC()))
                    .tls(true)
                    .build());
        KmsConnector connector =
            KmsConnector.trusting(
                Endpoint.parse("tcp://127.0.0.1:" + kms.port()),
                kms.tlsCertificateFile().orElseThrow())) {

      // first boot after the upgrade: the host unseals version 1, the enclave migrates it
      List<byte[]> chain;
      try (RealEnclaveStack stack =
          new RealEnclaveStack(attester, connector, db, PARENT, dir.resolve("sender-set.bin"))) {
        StoredKeySet latest = stack.store.latestSealedKeySet().orElseThrow();
        assertThat(latest.version()).isEqualTo(2);
        SealedKeySet migrated = SealedKeySet.parse(latest.bytes());
        assertThat(migrated.version()).isEqualTo(SealedKeySet.VERSION);
        assertThat(migrated.keySetId()).isEqualTo(keySetId);
        assertThat(migrated.encryptedDataKey()).isEqualTo(golden.encryptedDataKey());
        assertThat(migrated.kmsKeyId()).isEqualTo(keyArn);
        chain = migrated.signerChain();
        assertThat(chain).hasSize(3);
        DcCertificateChainValidator.validate(
            DcCertificateChainValidator.Kind.SIGNER,
            KdmSignerKeys.parseChain(chain),
            Instant.now());
        // the attestation the host relays carries the chain, bound into user_data
        EnclaveApi.KeyBundle relayed = stack.attestedBundle(attester);
        assertThat(relayed.keySetId()).isEqualTo(keySetId);
        assertThat(decode(relayed.kdmSignerChain()))
            .zipSatisfy(chain, (a, b) -> assertThat(a).isEqualTo(b));
        assertThat(stack.keys.kdmSigner().orElseThrow().leaf().getEncoded())
            .isEqualTo(chain.get(0));
      }

      // restart of host and enclave: version 2 unseals, same signer, nothing more stored
      try (RealEnclaveStack stack =
          new RealEnclaveStack(attester, connector, db, PARENT, dir.resolve("sender-set.bin"))) {
        assertThat(stack.store.latestSealedKeySet().orElseThrow().version()).isEqualTo(2);
        EnclaveApi.KeyBundle relayed = stack.attestedBundle(attester);
        assertThat(decode(relayed.kdmSignerChain()))
            .zipSatisfy(chain, (a, b) -> assertThat(a).isEqualTo(b));
      }
    }
  }
}
