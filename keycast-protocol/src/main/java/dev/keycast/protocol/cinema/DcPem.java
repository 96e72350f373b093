package dev.keycast.protocol.cinema;

import dev.keycast.protocol.MalformedInputException;
import dev.keycast.protocol.keyset.KdmSignerKeys;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;

/**
 * PEM (RFC 7468) for the KDM signer's distributor-CA path (wire-format.md section 4.6): a PKCS #10
 * request as {@code CERTIFICATE REQUEST}, a signer chain as {@code CERTIFICATE} blocks, leaf first.
 * Reading caps the text, the number of blocks and each block before decoding it.
 */
public final class DcPem {
  /** Longest PEM text of a signer chain read (16384 DER bytes as base64 with line breaks, and room). */
  public static final int MAX_CHAIN_PEM_BYTES = 32 * 1024;

  private static final String BEGIN = "-----BEGIN CERTIFICATE-----";
  private static final String END = "-----END CERTIFICATE-----";

  /** Longest base64 text of one certificate block (4096 DER bytes, with line breaks). */
  private static final int MAX_BLOCK_CHARS = 4096 / 3 * 4 + 8 + 4096 / 48 * 2;

  private DcPem() {}

  /** {@code der} as one PEM block of type {@code label}, 64 characters a line. */
  public static String encode(String label, byte[] der) {
    Base64.Encoder b64 = Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII));
    return "-----BEGIN "
        + label
        + "-----\n"
        + b64.encodeToString(der)
        + "\n-----END "
        + label
        + "-----\n";
  }

  /** The certificates as PEM {@code CERTIFICATE} blocks, in order. */
  public static String certificates(List<byte[]> der) {
    StringBuilder out = new StringBuilder();
    for (byte[] c : der) {
      out.append(encode("CERTIFICATE", c));
    }
    return out.toString();
  }

  /**
   * The DER of each {@code CERTIFICATE} block of {@code pem}, in order (text outside the blocks,
   * such as openssl's "subject=" lines, is ignored). At most {@link KdmSignerKeys#MAX_CERTIFICATES}
   * blocks of at most {@link KdmSignerKeys#MAX_CERTIFICATE_BYTES} bytes each.
   *
   * @throws MalformedInputException no block, too many, an unterminated or oversized block, or
   *     base64 that does not decode
   */
  public static List<byte[]> parseCertificates(byte[] pem) throws MalformedInputException {
    if (pem == null || pem.length == 0 || pem.length > MAX_CHAIN_PEM_BYTES) {
      throw new MalformedInputException(
          MalformedInputException.Kind.MALFORMED_REQUEST,
          "expected 1 to " + MAX_CHAIN_PEM_BYTES + " bytes of PEM certificates (leaf first)");
    }
    String text = new String(pem, StandardCharsets.US_ASCII);
    List<byte[]> out = new ArrayList<>();
    int at = 0;
    while (true) {
      int begin = text.indexOf(BEGIN, at);
      if (begin < 0) {
        break;
      }
      if (out.size() == KdmSignerKeys.MAX_CERTIFICATES) {
        throw new MalformedInputException(
            MalformedInputException.Kind.MALFORMED_REQUEST,
            "more than " + KdmSignerKeys.MAX_CERTIFICATES + " certificates");
      }
      // The END line is looked for after the BEGIN line: "-----BEGIN CERTIFICATE-----END
      // CERTIFICATE-----"
      // holds an END that overlaps the BEGIN (fuzzing.md Z8).
      int end = text.indexOf(END, begin + BEGIN.length());
      if (end < 0) {
        throw new MalformedInputException(
            MalformedInputException.Kind.MALFORMED_REQUEST,
            "certificate " + out.size() + " has no END CERTIFICATE line");
      }
      String body = text.substring(begin + BEGIN.length(), end);
      if (body.length() > MAX_BLOCK_CHARS) {
        throw new MalformedInputException(
            MalformedInputException.Kind.MALFORMED_REQUEST,
            "certificate "
                + out.size()
                + " is longer than "
                + KdmSignerKeys.MAX_CERTIFICATE_BYTES
                + " bytes");
      }
      byte[] der;
      try {
        der = Base64.getMimeDecoder().decode(body.strip());
      } catch (IllegalArgumentException e) {
        throw new MalformedInputException(
            MalformedInputException.Kind.MALFORMED_REQUEST,
            "certificate " + out.size() + " is not base64");
      }
      // The character cap leaves room for line breaks: a block without them decodes to up to
      // 4,227 bytes, so the byte cap is checked on the DER as well (fuzzing.md Z6).
      if (der.length > KdmSignerKeys.MAX_CERTIFICATE_BYTES) {
        throw new MalformedInputException(
            MalformedInputException.Kind.MALFORMED_REQUEST,
            "certificate "
                + out.size()
                + " is longer than "
                + KdmSignerKeys.MAX_CERTIFICATE_BYTES
                + " bytes");
      }
      out.add(der);
      at = end + END.length();
    }
    if (out.isEmpty()) {
      throw new MalformedInputException(
          MalformedInputException.Kind.MALFORMED_REQUEST, "no -----BEGIN CERTIFICATE----- block");
    }
    return out;
  }
}
