package dev.keycast.host.store;

import dev.keycast.protocol.Base64Url;
import dev.keycast.protocol.api.EnclaveApi.Candidate;
import dev.keycast.protocol.envelope.RecipientKey;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.security.cert.CertificateEncodingException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * How the host stores a recipient's key ({@link RecipientRecord#publicKeyOrChain}): in the form the
 * enclave consumes, the candidate JSON {@code {"key":"<base64url SPKI DER>"}} or, for certificate
 * holders, {@code {"key":"...","chain":["<base64url certificate DER>",...]}} (leaf first), so a
 * send writes each stored key into its request as it is, after a byte check of its shape
 * ({@link #writeCandidate}). Keys stored before schema version 4 are PEM text (a {@code PUBLIC
 * KEY} block followed by the chain's {@code CERTIFICATE} blocks); the SQLite migration to version
 * 4 rewrites them ({@link #toCandidateForm}); one still met (an S3 store written earlier) is
 * re-spelled on the fly as before.
 */
public final class StoredKey {
  private static final byte[] KEY_OPEN = "{\"key\":\"".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] CHAIN_OPEN = "\",\"chain\":[\"".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] NEXT_CERT = "\",\"".getBytes(StandardCharsets.US_ASCII);
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

  /** The stored form of a key: its candidate JSON. */
  public static byte[] encode(RecipientKey key) throws CertificateEncodingException {
    List<String> chain = new ArrayList<>();
    // both key types keep their chain (an X25519 chain was once dropped here)
    for (X509Certificate c : key.certificateChain()) {
      chain.add(Base64Url.encode(c.getEncoded()));
    }
    return json(Base64Url.encode(key.spkiDer()), chain);
  }

  private static byte[] json(String key, List<String> chain) {
    StringBuilder b = new StringBuilder(key.length() + 16).append("{\"key\":\"").append(key);
    for (int k = 0; k < chain.size(); k++) {
      b.append(k == 0 ? "\",\"chain\":[\"" : "\",\"").append(chain.get(k));
    }
    b.append('"');
    if (!chain.isEmpty()) {
      b.append(']');
    }
    return b.append('}').toString().getBytes(StandardCharsets.US_ASCII);
  }

  /** True for the candidate form (schema 4), false for legacy PEM. */
  static boolean isCandidateForm(byte[] stored) {
    return stored.length > 0 && stored[0] == '{';
  }

  /**
   * The candidate form of a stored key of either form (the migration to schema 4 runs this on
   * every legacy row). Throws IllegalStateException when it has no usable key.
   */
  public static byte[] toCandidateForm(byte[] stored) {
    if (isCandidateForm(stored)) {
      checkShape(stored);
      return stored;
    }
    Candidate c = candidate(stored);
    return json(c.key(), c.chain());
  }

  /** True when the stored key carries a certificate chain (false for one that does not parse). */
  public static boolean hasChain(byte[] stored) {
    if (isCandidateForm(stored)) {
      try {
        return checkShape(stored) > 0;
      } catch (IllegalStateException e) {
        return false;
      }
    }
    return indexOf(stored, BEGIN_CERTIFICATE, 0) >= 0;
  }

  /** The candidate of a stored key. */
  public static Candidate candidate(byte[] stored) {
    if (isCandidateForm(stored)) {
      int certs = checkShape(stored);
      String text = new String(stored, StandardCharsets.US_ASCII);
      int keyEnd = text.indexOf('"', KEY_OPEN.length);
      String key = text.substring(KEY_OPEN.length, keyEnd);
      List<String> chain = new ArrayList<>(certs);
      int at = keyEnd + CHAIN_OPEN.length;
      for (int k = 0; k < certs; k++) {
        int end = text.indexOf('"', at);
        chain.add(text.substring(at, end));
        at = end + NEXT_CERT.length;
      }
      return new Candidate(key, chain);
    }
    Scan scan = new Scan().of(stored);
    List<String> chain = new ArrayList<>(scan.chainCount);
    for (int k = 0; k < scan.chainCount; k++) {
      chain.add(scan.text(scan.chain[2 * k], scan.chain[2 * k + 1]));
    }
    return new Candidate(scan.text(scan.keyFrom, scan.keyTo), chain);
  }

  /**
   * Writes the candidate JSON of a stored key, {@code {"key":"...","chain":["...",...]}}
   * ({@code chain} only when not empty): the candidate form as it is (after {@link #checkShape}:
   * a stored value that is not exactly that shape cannot alter the request around it), a legacy
   * PEM key re-spelled from base64 to base64url without decoding it. {@code scan} is scratch
   * space reused from one call to the next.
   */
  public static void writeCandidate(byte[] stored, Scan scan, OutputStream out) throws IOException {
    if (isCandidateForm(stored)) {
      checkShape(stored);
      out.write(stored);
      return;
    }
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
   * Checks that a stored candidate is exactly {@code {"key":"B"}} or {@code
   * {"key":"B","chain":["B",...]}} with each {@code B} one or more base64url characters; returns
   * the number of certificates. Throws IllegalStateException otherwise.
   */
  static int checkShape(byte[] s) {
    int i = KEY_OPEN.length;
    if (!startsWith(s, 0, KEY_OPEN)) {
      throw new IllegalStateException("stored recipient key is not a candidate");
    }
    i = base64Url(s, i);
    if (startsWith(s, i, QUOTE_CLOSE) && i + QUOTE_CLOSE.length == s.length) {
      return 0;
    }
    if (!startsWith(s, i, CHAIN_OPEN)) {
      throw new IllegalStateException("stored recipient key is not a candidate");
    }
    i += CHAIN_OPEN.length;
    int certs = 0;
    while (true) {
      i = base64Url(s, i);
      certs++;
      if (startsWith(s, i, CHAIN_CLOSE) && i + CHAIN_CLOSE.length == s.length) {
        return certs;
      }
      if (!startsWith(s, i, NEXT_CERT)) {
        throw new IllegalStateException("stored recipient key is not a candidate");
      }
      i += NEXT_CERT.length;
    }
  }

  private static final byte[] QUOTE_CLOSE = "\"}".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] CHAIN_CLOSE = "\"]}".getBytes(StandardCharsets.US_ASCII);

  /** The end of a run of one or more base64url characters from {@code i}. */
  private static int base64Url(byte[] s, int i) {
    int start = i;
    while (i < s.length && isBase64Url(s[i])) {
      i++;
    }
    if (i == start) {
      throw new IllegalStateException("stored recipient key is not a candidate");
    }
    return i;
  }

  private static boolean isBase64Url(byte c) {
    return (c >= 'A' && c <= 'Z')
        || (c >= 'a' && c <= 'z')
        || (c >= '0' && c <= '9')
        || c == '-'
        || c == '_';
  }

  /**
   * The blocks of one stored key, re-spelled from base64 to unpadded base64url into {@link #out}:
   * the {@code PUBLIC KEY} block's body at {@code [keyFrom, keyTo)} (the last one when there are
   * several), the {@code CERTIFICATE} blocks' bodies in order at {@code chain[2k], chain[2k+1]}.
   * A block whose body holds anything but base64 characters and line feeds is ignored. Reusable.
   */
  public static final class Scan {
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
        if (startsWith(stored, type, PUBLIC_KEY)
            && startsWith(stored, type + PUBLIC_KEY.length, END_OF_LINE)) {
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
