package dev.keycast.host.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The behaviour every {@link ArtefactStore} must have. Subclasses supply a fresh, empty store
 * and a way to reopen it (a new instance on the same file or bucket).
 */
abstract class ArtefactStoreContract {

  static final Instant T0 = Instant.parse("2026-01-01T00:00:00.123Z");

  protected ArtefactStore store;

  /** A new, empty store. */
  protected abstract ArtefactStore openFresh() throws Exception;

  /** Closes {@code current} and opens a new instance on the same storage. */
  protected abstract ArtefactStore reopen(ArtefactStore current) throws Exception;

  @BeforeEach
  void setUp() throws Exception {
    store = openFresh();
  }

  @AfterEach
  void tearDown() throws Exception {
    if (store != null) {
      store.close();
    }
  }

  // ------------------------------------------------------------------ fixtures

  static String fp(String seed) {
    return HexFormat.of().formatHex(sha256(seed));
  }

  static byte[] sha256(String s) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  static RecipientRecord recipient(String seed) {
    return new RecipientRecord(
        fp(seed),
        seed.hashCode() % 2 == 0 ? "rsa" : "x25519",
        bytes("spki-" + seed),
        Map.of("site", "cinema-" + seed),
        T0);
  }

  /** A delivery of {@code sendId} to recipient {@code fp(recipientSeed)}, with its derived id. */
  static Delivery delivery(String sendId, String recipientSeed, int i) {
    return new Delivery(
        id(sendId, recipientSeed),
        fp(recipientSeed),
        "hpke-v1",
        bytes("envelope " + sendId + " " + recipientSeed));
  }

  /** The delivery id of {@code sendId} for {@code fp(recipientSeed)} (api.md 1.1 step 7). */
  static String id(String sendId, String recipientSeed) {
    return dev.keycast.protocol.DeliveryIds.of(sendId, fp(recipientSeed));
  }

  static SendMetadata meta(String sendId, String payload, boolean late, Instant notAfter) {
    return new SendMetadata(
        sendId,
        sha256(payload),
        bytes("{\"policy\":\"" + sendId + "\"}"),
        late,
        T0,
        notAfter,
        bytes("sealed-" + sendId),
        T0.plusSeconds(1));
  }

  static SendRecord send(String sendId, String payload, List<Delivery> deliveries) {
    return send(meta(sendId, payload, true, null), deliveries);
  }

  static SendRecord send(SendMetadata m, Iterable<Delivery> deliveries) {
    return new SendRecord(m, receipt(m.sendId(), m.sendId()), deliveries);
  }

  static ReceiptRecord receipt(String receiptId, String sendId) {
    return new ReceiptRecord(receiptId, sendId, bytes("receipt " + receiptId), T0.plusSeconds(2));
  }

  /** A single-pass lazy stream of {@code n} deliveries to recipients {@code seed0..}. */
  static Iterable<Delivery> generated(String sendId, int n) {
    return () ->
        new Iterator<>() {
          int i;

          @Override
          public boolean hasNext() {
            return i < n;
          }

          @Override
          public Delivery next() {
            if (i >= n) {
              throw new NoSuchElementException();
            }
            Delivery d = delivery(sendId, "g" + i, i);
            i++;
            return d;
          }
        };
  }

  static StoreException.Code code(ThrowingRunnable r) {
    try {
      r.run();
    } catch (StoreException e) {
      return e.code();
    } catch (Exception e) {
      throw new AssertionError("expected StoreException, got " + e, e);
    }
    throw new AssertionError("expected StoreException, nothing thrown");
  }

  @FunctionalInterface
  interface ThrowingRunnable {
    void run() throws Exception;
  }

  // ------------------------------------------------------------------ key sets

  @Test
  void keySetIsNeverOverwritten() throws Exception {
    assertThat(store.latestSealedKeySet()).isEmpty();
    store.putSealedKeySet(1, bytes("ks1"));
    store.putSealedKeySet(2, bytes("ks2"));
    assertThat(store.latestSealedKeySet()).contains(new StoredKeySet(2, bytes("ks2")));

    assertThat(code(() -> store.putSealedKeySet(2, bytes("evil"))))
        .isEqualTo(StoreException.Code.CONFLICT);
    assertThat(code(() -> store.putSealedKeySet(1, bytes("ks1"))))
        .isEqualTo(StoreException.Code.CONFLICT);
    assertThat(store.latestSealedKeySet()).contains(new StoredKeySet(2, bytes("ks2")));

    store.putSealedKeySet(10, bytes("ks10")); // numeric, not lexicographic, order
    assertThat(store.latestSealedKeySet().orElseThrow().version()).isEqualTo(10);
  }

  // ------------------------------------------------------------------ sender sets

  /** A host rolling the sender set back (a lower version, or other bytes under a stored version) changes nothing. */
  @Test
  void aLowerSenderSetVersionNeverReplacesAHigherOne() throws Exception {
    assertThat(store.latestSealedSenderSet()).isEmpty();
    store.putSealedSenderSet(1, bytes("ss1"));
    store.putSealedSenderSet(3, bytes("ss3"));
    assertThat(store.latestSealedSenderSet()).contains(new StoredSenderSet(3, bytes("ss3")));
    store.putSealedSenderSet(2, bytes("ss2")); // late writer of an older version
    assertThat(store.latestSealedSenderSet()).contains(new StoredSenderSet(3, bytes("ss3")));
    assertThat(code(() -> store.putSealedSenderSet(3, bytes("evil"))))
        .isEqualTo(StoreException.Code.CONFLICT);
    assertThat(code(() -> store.putSealedSenderSet(1, bytes("ss1"))))
        .isEqualTo(StoreException.Code.CONFLICT);
    store.putSealedSenderSet(10, bytes("ss10")); // numeric, not lexicographic, order
    store = reopen(store);
    assertThat(store.latestSealedSenderSet()).contains(new StoredSenderSet(10, bytes("ss10")));
  }

  @Test
  void twoWritersOfOneSenderSetVersionCannotBothWin() throws Exception {
    int writers = 8;
    java.util.concurrent.atomic.AtomicInteger won = new java.util.concurrent.atomic.AtomicInteger();
    java.util.concurrent.atomic.AtomicInteger lost =
        new java.util.concurrent.atomic.AtomicInteger();
    List<Thread> threads = new java.util.ArrayList<>();
    for (int i = 0; i < writers; i++) {
      byte[] mine = bytes("writer-" + i);
      threads.add(
          Thread.ofVirtual()
              .start(
                  () -> {
                    try {
                      store.putSealedSenderSet(5, mine);
                      won.incrementAndGet();
                    } catch (StoreException e) {
                      if (e.code() == StoreException.Code.CONFLICT) {
                        lost.incrementAndGet();
                      }
                    }
                  }));
    }
    for (Thread t : threads) {
      t.join();
    }
    assertThat(won.get()).isEqualTo(1);
    assertThat(lost.get()).isEqualTo(writers - 1);
    assertThat(store.latestSealedSenderSet().orElseThrow().version()).isEqualTo(5);
  }

  // ------------------------------------------------------------------ recipients

  @Test
  void replaceRecipientRegistersOrReplacesTheWholeRecord() throws Exception {
    RecipientRecord first = recipient("rep");
    assertThat(store.replaceRecipient(first)).isEqualTo(first);
    RecipientRecord newer =
        new RecipientRecord(
            first.fingerprint(),
            first.kind(),
            bytes("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"),
            Map.of("site", "hall 2"),
            T0.plusSeconds(60));
    assertThat(store.replaceRecipient(newer)).isEqualTo(newer);
    assertThat(store.findRecipients(List.of(first.fingerprint()))).containsExactly(newer);
    assertThat(store.countRecipients()).isEqualTo(1);
  }

  @Test
  void recipientsAreIdempotentFindableAndPaged() throws Exception {
    List<String> fps = new ArrayList<>();
    for (int i = 0; i < 25; i++) {
      RecipientRecord r = recipient("r" + i);
      assertThat(store.putRecipient(r)).isEqualTo(r);
      fps.add(r.fingerprint());
    }
    fps.sort(null);
    RecipientRecord first = recipient("r3");
    RecipientRecord again =
        new RecipientRecord(
            first.fingerprint(),
            first.kind(),
            first.publicKeyOrChain(),
            Map.of("site", "changed"),
            T0.plusSeconds(99));
    assertThat(store.putRecipient(again)).isEqualTo(first);
    assertThat(store.countRecipients()).isEqualTo(25);

    assertThat(store.findRecipients(List.of(fp("r1"), fp("nobody"), fp("r7"))))
        .extracting(RecipientRecord::fingerprint)
        .containsExactlyInAnyOrder(fp("r1"), fp("r7"));
    assertThat(store.findRecipients(List.of(fp("r3")))).containsExactly(first);
    assertThat(store.findRecipients(List.of())).isEmpty();

    List<String> seen = new ArrayList<>();
    String after = null;
    int pages = 0;
    while (true) {
      List<RecipientRecord> page = store.listRecipients(after, 10);
      if (page.isEmpty()) {
        break;
      }
      assertThat(page.size()).isLessThanOrEqualTo(10);
      page.forEach(r -> seen.add(r.fingerprint()));
      after = page.getLast().fingerprint();
      pages++;
    }
    assertThat(seen).isEqualTo(fps);
    assertThat(pages).isEqualTo(3);
  }

  // ------------------------------------------------------------------ sends

  @Test
  void sendIsCommittedWithEveryArtefact() throws Exception {
    SendRecord s =
        send(
            "s1",
            "payload-1",
            List.of(delivery("s1", "a", 1), delivery("s1", "b", 2), delivery("s1", "c", 3)));
    SendCommit c = store.commitSend(s);
    assertThat(c.replayed()).isFalse();
    assertThat(c.send().deliveryCount()).isEqualTo(3);
    assertThat(c.receipt()).isEqualTo(s.receipt());

    StoredSend stored = store.getSend("s1").orElseThrow();
    assertThat(stored.metadata()).isEqualTo(s.metadata());
    assertThat(stored.receiptId()).isEqualTo("s1");
    assertThat(stored.deliveryCount()).isEqualTo(3);
    assertThat(store.findSend("s1", sha256("payload-1"))).contains(stored);
    assertThat(store.findSend("s1", sha256("other"))).isEmpty();
    assertThat(store.findSend("s2", sha256("payload-1"))).isEmpty();
    assertThat(store.getSend("nope")).isEmpty();
    assertThat(store.getReceipt("s1")).contains(s.receipt());
    assertThat(store.receiptsForSend("s1")).containsExactly(s.receipt());

    StoredDelivery d = store.getDelivery(id("s1", "b")).orElseThrow();
    assertThat(d.delivery()).isEqualTo(delivery("s1", "b", 2));
    assertThat(d.sendId()).isEqualTo("s1");
    assertThat(d.receiptId()).isEqualTo("s1");
    assertThat(store.getDelivery("missing")).isEmpty();
    assertThat(store.listDeliveries(fp("c"), null, 10))
        .extracting(StoredDelivery::deliveryId)
        .containsExactly(id("s1", "c"));
    assertThat(store.hasDelivery("s1", fp("a"))).isTrue();
    assertThat(store.hasDelivery("s1", fp("z"))).isFalse();
    assertThat(store.hasDelivery("s2", fp("a"))).isFalse();
  }

  @Test
  void retriedSendReturnsTheOriginalWithoutReadingDeliveries() throws Exception {
    SendRecord orig = send("orig", "same-payload", List.of(delivery("orig", "a", 1)));
    store.commitSend(orig);
    Iterable<Delivery> untouchable =
        () -> {
          throw new AssertionError("a replayed send must not read its deliveries");
        };
    // the retry's other fields (here its creation time) are not what is kept
    SendMetadata again =
        new SendMetadata(
            "orig",
            sha256("same-payload"),
            orig.metadata().policyJson(),
            true,
            T0,
            null,
            orig.metadata().sealedSecret(),
            T0.plusSeconds(9));
    SendCommit retry = store.commitSend(send(again, untouchable));
    assertThat(retry.replayed()).isTrue();
    assertThat(retry.send().metadata()).isEqualTo(orig.metadata());
    assertThat(retry.receipt()).isEqualTo(orig.receipt());
    assertThat(store.getSend("orig").orElseThrow().deliveryCount()).isEqualTo(1);
  }

  @Test
  void sendIdTakenByAnotherPayloadIsAConflict() throws Exception {
    SendRecord orig = send("s1", "payload-1", List.of(delivery("s1", "a", 1)));
    store.commitSend(orig);
    assertThat(
            code(() -> store.commitSend(send("s1", "payload-2", List.of(delivery("s1", "b", 2))))))
        .isEqualTo(StoreException.Code.CONFLICT);
    assertThat(store.findSend("s1", sha256("payload-2"))).isEmpty();
    assertThat(store.getSend("s1").orElseThrow().metadata()).isEqualTo(orig.metadata());
    assertThat(store.hasDelivery("s1", fp("b"))).isFalse();
    assertThat(store.listDeliveries(fp("b"), null, 10)).isEmpty();
  }

  @Test
  void failedSendLeavesNothingBehind() throws Exception {
    store.commitSend(send("s1", "p1", List.of(delivery("s1", "a", 1))));
    // s2 reuses s1's delivery id for its second delivery: not s2's derived id, refused
    List<Delivery> clash =
        List.of(
            delivery("s2", "b", 1),
            new Delivery(id("s1", "a"), fp("c"), "hpke-v1", bytes("x")),
            delivery("s2", "d", 3));
    assertThatThrownBy(() -> store.commitSend(send("s2", "p2", clash)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining(id("s1", "a"));
    assertNothingOf("s2", "p2", List.of("b", "c", "d"));
    assertThat(store.getDelivery(id("s1", "a")).orElseThrow().sendId()).isEqualTo("s1");

    // one recipient twice in a send: conflict
    List<Delivery> twice = List.of(delivery("s3", "e", 1), delivery("s3", "e", 2));
    assertThat(code(() -> store.commitSend(send("s3", "p3", twice))))
        .isEqualTo(StoreException.Code.CONFLICT);
    assertNothingOf("s3", "p3", List.of("e"));

    // the caller's stream fails half way: the exception propagates, nothing is committed
    Iterable<Delivery> broken =
        () ->
            new Iterator<>() {
              int i;

              @Override
              public boolean hasNext() {
                return true;
              }

              @Override
              public Delivery next() {
                if (i == 50) {
                  throw new IllegalStateException("enclave stream broke");
                }
                return delivery("s4", "f" + i, i++);
              }
            };
    assertThatThrownBy(() -> store.commitSend(send(meta("s4", "p4", true, null), broken)))
        .isInstanceOf(IllegalStateException.class);
    assertNothingOf("s4", "p4", List.of("f0", "f49"));

    // and the payload can still be committed afterwards
    assertThat(store.commitSend(send("s5", "p4", List.of(delivery("s5", "f0", 0)))).replayed())
        .isFalse();
    assertThat(store.listDeliveries(fp("f0"), null, 10))
        .extracting(StoredDelivery::sendId)
        .containsExactly("s5");
  }

  void assertNothingOf(String sendId, String payload, List<String> recipientSeeds)
      throws Exception {
    assertThat(store.getSend(sendId)).isEmpty();
    assertThat(store.findSend(sendId, sha256(payload))).isEmpty();
    assertThat(store.getReceipt(sendId)).isEmpty();
    assertThat(store.receiptsForSend(sendId)).isEmpty();
    for (String seed : recipientSeeds) {
      assertThat(store.listDeliveries(fp(seed), null, 100))
          .noneMatch(d -> d.sendId().equals(sendId));
      assertThat(store.hasDelivery(sendId, fp(seed))).isFalse();
    }
    assertThat(store.sealedSecretsOpenForLateRecipients(T0, null, 1000))
        .noneMatch(s -> s.sendId().equals(sendId));
  }

  @Test
  void deliveriesOfARecipientArePagedInIdOrder() throws Exception {
    List<String> expected = new ArrayList<>();
    for (int i = 0; i < 23; i++) {
      String sendId = String.format("s%03d", 22 - i); // commit in reverse id order
      store.commitSend(
          send(
              sendId,
              "p" + i,
              List.of(delivery(sendId, "target", i), delivery(sendId, "other", 500 + i))));
      expected.add(id(sendId, "target"));
    }
    expected.sort(null);
    List<String> seen = new ArrayList<>();
    String after = null;
    while (true) {
      List<StoredDelivery> page = store.listDeliveries(fp("target"), after, 5);
      if (page.isEmpty()) {
        break;
      }
      assertThat(page).allMatch(d -> d.recipientFingerprint().equals(fp("target")));
      page.forEach(d -> seen.add(d.deliveryId()));
      after = page.getLast().deliveryId();
    }
    assertThat(seen).isEqualTo(expected);
    assertThat(store.listDeliveries(fp("target"), expected.get(20), 100)).hasSize(2);
    assertThat(store.listDeliveries(fp("nobody"), null, 100)).isEmpty();
  }

  @Test
  void sealedSecretsOpenForLateRecipientsFollowFlagsAndWindow() throws Exception {
    Instant now = T0.plus(Duration.ofDays(10));
    store.commitSend(send(meta("a-open", "p1", true, null), List.of(delivery("a-open", "x", 1))));
    store.commitSend(send(meta("b-closed", "p2", false, null), List.of()));
    store.commitSend(send(meta("c-expired", "p3", true, now), List.of()));
    store.commitSend(send(meta("d-valid", "p4", true, now.plusMillis(1)), List.of()));
    store.commitSend(send(meta("e-open", "p5", true, null), List.of()));

    List<StoredSend> all = store.sealedSecretsOpenForLateRecipients(now, null, 100);
    assertThat(all).extracting(StoredSend::sendId).containsExactly("a-open", "d-valid", "e-open");
    assertThat(all.getFirst().metadata().sealedSecret()).isEqualTo(bytes("sealed-a-open"));
    assertThat(store.sealedSecretsOpenForLateRecipients(now, null, 2))
        .extracting(StoredSend::sendId)
        .containsExactly("a-open", "d-valid");
    assertThat(store.sealedSecretsOpenForLateRecipients(now, "d-valid", 2))
        .extracting(StoredSend::sendId)
        .containsExactly("e-open");
    assertThat(store.sealedSecretsOpenForLateRecipients(T0, null, 100))
        .extracting(StoredSend::sendId)
        .containsExactly("a-open", "c-expired", "d-valid", "e-open");
  }

  // ------------------------------------------------------------------ forwards

  @Test
  void forwardAddsADeliveryAndAReceiptOncePerRecipient() throws Exception {
    store.commitSend(send("s1", "p1", List.of(delivery("s1", "a", 1))));
    ReceiptRecord fr = receipt("fwd-1", "s1");
    Delivery late = delivery("s1", "late", 7);
    ForwardCommit c = store.commitForward(new ForwardRecord("s1", fr, late));
    assertThat(c.replayed()).isFalse();
    assertThat(c.receipt()).isEqualTo(fr);
    assertThat(store.hasDelivery("s1", fp("late"))).isTrue();
    assertThat(store.getDelivery(late.deliveryId()).orElseThrow().receiptId()).isEqualTo("fwd-1");
    assertThat(store.listDeliveries(fp("late"), null, 10))
        .extracting(StoredDelivery::delivery)
        .containsExactly(late);
    assertThat(store.getReceipt("fwd-1")).contains(fr);
    assertThat(store.receiptsForSend("s1"))
        .extracting(ReceiptRecord::receiptId)
        .containsExactly("s1", "fwd-1");

    // the same (send, recipient) again, with a fresh receipt and envelope: replayed, nothing
    // written
    ForwardCommit again =
        store.commitForward(
            new ForwardRecord(
                "s1",
                receipt("fwd-2", "s1"),
                new Delivery(id("s1", "late"), fp("late"), "hpke-v1", bytes("x"))));
    assertThat(again.replayed()).isTrue();
    assertThat(again.receipt()).isEqualTo(fr);
    assertThat(store.getReceipt("fwd-2")).isEmpty();
    assertThat(store.getDelivery(id("s1", "late")).orElseThrow().delivery()).isEqualTo(late);

    // a recipient already in the send: replayed with the send's receipt
    ForwardCommit orig =
        store.commitForward(
            new ForwardRecord(
                "s1",
                receipt("fwd-3", "s1"),
                new Delivery(id("s1", "a"), fp("a"), "hpke-v1", bytes("x"))));
    assertThat(orig.replayed()).isTrue();
    assertThat(orig.receipt().receiptId()).isEqualTo("s1");

    // unknown send
    assertThat(
            code(
                () ->
                    store.commitForward(
                        new ForwardRecord(
                            "nope", receipt("fwd-4", "nope"), delivery("nope", "late", 0)))))
        .isEqualTo(StoreException.Code.NOT_FOUND);
    assertThat(store.getReceipt("fwd-4")).isEmpty();
  }

  @Test
  void deliveriesWhoseIdIsNotDerivedFromSendAndRecipientAreRefused() throws Exception {
    // api.md 1.1 step 7: the id of (send, recipient) is fixed; the store relies on it for
    // uniqueness per (send, recipient), so any other id is refused before anything is written
    Delivery foreign = new Delivery(id("s1", "b"), fp("a"), "hpke-v1", bytes("x")); // b's id
    assertThatThrownBy(() -> store.commitSend(send("s1", "p1", List.of(foreign))))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("is not the delivery id of send");
    assertNothingOf("s1", "p1", List.of("a", "b"));
    Iterable<Delivery> streamed = generated("s2", 3);
    List<Delivery> oneOff = new ArrayList<>();
    streamed.forEach(oneOff::add);
    oneOff.set(2, new Delivery("0".repeat(32), fp("g2"), "hpke-v1", bytes("x")));
    assertThatThrownBy(
            () ->
                store.commitSend(
                    send(
                        meta("s2", "p2", true, null),
                        () -> oneOff.iterator()))) // a stream, not a collection
        .isInstanceOf(IllegalArgumentException.class);
    assertNothingOf("s2", "p2", List.of("g0", "g1", "g2"));

    store.commitSend(send("s3", "p3", List.of(delivery("s3", "a", 0))));
    assertThatThrownBy(
            () ->
                store.commitForward(
                    new ForwardRecord(
                        "s3",
                        receipt("f1", "s3"),
                        new Delivery(id("s1", "late"), fp("late"), "hpke-v1", bytes("x")))))
        .isInstanceOf(IllegalArgumentException.class);
    assertThat(store.getReceipt("f1")).isEmpty();
    assertThat(store.hasDelivery("s3", fp("late"))).isFalse();
    assertThat(store.getDelivery(id("s1", "late"))).isEmpty();
  }

  @Test
  void receiptIdsAreUniqueAcrossSendsAndForwards() throws Exception {
    store.commitSend(send("s1", "p1", List.of(delivery("s1", "a", 0))));
    store.commitSend(send("s2", "p2", List.of()));
    // a forward receipt may not take a send's (receipt) id
    assertThat(
            code(
                () ->
                    store.commitForward(
                        new ForwardRecord("s1", receipt("s2", "s1"), delivery("s1", "late", 0)))))
        .isEqualTo(StoreException.Code.CONFLICT);
    assertThat(store.hasDelivery("s1", fp("late"))).isFalse();
    assertThat(store.getReceipt("s2").orElseThrow().sendId()).isEqualTo("s2");
    // and a send may not take a forward receipt's id
    store.commitForward(new ForwardRecord("s1", receipt("s1-f", "s1"), delivery("s1", "late", 0)));
    assertThat(code(() -> store.commitSend(send("s1-f", "p3", List.of(delivery("s1-f", "b", 0))))))
        .isEqualTo(StoreException.Code.CONFLICT);
    assertThat(store.getSend("s1-f")).isEmpty();
    assertThat(store.findSend("s1-f", sha256("p3"))).isEmpty();
    assertThat(store.hasDelivery("s1-f", fp("b"))).isFalse();
    assertThat(store.getReceipt("s1-f").orElseThrow().sendId()).isEqualTo("s1");
    assertThat(store.receiptsForSend("s1"))
        .extracting(ReceiptRecord::receiptId)
        .containsExactly("s1", "s1-f");
  }

  // ------------------------------------------------------------------ scale and concurrency

  @Test
  void tenThousandDeliveriesInOneSend() throws Exception {
    assertLargeSend(10_000);
  }

  void assertLargeSend(int n) throws Exception {
    long t = System.nanoTime();
    SendCommit c =
        store.commitSend(send(meta("big", "big-payload", true, null), generated("big", n)));
    long ms = (System.nanoTime() - t) / 1_000_000;
    System.out.printf("%s: %d deliveries committed in %d ms%n", getClass().getSimpleName(), n, ms);
    assertThat(c.send().deliveryCount()).isEqualTo(n);
    assertThat(store.getSend("big").orElseThrow().deliveryCount()).isEqualTo(n);
    for (int i : new int[] {0, n / 2, n - 1}) {
      assertThat(store.getDelivery(id("big", "g" + i)).orElseThrow().delivery())
          .isEqualTo(delivery("big", "g" + i, i));
      assertThat(store.listDeliveries(fp("g" + i), null, 10)).hasSize(1);
      assertThat(store.hasDelivery("big", fp("g" + i))).isTrue();
    }
    assertThat(store.hasDelivery("big", fp("g" + n))).isFalse();
  }

  @Test
  void concurrentSendsFromSeveralThreads() throws Exception {
    int threads = 6;
    int perThread = 8;
    onThreads(
        threads,
        t -> {
          for (int i = 0; i < perThread; i++) {
            String sendId = "t" + t + "s" + i;
            SendCommit own =
                store.commitSend(
                    send(
                        sendId,
                        "own-" + sendId,
                        List.of(delivery(sendId, "x" + t, i), delivery(sendId, "y" + i, 500 + i))));
            assertThat(own.replayed()).isFalse();
          }
        });
    for (int t = 0; t < threads; t++) {
      assertThat(store.listDeliveries(fp("x" + t), null, 100)).hasSize(perThread);
    }
    for (int i = 0; i < perThread; i++) {
      assertThat(store.listDeliveries(fp("y" + i), null, 100)).hasSize(threads);
    }
  }

  /** Retries of one send racing each other: exactly one commit per send, the others replay it. */
  @Test
  void concurrentRetriesOfOneSendCommitItOnce() throws Exception {
    int threads = 6;
    int sends = 8;
    Map<String, Integer> winners = new ConcurrentHashMap<>();
    AtomicInteger replays = new AtomicInteger();
    onThreads(
        threads,
        t -> {
          for (int i = 0; i < sends; i++) {
            String id = "shared-" + i; // one payload, one id
            SendCommit c = store.commitSend(send(id, id, List.of(delivery(id, "z", i))));
            assertThat(c.send().sendId()).isEqualTo(id);
            if (c.replayed()) {
              replays.incrementAndGet();
            } else {
              assertThat(winners.putIfAbsent(id, t)).isNull();
            }
          }
        });
    assertThat(winners).hasSize(sends);
    assertThat(replays.get()).isEqualTo(threads * sends - sends);
    for (int i = 0; i < sends; i++) {
      assertThat(store.findSend("shared-" + i, sha256("shared-" + i))).isPresent();
    }
    assertThat(store.listDeliveries(fp("z"), null, 100))
        .extracting(StoredDelivery::sendId)
        .containsExactlyInAnyOrderElementsOf(winners.keySet());
  }

  /** Work of one thread of {@link #onThreads}. */
  interface ThreadTask {
    void run(int thread) throws Exception;
  }

  /** Runs {@code task} on {@code threads} threads at once; rethrows the first failure. */
  static void onThreads(int threads, ThreadTask task) throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    try {
      List<Future<Void>> futures = new ArrayList<>();
      for (int t = 0; t < threads; t++) {
        int thread = t;
        futures.add(
            pool.submit(
                (Callable<Void>)
                    () -> {
                      task.run(thread);
                      return null;
                    }));
      }
      for (Future<Void> f : futures) {
        f.get();
      }
    } finally {
      pool.shutdown();
    }
  }

  @Test
  void reopenedStoreSeesEverything() throws Exception {
    store.putSealedKeySet(1, bytes("ks1"));
    store.putRecipient(recipient("r1"));
    store.commitSend(send("s1", "p1", List.of(delivery("s1", "a", 1))));
    store.commitForward(new ForwardRecord("s1", receipt("f1", "s1"), delivery("s1", "late", 2)));

    store = reopen(store);

    assertThat(store.latestSealedKeySet()).contains(new StoredKeySet(1, bytes("ks1")));
    assertThat(store.findRecipients(List.of(fp("r1")))).containsExactly(recipient("r1"));
    assertThat(store.countRecipients()).isEqualTo(1);
    assertThat(store.findSend("s1", sha256("p1")).orElseThrow().sendId()).isEqualTo("s1");
    assertThat(store.receiptsForSend("s1"))
        .extracting(ReceiptRecord::receiptId)
        .containsExactly("s1", "f1");
    assertThat(store.hasDelivery("s1", fp("late"))).isTrue();
    assertThat(store.listDeliveries(fp("a"), null, 10)).hasSize(1);
    assertThat(code(() -> store.putSealedKeySet(1, bytes("again"))))
        .isEqualTo(StoreException.Code.CONFLICT);
    assertThat(store.commitSend(send("s1", "p1", List.of())).replayed()).isTrue();
  }

  @Test
  void closedStoreRefusesWork() throws Exception {
    store.close();
    assertThat(code(() -> store.latestSealedKeySet()))
        .isEqualTo(StoreException.Code.STORE_UNAVAILABLE);
    store = null;
  }

  // ------------------------------------------------------------------ cinemas and screens

  static String thumbprint(String seed) {
    try {
      return java.util.Base64.getEncoder()
          .encodeToString(MessageDigest.getInstance("SHA-1").digest(bytes(seed)));
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  static DkdmRecord dkdm(String message, String cpl, String sealedSeed) {
    return new DkdmRecord(
        "urn:uuid:" + message,
        "urn:uuid:" + cpl,
        "ks-0123456789abcdef0123456789abcdef",
        Instant.parse("2027-01-01T00:00:00Z"),
        thumbprint("signer"),
        bytes(sealedSeed),
        bytes("binding-" + sealedSeed),
        T0);
  }

  /** Ingested DKDMs (issue 25): stored whole, found by CPL in message-id order, replaced by the same message id. */
  @Test
  void dkdmsRoundTripAndAreFoundByCpl() throws Exception {
    String cpl = "11111111-2222-3333-4444-555555555555";
    DkdmRecord b = store.putDkdm(dkdm("bbbbbbbb-0000-0000-0000-000000000002", cpl, "sealed-b"));
    DkdmRecord a = store.putDkdm(dkdm("aaaaaaaa-0000-0000-0000-000000000001", cpl, "sealed-a"));
    store.putDkdm(
        dkdm(
            "cccccccc-0000-0000-0000-000000000003",
            "99999999-2222-3333-4444-555555555555",
            "other"));
    store = reopen(store);
    assertThat(store.findDkdms("urn:uuid:" + cpl)).containsExactly(a, b);
    DkdmRecord again =
        store.putDkdm(dkdm("aaaaaaaa-0000-0000-0000-000000000001", cpl, "sealed-a2"));
    assertThat(store.findDkdms("urn:uuid:" + cpl)).containsExactly(again, b);
    assertThat(store.findDkdms("urn:uuid:00000000-0000-0000-0000-000000000000")).isEmpty();
  }

  /** Studio rules (issue 25): stored whole per CPL, the latest replacing the earlier. */
  @Test
  void studioRulesRoundTripPerCplAndTheLatestReplaces() throws Exception {
    String cpl = "urn:uuid:11111111-2222-3333-4444-555555555555";
    byte[] key = new byte[32];
    byte[] sig = new byte[64];
    key[0] = 7;
    sig[0] = 9;
    RulesRecord first =
        store.putRules(
            new RulesRecord(
                cpl, bytes("rules-1"), key, sig, bytes("signer-cert"), bytes("signer-sig"), T0));
    store = reopen(store);
    assertThat(store.getRules(cpl)).contains(first);
    RulesRecord second =
        store.putRules(
            new RulesRecord(
                cpl,
                bytes("rules-2"),
                key,
                sig,
                bytes("signer-cert"),
                bytes("signer-sig"),
                T0.plusSeconds(1)));
    assertThat(store.getRules(cpl)).contains(second);
    assertThat(store.getRules("urn:uuid:00000000-0000-0000-0000-000000000000")).isEmpty();
  }

  /** Imported legacy DKDM keys (issue 25): stored whole, listed in id order, replaced by the same id. */
  @Test
  void legacyDkdmKeysRoundTripAndAreListedInIdOrder() throws Exception {
    LegacyKeyRecord b =
        store.putLegacyKey(
            new LegacyKeyRecord(
                "dkdm-key-" + "b".repeat(32), bytes("cert-b"), bytes("sealed-b"), T0));
    LegacyKeyRecord a =
        store.putLegacyKey(
            new LegacyKeyRecord(
                "dkdm-key-" + "a".repeat(32), bytes("cert-a"), bytes("sealed-a"), T0));
    store = reopen(store);
    assertThat(store.listLegacyKeys()).containsExactly(a, b);
    LegacyKeyRecord again =
        store.putLegacyKey(new LegacyKeyRecord(a.id(), bytes("cert-a"), bytes("sealed-a2"), T0));
    assertThat(store.listLegacyKeys()).containsExactly(again, b);
  }

  static ScreenRecord screen(String seed, String cinema, String keySeed) {
    return new ScreenRecord(
        thumbprint(seed),
        fp(keySeed),
        cinema,
        "screen " + seed,
        List.of(bytes("leaf-" + seed), bytes("root")),
        List.of(thumbprint("device-" + seed)),
        T0);
  }

  @Test
  void screensAndCinemasRoundTripAndAreFoundByThumbprintFingerprintAndCinema() throws Exception {
    store.putCinema(new CinemaRecord("Odeon Leicester Square", "+00:00", T0));
    store.putCinema(new CinemaRecord("Kino Wien", "+01:00", T0));
    ScreenRecord a = store.putScreen(screen("a", "Odeon Leicester Square", "key-a"));
    ScreenRecord b = store.putScreen(screen("b", "Kino Wien", "key-b"));
    ScreenRecord c = store.putScreen(screen("c", null, "key-c"));
    store = reopen(store);
    assertThat(store.getCinema("Kino Wien").orElseThrow().utcOffset()).isEqualTo("+01:00");
    assertThat(store.getCinema("Nowhere")).isEmpty();
    assertThat(store.findScreens(List.of(thumbprint("a"), thumbprint("c"), thumbprint("zz"))))
        .containsExactlyInAnyOrder(a, c);
    ScreenRecord back = store.findScreens(List.of(thumbprint("a"))).getFirst();
    assertThat(back.chain()).containsExactly(bytes("leaf-a"), bytes("root"));
    assertThat(back.trustedDevices()).containsExactly(thumbprint("device-a"));
    assertThat(store.findScreensByFingerprint(List.of(fp("key-b"), fp("nobody"))))
        .containsExactly(b);
    assertThat(store.listScreens("Kino Wien", null, 10)).containsExactly(b);
    assertThat(store.listScreens(null, null, 10)).containsExactlyInAnyOrder(a, b, c);
    // a cinema's offset is set again (last write wins)
    store.putCinema(new CinemaRecord("Kino Wien", "+02:00", T0.plusSeconds(1)));
    assertThat(store.getCinema("Kino Wien").orElseThrow().utcOffset()).isEqualTo("+02:00");
  }

  /** A queued mail of {@code sendId} to {@code cinema} at {@code at}. */
  static MailRecord mail(String sendId, String cinema, Instant at) {
    return new MailRecord(
        sendId,
        cinema,
        "kdm-" + Math.abs((sendId + cinema).hashCode()) + "@keycast",
        List.of("kdm@" + cinema.toLowerCase(java.util.Locale.ROOT).replace(' ', '-') + ".example"),
        "ab".repeat(32),
        MailRecord.State.QUEUED,
        0,
        at,
        null,
        at,
        at);
  }

  @Test
  void aCinemasEmailAddressesRoundTripAndAreReplacedWithIt() throws Exception {
    store.putCinema(
        new CinemaRecord("Kino Wien", "+01:00", T0, List.of("a@kino.example", "b@KINO.example")));
    store = reopen(store);
    CinemaRecord c = store.getCinema("Kino Wien").orElseThrow();
    assertThat(c.emails()).containsExactly("a@kino.example", "b@kino.example");
    store.putCinema(c.withEmails(List.of(), T0.plusSeconds(1)));
    assertThat(store.getCinema("Kino Wien").orElseThrow().emails()).isEmpty();
    assertThatThrownBy(() -> new CinemaRecord("X", "+00:00", T0, List.of("no-at-sign")))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(
            () -> new CinemaRecord("X", "+00:00", T0, List.of("a@b.example\r\nBcc: x@y.example")))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(
            () ->
                new CinemaRecord(
                    "X",
                    "+00:00",
                    T0,
                    java.util.stream.IntStream.range(0, 17)
                        .mapToObj(i -> "a" + i + "@b.example")
                        .toList()))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void theMailOutboxKeepsTheFirstQueueAndFindsDueMailsAfterAReopen() throws Exception {
    MailRecord a = mail("send-1", "Kino Wien", T0);
    MailRecord b = mail("send-1", "Cinema Chicago", T0.plusSeconds(10));
    MailRecord other = mail("send-2", "Kino Wien", T0.plusSeconds(5));
    assertThat(store.queueMail(a)).isEqualTo(a);
    assertThat(store.queueMail(b)).isEqualTo(b);
    assertThat(store.queueMail(other)).isEqualTo(other);
    // the same (send, cinema) again: the stored one wins
    assertThat(store.queueMail(mail("send-1", "Kino Wien", T0.plusSeconds(99)))).isEqualTo(a);
    store = reopen(store);
    assertThat(store.mailsOfSend("send-1")).containsExactly(b, a);
    assertThat(store.dueMails(T0.plusSeconds(6), 10)).containsExactly(a, other);
    assertThat(store.dueMails(T0.plusSeconds(60), 2)).containsExactly(a, other);

    MailRecord failedOnce =
        a.attemptFailed("MailConnectException", T0.plusSeconds(30), T0.plusSeconds(1));
    store.updateMail(failedOnce);
    MailRecord sent = other.sent(T0.plusSeconds(6));
    store.updateMail(sent);
    store = reopen(store);
    assertThat(store.dueMails(T0.plusSeconds(20), 10)).containsExactly(b);
    assertThat(store.dueMails(T0.plusSeconds(30), 10)).containsExactly(b, failedOnce);
    assertThat(store.mailsOfSend("send-2")).containsExactly(sent);
    assertThat(store.mailsOfSend("send-3")).isEmpty();
    assertThat(code(() -> store.updateMail(mail("send-3", "Nowhere", T0))))
        .isEqualTo(StoreException.Code.NOT_FOUND);
  }

  @Test
  void aScreenRegisteredAgainIsReplacedWholeAndLeavesItsOldCinemaAndKey() throws Exception {
    store.putCinema(new CinemaRecord("One", "+00:00", T0));
    store.putCinema(new CinemaRecord("Two", "-05:00", T0));
    store.putScreen(screen("a", "One", "key-old"));
    ScreenRecord moved =
        new ScreenRecord(
            thumbprint("a"),
            fp("key-new"),
            "Two",
            null,
            List.of(bytes("leaf-a2"), bytes("root")),
            List.of(),
            T0.plusSeconds(5));
    store.putScreen(moved);
    assertThat(store.findScreens(List.of(thumbprint("a")))).containsExactly(moved);
    assertThat(store.listScreens("One", null, 10)).isEmpty();
    assertThat(store.listScreens("Two", null, 10)).containsExactly(moved);
    assertThat(store.findScreensByFingerprint(List.of(fp("key-old")))).isEmpty();
    assertThat(store.findScreensByFingerprint(List.of(fp("key-new")))).containsExactly(moved);
  }

  @Test
  void aScreenOfAnUnknownCinemaIsRefused() throws Exception {
    assertThat(code(() -> store.putScreen(screen("a", "Never Put", "key-a"))))
        .isEqualTo(StoreException.Code.NOT_FOUND);
    assertThat(store.listScreens(null, null, 10)).isEmpty();
  }

  @Test
  void screenListingsPageEveryScreenOnce() throws Exception {
    store.putCinema(new CinemaRecord("Multiplex", "+00:00", T0));
    List<ScreenRecord> all = new ArrayList<>();
    for (int i = 0; i < 25; i++) {
      all.add(store.putScreen(screen("s" + i, i % 2 == 0 ? "Multiplex" : null, "k" + i)));
    }
    for (String cinema : new String[] {null, "Multiplex"}) {
      List<ScreenRecord> seen = new ArrayList<>();
      String after = null;
      while (true) {
        List<ScreenRecord> page = store.listScreens(cinema, after, 4);
        seen.addAll(page);
        if (page.size() < 4) {
          break;
        }
        after = page.getLast().thumbprint();
      }
      assertThat(seen)
          .containsExactlyInAnyOrderElementsOf(
              cinema == null
                  ? all
                  : all.stream().filter(x -> "Multiplex".equals(x.cinema())).toList());
    }
  }
}
