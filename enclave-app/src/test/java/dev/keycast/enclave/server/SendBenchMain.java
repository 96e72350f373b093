package dev.keycast.enclave.server;

import dev.keycast.protocol.api.EnclaveApi;
import dev.keycast.protocol.hpke.X25519PrivateKey;
import dev.keycast.protocol.keyset.KeyBundle;
import java.io.OutputStream;
import java.math.BigInteger;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.security.spec.RSAPublicKeySpec;
import java.security.spec.X509EncodedKeySpec;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * Times one in-process {@link SendService#send} of N recipients (no HTTP, no host): run by
 * {@code scripts/bench-send}. Not a test. Arguments: {@code rsa-fp|x25519-anchor|rsa-anchor N runs}.
 * RSA-2048 generation of 10,000 key pairs would take minutes, so the distinct public moduli are
 * products of pairs from a pool of 1024-bit primes (the enclave only encrypts to them).
 */
public final class SendBenchMain {
  private SendBenchMain() {}

  public static void main(String[] args) throws Exception {
    String mode = args.length > 0 ? args[0] : "rsa-fp";
    int n = args.length > 1 ? Integer.parseInt(args[1]) : 10_000;
    int runs = args.length > 2 ? Integer.parseInt(args[2]) : 3;
    int workers = Runtime.getRuntime().availableProcessors();
    FakeKeySetService keys = new FakeKeySetService().ready();
    KeyBundle bundle = keys.keySet.bundle(FakeKeySetService.KMS_KEY_ID);
    long g0 = System.nanoTime();
    List<EnclaveApi.Candidate> candidates = new ArrayList<>(n);
    List<String> fps = new ArrayList<>();
    List<X509Certificate> anchors = new ArrayList<>();
    Map<String, String> subject = Map.of();
    KeyPairGenerator ec = KeyPairGenerator.getInstance("EC");
    ec.initialize(256);
    KeyPair caKeys = ec.generateKeyPair();
    X509Certificate ca =
        TestKit.cert(
            "CN=Maker Root,O=Maker",
            caKeys.getPublic(),
            "CN=Maker Root,O=Maker",
            caKeys.getPrivate(),
            true,
            "SHA256withECDSA");
    switch (mode) {
      case "rsa-fp" -> {
        // distinct RSA-2048 keys: generated in parallel once, cached on disk would be nicer
        for (PublicKey pub : rsaPublicKeys(n)) {
          candidates.add(TestKit.candidate(pub));
          fps.add(TestKit.fp(pub));
        }
      }
      case "x25519-anchor" -> {
        KeyFactory xdh = KeyFactory.getInstance("XDH");
        anchors.add(ca);
        subject = Map.of("O", "Cinema Co");
        for (int i = 0; i < n; i++) {
          X25519PrivateKey k = TestKit.x25519();
          PublicKey pub = xdh.generatePublic(new X509EncodedKeySpec(k.publicKey().toSpkiDer()));
          X509Certificate leaf =
              TestKit.cert(
                  "CN=Projector " + i + ",O=Cinema Co",
                  pub,
                  "CN=Maker Root,O=Maker",
                  caKeys.getPrivate(),
                  false,
                  "SHA256withECDSA");
          candidates.add(TestKit.candidate(pub, leaf));
        }
      }
      default -> throw new IllegalArgumentException("mode: rsa-fp | x25519-anchor");
    }
    System.err.printf(
        "%s: generated %d candidates in %d ms%n", mode, n, (System.nanoTime() - g0) / 1_000_000);
    byte[] secret = new byte[32];
    new SecureRandom().nextBytes(secret);
    byte[] policy = TestKit.policy("bench", fps, anchors, subject, false, n).toJson();
    EnclaveApi.SendRequest request =
        new EnclaveApi.SendRequest(TestKit.payload(bundle, policy, secret), candidates);
    ExecutorService pool = Executors.newFixedThreadPool(workers);
    try {
      SenderAuthorizer senders = new SenderAuthorizer(keys, Clock.systemUTC());
      TestKit.establishSenders(senders, keys.keySet.id());
      SendService service =
          new SendService(
              keys,
              senders,
              pool,
              workers,
              new SecureRandom(),
              Clock.systemUTC(),
              new EnclaveMetrics());
      for (int r = 0; r < runs; r++) {
        CountingStream out = new CountingStream();
        long t0 = System.nanoTime();
        service.send(request, out);
        System.out.printf(
            "%s n=%d run=%d: %d ms, %d bytes answered%n",
            mode, n, r, (System.nanoTime() - t0) / 1_000_000, out.count);
      }
    } finally {
      pool.shutdownNow();
    }
  }

  /** {@code n} distinct RSA-2048 public keys (e = 65537), moduli from pairs of a prime pool. */
  static List<PublicKey> rsaPublicKeys(int n) throws Exception {
    int primes = (int) Math.ceil(Math.sqrt(4.0 * n)) + 2;
    SecureRandom rnd = new SecureRandom();
    BigInteger e = BigInteger.valueOf(65537);
    List<BigInteger> pool =
        java.util.stream.IntStream.range(0, primes)
            .parallel()
            .mapToObj(
                i -> {
                  while (true) {
                    // top two bits set: every product of two is exactly 2048 bits
                    BigInteger p = BigInteger.probablePrime(1024, rnd).setBit(1022);
                    if (p.isProbablePrime(64)
                        && !p.subtract(BigInteger.ONE).mod(e).equals(BigInteger.ZERO)) {
                      return p;
                    }
                  }
                })
            .toList();
    KeyFactory rsa = KeyFactory.getInstance("RSA");
    List<PublicKey> out = new ArrayList<>(n);
    for (int i = 0; i < pool.size() && out.size() < n; i++) {
      for (int j = i + 1; j < pool.size() && out.size() < n; j++) {
        BigInteger m = pool.get(i).multiply(pool.get(j));
        out.add(rsa.generatePublic(new RSAPublicKeySpec(m, e)));
      }
    }
    return out;
  }

  private static final class CountingStream extends OutputStream {
    long count;

    @Override
    public void write(int b) {
      count++;
    }

    @Override
    public void write(byte[] b, int off, int len) {
      count += len;
    }
  }
}
