package dev.keycast.protocol.receipt;

import dev.keycast.protocol.MalformedInputException;
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
  static final String K_KIND = "kind";
  static final String K_SEND = "send";
  static final int MAP_SIZE = 9;

  private static final int MIN_DELIVERY_BYTES = 1 + 34 + 2 + 2 + 34;
  private static final int MIN_SKIPPED_BYTES = 1 + 34 + 2 + 1;

  private ReceiptCodec() {}

  /** Writes the canonical payload straight from the record, without an intermediate tree. */
  static void encode(Receipt r, Cbor.Writer w) {
    Cbor.Writer dlv = new Cbor.Writer(r.deliveries().size() * 128 + 16);
    for (Receipt.Delivery d : r.deliveries()) {
      writeDelivery(dlv, d);
    }
    Cbor.Writer skp = new Cbor.Writer(r.skipped().size() * 96 + 16);
    for (Receipt.Skipped s : r.skipped()) {
      writeSkipped(skp, s);
    }
    assemble(w, r.keySetId(), r.sendId(), r.kind(), r.issuedAt().toEpochMilli(), r.policySha256Unsafe(),
        r.payloadSha256Unsafe(), r.deliveries().size(), dlv, r.skipped().size(), skp);
  }

  static void writeDelivery(Cbor.Writer w, Receipt.Delivery d) {
    w.head(Cbor.ARRAY, 4);
    w.hex32(d.recipientFingerprint()).text(d.formatId()).text(d.deliveryId()).bytes(d.envelopeSha256Unsafe());
  }

  static void writeSkipped(Cbor.Writer w, Receipt.Skipped s) {
    w.head(Cbor.ARRAY, 3);
    w.hex32(s.recipientFingerprint()).text(s.reasonCode()).text(s.message());
  }

  /** Writes the payload map around already-encoded delivery and skipped entries. */
  static void assemble(Cbor.Writer w, String keySetId, String sendId, Receipt.Kind kind, long issuedAtMillis,
      byte[] policySha256, byte[] payloadSha256, int deliveryCount, Cbor.Writer deliveries,
      int skippedCount, Cbor.Writer skipped) {
    w.head(Cbor.MAP, MAP_SIZE);
    w.text(K_VERSION).uint(Receipt.VERSION);
    w.text(K_KEY_SET).text(keySetId);
    w.text(K_DELIVERIES).head(Cbor.ARRAY, deliveryCount).raw(deliveries.array(), 0, deliveries.length());
    w.text(K_ISSUED_AT).uint(issuedAtMillis);
    w.text(K_PAYLOAD).bytes(payloadSha256);
    w.text(K_POLICY).bytes(policySha256);
    w.text(K_SKIPPED).head(Cbor.ARRAY, skippedCount).raw(skipped.array(), 0, skipped.length());
    w.text(K_KIND).text(kind.wire());
    w.text(K_SEND).text(sendId);
  }

  /** Decodes a payload, rejecting every non-canonical or unknown form. */
  static Receipt decode(byte[] in, int start, int end) throws MalformedInputException {
    Cbor.Reader r = new Cbor.Reader(in, start, end);
    long mapSize = r.head(Cbor.MAP, "receipt");
    r.key(K_VERSION);
    long version = r.head(Cbor.UINT, "version");
    if (version != Receipt.VERSION) {
      throw new MalformedInputException("unsupported_version",
          "receipt version " + version + " is not supported (expected " + Receipt.VERSION + ")");
    }
    if (mapSize != MAP_SIZE) {
      throw new MalformedInputException("malformed", "receipt map has " + mapSize + " entries, expected " + MAP_SIZE);
    }
    r.key(K_KEY_SET);
    String keySetId = r.text("key-set id", 64);
    r.key(K_DELIVERIES);
    long nd = r.head(Cbor.ARRAY, "deliveries");
    if (nd > Receipt.MAX_ENTRIES) {
      throw new MalformedInputException("oversize", "receipt has " + nd + " deliveries, limit " + Receipt.MAX_ENTRIES);
    }
    List<Receipt.Delivery> deliveries =
        new ArrayList<>((int) Math.min(nd, (end - r.position()) / MIN_DELIVERY_BYTES + 1));
    for (long i = 0; i < nd; i++) {
      if (r.head(Cbor.ARRAY, "delivery") != 4) {
        throw new MalformedInputException("malformed", "delivery " + i + " must be an array of 4");
      }
      String fp = r.hex32("recipient fingerprint");
      String format = r.text("format id", 64);
      String id = r.text("delivery id", 128);
      byte[] env = r.bytes("envelope digest", 32);
      deliveries.add(valid(() -> new Receipt.Delivery(fp, format, id, env)));
    }
    r.key(K_ISSUED_AT);
    long iat = r.head(Cbor.UINT, "issued at");
    r.key(K_PAYLOAD);
    byte[] pay = r.bytes("payload digest", 32);
    r.key(K_POLICY);
    byte[] pol = r.bytes("policy digest", 32);
    r.key(K_SKIPPED);
    long ns = r.head(Cbor.ARRAY, "skipped");
    if (nd + ns > Receipt.MAX_ENTRIES) {
      throw new MalformedInputException("oversize",
          "receipt has " + (nd + ns) + " entries, limit " + Receipt.MAX_ENTRIES);
    }
    List<Receipt.Skipped> skipped =
        new ArrayList<>((int) Math.min(ns, (end - r.position()) / MIN_SKIPPED_BYTES + 1));
    for (long i = 0; i < ns; i++) {
      if (r.head(Cbor.ARRAY, "skipped entry") != 3) {
        throw new MalformedInputException("malformed", "skipped entry " + i + " must be an array of 3");
      }
      String fp = r.hex32("recipient fingerprint");
      String reason = r.text("reason code", 64);
      String message = r.text("message", 1024);
      skipped.add(valid(() -> new Receipt.Skipped(fp, reason, message)));
    }
    r.key(K_KIND);
    String kindText = r.text("kind", 16);
    Receipt.Kind kind = Receipt.Kind.fromWire(kindText);
    if (kind == null) {
      throw new MalformedInputException("malformed", "unknown receipt kind \"" + kindText + "\"");
    }
    r.key(K_SEND);
    String sendId = r.text("send id", 128);
    if (!r.atEnd()) {
      throw new MalformedInputException("malformed", "trailing bytes after receipt at offset " + r.position());
    }
    return valid(() -> new Receipt(Receipt.VERSION, keySetId, sendId, kind, Instant.ofEpochMilli(iat),
        pol, pay, deliveries, skipped));
  }

  private interface Builder<T> {
    T build();
  }

  private static <T> T valid(Builder<T> b) throws MalformedInputException {
    try {
      return b.build();
    } catch (IllegalArgumentException | NullPointerException e) {
      throw new MalformedInputException("malformed", "invalid receipt field: " + e.getMessage());
    }
  }
}
