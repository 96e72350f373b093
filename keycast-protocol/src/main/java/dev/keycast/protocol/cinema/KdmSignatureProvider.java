package dev.keycast.protocol.cinema;

import dev.keycast.protocol.crypto.RsaSigningKey;
import java.io.ByteArrayOutputStream;
import java.math.BigInteger;
import java.security.InvalidKeyException;
import java.security.InvalidParameterException;
import java.security.PrivateKey;
import java.security.Provider;
import java.security.PublicKey;
import java.security.SignatureException;
import java.security.SignatureSpi;
import java.security.interfaces.RSAKey;

/**
 * A JCA provider of one algorithm, {@code SHA256withRSA} signing, that signs with the KDM signer's
 * key as the process's crypto backend holds it ({@link RsaSigningKey}: OpenSSL when available).
 * The JDK's XML signature engine ({@code javax.xml.crypto.dsig}) still builds, canonicalizes and
 * digests everything; only the RSA private-key operation moves, through the engine's documented
 * {@code org.jcp.xml.dsig.internal.dom.SignatureProvider} property. Not installed in the JVM: each
 * {@link KdmWriter} hands its instance to its own signing contexts. Signing only; the key is a
 * {@link BackendKey}, which exposes no key material.
 */
final class KdmSignatureProvider extends Provider {
  /** The XML signature engine's property naming the provider of its {@code Signature} objects. */
  static final String SIGNATURE_PROVIDER_PROPERTY = "org.jcp.xml.dsig.internal.dom.SignatureProvider";

  KdmSignatureProvider() {
    super("KeycastKdmSigner", "1", "SHA256withRSA signing with the KDM signer's backend-held key");
    putService(new Service(this, "Signature", "SHA256withRSA", BackendRsaSignature.class.getName(), null, null) {
      @Override
      public Object newInstance(Object parameter) {
        return new BackendRsaSignature();
      }
    });
  }

  /**
   * The signer's key as the engine sees it: a handle to the backend's key and the public modulus
   * (the engine checks the key size). {@link #getEncoded()} is null: nothing private leaves the
   * backend.
   */
  record BackendKey(RsaSigningKey key, BigInteger modulus) implements PrivateKey, RSAKey {
    @Override
    public String getAlgorithm() {
      return "RSA";
    }

    @Override
    public String getFormat() {
      return null;
    }

    @Override
    public byte[] getEncoded() {
      return null;
    }

    @Override
    public BigInteger getModulus() {
      return modulus;
    }

    @Override
    public java.security.spec.AlgorithmParameterSpec getParams() {
      return null; // plain RSA (not RSASSA-PSS)
    }

    @Override
    public String toString() {
      return "BackendKey[" + key + "]";
    }
  }

  /** One signature: buffers the signed bytes (a SignedInfo, about 1 KB) and signs them at once. */
  static final class BackendRsaSignature extends SignatureSpi {
    private final ByteArrayOutputStream data = new ByteArrayOutputStream(2048);
    private RsaSigningKey key;

    @Override
    protected void engineInitSign(PrivateKey privateKey) throws InvalidKeyException {
      if (!(privateKey instanceof BackendKey b)) {
        throw new InvalidKeyException("this provider signs only with a KDM signer's backend key");
      }
      key = b.key();
      data.reset();
    }

    @Override
    protected void engineInitVerify(PublicKey publicKey) throws InvalidKeyException {
      throw new InvalidKeyException("this provider only signs");
    }

    @Override
    protected void engineUpdate(byte b) {
      data.write(b);
    }

    @Override
    protected void engineUpdate(byte[] b, int off, int len) {
      data.write(b, off, len);
    }

    @Override
    protected byte[] engineSign() throws SignatureException {
      if (key == null) {
        throw new SignatureException("not initialized for signing");
      }
      try {
        byte[] message = data.toByteArray();
        return key.signSha256(message, 0, message.length);
      } catch (IllegalStateException e) {
        throw new SignatureException("the KDM signer's key is unusable", e);
      } finally {
        data.reset();
      }
    }

    @Override
    protected boolean engineVerify(byte[] signature) throws SignatureException {
      throw new SignatureException("this provider only signs");
    }

    @Override
    @Deprecated
    protected void engineSetParameter(String param, Object value) {
      throw new InvalidParameterException("no parameters");
    }

    @Override
    @Deprecated
    protected Object engineGetParameter(String param) {
      throw new InvalidParameterException("no parameters");
    }
  }
}
