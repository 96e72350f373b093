package dev.keycast.protocol.envelope;

import dev.keycast.protocol.DecryptionFailedException;
import dev.keycast.protocol.Fingerprints;
import dev.keycast.protocol.MalformedInputException;
import dev.keycast.protocol.crypto.CryptoBackend;
import dev.keycast.protocol.crypto.CryptoBackends;
import java.io.IOException;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.Provider;
import java.security.SecureRandom;
import java.security.Security;
import java.security.interfaces.RSAPrivateCrtKey;
import java.security.interfaces.RSAPrivateKey;
import java.security.spec.MGF1ParameterSpec;
import java.security.spec.RSAPublicKeySpec;
import java.util.Arrays;
import java.util.Collection;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.IvParameterSpec;
import javax.crypto.spec.OAEPParameterSpec;
import javax.crypto.spec.PSource;
import javax.crypto.spec.SecretKeySpec;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.ASN1Primitive;
import org.bouncycastle.asn1.cms.CMSObjectIdentifiers;
import org.bouncycastle.asn1.cms.ContentInfo;
import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.asn1.x509.AlgorithmIdentifier;
import org.bouncycastle.cms.CMSAlgorithm;
import org.bouncycastle.cms.CMSAuthEnvelopedData;
import org.bouncycastle.cms.CMSEnvelopedData;
import org.bouncycastle.cms.CMSException;
import org.bouncycastle.cms.KeyTransRecipientInformation;
import org.bouncycastle.cms.RecipientInformation;
import org.bouncycastle.cms.RecipientInformationStore;
import org.bouncycastle.cms.jcajce.JceKeyTransEnvelopedRecipient;
import org.bouncycastle.jce.provider.BouncyCastleProvider;
import org.bouncycastle.operator.jcajce.JcaAlgorithmParametersConverter;

/**
 * Deliveries to RSA recipients: CMS (RFC 5652 / RFC 5083) readable by {@code openssl cms -decrypt}
 * (wire-format.md section 3.3).
 *
 * <p>One KeyTransRecipientInfo with RSAES-OAEP (SHA-256, MGF1-SHA-256, empty label); its rid is
 * the leaf certificate's issuerAndSerialNumber when a certificate is known, else a
 * subjectKeyIdentifier equal to the 32 raw bytes of the recipient fingerprint. The content is a
 * {@link DeliveryPayload}, encrypted either with AES-256-GCM in AuthEnvelopedData ({@link
 * #AES_256_GCM}, the default) or AES-256-CBC in EnvelopedData ({@link #AES_256_CBC}, payload with a
 * SHA-256 trailer). Output is DER.
 */
public final class CmsDeliveryFormat implements DeliveryFormat<RSAPrivateKey> {
  /** AES-256-GCM in AuthEnvelopedData: the default for RSA recipients. */
  public static final CmsDeliveryFormat AES_256_GCM =
      new CmsDeliveryFormat(
          "cms-aes256gcm-v1",
          CMSAlgorithm.AES256_GCM,
          CMSObjectIdentifiers.authEnvelopedData,
          DeliveryPayload.INTEGRITY_NONE);

  /** AES-256-CBC in EnvelopedData, for readers without AuthEnvelopedData. */
  public static final CmsDeliveryFormat AES_256_CBC =
      new CmsDeliveryFormat(
          "cms-aes256cbc-v1",
          CMSAlgorithm.AES256_CBC,
          CMSObjectIdentifiers.envelopedData,
          DeliveryPayload.INTEGRITY_SHA256);

  /** One provider instance for the process; never registered globally. */
  private static final Provider BC = new BouncyCastleProvider();

  /**
   * RSAES-OAEP with SHA-256, MGF1-SHA-256, pSpecified(empty); held as its parsed primitive so that
   * encoding a delivery does not rebuild the parameter structure each time (same DER).
   */
  static final AlgorithmIdentifier OAEP_SHA256 =
      AlgorithmIdentifier.getInstance(oaepSha256().toASN1Primitive());

  /** {@link #OAEP_SHA256} as DER. */
  private static final byte[] OAEP_SHA256_DER = CmsDer.der(OAEP_SHA256);

  private static final int GCM_NONCE_LENGTH = 12;
  private static final int GCM_TAG_LENGTH = 16;
  private static final int CBC_IV_LENGTH = 16;

  private final String id;
  private final ASN1ObjectIdentifier contentCipher;
  private final ASN1ObjectIdentifier contentType;
  private final int integrity;
  private final boolean gcm;

  /** The RSA-OAEP backend; null means {@link CryptoBackends#get()} at each call. */
  private final CryptoBackend backend;

  private CmsDeliveryFormat(
      String id,
      ASN1ObjectIdentifier contentCipher,
      ASN1ObjectIdentifier contentType,
      int integrity) {
    this(id, contentCipher, contentType, integrity, null);
  }

  private CmsDeliveryFormat(
      String id,
      ASN1ObjectIdentifier contentCipher,
      ASN1ObjectIdentifier contentType,
      int integrity,
      CryptoBackend backend) {
    this.id = id;
    this.contentCipher = contentCipher;
    this.contentType = contentType;
    this.integrity = integrity;
    this.gcm = contentType.equals(CMSObjectIdentifiers.authEnvelopedData);
    this.backend = backend;
  }

  /**
   * This format with its RSA-OAEP key transport on {@code backend} instead of the process's
   * {@link CryptoBackends#get()} (benchmarks and cross-backend tests). Same output bytes.
   */
  public CmsDeliveryFormat withBackend(CryptoBackend backend) {
    return new CmsDeliveryFormat(
        id, contentCipher, contentType, integrity, java.util.Objects.requireNonNull(backend));
  }

  private CryptoBackend backend() {
    return backend != null ? backend : CryptoBackends.get();
  }

  private static AlgorithmIdentifier oaepSha256() {
    try {
      return new JcaAlgorithmParametersConverter()
          .getAlgorithmIdentifier(
              PKCSObjectIdentifiers.id_RSAES_OAEP,
              new OAEPParameterSpec(
                  "SHA-256", "MGF1", MGF1ParameterSpec.SHA256, PSource.PSpecified.DEFAULT));
    } catch (GeneralSecurityException e) {
      throw new ExceptionInInitializerError(e);
    }
  }

  @Override
  public String id() {
    return id;
  }

  /** The payload integrity mode this format's content cipher requires. */
  public int payloadIntegrity() {
    return integrity;
  }

  @Override
  public boolean supports(RecipientKey recipient) {
    return recipient instanceof RsaRecipientKey;
  }

  @Override
  public byte[] seal(
      RecipientKey recipient, DeliveryMetadata metadata, byte[] secret, SecureRandom random) {
    DeliveryChecks.checkSealArguments(this, recipient, metadata, secret);
    return sealPayload(
        (RsaRecipientKey) recipient, DeliveryPayload.encode(metadata, secret, integrity), random);
  }

  /**
   * Seals an already-encoded payload and zeroizes it (it holds the secret in clear);
   * package-private for negative test vectors.
   */
  byte[] sealPayload(RsaRecipientKey rsa, byte[] payload, SecureRandom random) {
    try {
      return sealPayload(rsa, payload, random, OAEP_SHA256);
    } finally {
      java.util.Arrays.fill(payload, (byte) 0);
    }
  }

  byte[] sealPayload(
      RsaRecipientKey rsa, byte[] payload, SecureRandom random, AlgorithmIdentifier keyWrap) {
    // Random draws, in this order (the golden vectors depend on it): content key (32 bytes), then
    // the GCM nonce (12) or CBC IV (16), then the OAEP seed (32) inside the key transport.
    byte[] cek = new byte[32];
    byte[] iv = new byte[gcm ? GCM_NONCE_LENGTH : CBC_IV_LENGTH];
    Ciphers c = CIPHERS.get();
    try {
      random.nextBytes(cek);
      random.nextBytes(iv);
      SecretKeySpec key = new SecretKeySpec(cek, "AES");
      Cipher cipher;
      int contentLength;
      if (gcm) {
        cipher = c.gcm;
        cipher.init(Cipher.ENCRYPT_MODE, key, new GCMParameterSpec(GCM_TAG_LENGTH * 8, iv));
        contentLength = payload.length; // the tag goes into the mac field
      } else {
        cipher = c.cbc;
        cipher.init(Cipher.ENCRYPT_MODE, key, new IvParameterSpec(iv));
        contentLength = cipher.getOutputSize(payload.length);
      }
      // The whole envelope is laid out first (every length is known) and each part is written in
      // place: no ASN.1 object tree, no intermediate copies (performance.md section 1).
      boolean ski = rsa.issuerAndSerial().isEmpty();
      byte[] rid =
          ski
              ? CmsDer.subjectKeyIdRid(rsa.subjectKeyIdentifier())
              : CmsDer.der(rsa.issuerAndSerial().orElseThrow());
      CmsDer.Layout layout =
          CmsDer.Layout.of(
              gcm,
              rid,
              ski,
              OAEP_SHA256.equals(keyWrap) ? OAEP_SHA256_DER : CmsDer.der(keyWrap),
              rsa.modulusLength(),
              iv,
              contentLength,
              gcm ? GCM_TAG_LENGTH : 0);
      byte[] out = layout.out();
      int written = cipher.doFinal(payload, 0, payload.length, out, layout.contentAt());
      if (gcm) {
        // SunJCE wrote ciphertext || tag over the mac field's OCTET STRING header: move the tag
        // two bytes on, into the mac field, and write the header again.
        if (written != contentLength + GCM_TAG_LENGTH) {
          throw new IllegalStateException("AES-GCM wrote " + written + " bytes");
        }
        System.arraycopy(
            out, layout.contentAt() + contentLength, out, layout.tagAt(), GCM_TAG_LENGTH);
        CmsDer.header(out, layout.tagAt() - 2, CmsDer.OCTET_STRING, GCM_TAG_LENGTH);
      } else if (written != contentLength) {
        throw new IllegalStateException("AES-CBC wrote " + written + " bytes");
      }
      byte[] encryptedKey = c.wrap(backend(), keyWrap, rsa, cek, random);
      if (encryptedKey.length != rsa.modulusLength()) {
        throw new IllegalStateException("RSA key transport gave " + encryptedKey.length + " bytes");
      }
      System.arraycopy(encryptedKey, 0, out, layout.encryptedKeyAt(), encryptedKey.length);
      return out;
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("CMS encryption failed", e);
    } finally {
      Arrays.fill(cek, (byte) 0);
    }
  }

  /**
   * The JDK ciphers one thread seals with, created once per thread and re-initialised for every
   * delivery: SunJCE's AES (AES-NI and GHASH intrinsics), instead of a BouncyCastle
   * provider lookup, key generator and parameter generator per delivery (performance.md section 1:
   * 2 to 3 times the delivery rate). The AES cipher keeps the last delivery's content-key schedule
   * until the next {@link Cipher#init} replaces it, as a discarded cipher would until collected.
   * Meant for a pool of platform worker threads; a virtual thread per delivery would rebuild them.
   */
  private static final class Ciphers {
    final Cipher gcm = cipher("AES/GCM/NoPadding");
    final Cipher cbc = cipher("AES/CBC/PKCS5Padding");
    Cipher pkcs1;

    /** RSA-OAEP-SHA256 on the backend (SunJCE or libcrypto); PKCS#1 v1.5 for negative vectors. */
    byte[] wrap(
        CryptoBackend backend,
        AlgorithmIdentifier keyWrap,
        RsaRecipientKey rsa,
        byte[] cek,
        SecureRandom random)
        throws GeneralSecurityException {
      if (OAEP_SHA256.equals(keyWrap)) {
        return backend.rsaOaepSha256Encrypt(rsa.publicKey(), cek, random);
      }
      if (PKCSObjectIdentifiers.rsaEncryption.equals(keyWrap.getAlgorithm())) {
        // Only negative test vectors use PKCS#1 v1.5 (which Keycast's readers reject).
        if (pkcs1 == null) {
          pkcs1 = cipher("RSA/ECB/PKCS1Padding");
        }
        pkcs1.init(Cipher.ENCRYPT_MODE, rsa.publicKey(), random);
        return pkcs1.doFinal(cek);
      }
      throw new IllegalArgumentException("unsupported key transport " + keyWrap.getAlgorithm());
    }

    private static Cipher cipher(String transformation) {
      try {
        Provider sunJce = Security.getProvider("SunJCE");
        return sunJce != null
            ? Cipher.getInstance(transformation, sunJce)
            : Cipher.getInstance(transformation);
      } catch (GeneralSecurityException e) {
        throw new IllegalStateException("the JDK lacks " + transformation, e);
      }
    }
  }

  private static final ThreadLocal<Ciphers> CIPHERS = ThreadLocal.withInitial(Ciphers::new);

  @Override
  public OpenedDelivery open(RSAPrivateKey privateKey, byte[] envelope)
      throws MalformedInputException, DecryptionFailedException {
    RecipientInformation ri = parse(envelope);
    byte[] payload;
    try {
      payload = ri.getContent(new JceKeyTransEnvelopedRecipient(privateKey).setProvider(BC));
    } catch (CMSException | RuntimeException e) {
      throw new DecryptionFailedException();
    }
    if (payload == null || payload.length > DeliveryPayload.MAX_LENGTH) {
      throw new DecryptionFailedException();
    }
    OpenedDelivery opened;
    try {
      if (integrity == DeliveryPayload.INTEGRITY_SHA256) {
        // CBC is malleable: authenticate (SHA-256 trailer) before trusting any byte of the header.
        DeliveryPayload.verifyTrailer(payload);
      }
      opened = DeliveryPayload.decode(payload, integrity);
    } finally {
      java.util.Arrays.fill(payload, (byte) 0); // the secret in clear; OpenedDelivery has a copy
    }
    if (privateKey instanceof RSAPrivateCrtKey crt
        && !opened.metadata().recipientFingerprint().equals(fingerprintOf(crt))) {
      opened.destroy();
      throw new DecryptionFailedException();
    }
    return opened;
  }

  private static String fingerprintOf(RSAPrivateCrtKey k) throws DecryptionFailedException {
    try {
      return Fingerprints.of(
          KeyFactory.getInstance("RSA")
              .generatePublic(new RSAPublicKeySpec(k.getModulus(), k.getPublicExponent())));
    } catch (GeneralSecurityException e) {
      throw new DecryptionFailedException();
    }
  }

  /** Checks the structure before any decryption and returns the single recipient. */
  private RecipientInformation parse(byte[] envelope) throws MalformedInputException {
    DeliveryChecks.checkEnvelopeLength(envelope);
    checkOuterDerLength(envelope);
    ContentInfo ci;
    try {
      ci = ContentInfo.getInstance(ASN1Primitive.fromByteArray(envelope));
    } catch (IOException | RuntimeException e) {
      throw new MalformedInputException(
          MalformedInputException.Kind.MALFORMED,
          "not a well-formed CMS ContentInfo: " + MalformedInputException.quote(envelope, 16));
    }
    if (ci == null) {
      throw new MalformedInputException(
          MalformedInputException.Kind.MALFORMED, "empty CMS ContentInfo");
    }
    if (!contentType.equals(ci.getContentType())) {
      throw new MalformedInputException(
          MalformedInputException.Kind.UNSUPPORTED_ALGORITHM,
          "CMS content type " + ci.getContentType() + " is not " + contentType + " (" + id + ")");
    }
    RecipientInformationStore store;
    String cipherOid;
    try {
      if (contentType.equals(CMSObjectIdentifiers.authEnvelopedData)) {
        CMSAuthEnvelopedData d = new CMSAuthEnvelopedData(ci);
        store = d.getRecipientInfos();
        cipherOid = d.getEncryptionAlgOID();
      } else {
        CMSEnvelopedData d = new CMSEnvelopedData(ci);
        store = d.getRecipientInfos();
        cipherOid = d.getEncryptionAlgOID();
      }
    } catch (CMSException | RuntimeException e) {
      throw new MalformedInputException(
          MalformedInputException.Kind.MALFORMED, "bad CMS " + id + " structure");
    }
    if (!contentCipher.getId().equals(cipherOid)) {
      throw new MalformedInputException(
          MalformedInputException.Kind.UNSUPPORTED_ALGORITHM,
          "content cipher " + cipherOid + " is not " + contentCipher);
    }
    Collection<RecipientInformation> all = store.getRecipients();
    if (all.size() != 1) {
      throw new MalformedInputException(
          MalformedInputException.Kind.MALFORMED,
          "a delivery has exactly one recipient, found " + all.size());
    }
    RecipientInformation ri = all.iterator().next();
    if (!(ri instanceof KeyTransRecipientInformation)
        || !OAEP_SHA256.equals(ri.getKeyEncryptionAlgorithm())) {
      throw new MalformedInputException(
          MalformedInputException.Kind.UNSUPPORTED_ALGORITHM,
          "recipient must use RSA-OAEP-SHA256/MGF1-SHA256, found " + ri.getKeyEncryptionAlgOID());
    }
    return ri;
  }

  /**
   * Reads the outer DER SEQUENCE header (tag 0x30, definite length) so that a cut envelope reports
   * {@code truncated} and extra bytes report {@code malformed}, before the ASN.1 parser runs.
   */
  private static void checkOuterDerLength(byte[] e) throws MalformedInputException {
    if (e.length < 2) {
      throw new MalformedInputException(
          MalformedInputException.Kind.TRUNCATED, "CMS envelope is " + e.length + " bytes");
    }
    if (e[0] != 0x30) {
      throw new MalformedInputException(
          MalformedInputException.Kind.MALFORMED,
          "not a CMS ContentInfo: " + MalformedInputException.quote(e, 16));
    }
    int first = e[1] & 0xff;
    long length;
    int header;
    if (first < 0x80) {
      length = first;
      header = 2;
    } else {
      int n = first & 0x7f;
      if (n == 0 || n > 4) {
        throw new MalformedInputException(
            MalformedInputException.Kind.MALFORMED,
            "CMS envelope must use a definite DER length: " + MalformedInputException.quote(e, 8));
      }
      if (e.length < 2 + n) {
        throw new MalformedInputException(
            MalformedInputException.Kind.TRUNCATED, "CMS envelope header is truncated");
      }
      length = 0;
      for (int i = 0; i < n; i++) {
        length = (length << 8) | (e[2 + i] & 0xff);
      }
      header = 2 + n;
    }
    long total = header + length;
    if (total > e.length) {
      throw new MalformedInputException(
          MalformedInputException.Kind.TRUNCATED,
          "CMS envelope declares " + total + " bytes but has " + e.length);
    }
    if (total < e.length) {
      throw new MalformedInputException(
          MalformedInputException.Kind.MALFORMED,
          "CMS envelope has " + (e.length - total) + " trailing bytes");
    }
  }

  @Override
  public String toString() {
    return id;
  }
}
