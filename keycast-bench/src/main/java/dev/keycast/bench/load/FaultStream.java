package dev.keycast.bench.load;

import dev.keycast.protocol.Base64Url;
import dev.keycast.protocol.Json;
import dev.keycast.protocol.MalformedInputException;
import dev.keycast.protocol.SendIds;
import dev.keycast.protocol.api.EnclaveApi;
import dev.keycast.protocol.api.HostApi;
import dev.keycast.protocol.policy.SendPolicy;
import java.io.IOException;
import java.security.SecureRandom;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.LongAdder;

/**
 * The fault campaign's stream of sends: {@code inFlight} client threads, each sending one send
 * after the other (two recipients of the registered set, a fresh 32-byte secret), recording every
 * answer. A send is <b>acknowledged</b> when the host answered 200 with its result; <b>refused</b>
 * when it answered an error (a status and a stable code) or nothing listened (connection refused:
 * status 0); <b>lost</b> when no answer came after the request was sent (the connection broke or
 * timed out: the host was killed while it was in flight). A lost send's outcome
 * is unknown: {@link #retryLost} posts the identical payload again until it gets an answer, which
 * must replay the send if it had been committed.
 */
final class FaultStream {
  /** One send as the driver made it: what the recipients must get back, and its send id. */
  record Attempt(
      long seq,
      String sendId,
      String secretId,
      List<String> recipients,
      byte[] secret,
      byte[] payload,
      long startNanos) {}

  /** A send the host acknowledged (200), with its result; {@code retried}: after a lost answer. */
  record Acked(Attempt attempt, HostApi.SendResult result, long ackNanos, boolean retried) {}

  /** A send the host answered with an error. */
  record Refused(Attempt attempt, int status, String code, long atNanos) {}

  private final HostClient client;
  private final SendSealer sealer;
  private final List<String> recipients;
  private final int inFlight;
  private final String run;
  private final SecureRandom random = new SecureRandom();
  private final AtomicLong seq = new AtomicLong();

  final ConcurrentLinkedQueue<Acked> acked = new ConcurrentLinkedQueue<>();
  final ConcurrentLinkedQueue<Refused> refused = new ConcurrentLinkedQueue<>();
  final ConcurrentLinkedQueue<Attempt> lost = new ConcurrentLinkedQueue<>();

  /** Answers by code ({@code ok}, {@code replayed}, error codes, {@code lost}). */
  final Map<String, LongAdder> answers = new ConcurrentHashMap<>();

  private final Object gate = new Object();
  private boolean paused = true;
  private boolean stopped;
  private int active;
  private final AtomicReference<Throwable> failure = new AtomicReference<>();
  private final List<Thread> threads = new ArrayList<>();

  FaultStream(HostClient client, SendSealer sealer, List<String> recipients, int inFlight) {
    this.client = client;
    this.sealer = sealer;
    this.recipients = List.copyOf(recipients);
    this.inFlight = inFlight;
    this.run = Long.toHexString(random.nextLong());
  }

  /** Starts the client threads, paused; {@link #resume} lets them send. */
  void start() {
    for (int i = 0; i < inFlight; i++) {
      threads.add(
          Thread.ofPlatform()
              .name("fault-stream-" + i)
              .daemon(true)
              .uncaughtExceptionHandler((t, e) -> failure.compareAndSet(null, e))
              .start(this::loop));
    }
  }

  void resume() {
    synchronized (gate) {
      paused = false;
      gate.notifyAll();
    }
  }

  /** Stops new sends and waits until none is in flight (every answer recorded). */
  void pause() throws InterruptedException {
    synchronized (gate) {
      paused = true;
      while (active > 0) {
        gate.wait();
      }
    }
    checkHealthy();
  }

  void stop() throws InterruptedException {
    synchronized (gate) {
      stopped = true;
      paused = true;
      gate.notifyAll();
    }
    for (Thread t : threads) {
      t.join();
    }
    checkHealthy();
  }

  /** Throws when a client thread failed (a bug in the driver: the campaign is void). */
  void checkHealthy() {
    if (failure.get() != null) {
      throw new IllegalStateException("a stream thread failed", failure.get());
    }
  }

  /** The first acknowledgement of a send started after {@code nanos}, or -1. */
  long firstAckOfSendStartedAfter(long nanos) {
    long best = -1;
    for (Acked a : acked) {
      if (a.attempt().startNanos() > nanos && (best < 0 || a.ackNanos() < best)) {
        best = a.ackNanos();
      }
    }
    return best;
  }

  long ackedCount() {
    return acked.size();
  }

  /**
   * Posts every lost send's identical payload again until the host answers (stream paused); an
   * answer 200 makes it acknowledged (replayed when it had been committed), an error refused.
   *
   * @return how many of the retried sends the host answered {@code replayed: true}
   */
  long retryLost(long deadlineNanos) throws InterruptedException {
    long replayed = 0;
    Attempt a;
    while ((a = lost.poll()) != null) {
      while (true) {
        try {
          HostClient.Answer r = client.postJson("/v1/sends", a.payload());
          if (r.status() == 200) {
            HostApi.SendResult result = r.as(HostApi.SendResult.class);
            acked.add(new Acked(a, result, System.nanoTime(), true));
            count(result.replayed() ? "retry_replayed" : "retry_ok");
            replayed += result.replayed() ? 1 : 0;
            break;
          }
          if (r.status() != 503 || System.nanoTime() > deadlineNanos) {
            refused.add(new Refused(a, r.status(), r.errorCode(), System.nanoTime()));
            count("retry_" + r.errorCode());
            break;
          }
        } catch (IOException | MalformedInputException e) {
          if (System.nanoTime() > deadlineNanos) {
            throw new IllegalStateException("the host does not answer a retried send", e);
          }
        }
        Thread.sleep(100);
      }
    }
    return replayed;
  }

  private void loop() {
    while (true) {
      synchronized (gate) {
        while (paused && !stopped) {
          try {
            gate.wait();
          } catch (InterruptedException e) {
            return;
          }
        }
        if (stopped) {
          return;
        }
        active++;
      }
      boolean ok;
      try {
        ok = sendOne();
      } catch (InterruptedException e) {
        return;
      } finally {
        synchronized (gate) {
          active--;
          gate.notifyAll();
        }
      }
      if (!ok) {
        try {
          Thread.sleep(50); // the host is down or refusing: do not spin
        } catch (InterruptedException e) {
          return;
        }
      }
    }
  }

  private boolean sendOne() throws InterruptedException {
    Attempt a = next();
    try {
      HostClient.Answer r = client.postJson("/v1/sends", a.payload());
      if (r.status() == 200) {
        HostApi.SendResult result = r.as(HostApi.SendResult.class);
        acked.add(new Acked(a, result, System.nanoTime(), false));
        count(result.replayed() ? "replayed" : "ok");
        return true;
      }
      refused.add(new Refused(a, r.status(), r.errorCode(), System.nanoTime()));
      count(r.status() + " " + r.errorCode());
      return false;
    } catch (java.net.ConnectException e) {
      // nothing reached a host (it is down): not sent, so never visible; not retried
      refused.add(new Refused(a, 0, "connection_refused", System.nanoTime()));
      count("not sent (connection refused)");
      return false;
    } catch (IOException | MalformedInputException e) {
      lost.add(a);
      count("lost (" + e.getClass().getSimpleName() + ")");
      return false;
    }
  }

  private void count(String code) {
    answers.computeIfAbsent(code, k -> new LongAdder()).increment();
  }

  private Attempt next() {
    long n = seq.incrementAndGet();
    List<String> to = new ArrayList<>(2);
    to.add(recipients.get(random.nextInt(recipients.size())));
    if (recipients.size() > 1) {
      String second;
      do {
        second = recipients.get(random.nextInt(recipients.size()));
      } while (second.equals(to.getFirst()));
      to.add(second);
    }
    Instant now = Instant.now().truncatedTo(ChronoUnit.SECONDS);
    String secretId = "fault-" + run + "-" + n;
    SendPolicy policy =
        new SendPolicy(
            1,
            secretId,
            "keycast-faults",
            now.minus(1, ChronoUnit.HOURS),
            now.plus(1, ChronoUnit.DAYS),
            new SendPolicy.RecipientSelector(List.copyOf(to), null, null),
            false,
            to.size(),
            null);
    byte[] secret = new byte[32];
    random.nextBytes(secret);
    byte[] payload = sealer.seal(policy, secret, random);
    String sendId;
    try {
      EnclaveApi.SendPayload p = Json.decode(payload, 1 << 20, EnclaveApi.SendPayload.class);
      sendId =
          SendIds.of(
              Base64Url.decode("enc", p.enc(), 1 << 10),
              Base64Url.decode("ciphertext", p.ciphertext(), 1 << 20));
    } catch (MalformedInputException e) {
      throw new IllegalStateException("the driver's own payload does not parse", e);
    }
    return new Attempt(n, sendId, secretId, List.copyOf(to), secret, payload, System.nanoTime());
  }
}
