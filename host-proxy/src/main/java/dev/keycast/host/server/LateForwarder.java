package dev.keycast.host.server;

import dev.keycast.host.bridge.EnclaveException;
import dev.keycast.host.store.ArtefactStore;
import dev.keycast.host.store.CinemaRecord;
import dev.keycast.host.store.ForwardCommit;
import dev.keycast.host.store.ForwardRecord;
import dev.keycast.host.store.ReceiptRecord;
import dev.keycast.host.store.RecipientRecord;
import dev.keycast.host.store.ScreenRecord;
import dev.keycast.host.store.StoredKey;
import dev.keycast.host.store.StoredSend;
import dev.keycast.protocol.Base64Url;
import dev.keycast.protocol.Json;
import dev.keycast.protocol.MalformedInputException;
import dev.keycast.protocol.api.EnclaveApi;
import dev.keycast.protocol.api.EnclaveApi.Candidate;
import dev.keycast.protocol.api.ErrorCode;
import dev.keycast.protocol.policy.SendPolicy;
import io.netty.handler.codec.http.HttpMethod;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Late forwarding: when a recipient registers, every stored send open for late recipients that
 * may admit it is offered to the enclave ({@code POST /v1/forward}) and each delivery is stored
 * with its receipt. The forwards run on a bounded {@link ForwardQueue}, not on the registration's
 * thread; the registration waits for its job at most {@code answerWait} (so {@code
 * late_deliveries} counts what was made before the answer, api.md section 2.2) and is answered
 * whatever the job's fate: a full queue defers the job to the next trigger, a failed job is
 * deferred too, a slow one goes on after the answer.
 */
final class LateForwarder implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(LateForwarder.class);
  private static final int LATE_PAGE = 100;

  /** Forwards running at once. */
  static final int WORKERS = 2;

  /** Forward jobs waiting at most. */
  static final int CAPACITY = 256;

  /** Queue keys of screen jobs start with this (recipient jobs are bare fingerprints). */
  static final String SCREEN_KEY = "screen:";

  /** Recipients deferred at most (beyond, their next registration runs their forwards). */
  static final int MAX_DEFERRED = 10_000;

  /** How long a registration waits for its forwards before answering. */
  static final Duration ANSWER_WAIT = Duration.ofSeconds(10);

  private final ArtefactStore store;
  private final EnclaveCalls enclave;
  private final StoreCalls stores;
  private final HostMetrics metrics;
  private final Clock clock;
  private final ForwardQueue queue;
  private final Duration answerWait;

  LateForwarder(
      ArtefactStore store,
      EnclaveCalls enclave,
      StoreCalls stores,
      HostMetrics metrics,
      Clock clock) {
    this(store, enclave, stores, metrics, clock, WORKERS, CAPACITY, ANSWER_WAIT);
  }

  LateForwarder(
      ArtefactStore store,
      EnclaveCalls enclave,
      StoreCalls stores,
      HostMetrics metrics,
      Clock clock,
      int workers,
      int capacity,
      Duration answerWait) {
    this.store = Objects.requireNonNull(store, "store");
    this.enclave = Objects.requireNonNull(enclave, "enclave");
    this.stores = Objects.requireNonNull(stores, "stores");
    this.metrics = Objects.requireNonNull(metrics, "metrics");
    this.clock = Objects.requireNonNull(clock, "clock");
    this.answerWait = Objects.requireNonNull(answerWait, "answerWait");
    this.queue = new ForwardQueue(this::forwardTo, workers, capacity, MAX_DEFERRED, metrics);
  }

  /**
   * Queues the late forwards of a just registered recipient and waits for them at most the answer
   * wait; returns the deliveries made by then (0 when deferred, failed or still running).
   */
  int onRegistered(String fingerprint) throws InterruptedException {
    Optional<CompletableFuture<Integer>> job = queue.submit(fingerprint);
    if (job.isEmpty()) {
      return 0;
    }
    try {
      return job.get().get(answerWait.toMillis(), TimeUnit.MILLISECONDS);
    } catch (ExecutionException e) {
      return 0; // deferred by the queue; logged there
    } catch (TimeoutException e) {
      LOG.info("late forwards to {} go on after the registration's answer", fingerprint);
      return 0;
    }
  }

  /**
   * Queues the late KDM forwards of a just registered (or re-registered) screen, as {@link
   * #onRegistered} does for a recipient; returns the deliveries made before the answer.
   */
  int onScreenRegistered(String thumbprint) throws InterruptedException {
    return onRegistered(SCREEN_KEY + thumbprint);
  }

  /** Recipients whose forwards wait for room in the queue. */
  int deferredCount() {
    return queue.deferredCount();
  }

  @Override
  public void close() {
    queue.close();
  }

  /**
   * The job of one recipient or screen: its current registration, every open send that may admit
   * it offered. A recipient is offered the open sends that are not KDM sends; a screen only the
   * open KDM sends (a screen is never an ordinary recipient).
   */
  private int forwardTo(String key) throws ApiException, InterruptedException {
    if (key.startsWith(SCREEN_KEY)) {
      String thumbprint = key.substring(SCREEN_KEY.length());
      List<ScreenRecord> found =
          stores.call("find_screens", () -> store.findScreens(List.of(thumbprint)));
      if (found.isEmpty()) {
        return 0;
      }
      ScreenRecord s = found.get(0);
      String offset =
          s.cinema() == null
              ? null
              : stores
                  .call("get_cinema", () -> store.getCinema(s.cinema()))
                  .map(CinemaRecord::utcOffset)
                  .orElse(CinemaRecord.UTC);
      return forwardLate(
          s.fingerprint(),
          ScreenCandidates.of(s, offset),
          p ->
              p.isKdmSend()
                  && (p.recipients().thumbprints().contains(s.thumbprint())
                      || p.recipients().fingerprints().contains(s.fingerprint())
                      || !p.recipients().anchors().isEmpty()));
    }
    List<RecipientRecord> found =
        stores.call("find_recipients", () -> store.findRecipients(List.of(key)));
    if (found.isEmpty()) {
      return 0;
    }
    RecipientRecord r = found.get(0);
    boolean hasChain = StoredKey.hasChain(r.publicKeyOrChain());
    return forwardLate(
        r.fingerprint(),
        StoredKey.candidate(r.publicKeyOrChain()),
        p -> !p.isKdmSend() && mayAdmit(p, r.fingerprint(), hasChain));
  }

  /**
   * Offers every open sealed secret whose policy {@code mayAdmit} to the enclave with the one
   * {@code candidate} (whose key has {@code fingerprint}); returns deliveries made.
   */
  private int forwardLate(
      String fingerprint, Candidate candidate, java.util.function.Predicate<SendPolicy> mayAdmit)
      throws ApiException, InterruptedException {
    int made = 0;
    String after = null;
    Instant now = clock.instant();
    while (true) {
      String cursor = after;
      List<StoredSend> page =
          stores.call(
              "open_sends", () -> store.sealedSecretsOpenForLateRecipients(now, cursor, LATE_PAGE));
      for (StoredSend s : page) {
        SendPolicy p = policyOf(s);
        if (p == null
            || !mayAdmit.test(p)
            || stores.call("has_delivery", () -> store.hasDelivery(s.sendId(), fingerprint))) {
          continue;
        }
        // the enclave is stateless: the host counts earlier deliveries against max_recipients
        // (each forward this host makes delivers to one recipient, so one per forward receipt)
        long forwards =
            stores.call("receipts_for_send", () -> store.receiptsForSend(s.sendId())).size() - 1L;
        if (s.deliveryCount() + Math.max(0, forwards) >= p.maxRecipients()) {
          continue;
        }
        EnclaveApi.ForwardResponse f;
        try {
          f =
              enclave
                  .call(
                      HttpMethod.POST,
                      "/v1/forward",
                      Json.encode(
                          new EnclaveApi.ForwardRequest(
                              s.sendId(), Base64Url.encode(s.metadata().policyJson()),
                              Base64Url.encode(s.metadata().sealedSecret()), List.of(candidate))))
                  .decode(EnclaveApi.ForwardResponse.class, Integer.MAX_VALUE);
        } catch (EnclaveException e) {
          if (e.isUnavailable()) {
            throw EnclaveCalls.unavailable(e);
          }
          metrics.inc(
              "keycast_host_forward_errors_total",
              "forwards the enclave refused",
              "code",
              e.code().code());
          LOG.warn(
              "forward of send {} to {} refused: {}", s.sendId(), fingerprint, e.code().code());
          continue;
        }
        for (EnclaveApi.Delivery d :
            f.deliveries() == null ? List.<EnclaveApi.Delivery>of() : f.deliveries()) {
          if (!d.recipient().equals(fingerprint)) {
            continue;
          }
          ForwardRecord fr;
          try {
            fr =
                new ForwardRecord(
                    s.sendId(),
                    new ReceiptRecord(
                        f.receiptId(), s.sendId(), forwardReceipt(f.receipt()), clock.instant()),
                    SendCoordinator.toStoreDelivery(d));
          } catch (IllegalArgumentException e) {
            throw new ApiException(
                ErrorCode.INTERNAL, "the enclave's forward answer is unusable: " + e.getMessage());
          }
          ForwardCommit c = stores.call("commit_forward", () -> store.commitForward(fr));
          if (!c.replayed()) {
            made++;
          }
        }
      }
      if (page.size() < LATE_PAGE) {
        break;
      }
      after = page.get(page.size() - 1).sendId();
    }
    if (made > 0) {
      metrics.add("keycast_host_late_deliveries_total", "deliveries made to late recipients", made);
      LOG.info("recipient {} got {} late deliveries", fingerprint, made);
    }
    return made;
  }

  private static SendPolicy policyOf(StoredSend s) {
    try {
      return SendPolicy.parse(s.metadata().policyJson());
    } catch (MalformedInputException e) {
      LOG.warn("stored policy of send {} does not parse", s.sendId());
      return null;
    }
  }

  private static boolean mayAdmit(SendPolicy p, String fingerprint, boolean hasChain) {
    return p.recipients().fingerprints().contains(fingerprint)
        || (hasChain && !p.recipients().anchors().isEmpty());
  }

  /**
   * A forward's receipt as the enclave signed it. A forward from this host delivers to one
   * recipient, so its receipt is never version 3; a version 3 head here (which no verifier would
   * accept without its entries) is refused rather than stored.
   */
  private static byte[] forwardReceipt(String receipt) throws ApiException {
    byte[] bytes = Inputs.b64Enclave("receipt", receipt);
    if (dev.keycast.protocol.receipt.ReceiptBundle.isRootedHead(bytes)) {
      throw new IllegalArgumentException("a forward's receipt is a version 3 head without entries");
    }
    return bytes;
  }
}
