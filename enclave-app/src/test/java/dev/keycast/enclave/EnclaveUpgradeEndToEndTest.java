package dev.keycast.enclave;

import static dev.keycast.enclave.EnclaveKmsEndToEndTest.ADMIN;
import static dev.keycast.enclave.EnclaveKmsEndToEndTest.PARENT;
import static dev.keycast.enclave.EnclaveKmsEndToEndTest.REGION;
import static dev.keycast.enclave.EnclaveKmsEndToEndTest.ROLE_ARN;
import static dev.keycast.enclave.EnclaveKmsEndToEndTest.candidate;
import static dev.keycast.enclave.EnclaveKmsEndToEndTest.json;
import static dev.keycast.enclave.EnclaveKmsEndToEndTest.post;
import static dev.keycast.enclave.EnclaveKmsEndToEndTest.start;
import static dev.keycast.enclave.EnclaveKmsEndToEndTest.startKms;
import static org.assertj.core.api.Assertions.assertThat;

import dev.keycast.enclave.keyset.KmsKeySetService;
import dev.keycast.enclave.kms.KmsConnector;
import dev.keycast.enclave.server.EnclaveServer;
import dev.keycast.kms.mock.MockKms;
import dev.keycast.mock.nitro.MockAttester;
import dev.keycast.mock.nitro.MockMeasurements;
import dev.keycast.protocol.Base64Url;
import dev.keycast.protocol.api.EnclaveApi;
import dev.keycast.protocol.api.ErrorBody;
import dev.keycast.protocol.envelope.HpkeDeliveryFormat;
import dev.keycast.protocol.hpke.X25519PrivateKey;
import dev.keycast.protocol.keyset.KeyBundle;
import dev.keycast.protocol.keyset.KmsKeyCheck;
import dev.keycast.protocol.policy.SendPolicy;
import dev.keycast.protocol.receipt.ReceiptVerifier;
import dev.keycast.protocol.upgrade.ImageApproval;
import dev.keycast.protocol.upgrade.ImageApprovers;
import dev.keycast.protocol.upgrade.RewrapRequest;
import dev.keycast.transport.Endpoint;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.services.kms.KmsClient;

/**
 * The locked-key upgrade over the enclave's HTTP API (kms-sealing.md section 7): the old image
 * inits and stores a sealed secret; {@code POST /v1/keyset/rewrap} with an approval re-wraps the
 * key set under a new locked key; a server of the successor image unseals it and forwards the
 * secret stored before the upgrade; the receipt verifies under the same signing key.
 */
@Timeout(180)
class EnclaveUpgradeEndToEndTest {
  @TempDir Path tmp;

  @Test
  void theSuccessorImageForwardsASecretStoredBeforeTheUpgrade() throws Exception {
    MockAttester oldImage = image("the enclave image");
    MockAttester newImage = image("the successor image");
    String oldPcr0 = HexFormat.of().formatHex(oldImage.measurements().pcr0());
    String newPcr0 = HexFormat.of().formatHex(newImage.measurements().pcr0());
    KeyPair approver = KeyPairGenerator.getInstance("Ed25519").generateKeyPair();
    try (MockKms kms = startKms(tmp.resolve("kms"), oldImage)) {
      Endpoint egress = Endpoint.parse("tcp://127.0.0.1:" + kms.port());
      Path tlsCert = kms.tlsCertificateFile().orElseThrow();
      String oldKey;
      String newKey;
      try (KmsConnector admin = KmsConnector.trusting(egress, tlsCert);
          KmsClient c = admin.client(REGION, ADMIN)) {
        String p1 = policy("--pcr0", oldPcr0);
        String p2 = policy("--pcr0", newPcr0, "--predecessor-pcr0", oldPcr0);
        oldKey =
            c.createKey(b -> b.policy(p1).bypassPolicyLockoutSafetyCheck(true)).keyMetadata().arn();
        newKey =
            c.createKey(b -> b.policy(p2).bypassPolicyLockoutSafetyCheck(true)).keyMetadata().arn();
      }
      KmsKeySetService oldKeys =
          ((KmsKeySetService)
                  EnclaveLauncher.kmsKeySetService(
                      oldImage,
                      new SecureRandom(),
                      () -> KmsConnector.trusting(egress, tlsCert),
                      Set.of(oldKey)))
              .withImageApprovers(
                  new ImageApprovers(
                      List.of(ImageApprovers.rawPublicKey(approver.getPublic())), 1));
      var newKeys =
          EnclaveLauncher.kmsKeySetService(
              newImage,
              new SecureRandom(),
              () -> KmsConnector.trusting(egress, tlsCert),
              Set.of(newKey));
      try (EnclaveServer old = start(oldKeys, oldImage);
          EnclaveServer next = start(newKeys, newImage)) {
        EnclaveApi.KeySetResponse ks =
            json(
                post(old, "/v1/keyset/init", new EnclaveApi.InitRequest(oldKey, REGION, PARENT)),
                EnclaveApi.KeySetResponse.class);
        KeyBundle bundle = bundle(ks.keyBundle());

        // a secret sent to the old image, stored sealed by the host, with a late recipient allowed
        X25519PrivateKey early = X25519PrivateKey.generate(new SecureRandom());
        X25519PrivateKey late = X25519PrivateKey.generate(new SecureRandom());
        Instant now = Instant.now().truncatedTo(ChronoUnit.SECONDS);
        byte[] policy =
            new SendPolicy(
                    1,
                    "key-1",
                    "Studio",
                    now.minusSeconds(60),
                    now.plusSeconds(3600),
                    new SendPolicy.RecipientSelector(
                        List.of(early.publicKey().fingerprint(), late.publicKey().fingerprint()),
                        null,
                        null),
                    true,
                    10,
                    null)
                .toJson();
        byte[] secret = "content key".getBytes(StandardCharsets.UTF_8);
        // the owner establishes the sender set right after init (issue 23); the studio signs its
        // send
        var owner = dev.keycast.protocol.sender.SenderSigningKey.generate(new SecureRandom());
        var studio = dev.keycast.protocol.sender.SenderSigningKey.generate(new SecureRandom());
        HttpResponse<String> genesis =
            post(
                old,
                "/v1/senders/genesis",
                new EnclaveApi.SenderGenesisRequest(
                    List.of(Base64Url.encode(owner.publicKey().raw())),
                    List.of(Base64Url.encode(studio.publicKey().raw()))));
        assertThat(genesis.statusCode()).as(genesis.body()).isEqualTo(200);
        EnclaveApi.SendPayload payload =
            dev.keycast.protocol.sender.SendSigner.sign(
                dev.keycast.protocol.send.SendPayloadSealer.v1(
                        bundle.keySetId(), bundle.receivePublicKey())
                    .seal(policy, secret, new SecureRandom())
                    .toApi(),
                studio,
                Instant.now());
        EnclaveApi.SendResponse s =
            json(
                post(
                    old,
                    "/v1/send",
                    new EnclaveApi.SendRequest(payload, List.of(candidate(early)))),
                EnclaveApi.SendResponse.class);

        ImageApproval.Statement statement =
            new ImageApproval.Statement(
                bundle.keySetId(), newKey, newPcr0, Optional.empty(), Optional.empty(), oldPcr0);
        // the host's own unsigned approval is refused with a stable code
        HttpResponse<String> unsigned =
            post(
                old,
                "/v1/keyset/rewrap",
                new RewrapRequest(new ImageApproval(statement, List.of()).document(), PARENT));
        assertThat(unsigned.statusCode()).isEqualTo(403);
        assertThat(json(unsigned, ErrorBody.class).error()).isEqualTo("image_approval_refused");

        ImageApproval approval =
            new ImageApproval(
                statement,
                List.of(
                    ImageApprovers.sign(statement, approver.getPrivate(), approver.getPublic())));
        HttpResponse<String> rewrap =
            post(old, "/v1/keyset/rewrap", new RewrapRequest(approval.document(), PARENT));
        assertThat(rewrap.statusCode()).as(rewrap.body()).isEqualTo(200);
        assertThat(rewrap.body())
            .doesNotContain(PARENT.secretAccessKey())
            .doesNotContain(PARENT.sessionToken());
        EnclaveApi.KeySetResponse rewrapped = json(rewrap, EnclaveApi.KeySetResponse.class);
        assertThat(rewrapped.keyBundle().kmsKeyId()).isEqualTo(newKey);

        HttpResponse<String> unseal =
            post(
                next,
                "/v1/keyset/unseal",
                new EnclaveApi.UnsealRequest(rewrapped.sealedKeySet(), REGION, PARENT));
        assertThat(unseal.statusCode()).as(unseal.body()).isEqualTo(200);
        EnclaveApi.KeyBundle nb = json(unseal, EnclaveApi.KeySetResponse.class).keyBundle();
        assertThat(nb.keySetId()).isEqualTo(bundle.keySetId());
        assertThat(nb.receivePublicKey()).isEqualTo(ks.keyBundle().receivePublicKey());
        assertThat(nb.signingPublicKey()).isEqualTo(ks.keyBundle().signingPublicKey());
        // the successor attests the same KDM signer chain (issue 24): re-wrap seals the signer too
        assertThat(nb.kdmSignerChain()).hasSize(3).isEqualTo(ks.keyBundle().kdmSignerChain());
        assertThat(nb.kmsKeyId()).isEqualTo(newKey);
        assertThat(nb.kmsKeyCheck().locked()).isTrue();

        HttpResponse<String> fwd =
            post(
                next,
                "/v1/forward",
                new EnclaveApi.ForwardRequest(
                    s.sendId(),
                    Base64Url.encode(policy),
                    s.sealedSecret(),
                    List.of(candidate(late))));
        assertThat(fwd.statusCode()).as(fwd.body()).isEqualTo(200);
        EnclaveApi.ForwardResponse f = json(fwd, EnclaveApi.ForwardResponse.class);
        assertThat(
                HpkeDeliveryFormat.INSTANCE
                    .open(
                        late, Base64Url.decode("e", f.deliveries().getFirst().envelope(), 1 << 20))
                    .secret())
            .isEqualTo(secret);
        assertThat(
                ReceiptVerifier.verify(Base64Url.decode("r", f.receipt(), 1 << 20), bundle(nb))
                    .deliveries())
            .hasSize(1);
      }
    }
  }

  private MockAttester image(String content) throws Exception {
    Path app = tmp.resolve(content.replace(' ', '-') + ".jar");
    Files.writeString(app, content);
    return MockAttester.create(
        tmp.resolve("attester"), MockMeasurements.of(List.of(app), "rt"), Clock.systemUTC());
  }

  private static KeyBundle bundle(EnclaveApi.KeyBundle b) throws Exception {
    return new KeyBundle(
            b.keySetId(),
            Base64Url.decode("r", b.receivePublicKey(), 32),
            Base64Url.decode("s", b.signingPublicKey(), 32),
            b.kmsKeyId())
        .withKmsKeyCheck(
            new KmsKeyCheck(
                b.kmsKeyCheck().locked(),
                Base64Url.decode("p", b.kmsKeyCheck().policySha256(), 32)));
  }

  private static String policy(String... args) throws Exception {
    Path script = Path.of(System.getProperty("keycast.repo.root"), "scripts", "kms-key-policy");
    List<String> cmd =
        new java.util.ArrayList<>(List.of("bash", script.toString(), "--role-arn", ROLE_ARN));
    cmd.addAll(List.of(args));
    Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.DISCARD).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).isZero();
    return out;
  }
}
