package dev.keycast.host;

import static dev.keycast.host.HostTestSupport.base;
import static dev.keycast.host.HostTestSupport.json;
import static dev.keycast.host.HostTestSupport.payload;
import static dev.keycast.host.HostTestSupport.post;
import static dev.keycast.host.HostTestSupport.text;
import static org.assertj.core.api.Assertions.assertThat;

import dev.keycast.host.HostTestSupport.Recipient;
import dev.keycast.host.store.SqliteArtefactStore;
import dev.keycast.protocol.Base64Url;
import dev.keycast.protocol.Fingerprints;
import dev.keycast.protocol.Json;
import dev.keycast.protocol.api.EnclaveApi;
import dev.keycast.protocol.api.HostApi;
import dev.keycast.protocol.policy.SendPolicy;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Candidates the host attaches from the cleartext policy: listed fingerprints, and chains for anchors. */
class HostCandidatesTest {
  @TempDir Path dir;

  private static SendPolicy policy(List<String> fps, List<String> anchors) {
    Instant now = Instant.now().truncatedTo(ChronoUnit.SECONDS);
    return new SendPolicy(
        1,
        "cand-" + System.nanoTime(),
        "t",
        now.minusSeconds(5),
        now.plusSeconds(3600),
        new SendPolicy.RecipientSelector(fps, anchors, null),
        false,
        10,
        null);
  }

  @Test
  void anchorsAttachEveryRecipientWithAChainAndFingerprintsTheListedOnes() throws Exception {
    KeyPair caKey = TestCerts.keyPair("RSA", 2048);
    X509Certificate ca =
        TestCerts.certificate(
            "CN=Test CA", caKey.getPublic(), "CN=Test CA", caKey.getPrivate(), true, null);
    KeyPair leafKey = TestCerts.keyPair("RSA", 2048);
    X509Certificate leaf =
        TestCerts.certificate(
            "CN=projector-1", leafKey.getPublic(), "CN=Test CA", caKey.getPrivate(), false, null);
    String chainPem =
        TestCerts.pem("CERTIFICATE", leaf.getEncoded())
            + TestCerts.pem("CERTIFICATE", ca.getEncoded());
    String leafFp = Fingerprints.ofSpki(leafKey.getPublic().getEncoded());

    try (FakeEnclave enclave = new FakeEnclave().start()) {
      HostProxy host =
          HostTestSupport.start(enclave, SqliteArtefactStore.open(dir.resolve("c.db")), "alias/k");
      try {
        assertThat(host.awaitReady(Duration.ofSeconds(10))).isTrue();
        Recipient x = Recipient.generate();
        assertThat(post(base(host) + "/v1/recipients", x.registration(base(host))).statusCode())
            .isEqualTo(201);
        HttpResponse<byte[]> reg =
            post(
                base(host) + "/v1/recipients",
                HostTestSupport.rsaRegistration(
                    base(host), chainPem, leafKey.getPrivate(), Map.of("site", "hall 1")));
        assertThat(reg.statusCode()).as(text(reg)).isEqualTo(201);
        HostApi.Recipient rsa = json(reg, HostApi.Recipient.class);
        assertThat(rsa.fingerprint()).isEqualTo(leafFp);
        assertThat(rsa.kind()).isEqualTo("rsa");

        String anchor = Base64.getEncoder().encodeToString(ca.getEncoded());
        post(
            base(host) + "/v1/sends",
            Json.encode(
                payload(enclave.keySet(), policy(List.of(), List.of(anchor)), new byte[] {1})));
        List<EnclaveApi.Candidate> c = enclave.lastCandidates;
        assertThat(c).hasSize(1);
        assertThat(c.get(0).key()).isEqualTo(Base64Url.encode(leafKey.getPublic().getEncoded()));
        assertThat(c.get(0).chain())
            .containsExactly(
                Base64Url.encode(leaf.getEncoded()), Base64Url.encode(ca.getEncoded()));

        post(
            base(host) + "/v1/sends",
            Json.encode(
                payload(
                    enclave.keySet(),
                    policy(List.of(x.fingerprint()), List.of(anchor)),
                    new byte[] {2})));
        assertThat(enclave.lastCandidates)
            .extracting(EnclaveApi.Candidate::key)
            .containsExactlyInAnyOrder(
                x.spki(), Base64Url.encode(leafKey.getPublic().getEncoded()));

        // an unregistered fingerprint attaches nothing; the host never decides eligibility itself
        post(
            base(host) + "/v1/sends",
            Json.encode(
                payload(
                    enclave.keySet(),
                    policy(List.of(Recipient.generate().fingerprint()), List.of()),
                    new byte[] {3})));
        assertThat(enclave.lastCandidates).isEmpty();
      } finally {
        host.shutdown();
      }
    }
  }
}
