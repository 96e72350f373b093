package dev.keycast.protocol.envelope;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.keycast.protocol.crypto.CryptoBackend;
import dev.keycast.protocol.crypto.TestBackends;
import dev.keycast.protocol.hpke.X25519PrivateKey;
import dev.keycast.protocol.hpke.X25519PublicKey;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Deliveries sealed with one backend open with the other, and both seal the same bytes. */
class CrossBackendTest {
  private static final SecureRandom RANDOM = new SecureRandom();

  static Stream<Arguments> pairs() {
    List<String> n = TestBackends.names();
    return n.stream().flatMap(a -> n.stream().map(b -> Arguments.of(a, b)));
  }

  @ParameterizedTest(name = "sealed with {0}, opened with {1}")
  @MethodSource("pairs")
  void hpkeDeliveriesCrossBackends(String sealer, String opener) throws Exception {
    HpkeDeliveryFormat seal = HpkeDeliveryFormat.INSTANCE.withBackend(TestBackends.get(sealer));
    HpkeDeliveryFormat open = HpkeDeliveryFormat.INSTANCE.withBackend(TestBackends.get(opener));
    for (int i = 0; i < 25; i++) {
      X25519PrivateKey priv = X25519PrivateKey.generate(RANDOM);
      X25519RecipientKey key = new X25519RecipientKey(priv.publicKey());
      byte[] secret = new byte[1 + i * 7];
      RANDOM.nextBytes(secret);
      byte[] env = seal.seal(key, DeliveryFormatTest.metadataFor(key), secret, RANDOM);
      OpenedDelivery d = open.open(priv, env);
      assertThat(d.secret()).isEqualTo(secret);
      assertThat(d.metadata()).isEqualTo(DeliveryFormatTest.metadataFor(key));
    }
  }

  @ParameterizedTest(name = "sealed with {0}, opened with {1}")
  @MethodSource("pairs")
  void cmsDeliveriesCrossBackends(String sealer, String opener) throws Exception {
    for (CmsDeliveryFormat f :
        List.of(CmsDeliveryFormat.AES_256_GCM, CmsDeliveryFormat.AES_256_CBC)) {
      for (int bits : new int[] {2048, 3072, 4096}) {
        RsaRecipientKey key = TestKeys.rsaRecipient(bits);
        byte[] secret = new byte[32];
        RANDOM.nextBytes(secret);
        byte[] env =
            f.withBackend(TestBackends.get(sealer))
                .seal(key, DeliveryFormatTest.metadataFor(key), secret, RANDOM);
        assertThat(
                f.withBackend(TestBackends.get(opener))
                    .open(TestKeys.rsaPrivate(bits), env)
                    .secret())
            .isEqualTo(secret);
      }
    }
  }

  /** Same seeded randomness, same envelope bytes, for random keys (not only the golden ones). */
  @org.junit.jupiter.api.Test
  void backendsSealIdenticalBytes() throws Exception {
    CryptoBackend j = TestBackends.get("java");
    CryptoBackend o = TestBackends.get("openssl");
    for (int i = 0; i < 10; i++) {
      X25519RecipientKey x = new X25519RecipientKey(X25519PrivateKey.generate(RANDOM).publicKey());
      byte[] secret = new byte[32];
      RANDOM.nextBytes(secret);
      String seed = "cross " + i;
      assertThat(
              HpkeDeliveryFormat.INSTANCE
                  .withBackend(o)
                  .seal(
                      x, DeliveryFormatTest.metadataFor(x), secret, new DeterministicRandom(seed)))
          .isEqualTo(
              HpkeDeliveryFormat.INSTANCE
                  .withBackend(j)
                  .seal(
                      x, DeliveryFormatTest.metadataFor(x), secret, new DeterministicRandom(seed)));
      RsaRecipientKey r = TestKeys.rsaRecipient(2048);
      byte[] viaOpenssl =
          CmsDeliveryFormat.AES_256_GCM
              .withBackend(o)
              .seal(r, DeliveryFormatTest.metadataFor(r), secret, new DeterministicRandom(seed));
      // SunJCE's per-thread GCM cipher refuses the same key and nonce twice in a row (as it
      // should); seal one random delivery in between.
      CmsDeliveryFormat.AES_256_GCM.seal(r, DeliveryFormatTest.metadataFor(r), secret, RANDOM);
      byte[] viaJava =
          CmsDeliveryFormat.AES_256_GCM
              .withBackend(j)
              .seal(r, DeliveryFormatTest.metadataFor(r), secret, new DeterministicRandom(seed));
      assertThat(viaOpenssl).isEqualTo(viaJava);
    }
  }

  /** A low-order recipient key (all-zero DH) is refused by both backends when sealing. */
  @ParameterizedTest
  @MethodSource("dev.keycast.protocol.crypto.TestBackends#names")
  void lowOrderRecipientRefused(String backend) throws Exception {
    X25519RecipientKey bad =
        new X25519RecipientKey(
            X25519PublicKey.fromRaw(
                HexFormat.of()
                    .parseHex("e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800")));
    HpkeDeliveryFormat f = HpkeDeliveryFormat.INSTANCE.withBackend(TestBackends.get(backend));
    assertThatThrownBy(() -> f.seal(bad, DeliveryFormatTest.metadataFor(bad), new byte[32], RANDOM))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("low-order");
  }
}
