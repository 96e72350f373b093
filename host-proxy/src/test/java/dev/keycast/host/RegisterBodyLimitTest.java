package dev.keycast.host;

import static dev.keycast.host.HostTestSupport.base;
import static dev.keycast.host.HostTestSupport.post;
import static dev.keycast.host.HostTestSupport.text;
import static org.assertj.core.api.Assertions.assertThat;

import dev.keycast.host.HostTestSupport.Recipient;
import dev.keycast.host.server.HostApiService;
import dev.keycast.host.store.SqliteArtefactStore;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A registration is a key and a few labels; its body is refused above
 * {@link HostApiService#MAX_REGISTER_BYTES} before JSON decoding, so an anonymous client cannot
 * make the host materialize millions of label entries from one 64 MiB body.
 */
class RegisterBodyLimitTest {
  @TempDir Path dir;
  FakeEnclave enclave;
  HostProxy host;

  @BeforeEach
  void setUp() throws Exception {
    enclave = new FakeEnclave().start();
    host =
        HostTestSupport.start(
            enclave, SqliteArtefactStore.open(dir.resolve("k.db")), "alias/keycast-test");
    assertThat(host.awaitReady(Duration.ofSeconds(10))).isTrue();
  }

  @AfterEach
  void tearDown() throws Exception {
    HostTestSupport.stop(host, enclave);
  }

  @Test
  void oversizedRegistrationIsRefusedBeforeDecoding() throws Exception {
    StringBuilder b = new StringBuilder("{\"key\":\"x\",\"labels\":{");
    for (int i = 0; b.length() < HostApiService.MAX_REGISTER_BYTES + 1024; i++) {
      b.append(i == 0 ? "" : ",").append("\"l").append(i).append("\":\"\"");
    }
    b.append("}}");
    HttpResponse<byte[]> r =
        post(base(host) + "/v1/recipients", b.toString().getBytes(StandardCharsets.UTF_8));
    assertThat(r.statusCode()).as(text(r)).isEqualTo(413);
    assertThat(text(r)).contains("payload_too_large");
  }

  @Test
  void ordinaryRegistrationStillWorks() throws Exception {
    HttpResponse<byte[]> r =
        post(base(host) + "/v1/recipients", Recipient.generate().registration(base(host)));
    assertThat(r.statusCode()).as(text(r)).isEqualTo(201);
  }
}
