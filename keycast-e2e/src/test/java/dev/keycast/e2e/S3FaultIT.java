package dev.keycast.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Two parents on one S3 with a {@link FaultRelay} between both hosts and s3proxy. Sends made while
 * the relay answers 500 or 503, resets connections, stalls, or is switched in the middle of a
 * send either commit wholly (acknowledged, then fetched and decrypted through either host) or fail
 * with a clear error code and leave nothing visible; once the relay is healthy again the next
 * sends succeed with nothing restarted; and s3proxy's own restart loses nothing acknowledged.
 */
class S3FaultIT {
  private static final List<String> CLEAR_FAILURES = List.of("store_unavailable");

  private final SecureRandom random = new SecureRandom();
  private final Map<String, byte[]> secrets = new HashMap<>();
  private final Map<String, Integer> expected = new HashMap<>();
  private final List<RawSend.Payload> failed = new ArrayList<>();
  private TwoParentStack stack;
  private Path dir;
  private boolean passed;

  @AfterEach
  void stop() throws Exception {
    if (stack != null) {
      stack.close();
    }
    if (passed && dir != null) {
      try (Stream<Path> s = Files.walk(dir)) {
        s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      }
    } else if (dir != null) {
      System.err.println("keycast-e2e: fault-test state and logs kept in " + dir);
    }
  }

  @Test
  void sendsDuringS3FaultsCommitWhollyOrFailCleanly() throws Exception {
    dir = Files.createTempDirectory("kc-s3f");
    stack = TwoParentStack.start(dir, 2);
    TwoParentStack s = stack;
    FaultRelay relay = s.relay();
    List<TwoParentS3IT.Recipient> recipients = Recipients.create(s, "f", 4, 2);
    List<String> all = recipients.stream().map(TwoParentS3IT.Recipient::fingerprint).toList();
    RawSend sender = RawSend.fromBundle(s.bundle());

    // 1. Whole-request faults: every S3 request fails; each send fails with a clear code.
    for (FaultRelay.Mode m :
        List.of(FaultRelay.Mode.HTTP_503, FaultRelay.Mode.HTTP_500, FaultRelay.Mode.CUT)) {
      FaultRelay.Counts before = relay.counts();
      relay.mode(m);
      List<RawSend.Answer> answers = sendBoth(s, sender, m.name(), all.subList(0, 2));
      relay.mode(FaultRelay.Mode.PASS);
      FaultRelay.Counts after = relay.counts();
      assertThat(after.answered() + after.cut())
          .as("the relay injected %s", m)
          .isGreaterThan(before.answered() + before.cut());
      assertThat(answers).as("sends while S3 is %s", m).noneMatch(RawSend.Answer::ok);
    }

    // 2. A stall: requests hang until the relay is healthy again, then go on or fail clearly.
    relay.mode(FaultRelay.Mode.STALL);
    try (ExecutorService pool = Executors.newSingleThreadExecutor()) {
      Future<List<RawSend.Answer>> stalled =
          pool.submit(() -> sendBoth(s, sender, "STALL", all.subList(1, 3)));
      await("a request stalled in the relay")
          .atMost(Duration.ofSeconds(60))
          .until(() -> relay.counts().stalled() > 0);
      assertThat(stalled.isDone()).as("sends wait while S3 stalls").isFalse();
      relay.mode(FaultRelay.Mode.PASS);
      stalled.get();
    }

    // 3. Switched in the middle of a send: some of its objects written, then resets.
    for (FaultRelay.Mode m : List.of(FaultRelay.Mode.CUT, FaultRelay.Mode.HTTP_503)) {
      long bytes = relay.counts().bytesToServer();
      try (ExecutorService pool = Executors.newSingleThreadExecutor()) {
        Future<List<RawSend.Answer>> mid =
            pool.submit(() -> sendBoth(s, sender, "MID-" + m.name(), all));
        await("the sends reached S3")
            .atMost(Duration.ofSeconds(60))
            .pollInterval(Duration.ofMillis(5))
            .until(() -> relay.counts().bytesToServer() > bytes + 8000);
        relay.mode(m);
        mid.get();
        relay.mode(FaultRelay.Mode.PASS);
      }
    }
    assertThat(failed).as("sends that failed under injected faults").isNotEmpty();

    // 4. Healthy again, nothing restarted: nothing of a failed send is visible through either
    //    host; its retry commits or is the documented conflict (storage.md 3); new sends succeed.
    int lostAcknowledgements = 0;
    List<RawSend.Answer> retries = new ArrayList<>();
    try (ExecutorService pool = Executors.newFixedThreadPool(Math.max(1, failed.size()))) {
      List<Future<RawSend.Answer>> futures = new ArrayList<>();
      for (RawSend.Payload p : failed) {
        int seen1 = RawSend.receiptStatus(s.host(1), p.sendId(), s.senderKey("studio"));
        int seen2 = RawSend.receiptStatus(s.host(2), p.sendId(), s.senderKey("studio"));
        assertThat(seen2).as("both hosts agree on failed send %s", p.sendId()).isEqualTo(seen1);
        assertThat(seen1).as("failed send %s", p.sendId()).isIn(200, 404);
        if (seen1 == 200) {
          // the manifest PUT reached S3 but its answer was lost (storage.md 3, crash table row
          // 4): committed as a whole, and the retry must be its replay
          lostAcknowledgements++;
        }
        futures.add(pool.submit(() -> RawSend.post(s.host(1), p)));
      }
      for (Future<RawSend.Answer> f : futures) {
        retries.add(f.get());
      }
    }
    for (int i = 0; i < failed.size(); i++) {
      RawSend.Payload p = failed.get(i);
      RawSend.Answer a = retries.get(i);
      if (a.ok()) {
        assertThat(a.sendId()).isEqualTo(p.sendId());
        committed(p);
      } else {
        // failed after its objects were written: the documented conflict (storage.md 3)
        assertThat(a.error())
            .as("retry of failed send %s: %s", p.sendId(), a)
            .isEqualTo("send_conflict");
        assertThat(RawSend.receiptStatus(s.host(2), p.sendId(), s.senderKey("studio")))
            .as("failed send %s stays invisible", p.sendId())
            .isEqualTo(404);
      }
    }
    assertThat(retries.stream().filter(RawSend.Answer::replayed).count())
        .as("replayed retries: the sends committed without their acknowledgement")
        .isEqualTo(lostAcknowledgements);
    for (int h = 1; h <= 2; h++) {
      RawSend.Payload p = sender.seal("after-" + h, secret(), all, s.senderKey("studio"));
      RawSend.Answer a = RawSend.post(s.host(h), p);
      assertThat(a.ok()).as("a send via host %d once S3 is healthy: %s", h, a).isTrue();
      committed(p);
    }
    Recipients.fetchAll(s, recipients, expected, secrets, 2, 1);

    // 5. s3proxy itself restarts (filesystem blob store): acknowledged sends survive and the
    //    hosts go on without a restart.
    s.s3().restart();
    for (int h = 1; h <= 2; h++) {
      RawSend.Payload p = sender.seal("restart-" + h, secret(), all, s.senderKey("studio"));
      RawSend.Answer a = RawSend.post(s.host(h), p);
      assertThat(a.ok()).as("a send via host %d after s3proxy restarted: %s", h, a).isTrue();
      committed(p);
    }
    Recipients.fetchAll(s, recipients, expected, secrets, 2, 2);
    System.out.printf(
        "S3 FAULTS: %d sends failed (%d of them committed, acknowledgement lost), %d committed"
            + " in all; relay %s%n",
        failed.size(), lostAcknowledgements, secrets.size(), relay.counts());
    passed = true;
  }

  /** One send through each host, concurrently; records each as committed or failed. */
  private List<RawSend.Answer> sendBoth(
      TwoParentStack s, RawSend sender, String tag, List<String> to) throws Exception {
    List<RawSend.Payload> payloads = new ArrayList<>();
    for (int h = 1; h <= 2; h++) {
      payloads.add(sender.seal(tag + "-" + h, secret(), to, s.senderKey("studio")));
    }
    List<RawSend.Answer> answers = new ArrayList<>();
    try (ExecutorService pool = Executors.newFixedThreadPool(2)) {
      List<Future<RawSend.Answer>> futures = new ArrayList<>();
      for (int h = 1; h <= 2; h++) {
        RawSend.Payload p = payloads.get(h - 1);
        String host = s.host(h);
        futures.add(pool.submit(() -> RawSend.post(host, p)));
      }
      for (int i = 0; i < 2; i++) {
        RawSend.Answer a = futures.get(i).get();
        RawSend.Payload p = payloads.get(i);
        answers.add(a);
        if (a.ok()) {
          assertThat(a.sendId()).isEqualTo(p.sendId());
          // acknowledged: visible through both hosts at once
          for (int h = 1; h <= 2; h++) {
            assertThat(RawSend.receiptStatus(s.host(h), a.sendId(), s.senderKey("studio")))
                .isEqualTo(200);
          }
          committed(p);
        } else {
          assertThat(a.error())
              .as("send %s failed with a clear code: %s", p.secretId(), a)
              .isIn(CLEAR_FAILURES);
          assertThat(a.status()).isEqualTo(503);
          failed.add(p);
        }
      }
    }
    return answers;
  }

  private void committed(RawSend.Payload p) {
    secrets.put(p.secretId(), p.secret());
    p.recipients().forEach(fp -> expected.merge(fp, 1, Integer::sum));
  }

  private byte[] secret() {
    byte[] b = new byte[32];
    random.nextBytes(b);
    return b;
  }
}
