package dev.keycast.protocol.attestation;

import dev.keycast.protocol.MalformedInputException;
import dev.keycast.protocol.cbor.CborReader;
import dev.keycast.protocol.cbor.CborWriter;

/**
 * A decoded COSE_Sign1 message (RFC 9052 §4.2): the exact bytes of the protected header and the
 * payload as they appeared on the wire, the unprotected header (re-emitted as raw CBOR), and the
 * signature.
 *
 * <p>Decoding does not verify anything; {@link #toBeSigned()} gives the Sig_structure that a
 * signature is checked over, built from the exact received bytes (the payload is never
 * re-encoded). Arrays are copied on the way in and out.
 *
 * @param protectedHeader the content of the protected-header byte string (a serialized CBOR map)
 * @param unprotectedHeader the raw CBOR of the unprotected header map (usually {@code a0})
 * @param payload the content of the payload byte string
 * @param signature the signature byte string (for ES384: raw {@code r || s}, 96 bytes)
 * @param tagged whether the message carried CBOR tag 18
 * @param algorithm the protected {@code alg} (label 1) as a name: {@code "ES384"} for -35 or the
 *     text {@code "ES384"}, {@code "COSE alg <n>"} for another integer, the text itself for other
 *     text values, or {@code ""} when absent
 */
public record CoseSign1(
    byte[] protectedHeader,
    byte[] unprotectedHeader,
    byte[] payload,
    byte[] signature,
    boolean tagged,
    String algorithm) {

  /** CBOR tag of COSE_Sign1. */
  public static final long TAG = 18;

  /** COSE algorithm identifier of ECDSA with SHA-384 on P-384. */
  public static final long ES384 = -35;

  /** Largest COSE message accepted, in bytes (real Nitro documents are 4.4 to 7.6 KB). */
  public static final int MAX_MESSAGE_BYTES = 16 * 1024;

  /** Largest protected header accepted, in bytes (Nitro uses 4: {@code a1 01 38 22}). */
  public static final int MAX_PROTECTED_BYTES = 64;

  /** Largest signature accepted, in bytes. */
  public static final int MAX_SIGNATURE_BYTES = 512;

  public CoseSign1 {
    protectedHeader = protectedHeader.clone();
    unprotectedHeader = unprotectedHeader.clone();
    payload = payload.clone();
    signature = signature.clone();
    if (algorithm == null) {
      throw new NullPointerException("algorithm");
    }
  }

  @Override
  public byte[] protectedHeader() {
    return protectedHeader.clone();
  }

  @Override
  public byte[] unprotectedHeader() {
    return unprotectedHeader.clone();
  }

  @Override
  public byte[] payload() {
    return payload.clone();
  }

  @Override
  public byte[] signature() {
    return signature.clone();
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof CoseSign1 c
        && java.util.Arrays.equals(protectedHeader, c.protectedHeader)
        && java.util.Arrays.equals(unprotectedHeader, c.unprotectedHeader)
        && java.util.Arrays.equals(payload, c.payload)
        && java.util.Arrays.equals(signature, c.signature)
        && tagged == c.tagged
        && algorithm.equals(c.algorithm);
  }

  @Override
  public int hashCode() {
    return java.util.Arrays.hashCode(payload) * 31 + java.util.Arrays.hashCode(signature);
  }

  @Override
  public String toString() {
    return "CoseSign1[alg="
        + algorithm
        + ", tagged="
        + tagged
        + ", protected="
        + MalformedInputException.quote(protectedHeader, 16)
        + ", payload="
        + payload.length
        + " B, signature="
        + signature.length
        + " B]";
  }

  /**
   * Decodes a COSE_Sign1 message, tagged (18) or untagged. Rejects anything larger than {@link
   * #MAX_MESSAGE_BYTES}, trailing bytes, a detached (null) payload, an unprotected header that is
   * not a map, and a protected header that is not a serialized map or carries {@code crit}.
   */
  public static CoseSign1 decode(byte[] message) throws MalformedInputException {
    if (message == null || message.length == 0) {
      throw new MalformedInputException(
          MalformedInputException.Kind.TRUNCATED, "COSE_Sign1: empty input");
    }
    if (message.length > MAX_MESSAGE_BYTES) {
      throw new MalformedInputException(
          MalformedInputException.Kind.OVERSIZE,
          "COSE_Sign1: " + message.length + " bytes exceed the limit of " + MAX_MESSAGE_BYTES);
    }
    CborReader r = new CborReader(message, AttestationParser.CBOR_OPTIONS);
    long tag = r.readOptionalTag("COSE_Sign1 tag");
    if (tag != -1 && tag != TAG) {
      throw new MalformedInputException(
          MalformedInputException.Kind.MALFORMED,
          "COSE_Sign1: unexpected CBOR tag "
              + Long.toUnsignedString(tag)
              + " (expected 18 or none)");
    }
    long n = r.readArrayHeader("COSE_Sign1", 4);
    if (n != 4) {
      throw new MalformedInputException(
          MalformedInputException.Kind.MALFORMED,
          "COSE_Sign1: expected a definite array of 4 elements, found "
              + (n == CborReader.INDEFINITE ? "an indefinite array" : n + " elements"));
    }
    byte[] prot = r.readBytes("COSE_Sign1 protected header", 0, MAX_PROTECTED_BYTES);
    int uStart = r.position();
    if (r.peekMajor("COSE_Sign1 unprotected header") != CborReader.MAJOR_MAP) {
      throw new MalformedInputException(
          MalformedInputException.Kind.MALFORMED,
          "COSE_Sign1: unprotected header must be a map (found "
              + CborReader.majorName(r.peekMajor("COSE_Sign1 unprotected header"))
              + (r.peekNull() ? " null" : "")
              + ")");
    }
    r.skip("COSE_Sign1 unprotected header");
    byte[] unprot = java.util.Arrays.copyOfRange(message, uStart, r.position());
    if (r.peekNull()) {
      throw new MalformedInputException(
          MalformedInputException.Kind.MALFORMED, "COSE_Sign1: detached payload is not accepted");
    }
    byte[] payload = r.readBytes("COSE_Sign1 payload", 1, MAX_MESSAGE_BYTES);
    byte[] sig = r.readBytes("COSE_Sign1 signature", 1, MAX_SIGNATURE_BYTES);
    r.requireEnd("COSE_Sign1");
    String alg = decodeAlgorithm(prot);
    return new CoseSign1(prot, unprot, payload, sig, tag == TAG, alg);
  }

  /**
   * The COSE Sig_structure for this message: {@code ["Signature1", protected, h'', payload]},
   * built from the exact protected-header and payload bytes received.
   */
  public byte[] toBeSigned() {
    return toBeSigned(protectedHeader, payload);
  }

  /**
   * The COSE Sig_structure {@code ["Signature1", protectedHeader, h'', payload]} (RFC 9052 §4.4)
   * with an empty external AAD.
   */
  public static byte[] toBeSigned(byte[] protectedHeader, byte[] payload) {
    return new CborWriter()
        .array(4)
        .text("Signature1")
        .bytes(protectedHeader)
        .bytes(new byte[0])
        .bytes(payload)
        .toByteArray();
  }

  /** Encodes an untagged COSE_Sign1 array from its parts (as the Nitro NSM emits it). */
  public static byte[] encode(
      byte[] protectedHeader, byte[] unprotectedHeader, byte[] payload, byte[] signature) {
    return new CborWriter()
        .array(4)
        .bytes(protectedHeader)
        .raw(unprotectedHeader)
        .bytes(payload)
        .bytes(signature)
        .toByteArray();
  }

  /** The protected header Nitro uses: {@code {1: -35}} ({@code a1 01 38 22}). */
  public static byte[] es384ProtectedHeader() {
    return new CborWriter().map(1).integer(1).integer(ES384).toByteArray();
  }

  private static String decodeAlgorithm(byte[] prot) throws MalformedInputException {
    if (prot.length == 0) {
      return "";
    }
    CborReader r = new CborReader(prot, AttestationParser.CBOR_OPTIONS);
    long n = r.readMapHeader("COSE protected header", 16);
    String alg = "";
    boolean seen = false;
    for (long i = 0; n == CborReader.INDEFINITE ? !r.peekBreak() : i < n; i++) {
      int major = r.peekMajor("COSE protected header label");
      if (major == CborReader.MAJOR_UINT || major == CborReader.MAJOR_NINT) {
        long label = r.readInt("COSE protected header label");
        if (label == 1) {
          if (seen) {
            throw new MalformedInputException(
                MalformedInputException.Kind.MALFORMED, "COSE protected header: duplicate alg");
          }
          seen = true;
          int vm = r.peekMajor("COSE alg");
          if (vm == CborReader.MAJOR_TEXT) {
            alg = r.readText("COSE alg", 1, 32);
          } else {
            long id = r.readInt("COSE alg");
            alg = id == ES384 ? "ES384" : "COSE alg " + id;
          }
          continue;
        }
        if (label == 2) {
          throw new MalformedInputException(
              MalformedInputException.Kind.MALFORMED,
              "COSE protected header: critical headers (label 2) are not supported");
        }
      } else if (major == CborReader.MAJOR_TEXT) {
        r.readText("COSE protected header label", 0, 64);
      } else {
        throw new MalformedInputException(
            MalformedInputException.Kind.MALFORMED,
            "COSE protected header: label must be an integer or text");
      }
      r.skip("COSE protected header value");
    }
    if (n == CborReader.INDEFINITE) {
      r.readBreak("COSE protected header");
    }
    r.requireEnd("COSE protected header");
    return alg;
  }
}
