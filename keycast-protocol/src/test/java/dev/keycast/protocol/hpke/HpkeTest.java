package dev.keycast.protocol.hpke;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keycast.protocol.DecryptionFailedException;
import dev.keycast.protocol.MalformedInputException;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Round trips in Keycast's AES-256-GCM suite and every way a ciphertext must fail to open. */
class HpkeTest {
  private static final SecureRandom RANDOM = new SecureRandom();
  private static final HpkeSuite SUITE = HpkeSuite.KEYCAST_V1;
  private static final byte[] INFO = "keycast test info".getBytes(StandardCharsets.UTF_8);
  private static final byte[] AAD = "keycast test aad".getBytes(StandardCharsets.UTF_8);

  @Test
  void keycastSuiteIds() {
    assertThat(SUITE).isEqualTo(new HpkeSuite(0x20, 1, 2));
    assertThatThrownBy(() -> new HpkeSuite(0x10, 1, 2))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> new HpkeSuite(0x20, 2, 2))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> new HpkeSuite(0x20, 1, 0xffff))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @ParameterizedTest
  @MethodSource("sizes")
  void roundTripAes256Gcm(int size) throws Exception {
    X25519PrivateKey sk = X25519PrivateKey.generate(RANDOM);
    byte[] pt = new byte[size];
    RANDOM.nextBytes(pt);
    HpkeCiphertext c = Hpke.seal(SUITE, sk.publicKey().toRaw(), INFO, AAD, pt);
    assertThat(c.enc()).hasSize(32);
    assertThat(c.ciphertext()).hasSize(size + 16);
    assertThat(Hpke.open(SUITE, sk, INFO, AAD, c)).isEqualTo(pt);
    // a fresh ephemeral every time
    assertThat(Hpke.seal(SUITE, sk.publicKey().toRaw(), INFO, AAD, pt).enc()).isNotEqualTo(c.enc());
  }

  static Stream<Integer> sizes() {
    return Stream.of(0, 1, 15, 16, 17, 1000, 65536);
  }

  @Test
  void keysSerializeAsRaw32Bytes() throws Exception {
    X25519PrivateKey sk = X25519PrivateKey.generate(RANDOM);
    byte[] raw = sk.toRaw();
    assertThat(raw).hasSize(32);
    X25519PrivateKey restored = X25519PrivateKey.fromRaw(raw);
    assertThat(restored.publicKey()).isEqualTo(sk.publicKey());
    assertThat(X25519PublicKey.fromSpkiDer(sk.publicKey().toSpkiDer())).isEqualTo(sk.publicKey());
    assertThat(sk.toString()).doesNotContain(java.util.HexFormat.of().formatHex(raw));
    assertThatThrownBy(() -> X25519PrivateKey.fromRaw(new byte[31]))
        .isInstanceOf(MalformedInputException.class);
    assertThatThrownBy(() -> X25519PublicKey.fromRaw(new byte[33]))
        .isInstanceOf(MalformedInputException.class);
    assertThatThrownBy(() -> X25519PublicKey.fromRaw(new byte[32]))
        .isInstanceOf(MalformedInputException.class);
    sk.destroy();
    assertThatThrownBy(sk::toRaw).isInstanceOf(IllegalStateException.class);
  }

  @Test
  void lowOrderRecipientKeyIsRejectedOnSeal() throws Exception {
    byte[] one = new byte[32];
    one[0] = 1; // the point u=1 has order 4
    assertThatThrownBy(() -> Hpke.seal(SUITE, one, INFO, AAD, new byte[1]))
        .isInstanceOf(MalformedInputException.class);
  }

  record Tamper(String name, TamperFn fn) {
    @Override
    public String toString() {
      return name;
    }
  }

  interface TamperFn {
    void openTampered(X25519PrivateKey sk, HpkeCiphertext c) throws Exception;
  }

  static Stream<Arguments> tampers() {
    return Stream.of(
            new Tamper(
                "wrong key",
                (sk, c) -> Hpke.open(SUITE, X25519PrivateKey.generate(RANDOM), INFO, AAD, c)),
            new Tamper(
                "wrong suite", (sk, c) -> Hpke.open(new HpkeSuite(0x20, 1, 1), sk, INFO, AAD, c)),
            new Tamper(
                "flipped bit in enc",
                (sk, c) ->
                    Hpke.open(
                        SUITE,
                        sk,
                        INFO,
                        AAD,
                        new HpkeCiphertext(flip(c.enc(), 5), c.ciphertext()))),
            new Tamper(
                "flipped bit in ciphertext",
                (sk, c) ->
                    Hpke.open(
                        SUITE,
                        sk,
                        INFO,
                        AAD,
                        new HpkeCiphertext(c.enc(), flip(c.ciphertext(), 3)))),
            new Tamper(
                "flipped bit in tag",
                (sk, c) ->
                    Hpke.open(
                        SUITE,
                        sk,
                        INFO,
                        AAD,
                        new HpkeCiphertext(
                            c.enc(), flip(c.ciphertext(), c.ciphertext().length - 1)))),
            new Tamper(
                "flipped bit in aad", (sk, c) -> Hpke.open(SUITE, sk, INFO, flip(AAD, 0), c)),
            new Tamper(
                "flipped bit in info", (sk, c) -> Hpke.open(SUITE, sk, flip(INFO, 2), AAD, c)),
            new Tamper(
                "truncated ciphertext",
                (sk, c) ->
                    Hpke.open(
                        SUITE, sk, INFO, AAD, new HpkeCiphertext(c.enc(), cut(c.ciphertext(), 1)))),
            new Tamper(
                "ciphertext shorter than tag",
                (sk, c) ->
                    Hpke.open(SUITE, sk, INFO, AAD, new HpkeCiphertext(c.enc(), new byte[15]))),
            new Tamper(
                "truncated enc",
                (sk, c) ->
                    Hpke.open(
                        SUITE, sk, INFO, AAD, new HpkeCiphertext(cut(c.enc(), 1), c.ciphertext()))),
            new Tamper(
                "empty enc",
                (sk, c) ->
                    Hpke.open(
                        SUITE, sk, INFO, AAD, new HpkeCiphertext(new byte[0], c.ciphertext()))),
            new Tamper(
                "all-zero enc",
                (sk, c) ->
                    Hpke.open(
                        SUITE, sk, INFO, AAD, new HpkeCiphertext(new byte[32], c.ciphertext()))))
        .map(Arguments::of);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("tampers")
  void tamperedInputFailsWithOneMessage(Tamper t) throws Exception {
    X25519PrivateKey sk = X25519PrivateKey.generate(RANDOM);
    byte[] pt = "the content key".getBytes(StandardCharsets.UTF_8);
    HpkeCiphertext c = Hpke.seal(SUITE, sk.publicKey(), INFO, AAD, pt, RANDOM);
    assertThat(Hpke.open(SUITE, sk, INFO, AAD, c)).isEqualTo(pt); // untampered control
    assertThatThrownBy(() -> t.fn().openTampered(sk, c))
        .isInstanceOf(DecryptionFailedException.class)
        .hasMessage(DecryptionFailedException.MESSAGE);
  }

  static byte[] flip(byte[] b, int index) {
    byte[] c = b.clone();
    c[index] ^= 0x01;
    return c;
  }

  static byte[] cut(byte[] b, int n) {
    return Arrays.copyOf(b, b.length - n);
  }
}
