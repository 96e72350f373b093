package dev.keycast.host.server;

import dev.keycast.protocol.api.EnclaveApi.Candidate;
import dev.keycast.protocol.api.ErrorCode;
import dev.keycast.protocol.envelope.RecipientKey;
import java.nio.charset.StandardCharsets;
import java.security.cert.CertificateEncodingException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;

/**
 * How the host stores a recipient's key: PEM text, a {@code PUBLIC KEY} block (SPKI DER)
 * followed, for certificate holders, by the chain's {@code CERTIFICATE} blocks, leaf first.
 */
final class StoredKey {
  private static final byte[] BEGIN = "-----BEGIN ".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] END_OF_LINE = "-----\n".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] END_PUBLIC_KEY =
      "-----END PUBLIC KEY-----".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] END_CERTIFICATE =
      "-----END CERTIFICATE-----".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] BEGIN_CERTIFICATE =
      "-----BEGIN CERTIFICATE-----".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] PUBLIC_KEY = "PUBLIC KEY".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] CERTIFICATE = "CERTIFICATE".getBytes(StandardCharsets.US_ASCII);

  /** Standard base64 alphabet to base64url; 0 for anything else. */
  private static final byte[] URL_SAFE = new byte[256];

  static {
    String std = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    String url = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    for (int i = 0; i < std.length(); i++) {
      URL_SAFE[std.charAt(i)] = (byte) url.charAt(i);
    }
  }

  private StoredKey() {}

  static byte[] encode(RecipientKey key) throws ApiException {
    StringBuilder b = new StringBuilder();
    pem(b, "PUBLIC KEY", key.spkiDer());
    // both key types keep their chain (an X25519 chain was once dropped here)
    for (X509Certificate c : key.certificateChain()) {
      try {
        pem(b, "CERTIFICATE", c.getEncoded());
      } catch (CertificateEncodingException e) {
        throw new ApiException(ErrorCode.INVALID_RECIPIENT, "recipient 0: certificate does not encode");
      }
    }
    return b.toString().getBytes(StandardCharsets.US_ASCII);
  }

  private static void pem(StringBuilder b, String type, byte[] der) {
    b.append("-----BEGIN ").append(type).append("-----\n")
        .append(Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(der))
        .append("\n-----END ").append(type).append("-----\n");
  }

  static boolean hasChain(byte[] stored) {
    return indexOf(stored, BEGIN_CERTIFICATE, 0) >= 0;
  }

  /**
   * The candidate of a stored key: its {@code PUBLIC KEY} and {@code CERTIFICATE} blocks, each
   * body re-spelled from base64 to unpadded base64url without decoding it (a send attaches
   * every registered recipient, so this runs 10,000 times per big send; a regex and a decode and
   * encode per block were most of the host's time). A block whose body holds anything but base64
   * characters and line feeds is ignored, as before.
   */
  static Candidate candidate(byte[] stored) {
    Scan scan = new Scan().of(stored);
    List<String> chain = new ArrayList<>(scan.chainCount);
    for (int k = 0; k < scan.chainCount; k++) {
      chain.add(scan.text(scan.chain[2 * k], scan.chain[2 * k + 1]));
    }
    return new Candidate(scan.text(scan.keyFrom, scan.keyTo), chain);
  }

  private static final byte[] KEY_OPEN = "{\"key\":\"".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] CHAIN_OPEN = "\",\"chain\":[\"".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] NEXT_CERT = "\",\"".getBytes(StandardCharsets.US_ASCII);

  /**
   * Writes the candidate of a stored key as the JSON object {@link #candidate} would encode to,
   * {@code {"key":"...","chain":["...",...]}} ({@code chain} only when not empty), straight from
   * the stored bytes: base64url needs no JSON escaping, so no String is made. {@code scan} is
   * scratch space reused from one call to the next.
   */
  static void writeCandidate(byte[] stored, Scan scan, java.io.OutputStream out)
      throws java.io.IOException {
    scan.of(stored);
    out.write(KEY_OPEN);
    out.write(scan.out, scan.keyFrom, scan.keyTo - scan.keyFrom);
    for (int k = 0; k < scan.chainCount; k++) {
      out.write(k == 0 ? CHAIN_OPEN : NEXT_CERT);
      out.write(scan.out, scan.chain[2 * k], scan.chain[2 * k + 1] - scan.chain[2 * k]);
    }
    out.write('"');
    if (scan.chainCount > 0) {
      out.write(']');
    }
    out.write('}');
  }

  /**
   * The blocks of one stored key, re-spelled from base64 to unpadded base64url into {@link #out}:
   * the {@code PUBLIC KEY} block's body at {@code [keyFrom, keyTo)} (the last one when there are
   * several), the {@code CERTIFICATE} blocks' bodies in order at {@code chain[2k], chain[2k+1]}.
   * A block whose body holds anything but base64 characters and line feeds is ignored. Reusable.
   */
  static final class Scan {
    byte[] out = new byte[0];
    int keyFrom;
    int keyTo;
    int[] chain = new int[8];
    int chainCount;
    private int used;

    /** Scans {@code stored}; throws IllegalStateException when it has no PUBLIC KEY block. */
    Scan of(byte[] stored) {
      if (out.length < stored.length) {
        out = new byte[Math.max(stored.length, 2 * out.length)];
      }
      used = 0;
      keyFrom = -1;
      keyTo = -1;
      chainCount = 0;
      int i = 0;
      while ((i = indexOf(stored, BEGIN, i)) >= 0) {
        int type = i + BEGIN.length;
        byte[] end;
        if (startsWith(stored, type, PUBLIC_KEY) && startsWith(stored, type + PUBLIC_KEY.length, END_OF_LINE)) {
          end = END_PUBLIC_KEY;
          i = type + PUBLIC_KEY.length + END_OF_LINE.length;
        } else if (startsWith(stored, type, CERTIFICATE)
            && startsWith(stored, type + CERTIFICATE.length, END_OF_LINE)) {
          end = END_CERTIFICATE;
          i = type + CERTIFICATE.length + END_OF_LINE.length;
        } else {
          i = type;
          continue;
        }
        int stop = indexOf(stored, end, i);
        if (stop < 0) {
          break;
        }
        int from = used;
        if (!base64UrlOf(stored, i, stop)) {
          used = from;
          continue; // not a base64 body: look for the next BEGIN after this one
        }
        if (end == END_PUBLIC_KEY) {
          keyFrom = from;
          keyTo = used;
        } else {
          if (2 * chainCount + 2 > chain.length) {
            chain = Arrays.copyOf(chain, 2 * chain.length);
          }
          chain[2 * chainCount] = from;
          chain[2 * chainCount + 1] = used;
          chainCount++;
        }
        i = stop + end.length;
      }
      if (keyFrom < 0) {
        throw new IllegalStateException("stored recipient key has no PUBLIC KEY block");
      }
      return this;
    }

    String text(int from, int to) {
      return new String(out, from, to - from, StandardCharsets.ISO_8859_1);
    }

    /**
     * Appends standard base64 with line feeds in [from, to) as unpadded base64url; false if it is
     * not base64.
     */
    private boolean base64UrlOf(byte[] b, int from, int to) {
      int start = used;
      int n = used;
      boolean padding = false;
      byte[] o = out;
      for (int i = from; i < to; i++) {
        byte c = b[i];
        byte m = URL_SAFE[c & 0xff];
        if (m > 0 && !padding) {
          o[n++] = m;
        } else if (c == '=') {
          padding = true;
        } else if (c != '\n') {
          return false; // a foreign character, or data after padding
        }
      }
      if ((n - start) % 4 == 1) {
        throw new IllegalStateException("stored recipient key holds a truncated base64 block");
      }
      used = n;
      return true;
    }
  }

  private static boolean startsWith(byte[] b, int at, byte[] prefix) {
    return at + prefix.length <= b.length
        && Arrays.equals(b, at, at + prefix.length, prefix, 0, prefix.length);
  }

  private static int indexOf(byte[] b, byte[] what, int from) {
    byte first = what[0];
    for (int i = from, last = b.length - what.length; i <= last; i++) {
      if (b[i] == first && Arrays.equals(b, i, i + what.length, what, 0, what.length)) {
        return i;
      }
    }
    return -1;
  }
}
