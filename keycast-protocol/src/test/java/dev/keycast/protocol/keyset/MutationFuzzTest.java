package dev.keycast.protocol.keyset;

import static org.assertj.core.api.Assertions.assertThat;

import dev.keycast.protocol.DecryptionFailedException;
import dev.keycast.protocol.MalformedInputException;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Random multi-byte mutations (overwrite, insert, delete, length-field garbage) of the golden
 * sealed formats: each must end in a typed error, never a library exception or success.
 */
class MutationFuzzTest {
  static byte[] mutate(byte[] g, Random rnd) {
    byte[] c = g.clone();
    switch (rnd.nextInt(4)) {
      case 0 -> {
        int n = 1 + rnd.nextInt(4);
        for (int i = 0; i < n; i++) {
          int at = rnd.nextInt(c.length);
          byte old = c[at];
          while (c[at] == old) {
            c[at] = (byte) rnd.nextInt(256);
          }
        }
      }
      case 1 -> {
        int at = rnd.nextInt(c.length + 1);
        byte[] ins = new byte[1 + rnd.nextInt(8)];
        rnd.nextBytes(ins);
        byte[] d = new byte[c.length + ins.length];
        System.arraycopy(c, 0, d, 0, at);
        System.arraycopy(ins, 0, d, at, ins.length);
        System.arraycopy(c, at, d, at + ins.length, c.length - at);
        c = d;
      }
      case 2 -> {
        int at = rnd.nextInt(c.length);
        int n = 1 + rnd.nextInt(Math.min(8, c.length - at));
        byte[] d = new byte[c.length - n];
        System.arraycopy(c, 0, d, 0, at);
        System.arraycopy(c, at + n, d, at, c.length - at - n);
        c = d;
      }
      default -> {
        int at = rnd.nextInt(c.length - 1);
        c[at] = (byte) 0xff;
        c[at + 1] = (byte) 0xff;
      }
    }
    return Arrays.equals(c, g) ? mutate(g, rnd) : c;
  }

  @Test
  void sealedKeySetMutations() {
    byte[] g = KeySetVectors.goldenSealedKeySet();
    Random rnd = new Random(1);
    for (int i = 0; i < 3000; i++) {
      byte[] c = mutate(g, rnd);
      try {
        SealedKeySet.parse(c).unseal(KeySetVectors.DATA_KEY);
        throw new AssertionError("accepted mutation " + i);
      } catch (MalformedInputException | DecryptionFailedException expected) {
        assertThat(expected.getMessage()).isNotBlank();
      }
    }
  }

  @Test
  void sealedSecretMutations() {
    byte[] g = KeySetVectors.goldenSealedSecret();
    KeySet ks = KeySetVectors.keySet();
    Random rnd = new Random(2);
    for (int i = 0; i < 3000; i++) {
      byte[] c = mutate(g, rnd);
      try {
        SealedSecret.parse(c).open(ks, KeySetVectors.POLICY);
        throw new AssertionError("accepted mutation " + i);
      } catch (MalformedInputException | DecryptionFailedException expected) {
        assertThat(expected.getMessage()).isNotBlank();
      }
    }
  }

  @Test
  void keyBundleMutations() {
    byte[] g = KeySetVectors.keySet().bundle(KeySetVectors.KMS_KEY_ID).encode();
    Random rnd = new Random(3);
    int parsed = 0;
    for (int i = 0; i < 3000; i++) {
      byte[] c = mutate(g, rnd);
      try {
        KeyBundle b = KeyBundle.parse(c);
        // a bundle has no integrity of its own (user_data provides it): a parsed mutant must differ
        assertThat(b.userData()).isNotEqualTo(KeySetVectors.keySet().bundle(KeySetVectors.KMS_KEY_ID).userData());
        parsed++;
      } catch (MalformedInputException expected) {
        assertThat(expected.code()).isIn("truncated", "malformed", "unsupported_version", "oversize");
      }
    }
    assertThat(parsed).isPositive();
  }
}
