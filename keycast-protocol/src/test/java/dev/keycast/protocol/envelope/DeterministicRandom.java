package dev.keycast.protocol.envelope;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;

/** Test-only: a reproducible byte stream, SHA-256(seed || counter) blocks. Never use in main code. */
final class DeterministicRandom extends SecureRandom {
  private final byte[] seed;
  private long counter;
  private byte[] block = new byte[0];
  private int used;

  DeterministicRandom(String seed) {
    this.seed = seed.getBytes(StandardCharsets.UTF_8);
  }

  @Override
  public synchronized void nextBytes(byte[] out) {
    for (int i = 0; i < out.length; i++) {
      if (used == block.length) {
        try {
          MessageDigest md = MessageDigest.getInstance("SHA-256");
          md.update(seed);
          md.update(ByteBuffer.allocate(8).putLong(counter++).array());
          block = md.digest();
        } catch (NoSuchAlgorithmException e) {
          throw new AssertionError(e);
        }
        used = 0;
      }
      out[i] = block[used++];
    }
  }

  @Override
  public byte[] generateSeed(int n) {
    byte[] b = new byte[n];
    nextBytes(b);
    return b;
  }

  @Override
  public void setSeed(long ignored) {
    // SecureRandom's constructor calls this; the stream depends only on the seed string.
  }

  @Override
  public void setSeed(byte[] ignored) {}
}
