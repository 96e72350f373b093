package dev.keycast.protocol.receipt;

import dev.keycast.protocol.MalformedInputException;
import dev.keycast.protocol.cbor.CborReader;
import dev.keycast.protocol.keyset.KeyBundle;
import java.util.Arrays;
import java.util.Objects;
import org.bouncycastle.math.ec.rfc8032.Ed25519;

/**
 * Verifies a COSE_Sign1 receipt and decodes its payload. Order: structural checks of the COSE
 * envelope (caps first), the protected header must be exactly {1: -8}, the unprotected header must
 * be empty, the Ed25519 signature must verify, and only then is the payload decoded, strictly
 * (deterministic CBOR, known version, valid fields).
 */
public final class ReceiptVerifier {
  private ReceiptVerifier() {}

  /**
   * @param cose a COSE_Sign1, tagged (18) or untagged
   * @param signingPublicKeyRaw the 32-byte Ed25519 public key of the key set that should have signed
   * @throws MalformedInputException {@code oversize}, {@code truncated}, {@code malformed}, {@code
   *     non_canonical}, {@code unsupported_algorithm} or {@code unsupported_version}
   * @throws ReceiptSignatureException the signature does not verify under that key
   */
  public static Receipt verify(byte[] cose, byte[] signingPublicKeyRaw)
      throws MalformedInputException, ReceiptSignatureException {
    Objects.requireNonNull(signingPublicKeyRaw, "signingPublicKeyRaw");
    if (cose == null) {
      throw new MalformedInputException(MalformedInputException.Kind.TRUNCATED, "receipt is null");
    }
    if (cose.length > ReceiptSigner.MAX_ENCODED) {
      throw new MalformedInputException(
          MalformedInputException.Kind.OVERSIZE,
          "receipt is " + cose.length + " bytes, limit " + ReceiptSigner.MAX_ENCODED);
    }
    CborReader r = new CborReader(cose, 0, cose.length, CborReader.Options.CANONICAL);
    if (cose.length > 0 && (cose[0] & 0xff) == BUNDLE_HEAD) {
      return ReceiptBundle.verify(cose, r, signingPublicKeyRaw);
    }
    int[] payload = readCose(cose, r);
    if (!r.atEnd()) {
      throw new MalformedInputException(
          MalformedInputException.Kind.MALFORMED,
          "trailing bytes after COSE_Sign1 at offset " + r.position());
    }
    checkSignature(cose, payload, signingPublicKeyRaw);
    return ReceiptCodec.decode(cose, payload[0], payload[0] + payload[1]);
  }

  /** The first byte of a receipt bundle (an array of 3, wire-format.md 5.6). */
  static final int BUNDLE_HEAD = 0x83;

  /**
   * Reads a COSE_Sign1 (tagged or not) at {@code r}'s position, strictly, without checking its
   * signature.
   *
   * @return {payload offset, payload length, signature offset}
   */
  static int[] readCose(byte[] cose, CborReader r) throws MalformedInputException {
    if (r.peekMajor("COSE_Sign1") == CborReader.MAJOR_TAG) {
      long tag = r.readHead(CborReader.MAJOR_TAG, "COSE tag");
      if (tag != Cose.TAG_SIGN1) {
        throw new MalformedInputException(
            MalformedInputException.Kind.MALFORMED, "CBOR tag " + tag + " is not COSE_Sign1 (18)");
      }
    }
    if (r.readHead(CborReader.MAJOR_ARRAY, "COSE_Sign1") != 4) {
      throw new MalformedInputException(
          MalformedInputException.Kind.MALFORMED, "COSE_Sign1 must be an array of 4");
    }
    int[] n = r.readBytesRange("protected header", 0, 64);
    byte[] prot = Arrays.copyOfRange(cose, n[0], n[0] + n[1]);
    if (!Arrays.equals(prot, Cose.PROTECTED)) {
      throw new MalformedInputException(
          MalformedInputException.Kind.UNSUPPORTED_ALGORITHM,
          "protected header must be a10127 ({1: -8}, EdDSA), got "
              + MalformedInputException.quote(prot, 32));
    }
    if (r.readHead(CborReader.MAJOR_MAP, "unprotected header") != 0) {
      throw new MalformedInputException(
          MalformedInputException.Kind.MALFORMED, "unprotected header must be empty");
    }
    n = r.readBytesRange("payload", 0, ReceiptSigner.MAX_ENCODED);
    int payloadStart = n[0];
    int payloadLength = n[1];
    n = r.readBytesRange("signature", 0, 64);
    if (n[1] != Cose.SIGNATURE_LENGTH) {
      throw new MalformedInputException(
          MalformedInputException.Kind.MALFORMED, "signature must be 64 bytes, got " + n[1]);
    }
    return new int[] {payloadStart, payloadLength, n[0]};
  }

  /** Checks the Ed25519 signature of a COSE_Sign1 read by {@link #readCose}. */
  static void checkSignature(byte[] cose, int[] span, byte[] signingPublicKeyRaw)
      throws ReceiptSignatureException {
    if (signingPublicKeyRaw.length != 32) {
      throw new ReceiptSignatureException();
    }
    byte[] tbs = Cose.sigStructure(cose, span[0], span[1]);
    boolean ok;
    try {
      ok = Ed25519.verify(cose, span[2], signingPublicKeyRaw, 0, tbs, 0, tbs.length);
    } catch (RuntimeException e) {
      ok = false;
    }
    if (!ok) {
      throw new ReceiptSignatureException();
    }
  }

  /**
   * Verifies with {@code bundle}'s signing key and requires the receipt to name {@code bundle}'s
   * key set.
   */
  public static Receipt verify(byte[] cose, KeyBundle bundle)
      throws MalformedInputException, ReceiptSignatureException {
    Receipt receipt = verify(cose, bundle.signingPublicKey());
    if (!receipt.keySetId().equals(bundle.keySetId())) {
      throw new ReceiptSignatureException(
          "receipt names key set " + receipt.keySetId() + ", expected " + bundle.keySetId());
    }
    return receipt;
  }
}
