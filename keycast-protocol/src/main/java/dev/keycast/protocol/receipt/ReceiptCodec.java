package dev.keycast.protocol.receipt;

import dev.keycast.protocol.MalformedInputException;
import dev.keycast.protocol.cbor.CborReader;
import dev.keycast.protocol.cbor.CborWriter;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/** Deterministic CBOR encoding of a {@link Receipt} payload (wire-format.md section 5.1). */
final class ReceiptCodec {
  // Map keys in RFC 8949 section 4.2.1 order (shorter encoded key first, then bytewise).
  static final String K_VERSION = "v";
  static final String K_KEY_SET = "ks";
  static final String K_DELIVERIES = "dlv";
  static final String K_ISSUED_AT = "iat";
  static final String K_PAYLOAD = "pay";
  static final String K_POLICY = "pol";
  static final String K_SKIPPED = "skp";
  static final String K_SENDER = "snd";
  static final String K_SIGNED_AT = "sts";
  static final String K_KIND = "kind";
  static final String K_SEND = "send";
  static final int MAP_SIZE = 9;
  static final int MAP_SIZE_WITH_SENDER = 11;

  private static final int MIN_DELIVERY_BYTES = 1 + 34 + 2 + 2 + 34;
  private static final int MIN_SKIPPED_BYTES = 1 + 34 + 2 + 1;

  private ReceiptCodec() {}

  /** Writes the canonical payload straight from the record, without an intermediate tree. */
  static void encode(Receipt r, CborWriter w) {
    CborWriter dlv = new CborWriter(r.deliveries().size() * 128 + 16);
    for (Receipt.Delivery d : r.deliveries()) {
      writeDelivery(dlv, d);
    }
    CborWriter skp = new CborWriter(r.skipped().size() * 96 + 16);
    for (Receipt.Skipped s : r.skipped()) {
      writeSkipped(skp, s);
    }
    assemble(
        w,
        r.keySetId(),
        r.sendId(),
        r.kind(),
        r.issuedAt().toEpochMilli(),
        r.policySha256Unsafe(),
        r.payloadSha256Unsafe(),
        r.deliveries().size(),
        dlv,
        r.skipped().size(),
        skp,
        r.sender());
  }

  static void writeDelivery(CborWriter w, Receipt.Delivery d) {
    w.head(CborReader.MAJOR_ARRAY, 4);
    w.hexBytes(d.recipientFingerprint())
        .text(d.formatId())
        .text(d.deliveryId())
        .bytes(d.envelopeSha256Unsafe());
  }

  static void writeSkipped(CborWriter w, Receipt.Skipped s) {
    w.head(CborReader.MAJOR_ARRAY, 3);
    w.hexBytes(s.recipientFingerprint()).text(s.reasonCode()).text(s.message());
  }

  /** Writes the payload map around already-encoded delivery and skipped entries. */
  static void assemble(
      CborWriter w,
      String keySetId,
      String sendId,
      Receipt.Kind kind,
      long issuedAtMillis,
      byte[] policySha256,
      byte[] payloadSha256,
      int deliveryCount,
      CborWriter deliveries,
      int skippedCount,
      CborWriter skipped,
      Receipt.Sender sender) {
    w.head(CborReader.MAJOR_MAP, sender == null ? MAP_SIZE : MAP_SIZE_WITH_SENDER);
    w.text(K_VERSION).uint(sender == null ? Receipt.VERSION : Receipt.VERSION_WITH_SENDER);
    w.text(K_KEY_SET).text(keySetId);
    w.text(K_DELIVERIES)
        .head(CborReader.MAJOR_ARRAY, deliveryCount)
        .raw(deliveries.array(), 0, deliveries.length());
    w.text(K_ISSUED_AT).uint(issuedAtMillis);
    w.text(K_PAYLOAD).bytes(payloadSha256);
    w.text(K_POLICY).bytes(policySha256);
    w.text(K_SKIPPED)
        .head(CborReader.MAJOR_ARRAY, skippedCount)
        .raw(skipped.array(), 0, skipped.length());
    if (sender != null) {
      w.text(K_SENDER).hexBytes(sender.key());
      w.text(K_SIGNED_AT).uint(sender.signedAt().getEpochSecond());
    }
    w.text(K_KIND).text(kind.wire());
    w.text(K_SEND).text(sendId);
  }

  /** Decodes a payload, rejecting every non-canonical or unknown form. */
  static Receipt decode(byte[] in, int start, int end) throws MalformedInputException {
    CborReader r = new CborReader(in, start, end - start, CborReader.Options.CANONICAL);
    long mapSize = r.readHead(CborReader.MAJOR_MAP, "receipt");
    r.readKey(K_VERSION, 16);
    long version = r.readHead(CborReader.MAJOR_UINT, "version");
    if (version == Receipt.VERSION_ROOTED) {
      throw new MalformedInputException(
          MalformedInputException.Kind.MALFORMED,
          "a version 3 receipt is verified with its entries, as a receipt bundle (wire-format.md"
              + " 5.6)");
    }
    if (version != Receipt.VERSION && version != Receipt.VERSION_WITH_SENDER) {
      throw new MalformedInputException(
          MalformedInputException.Kind.UNSUPPORTED_VERSION,
          "receipt version "
              + version
              + " is not supported (expected "
              + Receipt.VERSION
              + " or "
              + Receipt.VERSION_WITH_SENDER
              + ")");
    }
    boolean withSender = version == Receipt.VERSION_WITH_SENDER;
    long expectedSize = withSender ? MAP_SIZE_WITH_SENDER : MAP_SIZE;
    if (mapSize != expectedSize) {
      throw new MalformedInputException(
          MalformedInputException.Kind.MALFORMED,
          "receipt map has " + mapSize + " entries, expected " + expectedSize);
    }
    r.readKey(K_KEY_SET, 16);
    String keySetId = r.readText("key-set id", 0, 64);
    r.readKey(K_DELIVERIES, 16);
    long nd = r.readHead(CborReader.MAJOR_ARRAY, "deliveries");
    if (nd > Receipt.MAX_ENTRIES) {
      throw new MalformedInputException(
          MalformedInputException.Kind.OVERSIZE,
          "receipt has " + nd + " deliveries, limit " + Receipt.MAX_ENTRIES);
    }
    List<Receipt.Delivery> deliveries =
        new ArrayList<>((int) Math.min(nd, (end - r.position()) / MIN_DELIVERY_BYTES + 1));
    for (long i = 0; i < nd; i++) {
      deliveries.add(readDelivery(r, i));
    }
    r.readKey(K_ISSUED_AT, 16);
    long iat = r.readHead(CborReader.MAJOR_UINT, "issued at");
    r.readKey(K_PAYLOAD, 16);
    byte[] pay = r.readBytesExact("payload digest", 32);
    r.readKey(K_POLICY, 16);
    byte[] pol = r.readBytesExact("policy digest", 32);
    r.readKey(K_SKIPPED, 16);
    long ns = r.readHead(CborReader.MAJOR_ARRAY, "skipped");
    if (nd + ns > Receipt.MAX_ENTRIES) {
      throw new MalformedInputException(
          MalformedInputException.Kind.OVERSIZE,
          "receipt has " + (nd + ns) + " entries, limit " + Receipt.MAX_ENTRIES);
    }
    List<Receipt.Skipped> skipped =
        new ArrayList<>((int) Math.min(ns, (end - r.position()) / MIN_SKIPPED_BYTES + 1));
    for (long i = 0; i < ns; i++) {
      skipped.add(readSkipped(r, i));
    }
    Receipt.Sender sender = null;
    if (withSender) {
      sender = readSender(r);
    }
    Receipt.Sender signedBy = sender;
    Receipt.Kind kind = readKind(r);
    String sendId = readLastSendId(r);
    return valid(
        () ->
            new Receipt(
                signedBy == null ? Receipt.VERSION : Receipt.VERSION_WITH_SENDER,
                keySetId,
                sendId,
                kind,
                Instant.ofEpochMilli(iat),
                pol,
                pay,
                deliveries,
                skipped,
                signedBy));
  }

  /** The {@code snd} and {@code sts} entries (versions 2 and 3 with a sender). */
  private static Receipt.Sender readSender(CborReader r) throws MalformedInputException {
    r.readKey(K_SENDER, 16);
    String key = hex32(r, "sender key");
    r.readKey(K_SIGNED_AT, 16);
    long sts = r.readHead(CborReader.MAJOR_UINT, "signed at");
    if (sts < 0 || sts > 253402300799L) {
      throw new MalformedInputException(
          MalformedInputException.Kind.MALFORMED, "signed at is out of range");
    }
    return valid(() -> new Receipt.Sender(key, Instant.ofEpochSecond(sts)));
  }

  /** The {@code kind} entry. */
  private static Receipt.Kind readKind(CborReader r) throws MalformedInputException {
    r.readKey(K_KIND, 16);
    String kindText = r.readText("kind", 0, 16);
    Receipt.Kind kind = Receipt.Kind.fromWire(kindText);
    if (kind == null) {
      throw new MalformedInputException(
          MalformedInputException.Kind.MALFORMED, "unknown receipt kind \"" + kindText + "\"");
    }
    return kind;
  }

  /** The {@code send} entry, the map's last: nothing may follow it. */
  private static String readLastSendId(CborReader r) throws MalformedInputException {
    r.readKey(K_SEND, 16);
    String sendId = r.readText("send id", 0, 128);
    if (!r.atEnd()) {
      throw new MalformedInputException(
          MalformedInputException.Kind.MALFORMED,
          "trailing bytes after receipt at offset " + r.position());
    }
    return sendId;
  }

  /** One delivery entry, {@code [recipient, format, id, envelope]}. */
  static Receipt.Delivery readDelivery(CborReader r, long i) throws MalformedInputException {
    if (r.readHead(CborReader.MAJOR_ARRAY, "delivery") != 4) {
      throw new MalformedInputException(
          MalformedInputException.Kind.MALFORMED, "delivery " + i + " must be an array of 4");
    }
    String fp = hex32(r, "recipient fingerprint");
    String format = r.readText("format id", 0, 64);
    String id = r.readText("delivery id", 0, 128);
    byte[] env = r.readBytesExact("envelope digest", 32);
    return valid(() -> new Receipt.Delivery(fp, format, id, env));
  }

  /** One skipped entry, {@code [recipient, reason, message]}. */
  static Receipt.Skipped readSkipped(CborReader r, long i) throws MalformedInputException {
    if (r.readHead(CborReader.MAJOR_ARRAY, "skipped entry") != 3) {
      throw new MalformedInputException(
          MalformedInputException.Kind.MALFORMED, "skipped entry " + i + " must be an array of 3");
    }
    String fp = hex32(r, "recipient fingerprint");
    String reason = r.readText("reason code", 0, 64);
    String message = r.readText("message", 0, 1024);
    return valid(() -> new Receipt.Skipped(fp, reason, message));
  }

  /**
   * The signed part of a version 3 receipt: every field of the receipt, with the number of
   * deliveries and skipped entries and the Merkle tree hash of each list instead of the lists.
   */
  record RootedHead(
      String keySetId,
      String sendId,
      Receipt.Kind kind,
      long issuedAtMillis,
      byte[] policySha256,
      byte[] payloadSha256,
      long deliveryCount,
      byte[] deliveriesRoot,
      long skippedCount,
      byte[] skippedRoot,
      Receipt.Sender sender) {}

  /** Writes a version 3 payload (wire-format.md 5.6). */
  static void assembleRooted(CborWriter w, RootedHead h) {
    w.head(CborReader.MAJOR_MAP, h.sender() == null ? MAP_SIZE : MAP_SIZE_WITH_SENDER);
    w.text(K_VERSION).uint(Receipt.VERSION_ROOTED);
    w.text(K_KEY_SET).text(h.keySetId());
    w.text(K_DELIVERIES)
        .head(CborReader.MAJOR_ARRAY, 2)
        .uint(h.deliveryCount())
        .bytes(h.deliveriesRoot());
    w.text(K_ISSUED_AT).uint(h.issuedAtMillis());
    w.text(K_PAYLOAD).bytes(h.payloadSha256());
    w.text(K_POLICY).bytes(h.policySha256());
    w.text(K_SKIPPED).head(CborReader.MAJOR_ARRAY, 2).uint(h.skippedCount()).bytes(h.skippedRoot());
    if (h.sender() != null) {
      w.text(K_SENDER).hexBytes(h.sender().key());
      w.text(K_SIGNED_AT).uint(h.sender().signedAt().getEpochSecond());
    }
    w.text(K_KIND).text(h.kind().wire());
    w.text(K_SEND).text(h.sendId());
  }

  /** Decodes a version 3 payload, as strictly as {@link #decode}. */
  static RootedHead decodeRooted(byte[] in, int start, int end) throws MalformedInputException {
    CborReader r = new CborReader(in, start, end - start, CborReader.Options.CANONICAL);
    long mapSize = r.readHead(CborReader.MAJOR_MAP, "receipt");
    r.readKey(K_VERSION, 16);
    long version = r.readHead(CborReader.MAJOR_UINT, "version");
    if (version != Receipt.VERSION_ROOTED) {
      throw new MalformedInputException(
          version == Receipt.VERSION || version == Receipt.VERSION_WITH_SENDER
              ? MalformedInputException.Kind.MALFORMED
              : MalformedInputException.Kind.UNSUPPORTED_VERSION,
          "a receipt bundle carries a version 3 receipt, not version " + version);
    }
    if (mapSize != MAP_SIZE && mapSize != MAP_SIZE_WITH_SENDER) {
      throw new MalformedInputException(
          MalformedInputException.Kind.MALFORMED,
          "receipt map has "
              + mapSize
              + " entries, expected "
              + MAP_SIZE
              + " or "
              + MAP_SIZE_WITH_SENDER);
    }
    r.readKey(K_KEY_SET, 16);
    String keySetId = r.readText("key-set id", 0, 64);
    r.readKey(K_DELIVERIES, 16);
    long nd = count(r, "deliveries");
    byte[] dlvRoot = r.readBytesExact("deliveries tree hash", MerkleTreeHash.HASH_LENGTH);
    r.readKey(K_ISSUED_AT, 16);
    long iat = r.readHead(CborReader.MAJOR_UINT, "issued at");
    r.readKey(K_PAYLOAD, 16);
    byte[] pay = r.readBytesExact("payload digest", 32);
    r.readKey(K_POLICY, 16);
    byte[] pol = r.readBytesExact("policy digest", 32);
    r.readKey(K_SKIPPED, 16);
    long ns = count(r, "skipped");
    byte[] skpRoot = r.readBytesExact("skipped tree hash", MerkleTreeHash.HASH_LENGTH);
    if (nd + ns > Receipt.MAX_ENTRIES) {
      throw new MalformedInputException(
          MalformedInputException.Kind.OVERSIZE,
          "receipt has " + (nd + ns) + " entries, limit " + Receipt.MAX_ENTRIES);
    }
    Receipt.Sender sender = null;
    if (mapSize == MAP_SIZE_WITH_SENDER) {
      sender = readSender(r);
    }
    Receipt.Kind kind = readKind(r);
    String sendId = readLastSendId(r);
    return new RootedHead(keySetId, sendId, kind, iat, pol, pay, nd, dlvRoot, ns, skpRoot, sender);
  }

  private static long count(CborReader r, String what) throws MalformedInputException {
    if (r.readHead(CborReader.MAJOR_ARRAY, what) != 2) {
      throw new MalformedInputException(
          MalformedInputException.Kind.MALFORMED, what + " must be [count, tree hash]");
    }
    long n = r.readHead(CborReader.MAJOR_UINT, what + " count");
    if (n > Receipt.MAX_ENTRIES) {
      throw new MalformedInputException(
          MalformedInputException.Kind.OVERSIZE,
          "receipt has " + n + " " + what + ", limit " + Receipt.MAX_ENTRIES);
    }
    return n;
  }

  /** Reads a 32-byte byte string (at most 64 bytes before it is oversize) as 64 lowercase hex characters. */
  private static String hex32(CborReader r, String what) throws MalformedInputException {
    int[] span = r.readBytesRange(what, 0, 64);
    if (span[1] != 32) {
      throw new MalformedInputException(
          MalformedInputException.Kind.MALFORMED, what + ": expected 32 bytes, got " + span[1]);
    }
    return r.hex(span[0], 32);
  }

  private interface Builder<T> {
    T build();
  }

  private static <T> T valid(Builder<T> b) throws MalformedInputException {
    try {
      return b.build();
    } catch (IllegalArgumentException | NullPointerException e) {
      throw new MalformedInputException(
          MalformedInputException.Kind.MALFORMED, "invalid receipt field: " + e.getMessage());
    }
  }
}
