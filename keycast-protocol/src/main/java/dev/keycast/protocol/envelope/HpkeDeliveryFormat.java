package dev.keycast.protocol.envelope;

import dev.keycast.protocol.DecryptionFailedException;
import dev.keycast.protocol.MalformedInputException;
import dev.keycast.protocol.crypto.CryptoBackend;
import dev.keycast.protocol.crypto.CryptoBackends;
import dev.keycast.protocol.hpke.Hpke;
import dev.keycast.protocol.hpke.HpkeCiphertext;
import dev.keycast.protocol.hpke.HpkeSuite;
import dev.keycast.protocol.hpke.X25519PrivateKey;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.HexFormat;

/**
 * Deliveries to X25519 recipients: HPKE base mode in {@link HpkeSuite#KEYCAST_V1}
 * (wire-format.md section 3.4).
 *
 * <pre>
 * offset  size  field
 * 0       4     magic "KCHE"
 * 4       1     version = 1
 * 5       2     kem_id  (0x0020)
 * 7       2     kdf_id  (0x0001)
 * 9       2     aead_id (0x0002)
 * 11      2     N = metadata length
 * 13      N     DeliveryMetadata encoding
 * 13+N    32    enc
 * 45+N    rest  AEAD ciphertext of the secret, with 16-byte tag
 * </pre>
 *
 * AAD = bytes [0, 13+N); info = "keycast delivery hpke v1" || 0x00 || the 32 raw bytes of the
 * recipient fingerprint.
 */
public final class HpkeDeliveryFormat implements DeliveryFormat<X25519PrivateKey> {
  /** Format identifier. */
  public static final String ID = "hpke-x25519-v1";

  /** The one instance (the format is stateless). */
  public static final HpkeDeliveryFormat INSTANCE = new HpkeDeliveryFormat();

  static final byte[] MAGIC = {'K', 'C', 'H', 'E'};
  static final int VERSION = 1;
  static final int HEADER = 13;
  private static final byte[] INFO_LABEL =
      "keycast delivery hpke v1\0".getBytes(StandardCharsets.US_ASCII);
  private static final HpkeSuite SUITE = HpkeSuite.KEYCAST_V1;
  private static final int ENC = 32;
  private static final int TAG = 16;

  /** The X25519 backend; null means {@link CryptoBackends#get()} at each call. */
  private final CryptoBackend backend;

  private HpkeDeliveryFormat() {
    this(null);
  }

  private HpkeDeliveryFormat(CryptoBackend backend) {
    this.backend = backend;
  }

  /**
   * This format with its X25519 operations on {@code backend} instead of the process's {@link
   * CryptoBackends#get()} (benchmarks and cross-backend tests). Same output bytes.
   */
  public HpkeDeliveryFormat withBackend(CryptoBackend backend) {
    return new HpkeDeliveryFormat(java.util.Objects.requireNonNull(backend));
  }

  private CryptoBackend backend() {
    return backend != null ? backend : CryptoBackends.get();
  }

  @Override
  public String id() {
    return ID;
  }

  @Override
  public boolean supports(RecipientKey recipient) {
    return recipient instanceof X25519RecipientKey;
  }

  @Override
  public byte[] seal(
      RecipientKey recipient, DeliveryMetadata metadata, byte[] secret, SecureRandom random) {
    DeliveryChecks.checkSealArguments(this, recipient, metadata, secret);
    X25519RecipientKey x = (X25519RecipientKey) recipient;
    byte[] aad = header(VERSION, metadata.encode());
    HpkeCiphertext c;
    try {
      c =
          Hpke.seal(
              backend(), SUITE, x.publicKey(), info(recipient.fingerprint()), aad, secret, random);
    } catch (MalformedInputException e) {
      throw new IllegalArgumentException("recipient X25519 key is unusable: " + e.getMessage(), e);
    }
    byte[] enc = c.enc();
    byte[] ct = c.ciphertext();
    byte[] out = Arrays.copyOf(aad, aad.length + enc.length + ct.length);
    System.arraycopy(enc, 0, out, aad.length, enc.length);
    System.arraycopy(ct, 0, out, aad.length + enc.length, ct.length);
    return out;
  }

  static byte[] header(int version, byte[] metadata) {
    return ByteBuffer.allocate(HEADER + metadata.length)
        .put(MAGIC)
        .put((byte) version)
        .putShort((short) SUITE.kemId())
        .putShort((short) SUITE.kdfId())
        .putShort((short) SUITE.aeadId())
        .putShort((short) metadata.length)
        .put(metadata)
        .array();
  }

  static byte[] info(String fingerprint) {
    byte[] fp = HexFormat.of().parseHex(fingerprint);
    byte[] info = Arrays.copyOf(INFO_LABEL, INFO_LABEL.length + fp.length);
    System.arraycopy(fp, 0, info, INFO_LABEL.length, fp.length);
    return info;
  }

  @Override
  public OpenedDelivery open(X25519PrivateKey privateKey, byte[] envelope)
      throws MalformedInputException, DecryptionFailedException {
    DeliveryChecks.checkEnvelopeLength(envelope);
    ByteBuffer b = ByteBuffer.wrap(envelope);
    if (envelope.length < 5) {
      throw new MalformedInputException(
          MalformedInputException.Kind.TRUNCATED, "HPKE delivery is " + envelope.length + " bytes");
    }
    if (!Arrays.equals(envelope, 0, 4, MAGIC, 0, 4)) {
      throw new MalformedInputException(
          MalformedInputException.Kind.MALFORMED,
          "not a Keycast HPKE delivery (magic " + MalformedInputException.quote(envelope, 4) + ")");
    }
    int version = envelope[4] & 0xff;
    if (version != VERSION) {
      throw new MalformedInputException(
          MalformedInputException.Kind.UNSUPPORTED_VERSION,
          "HPKE delivery version " + version + " is not 1");
    }
    if (envelope.length < HEADER) {
      throw new MalformedInputException(
          MalformedInputException.Kind.TRUNCATED, "HPKE delivery header is truncated");
    }
    b.position(5);
    int kem = b.getShort() & 0xffff;
    int kdf = b.getShort() & 0xffff;
    int aead = b.getShort() & 0xffff;
    if (kem != SUITE.kemId() || kdf != SUITE.kdfId() || aead != SUITE.aeadId()) {
      throw new MalformedInputException(
          MalformedInputException.Kind.UNSUPPORTED_ALGORITHM,
          String.format(
              "HPKE suite kem=0x%04x kdf=0x%04x aead=0x%04x is not Keycast's v1 suite",
              kem, kdf, aead));
    }
    int mdLen = b.getShort() & 0xffff;
    if (mdLen > DeliveryMetadata.MAX_ENCODED_LENGTH) {
      throw new MalformedInputException(
          MalformedInputException.Kind.OVERSIZE,
          "metadata length " + mdLen + " exceeds " + DeliveryMetadata.MAX_ENCODED_LENGTH);
    }
    int ctLen = envelope.length - HEADER - mdLen - ENC;
    if (ctLen < TAG) {
      throw new MalformedInputException(
          MalformedInputException.Kind.TRUNCATED,
          "HPKE delivery of " + envelope.length + " bytes is truncated");
    }
    if (ctLen > DeliveryPayload.MAX_SECRET_LENGTH + TAG) {
      throw new MalformedInputException(
          MalformedInputException.Kind.OVERSIZE,
          "HPKE delivery ciphertext of " + ctLen + " bytes exceeds the secret limit");
    }
    byte[] md = Arrays.copyOfRange(envelope, HEADER, HEADER + mdLen);
    DeliveryMetadata metadata = DeliveryMetadata.decode(md);
    String own = privateKey.publicKey().fingerprint();
    if (!metadata.recipientFingerprint().equals(own)) {
      throw new DecryptionFailedException();
    }
    byte[] aad = Arrays.copyOf(envelope, HEADER + mdLen);
    int encAt = HEADER + mdLen;
    HpkeCiphertext c =
        new HpkeCiphertext(
            Arrays.copyOfRange(envelope, encAt, encAt + ENC),
            Arrays.copyOfRange(envelope, encAt + ENC, envelope.length));
    byte[] secret = Hpke.open(backend(), SUITE, privateKey, info(own), aad, c);
    return new OpenedDelivery(metadata, secret);
  }

  @Override
  public String toString() {
    return ID;
  }
}
