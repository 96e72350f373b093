package dev.keycast.enclave.server;

import dev.keycast.protocol.Json;
import dev.keycast.protocol.api.EnclaveApi;
import dev.keycast.protocol.cinema.ContentKeySetCodec;
import dev.keycast.protocol.cinema.DcCertificateIssuer;
import dev.keycast.protocol.cinema.KdmSigner;
import dev.keycast.protocol.cinema.TestScreens;
import dev.keycast.protocol.keyset.KeyBundle;
import dev.keycast.protocol.policy.SendPolicy;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.lang.management.ManagementFactory;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * KDMs issued per second per core through the enclave's send engine, in process: {@link
 * SendService#send(java.io.InputStream, java.io.OutputStream)} of a KDM send (modified-transitional-1,
 * three content keys) to {@code screens} distinct screens, on a fan-out pool of ONE worker
 * (parallelism 1), repeated; prints KDMs per second of wall time, per second of the process's
 * CPU time (all threads: worker, caller, GC, JIT) and per second of the worker thread's CPU time. Not a test. Arguments: {@code [screens]
 * [rounds] [warm-up sends]}. Compare {@code openssl speed -seconds 3 rsa2048} (sign/s) run at the
 * same time on the same machine: one KDM costs one RSA-2048 signature and one RSA-OAEP encryption
 * per key, plus the XML work.
 */
public final class KdmSendBenchMain {
  private KdmSendBenchMain() {}

  public static void main(String[] args) throws Exception {
    int screens = args.length > 0 ? Integer.parseInt(args[0]) : 64;
    int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 5;
    int warmup = args.length > 2 ? Integer.parseInt(args[2]) : 10;
    SecureRandom random = new SecureRandom();
    Instant now = Instant.now().truncatedTo(java.time.temporal.ChronoUnit.SECONDS);
    FakeKeySetService keys = new FakeKeySetService().ready();
    KeyBundle bundle = keys.keySet.bundle(FakeKeySetService.KMS_KEY_ID);
    DcCertificateIssuer.IssuedChain chain =
        DcCertificateIssuer.issue(
            new DcCertificateIssuer.ChainNames(
                "KEYCAST.TEST",
                "KDM.KEYCAST.TEST",
                "ROOT.KEYCAST.TEST",
                "CA.KEYCAST.TEST",
                "CS",
                "KDM-SIGNER.KEYCAST.TEST"),
            now.minus(Duration.ofDays(1)),
            1,
            random);
    KdmSigner signer = KdmSigner.of(chain.leaf().getPrivate(), chain.chain(), now);
    TestScreens.Manufacturer maker =
        TestScreens.manufacturer(
            "MAKER-A.TEST",
            now.minus(Duration.ofDays(30)),
            now.plus(Duration.ofDays(365)),
            true,
            random);
    List<EnclaveApi.Candidate> candidates = new ArrayList<>();
    for (int i = 0; i < screens; i++) {
      TestScreens.Screen s =
          TestScreens.screen(
              maker,
              TestScreens.Spec.valid(now.minus(Duration.ofDays(30)), now.plus(Duration.ofDays(300)))
                  .withCommonName("LE SPB MD FM SM.IMB-" + i + ".DC.TESTMAKER.SMPTE"),
              random);
      candidates.add(KdmSendTest.screen(s, "+01:00", List.of()));
    }
    SendPolicy policy =
        new SendPolicy(
            1,
            "bench:kdm",
            "Studio",
            now.minus(Duration.ofHours(1)),
            now.plus(Duration.ofDays(14)),
            new SendPolicy.RecipientSelector(
                null, List.of(Base64.getEncoder().encodeToString(maker.root().getEncoded())), null),
            false,
            screens,
            null,
            new SendPolicy.KdmRules(null, null, null, null));
    byte[] secret = ContentKeySetCodec.encode(KdmSendTest.contentKeys(3));
    java.util.concurrent.atomic.AtomicReference<Thread> worker =
        new java.util.concurrent.atomic.AtomicReference<>();
    ExecutorService pool =
        Executors.newFixedThreadPool(
            1,
            r -> {
              Thread t = new Thread(r, "kdm-bench-worker");
              worker.set(t);
              return t;
            });
    var threads = ManagementFactory.getThreadMXBean();
    var os =
        (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
    try {
      SenderAuthorizer senders = new SenderAuthorizer(keys, Clock.systemUTC());
      TestKit.establishSenders(senders, keys.keySet.id());
      SendService service =
          new SendService(
              keys,
              senders,
              pool,
              1,
              random,
              Clock.systemUTC(),
              new EnclaveMetrics(),
              () -> signer);
      ByteArrayOutputStream out = new ByteArrayOutputStream(1 << 20);
      for (int i = 0; i < warmup; i++) {
        out.reset();
        service.send(new ByteArrayInputStream(body(bundle, policy, secret, candidates)), out);
      }
      for (int r = 0; r < rounds; r++) {
        byte[] body = body(bundle, policy, secret, candidates);
        long cpu0 = os.getProcessCpuTime();
        long w0 = threads.getThreadCpuTime(worker.get().threadId());
        long t0 = System.nanoTime();
        out.reset();
        service.send(new ByteArrayInputStream(body), out);
        long wall = System.nanoTime() - t0;
        long cpu = os.getProcessCpuTime() - cpu0;
        long w = threads.getThreadCpuTime(worker.get().threadId()) - w0;
        String answer = out.toString(java.nio.charset.StandardCharsets.UTF_8);
        int kdms = answer.split("\"format\":\"smpte-kdm-v1\"", -1).length - 1;
        System.out.printf(
            "round %d: %d KDMs, %.1f KDM/s wall (1 worker), %.1f KDM/s per process CPU-second"
                + " (%.2f ms each), %.1f KDM/s per worker-thread CPU-second (%.2f ms each)%n",
            r,
            kdms,
            kdms / (wall / 1e9),
            kdms / (cpu / 1e9),
            cpu / 1e6 / kdms,
            kdms / (w / 1e9),
            w / 1e6 / kdms);
      }
    } finally {
      pool.shutdownNow();
    }
  }

  private static byte[] body(
      KeyBundle bundle, SendPolicy policy, byte[] secret, List<EnclaveApi.Candidate> c)
      throws Exception {
    return Json.encode(
        new EnclaveApi.SendRequest(TestKit.payload(bundle, policy.toJson(), secret), c));
  }
}
