package dev.keycast.enclave;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keycast.enclave.keyset.KeySetService;
import dev.keycast.enclave.kms.KmsConnector;
import dev.keycast.enclave.server.EnclaveMetrics;
import dev.keycast.enclave.server.EnclaveServer;
import dev.keycast.kms.mock.MockKms;
import dev.keycast.kms.mock.MockKmsConfig;
import dev.keycast.kms.mock.ProtocolRecipientVerifier;
import dev.keycast.kms.mock.StaticCredential;
import dev.keycast.mock.nitro.MockAttester;
import dev.keycast.mock.nitro.MockMeasurements;
import dev.keycast.protocol.Base64Url;
import dev.keycast.protocol.Json;
import dev.keycast.protocol.api.EnclaveApi;
import dev.keycast.protocol.envelope.HpkeDeliveryFormat;
import dev.keycast.protocol.hpke.X25519PrivateKey;
import dev.keycast.protocol.keyset.KeyBundle;
import dev.keycast.protocol.policy.SendPolicy;
import dev.keycast.protocol.receipt.ReceiptVerifier;
import dev.keycast.transport.Endpoint;
import dev.keycast.transport.TcpEndpoint;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.services.kms.KmsClient;

/**
 * The request path with the real key set service: two enclave servers (two "processes" of one
 * image) against the mock KMS. The first initializes over HTTP and serves a send; the second
 * unseals the sealed key set over HTTP and forwards the sealed secret to a late recipient.
 */
@Timeout(120)
class EnclaveKmsEndToEndTest {
  static final String REGION = "us-east-1";
  static final String ACCOUNT = "111122223333";
  static final String ROLE_ARN = "arn:aws:iam::" + ACCOUNT + ":role/keycast-parent";
  static final EnclaveApi.AwsCredentials PARENT =
      new EnclaveApi.AwsCredentials(
          "ASIAPARENTTEMP000002",
          "parent-role-secret-key-00000000000000000",
          "session-token-0123456789",
          null);
  static final EnclaveApi.AwsCredentials ADMIN =
      new EnclaveApi.AwsCredentials(
          "AKIAADMIN0000000002", "admin-secret-key-000000000000000000002", null, null);

  @TempDir Path tmp;

  /** A TLS mock KMS with the admin and parent-role credentials that trusts the attester's mock root. */
  static MockKms startKms(Path stateDir, MockAttester attester) throws Exception {
    return MockKms.start(
        MockKmsConfig.builder()
            .stateDirectory(stateDir)
            .region(REGION)
            .accountId(ACCOUNT)
            .addCredential(
                StaticCredential.of(
                    ADMIN.accessKeyId(),
                    ADMIN.secretAccessKey(),
                    "arn:aws:iam::" + ACCOUNT + ":root"))
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
  }

  @Test
  void initSendThenUnsealInAnotherServerAndForward() throws Exception {
    Path app = tmp.resolve("app.jar");
    Files.writeString(app, "the enclave image");
    MockAttester attester =
        MockAttester.create(
            tmp.resolve("attester"), MockMeasurements.of(List.of(app), "rt"), Clock.systemUTC());
    try (MockKms kms = startKms(tmp.resolve("kms"), attester)) {
      Endpoint egress = Endpoint.parse("tcp://127.0.0.1:" + kms.port());
      Path tlsCert = kms.tlsCertificateFile().orElseThrow();
      String keyArn;
      String keyPolicy = keyPolicy(HexFormat.of().formatHex(attester.measurements().pcr0()));
      try (KmsConnector admin = KmsConnector.trusting(egress, tlsCert);
          KmsClient c = admin.client(REGION, ADMIN)) {
        keyArn =
            c.createKey(b -> b.policy(keyPolicy).bypassPolicyLockoutSafetyCheck(true))
                .keyMetadata()
                .arn();
      }

      KeySetService firstKeys =
          EnclaveLauncher.kmsKeySetService(
              attester,
              new SecureRandom(),
              () -> KmsConnector.trusting(egress, tlsCert),
              Set.of(keyArn));
      KeySetService secondKeys =
          EnclaveLauncher.kmsKeySetService(
              attester, new SecureRandom(), () -> KmsConnector.trusting(egress, tlsCert), Set.of());
      try (EnclaveServer first = start(firstKeys, attester);
          EnclaveServer second = start(secondKeys, attester)) {
        HttpResponse<String> notReady = get(first, "/v1/ready");
        assertThat(notReady.statusCode()).isEqualTo(503);

        HttpResponse<String> init =
            post(first, "/v1/keyset/init", new EnclaveApi.InitRequest(keyArn, REGION, PARENT));
        assertThat(init.statusCode()).as(init.body()).isEqualTo(200);
        assertThat(init.body())
            .doesNotContain(PARENT.secretAccessKey())
            .doesNotContain(PARENT.sessionToken());
        EnclaveApi.KeySetResponse ks = json(init, EnclaveApi.KeySetResponse.class);
        assertThat(get(first, "/v1/ready").statusCode()).isEqualTo(200);

        // the sender learns the receive key from the attestation answer
        EnclaveApi.AttestationResponse att =
            json(get(first, "/v1/attestation?nonce=AQID"), EnclaveApi.AttestationResponse.class);
        assertThat(att.keyBundle()).isEqualTo(ks.keyBundle());
        // the bundle names the KMS key the key set is sealed under (the ARN KMS returned)
        assertThat(att.keyBundle().kmsKeyId()).isEqualTo(keyArn);
        KeyBundle bundle =
            new KeyBundle(
                    att.keyBundle().keySetId(),
                    Base64Url.decode("r", att.keyBundle().receivePublicKey(), 32),
                    Base64Url.decode("s", att.keyBundle().signingPublicKey(), 32),
                    att.keyBundle().kmsKeyId())
                // the enclave checked its KMS key (the script's locked policy) and attests it
                // (bundle version 3)
                .withKmsKeyCheck(
                    new dev.keycast.protocol.keyset.KmsKeyCheck(
                        att.keyBundle().kmsKeyCheck().locked(),
                        Base64Url.decode("p", att.keyBundle().kmsKeyCheck().policySha256(), 32)))
                // and its KDM signer chain (bundle version 5, issue 24)
                .withKdmSignerChain(KmsKeySubstitutionTest.signerChain(att.keyBundle()));
        assertThat(att.keyBundle().kmsKeyCheck().locked()).isTrue();
        assertThat(att.keyBundle().kdmSignerChain()).hasSize(3);
        assertThat(Base64Url.encode(bundle.userData())).isEqualTo(att.keyBundle().userData());

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
        // the owner establishes the sender set right after init (issue 23), over the enclave's API
        var owner = dev.keycast.protocol.sender.SenderSigningKey.generate(new SecureRandom());
        var sender = dev.keycast.protocol.sender.SenderSigningKey.generate(new SecureRandom());
        HttpResponse<String> genesis =
            post(
                first,
                "/v1/senders/genesis",
                new EnclaveApi.SenderGenesisRequest(
                    List.of(Base64Url.encode(owner.publicKey().raw())),
                    List.of(Base64Url.encode(sender.publicKey().raw()))));
        assertThat(genesis.statusCode()).as(genesis.body()).isEqualTo(200);
        EnclaveApi.SenderSetView senders = json(genesis, EnclaveApi.SenderSetView.class);
        EnclaveApi.SendPayload payload =
            dev.keycast.protocol.sender.SendSigner.sign(
                dev.keycast.protocol.send.SendPayloadSealer.v1(
                        bundle.keySetId(), bundle.receivePublicKey())
                    .seal(policy, secret, new SecureRandom())
                    .toApi(),
                sender,
                Instant.now());
        HttpResponse<String> sent =
            post(first, "/v1/send", new EnclaveApi.SendRequest(payload, List.of(candidate(early))));
        assertThat(sent.statusCode()).as(sent.body()).isEqualTo(200);
        EnclaveApi.SendResponse s = json(sent, EnclaveApi.SendResponse.class);
        assertThat(
                HpkeDeliveryFormat.INSTANCE
                    .open(
                        early, Base64Url.decode("e", s.deliveries().getFirst().envelope(), 1 << 20))
                    .secret())
            .isEqualTo(secret);

        // another server of the same image unseals the persisted key set and forwards
        HttpResponse<String> unseal =
            post(
                second,
                "/v1/keyset/unseal",
                new EnclaveApi.UnsealRequest(ks.sealedKeySet(), REGION, PARENT));
        assertThat(unseal.statusCode()).as(unseal.body()).isEqualTo(200);
        assertThat(json(unseal, EnclaveApi.KeySetResponse.class).keyBundle())
            .isEqualTo(ks.keyBundle());
        // an unsealed key set gets no new genesis, only the sealed set its init gave the host
        assertThat(
                post(
                        second,
                        "/v1/senders/genesis",
                        new EnclaveApi.SenderGenesisRequest(
                            List.of(Base64Url.encode(sender.publicKey().raw())), List.of()))
                    .statusCode())
            .isEqualTo(409);
        HttpResponse<String> restored =
            post(
                second,
                "/v1/senders/restore",
                new EnclaveApi.SenderRestoreRequest(senders.sealedSenderSet()));
        assertThat(restored.statusCode()).as(restored.body()).isEqualTo(200);
        assertThat(json(restored, EnclaveApi.SenderSetView.class).sha256())
            .isEqualTo(senders.sha256());
        HttpResponse<String> fwd =
            post(
                second,
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
                ReceiptVerifier.verify(Base64Url.decode("r", f.receipt(), 1 << 20), bundle)
                    .deliveries())
            .hasSize(1);
      }
    }
  }

  static EnclaveApi.Candidate candidate(X25519PrivateKey k) {
    return new EnclaveApi.Candidate(Base64Url.encode(k.publicKey().toSpkiDer()), List.of());
  }

  static EnclaveServer start(KeySetService keys, MockAttester attester) throws Exception {
    return EnclaveServer.start(
        Endpoint.parse("tcp://127.0.0.1:0"),
        keys,
        attester,
        new SecureRandom(),
        Clock.systemUTC(),
        1,
        new EnclaveMetrics());
  }

  static final HttpClient HTTP =
      HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

  static String base(EnclaveServer s) {
    return "http://127.0.0.1:" + ((TcpEndpoint) s.endpoint()).port();
  }

  static HttpResponse<String> get(EnclaveServer s, String path) throws Exception {
    return HTTP.send(
        HttpRequest.newBuilder(URI.create(base(s) + path)).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  static HttpResponse<String> post(EnclaveServer s, String path, Object body) throws Exception {
    return HTTP.send(
        HttpRequest.newBuilder(URI.create(base(s) + path))
            .header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofByteArray(Json.encode(body)))
            .build(),
        HttpResponse.BodyHandlers.ofString());
  }

  static <T> T json(HttpResponse<String> r, Class<T> type) throws Exception {
    return Json.decode(r.body().getBytes(StandardCharsets.UTF_8), Integer.MAX_VALUE, type);
  }

  /** The key policy from scripts/kms-key-policy for this PCR0 and the parent role. */
  static String keyPolicy(String pcr0Hex) throws Exception {
    Path script = Path.of(System.getProperty("keycast.repo.root"), "scripts", "kms-key-policy");
    Process p =
        new ProcessBuilder("bash", script.toString(), "--pcr0", pcr0Hex, "--role-arn", ROLE_ARN)
            .redirectError(ProcessBuilder.Redirect.DISCARD)
            .start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).isZero();
    return out;
  }
}
