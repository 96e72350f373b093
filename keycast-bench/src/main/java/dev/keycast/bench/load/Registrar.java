package dev.keycast.bench.load;

import dev.keycast.protocol.Json;
import dev.keycast.protocol.MalformedInputException;
import dev.keycast.protocol.api.HostApi;
import dev.keycast.protocol.api.RecipientProof;
import dev.keycast.protocol.hpke.X25519PrivateKey;
import java.io.IOException;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.LongAdder;

/** Registers generated recipients with {@code POST /v1/recipients}, a few at a time. */
final class Registrar {
  /** Outcome: how many were new (201), already known (200), and failures by code. */
  record Outcome(long created, long existing, Map<String, Long> failures, double seconds) {}

  private Registrar() {}

  /** The proof of possession of {@code g}'s key answering {@code c} (api.md 2.2). */
  static String prove(Recipients.Generated g, RecipientProof.Challenge c)
      throws GeneralSecurityException, MalformedInputException {
    if (g.privateKey().length == X25519PrivateKey.LENGTH) {
      X25519PrivateKey k = X25519PrivateKey.fromRaw(g.privateKey());
      try {
        return RecipientProof.openX25519(k, c);
      } finally {
        k.destroy();
      }
    }
    PrivateKey k =
        KeyFactory.getInstance("RSA").generatePrivate(new PKCS8EncodedKeySpec(g.privateKey()));
    return RecipientProof.signRsa(k, c.token(), g.fingerprint());
  }

  static Outcome register(
      HostClient client,
      ExecutorService executor,
      List<Recipients.Generated> recipients,
      int concurrency,
      Map<String, String> labels)
      throws InterruptedException {
    LongAdder created = new LongAdder();
    LongAdder existing = new LongAdder();
    Map<String, LongAdder> failures = new ConcurrentHashMap<>();
    Semaphore gate = new Semaphore(concurrency);
    List<Future<?>> fs = new ArrayList<>(recipients.size());
    long t0 = System.nanoTime();
    for (Recipients.Generated g : recipients) {
      gate.acquire();
      fs.add(
          executor.submit(
              () -> {
                try {
                  HostClient.Answer c =
                      client.postJson(
                          "/v1/recipients/challenge",
                          Json.encode(new RecipientProof.ChallengeRequest(g.registrationKey())));
                  if (c.status() != 200) {
                    failures.computeIfAbsent(c.errorCode(), k -> new LongAdder()).increment();
                    return;
                  }
                  RecipientProof.Challenge challenge = c.as(RecipientProof.Challenge.class);
                  HostClient.Answer a =
                      client.postJson(
                          "/v1/recipients",
                          Json.encode(
                              new HostApi.RegisterRecipient(
                                  g.registrationKey(),
                                  labels,
                                  challenge.token(),
                                  prove(g, challenge))));
                  if (a.status() == 201 || a.status() == 200) {
                    HostApi.Recipient r = a.as(HostApi.Recipient.class);
                    if (!g.fingerprint().equals(r.fingerprint())) {
                      failures
                          .computeIfAbsent("fingerprint_mismatch", k -> new LongAdder())
                          .increment();
                    } else if (a.status() == 201) {
                      created.increment();
                    } else {
                      existing.increment();
                    }
                  } else {
                    failures.computeIfAbsent(a.errorCode(), k -> new LongAdder()).increment();
                  }
                } catch (IOException e) {
                  failures
                      .computeIfAbsent("io_" + e.getClass().getSimpleName(), k -> new LongAdder())
                      .increment();
                } catch (MalformedInputException | GeneralSecurityException e) {
                  failures.computeIfAbsent("bad_answer", k -> new LongAdder()).increment();
                } catch (InterruptedException e) {
                  Thread.currentThread().interrupt();
                } finally {
                  gate.release();
                }
              }));
    }
    for (Future<?> f : fs) {
      try {
        f.get();
      } catch (java.util.concurrent.ExecutionException e) {
        failures.computeIfAbsent("client_error", k -> new LongAdder()).increment();
      }
    }
    Map<String, Long> fails = new java.util.TreeMap<>();
    failures.forEach((k, v) -> fails.put(k, v.sum()));
    return new Outcome(created.sum(), existing.sum(), fails, (System.nanoTime() - t0) / 1e9);
  }
}
