package dev.keycast.host;

import static dev.keycast.host.HostTestSupport.admin;
import static dev.keycast.host.HostTestSupport.json;
import static dev.keycast.host.HostTestSupport.post;
import static org.assertj.core.api.Assertions.assertThat;

import dev.keycast.host.store.SqliteArtefactStore;
import dev.keycast.protocol.api.ErrorBody;
import dev.keycast.protocol.upgrade.ImageApproval;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code POST /admin/keyset/rewrap} (api.md section 2, kms-sealing.md section 7): the host relays
 * an image approval to the enclave's {@code /v1/keyset/rewrap} and answers the enclave's verdict;
 * it stores nothing. The enclave here has no image approvers, so it refuses every approval.
 */
class AdminRewrapRouteTest {
  @TempDir Path dir;
  FakeEnclave enclave;
  SqliteArtefactStore sqlite;
  HostProxy host;

  @BeforeEach
  void setUp() throws Exception {
    enclave = new FakeEnclave().start();
    sqlite = SqliteArtefactStore.open(dir.resolve("k.db"));
    host = HostTestSupport.start(enclave, sqlite, "alias/keycast-test");
    assertThat(host.awaitReady(Duration.ofSeconds(10))).isTrue();
  }

  @AfterEach
  void tearDown() throws Exception {
    host.shutdown();
    enclave.close();
  }

  @Test
  void theHostRelaysTheApprovalAndAnswersTheEnclavesRefusalWithoutStoringAnything()
      throws Exception {
    ImageApproval.Statement s =
        new ImageApproval.Statement(
            enclave.keySet().id(),
            "arn:aws:kms:us-east-1:111122223333:key/22222222-2222-2222-2222-222222222222",
            "1".repeat(96),
            Optional.empty(),
            Optional.empty(),
            "0".repeat(96));
    int versionBefore = sqlite.latestSealedKeySet().orElseThrow().version();
    HttpResponse<byte[]> r =
        post(admin(host) + "/admin/keyset/rewrap", new ImageApproval(s, List.of()).encode());
    assertThat(r.statusCode()).isEqualTo(403);
    assertThat(json(r, ErrorBody.class).error()).isEqualTo("image_approval_refused");
    assertThat(enclave.hits("/v1/keyset/rewrap")).isEqualTo(1);
    assertThat(sqlite.latestSealedKeySet().orElseThrow().version()).isEqualTo(versionBefore);
  }

  @Test
  void aBodyThatIsNotAnApprovalIsAMalformedRequestThatNeverReachesTheEnclave() throws Exception {
    HttpResponse<byte[]> r =
        post(admin(host) + "/admin/keyset/rewrap", "{\"statement\": 1, \"x\": 2}".getBytes());
    assertThat(r.statusCode()).isEqualTo(400);
    assertThat(json(r, ErrorBody.class).error()).isEqualTo("malformed_request");
    assertThat(enclave.hits("/v1/keyset/rewrap")).isZero();
  }
}
