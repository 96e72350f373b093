package dev.keycast.enclave.server;

import dev.keycast.protocol.Json;
import dev.keycast.protocol.api.EnclaveApi;
import dev.keycast.protocol.hpke.X25519PrivateKey;
import dev.keycast.protocol.keyset.KeyBundle;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.security.SecureRandom;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * The enclave's CPU per small send, in process (performance.md section 3): {@link
 * SendService#send(java.io.InputStream, java.io.OutputStream)} of a one-recipient X25519 send in a
 * loop on one thread (request JSON parse, HPKE open of the payload, policy, decision, delivery,
 * sealed secret, Ed25519 receipt, answer JSON; no HTTP), every send unique (its own payload). Prints
 * the thread CPU per send of each round. Not a test. Arguments: {@code [rounds] [sends per round]
 * [warm-up sends]}.
 */
public final class SmallSendBenchMain {
  private SmallSendBenchMain() {}

  public static void main(String[] args) throws Exception {
    int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 5;
    int perRound = args.length > 1 ? Integer.parseInt(args[1]) : 5_000;
    int warmup = args.length > 2 ? Integer.parseInt(args[2]) : 25_000;
    FakeKeySetService keys = new FakeKeySetService().ready();
    KeyBundle bundle = keys.keySet.bundle(FakeKeySetService.KMS_KEY_ID);
    X25519PrivateKey recipient = TestKit.x25519();
    EnclaveApi.Candidate candidate = TestKit.candidate(recipient);
    String fp = recipient.publicKey().fingerprint();
    byte[] policy =
        TestKit.policy("film-2026-0042.cpl", List.of(fp), List.of(), Map.of(), false, 1).toJson();
    byte[] secret = new byte[32];
    new SecureRandom().nextBytes(secret);
    // distinct bodies, cycled: each is a valid unique send (the enclave keeps no replay state)
    List<byte[]> bodies = new ArrayList<>();
    for (int i = 0; i < 2_000; i++) {
      bodies.add(
          Json.encode(
              new EnclaveApi.SendRequest(
                  TestKit.payload(bundle, policy, secret), List.of(candidate))));
    }
    ExecutorService pool = Executors.newFixedThreadPool(2);
    ThreadMXBean threads = ManagementFactory.getThreadMXBean();
    try {
      SenderAuthorizer senders = new SenderAuthorizer(keys, Clock.systemUTC());
      TestKit.establishSenders(senders, keys.keySet.id());
      SendService service =
          new SendService(
              keys, senders, pool, 2, new SecureRandom(), Clock.systemUTC(), new EnclaveMetrics());
      ByteArrayOutputStream out = new ByteArrayOutputStream(8192);
      int k = 0;
      for (int i = 0; i < warmup; i++) {
        out.reset();
        service.send(new ByteArrayInputStream(bodies.get(k++ % bodies.size())), out);
      }
      for (int r = 0; r < rounds; r++) {
        long cpu0 = threads.getCurrentThreadCpuTime();
        long t0 = System.nanoTime();
        for (int i = 0; i < perRound; i++) {
          out.reset();
          service.send(new ByteArrayInputStream(bodies.get(k++ % bodies.size())), out);
        }
        long cpu = threads.getCurrentThreadCpuTime() - cpu0;
        long wall = System.nanoTime() - t0;
        System.out.printf(
            "round %d: %.1f us CPU per send (request thread), %.1f us wall, %d bytes answered%n",
            r, cpu / 1e3 / perRound, wall / 1e3 / perRound, out.size());
      }
    } finally {
      pool.shutdownNow();
    }
  }
}
