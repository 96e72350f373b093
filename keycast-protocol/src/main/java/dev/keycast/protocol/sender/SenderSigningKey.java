package dev.keycast.protocol.sender;

import dev.keycast.protocol.MalformedInputException;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Objects;
import org.bouncycastle.math.ec.rfc8032.Ed25519;

/**
 * An Ed25519 private key (RFC 8032 seed) of a sender or an owner. Files hold it as PKCS#8 DER
 * (RFC 8410, 48 bytes; {@code openssl genpkey -algorithm ed25519} writes the same) in PEM.
 * {@link #destroy()} zeroizes the seed; {@link #toString()} shows only the public key.
 */
public final class SenderSigningKey implements AutoCloseable {
  private static final byte[] PKCS8_PREFIX =
      HexFormat.of().parseHex("302e020100300506032b657004220420");

  private final byte[] seed;
  private final SenderKey publicKey;

  private SenderSigningKey(byte[] seed) {
    this.seed = seed;
    byte[] pub = new byte[SenderKey.LENGTH];
    Ed25519.generatePublicKey(seed, 0, pub, 0);
    this.publicKey = new SenderKey(pub);
  }

  /** A new random key. */
  public static SenderSigningKey generate(SecureRandom random) {
    byte[] seed = new byte[Ed25519.SECRET_KEY_SIZE];
    Objects.requireNonNull(random, "random").nextBytes(seed);
    return new SenderSigningKey(seed);
  }

  /** The key of a 32-byte seed (copied). */
  public static SenderSigningKey fromSeed(byte[] seed) {
    if (seed == null || seed.length != Ed25519.SECRET_KEY_SIZE) {
      throw new IllegalArgumentException("an Ed25519 seed is 32 bytes");
    }
    return new SenderSigningKey(seed.clone());
  }

  /** The key of its PKCS#8 DER (RFC 8410 OneAsymmetricKey v1 without attributes). */
  public static SenderSigningKey fromPkcs8(byte[] der) throws MalformedInputException {
    if (der == null
        || der.length != PKCS8_PREFIX.length + 32
        || !Arrays.equals(der, 0, PKCS8_PREFIX.length, PKCS8_PREFIX, 0, PKCS8_PREFIX.length)) {
      throw new MalformedInputException(
          MalformedInputException.Kind.MALFORMED, "not an Ed25519 PKCS#8 private key");
    }
    return new SenderSigningKey(Arrays.copyOfRange(der, PKCS8_PREFIX.length, der.length));
  }

  /** PKCS#8 DER of this key (48 bytes): the caller zeroizes it after use. */
  public byte[] pkcs8() {
    byte[] out = Arrays.copyOf(PKCS8_PREFIX, PKCS8_PREFIX.length + 32);
    System.arraycopy(seed, 0, out, PKCS8_PREFIX.length, 32);
    return out;
  }

  public SenderKey publicKey() {
    return publicKey;
  }

  /** Ed25519 (pure) signature over {@code message}, 64 bytes. */
  public byte[] sign(byte[] message) {
    byte[] sig = new byte[Ed25519.SIGNATURE_SIZE];
    Ed25519.sign(seed, 0, message, 0, message.length, sig, 0);
    return sig;
  }

  /** Zeroizes the seed. */
  public void destroy() {
    Arrays.fill(seed, (byte) 0);
  }

  @Override
  public void close() {
    destroy();
  }

  @Override
  public String toString() {
    return "SenderSigningKey[" + publicKey.fingerprint() + "]";
  }
}
