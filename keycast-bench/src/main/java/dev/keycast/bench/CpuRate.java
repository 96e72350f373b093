package dev.keycast.bench;

import dev.keycast.protocol.crypto.CryptoBackend;
import dev.keycast.protocol.crypto.CryptoBackends;
import dev.keycast.protocol.crypto.X25519Exchange;
import dev.keycast.protocol.envelope.CmsDeliveryFormat;
import dev.keycast.protocol.envelope.DeliveryMetadata;
import dev.keycast.protocol.envelope.HpkeDeliveryFormat;
import dev.keycast.protocol.envelope.RecipientKey;
import dev.keycast.protocol.envelope.RecipientKeys;
import dev.keycast.protocol.envelope.X25519RecipientKey;
import dev.keycast.protocol.hpke.X25519PrivateKey;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.security.KeyPairGenerator;
import java.security.SecureRandom;
import java.security.interfaces.RSAPublicKey;
import java.time.Instant;
import java.util.List;

/**
 * Delivery rates per CPU-second of the measuring thread, the unit {@code openssl speed} reports by
 * default (user CPU time), so that the ratio to openssl stays meaningful on a loaded, shared
 * machine where JMH's wall-clock rates fall with the load and openssl's do not. One thread;
 * after a warm-up each operation runs for {@code --seconds} of CPU time, rounds interleaved.
 *
 * <pre>java -cp keycast-bench.jar dev.keycast.bench.CpuRate [--seconds 3] [--rounds 3]</pre>
 */
public final class CpuRate {
  private CpuRate() {}

  interface Op {
    Object run() throws Exception;
  }

  public static void main(String[] args) throws Exception {
    double seconds = 3;
    int rounds = 3;
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--seconds" -> seconds = Double.parseDouble(args[++i]);
        case "--rounds" -> rounds = Integer.parseInt(args[++i]);
        default -> throw new IllegalArgumentException("unknown argument " + args[i]);
      }
    }
    SecureRandom random = new SecureRandom();
    byte[] secret = new byte[32];
    random.nextBytes(secret);
    KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
    g.initialize(2048, random);
    RecipientKey rsa = RecipientKeys.parse(g.generateKeyPair().getPublic().getEncoded());
    RSAPublicKey rsaPub =
        (RSAPublicKey)
            java.security.KeyFactory.getInstance("RSA")
                .generatePublic(new java.security.spec.X509EncodedKeySpec(rsa.spkiDer()));
    X25519RecipientKey x = new X25519RecipientKey(X25519PrivateKey.generate(random).publicKey());
    byte[] xPeer = x.publicKey().toRaw();
    DeliveryMetadata m =
        DeliveryMetadata.of(
            "film-2026-0042.cpl:reel-1",
            "Example Studio distribution",
            Instant.parse("2026-01-01T00:00:00Z"),
            Instant.parse("2027-01-01T00:00:00Z"),
            rsa.fingerprint());
    DeliveryMetadata mx = m.withRecipient(x.fingerprint());
    List<String> names = List.of("java", "openssl");
    ThreadMXBean mx2 = ManagementFactory.getThreadMXBean();
    System.out.printf("%-34s %-8s %s%n", "operation", "backend", "ops per CPU-second (per round)");
    String[] ops = {
      "FanoutBenchmark.cmsAes256Gcm",
      "FanoutBenchmark.hpkeX25519",
      "PrimitiveBenchmark.rsaOaepBackend",
      "PrimitiveBenchmark.x25519EphemeralAndDhBackend"
    };
    double[][][] results = new double[ops.length][names.size()][rounds];
    for (int round = -1; round < rounds; round++) { // round -1 = warm-up
      for (int o = 0; o < ops.length; o++) {
        for (int b = 0; b < names.size(); b++) {
          CryptoBackend crypto = CryptoBackends.forSetting(names.get(b));
          CmsDeliveryFormat cms = CmsDeliveryFormat.AES_256_GCM.withBackend(crypto);
          HpkeDeliveryFormat hpke = HpkeDeliveryFormat.INSTANCE.withBackend(crypto);
          Op op =
              switch (o) {
                case 0 -> () -> cms.seal(rsa, m, secret, random);
                case 1 -> () -> hpke.seal(x, mx, secret, random);
                case 2 -> () -> crypto.rsaOaepSha256Encrypt(rsaPub, secret, random);
                default ->
                    () -> {
                      byte[] eph = new byte[32];
                      random.nextBytes(eph);
                      X25519Exchange e = crypto.x25519(eph, xPeer);
                      e.destroy();
                      return e;
                    };
              };
          double budget = round < 0 ? 2.0 : seconds;
          long start = mx2.getCurrentThreadCpuTime();
          long n = 0;
          long elapsed;
          Object sink = null;
          do {
            for (int i = 0; i < 50; i++) {
              sink = op.run();
            }
            n += 50;
            elapsed = mx2.getCurrentThreadCpuTime() - start;
          } while (elapsed < budget * 1e9);
          if (sink == null) {
            throw new AssertionError();
          }
          if (round >= 0) {
            results[o][b][round] = n / (elapsed / 1e9);
          }
        }
      }
    }
    for (int o = 0; o < ops.length; o++) {
      for (int b = 0; b < names.size(); b++) {
        StringBuilder sb = new StringBuilder();
        double sum = 0;
        for (double r : results[o][b]) {
          sb.append(String.format(" %,.0f", r));
          sum += r;
        }
        System.out.printf(
            "%-46s %-8s mean %,.0f (%s)%n",
            ops[o], names.get(b), sum / rounds, sb.toString().trim());
      }
    }
  }
}
