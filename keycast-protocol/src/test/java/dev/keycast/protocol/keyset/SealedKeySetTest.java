package dev.keycast.protocol.keyset;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keycast.protocol.DecryptionFailedException;
import dev.keycast.protocol.MalformedInputException;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.Map;
import org.junit.jupiter.api.Test;

class SealedKeySetTest {
  private final SecureRandom rnd = new SecureRandom();

  @Test
  void roundTripsAndTheHeaderIsReadableWithoutTheDataKey() throws Exception {
    KeySet ks = KeySet.generate(rnd);
    byte[] dataKey = new byte[32];
    rnd.nextBytes(dataKey);
    byte[] edk = new byte[200];
    rnd.nextBytes(edk);
    byte[] sealed = SealedKeySet.sealVersion1(ks, dataKey, "alias/keycast", edk, rnd).encode();

    SealedKeySet parsed = SealedKeySet.parse(sealed);
    assertThat(parsed.version()).isEqualTo(1);
    assertThat(parsed.keySetId()).isEqualTo(ks.id());
    assertThat(parsed.kmsKeyId()).isEqualTo("alias/keycast");
    assertThat(parsed.encryptedDataKey()).isEqualTo(edk);
    assertThat(parsed.bundle()).isEqualTo(ks.bundle("alias/keycast"));
    assertThat(parsed.bundle().kmsKeyId()).isEqualTo("alias/keycast");
    assertThat(parsed.toString()).doesNotContain(java.util.HexFormat.of().formatHex(edk));

    KeySet back = parsed.unseal(dataKey);
    assertThat(back.id()).isEqualTo(ks.id());
    assertThat(back.receivePrivateKey()).isEqualTo(ks.receivePrivateKey());
    assertThat(back.signingPrivateKey()).isEqualTo(ks.signingPrivateKey());
    assertThat(back.storageKey()).isEqualTo(ks.storageKey());
  }

  @Test
  void sealingTwiceUsesFreshNonces() {
    KeySet ks = KeySet.generate(rnd);
    byte[] dk = new byte[32];
    byte[] a = SealedKeySet.sealVersion1(ks, dk, "k", new byte[] {1}, rnd).encode();
    byte[] b = SealedKeySet.sealVersion1(ks, dk, "k", new byte[] {1}, rnd).encode();
    assertThat(a).isNotEqualTo(b);
  }

  @Test
  void encryptionContextBindsKeySetIdAndFormat() {
    String id = KeySetVectors.keySet().id();
    Map<String, String> ctx = SealedKeySet.encryptionContext(id);
    assertThat(ctx)
        .containsExactly(
            Map.entry("keycast:format", "sealed-key-set/1"), Map.entry("keycast:key-set-id", id));
    assertThatThrownBy(() -> ctx.put("x", "y")).isInstanceOf(UnsupportedOperationException.class);
    assertThatThrownBy(() -> SealedKeySet.encryptionContext("nope"))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void everySingleBitFlipOfTheGoldenIsRejectedWithATypedError() {
    byte[] g = KeySetVectors.goldenSealedKeySet();
    int rejected = 0;
    for (int i = 0; i < g.length; i++) {
      for (int bit = 0; bit < 8; bit++) {
        byte[] c = g.clone();
        c[i] ^= (byte) (1 << bit);
        try {
          SealedKeySet.parse(c).unseal(KeySetVectors.DATA_KEY).destroy();
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
    byte[] g = KeySetVectors.goldenSealedKeySet();
    for (int n = 0; n < g.length; n++) {
      byte[] c = Arrays.copyOf(g, n);
      KeySetTest.assertCode(() -> SealedKeySet.parse(c), "truncated");
    }
  }

  @Test
  void sealRejectsBadArguments() {
    KeySet ks = KeySet.generate(rnd);
    assertThatThrownBy(() -> SealedKeySet.sealVersion1(ks, new byte[16], "k", new byte[1], rnd))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> SealedKeySet.sealVersion1(ks, new byte[32], "", new byte[1], rnd))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> SealedKeySet.sealVersion1(ks, new byte[32], "a b", new byte[1], rnd))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> SealedKeySet.sealVersion1(ks, new byte[32], "k", new byte[6145], rnd))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> SealedKeySet.sealVersion1(ks, new byte[32], "k", new byte[0], rnd))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void largestHeaderFitsTheCap() throws Exception {
    KeySet ks = KeySet.generate(rnd);
    byte[] sealed =
        SealedKeySet.sealVersion1(ks, new byte[32], "k".repeat(2048), new byte[6144], rnd).encode();
    assertThat(sealed.length).isLessThanOrEqualTo(SealedKeySet.MAX_ENCODED);
    assertThat(SealedKeySet.parse(sealed).unseal(new byte[32]).id()).isEqualTo(ks.id());
  }

  @Test
  void nullInputIsATypedError() {
    KeySetTest.assertCode(() -> SealedKeySet.parse(null), "truncated");
    assertThatThrownBy(() -> SealedKeySet.parse(KeySetVectors.goldenSealedKeySet()).unseal(null))
        .isExactlyInstanceOf(DecryptionFailedException.class);
  }
}
