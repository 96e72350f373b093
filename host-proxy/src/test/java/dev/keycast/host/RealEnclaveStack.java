package dev.keycast.host;

import static dev.keycast.host.HostTestSupport.base;
import static dev.keycast.host.HostTestSupport.get;
import static dev.keycast.host.HostTestSupport.json;
import static org.assertj.core.api.Assertions.assertThat;

import dev.keycast.enclave.keyset.KmsKeySetService;
import dev.keycast.enclave.kms.KmsConnector;
import dev.keycast.enclave.server.EnclaveMetrics;
import dev.keycast.enclave.server.EnclaveServer;
import dev.keycast.host.egress.StaticCredentials;
import dev.keycast.host.store.SqliteArtefactStore;
import dev.keycast.mock.nitro.MockAttester;
import dev.keycast.protocol.Base64Url;
import dev.keycast.protocol.api.EnclaveApi;
import dev.keycast.protocol.attestation.AttestationVerifier;
import dev.keycast.protocol.attestation.ExpectedPcrs;
import dev.keycast.protocol.attestation.TrustRoot;
import dev.keycast.protocol.attestation.VerificationPolicy;
import dev.keycast.protocol.keyset.KeyBundle;
import dev.keycast.protocol.keyset.KmsKeyCheck;
import dev.keycast.transport.Endpoint;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * Test support: a real enclave server (a fresh {@link KmsKeySetService} over the given KMS
 * connector) and a host on a SQLite file, ready; for the tests that drive the KDM signer through
 * both (key-set migration, distributor-CA import).
 */
final class RealEnclaveStack implements AutoCloseable {
  static final String REGION = "us-east-1";

  /** The golden version 1 sealed key set and the mock KMS state that opens it. */
  static final String GOLDEN = "/golden/sealed-key-set-v1/";

  final KmsKeySetService keys;
  final EnclaveServer enclave;
  final SqliteArtefactStore store;
  final HostProxy host;

  RealEnclaveStack(
      MockAttester attester,
      KmsConnector connector,
      Path db,
      EnclaveApi.AwsCredentials parent,
      Path senderSetFile)
      throws Exception {
    keys = KmsKeySetService.create(attester, new SecureRandom(), connector);
    enclave =
        EnclaveServer.start(
            Endpoint.parse("tcp://127.0.0.1:0"),
            keys,
            attester,
            new SecureRandom(),
            Clock.systemUTC(),
            2,
            new EnclaveMetrics());
    Endpoint ep = enclave.endpoint();
    HostProxy.Config b = HostTestSupport.config(new FakeEnclave(), null);
    HostProxy.Config cfg =
        new HostProxy.Config(
            ep,
            b.listen(),
            b.admin(),
            REGION,
            null,
            null,
            null,
            null,
            null,
            null,
            null,
            dev.keycast.host.bridge.EnclaveClient.Settings.defaults(ep)
                .withResponseTimeout(Duration.ofSeconds(60)),
            b.shutdownGrace(),
            b.idleTimeout(),
            b.credentialsRefresh());
    store = SqliteArtefactStore.open(db);
    host =
        new HostProxy(
            cfg,
            store,
            "test",
            new StaticCredentials(
                parent.accessKeyId(), parent.secretAccessKey(), parent.sessionToken()),
            Clock.systemUTC(),
            dev.keycast.host.server.UploadLimits.defaults(),
            HostTestSupport.senderSettings(senderSetFile));
    host.start();
    assertThat(host.awaitReady(Duration.ofSeconds(120)))
        .as("host ready: %s", host.status())
        .isTrue();
  }

  /** GET /v1/attestation through the host, verified: user_data is the bundle with its chain. */
  EnclaveApi.KeyBundle attestedBundle(MockAttester attester) throws Exception {
    byte[] nonce = new byte[16];
    new SecureRandom().nextBytes(nonce);
    EnclaveApi.AttestationResponse a =
        json(
            get(base(host) + "/v1/attestation?nonce=" + Base64Url.encode(nonce)),
            EnclaveApi.AttestationResponse.class);
    EnclaveApi.KeyBundle b = a.keyBundle();
    KeyBundle bundle =
        new KeyBundle(
                b.keySetId(),
                Base64Url.decode("r", b.receivePublicKey(), 32),
                Base64Url.decode("s", b.signingPublicKey(), 32),
                b.kmsKeyId())
            .withKmsKeyCheck(
                new KmsKeyCheck(
                    b.kmsKeyCheck().locked(),
                    Base64Url.decode("p", b.kmsKeyCheck().policySha256(), 32)))
            .withKdmSignerChain(decode(b.kdmSignerChain()));
    Path state = attester.stateDirectory();
    AttestationVerifier.create(
            VerificationPolicy.builder()
                .trustRoots(
                    List.of(
                        TrustRoot.fromPem(
                            "mock", Files.readAllBytes(state.resolve(MockAttester.ROOT_FILE)))))
                .expectedPcrs(
                    ExpectedPcrs.parseJson(
                        Files.readAllBytes(state.resolve(MockAttester.MEASUREMENTS_FILE))))
                .expectedNonce(nonce)
                .expectedUserData(bundle.userData())
                .expectedPublicKey(bundle.receivePublicKeySpki())
                .build())
        .verify(Base64Url.decode("document", a.document(), 1 << 20));
    return b;
  }

  @Override
  public void close() throws InterruptedException {
    host.shutdown();
    enclave.close();
  }

  /** The attested {@code kdm_signer_chain}, DER. */
  static List<byte[]> decode(List<String> chain) throws Exception {
    assertThat(chain).as("kdm_signer_chain").isNotNull();
    List<byte[]> out = new ArrayList<>();
    for (String c : chain) {
      out.add(Base64Url.decode("kdm_signer_chain", c, 8192));
    }
    return out;
  }

  /** A file of {@link #GOLDEN}. */
  static byte[] resource(String name) throws Exception {
    try (InputStream in = RealEnclaveStack.class.getResourceAsStream(GOLDEN + name)) {
      assertThat(in).as(GOLDEN + name).isNotNull();
      return in.readAllBytes();
    }
  }
}
