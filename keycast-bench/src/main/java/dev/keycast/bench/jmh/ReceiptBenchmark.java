package dev.keycast.bench.jmh;

import dev.keycast.protocol.keyset.KeySet;
import dev.keycast.protocol.receipt.Receipt;
import dev.keycast.protocol.receipt.ReceiptBuilder;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.time.Instant;
import java.util.HexFormat;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * The receipt's share of a fan-out, per entry: for each of {@value #ENTRIES} deliveries, the
 * envelope digest, the delivery id (api.md 1.1 step 7), a {@link Receipt.Delivery} and {@link
 * ReceiptBuilder#add}; then one Ed25519 signature over the whole receipt. The score is entries per
 * second, signature included.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
public class ReceiptBenchmark {
  static final int ENTRIES = 10_000;
  private static final byte[] DELIVERY_ID_LABEL =
      "keycast/v1/delivery-id\0".getBytes(StandardCharsets.US_ASCII);

  @State(Scope.Thread)
  public static class Send {
    KeySet keySet;
    String sendId;
    String[] fingerprints;
    byte[] envelope;
    byte[] policySha256;
    byte[] payloadSha256;

    @Setup(Level.Trial)
    public void setUp() throws Exception {
      SecureRandom random = new SecureRandom();
      keySet = KeySet.generate(random);
      HexFormat hex = HexFormat.of();
      byte[] b = new byte[16];
      random.nextBytes(b);
      sendId = hex.formatHex(b);
      fingerprints = new String[ENTRIES];
      byte[] fp = new byte[32];
      for (int i = 0; i < ENTRIES; i++) {
        random.nextBytes(fp);
        fingerprints[i] = hex.formatHex(fp);
      }
      envelope = new byte[620]; // the size of a cms-aes256gcm-v1 delivery of a 32-byte secret
      random.nextBytes(envelope);
      policySha256 = new byte[32];
      payloadSha256 = new byte[32];
      random.nextBytes(policySha256);
      random.nextBytes(payloadSha256);
    }
  }

  @Benchmark
  @OperationsPerInvocation(ENTRIES)
  public byte[] entryAndSignature(Send s) throws Exception {
    ReceiptBuilder builder =
        new ReceiptBuilder(
            s.keySet.id(), s.sendId, Receipt.Kind.SEND, s.policySha256, s.payloadSha256);
    MessageDigest sha = MessageDigest.getInstance("SHA-256");
    HexFormat hex = HexFormat.of();
    byte[] sendIdBytes = s.sendId.getBytes(StandardCharsets.US_ASCII);
    for (int i = 0; i < ENTRIES; i++) {
      String fp = s.fingerprints[i];
      byte[] envelopeSha = sha.digest(s.envelope);
      sha.update(DELIVERY_ID_LABEL);
      sha.update(sendIdBytes);
      sha.update((byte) 0);
      sha.update(fp.getBytes(StandardCharsets.US_ASCII));
      String deliveryId = hex.formatHex(sha.digest(), 0, 16);
      builder.add(new Receipt.Delivery(fp, "cms-aes256gcm-v1", deliveryId, envelopeSha));
    }
    return builder.sign(Instant.now(), s.keySet);
  }
}
