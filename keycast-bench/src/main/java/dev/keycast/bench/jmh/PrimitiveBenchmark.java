package dev.keycast.bench.jmh;

import dev.keycast.protocol.crypto.CryptoBackend;
import dev.keycast.protocol.crypto.CryptoBackends;
import dev.keycast.protocol.crypto.X25519Exchange;
import java.math.BigInteger;
import java.security.InvalidKeyException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.SecureRandom;
import java.security.interfaces.RSAPublicKey;
import java.security.spec.MGF1ParameterSpec;
import java.util.concurrent.TimeUnit;
import javax.crypto.Cipher;
import javax.crypto.KeyAgreement;
import javax.crypto.spec.OAEPParameterSpec;
import javax.crypto.spec.PSource;
import org.bouncycastle.jce.provider.BouncyCastleProvider;
import org.bouncycastle.math.ec.rfc7748.X25519;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * The JVM's floor under a delivery: the bare primitives the delivery formats are built on, so that
 * the gap between {@link FanoutBenchmark} and {@code openssl speed} can be split into "primitive"
 * and "format overhead".
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
public class PrimitiveBenchmark {

  /** A {@code dev.keycast.protocol.crypto} backend, for the backend-parameterized primitives. */
  @State(Scope.Thread)
  public static class Backend {
    @Param({"java", "openssl"})
    String backend;

    CryptoBackend crypto;

    @Setup(Level.Trial)
    public void setUp() {
      crypto = CryptoBackends.forSetting(backend);
    }
  }

  /** RSAES-OAEP-SHA256 of a 32-byte key through {@link CryptoBackend#rsaOaepSha256Encrypt}. */
  @Benchmark
  public byte[] rsaOaepBackend(Keys k, Backend b) {
    return b.crypto.rsaOaepSha256Encrypt(k.rsa, k.cek, k.random);
  }

  /** An ephemeral X25519 key plus one Diffie-Hellman through {@link CryptoBackend#x25519}. */
  @Benchmark
  public byte[] x25519EphemeralAndDhBackend(Keys k, Backend b) throws InvalidKeyException {
    byte[] eph = new byte[32];
    k.random.nextBytes(eph);
    X25519Exchange x = b.crypto.x25519(eph, k.xPeer);
    x.destroy();
    return x.publicKey();
  }

  @State(Scope.Thread)
  public static class Keys {
    SecureRandom random;
    RSAPublicKey rsa;
    BigInteger message;
    Cipher sunOaep;
    Cipher bcOaep;
    OAEPParameterSpec oaep;
    byte[] cek = new byte[32];
    byte[] xScalar = new byte[32];
    byte[] xPeer = new byte[32];
    byte[] xOut = new byte[32];
    KeyPairGenerator xdhGen;
    KeyPair xdhPeer;

    @Setup(Level.Trial)
    public void setUp() throws Exception {
      random = new SecureRandom();
      KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
      g.initialize(2048, random);
      rsa = (RSAPublicKey) g.generateKeyPair().getPublic();
      message = new BigInteger(2000, random);
      oaep =
          new OAEPParameterSpec(
              "SHA-256", "MGF1", MGF1ParameterSpec.SHA256, PSource.PSpecified.DEFAULT);
      sunOaep = Cipher.getInstance("RSA/ECB/OAEPPadding", "SunJCE");
      bcOaep = Cipher.getInstance("RSA/NONE/OAEPPadding", new BouncyCastleProvider());
      random.nextBytes(cek);
      random.nextBytes(xScalar);
      X25519.generatePublicKey(xScalar, 0, xPeer, 0);
      xdhGen = KeyPairGenerator.getInstance("X25519");
      xdhPeer = xdhGen.generateKeyPair();
    }
  }

  /** The RSA public-key operation alone (what {@code openssl speed rsa2048} verify/s measures). */
  @Benchmark
  public BigInteger rsaPublicOp(Keys k) {
    return k.message.modPow(k.rsa.getPublicExponent(), k.rsa.getModulus());
  }

  /** RSAES-OAEP-SHA256 of a 32-byte key, JDK SunJCE, Cipher reused. */
  @Benchmark
  public byte[] rsaOaepSunJce(Keys k) throws Exception {
    k.sunOaep.init(Cipher.ENCRYPT_MODE, k.rsa, k.oaep, k.random);
    return k.sunOaep.doFinal(k.cek);
  }

  /** RSAES-OAEP-SHA256 of a 32-byte key, BouncyCastle provider, Cipher reused. */
  @Benchmark
  public byte[] rsaOaepBc(Keys k) throws Exception {
    k.bcOaep.init(Cipher.ENCRYPT_MODE, k.rsa, k.oaep, k.random);
    return k.bcOaep.doFinal(k.cek);
  }

  /** An ephemeral X25519 key plus one Diffie-Hellman, BouncyCastle low level. */
  @Benchmark
  public byte[] x25519EphemeralAndDhBc(Keys k) {
    byte[] eph = new byte[32];
    k.random.nextBytes(eph);
    byte[] pub = new byte[32];
    X25519.generatePublicKey(eph, 0, pub, 0);
    X25519.calculateAgreement(eph, 0, k.xPeer, 0, k.xOut, 0);
    return pub;
  }

  /** An ephemeral X25519 key plus one Diffie-Hellman, JDK XDH (SunEC). */
  @Benchmark
  public byte[] x25519EphemeralAndDhJdk(Keys k) throws Exception {
    KeyPair eph = k.xdhGen.generateKeyPair();
    KeyAgreement ka = KeyAgreement.getInstance("X25519");
    ka.init(eph.getPrivate());
    ka.doPhase(k.xdhPeer.getPublic(), true);
    return ka.generateSecret();
  }
}
