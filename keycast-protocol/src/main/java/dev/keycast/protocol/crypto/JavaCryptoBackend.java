package dev.keycast.protocol.crypto;

import java.security.GeneralSecurityException;
import java.security.InvalidKeyException;
import java.security.MessageDigest;
import java.security.Provider;
import java.security.SecureRandom;
import java.security.Security;
import java.security.interfaces.RSAPublicKey;
import java.security.spec.MGF1ParameterSpec;
import java.util.Arrays;
import javax.crypto.Cipher;
import javax.crypto.spec.OAEPParameterSpec;
import javax.crypto.spec.PSource;
import org.bouncycastle.math.ec.rfc7748.X25519;

/**
 * The pure-Java backend: SunJCE's {@code RSA/ECB/OAEPPadding} (one {@link Cipher} per thread,
 * re-initialised per call) and BouncyCastle's {@link X25519}.
 */
final class JavaCryptoBackend implements CryptoBackend {
  static final JavaCryptoBackend INSTANCE = new JavaCryptoBackend();

  private static final OAEPParameterSpec OAEP_SHA256 =
      new OAEPParameterSpec("SHA-256", "MGF1", MGF1ParameterSpec.SHA256, PSource.PSpecified.DEFAULT);
  private static final ThreadLocal<Cipher> OAEP = ThreadLocal.withInitial(JavaCryptoBackend::oaep);
  private static final byte[] ZERO = new byte[32];

  private JavaCryptoBackend() {}

  @Override
  public String name() {
    return "java";
  }

  @Override
  public byte[] rsaOaepSha256Encrypt(RSAPublicKey key, byte[] message, SecureRandom random) {
    Cipher c = OAEP.get();
    try {
      c.init(Cipher.ENCRYPT_MODE, key, OAEP_SHA256, random);
      return c.doFinal(message);
    } catch (javax.crypto.IllegalBlockSizeException e) {
      throw new IllegalArgumentException("message too long for RSA-OAEP with this key", e);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("RSA-OAEP encryption failed", e);
    }
  }

  @Override
  public X25519Exchange x25519(byte[] privateKey, byte[] peerPublicKey)
      throws InvalidKeyException {
    checkLength(privateKey, "private");
    checkLength(peerPublicKey, "peer public");
    byte[] pub = new byte[32];
    byte[] shared = new byte[32];
    X25519.generatePublicKey(privateKey, 0, pub, 0);
    boolean ok = X25519.calculateAgreement(privateKey, 0, peerPublicKey, 0, shared, 0);
    if (!ok || MessageDigest.isEqual(shared, ZERO)) {
      Arrays.fill(shared, (byte) 0);
      throw new InvalidKeyException("X25519 shared secret is all zero (low-order peer point)");
    }
    return new X25519Exchange(pub, shared);
  }

  static void checkLength(byte[] key, String what) {
    if (key == null || key.length != 32) {
      throw new IllegalArgumentException("X25519 " + what + " key must be 32 bytes");
    }
  }

  private static Cipher oaep() {
    try {
      Provider sunJce = Security.getProvider("SunJCE");
      return sunJce != null
          ? Cipher.getInstance("RSA/ECB/OAEPPadding", sunJce)
          : Cipher.getInstance("RSA/ECB/OAEPPadding");
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("the JDK lacks RSA/ECB/OAEPPadding", e);
    }
  }
}
