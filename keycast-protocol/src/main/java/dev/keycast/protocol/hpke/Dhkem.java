package dev.keycast.protocol.hpke;

import dev.keycast.protocol.crypto.CryptoBackend;
import dev.keycast.protocol.crypto.X25519Exchange;
import dev.keycast.protocol.crypto.X25519KeyAgreement;
import java.nio.charset.StandardCharsets;
import java.security.InvalidKeyException;
import java.util.Arrays;

/**
 * DHKEM(X25519, HKDF-SHA256) (RFC 9180 section 4.1) and the base-mode key schedule (section
 * 5.1) with HKDF-SHA256 ({@link HkdfSha256}, one per setup); the X25519 operations come from a
 * {@link CryptoBackend}. Stateless.
 */
final class Dhkem {
  private static final byte[] HPKE_V1 = "HPKE-v1".getBytes(StandardCharsets.US_ASCII);

  /** suite_id for the KEM: "KEM" || I2OSP(0x0020, 2). */
  private static final byte[] KEM_SUITE_ID = {'K', 'E', 'M', 0x00, 0x20};

  private static final int N_SECRET = 32;
  private static final int N_SK = 32;
  private static final int N_H = 32;
  private static final int N_N = 12;
  private static final byte MODE_BASE = 0x00;
  private static final byte[] EMPTY = new byte[0];

  private Dhkem() {}

  /** DeriveKeyPair(ikm) private key (section 7.1.3): LabeledExpand(dkp_prk, "sk", "", 32). */
  static byte[] derivePrivateKey(HkdfSha256 hkdf, byte[] ikm) {
    byte[] dkpPrk = labeledExtract(hkdf, KEM_SUITE_ID, EMPTY, "dkp_prk", ikm);
    try {
      return labeledExpand(hkdf, KEM_SUITE_ID, dkpPrk, "sk", EMPTY, N_SK);
    } finally {
      Arrays.fill(dkpPrk, (byte) 0);
    }
  }

  /**
   * SetupBaseS with the ephemeral key DeriveKeyPair(ikmE): Encap(pkR) then the key schedule.
   *
   * @throws InvalidKeyException if DH(skE, pkR) is all zero
   */
  static HpkeContext setupBaseS(
      CryptoBackend backend, HpkeSuite suite, byte[] pkR, byte[] info, byte[] ikmE)
      throws InvalidKeyException {
    HkdfSha256 hkdf = new HkdfSha256();
    byte[] skE = derivePrivateKey(hkdf, ikmE);
    X25519Exchange x;
    try {
      x = backend.x25519(skE, pkR);
    } finally {
      Arrays.fill(skE, (byte) 0);
    }
    byte[] enc = x.publicKey();
    return keySchedule(hkdf, suite, enc, sharedSecret(hkdf, x, enc, pkR), info);
  }

  /**
   * SetupBaseR: Decap(enc, skR) then the key schedule. {@code pkR} is the recipient's public key
   * as its holder keeps it: only the Diffie-Hellman is computed. A {@code pkR} that is not skR's
   * public key enters the KEM context, so decryption then fails; it never succeeds wrongly.
   *
   * @throws InvalidKeyException if DH(skR, enc) is all zero
   */
  static HpkeContext setupBaseR(
      CryptoBackend backend, HpkeSuite suite, byte[] enc, byte[] skR, byte[] pkR, byte[] info)
      throws InvalidKeyException {
    byte[] dh = backend.x25519SharedSecret(skR, pkR, enc);
    HkdfSha256 hkdf = new HkdfSha256();
    return keySchedule(hkdf, suite, enc.clone(), sharedSecret(hkdf, dh, enc, pkR), info);
  }

  /**
   * SetupBaseR with a held recipient key: Decap(enc, skR) through {@code recipient} (only the
   * Diffie-Hellman is computed; {@code pkRm} is the key's stored public key), then the key
   * schedule.
   *
   * @throws InvalidKeyException if DH(skR, enc) is all zero
   */
  static HpkeContext setupBaseR(
      HpkeSuite suite, byte[] enc, X25519KeyAgreement recipient, byte[] info)
      throws InvalidKeyException {
    byte[] dh = recipient.sharedSecret(enc);
    HkdfSha256 hkdf = new HkdfSha256();
    return keySchedule(
        hkdf, suite, enc.clone(), sharedSecret(hkdf, dh, enc, recipient.publicKey()), info);
  }

  /** ExtractAndExpand(dh, kem_context = enc || pkRm); destroys the exchange. */
  private static byte[] sharedSecret(HkdfSha256 hkdf, X25519Exchange x, byte[] enc, byte[] pkRm) {
    byte[] dh = x.sharedSecret();
    x.destroy();
    return sharedSecret(hkdf, dh, enc, pkRm);
  }

  /** ExtractAndExpand(dh, kem_context = enc || pkRm); zeroizes {@code dh}. */
  private static byte[] sharedSecret(HkdfSha256 hkdf, byte[] dh, byte[] enc, byte[] pkRm) {
    byte[] eaePrk = labeledExtract(hkdf, KEM_SUITE_ID, EMPTY, "eae_prk", dh);
    Arrays.fill(dh, (byte) 0);
    byte[] kemContext = Arrays.copyOf(enc, enc.length + pkRm.length);
    System.arraycopy(pkRm, 0, kemContext, enc.length, pkRm.length);
    try {
      return labeledExpand(hkdf, KEM_SUITE_ID, eaePrk, "shared_secret", kemContext, N_SECRET);
    } finally {
      Arrays.fill(eaePrk, (byte) 0);
    }
  }

  /** KeySchedule (section 5.1) in mode_base (empty psk and psk_id). */
  private static HpkeContext keySchedule(
      HkdfSha256 hkdf, HpkeSuite suite, byte[] enc, byte[] sharedSecret, byte[] info) {
    byte[] suiteId = hpkeSuiteId(suite);
    byte[] pskIdHash = labeledExtract(hkdf, suiteId, EMPTY, "psk_id_hash", EMPTY);
    byte[] infoHash = labeledExtract(hkdf, suiteId, EMPTY, "info_hash", info);
    byte[] context = new byte[1 + pskIdHash.length + infoHash.length];
    context[0] = MODE_BASE;
    System.arraycopy(pskIdHash, 0, context, 1, pskIdHash.length);
    System.arraycopy(infoHash, 0, context, 1 + pskIdHash.length, infoHash.length);
    byte[] secret = labeledExtract(hkdf, suiteId, sharedSecret, "secret", EMPTY);
    try {
      byte[] key = labeledExpand(hkdf, suiteId, secret, "key", context, suite.keyLength());
      byte[] baseNonce = labeledExpand(hkdf, suiteId, secret, "base_nonce", context, N_N);
      byte[] exporterSecret = labeledExpand(hkdf, suiteId, secret, "exp", context, N_H);
      return new HpkeContext(suite, enc, sharedSecret, key, baseNonce, exporterSecret);
    } finally {
      Arrays.fill(secret, (byte) 0);
    }
  }

  /** suite_id for the key schedule: "HPKE" || kem_id || kdf_id || aead_id. */
  static byte[] hpkeSuiteId(HpkeSuite s) {
    return new byte[] {
      'H',
      'P',
      'K',
      'E',
      (byte) (s.kemId() >>> 8),
      (byte) s.kemId(),
      (byte) (s.kdfId() >>> 8),
      (byte) s.kdfId(),
      (byte) (s.aeadId() >>> 8),
      (byte) s.aeadId()
    };
  }

  /** LabeledExtract(salt, label, ikm) = Extract(salt, "HPKE-v1" || suite_id || label || ikm). */
  static byte[] labeledExtract(
      HkdfSha256 hkdf, byte[] suiteId, byte[] salt, String label, byte[] ikm) {
    byte[] l = label.getBytes(StandardCharsets.US_ASCII);
    byte[] labeledIkm = new byte[HPKE_V1.length + suiteId.length + l.length + ikm.length];
    int at = put(labeledIkm, 0, HPKE_V1);
    at = put(labeledIkm, at, suiteId);
    at = put(labeledIkm, at, l);
    put(labeledIkm, at, ikm);
    try {
      return hkdf.extract(salt, labeledIkm);
    } finally {
      Arrays.fill(labeledIkm, (byte) 0);
    }
  }

  /**
   * LabeledExpand(prk, label, info, L) = Expand(prk, I2OSP(L, 2) || "HPKE-v1" || suite_id ||
   * label || info, L).
   */
  static byte[] labeledExpand(
      HkdfSha256 hkdf, byte[] suiteId, byte[] prk, String label, byte[] info, int length) {
    if (length <= 0 || length > 255 * N_H) {
      throw new IllegalArgumentException("HKDF-Expand length " + length + " is out of range");
    }
    byte[] l = label.getBytes(StandardCharsets.US_ASCII);
    byte[] labeledInfo = new byte[2 + HPKE_V1.length + suiteId.length + l.length + info.length];
    labeledInfo[0] = (byte) (length >>> 8);
    labeledInfo[1] = (byte) length;
    int at = put(labeledInfo, 2, HPKE_V1);
    at = put(labeledInfo, at, suiteId);
    at = put(labeledInfo, at, l);
    put(labeledInfo, at, info);
    return hkdf.expand(prk, labeledInfo, length);
  }

  private static int put(byte[] dst, int at, byte[] src) {
    System.arraycopy(src, 0, dst, at, src.length);
    return at + src.length;
  }
}
