package dev.keycast.protocol.crypto;

import java.math.BigInteger;
import java.security.GeneralSecurityException;
import java.security.InvalidKeyException;
import java.security.KeyFactory;
import java.security.MessageDigest;
import java.security.Provider;
import java.security.SecureRandom;
import java.security.Security;
import java.security.interfaces.RSAPublicKey;
import java.security.spec.MGF1ParameterSpec;
import java.security.spec.X509EncodedKeySpec;
import java.util.Arrays;
import javax.crypto.Cipher;
import javax.crypto.spec.OAEPParameterSpec;
import javax.crypto.spec.PSource;
import org.bouncycastle.math.ec.rfc7748.X25519;

/**
 * The pure-Java backend: SunJCE's {@code RSA/ECB/OAEPPadding} (one {@link Cipher} per thread,
 * re-initialised per call), BouncyCastle's {@link X25519}, and RSASSA-PKCS1-v1_5 verification by
 * encoding and comparing (the RSA public operation on {@link BigInteger}, keys parsed by
 * SunRsaSign) for certificate signatures.
 */
final class JavaCryptoBackend implements CryptoBackend {
  static final JavaCryptoBackend INSTANCE = new JavaCryptoBackend();

  private static final OAEPParameterSpec OAEP_SHA256 =
      new OAEPParameterSpec(
          "SHA-256", "MGF1", MGF1ParameterSpec.SHA256, PSource.PSpecified.DEFAULT);
  private static final OAEPParameterSpec OAEP_SHA1 =
      new OAEPParameterSpec("SHA-1", "MGF1", MGF1ParameterSpec.SHA1, PSource.PSpecified.DEFAULT);
  private static final ThreadLocal<Cipher> OAEP = ThreadLocal.withInitial(JavaCryptoBackend::oaep);
  private static final byte[] ZERO = new byte[32];

  private JavaCryptoBackend() {}

  @Override
  public String name() {
    return "java";
  }

  @Override
  public byte[] rsaOaepSha256Encrypt(RSAPublicKey key, byte[] message, SecureRandom random) {
    return oaepEncrypt(OAEP_SHA256, key, message, random);
  }

  @Override
  public byte[] rsaOaepSha1Encrypt(RSAPublicKey key, byte[] message, SecureRandom random) {
    return oaepEncrypt(OAEP_SHA1, key, message, random);
  }

  private static byte[] oaepEncrypt(
      OAEPParameterSpec spec, RSAPublicKey key, byte[] message, SecureRandom random) {
    Cipher c = OAEP.get();
    try {
      c.init(Cipher.ENCRYPT_MODE, key, spec, random);
      return c.doFinal(message);
    } catch (javax.crypto.IllegalBlockSizeException e) {
      throw new IllegalArgumentException("message too long for RSA-OAEP with this key", e);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("RSA-OAEP encryption failed", e);
    }
  }

  @Override
  public X25519Exchange x25519(byte[] privateKey, byte[] peerPublicKey) throws InvalidKeyException {
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

  @Override
  public byte[] x25519SharedSecret(byte[] privateKey, byte[] publicKey, byte[] peerPublicKey)
      throws InvalidKeyException {
    checkLength(privateKey, "private");
    checkLength(publicKey, "public");
    checkLength(peerPublicKey, "peer public");
    byte[] shared = new byte[32];
    boolean ok = X25519.calculateAgreement(privateKey, 0, peerPublicKey, 0, shared, 0);
    if (!ok || MessageDigest.isEqual(shared, ZERO)) {
      Arrays.fill(shared, (byte) 0);
      throw new InvalidKeyException("X25519 shared secret is all zero (low-order peer point)");
    }
    return shared;
  }

  @Override
  public X25519KeyAgreement x25519KeyAgreement(byte[] privateKey, byte[] publicKey) {
    checkLength(privateKey, "private");
    checkLength(publicKey, "public");
    return new Agreement(privateKey.clone(), publicKey.clone());
  }

  /**
   * The java backend's held key: its own copy of the scalar (BouncyCastle's {@code X25519} keeps
   * none), zero-filled by {@link #destroy()} once the calls in flight have finished (calls hold
   * the read lock, destroy the write lock); later calls throw.
   */
  private static final class Agreement implements X25519KeyAgreement {
    private final byte[] privateKey;
    private final byte[] publicKey;
    private final java.util.concurrent.locks.ReentrantReadWriteLock lock =
        new java.util.concurrent.locks.ReentrantReadWriteLock();
    private volatile boolean destroyed;

    Agreement(byte[] privateKey, byte[] publicKey) {
      this.privateKey = privateKey;
      this.publicKey = publicKey;
    }

    @Override
    public byte[] publicKey() {
      return publicKey.clone();
    }

    @Override
    public byte[] sharedSecret(byte[] peerPublicKey) throws InvalidKeyException {
      checkLength(peerPublicKey, "peer public");
      lock.readLock().lock();
      try {
        if (destroyed) {
          throw new IllegalStateException("X25519 key was destroyed");
        }
        return INSTANCE.x25519SharedSecret(privateKey, publicKey, peerPublicKey);
      } finally {
        lock.readLock().unlock();
      }
    }

    @Override
    public void destroy() {
      lock.writeLock().lock();
      try {
        destroyed = true;
        Arrays.fill(privateKey, (byte) 0);
      } finally {
        lock.writeLock().unlock();
      }
    }

    @Override
    public boolean isDestroyed() {
      return destroyed;
    }

    @Override
    public String toString() {
      return "X25519KeyAgreement[java, public="
          + java.util.HexFormat.of().formatHex(publicKey)
          + "]";
    }
  }

  /**
   * RFC 8017 section 8.2.2 by encoding and comparing: {@code s^e mod n} must equal, byte for byte,
   * {@code 0x00 0x01 FF..FF 0x00 || DigestInfo || H} with the DigestInfo in DER (parameters NULL).
   * SunRsaSign's {@code Signature} would also accept a DigestInfo without the NULL (Wycheproof's
   * {@code MissingNull}), which OpenSSL refuses: encoding and comparing keeps both backends to the
   * same answer, so a certificate's eligibility never depends on the backend.
   */
  @Override
  public boolean rsaPkcs1Verify(
      RsaSignatureDigest digest,
      byte[] publicKeySpki,
      byte[] message,
      int offset,
      int length,
      byte[] signature) {
    java.util.Objects.checkFromIndexSize(offset, length, message.length);
    Verifiers v = VERIFIERS.get();
    RSAPublicKey key;
    try {
      key = (RSAPublicKey) v.rsa.generatePublic(new X509EncodedKeySpec(publicKeySpki));
    } catch (GeneralSecurityException | RuntimeException e) {
      return false; // not an RSA SubjectPublicKeyInfo
    }
    BigInteger n = key.getModulus();
    int k = (n.bitLength() + 7) / 8;
    if (signature.length != k) {
      return false;
    }
    BigInteger s = new BigInteger(1, signature);
    if (s.compareTo(n) >= 0) {
      return false;
    }
    MessageDigest md = v.digests[digest.ordinal()];
    md.reset();
    md.update(message, offset, length);
    byte[] expected = pkcs1v15Encoding(digest, md.digest(), k);
    if (expected == null) {
      return false; // modulus too short for the DigestInfo
    }
    byte[] em = s.modPow(key.getPublicExponent(), n).toByteArray();
    byte[] padded = new byte[k];
    int len = Math.min(em.length, k);
    System.arraycopy(em, em.length - len, padded, k - len, len);
    return MessageDigest.isEqual(padded, expected);
  }

  /** EMSA-PKCS1-v1_5 (RFC 8017 section 9.2) of a hash, {@code k} bytes; null if k is too small. */
  static byte[] pkcs1v15Encoding(RsaSignatureDigest digest, byte[] hash, int k) {
    byte[] prefix = DIGEST_INFO_PREFIX[digest.ordinal()];
    int t = prefix.length + hash.length;
    if (k < t + 11) {
      return null;
    }
    byte[] em = new byte[k];
    em[1] = 0x01;
    Arrays.fill(em, 2, k - t - 1, (byte) 0xff);
    System.arraycopy(prefix, 0, em, k - t, prefix.length);
    System.arraycopy(hash, 0, em, k - hash.length, hash.length);
    return em;
  }

  /** DER DigestInfo up to the hash (RFC 8017 section 9.2 note 1), in {@link RsaSignatureDigest} order. */
  private static final byte[][] DIGEST_INFO_PREFIX = {
    java.util.HexFormat.of().parseHex("3031300d060960864801650304020105000420"),
    java.util.HexFormat.of().parseHex("3041300d060960864801650304020205000430"),
    java.util.HexFormat.of().parseHex("3051300d060960864801650304020305000440"),
  };

  /** One thread's RSA key factory (SunRsaSign) and message digests, one per {@link RsaSignatureDigest}. */
  private static final class Verifiers {
    final KeyFactory rsa;
    final MessageDigest[] digests = new MessageDigest[RsaSignatureDigest.values().length];

    Verifiers() {
      try {
        Provider sun = Security.getProvider("SunRsaSign");
        rsa = sun != null ? KeyFactory.getInstance("RSA", sun) : KeyFactory.getInstance("RSA");
        for (RsaSignatureDigest d : RsaSignatureDigest.values()) {
          digests[d.ordinal()] = MessageDigest.getInstance("SHA-" + d.name().substring(3));
        }
      } catch (GeneralSecurityException e) {
        throw new IllegalStateException("the JDK lacks RSA keys or SHA-2", e);
      }
    }
  }

  private static final ThreadLocal<Verifiers> VERIFIERS = ThreadLocal.withInitial(Verifiers::new);

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

  @Override
  public RsaSigningKey rsaSigningKey(byte[] pkcs8) {
    java.security.PrivateKey key;
    try {
      key =
          java.security.KeyFactory.getInstance("RSA")
              .generatePrivate(new java.security.spec.PKCS8EncodedKeySpec(pkcs8));
    } catch (java.security.GeneralSecurityException | RuntimeException e) {
      throw new IllegalArgumentException("not the PKCS #8 DER of an RSA private key");
    }
    if (!(key instanceof java.security.interfaces.RSAPrivateKey rsa)) {
      throw new IllegalArgumentException("not the PKCS #8 DER of an RSA private key");
    }
    int bits = rsa.getModulus().bitLength();
    return new RsaSigningKey() {
      private volatile java.security.PrivateKey held = key;

      @Override
      public byte[] signSha256(byte[] message, int offset, int length) {
        java.security.PrivateKey k = held;
        if (k == null) {
          throw new IllegalStateException("RSA signing key was destroyed");
        }
        try {
          java.security.Signature s = java.security.Signature.getInstance("SHA256withRSA");
          s.initSign(k);
          s.update(message, offset, length);
          return s.sign();
        } catch (java.security.GeneralSecurityException e) {
          throw new IllegalStateException("SHA256withRSA signing failed", e);
        }
      }

      @Override
      public int modulusBits() {
        return bits;
      }

      @Override
      public void destroy() {
        held = null; // a JDK key object cannot be wiped
      }

      @Override
      public boolean isDestroyed() {
        return held == null;
      }

      @Override
      public String toString() {
        return "RsaSigningKey[java, " + bits + " bits]";
      }
    };
  }
}
