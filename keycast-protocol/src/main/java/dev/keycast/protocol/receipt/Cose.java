package dev.keycast.protocol.receipt;

import dev.keycast.protocol.cbor.CborReader;
import dev.keycast.protocol.cbor.CborWriter;

/** COSE_Sign1 constants and the Sig_structure (RFC 9052 sections 4.2 and 4.4). */
final class Cose {
  /** CBOR tag for COSE_Sign1. */
  static final int TAG_SIGN1 = 18;

  /** The serialized protected header {1: -8} (alg: EdDSA). */
  static final byte[] PROTECTED = {(byte) 0xa1, 0x01, 0x27};

  static final int SIGNATURE_LENGTH = 64;

  private Cose() {}

  /**
   * Sig_structure = ["Signature1", bstr protected, bstr external_aad = h'', bstr payload], as one
   * contiguous array (Ed25519 needs the whole message).
   */
  static byte[] sigStructure(byte[] payload, int off, int len) {
    CborWriter w = new CborWriter(len + 32);
    w.head(CborReader.MAJOR_ARRAY, 4).text("Signature1").bytes(PROTECTED).bytes(new byte[0]);
    w.head(CborReader.MAJOR_BYTES, len).raw(payload, off, len);
    return w.array().length == w.length() ? w.array() : w.toByteArray();
  }
}
