package dev.keycast.protocol.receipt;

import dev.keycast.protocol.cbor.CborReader;
import dev.keycast.protocol.cbor.CborWriter;
import dev.keycast.protocol.keyset.KeySet;
import java.util.Arrays;
import java.util.Objects;
import org.bouncycastle.math.ec.rfc8032.Ed25519;

/**
 * Signs receipts as tagged COSE_Sign1 (RFC 9052) with EdDSA (Ed25519, alg -8): {@code 18([h'a10127',
 * {}, payload, signature])}, where the payload is the deterministic CBOR of the {@link Receipt}.
 */
public final class ReceiptSigner {
  /** Largest COSE_Sign1 receipt produced or accepted (64 MiB). */
  public static final int MAX_ENCODED = 64 * 1024 * 1024;

  private ReceiptSigner() {}

  /**
   * Encodes and signs {@code receipt} with a raw 32-byte Ed25519 private key (RFC 8032 seed). The
   * caller keeps and zeroizes the key.
   *
   * @throws IllegalArgumentException if the key is not 32 bytes or the receipt exceeds {@link #MAX_ENCODED}
   */
  public static byte[] sign(Receipt receipt, byte[] signingPrivateKey) {
    Objects.requireNonNull(receipt, "receipt");
    if (receipt.version() == Receipt.VERSION_ROOTED) {
      return ReceiptBundle.sign(receipt, signingPrivateKey); // the bundle: head and entries
    }
    int estimate = 128 + receipt.deliveries().size() * 160 + receipt.skipped().size() * 100;
    CborWriter payload = new CborWriter((int) Math.min(estimate, MAX_ENCODED));
    ReceiptCodec.encode(receipt, payload);
    return signPayload(payload.array(), payload.length(), signingPrivateKey);
  }

  /** Signs with {@code keySet}'s signing key; the receipt must name that key set. */
  public static byte[] sign(Receipt receipt, KeySet keySet) {
    if (!receipt.keySetId().equals(keySet.id())) {
      throw new IllegalArgumentException(
          "receipt names key set " + receipt.keySetId() + ", not " + keySet.id());
    }
    Objects.requireNonNull(receipt, "receipt");
    if (receipt.version() == Receipt.VERSION_ROOTED) {
      byte[] sk = keySet.signingPrivateKey();
      try {
        return ReceiptBundle.sign(receipt, sk);
      } finally {
        Arrays.fill(sk, (byte) 0);
      }
    }
    int estimate = 128 + receipt.deliveries().size() * 160 + receipt.skipped().size() * 100;
    CborWriter payload = new CborWriter((int) Math.min(estimate, MAX_ENCODED));
    ReceiptCodec.encode(receipt, payload);
    return signPayload(payload.array(), payload.length(), keySet);
  }

  /** Signs already-encoded payload bytes {@code payload[0, len)}; package-private for vectors. */
  static byte[] signPayload(byte[] payload, int len, byte[] signingPrivateKey) {
    return signPayload(payload, len, signingPrivateKey, null);
  }

  /**
   * Signs {@code payload[0, len)} with {@code keySet}'s signing key, passing its public key to the
   * signer: RFC 8032 signing hashes the public key into the challenge, and deriving it from the
   * private key costs one more base-point multiplication, which is about 40 % of a signature. The
   * key set derived its public key from the same private key when it was built, so the signature
   * is byte-identical to {@link #signPayload(byte[], int, byte[])}.
   */
  static byte[] signPayload(byte[] payload, int len, KeySet keySet) {
    byte[] sk = keySet.signingPrivateKey();
    try {
      return signPayload(payload, len, sk, keySet.signingPublicKey());
    } finally {
      Arrays.fill(sk, (byte) 0);
    }
  }

  private static byte[] signPayload(
      byte[] payload, int len, byte[] signingPrivateKey, byte[] signingPublicKey) {
    Objects.requireNonNull(signingPrivateKey, "signingPrivateKey");
    if (signingPrivateKey.length != 32) {
      throw new IllegalArgumentException("Ed25519 private key must be 32 bytes");
    }
    if (len > MAX_ENCODED - 128) {
      throw new IllegalArgumentException(
          "receipt payload is " + len + " bytes, limit " + (MAX_ENCODED - 128));
    }
    byte[] tbs = Cose.sigStructure(payload, 0, len);
    byte[] sig = new byte[Cose.SIGNATURE_LENGTH];
    if (signingPublicKey == null) {
      Ed25519.sign(signingPrivateKey, 0, tbs, 0, tbs.length, sig, 0);
    } else {
      Ed25519.sign(signingPrivateKey, 0, signingPublicKey, 0, tbs, 0, tbs.length, sig, 0);
    }
    CborWriter out = new CborWriter(len + 96);
    out.head(CborReader.MAJOR_TAG, Cose.TAG_SIGN1)
        .head(CborReader.MAJOR_ARRAY, 4)
        .bytes(Cose.PROTECTED)
        .head(CborReader.MAJOR_MAP, 0);
    out.head(CborReader.MAJOR_BYTES, len).raw(payload, 0, len);
    out.bytes(sig);
    return out.array().length == out.length() ? out.array() : out.toByteArray();
  }
}
