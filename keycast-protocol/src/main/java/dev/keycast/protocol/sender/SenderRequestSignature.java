package dev.keycast.protocol.sender;

import dev.keycast.protocol.Base64Url;
import dev.keycast.protocol.MalformedInputException;
import dev.keycast.protocol.api.ErrorCode;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.Collection;
import java.util.Objects;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A host request signed by a sender (wire-format.md section 8.7, api.md section 2.4): the screen
 * and KDM routes of the host admit only requests signed by an Ed25519 key of the sender set in
 * force. The request carries
 *
 * <pre>
 *   Authorization: Keycast-Sender key=&lt;base64url raw public key, 43&gt;, ts=&lt;unix seconds&gt;, sig=&lt;base64url signature, 86&gt;
 * </pre>
 *
 * and the signature is Ed25519 (RFC 8032, pure) over
 *
 * <pre>
 *   "keycast/v1/sender-request" || 0x00 || u32 len(method) || method (ASCII, upper case)
 *   || u32 len(target) || target (the request-target as sent: path and query, UTF-8)
 *   || SHA-256(body) (32 bytes; the empty body's digest when there is none) || u64 ts
 * </pre>
 *
 * with integers big-endian. A verifier MUST refuse a timestamp more than {@link #WINDOW_SECONDS}
 * from its clock. Within the window a captured request can be replayed as it is (same method,
 * target and body): the routes it guards are idempotent (register the same screen again, fetch
 * the same KDMs again).
 */
public final class SenderRequestSignature {
  /** The Authorization scheme. */
  public static final String SCHEME = "Keycast-Sender";

  /** Most seconds a request's timestamp may be from the verifier's clock, either way. */
  public static final long WINDOW_SECONDS = 300;

  /** Longest Authorization value considered. */
  public static final int MAX_HEADER = 256;

  static final byte[] LABEL = "keycast/v1/sender-request".getBytes(StandardCharsets.US_ASCII);
  private static final Pattern HEADER =
      Pattern.compile(
          "Keycast-Sender key=([A-Za-z0-9_-]{43}), ts=([0-9]{1,18}), sig=([A-Za-z0-9_-]{86})");

  private SenderRequestSignature() {}

  /** Why a request is refused: an {@link ErrorCode} (401 or 403) and a message without secrets. */
  public static final class Refused extends Exception {
    private final ErrorCode code;

    Refused(ErrorCode code, String message) {
      super(message, null, false, false);
      this.code = code;
    }

    public ErrorCode code() {
      return code;
    }
  }

  /** The bytes a sender signs for one request. */
  public static byte[] message(String method, String target, byte[] body, long timestamp) {
    byte[] m = method.getBytes(StandardCharsets.US_ASCII);
    byte[] t = target.getBytes(StandardCharsets.UTF_8);
    return ByteBuffer.allocate(LABEL.length + 1 + 4 + m.length + 4 + t.length + 32 + 8)
        .put(LABEL)
        .put((byte) 0)
        .putInt(m.length)
        .put(m)
        .putInt(t.length)
        .put(t)
        .put(sha256(body == null ? new byte[0] : body))
        .putLong(timestamp)
        .array();
  }

  /** The Authorization value of {@code key}'s signature of the request at {@code now}. */
  public static String authorization(
      SenderSigningKey key, String method, String target, byte[] body, Instant now) {
    long ts = now.getEpochSecond();
    byte[] sig = key.sign(message(method, target, body, ts));
    return SCHEME
        + " key="
        + Base64Url.encode(key.publicKey().raw())
        + ", ts="
        + ts
        + ", sig="
        + Base64Url.encode(sig);
  }

  /**
   * Checks a request's Authorization value at {@code now} against the senders allowed; returns the
   * signing sender. Every allowed key is compared (in constant time per key, no early exit).
   *
   * @throws Refused {@code sender_required} (no such header), {@code sender_signature_invalid}
   *     (malformed header, or a signature that does not verify over this request),
   *     {@code sender_timestamp_out_of_window}, {@code sender_unknown} (a valid signature by a key
   *     not in {@code allowed})
   */
  public static SenderKey verify(
      String authorization,
      String method,
      String target,
      byte[] body,
      Instant now,
      Collection<SenderKey> allowed)
      throws Refused {
    Objects.requireNonNull(allowed, "allowed");
    if (authorization == null || !authorization.startsWith(SCHEME + " ")) {
      throw new Refused(
          ErrorCode.SENDER_REQUIRED,
          "this route needs a request signed by a sender: "
              + "Authorization: "
              + SCHEME
              + " key=..., ts=..., sig=... (api.md section 2.4)");
    }
    Matcher m = authorization.length() > MAX_HEADER ? null : HEADER.matcher(authorization);
    if (m == null || !m.matches()) {
      throw new Refused(
          ErrorCode.SENDER_SIGNATURE_INVALID,
          "the "
              + SCHEME
              + " authorization is malformed: expected key=<43 base64url>, ts=<unix seconds>, sig=<86 base64url>");
    }
    SenderKey key;
    byte[] sig;
    try {
      key = SenderKey.of("key", Base64Url.decode("key", m.group(1), SenderKey.LENGTH));
      sig = Base64Url.decode("sig", m.group(3), 64);
    } catch (MalformedInputException e) {
      throw new Refused(
          ErrorCode.SENDER_SIGNATURE_INVALID,
          "the " + SCHEME + " authorization is malformed: " + e.getMessage());
    }
    long ts = Long.parseLong(m.group(2));
    if (Math.abs(now.getEpochSecond() - ts) > WINDOW_SECONDS) {
      throw new Refused(
          ErrorCode.SENDER_TIMESTAMP_OUT_OF_WINDOW,
          "the request was signed at "
              + ts
              + ", more than "
              + WINDOW_SECONDS
              + " s from the host's clock ("
              + now.getEpochSecond()
              + "): sign it again (and check the clock)");
    }
    if (!key.verifies(message(method, target, body, ts), sig)) {
      throw new Refused(
          ErrorCode.SENDER_SIGNATURE_INVALID,
          "the sender signature does not verify over this request's method, target, body and time");
    }
    boolean known = false;
    for (SenderKey k : allowed) {
      known |= k.equals(key);
    }
    if (!known) {
      throw new Refused(
          ErrorCode.SENDER_UNKNOWN,
          "sender " + key.fingerprint() + " is not in the enclave's sender set");
    }
    return key;
  }

  private static byte[] sha256(byte[] b) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(b);
    } catch (NoSuchAlgorithmException e) {
      throw new AssertionError("SHA-256 is required by the Java platform", e);
    }
  }
}
