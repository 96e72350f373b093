package dev.keycast.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import dev.keycast.host.store.S3ArtefactStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.S3Exception;

/**
 * Several parents on one S3, for real (issue 28): s3proxy as its own process, two enclaves and two
 * host proxies (processes) sharing one key set and one bucket ({@link TwoParentStack}). Sends go
 * concurrently through both hosts; every recipient fetches and decrypts from either host; a send
 * committed through one host is visible through the other at once; a retried send behaves as
 * storage.md 3 documents. {@code -Dkeycast.twoparent.sends=N} (and {@code .recipients}, {@code
 * .per-send}, {@code .threads}) scales the first test into the run of record (storage.md 4).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class TwoParentS3IT {
  private static final int SENDS = Integer.getInteger("keycast.twoparent.sends", 8);
  private static final int RECIPIENTS = Integer.getInteger("keycast.twoparent.recipients", 6);
  private static final int PER_SEND = Integer.getInteger("keycast.twoparent.per-send", 3);
  private static final int THREADS = Integer.getInteger("keycast.twoparent.threads", 4);

  private final SecureRandom random = new SecureRandom();
  private TwoParentStack stack;
  private Path dir;
  private int started;
  private int passed;

  @BeforeAll
  void startStack() throws Exception {
    dir = Files.createTempDirectory("kc-2p");
    stack = TwoParentStack.start(dir, 2);
  }

  @BeforeEach
  void count() {
    started++;
  }

  @AfterAll
  void stop() throws Exception {
    if (stack != null) {
      stack.close();
    }
    if (passed == started && dir != null) {
      try (Stream<Path> s = Files.walk(dir)) {
        s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      }
    } else if (dir != null) {
      System.err.println("keycast-e2e: two-parent state and logs kept in " + dir);
    }
  }

  @Test
  void twoParentsShareOneS3() throws Exception {
    TwoParentStack s = stack;
    assertThat(RawSend.getJson(s.host(1), "/v1/ready").path("key_set_id").asText())
        .as("both parents unsealed the one key set")
        .startsWith("ks-")
        .isEqualTo(RawSend.getJson(s.host(2), "/v1/ready").path("key_set_id").asText());
    List<Recipient> recipients = Recipients.create(s, "r", RECIPIENTS, THREADS);
    RawSend sender = RawSend.fromBundle(s.bundle());

    // Sends, concurrently through both hosts; each is visible through the other host at once.
    long t0 = System.nanoTime();
    List<RawSend.Payload> payloads = new ArrayList<>();
    for (int k = 0; k < SENDS; k++) {
      List<String> to = new ArrayList<>();
      for (int j = 0; j < Math.min(PER_SEND, RECIPIENTS); j++) {
        to.add(recipients.get((k * PER_SEND + j) % RECIPIENTS).fingerprint());
      }
      payloads.add(sender.seal("two-parent-" + k, secret(), to, s.senderKey("studio")));
    }
    Map<String, RawSend.Answer> answers = new HashMap<>();
    try (ExecutorService pool = Executors.newFixedThreadPool(THREADS)) {
      List<Future<RawSend.Answer>> futures = new ArrayList<>();
      for (int k = 0; k < SENDS; k++) {
        RawSend.Payload p = payloads.get(k);
        int via = 1 + k % 2;
        futures.add(
            pool.submit(
                () -> {
                  RawSend.Answer a = RawSend.post(s.host(via), p);
                  assertThat(a.ok()).as("send %s via host %d: %s", p.secretId(), via, a).isTrue();
                  assertThat(a.replayed()).as("first attempt of %s", p.secretId()).isFalse();
                  assertThat(a.sendId()).isEqualTo(p.sendId());
                  assertThat(a.delivered()).isEqualTo(p.recipients().size());
                  // committed via one host: visible via the other at once (no cache, no wait)
                  assertThat(
                          RawSend.receiptStatus(s.host(3 - via), a.sendId(), s.senderKey("studio")))
                      .as("receipt of %s via the other host", a.sendId())
                      .isEqualTo(200);
                  return a;
                }));
      }
      for (int k = 0; k < SENDS; k++) {
        answers.put(payloads.get(k).secretId(), futures.get(k).get());
      }
    }
    long sendNanos = System.nanoTime() - t0;

    // A retry of a committed send through the other host: the original, replayed.
    RawSend.Payload first = payloads.get(0);
    RawSend.Answer original = answers.get(first.secretId());
    RawSend.Answer retried = RawSend.post(s.host(2), first);
    assertThat(retried.ok()).as("retry via host 2: %s", retried).isTrue();
    assertThat(retried.replayed()).isTrue();
    assertThat(retried.sendId()).isEqualTo(original.sendId());
    assertThat(retried.receiptId()).isEqualTo(original.receiptId());
    assertThat(retried.receipt()).as("the same signed receipt").isEqualTo(original.receipt());

    // One payload through both hosts at once: one commit, and the other attempt is its replay
    // (the later attempt meets the earlier one's objects and waits for its commit: SendRaces);
    // never two sends, a partial one, or an error.
    RawSend.Payload raced =
        sender.seal(
            "two-parent-raced",
            secret(),
            List.of(recipients.get(0).fingerprint()),
            s.senderKey("studio"));
    List<RawSend.Answer> race = Races.both(s, raced);
    assertThat(race).as("raced attempts").allMatch(RawSend.Answer::ok);
    assertThat(race.stream().filter(a -> !a.replayed()).count())
        .as("exactly one committing attempt among %s", race)
        .isEqualTo(1);
    assertThat(race.stream().map(RawSend.Answer::sendId).distinct())
        .containsExactly(raced.sendId());
    assertThat(race.stream().map(RawSend.Answer::receipt).distinct()).hasSize(1);
    payloads.add(raced);

    // Every recipient fetches and decrypts its deliveries from either host.
    long t1 = System.nanoTime();
    Map<String, byte[]> secrets = new HashMap<>();
    Map<String, Integer> expected = new HashMap<>();
    for (RawSend.Payload p : payloads) {
      secrets.put(p.secretId(), p.secret());
      p.recipients().forEach(fp -> expected.merge(fp, 1, Integer::sum));
    }
    Recipients.fetchAll(s, recipients, expected, secrets, THREADS, 1);
    long fetchNanos = System.nanoTime() - t1;
    Recipients.fetchAll(s, recipients, expected, secrets, THREADS, 2);
    s.assertNoSecretInLogs(secrets.values());
    int deliveries = expected.values().stream().mapToInt(Integer::intValue).sum();
    System.out.printf(
        "TWO-PARENT RUN: %d sends (%d recipients each, %d threads) to %d recipients,"
            + " %d deliveries; sends %.1f s (%.1f sends/s, %.1f deliveries/s); first fetch pass"
            + " %.1f s%n",
        SENDS,
        Math.min(PER_SEND, RECIPIENTS),
        THREADS,
        RECIPIENTS,
        deliveries,
        sendNanos / 1e9,
        SENDS / (sendNanos / 1e9),
        (deliveries - 1) / (sendNanos / 1e9),
        fetchNanos / 1e9);
    passed++;
  }

  /**
   * The sender set is the enclave's, in its memory, and each parent's enclave has its own: an
   * owner's change relayed through one host must reach the other parent's enclave (through the
   * store), or a sender added is refused there and, worse, a sender removed is still served there.
   * Without {@code SenderSetKeeper.syncFromStore} the first await below never holds.
   */
  @Test
  void aSenderSetChangedThroughOneParentHoldsOnTheOther() throws Exception {
    TwoParentStack s = stack;
    long v0 = RawSend.getJson(s.host(1), "/v1/senders").path("version").asLong();
    List<Recipient> recipients = Recipients.create(s, "s", 2, 2);
    List<String> to = List.of(recipients.get(0).fingerprint());
    RawSend sender = RawSend.fromBundle(s.bundle());
    RawSend.Answer before =
        RawSend.post(s.host(2), sender.seal("not-yet", secret(), to, s.senderKey("distributor")));
    assertThat(before.error())
        .as("a sender not in the set: %s", before)
        .isEqualTo("sender_unknown");

    List<String> add =
        new ArrayList<>(
            List.of(
                "sender",
                "add",
                "--host",
                s.host(1),
                "--owner-key",
                s.senderKey("owner").toString(),
                "--sender",
                s.senderPub("distributor").toString(),
                "--json"));
    add.addAll(s.pins());
    assertThat(s.cliJson(add).path("version").asLong()).isEqualTo(v0 + 1);
    long t0 = System.nanoTime();
    org.awaitility.Awaitility.await("host 2 admits the sender added through host 1")
        .atMost(java.time.Duration.ofSeconds(30))
        .pollInterval(java.time.Duration.ofMillis(250))
        .until(
            () ->
                RawSend.post(
                        s.host(2), sender.seal("added", secret(), to, s.senderKey("distributor")))
                    .ok());
    System.out.printf(
        "TWO-PARENT SENDER SYNC: added through host 1, admitted by host 2 after %.1f s%n",
        (System.nanoTime() - t0) / 1e9);

    // The owner removes that sender again through host 2 (signed over version 2, which host 2
    // must hold by now), and host 1 stops serving it.
    List<String> remove =
        new ArrayList<>(
            List.of(
                "sender",
                "remove",
                "--host",
                s.host(2),
                "--owner-key",
                s.senderKey("owner").toString(),
                "--sender",
                s.senderPub("distributor").toString(),
                "--json"));
    remove.addAll(s.pins());
    assertThat(s.cliJson(remove).path("version").asLong()).isEqualTo(v0 + 2);
    org.awaitility.Awaitility.await("host 1 refuses the sender removed through host 2")
        .atMost(java.time.Duration.ofSeconds(30))
        .pollInterval(java.time.Duration.ofMillis(250))
        .until(
            () ->
                "sender_unknown"
                    .equals(
                        RawSend.post(
                                s.host(1),
                                sender.seal("removed", secret(), to, s.senderKey("distributor")))
                            .error()));
    for (int h = 1; h <= 2; h++) {
      JsonNode set = RawSend.getJson(s.host(h), "/v1/senders");
      assertThat(set.path("version").asLong())
          .as("sender set via host %d: %s", h, set)
          .isEqualTo(v0 + 2);
    }
    passed++;
  }

  /**
   * Two owner updates signed over the same version, one through each host at the same moment:
   * both enclaves would accept theirs (each holds the version before), but the store keeps one seal
   * of a version. The parent whose seal lost must not go on with its own set (a fork: two sets of
   * one version in force): it hands the stored one back to its enclave and answers {@code 409
   * sender_set_stale} (or its enclave, already handed the stored one, refuses the update as stale),
   * and both parents then hold the same set.
   */
  @Test
  void twoUpdatesOfOneSenderSetVersionDoNotFork() throws Exception {
    TwoParentStack s = stack;
    for (String who : List.of("fork-a", "fork-b")) {
      s.cliJson(
          "sender",
          "keygen",
          "--out-dir",
          s.dir().resolve("senders").toString(),
          "--name",
          who,
          "--json");
    }
    long v0 = RawSend.getJson(s.host(1), "/v1/senders").path("version").asLong();
    org.awaitility.Awaitility.await("both hosts hold sender set version " + v0)
        .atMost(java.time.Duration.ofSeconds(30))
        .until(() -> RawSend.getJson(s.host(2), "/v1/senders").path("version").asLong() == v0);
    List<TwoParentStack.CliRun> runs = new ArrayList<>();
    try (ExecutorService pool = Executors.newFixedThreadPool(2)) {
      java.util.concurrent.CountDownLatch go = new java.util.concurrent.CountDownLatch(1);
      List<Future<TwoParentStack.CliRun>> futures = new ArrayList<>();
      for (int h = 1; h <= 2; h++) {
        List<String> add =
            new ArrayList<>(
                List.of(
                    "sender",
                    "add",
                    "--host",
                    s.host(h),
                    "--owner-key",
                    s.senderKey("owner").toString(),
                    "--sender",
                    s.senderPub(h == 1 ? "fork-a" : "fork-b").toString(),
                    "--json"));
        add.addAll(s.pins());
        futures.add(
            pool.submit(
                () -> {
                  go.await();
                  return TwoParentStack.run(add);
                }));
      }
      go.countDown();
      for (Future<TwoParentStack.CliRun> f : futures) {
        runs.add(f.get());
      }
    }
    assertThat(runs.stream().filter(r -> r.exit() == 0).count())
        .as("exactly one of the two updates of version %d is in force: %s", v0 + 1, runs)
        .isEqualTo(1);
    TwoParentStack.CliRun lost = runs.stream().filter(r -> r.exit() != 0).findFirst().orElseThrow();
    assertThat(lost.err()).as("the losing update: %s", lost).contains("sender_set_stale");
    org.awaitility.Awaitility.await("both hosts hold the one stored set of version " + (v0 + 1))
        .atMost(java.time.Duration.ofSeconds(30))
        .until(
            () -> {
              JsonNode a = RawSend.getJson(s.host(1), "/v1/senders");
              JsonNode b = RawSend.getJson(s.host(2), "/v1/senders");
              return a.path("version").asLong() == v0 + 1
                  && b.path("version").asLong() == v0 + 1
                  && a.path("sha256").asText().equals(b.path("sha256").asText());
            });
    passed++;
  }

  /**
   * The store's commit point is a PUT with {@code If-None-Match: *}; s3proxy's filesystem blob
   * store (the one this stack runs, as its own process) must refuse the second with 412.
   */
  @Test
  void theS3ProxyProcessHonoursIfNoneMatch() {
    try (S3Client s3 =
        S3ArtefactStore.client(
            stack.s3().endpoint(),
            Region.US_EAST_1,
            StaticCredentialsProvider.create(
                AwsBasicCredentials.create(TwoParentStack.ACCESS_KEY, TwoParentStack.SECRET_KEY)),
            2)) {
      String key = "if-none-match-check/" + System.nanoTime();
      s3.putObject(
          b -> b.bucket(TwoParentStack.BUCKET).key(key).ifNoneMatch("*"),
          RequestBody.fromString("first"));
      assertThatThrownBy(
              () ->
                  s3.putObject(
                      b -> b.bucket(TwoParentStack.BUCKET).key(key).ifNoneMatch("*"),
                      RequestBody.fromString("second")))
          .isInstanceOfSatisfying(
              S3Exception.class, e -> assertThat(e.statusCode()).isEqualTo(412));
      assertThat(s3.getObjectAsBytes(b -> b.bucket(TwoParentStack.BUCKET).key(key)).asUtf8String())
          .isEqualTo("first");
    }
    passed++;
  }

  private byte[] secret() {
    byte[] b = new byte[32];
    random.nextBytes(b);
    return b;
  }

  /** A recipient the test created: its fingerprint and private key file. */
  record Recipient(String fingerprint, Path key) {}
}
