package dev.keycast.host;

import static dev.keycast.host.HostTestSupport.admin;
import static dev.keycast.host.HostTestSupport.base;
import static dev.keycast.host.HostTestSupport.post;
import static dev.keycast.host.RealEnclaveStack.decode;
import static dev.keycast.host.RealEnclaveStack.resource;
import static org.assertj.core.api.Assertions.assertThat;

import dev.keycast.enclave.keyset.KmsKeySetService;
import dev.keycast.enclave.kms.KmsConnector;
import dev.keycast.host.store.SqliteArtefactStore;
import dev.keycast.kms.mock.MockKms;
import dev.keycast.kms.mock.MockKmsConfig;
import dev.keycast.kms.mock.ProtocolRecipientVerifier;
import dev.keycast.kms.mock.StaticCredential;
import dev.keycast.mock.nitro.MockAttester;
import dev.keycast.mock.nitro.MockMeasurements;
import dev.keycast.protocol.Base64Url;
import dev.keycast.protocol.Json;
import dev.keycast.protocol.api.EnclaveApi;
import dev.keycast.protocol.api.ErrorBody;
import dev.keycast.protocol.cinema.DcCertificateChainValidator;
import dev.keycast.protocol.cinema.DcPem;
import dev.keycast.protocol.cinema.KdmReader;
import dev.keycast.protocol.cinema.KdmSigner;
import dev.keycast.protocol.keyset.KdmSignerKeys;
import dev.keycast.protocol.keyset.SealedKeySet;
import dev.keycast.transport.Endpoint;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 24, the KDM signer leaf issued by the distributor's own CA, end to end through the admin
 * listener: the host relays the enclave's CSR as PEM, stock openssl acting as the distributor's
 * ST 430-2 CA ({@code scripts/lib/dc-certs.sh}) signs it, the host relays the PEM chain to the
 * enclave (real {@link KmsKeySetService}, mock KMS over TLS) and stores the re-sealed key set as
 * the next key-set version; the attestation relayed afterwards carries the distributor's chain,
 * KDMs verify under the distributor's root, and a restart of both keeps it. A chain for a key the
 * host chose is refused with a stable code.
 */
@Timeout(240)
class KdmSignerImportHostTest {
  static final String REGION = RealEnclaveStack.REGION;
  static final String ACCOUNT = "111122223333";
  static final String ROLE_ARN = "arn:aws:iam::" + ACCOUNT + ":role/keycast-parent";
  static final EnclaveApi.AwsCredentials PARENT =
      new EnclaveApi.AwsCredentials(
          "ASIAPARENTTEMP000009",
          "parent-role-secret-for-migration-0000000",
          "session-token-migration-0123456789",
          null);
  static final Path DC_CERTS =
      Path.of("..", "scripts", "lib", "dc-certs.sh").toAbsolutePath().normalize();

  @TempDir Path dir;

  @Test
  void aDistributorCaSignsTheEnclavesCsrAndTheHostStoresTheChainAsTheNextKeySetVersion()
      throws Exception {
    Path ca = Files.createDirectories(dir.resolve("distributor"));
    sh(ca, "source '" + DC_CERTS + "' && dc_manufacturer . dist DISTRIBUTOR.TEST");
    try (World w = new World()) {
      List<byte[]> chain;
      X509Certificate oldRoot;
      try (RealEnclaveStack stack = w.stack()) {
        assertThat(stack.store.latestSealedKeySet().orElseThrow().version())
            .isEqualTo(2); // migrated from v1
        oldRoot = stack.keys.kdmSigner().orElseThrow().root();

        // a chain for a key the host made (its own openssl leaf under the same CA) is refused
        sh(
            ca,
            "source '"
                + DC_CERTS
                + "' && dc_cert . hosts CS.hosts-signer DISTRIBUTOR.TEST KDM 365 dist-ca LEAF"
                + " && cat hosts.pem dist-ca.pem dist-root.pem > hosts-chain.pem");
        HttpResponse<byte[]> refused =
            post(
                admin(stack.host) + "/admin/kdm-signer/chain",
                Files.readAllBytes(ca.resolve("hosts-chain.pem")));
        assertThat(refused.statusCode()).isEqualTo(422);
        assertThat(Json.decode(refused.body(), 4096, ErrorBody.class).error())
            .isEqualTo("kdm_signer_chain_key_mismatch");
        assertThat(stack.store.latestSealedKeySet().orElseThrow().version()).isEqualTo(2);

        // the CSR, as PEM, checked by openssl and signed by the distributor's CA with openssl
        HttpResponse<byte[]> csr =
            post(
                admin(stack.host)
                    + "/admin/kdm-signer/csr?organization=DISTRIBUTOR.TEST&organizational_unit=KDM",
                new byte[0]);
        assertThat(csr.statusCode())
            .as(new String(csr.body(), StandardCharsets.UTF_8))
            .isEqualTo(200);
        assertThat(new String(csr.body(), StandardCharsets.US_ASCII))
            .startsWith("-----BEGIN CERTIFICATE REQUEST-----");
        Files.write(ca.resolve("signer.csr"), csr.body());
        Files.writeString(
            ca.resolve("leaf.ext"),
            "basicConstraints=critical,CA:FALSE\n"
                + "keyUsage=critical,digitalSignature,keyEncipherment\nsubjectKeyIdentifier=hash\n"
                + "authorityKeyIdentifier=keyid\n");
        sh(
            ca,
            "openssl req -in signer.csr -verify -noout"
                + " && openssl x509 -req -sha256 -in signer.csr -CA dist-ca.pem -CAkey dist-ca.key -set_serial 4242"
                + " -days 365 -extfile leaf.ext -out signer.pem"
                + " && cat signer.pem dist-ca.pem dist-root.pem > signer-chain.pem");

        HttpResponse<byte[]> imported =
            post(
                admin(stack.host) + "/admin/kdm-signer/chain",
                Files.readAllBytes(ca.resolve("signer-chain.pem")));
        assertThat(imported.statusCode())
            .as(new String(imported.body(), StandardCharsets.UTF_8))
            .isEqualTo(200);
        EnclaveApi.KeySetResponse r =
            Json.decode(imported.body(), 1 << 20, EnclaveApi.KeySetResponse.class);
        chain = DcPem.parseCertificates(Files.readAllBytes(ca.resolve("signer-chain.pem")));
        assertThat(decode(r.keyBundle().kdmSignerChain()))
            .zipSatisfy(chain, (a, b) -> assertThat(a).isEqualTo(b));

        // stored as key-set version 3, the same data key, the distributor's chain in the header
        var latest = stack.store.latestSealedKeySet().orElseThrow();
        assertThat(latest.version()).isEqualTo(3);
        assertThat(latest.bytes())
            .isEqualTo(Base64Url.decode("s", r.sealedKeySet(), SealedKeySet.MAX_ENCODED));
        assertThat(SealedKeySet.parse(latest.bytes()).signerChain())
            .zipSatisfy(chain, (a, b) -> assertThat(a).isEqualTo(b));
        assertThat(stack.host.status().sealedKeySetVersion()).isEqualTo(3);

        // the relayed attestation carries it; KDMs verify under the distributor's root only
        assertThat(decode(stack.attestedBundle(w.attester).kdmSignerChain()))
            .zipSatisfy(chain, (a, b) -> assertThat(a).isEqualTo(b));
        checkKdm(
            stack.keys.kdmSigner().orElseThrow(),
            KdmSignerKeys.parseChain(chain).get(chain.size() - 1),
            oldRoot);
      }

      // restart of host and enclave: version 3 unseals with the distributor's chain
      try (RealEnclaveStack stack = w.stack()) {
        assertThat(stack.store.latestSealedKeySet().orElseThrow().version()).isEqualTo(3);
        assertThat(decode(stack.attestedBundle(w.attester).kdmSignerChain()))
            .zipSatisfy(chain, (a, b) -> assertThat(a).isEqualTo(b));
        assertThat(stack.keys.kdmSigner().orElseThrow().leaf().getEncoded())
            .isEqualTo(chain.get(0));
      }
    }
  }

  @Test
  void theAdminRoutesAreNotOnThePublicListener() throws Exception {
    try (World w = new World();
        RealEnclaveStack stack = w.stack()) {
      HttpResponse<byte[]> r = post(base(stack.host) + "/admin/kdm-signer/csr", new byte[0]);
      assertThat(r.statusCode()).isEqualTo(404);
      HttpResponse<byte[]> bad =
          post(admin(stack.host) + "/admin/kdm-signer/chain", "not pem".getBytes());
      assertThat(bad.statusCode()).isEqualTo(400);
      assertThat(Json.decode(bad.body(), 4096, ErrorBody.class).error())
          .isEqualTo("malformed_request");
    }
  }

  static void checkKdm(KdmSigner signer, X509Certificate distributorRoot, X509Certificate oldRoot)
      throws Exception {
    var maker =
        dev.keycast.protocol.cinema.TestScreens.manufacturer(
            "MAKER.TEST",
            Instant.now().minus(Duration.ofDays(30)),
            Instant.now().plus(Duration.ofDays(365)),
            true,
            new SecureRandom());
    var screen =
        dev.keycast.protocol.cinema.TestScreens.screen(
            maker,
            dev.keycast.protocol.cinema.TestScreens.Spec.valid(
                Instant.now().minus(Duration.ofDays(30)), Instant.now().plus(Duration.ofDays(365))),
            new SecureRandom());
    byte[] key = new byte[16];
    new SecureRandom().nextBytes(key);
    var keys =
        dev.keycast.protocol.cinema.ContentKeySet.of(
            java.util.UUID.randomUUID(),
            "Distributor CA test",
            List.of(
                dev.keycast.protocol.cinema.ContentKey.of(
                    java.util.UUID.randomUUID(), dev.keycast.protocol.cinema.KeyType.MDIK, key)));
    var from = java.time.OffsetDateTime.now(java.time.ZoneOffset.UTC).plusHours(1).withNano(0);
    byte[] kdm =
        dev.keycast.protocol.cinema.KdmWriter.write(
            signer,
            dev.keycast.protocol.cinema.KdmRequest.modifiedTransitional1(
                keys,
                DcCertificateChainValidator.validateScreen(screen.chain(), Instant.now()),
                from,
                from.plusDays(2),
                java.util.UUID.randomUUID(),
                java.time.OffsetDateTime.now(java.time.ZoneOffset.UTC).withNano(0)),
            new SecureRandom());
    assertThat(KdmReader.read(kdm, distributorRoot, screen.privateKey()).blocks()).hasSize(1);
    org.assertj.core.api.Assertions.assertThatThrownBy(
            () -> KdmReader.read(kdm, oldRoot, screen.privateKey()))
        .isInstanceOf(dev.keycast.protocol.cinema.CinemaException.class);
  }

  static void sh(Path cwd, String script) throws Exception {
    Process p =
        new ProcessBuilder("bash", "-c", "set -e; " + script)
            .directory(cwd.toFile())
            .redirectErrorStream(true)
            .start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).as("%s: %s", script, out).isZero();
  }

  /** The mock KMS with the golden key's state, the enclave image it admits, a host store with key set v1. */
  final class World implements AutoCloseable {
    final MockAttester attester;
    final MockKms kms;
    final KmsConnector connector;
    final Path db = dir.resolve("host.db");

    World() throws Exception {
      String keyArn = new String(resource("key-arn.txt"), StandardCharsets.US_ASCII).trim();
      String keyId = keyArn.substring(keyArn.lastIndexOf('/') + 1);
      Path kmsState = Files.createDirectories(dir.resolve("kms/keys"));
      for (String f : List.of(keyId + ".json", keyId + ".key")) {
        Files.write(kmsState.resolve(f), resource("kms/keys/" + f));
      }
      Path app = dir.resolve("app.jar");
      Files.writeString(app, "the enclave image");
      attester =
          MockAttester.create(
              dir.resolve("attester"), MockMeasurements.of(List.of(app), "rt"), Clock.systemUTC());
      try (SqliteArtefactStore seed = SqliteArtefactStore.open(db)) {
        seed.putSealedKeySet(1, resource("sealed-key-set-v1.bin"));
      }
      kms =
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
      connector =
          KmsConnector.trusting(
              Endpoint.parse("tcp://127.0.0.1:" + kms.port()),
              kms.tlsCertificateFile().orElseThrow());
    }

    RealEnclaveStack stack() throws Exception {
      return new RealEnclaveStack(attester, connector, db, PARENT, dir.resolve("sender-set.bin"));
    }

    @Override
    public void close() throws Exception {
      connector.close();
      kms.close();
    }
  }
}
