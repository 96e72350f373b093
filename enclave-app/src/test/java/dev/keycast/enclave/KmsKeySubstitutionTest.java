package dev.keycast.enclave;

import static dev.keycast.enclave.EnclaveKmsEndToEndTest.ADMIN;
import static dev.keycast.enclave.EnclaveKmsEndToEndTest.PARENT;
import static dev.keycast.enclave.EnclaveKmsEndToEndTest.REGION;
import static dev.keycast.enclave.EnclaveKmsEndToEndTest.get;
import static dev.keycast.enclave.EnclaveKmsEndToEndTest.json;
import static dev.keycast.enclave.EnclaveKmsEndToEndTest.keyPolicy;
import static dev.keycast.enclave.EnclaveKmsEndToEndTest.post;
import static dev.keycast.enclave.EnclaveKmsEndToEndTest.start;
import static dev.keycast.enclave.EnclaveKmsEndToEndTest.startKms;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keycast.enclave.keyset.KeySetService;
import dev.keycast.enclave.kms.KmsConnector;
import dev.keycast.enclave.server.EnclaveServer;
import dev.keycast.kms.mock.MockKms;
import dev.keycast.mock.nitro.MockAttester;
import dev.keycast.mock.nitro.MockMeasurements;
import dev.keycast.protocol.Base64Url;
import dev.keycast.protocol.api.EnclaveApi;
import dev.keycast.protocol.attestation.AttestationException;
import dev.keycast.protocol.attestation.AttestationVerifier;
import dev.keycast.protocol.attestation.ExpectedPcrs;
import dev.keycast.protocol.attestation.TrustRoot;
import dev.keycast.protocol.attestation.VerificationPolicy;
import dev.keycast.protocol.keyset.KeyBundle;
import dev.keycast.protocol.keyset.KeySet;
import dev.keycast.protocol.keyset.SealedKeySet;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.services.kms.KmsClient;
import software.amazon.awssdk.services.kms.model.DataKeySpec;
import software.amazon.awssdk.services.kms.model.GenerateDataKeyResponse;

/**
 * The KMS-key substitution attack (threat-model.md, malicious host; kms-sealing.md) against a
 * genuine enclave and the real mock KMS, and the defence: the attested key bundle names the KMS
 * key that protects the key set, so a sender that expects the operator's published key ARN refuses.
 *
 * <p>The malicious host creates a second KMS key with KMS's default policy (no attestation
 * condition), generates a key set itself, seals it under that key with a data key it knows, and
 * asks a fresh (unpinned) enclave to unseal it with credentials allowed by that policy. The enclave
 * unseals it (KMS releases the data key: nothing in that policy asks for PCRs) and serves keys the
 * host knows. Its attestation is genuine, but the bundle now names the attacker's key.
 */
@Timeout(120)
class KmsKeySubstitutionTest {
  @TempDir Path tmp;

  @Test
  void aKeySetSealedByTheHostUnderAnUnconditionedKeyIsServedButTheAttestationNamesThatKey()
      throws Exception {
    Path app = tmp.resolve("app.jar");
    Files.writeString(app, "the enclave image");
    MockAttester attester =
        MockAttester.create(
            tmp.resolve("attester"), MockMeasurements.of(List.of(app), "rt"), Clock.systemUTC());
    try (MockKms kms = startKms(tmp.resolve("kms"), attester)) {
      var egress = dev.keycast.transport.Endpoint.parse("tcp://127.0.0.1:" + kms.port());
      Path tlsCert = kms.tlsCertificateFile().orElseThrow();

      String realArn;
      String attackerArn;
      KeySet hostKnown = KeySet.generate(new SecureRandom());
      byte[] forged;
      try (KmsConnector admin = KmsConnector.trusting(egress, tlsCert);
          KmsClient c = admin.client(REGION, ADMIN)) {
        // the operator's key: its policy releases data keys only to an enclave with this PCR0
        String policy = keyPolicy(HexFormat.of().formatHex(attester.measurements().pcr0()));
        realArn =
            c.createKey(b -> b.policy(policy).bypassPolicyLockoutSafetyCheck(true))
                .keyMetadata()
                .arn();
        // the attacker's key: KMS's default policy, no attestation condition at all
        attackerArn = c.createKey(b -> b.description("host-controlled")).keyMetadata().arn();
        // the host seals a key set it generated itself (it knows every private key)
        GenerateDataKeyResponse dk =
            c.generateDataKey(
                b ->
                    b.keyId(attackerArn)
                        .keySpec(DataKeySpec.AES_256)
                        .encryptionContext(SealedKeySet.encryptionContext(hostKnown.id())));
        byte[] dataKey = dk.plaintext().asByteArray();
        forged =
            SealedKeySet.sealVersion1(
                    hostKnown,
                    dataKey,
                    dk.keyId(),
                    dk.ciphertextBlob().asByteArray(),
                    new SecureRandom())
                .encode();
        java.util.Arrays.fill(dataKey, (byte) 0);
        assertThat(dk.keyId()).isEqualTo(attackerArn);
      }
      assertThat(attackerArn).isNotEqualTo(realArn);

      // a fresh enclave of the genuine image, not pinned to a key (the ARN cannot be in the image)
      KeySetService keys =
          EnclaveLauncher.kmsKeySetService(
              attester, new SecureRandom(), () -> KmsConnector.trusting(egress, tlsCert), Set.of());
      try (EnclaveServer enclave = start(keys, attester)) {
        HttpResponse<String> unseal =
            post(
                enclave,
                "/v1/keyset/unseal",
                new EnclaveApi.UnsealRequest(Base64Url.encode(forged), REGION, ADMIN));
        // the attack works at the enclave: KMS releases the data key, the enclave serves the host's
        // keys
        assertThat(unseal.statusCode()).as(unseal.body()).isEqualTo(200);
        assertThat(keys.current().orElseThrow().receivePublicKey())
            .isEqualTo(hostKnown.receivePublicKey());

        byte[] nonce = new byte[32];
        new SecureRandom().nextBytes(nonce);
        EnclaveApi.AttestationResponse att =
            json(
                get(enclave, "/v1/attestation?nonce=" + Base64Url.encode(nonce)),
                EnclaveApi.AttestationResponse.class);
        byte[] document = Base64Url.decode("document", att.document(), 1 << 20);
        EnclaveApi.KeyBundle shown = att.keyBundle();

        // the defence: the genuine attestation names the attacker's KMS key...
        assertThat(shown.kmsKeyId()).isEqualTo(attackerArn);
        KeyBundle honest = bundle(shown, shown.kmsKeyId());
        assertThat(honest.receivePublicKey()).isEqualTo(hostKnown.receivePublicKey());
        assertThat(verifier(attester, nonce, honest).verify(document)).isNotNull();
        // ...so a sender that expects the operator's published key ARN refuses it
        assertThat(Set.of(realArn)).doesNotContain(honest.kmsKeyId());

        // and the host cannot lie about it: a bundle claiming the real key does not match user_data
        KeyBundle lie = bundle(shown, realArn);
        assertThat(lie.matchesUserData(honest.userData())).isFalse();
        assertThatThrownBy(() -> verifier(attester, nonce, lie).verify(document))
            .isInstanceOf(AttestationException.class)
            .hasMessageContaining("user_data");
      }

      // a pinned enclave (--kms-key-arn) refuses the forged key set before calling KMS
      KeySetService pinned =
          EnclaveLauncher.kmsKeySetService(
              attester,
              new SecureRandom(),
              () -> KmsConnector.trusting(egress, tlsCert),
              Set.of(realArn));
      try (EnclaveServer enclave = start(pinned, attester)) {
        HttpResponse<String> unseal =
            post(
                enclave,
                "/v1/keyset/unseal",
                new EnclaveApi.UnsealRequest(Base64Url.encode(forged), REGION, ADMIN));
        assertThat(unseal.statusCode()).as(unseal.body()).isNotEqualTo(200);
        assertThat(pinned.currentBundle()).isEmpty();
      }

      // the honest path: init under the operator's key, and the bundle names it
      KeySetService honestKeys =
          EnclaveLauncher.kmsKeySetService(
              attester, new SecureRandom(), () -> KmsConnector.trusting(egress, tlsCert), Set.of());
      try (EnclaveServer enclave = start(honestKeys, attester)) {
        HttpResponse<String> init =
            post(enclave, "/v1/keyset/init", new EnclaveApi.InitRequest(realArn, REGION, PARENT));
        assertThat(init.statusCode()).as(init.body()).isEqualTo(200);
        EnclaveApi.AttestationResponse att =
            json(get(enclave, "/v1/attestation"), EnclaveApi.AttestationResponse.class);
        assertThat(att.keyBundle().kmsKeyId()).isEqualTo(realArn);
        KeyBundle b = bundle(att.keyBundle(), att.keyBundle().kmsKeyId());
        assertThat(
                verifier(attester, null, b).verify(Base64Url.decode("d", att.document(), 1 << 20)))
            .isNotNull();
        assertThat(
                SealedKeySet.parse(
                        Base64Url.decode(
                            "s",
                            json(init, EnclaveApi.KeySetResponse.class).sealedKeySet(),
                            1 << 20))
                    .bundle()
                    .withKmsKeyCheck(b.kmsKeyCheck().orElseThrow()))
            .isEqualTo(b);
      }
    }
  }

  static KeyBundle bundle(EnclaveApi.KeyBundle b, String kmsKeyId) throws Exception {
    KeyBundle bundle =
        new KeyBundle(
            b.keySetId(),
            Base64Url.decode("r", b.receivePublicKey(), 32),
            Base64Url.decode("s", b.signingPublicKey(), 32),
            kmsKeyId);
    // the enclave's check of its KMS key (bundle version 3), as it attested it
    if (b.kmsKeyCheck() != null) {
      bundle =
          bundle.withKmsKeyCheck(
              new dev.keycast.protocol.keyset.KmsKeyCheck(
                  b.kmsKeyCheck().locked(),
                  Base64Url.decode("p", b.kmsKeyCheck().policySha256(), 32)));
    }
    // and its KDM signer chain (bundle version 5)
    return b.kdmSignerChain() == null ? bundle : bundle.withKdmSignerChain(signerChain(b));
  }

  /** The bundle's KDM signer chain, DER. */
  static List<byte[]> signerChain(EnclaveApi.KeyBundle b) throws Exception {
    List<byte[]> chain = new java.util.ArrayList<>();
    for (String c : b.kdmSignerChain()) {
      chain.add(Base64Url.decode("kdm_signer_chain", c, 8192));
    }
    return chain;
  }

  static AttestationVerifier verifier(MockAttester attester, byte[] nonce, KeyBundle bundle)
      throws Exception {
    Path state = attester.stateDirectory();
    VerificationPolicy.Builder p =
        VerificationPolicy.builder()
            .trustRoots(
                List.of(
                    TrustRoot.fromPem(
                        "mock", Files.readAllBytes(state.resolve(MockAttester.ROOT_FILE)))))
            .expectedPcrs(
                ExpectedPcrs.parseJson(
                    Files.readAllBytes(state.resolve(MockAttester.MEASUREMENTS_FILE))))
            .expectedUserData(bundle.userData())
            .expectedPublicKey(bundle.receivePublicKeySpki());
    if (nonce != null) {
      p.expectedNonce(nonce);
    }
    return AttestationVerifier.create(p.build());
  }
}
