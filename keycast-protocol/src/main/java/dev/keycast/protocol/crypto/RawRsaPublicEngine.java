package dev.keycast.protocol.crypto;

import java.math.BigInteger;
import java.security.interfaces.RSAPublicKey;
import org.bouncycastle.crypto.AsymmetricBlockCipher;
import org.bouncycastle.crypto.CipherParameters;
import org.bouncycastle.crypto.DataLengthException;
import org.bouncycastle.crypto.encodings.OAEPEncoding;

/**
 * A BouncyCastle {@link AsymmetricBlockCipher} doing the raw RSA public-key operation (no
 * padding) in libcrypto, for {@link OAEPEncoding}. Encryption only; one per thread, its key
 * set for each call.
 * Checks as BouncyCastle's {@code RSACoreEngine} does: at most {@code k} input bytes, value
 * below the modulus; output is always {@code k} bytes.
 */
final class RawRsaPublicEngine implements AsymmetricBlockCipher {
  /** The parameters object OAEPEncoding passes through; the key is set with {@link #key}. */
  static final CipherParameters PUBLIC = new CipherParameters() {};

  private final OpenSslRsa backend;
  private BigInteger modulus;
  private BigInteger exponent;
  private int bits;

  RawRsaPublicEngine(OpenSslRsa backend) {
    this.backend = backend;
  }

  /** The key of the next operations; null forgets it. */
  void key(RSAPublicKey key) {
    this.modulus = key == null ? null : key.getModulus();
    this.exponent = key == null ? null : key.getPublicExponent();
    this.bits = key == null ? 0 : modulus.bitLength();
  }

  @Override
  public void init(boolean forEncryption, CipherParameters params) {
    if (!forEncryption) {
      throw new IllegalArgumentException("only the RSA public-key operation is supported");
    }
  }

  @Override
  public int getInputBlockSize() {
    return (bits - 1) / 8;
  }

  @Override
  public int getOutputBlockSize() {
    return (bits + 7) / 8;
  }

  @Override
  public byte[] processBlock(byte[] in, int inOff, int len) {
    if (modulus == null) {
      throw new IllegalStateException("no RSA key set");
    }
    if (len > getInputBlockSize() + 1 || len <= 0) {
      throw new DataLengthException("input of " + len + " bytes is too large for RSA cipher");
    }
    return backend.rsaPublic(modulus, exponent, in, inOff, len);
  }
}
