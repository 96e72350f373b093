package dev.keycast.protocol.keyset;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keycast.protocol.DecryptionFailedException;
import dev.keycast.protocol.MalformedInputException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

class SealedSecretTest {
  private final SecureRandom rnd = new SecureRandom();

  @Test
  void roundTripsEmptyTypicalAndLargestSecrets() throws Exception {
    KeySet ks = KeySet.generate(rnd);
    byte[] policy = "{\"v\":1}".getBytes();
    for (int size : new int[] {0, 16, 32, SealedSecret.MAX_SECRET}) {
      byte[] secret = new byte[size];
      rnd.nextBytes(secret);
      byte[] sealed = SealedSecret.seal(ks, "send:1.a-B_", secret, policy, rnd).encode();
      assertThat(sealed.length).isLessThanOrEqualTo(SealedSecret.MAX_ENCODED);
      SealedSecret s = SealedSecret.parse(sealed);
      assertThat(s.keySetId()).isEqualTo(ks.id());
      assertThat(s.secretId()).isEqualTo("send:1.a-B_".replace("_", "_"));
      assertThat(s.policySha256()).isEqualTo(MessageDigest.getInstance("SHA-256").digest(policy));
      assertThat(s.open(ks, policy)).isEqualTo(secret);
    }
  }

  @Test
  void rejectsOtherKeySetOrPolicy() throws Exception {
    KeySet ks = KeySet.generate(rnd);
    KeySet other = KeySet.generate(rnd);
    SealedSecret s =
        SealedSecret.parse(SealedSecret.seal(ks, "s1", new byte[16], new byte[] {1}, rnd).encode());
    assertThatThrownBy(() -> s.open(other, new byte[] {1}))
        .isExactlyInstanceOf(DecryptionFailedException.class);
    assertThatThrownBy(() -> s.open(ks, new byte[] {2}))
        .isExactlyInstanceOf(DecryptionFailedException.class);
    assertThat(s.open(ks, new byte[] {1})).hasSize(16);
  }

  @Test
  void sealRejectsBadArguments() {
    KeySet ks = KeySet.generate(rnd);
    assertThatThrownBy(() -> SealedSecret.seal(ks, "", new byte[1], new byte[0], rnd))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> SealedSecret.seal(ks, "x".repeat(129), new byte[1], new byte[0], rnd))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> SealedSecret.seal(ks, "a/b", new byte[1], new byte[0], rnd))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(
            () ->
                SealedSecret.seal(ks, "s", new byte[SealedSecret.MAX_SECRET + 1], new byte[0], rnd))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void everySingleBitFlipOfTheGoldenIsRejectedWithATypedError() {
    byte[] g = KeySetVectors.goldenSealedSecret();
    KeySet ks = KeySetVectors.keySet();
    int rejected = 0;
    for (int i = 0; i < g.length; i++) {
      for (int bit = 0; bit < 8; bit++) {
        byte[] c = g.clone();
        c[i] ^= (byte) (1 << bit);
        try {
          SealedSecret.parse(c).open(ks, KeySetVectors.POLICY);
          throw new AssertionError("flip of bit " + bit + " in byte " + i + " was accepted");
        } catch (MalformedInputException | DecryptionFailedException e) {
          rejected++;
        }
      }
    }
    assertThat(rejected).isEqualTo(g.length * 8);
  }

  @Test
  void everyTruncationIsRejectedAsTruncated() {
    byte[] g = KeySetVectors.goldenSealedSecret();
    for (int n = 0; n < g.length; n++) {
      byte[] c = Arrays.copyOf(g, n);
      KeySetTest.assertCode(() -> SealedSecret.parse(c), "truncated");
    }
  }
}
