package dev.keycast.protocol.cinema;

import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;

/** Test support: a SecureRandom whose output is SHA-256(seed || counter) blocks, for golden vectors. */
final class DeterministicRandom extends SecureRandom {
  private static final long serialVersionUID = 1L;
  private final byte[] seed;
  private long counter;

  DeterministicRandom(String seed) {
    this.seed = seed.getBytes(java.nio.charset.StandardCharsets.UTF_8);
  }

  @Override
  public synchronized void nextBytes(byte[] out) {
    try {
      MessageDigest sha = MessageDigest.getInstance("SHA-256");
      int off = 0;
      while (off < out.length) {
        sha.update(seed);
        sha.update(ByteBuffer.allocate(8).putLong(counter++).array());
        byte[] block = sha.digest();
        int n = Math.min(block.length, out.length - off);
        System.arraycopy(block, 0, out, off, n);
        off += n;
      }
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  @Override
  public void setSeed(long ignored) {
    // SecureRandom's constructor calls this; the seed is fixed.
  }
}
