package dev.keycast.protocol.cinema;

import java.io.IOException;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Benchmark (not a test): KDMs issued per CPU-second on one thread, against {@code openssl speed
 * rsa2048} RSA-2048 signs per second on one core (openssl divides by user CPU time), measured in
 * the same run. Counting CPU time on both sides keeps the ratio meaningful on a shared machine. Each KDM carries two
 * keys (MDIK, MDAK) for the golden screen, signed by the golden signer. Run with
 * {@code scripts/bench-kdm [seconds]}.
 */
public final class KdmBenchMain {
  private KdmBenchMain() {}

  public static void main(String[] args) throws Exception {
    int seconds = args.length > 0 ? Integer.parseInt(args[0]) : 10;
    KdmSigner signer = KdmFixtures.signer();
    KdmRequest g = KdmFixtures.goldenRequest();
    ContentKeySet keys =
        ContentKeySet.of(
            g.keys().cplId(),
            g.keys().contentTitle(),
            List.of(
                ContentKey.of(
                    UUID.randomUUID(),
                    KeyType.MDIK,
                    HexFormat.of().parseHex("000102030405060708090a0b0c0d0e0f")),
                ContentKey.of(
                    UUID.randomUUID(),
                    KeyType.MDAK,
                    HexFormat.of().parseHex("f0e0d0c0b0a090807060504030201000"))));
    SecureRandom random = new SecureRandom();
    KdmWriter writer = new KdmWriter();
    long bytes = 0;
    // Warm-up: a third of the time, then the measured run.
    for (long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(Math.max(2, seconds / 3));
        System.nanoTime() < end; ) {
      bytes += issue(writer, signer, g, keys, random);
    }
    java.lang.management.ThreadMXBean threads =
        java.lang.management.ManagementFactory.getThreadMXBean();
    long count = 0;
    long cpuStart = threads.getCurrentThreadCpuTime();
    long start = System.nanoTime();
    long stop = start + TimeUnit.SECONDS.toNanos(seconds);
    long now;
    do {
      bytes += issue(writer, signer, g, keys, random);
      count++;
      now = System.nanoTime();
    } while (now < stop);
    double cpuSeconds = (threads.getCurrentThreadCpuTime() - cpuStart) / 1e9;
    double kdmPerSecond = count / cpuSeconds;
    double jdkSigns = jdkSignsPerCpuSecond(signer, seconds / 2 + 1);
    double opensslSigns = opensslRsa2048SignsPerSecond(seconds);
    System.out.printf(
        "kdm: %d KDMs (2 keys each) in %.1f s wall, %.1f s CPU on one thread: %.0f KDMs per CPU-second"
            + " (%.2f ms CPU each; %d bytes written)%n",
        count, (now - start) / 1e9, cpuSeconds, kdmPerSecond, 1000.0 / kdmPerSecond, bytes);
    System.out.printf(
        "openssl speed rsa2048 (one process, per CPU-second as openssl counts user time): %.0f signs/s%n",
        opensslSigns);
    System.out.printf(
        "JDK SHA256withRSA (RSA-2048, same key): %.0f signs per CPU-second%n", jdkSigns);
    System.out.printf(
        "ratio: %.2f KDMs per openssl RSA-2048 sign (target >= 0.5)%n",
        kdmPerSecond / opensslSigns);
  }

  private static long issue(
      KdmWriter writer, KdmSigner signer, KdmRequest g, ContentKeySet keys, SecureRandom random)
      throws CinemaException {
    KdmRequest r =
        KdmRequest.modifiedTransitional1(
            keys,
            g.screen(),
            g.notValidBefore(),
            g.notValidAfter(),
            UUID.randomUUID(),
            g.issueDate());
    return writer.issue(signer, r, random).length;
  }

  static double jdkSignsPerCpuSecond(KdmSigner signer, int seconds) throws Exception {
    java.lang.management.ThreadMXBean threads =
        java.lang.management.ManagementFactory.getThreadMXBean();
    byte[] message = new byte[2048];
    java.security.Signature s = java.security.Signature.getInstance("SHA256withRSA");
    long cpu0 = threads.getCurrentThreadCpuTime();
    long stop = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
    long n = 0;
    while (System.nanoTime() < stop) {
      s.initSign(signer.privateKey());
      s.update(message);
      message[0] ^= s.sign()[0];
      n++;
    }
    return n / ((threads.getCurrentThreadCpuTime() - cpu0) / 1e9);
  }

  static double opensslRsa2048SignsPerSecond(int seconds) throws IOException, InterruptedException {
    Process p =
        new ProcessBuilder("openssl", "speed", "-seconds", Integer.toString(seconds), "rsa2048")
            .redirectErrorStream(true)
            .start();
    String out = new String(p.getInputStream().readAllBytes());
    if (!p.waitFor(seconds * 4L + 60, TimeUnit.SECONDS) || p.exitValue() != 0) {
      throw new IOException("openssl speed failed: " + out);
    }
    // "rsa 2048 bits 0.000678s 0.000020s   1474.9  50000.0"  (sign/s, verify/s)
    Matcher m =
        Pattern.compile("rsa\\s+2048 bits\\s+\\S+\\s+\\S+\\s+([0-9.]+)\\s+([0-9.]+)").matcher(out);
    if (!m.find()) {
      throw new IOException("cannot find the rsa 2048 line in: " + out);
    }
    return Double.parseDouble(m.group(1));
  }
}
