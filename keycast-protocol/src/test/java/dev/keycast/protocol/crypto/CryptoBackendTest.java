package dev.keycast.protocol.crypto;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.math.BigInteger;
import java.security.InvalidKeyException;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.SecureRandom;
import java.security.interfaces.RSAPrivateKey;
import java.security.interfaces.RSAPublicKey;
import java.security.spec.MGF1ParameterSpec;
import java.security.spec.RSAPublicKeySpec;
import java.util.HexFormat;
import javax.crypto.Cipher;
import javax.crypto.spec.OAEPParameterSpec;
import javax.crypto.spec.PSource;
import org.bouncycastle.math.ec.rfc7748.X25519;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/** Both backends against known answers, against each other and against SunJCE. */
class CryptoBackendTest {
  private static final HexFormat HEX = HexFormat.of();

  /** RFC 7748 section 6.1: Alice's private and public key, Bob's public key, their shared secret. */
  private static final String RFC7748_ALICE_PRIVATE =
      "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a";

  private static final String RFC7748_ALICE_PUBLIC =
      "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a";
  private static final String RFC7748_BOB_PUBLIC =
      "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f";
  private static final String RFC7748_SHARED =
      "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742";
  private static KeyPair rsa2048;
  private static KeyPair rsa3072;

  static java.util.List<String> backends() {
    return TestBackends.names();
  }

  @BeforeAll
  static void keys() throws Exception {
    KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
    g.initialize(2048, new SecureRandom(new byte[] {1}));
    rsa2048 = g.generateKeyPair();
    g.initialize(3072);
    rsa3072 = g.generateKeyPair();
  }

  @Test
  void autoPicksOpensslHereAndSettingsParse() {
    TestBackends.get("openssl");
    assertThat(CryptoBackends.forSetting("auto").name()).isEqualTo("openssl");
    assertThat(CryptoBackends.forSetting(null).name()).isEqualTo("openssl");
    assertThat(CryptoBackends.forSetting("OpenSSL").name()).isEqualTo("openssl");
    assertThat(CryptoBackends.forSetting("java").name()).isEqualTo("java");
    assertThatThrownBy(() -> CryptoBackends.forSetting("bogus"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("keycast.crypto must be auto, openssl or java");
    assertThat(CryptoBackends.opensslUnavailableReason()).isEmpty();
    assertThat(CryptoBackends.get().name()).isIn("java", "openssl");
    assertThat(CryptoBackends.description()).startsWith(CryptoBackends.get().name() + " (");
  }

  @Test
  void opensslSelfTestPasses() {
    OpenSslCryptoBackend b = (OpenSslCryptoBackend) TestBackends.get("openssl");
    OpenSslSelfTest.run(b); // throws on any mismatch
    assertThat(b.version()).startsWith("OpenSSL 3.");
  }

  /** RFC 7748 section 6.1, both directions. */
  @ParameterizedTest
  @MethodSource("backends")
  void x25519Rfc7748(String name) throws Exception {
    CryptoBackend b = TestBackends.get(name);
    byte[] alice = HEX.parseHex(RFC7748_ALICE_PRIVATE);
    byte[] bob = HEX.parseHex("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb");
    byte[] alicePub = HEX.parseHex(RFC7748_ALICE_PUBLIC);
    byte[] bobPub = HEX.parseHex(RFC7748_BOB_PUBLIC);
    byte[] k = HEX.parseHex(RFC7748_SHARED);
    X25519Exchange a = b.x25519(alice, bobPub);
    X25519Exchange c = b.x25519(bob, alicePub);
    assertThat(a.publicKey()).isEqualTo(alicePub);
    assertThat(c.publicKey()).isEqualTo(bobPub);
    assertThat(a.sharedSecret()).isEqualTo(k);
    assertThat(c.sharedSecret()).isEqualTo(k);
    a.destroy();
    assertThat(a.isDestroyed()).isTrue();
    assertThatThrownBy(a::sharedSecret).isInstanceOf(IllegalStateException.class);
    assertThat(a.toString()).doesNotContain("4a5d9d5b");
  }

  /** Low-order points (the all-zero result of RFC 9180 section 7.1.4) are rejected. */
  @ParameterizedTest
  @ValueSource(
      strings = {
        "java:0000000000000000000000000000000000000000000000000000000000000000",
        "java:0100000000000000000000000000000000000000000000000000000000000000",
        "java:ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "java:e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
        "openssl:0000000000000000000000000000000000000000000000000000000000000000",
        "openssl:0100000000000000000000000000000000000000000000000000000000000000",
        "openssl:ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "openssl:e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800"
      })
  void allZeroSharedSecretRejected(String c) {
    String[] p = c.split(":");
    CryptoBackend b = TestBackends.get(p[0]);
    byte[] sk = new byte[32];
    new SecureRandom().nextBytes(sk);
    assertThatThrownBy(() -> b.x25519(sk, HEX.parseHex(p[1])))
        .isInstanceOf(InvalidKeyException.class)
        .hasMessageContaining("all zero");
  }

  @Test
  void x25519BackendsAgreeOnRandomKeys() throws Exception {
    CryptoBackend j = TestBackends.get("java");
    CryptoBackend o = TestBackends.get("openssl");
    SecureRandom r = new SecureRandom();
    for (int i = 0; i < 200; i++) {
      byte[] sk = new byte[32];
      byte[] peerSk = new byte[32];
      r.nextBytes(sk);
      r.nextBytes(peerSk);
      byte[] peer = new byte[32];
      X25519.generatePublicKey(peerSk, 0, peer, 0);
      X25519Exchange a = j.x25519(sk, peer);
      X25519Exchange b = o.x25519(sk, peer);
      assertThat(b.publicKey()).isEqualTo(a.publicKey());
      assertThat(b.sharedSecret()).isEqualTo(a.sharedSecret());
    }
  }

  /** RFC 7748 section 6.1 through the shared-secret-only call (the key holder passes its public key). */
  @ParameterizedTest
  @MethodSource("backends")
  void x25519SharedSecretRfc7748(String name) throws Exception {
    CryptoBackend b = TestBackends.get(name);
    byte[] alice = HEX.parseHex(RFC7748_ALICE_PRIVATE);
    byte[] alicePub = HEX.parseHex(RFC7748_ALICE_PUBLIC);
    byte[] bobPub = HEX.parseHex(RFC7748_BOB_PUBLIC);
    byte[] k = HEX.parseHex(RFC7748_SHARED);
    byte[] aliceCopy = alice.clone();
    assertThat(b.x25519SharedSecret(alice, alicePub, bobPub)).isEqualTo(k);
    assertThat(alice).isEqualTo(aliceCopy); // not modified
  }

  /** Same shared secret as the full exchange, both backends, random keys; low-order points refused. */
  @Test
  void x25519SharedSecretAgreesWithTheFullExchange() throws Exception {
    SecureRandom r = new SecureRandom();
    for (int i = 0; i < 100; i++) {
      byte[] sk = new byte[32];
      byte[] peerSk = new byte[32];
      r.nextBytes(sk);
      r.nextBytes(peerSk);
      byte[] peer = new byte[32];
      X25519.generatePublicKey(peerSk, 0, peer, 0);
      X25519Exchange full = TestBackends.get("java").x25519(sk, peer);
      for (String name : new String[] {"java", "openssl"}) {
        assertThat(TestBackends.get(name).x25519SharedSecret(sk, full.publicKey(), peer))
            .as(name)
            .isEqualTo(full.sharedSecret());
      }
    }
    for (String name : new String[] {"java", "openssl"}) {
      CryptoBackend b = TestBackends.get(name);
      byte[] sk = new byte[32];
      r.nextBytes(sk);
      byte[] pub =
          b.x25519(
                  sk,
                  new byte[] {
                    9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                    0, 0, 0, 0, 0
                  })
              .publicKey();
      for (String low :
          new String[] {
            "0000000000000000000000000000000000000000000000000000000000000000",
            "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
            "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800"
          }) {
        assertThatThrownBy(() -> b.x25519SharedSecret(sk, pub, HEX.parseHex(low)))
            .as(name + " " + low)
            .isInstanceOf(InvalidKeyException.class)
            .hasMessageContaining("all zero");
      }
      assertThatThrownBy(() -> b.x25519SharedSecret(new byte[31], pub, pub))
          .isInstanceOf(IllegalArgumentException.class);
      assertThatThrownBy(() -> b.x25519SharedSecret(sk, new byte[33], pub))
          .isInstanceOf(IllegalArgumentException.class);
      assertThatThrownBy(() -> b.x25519SharedSecret(sk, pub, new byte[31]))
          .isInstanceOf(IllegalArgumentException.class);
    }
  }

  /**
   * A held key: RFC 7748 section 6.1, equal to the full exchange for random keys and peers,
   * low-order points and wrong lengths refused, unusable after destroy(), the caller's array not
   * kept.
   */
  @ParameterizedTest
  @MethodSource("backends")
  void x25519KeyAgreementKnownAnswersAndRefusals(String name) throws Exception {
    CryptoBackend b = TestBackends.get(name);
    byte[] alice = HEX.parseHex(RFC7748_ALICE_PRIVATE);
    byte[] alicePub = HEX.parseHex(RFC7748_ALICE_PUBLIC);
    byte[] bobPub = HEX.parseHex(RFC7748_BOB_PUBLIC);
    byte[] k = HEX.parseHex(RFC7748_SHARED);
    byte[] aliceCopy = alice.clone();
    X25519KeyAgreement held = b.x25519KeyAgreement(aliceCopy, alicePub);
    java.util.Arrays.fill(aliceCopy, (byte) 0); // the object keeps its own copy
    assertThat(held.sharedSecret(bobPub)).isEqualTo(k);
    assertThat(held.sharedSecret(bobPub)).isEqualTo(k); // reusable
    assertThat(held.publicKey()).isEqualTo(alicePub);
    assertThat(held.toString()).doesNotContain(HEX.formatHex(alice));
    for (String low :
        new String[] {
          "0000000000000000000000000000000000000000000000000000000000000000",
          "0100000000000000000000000000000000000000000000000000000000000000",
          "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
          "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800"
        }) {
      assertThatThrownBy(() -> held.sharedSecret(HEX.parseHex(low)))
          .as(name + " " + low)
          .isInstanceOf(InvalidKeyException.class)
          .hasMessageContaining("all zero");
    }
    assertThatThrownBy(() -> held.sharedSecret(new byte[31]))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> held.sharedSecret(null)).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> b.x25519KeyAgreement(new byte[31], alicePub))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> b.x25519KeyAgreement(alice, new byte[33]))
        .isInstanceOf(IllegalArgumentException.class);
    assertThat(held.isDestroyed()).isFalse();
    held.destroy();
    held.destroy(); // idempotent
    assertThat(held.isDestroyed()).isTrue();
    assertThatThrownBy(() -> held.sharedSecret(bobPub)).isInstanceOf(IllegalStateException.class);

    SecureRandom r = new SecureRandom();
    for (int i = 0; i < 50; i++) {
      byte[] sk = new byte[32];
      byte[] peerSk = new byte[32];
      r.nextBytes(sk);
      r.nextBytes(peerSk);
      byte[] pub = new byte[32];
      byte[] peer = new byte[32];
      X25519.generatePublicKey(sk, 0, pub, 0);
      X25519.generatePublicKey(peerSk, 0, peer, 0);
      X25519Exchange full = TestBackends.get("java").x25519(sk, peer);
      X25519KeyAgreement a = b.x25519KeyAgreement(sk, pub);
      try {
        assertThat(a.sharedSecret(peer)).as(name).isEqualTo(full.sharedSecret());
        assertThat(full.publicKey()).isEqualTo(pub);
        // and the other side agrees
        assertThat(b.x25519(peerSk, pub).sharedSecret()).isEqualTo(full.sharedSecret());
      } finally {
        a.destroy();
      }
    }
  }

  /** Many threads share one held key while it is destroyed: every call succeeds or throws ISE. */
  @ParameterizedTest
  @MethodSource("backends")
  void x25519KeyAgreementIsThreadSafe(String name) throws Exception {
    CryptoBackend b = TestBackends.get(name);
    byte[] sk = new byte[32];
    new SecureRandom().nextBytes(sk);
    byte[] pub = new byte[32];
    X25519.generatePublicKey(sk, 0, pub, 0);
    byte[] peerSk = new byte[32];
    new SecureRandom().nextBytes(peerSk);
    X25519Exchange other = b.x25519(peerSk, pub);
    X25519KeyAgreement held = b.x25519KeyAgreement(sk, pub);
    var pool = java.util.concurrent.Executors.newFixedThreadPool(4);
    try {
      var results = new java.util.ArrayList<java.util.concurrent.Future<Integer>>();
      var inUse = new java.util.concurrent.CountDownLatch(4);
      for (int t = 0; t < 4; t++) {
        results.add(
            pool.submit(
                () -> {
                  int ok = 0;
                  for (int i = 0; i < 200; i++) {
                    try {
                      assertThat(held.sharedSecret(other.publicKey()))
                          .isEqualTo(other.sharedSecret());
                      ok++;
                    } catch (IllegalStateException destroyed) {
                      assertThat(held.isDestroyed()).isTrue();
                    }
                    if (i == 0) {
                      inUse.countDown();
                    }
                  }
                  return ok;
                }));
      }
      // every thread has used the key once: the destroy below races with uses in flight
      assertThat(inUse.await(30, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
      held.destroy();
      int total = 0;
      for (var f : results) {
        total += f.get();
      }
      assertThat(total).isLessThanOrEqualTo(800);
      assertThatThrownBy(() -> held.sharedSecret(other.publicKey()))
          .isInstanceOf(IllegalStateException.class);
    } finally {
      pool.shutdownNow();
    }
  }

  @ParameterizedTest
  @MethodSource("backends")
  void x25519RejectsWrongLengths(String name) {
    CryptoBackend b = TestBackends.get(name);
    assertThatThrownBy(() -> b.x25519(new byte[31], new byte[32]))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> b.x25519(new byte[32], new byte[33]))
        .isInstanceOf(IllegalArgumentException.class);
  }

  /** PKCS #1 v1.5 is deterministic: the held key signs exactly as SunRsaSign, and verifies. */
  @ParameterizedTest
  @MethodSource("backends")
  void rsaSigningKeySignsByteIdenticallyToTheJdk(String name) throws Exception {
    CryptoBackend b = TestBackends.get(name);
    for (KeyPair kp : new KeyPair[] {rsa2048, rsa3072}) {
      byte[] pkcs8 = kp.getPrivate().getEncoded();
      RsaSigningKey held = b.rsaSigningKey(pkcs8);
      assertThat(held.modulusBits())
          .isEqualTo(((RSAPublicKey) kp.getPublic()).getModulus().bitLength());
      for (int n : new int[] {0, 1, 1000, 5000}) {
        byte[] message = new byte[n + 3];
        new SecureRandom(new byte[] {(byte) n}).nextBytes(message);
        java.security.Signature jdk = java.security.Signature.getInstance("SHA256withRSA");
        jdk.initSign(kp.getPrivate());
        jdk.update(message, 2, n);
        byte[] expected = jdk.sign();
        assertThat(held.signSha256(message, 2, n)).isEqualTo(expected);
        jdk.initVerify(kp.getPublic());
        jdk.update(message, 2, n);
        assertThat(jdk.verify(expected)).isTrue();
      }
      held.destroy();
      assertThat(held.isDestroyed()).isTrue();
      assertThatThrownBy(() -> held.signSha256(new byte[1], 0, 1))
          .isInstanceOf(IllegalStateException.class);
    }
  }

  @ParameterizedTest
  @MethodSource("backends")
  void rsaSigningKeyRefusesWhatIsNotAnRsaPrivateKey(String name) throws Exception {
    CryptoBackend b = TestBackends.get(name);
    byte[] pkcs8 = rsa2048.getPrivate().getEncoded();
    assertThatThrownBy(() -> b.rsaSigningKey(java.util.Arrays.copyOf(pkcs8, pkcs8.length - 1)))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> b.rsaSigningKey(rsa2048.getPublic().getEncoded()))
        .isInstanceOf(IllegalArgumentException.class);
    byte[] ec = KeyPairGenerator.getInstance("EC").generateKeyPair().getPrivate().getEncoded();
    assertThatThrownBy(() -> b.rsaSigningKey(ec)).isInstanceOf(IllegalArgumentException.class);
  }

  /** Same seed, same bytes as SunJCE's RSA/ECB/OAEPPadding (SHA-256, MGF1-SHA-256). */
  @ParameterizedTest
  @MethodSource("backends")
  void oaepIsByteIdenticalToSunJceForFixedSeeds(String name) throws Exception {
    CryptoBackend b = TestBackends.get(name);
    Cipher sun = Cipher.getInstance("RSA/ECB/OAEPPadding", "SunJCE");
    OAEPParameterSpec spec =
        new OAEPParameterSpec(
            "SHA-256", "MGF1", MGF1ParameterSpec.SHA256, PSource.PSpecified.DEFAULT);
    for (KeyPair kp : new KeyPair[] {rsa2048, rsa3072}) {
      RSAPublicKey pub = (RSAPublicKey) kp.getPublic();
      for (int seed = 0; seed < 20; seed++) {
        byte[] msg = new byte[1 + seed * 9 % 190];
        new SecureRandom(new byte[] {(byte) seed, 7}).nextBytes(msg);
        sun.init(Cipher.ENCRYPT_MODE, pub, spec, seeded(seed));
        byte[] expected = sun.doFinal(msg);
        byte[] actual = b.rsaOaepSha256Encrypt(pub, msg, seeded(seed));
        assertThat(actual).as("seed %d", seed).isEqualTo(expected);
        // and it decrypts with the private key
        Cipher dec = Cipher.getInstance("RSA/ECB/OAEPPadding", "SunJCE");
        dec.init(Cipher.DECRYPT_MODE, (RSAPrivateKey) kp.getPrivate(), spec);
        assertThat(dec.doFinal(actual)).isEqualTo(msg);
      }
    }
  }

  /**
   * KDM cipher blocks: same seed, same bytes as SunJCE's RSA/ECB/OAEPWithSHA-1AndMGF1Padding (the
   * transformation KdmReader and a media block decrypt with), and the block decrypts.
   */
  @ParameterizedTest
  @MethodSource("backends")
  void oaepSha1IsByteIdenticalToSunJceForFixedSeeds(String name) throws Exception {
    CryptoBackend b = TestBackends.get(name);
    Cipher sun = Cipher.getInstance("RSA/ECB/OAEPWithSHA-1AndMGF1Padding", "SunJCE");
    RSAPublicKey pub = (RSAPublicKey) rsa2048.getPublic();
    for (int seed = 0; seed < 20; seed++) {
      byte[] msg = new byte[seed == 0 ? 138 : 1 + seed * 11 % 214];
      new SecureRandom(new byte[] {(byte) seed, 9}).nextBytes(msg);
      sun.init(Cipher.ENCRYPT_MODE, pub, seeded(seed));
      byte[] expected = sun.doFinal(msg);
      byte[] actual = b.rsaOaepSha1Encrypt(pub, msg, seeded(seed));
      assertThat(actual).as("seed %d", seed).isEqualTo(expected);
      Cipher dec = Cipher.getInstance("RSA/ECB/OAEPWithSHA-1AndMGF1Padding", "SunJCE");
      dec.init(Cipher.DECRYPT_MODE, (RSAPrivateKey) rsa2048.getPrivate());
      assertThat(dec.doFinal(actual)).isEqualTo(msg);
    }
    assertThatThrownBy(() -> b.rsaOaepSha1Encrypt(pub, new byte[256 - 41], new SecureRandom()))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @ParameterizedTest
  @MethodSource("backends")
  void oaepRejectsTooLongMessages(String name) {
    CryptoBackend b = TestBackends.get(name);
    RSAPublicKey pub = (RSAPublicKey) rsa2048.getPublic();
    byte[] ok = new byte[256 - 66];
    assertThat(b.rsaOaepSha256Encrypt(pub, ok, new SecureRandom())).hasSize(256);
    assertThatThrownBy(() -> b.rsaOaepSha256Encrypt(pub, new byte[256 - 65], new SecureRandom()))
        .isInstanceOf(IllegalArgumentException.class);
  }

  /** The raw operation refuses inputs not below the modulus (as RSACoreEngine does). */
  @Test
  void rawRsaRejectsInputNotBelowModulus() throws Exception {
    OpenSslCryptoBackend b = (OpenSslCryptoBackend) TestBackends.get("openssl");
    RSAPublicKey pub = (RSAPublicKey) rsa2048.getPublic();
    byte[] n = toFixed(pub.getModulus(), 256);
    assertThatThrownBy(() -> b.rsaPublic(pub.getModulus(), pub.getPublicExponent(), n, 0, 256))
        .isInstanceOf(IllegalArgumentException.class);
    byte[] below = n.clone();
    below[255]--;
    byte[] c = b.rsaPublic(pub.getModulus(), pub.getPublicExponent(), below, 0, 256);
    assertThat(new BigInteger(1, c))
        .isEqualTo(new BigInteger(1, below).modPow(pub.getPublicExponent(), pub.getModulus()));
    // a non-RSA-sized key object still works through the public API (3072 above); 4096 here
    KeyFactory kf = KeyFactory.getInstance("RSA");
    RSAPublicKey small =
        (RSAPublicKey)
            kf.generatePublic(new RSAPublicKeySpec(pub.getModulus(), BigInteger.valueOf(65537)));
    assertThat(b.rsaOaepSha256Encrypt(small, new byte[32], new SecureRandom())).hasSize(256);
  }

  private static byte[] toFixed(BigInteger v, int len) {
    byte[] b = v.toByteArray();
    byte[] out = new byte[len];
    System.arraycopy(
        b, Math.max(0, b.length - len), out, Math.max(0, len - b.length), Math.min(len, b.length));
    return out;
  }

  private static SecureRandom seeded(int seed) throws Exception {
    SecureRandom r = SecureRandom.getInstance("SHA1PRNG");
    r.setSeed(new byte[] {(byte) seed, 42});
    return r;
  }

  /** RSASSA-PKCS1-v1_5 known answers (OpenSSL CLI, src/test/resources/vectors/rsa-pkcs1-verify). */
  static java.util.List<org.junit.jupiter.params.provider.Arguments> rsaPkcs1KnownAnswers()
      throws Exception {
    java.util.List<org.junit.jupiter.params.provider.Arguments> out = new java.util.ArrayList<>();
    try (var in =
        CryptoBackendTest.class.getResourceAsStream(
            "/vectors/rsa-pkcs1-verify/ok-known-answers.ok")) {
      for (String line :
          new String(in.readAllBytes(), java.nio.charset.StandardCharsets.US_ASCII).split("\n")) {
        if (line.isBlank() || line.startsWith("#")) {
          continue;
        }
        String[] f = line.trim().split(" ");
        for (String backend : backends()) {
          out.add(
              org.junit.jupiter.params.provider.Arguments.of(
                  backend,
                  RsaSignatureDigest.valueOf(f[0]),
                  HEX.parseHex(f[1]),
                  HEX.parseHex(f[2]),
                  HEX.parseHex(f[3])));
        }
      }
    }
    assertThat(out).hasSize(3 * backends().size());
    return out;
  }

  @ParameterizedTest(name = "{0} {1}")
  @MethodSource("rsaPkcs1KnownAnswers")
  void rsaPkcs1VerifyKnownAnswersAndTheirNegatives(
      String name, RsaSignatureDigest digest, byte[] spki, byte[] message, byte[] signature)
      throws Exception {
    CryptoBackend b = TestBackends.get(name);
    assertThat(b.rsaPkcs1Verify(digest, spki, message, 0, message.length, signature)).isTrue();
    // the message inside a larger array, by offset and length
    byte[] framed = new byte[message.length + 7];
    System.arraycopy(message, 0, framed, 3, message.length);
    assertThat(b.rsaPkcs1Verify(digest, spki, framed, 3, message.length, signature)).isTrue();
    // another digest than the one signed
    for (RsaSignatureDigest other : RsaSignatureDigest.values()) {
      if (other != digest) {
        assertThat(b.rsaPkcs1Verify(other, spki, message, 0, message.length, signature)).isFalse();
      }
    }
    // a tampered signature (every byte position class: first, middle, last)
    for (int pos : new int[] {0, signature.length / 2, signature.length - 1}) {
      byte[] bad = signature.clone();
      bad[pos] ^= 0x01;
      assertThat(b.rsaPkcs1Verify(digest, spki, message, 0, message.length, bad))
          .as("byte " + pos)
          .isFalse();
    }
    // a tampered message, a shortened message
    byte[] m = message.clone();
    m[m.length - 1] ^= 0x20;
    assertThat(b.rsaPkcs1Verify(digest, spki, m, 0, m.length, signature)).isFalse();
    assertThat(b.rsaPkcs1Verify(digest, spki, message, 0, message.length - 1, signature)).isFalse();
    // truncated and extended signatures
    assertThat(
            b.rsaPkcs1Verify(
                digest,
                spki,
                message,
                0,
                message.length,
                java.util.Arrays.copyOf(signature, signature.length - 1)))
        .isFalse();
    assertThat(
            b.rsaPkcs1Verify(
                digest,
                spki,
                message,
                0,
                message.length,
                java.util.Arrays.copyOf(signature, signature.length + 1)))
        .isFalse();
    assertThat(b.rsaPkcs1Verify(digest, spki, message, 0, message.length, new byte[0])).isFalse();
    // the wrong key
    byte[] wrongKey = rsa2048.getPublic().getEncoded();
    assertThat(b.rsaPkcs1Verify(digest, wrongKey, message, 0, message.length, signature)).isFalse();
    // keys that are not RSA SubjectPublicKeyInfo DER: truncated, trailing byte, an EC key, garbage
    assertThat(
            b.rsaPkcs1Verify(
                digest,
                java.util.Arrays.copyOf(spki, spki.length - 1),
                message,
                0,
                message.length,
                signature))
        .isFalse();
    assertThat(
            b.rsaPkcs1Verify(
                digest,
                java.util.Arrays.copyOf(spki, spki.length + 1),
                message,
                0,
                message.length,
                signature))
        .isFalse();
    KeyPairGenerator ec = KeyPairGenerator.getInstance("EC");
    ec.initialize(256);
    assertThat(
            b.rsaPkcs1Verify(
                digest,
                ec.generateKeyPair().getPublic().getEncoded(),
                message,
                0,
                message.length,
                signature))
        .isFalse();
    assertThat(
            b.rsaPkcs1Verify(
                digest, new byte[] {0x30, 0x00}, message, 0, message.length, signature))
        .isFalse();
    assertThatThrownBy(() -> b.rsaPkcs1Verify(digest, spki, message, 1, message.length, signature))
        .isInstanceOf(IndexOutOfBoundsException.class);
  }

  /** Both backends agree with SunRsaSign on fresh signatures, also for 3072-bit keys and empty messages. */
  @ParameterizedTest
  @MethodSource("backends")
  void rsaPkcs1VerifyAgreesWithTheJdk(String name) throws Exception {
    CryptoBackend b = TestBackends.get(name);
    SecureRandom r = new SecureRandom();
    for (KeyPair k : new KeyPair[] {rsa2048, rsa3072}) {
      for (RsaSignatureDigest d : RsaSignatureDigest.values()) {
        for (int len : new int[] {0, 1, 1000}) {
          byte[] msg = new byte[len];
          r.nextBytes(msg);
          java.security.Signature s = java.security.Signature.getInstance(d.jcaName());
          s.initSign(k.getPrivate());
          s.update(msg);
          byte[] sig = s.sign();
          assertThat(b.rsaPkcs1Verify(d, k.getPublic().getEncoded(), msg, 0, len, sig)).isTrue();
          sig[sig.length / 3] ^= (byte) 0x80;
          assertThat(b.rsaPkcs1Verify(d, k.getPublic().getEncoded(), msg, 0, len, sig)).isFalse();
        }
      }
    }
  }
}
