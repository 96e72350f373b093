package dev.keycast.host;

import static dev.keycast.host.HostTestSupport.base;
import static dev.keycast.host.HostTestSupport.json;
import static dev.keycast.host.HostTestSupport.payload;
import static dev.keycast.host.HostTestSupport.policy;
import static dev.keycast.host.HostTestSupport.post;
import static org.assertj.core.api.Assertions.assertThat;

import dev.keycast.host.HostTestSupport.Recipient;
import dev.keycast.host.store.SqliteArtefactStore;
import dev.keycast.protocol.Json;
import dev.keycast.protocol.api.HostApi;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A 2,000-recipient send and a burst of small sends through the host (numbers printed). */
class HostThroughputTest {
  @TempDir Path dir;

  @Test
  void fanOutAndConcurrentSends() throws Exception {
    try (FakeEnclave enclave = new FakeEnclave().start()) {
      SqliteArtefactStore store = SqliteArtefactStore.open(dir.resolve("t.db"));
      HostProxy host = HostTestSupport.start(enclave, store, "alias/k");
      try {
        assertThat(host.awaitReady(Duration.ofSeconds(10))).isTrue();
        ExecutorService pool = Executors.newFixedThreadPool(8);
        List<Future<Recipient>> regs = new ArrayList<>();
        for (int i = 0; i < 2000; i++) {
          regs.add(
              pool.submit(
                  () -> {
                    Recipient r = Recipient.generate();
                    assertThat(
                            post(base(host) + "/v1/recipients", r.registration(base(host)))
                                .statusCode())
                        .isEqualTo(201);
                    return r;
                  }));
        }
        List<String> fps = new ArrayList<>();
        for (Future<Recipient> f : regs) {
          fps.add(f.get().fingerprint());
        }
        long t0 = System.nanoTime();
        HttpResponse<byte[]> r =
            post(
                base(host) + "/v1/sends",
                Json.encode(payload(enclave.keySet(), policy("fan", fps, false), new byte[] {1})));
        long fanMs = (System.nanoTime() - t0) / 1_000_000;
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(json(r, HostApi.SendResult.class).delivered()).hasSize(2000);

        List<Future<Integer>> sends = new ArrayList<>();
        long t1 = System.nanoTime();
        for (int i = 0; i < 200; i++) {
          byte[] body =
              Json.encode(
                  payload(
                      enclave.keySet(),
                      policy("small-" + i, fps.subList(i, i + 1), false),
                      new byte[] {2}));
          sends.add(pool.submit(() -> post(base(host) + "/v1/sends", body).statusCode()));
        }
        for (Future<Integer> f : sends) {
          assertThat(f.get()).isEqualTo(200);
        }
        long burstMs = (System.nanoTime() - t1) / 1_000_000;
        System.out.printf(
            "host throughput: 2000-recipient send %d ms (fake enclave, SQLite); "
                + "200 one-recipient sends from 8 clients %d ms (%.0f/s)%n",
            fanMs, burstMs, 200_000.0 / Math.max(1, burstMs));
        pool.shutdown();
      } finally {
        host.shutdown();
      }
    }
  }
}
