package dev.keycast.protocol.hpke;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keycast.protocol.MalformedInputException;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/**
 * Mutation tests (testing.md 2.5): a non-canonical X25519 encoding (u in [p, 2^255) or bit 255
 * set) is the same key as a canonical one, so accepting it would let one recipient key be
 * registered twice under two fingerprints. The edges of {@code isCanonical}, byte by byte.
 */
class X25519PublicKeyCanonicalTest {
  /** p = 2^255 - 19, little-endian, minus {@code below}. */
  private static byte[] pMinus(int below) {
    byte[] u = new byte[32];
    Arrays.fill(u, (byte) 0xff);
    u[31] = 0x7f;
    u[0] = (byte) (0xed - below);
    return u;
  }

  @Test
  void nonCanonicalEncodingsOfOneKeyAreRefused() {
    for (byte[] u : new byte[][] {pMinus(0), pMinus(-1), pMinus(-0x12)}) {
      assertThatThrownBy(() -> X25519PublicKey.fromRaw(u))
          .isInstanceOf(MalformedInputException.class)
          .hasMessageContaining("not canonically encoded");
    }
    byte[] topBit = new byte[32];
    topBit[0] = 9;
    topBit[31] = (byte) 0x80;
    assertThatThrownBy(() -> X25519PublicKey.fromRaw(topBit))
        .isInstanceOf(MalformedInputException.class);
  }

  @Test
  void theLargestCanonicalValuesAreAccepted() throws Exception {
    assertThat(X25519PublicKey.fromRaw(pMinus(1)).rawView()).isEqualTo(pMinus(1));
    byte[] middle = pMinus(0);
    middle[15] = (byte) 0xfe; // below p although byte 0 is 0xed
    assertThat(X25519PublicKey.fromRaw(middle).rawView()).isEqualTo(middle);
    byte[] top = pMinus(0);
    top[31] = 0x7e; // below p
    assertThat(X25519PublicKey.fromRaw(top).rawView()).isEqualTo(top);
    byte[] byte1 = pMinus(0);
    byte1[1] = (byte) 0xfe;
    assertThat(X25519PublicKey.fromRaw(byte1).rawView()).isEqualTo(byte1);
    byte[] byte30 = pMinus(0);
    byte30[30] = (byte) 0xfe;
    assertThat(X25519PublicKey.fromRaw(byte30).rawView()).isEqualTo(byte30);
  }

  @Test
  void aKeyOfTheWrongLengthIsRefused() {
    assertThatThrownBy(() -> X25519PublicKey.fromRaw(new byte[31]))
        .isInstanceOf(MalformedInputException.class);
    assertThatThrownBy(() -> X25519PublicKey.fromRaw(new byte[33]))
        .isInstanceOf(MalformedInputException.class);
  }
}
