package dev.keycast.protocol.crypto;

import static org.assertj.core.api.Assertions.assertThat;

import java.security.SecureRandom;
import org.bouncycastle.crypto.Digest;
import org.bouncycastle.crypto.digests.SHA256Digest;
import org.bouncycastle.crypto.macs.HMac;
import org.bouncycastle.crypto.params.KeyParameter;
import org.junit.jupiter.api.Test;

/** The JDK-backed digest is a drop-in for BouncyCastle's SHA256Digest, alone and under HMAC. */
class Sha256Test {
  @Test
  void matchesBouncyCastleDigestAndHmac() {
    SecureRandom r = new SecureRandom();
    for (int len = 0; len < 300; len += 7) {
      byte[] in = new byte[len];
      byte[] key = new byte[1 + len % 100];
      r.nextBytes(in);
      r.nextBytes(key);
      assertThat(digest(new Sha256(), in)).isEqualTo(digest(new SHA256Digest(), in));
      assertThat(hmac(new Sha256(), key, in)).isEqualTo(hmac(new SHA256Digest(), key, in));
    }
    // the FIPS 180-2 "abc" vector
    assertThat(java.util.HexFormat.of().formatHex(digest(new Sha256(), "abc".getBytes())))
        .isEqualTo("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  }

  private static byte[] digest(Digest d, byte[] in) {
    d.update(in, 0, in.length);
    if (in.length > 0) {
      d.update(in[0]);
      d.reset(); // reset discards everything so far
      d.update(in, 0, in.length);
    }
    byte[] out = new byte[32];
    d.doFinal(out, 0);
    return out;
  }

  private static byte[] hmac(Digest d, byte[] key, byte[] in) {
    HMac h = new HMac(d);
    h.init(new KeyParameter(key));
    h.update(in, 0, in.length);
    byte[] out = new byte[32];
    h.doFinal(out, 0);
    return out;
  }
}
