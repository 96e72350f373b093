package dev.keycast.protocol.receipt;

import java.time.Instant;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Objects;

/**
 * A statement, signed by the enclave's Ed25519 key, of what one send or forward did: which
 * recipients got which envelope and which were skipped, and why (wire-format.md section 5).
 *
 * <p>Values are validated on construction, so every {@code Receipt} is encodable:
 *
 * <ul>
 *   <li>{@code version} is {@link #VERSION};
 *   <li>{@code keySetId} is {@code ks-} + 32 lowercase hex;
 *   <li>{@code sendId} and delivery ids are 1..128 characters of {@code [A-Za-z0-9._:-]};
 *   <li>{@code issuedAt} is at or after the epoch and is truncated to milliseconds;
 *   <li>digests are 32 bytes; fingerprints are 64 lowercase hex (the {@code Fingerprints} syntax);
 *   <li>at most {@link #MAX_ENTRIES} deliveries and skipped entries together.
 * </ul>
 */
public record Receipt(
    int version,
    String keySetId,
    String sendId,
    Kind kind,
    Instant issuedAt,
    byte[] policySha256,
    byte[] payloadSha256,
    List<Delivery> deliveries,
    List<Skipped> skipped,
    Sender sender) {

  /** Receipt version without a sender. */
  public static final int VERSION = 1;

  /** Receipt version 2: a send's receipt names its signed sender (issue 23, wire-format.md 5.1). */
  public static final int VERSION_WITH_SENDER = 2;

  /**
   * Receipt version 3 (issue 28, wire-format.md 5.6): the signature covers the Merkle tree hashes
   * of the deliveries and of the skipped entries, which travel beside it in a receipt bundle; with
   * or without a sender. The enclave issues it for more than {@link
   * ReceiptBuilder#DEFAULT_ROOTED_ABOVE} entries, so that it never holds a large receipt.
   */
  public static final int VERSION_ROOTED = 3;

  /**
   * Who signed the send (version 2): the sender's raw Ed25519 key as 64 lowercase hex, and the
   * timestamp it signed (whole seconds).
   */
  public record Sender(String key, Instant signedAt) {
    public Sender {
      checkFingerprint(key); // the same syntax: 32 bytes, lowercase hex
      Objects.requireNonNull(signedAt, "signedAt");
      if (signedAt.getNano() != 0 || signedAt.getEpochSecond() < 0) {
        throw new IllegalArgumentException("signedAt must be whole seconds after 1970");
      }
    }
  }

  /** Largest number of deliveries plus skipped entries in one receipt. */
  public static final int MAX_ENTRIES = 1_000_000;

  // Syntax checks are hand-written loops, not regexes: a receipt may hold a million entries.
  static final Syntax KEY_SET_ID =
      s ->
          s.length() == 35
              && s.startsWith("ks-")
              && all(s, 3, c -> (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'));
  static final Syntax ID =
      s ->
          s.length() >= 1
              && s.length() <= 128
              && all(
                  s,
                  0,
                  c ->
                      (c >= 'A' && c <= 'Z')
                          || (c >= 'a' && c <= 'z')
                          || (c >= '0' && c <= '9')
                          || c == '.'
                          || c == '_'
                          || c == ':'
                          || c == '-');
  static final Syntax FORMAT_ID =
      s ->
          s.length() >= 1
              && s.length() <= 64
              && lowerAlnum(s.charAt(0))
              && all(s, 1, c -> lowerAlnum(c) || c == '.' || c == '_' || c == '/' || c == '-');
  static final Syntax REASON =
      s -> s.length() >= 1 && s.length() <= 64 && all(s, 0, c -> lowerAlnum(c) || c == '_');
  private static final Syntax FINGERPRINT =
      s -> s.length() == 64 && all(s, 0, c -> (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'));

  interface Syntax {
    boolean matches(String s);
  }

  private interface CharTest {
    boolean test(char c);
  }

  private static boolean all(String s, int from, CharTest t) {
    for (int i = from; i < s.length(); i++) {
      if (!t.test(s.charAt(i))) {
        return false;
      }
    }
    return true;
  }

  private static boolean lowerAlnum(char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
  }

  /** Longest skipped-entry message, in characters. */
  public static final int MAX_MESSAGE = 256;

  /** What produced the receipt. */
  public enum Kind {
    /** A sender's send request. */
    SEND("send"),
    /** A forward of a sealed secret to late recipients. */
    FORWARD("forward");

    private final String wire;

    Kind(String wire) {
      this.wire = wire;
    }

    /** The CBOR text value. */
    public String wire() {
      return wire;
    }

    static Kind fromWire(String s) {
      for (Kind k : values()) {
        if (k.wire.equals(s)) {
          return k;
        }
      }
      return null;
    }
  }

  /** One envelope produced for one recipient. */
  public record Delivery(
      String recipientFingerprint, String formatId, String deliveryId, byte[] envelopeSha256) {
    public Delivery {
      checkFingerprint(recipientFingerprint);
      check(formatId, FORMAT_ID, "formatId");
      check(deliveryId, ID, "deliveryId");
      envelopeSha256 = digest(envelopeSha256, "envelopeSha256");
    }

    @Override
    public byte[] envelopeSha256() {
      return envelopeSha256.clone();
    }

    byte[] envelopeSha256Unsafe() {
      return envelopeSha256;
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof Delivery d
          && recipientFingerprint.equals(d.recipientFingerprint)
          && formatId.equals(d.formatId)
          && deliveryId.equals(d.deliveryId)
          && Arrays.equals(envelopeSha256, d.envelopeSha256);
    }

    @Override
    public int hashCode() {
      return Objects.hash(
          recipientFingerprint, formatId, deliveryId, Arrays.hashCode(envelopeSha256));
    }

    @Override
    public String toString() {
      return "Delivery["
          + recipientFingerprint
          + ", "
          + formatId
          + ", "
          + deliveryId
          + ", "
          + HexFormat.of().formatHex(envelopeSha256)
          + "]";
    }
  }

  /** A candidate recipient that got nothing, with a stable reason code and a short message. */
  public record Skipped(String recipientFingerprint, String reasonCode, String message) {
    public Skipped {
      checkFingerprint(recipientFingerprint);
      check(reasonCode, REASON, "reasonCode");
      Objects.requireNonNull(message, "message");
      if (message.length() > MAX_MESSAGE || !all(message, 0, c -> !Character.isISOControl(c))) {
        throw new IllegalArgumentException(
            "message must be at most " + MAX_MESSAGE + " characters without control characters");
      }
    }
  }

  /** Validates and copies. */
  public Receipt {
    if (version != VERSION_ROOTED && version != (sender == null ? VERSION : VERSION_WITH_SENDER)) {
      throw new IllegalArgumentException(
          "receipt version must be "
              + VERSION
              + " (without a sender), "
              + VERSION_WITH_SENDER
              + " (with one) or "
              + VERSION_ROOTED
              + ", got "
              + version);
    }
    check(keySetId, KEY_SET_ID, "keySetId");
    check(sendId, ID, "sendId");
    Objects.requireNonNull(kind, "kind");
    Objects.requireNonNull(issuedAt, "issuedAt");
    if (issuedAt.isBefore(Instant.EPOCH)) {
      throw new IllegalArgumentException("issuedAt must not be before the epoch");
    }
    issuedAt = Instant.ofEpochMilli(issuedAt.toEpochMilli());
    policySha256 = digest(policySha256, "policySha256");
    payloadSha256 = digest(payloadSha256, "payloadSha256");
    deliveries = List.copyOf(deliveries);
    skipped = List.copyOf(skipped);
    if ((long) deliveries.size() + skipped.size() > MAX_ENTRIES) {
      throw new IllegalArgumentException("a receipt holds at most " + MAX_ENTRIES + " entries");
    }
  }

  /** A receipt without a sender (version 1). */
  public Receipt(
      int version,
      String keySetId,
      String sendId,
      Kind kind,
      Instant issuedAt,
      byte[] policySha256,
      byte[] payloadSha256,
      List<Delivery> deliveries,
      List<Skipped> skipped) {
    this(
        version,
        keySetId,
        sendId,
        kind,
        issuedAt,
        policySha256,
        payloadSha256,
        deliveries,
        skipped,
        null);
  }

  /** A version-1 receipt. */
  public static Receipt of(
      String keySetId,
      String sendId,
      Kind kind,
      Instant issuedAt,
      byte[] policySha256,
      byte[] payloadSha256,
      List<Delivery> deliveries,
      List<Skipped> skipped) {
    return new Receipt(
        VERSION,
        keySetId,
        sendId,
        kind,
        issuedAt,
        policySha256,
        payloadSha256,
        deliveries,
        skipped);
  }

  @Override
  public byte[] policySha256() {
    return policySha256.clone();
  }

  @Override
  public byte[] payloadSha256() {
    return payloadSha256.clone();
  }

  byte[] policySha256Unsafe() {
    return policySha256;
  }

  byte[] payloadSha256Unsafe() {
    return payloadSha256;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Receipt r
        && version == r.version
        && keySetId.equals(r.keySetId)
        && sendId.equals(r.sendId)
        && kind == r.kind
        && issuedAt.equals(r.issuedAt)
        && Arrays.equals(policySha256, r.policySha256)
        && Arrays.equals(payloadSha256, r.payloadSha256)
        && deliveries.equals(r.deliveries)
        && skipped.equals(r.skipped)
        && Objects.equals(sender, r.sender);
  }

  @Override
  public int hashCode() {
    return Objects.hash(keySetId, sendId, kind, issuedAt, deliveries.size(), skipped.size());
  }

  @Override
  public String toString() {
    return "Receipt[v"
        + version
        + ", keySetId="
        + keySetId
        + ", sendId="
        + sendId
        + ", kind="
        + kind.wire
        + ", issuedAt="
        + issuedAt
        + ", deliveries="
        + deliveries.size()
        + ", skipped="
        + skipped.size()
        + "]";
  }

  private static void check(String value, Syntax p, String name) {
    if (value == null || !p.matches(value)) {
      throw new IllegalArgumentException(
          name
              + " has a bad syntax: "
              + (value == null
                  ? "null"
                  : "\"" + value.substring(0, Math.min(value.length(), 64)) + "\""));
    }
  }

  private static void checkFingerprint(String fp) {
    if (fp == null || !FINGERPRINT.matches(fp)) {
      throw new IllegalArgumentException(
          "recipient fingerprint must be 64 lowercase hex characters");
    }
  }

  private static byte[] digest(byte[] d, String name) {
    if (d == null || d.length != 32) {
      throw new IllegalArgumentException(name + " must be 32 bytes");
    }
    return d.clone();
  }
}
