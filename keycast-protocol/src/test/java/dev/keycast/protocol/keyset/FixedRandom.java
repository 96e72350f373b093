package dev.keycast.protocol.keyset;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;

/**
 * Deterministic "randomness" for known-answer tests only: the stream SHA-256(label || u32 counter)
 * for counter = 0, 1, 2, ... Never use outside tests.
 */
public final class FixedRandom extends SecureRandom {
  private final byte[] label;
  private byte[] block = new byte[0];
  private int used;
  private int counter;

  public FixedRandom(String label) {
    super(new byte[0]);
    this.label = label.getBytes(StandardCharsets.UTF_8);
  }

  @Override
  public synchronized void nextBytes(byte[] out) {
    for (int i = 0; i < out.length; i++) {
      if (used == block.length) {
        refill();
      }
      out[i] = block[used++];
    }
  }

  private void refill() {
    try {
      MessageDigest md = MessageDigest.getInstance("SHA-256");
      md.update(label);
      md.update(
          new byte[] {
            (byte) (counter >>> 24), (byte) (counter >>> 16), (byte) (counter >>> 8), (byte) counter
          });
      counter++;
      block = md.digest();
      used = 0;
    } catch (NoSuchAlgorithmException e) {
      throw new AssertionError(e);
    }
  }

  /** {@code n} bytes of the stream for {@code label}. */
  public static byte[] bytes(String label, int n) {
    byte[] b = new byte[n];
    new FixedRandom(label).nextBytes(b);
    return b;
  }
}
