package dev.keycast.protocol.receipt;

import dev.keycast.protocol.cbor.CborReader;
import dev.keycast.protocol.cbor.CborWriter;
import dev.keycast.protocol.keyset.FixedRandom;
import dev.keycast.protocol.keyset.KeySet;
import dev.keycast.protocol.keyset.KeySetVectors;
import dev.keycast.protocol.keyset.VectorFile;
import java.io.IOException;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Builds every committed vector under {@code vectors/receipt/}. Payload variants are written by
 * hand, field by field, independently of {@link ReceiptCodec}; {@code Variant.CANONICAL} must equal
 * the codec's output, which cross-checks the encoder.
 */
public final class ReceiptVectors {
  private static final HexFormat HEX = HexFormat.of();

  enum Variant {
    CANONICAL,
    VERSION_4,
    NON_SHORTEST_INT,
    INDEFINITE_ARRAY,
    UNSORTED_KEYS,
    TOO_MANY_ENTRIES,
    SHORT_FINGERPRINT,
    UNKNOWN_KIND,
    EXTRA_KEY,
    /** Version 2 (issue 23): the golden receipt of a signed send, with snd and sts. */
    CANONICAL_V2,
    /** Version 2 without sts. */
    V2_WITHOUT_SIGNED_AT,
    /** Version 1 carrying snd and sts. */
    V1_WITH_SENDER
  }

  private ReceiptVectors() {}

  static String fp(String label) {
    return HEX.formatHex(FixedRandom.bytes(label, 32));
  }

  static byte[] sha256(byte[] b) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(b);
    } catch (NoSuchAlgorithmException e) {
      throw new AssertionError(e);
    }
  }

  public static Receipt golden() {
    return Receipt.of(
        KeySetVectors.keySet().id(),
        KeySetVectors.SECRET_ID,
        Receipt.Kind.SEND,
        Instant.parse("2026-11-23T02:00:00.123Z"),
        sha256(KeySetVectors.POLICY),
        FixedRandom.bytes("keycast/vectors/receipt/payload", 32),
        List.of(
            new Receipt.Delivery(
                fp("keycast/vectors/receipt/r1"),
                "cms-rsa-oaep-aes256gcm/1",
                "dlv-0001",
                FixedRandom.bytes("keycast/vectors/receipt/env1", 32)),
            new Receipt.Delivery(
                fp("keycast/vectors/receipt/r2"),
                "hpke-x25519/1",
                "dlv-0002",
                FixedRandom.bytes("keycast/vectors/receipt/env2", 32))),
        List.of(
            new Receipt.Skipped(
                fp("keycast/vectors/receipt/r3"),
                "not_eligible",
                "subject does not match the policy selector")));
  }

  /** The sender of the golden version-2 receipt: sender seed 32 x 0x02 (SenderVectorsTest). */
  static final String GOLDEN_SENDER_KEY = HEX.formatHex(senderPublicKey());

  static final Instant GOLDEN_SIGNED_AT = Instant.parse("2026-12-07T00:00:00Z");

  private static byte[] senderPublicKey() {
    byte[] seed = new byte[32];
    Arrays.fill(seed, (byte) 0x02);
    byte[] pub = new byte[32];
    org.bouncycastle.math.ec.rfc8032.Ed25519.generatePublicKey(seed, 0, pub, 0);
    return pub;
  }

  /** The golden receipt of a signed send (version 2): the golden receipt naming its sender. */
  public static Receipt goldenV2() {
    Receipt r = golden();
    return new Receipt(
        Receipt.VERSION_WITH_SENDER,
        r.keySetId(),
        r.sendId(),
        r.kind(),
        r.issuedAt(),
        r.policySha256(),
        r.payloadSha256(),
        r.deliveries(),
        r.skipped(),
        new Receipt.Sender(GOLDEN_SENDER_KEY, GOLDEN_SIGNED_AT));
  }

  /** The golden receipt of a signed send as version 3 (issue 28): head and entries in a bundle. */
  public static Receipt goldenV3() {
    Receipt r = goldenV2();
    return new Receipt(
        Receipt.VERSION_ROOTED,
        r.keySetId(),
        r.sendId(),
        r.kind(),
        r.issuedAt(),
        r.policySha256(),
        r.payloadSha256(),
        r.deliveries(),
        r.skipped(),
        r.sender());
  }

  /** A bundle of goldenV3's signed head with other entries (what a lying host would store). */
  static byte[] bundleWith(List<Receipt.Delivery> deliveries, List<Receipt.Skipped> skipped) {
    byte[] head = ReceiptBundle.signHead(goldenV3(), signingKey());
    return ReceiptBundle.assemble(head, deliveries.size(), deliveries.iterator(), skipped);
  }

  /** The golden payload, or a deliberately wrong variant of it, written without ReceiptCodec. */
  static byte[] payload(Variant v) {
    Receipt r = golden();
    boolean sender =
        v == Variant.CANONICAL_V2
            || v == Variant.V2_WITHOUT_SIGNED_AT
            || v == Variant.V1_WITH_SENDER;
    CborWriter w = new CborWriter(512);
    int entries =
        v == Variant.EXTRA_KEY ? 10 : v == Variant.V2_WITHOUT_SIGNED_AT ? 10 : sender ? 11 : 9;
    w.head(CborReader.MAJOR_MAP, entries);
    w.text("v");
    switch (v) {
      case VERSION_4 -> w.uint(4);
      case NON_SHORTEST_INT -> w.rawByte(0x18).rawByte(0x01);
      case CANONICAL_V2, V2_WITHOUT_SIGNED_AT -> w.uint(2);
      default -> w.uint(1);
    }
    w.text("ks").text(r.keySetId());
    Runnable deliveries =
        () -> {
          w.text("dlv");
          if (v == Variant.INDEFINITE_ARRAY) {
            w.rawByte(0x9f);
          } else if (v == Variant.TOO_MANY_ENTRIES) {
            w.head(CborReader.MAJOR_ARRAY, Receipt.MAX_ENTRIES + 1);
          } else {
            w.head(CborReader.MAJOR_ARRAY, 2);
          }
          for (Receipt.Delivery d : r.deliveries()) {
            w.head(CborReader.MAJOR_ARRAY, 4);
            byte[] f = HEX.parseHex(d.recipientFingerprint());
            w.bytes(v == Variant.SHORT_FINGERPRINT ? Arrays.copyOf(f, 31) : f);
            w.text(d.formatId()).text(d.deliveryId()).bytes(d.envelopeSha256());
          }
          if (v == Variant.INDEFINITE_ARRAY) {
            w.rawByte(0xff);
          }
        };
    Runnable issued = () -> w.text("iat").uint(r.issuedAt().toEpochMilli());
    if (v == Variant.UNSORTED_KEYS) {
      issued.run();
      deliveries.run();
    } else {
      deliveries.run();
      issued.run();
    }
    w.text("pay").bytes(r.payloadSha256());
    w.text("pol").bytes(r.policySha256());
    w.text("skp").head(CborReader.MAJOR_ARRAY, 1);
    Receipt.Skipped s = r.skipped().get(0);
    w.head(CborReader.MAJOR_ARRAY, 3)
        .bytes(HEX.parseHex(s.recipientFingerprint()))
        .text(s.reasonCode())
        .text(s.message());
    if (sender) {
      w.text("snd").bytes(HEX.parseHex(GOLDEN_SENDER_KEY));
      if (v != Variant.V2_WITHOUT_SIGNED_AT) {
        w.text("sts").uint(GOLDEN_SIGNED_AT.getEpochSecond());
      }
    }
    w.text("kind").text(v == Variant.UNKNOWN_KIND ? "resend" : "send");
    w.text("send").text(r.sendId());
    if (v == Variant.EXTRA_KEY) {
      w.text("zzzzz").uint(0);
    }
    return w.toByteArray();
  }

  static byte[] signingKey() {
    KeySet ks = KeySetVectors.keySet();
    return ks.signingPrivateKey();
  }

  static byte[] publicKey() {
    return KeySetVectors.keySet().signingPublicKey();
  }

  static byte[] signed(Variant v) {
    byte[] p = payload(v);
    return ReceiptSigner.signPayload(p, p.length, signingKey());
  }

  public static byte[] goldenCose() {
    return ReceiptSigner.sign(golden(), signingKey());
  }

  public static Map<String, String> generate() {
    Map<String, String> out = new TreeMap<>();
    byte[] g = goldenCose();
    String pk = HEX.formatHex(publicKey());
    Map<String, String> key = Map.of("public-key", pk);
    // tagged layout: d2 84 43 a10127 a0 5a/59 <len> payload 58 40 sig
    int payloadHead = 1 + 1 + 4 + 1;
    put(
        out,
        "golden.ok",
        "ReceiptSigner.sign(ReceiptVectors.golden(), golden key set's signing key), tagged",
        "ok",
        key,
        g);
    byte[] untagged = Arrays.copyOfRange(g, 1, g.length);
    put(out, "golden-untagged.ok", "the golden receipt without tag 18", "ok", key, untagged);
    put(
        out,
        "golden-v2-signed-send.ok",
        "ReceiptSigner.sign(ReceiptVectors.goldenV2()): version 2, the golden receipt"
            + " naming sender key 32 x 0x02's public key and signed-at 2026-12-07T00:00:00Z",
        "ok",
        key,
        ReceiptSigner.sign(goldenV2(), signingKey()));
    Receipt v3 = goldenV3();
    byte[] bundle = ReceiptSigner.sign(v3, signingKey());
    put(
        out,
        "golden-v3-bundle.ok",
        "ReceiptSigner.sign(ReceiptVectors.goldenV3()): the version-2 golden receipt as version 3,"
            + " [COSE_Sign1 over the counts and Merkle tree hashes, deliveries, skipped]",
        "ok",
        key,
        bundle);
    put(
        out,
        "v3-head-without-entries.fail",
        "the version-3 signed head alone, without its entries",
        "malformed:malformed",
        key,
        ReceiptBundle.signHead(v3, signingKey()));
    put(
        out,
        "v3-bundle-delivery-dropped.fail",
        "a bundle whose host dropped the second delivery (the signed count says 2)",
        "malformed:malformed",
        key,
        concat(
            new byte[] {(byte) 0x83},
            ReceiptBundle.signHead(v3, signingKey()),
            entries(v3.deliveries().subList(0, 1), List.of())));
    put(
        out,
        "v3-bundle-envelope-digest-swapped.fail",
        "a bundle whose host gave the first delivery another envelope digest",
        "signature_invalid",
        key,
        bundleWith(
            List.of(
                new Receipt.Delivery(
                    v3.deliveries().get(0).recipientFingerprint(),
                    v3.deliveries().get(0).formatId(),
                    v3.deliveries().get(0).deliveryId(),
                    FixedRandom.bytes("keycast/vectors/receipt/forged-envelope", 32)),
                v3.deliveries().get(1)),
            v3.skipped()));
    put(
        out,
        "v3-bundle-deliveries-reordered.fail",
        "a bundle whose host swapped the two deliveries",
        "signature_invalid",
        key,
        bundleWith(List.of(v3.deliveries().get(1), v3.deliveries().get(0)), v3.skipped()));
    put(
        out,
        "v3-bundle-skipped-as-other-recipient.fail",
        "a bundle whose host named another recipient in the skipped entry",
        "signature_invalid",
        key,
        bundleWith(
            v3.deliveries(),
            List.of(
                new Receipt.Skipped(
                    fp("keycast/vectors/receipt/r4"),
                    v3.skipped().get(0).reasonCode(),
                    v3.skipped().get(0).message()))));
    put(
        out,
        "v3-bundle-trailing-byte.fail",
        "one byte after the bundle",
        "malformed:malformed",
        key,
        concat(bundle, new byte[] {0}));
    put(
        out,
        "v3-bundle-with-v2-receipt.fail",
        "a bundle around a validly signed version-2 receipt",
        "malformed:malformed",
        key,
        concat(
            new byte[] {(byte) 0x83},
            ReceiptSigner.sign(goldenV2(), signingKey()),
            entries(v3.deliveries(), v3.skipped())));
    put(
        out,
        "v3-bundle-wrong-key.fail",
        "the golden bundle checked with another key set's signing key",
        "signature_invalid",
        Map.of("public-key", HEX.formatHex(FixedRandom.bytes("keycast/vectors/receipt/other", 32))),
        bundle);
    put(
        out,
        "v2-without-signed-at.fail",
        "validly signed version-2 payload with snd but no sts",
        "malformed:malformed",
        key,
        signed(Variant.V2_WITHOUT_SIGNED_AT));
    put(
        out,
        "v1-with-sender.fail",
        "validly signed version-1 payload carrying snd and sts",
        "malformed:malformed",
        key,
        signed(Variant.V1_WITH_SENDER));
    put(out, "empty.fail", "zero bytes", "malformed:truncated", key, new byte[0]);
    put(
        out,
        "truncated.fail",
        "cut in the middle of the payload",
        "malformed:truncated",
        key,
        Arrays.copyOf(g, g.length / 2));
    put(
        out,
        "truncated-signature.fail",
        "last signature byte missing",
        "malformed:truncated",
        key,
        Arrays.copyOf(g, g.length - 1));
    put(
        out,
        "trailing-byte.fail",
        "one byte after the COSE_Sign1",
        "malformed:malformed",
        key,
        Arrays.copyOf(g, g.length + 1));
    put(out, "wrong-tag.fail", "tag 19 instead of 18", "malformed:malformed", key, set(g, 0, 0xd3));
    put(
        out,
        "protected-header-es256.fail",
        "protected header {1: -7}",
        "malformed:unsupported_algorithm",
        key,
        set(g, 5, 0x26));
    put(
        out,
        "unprotected-header-not-empty.fail",
        "unprotected header {4: h'00'}",
        "malformed:malformed",
        key,
        concat(
            Arrays.copyOf(g, 5 + 1),
            new byte[] {(byte) 0xa1, 0x04, 0x41, 0x00},
            Arrays.copyOfRange(g, 7, g.length)));
    put(
        out,
        "signature-too-short.fail",
        "63-byte signature",
        "malformed:malformed",
        key,
        concat(
            Arrays.copyOf(g, g.length - 66),
            new byte[] {0x58, 0x3f},
            Arrays.copyOfRange(g, g.length - 63, g.length)));
    put(
        out,
        "flipped-bit-payload.fail",
        "one bit of the payload flipped",
        "signature_invalid",
        key,
        flip(g, payloadHead + 40, 0x01));
    put(
        out,
        "flipped-bit-signature.fail",
        "one bit of the signature flipped",
        "signature_invalid",
        key,
        flip(g, g.length - 10, 0x20));
    put(
        out,
        "wrong-key.fail",
        "golden receipt, another key set's signing key",
        "signature_invalid",
        Map.of(
            "public-key",
            HEX.formatHex(
                KeySetVectors.keySet(KeySetVectors.OTHER_KEY_SET_SEED).signingPublicKey())),
        g);
    put(
        out,
        "oversize.fail",
        "golden padded to 64 MiB + 1",
        "malformed:oversize",
        Map.of(
            "public-key",
            pk,
            "append-zeros",
            Integer.toString(ReceiptSigner.MAX_ENCODED + 1 - g.length)),
        g);
    put(
        out,
        "unsupported-version.fail",
        "validly signed payload with v = 4",
        "malformed:unsupported_version",
        key,
        signed(Variant.VERSION_4));
    put(
        out,
        "non-canonical-int.fail",
        "validly signed payload with v encoded as 0x1801",
        "malformed:non_canonical",
        key,
        signed(Variant.NON_SHORTEST_INT));
    put(
        out,
        "non-canonical-indefinite-array.fail",
        "validly signed payload with an indefinite-length dlv array",
        "malformed:non_canonical",
        key,
        signed(Variant.INDEFINITE_ARRAY));
    put(
        out,
        "unsorted-keys.fail",
        "validly signed payload with iat before dlv",
        "malformed:malformed",
        key,
        signed(Variant.UNSORTED_KEYS));
    put(
        out,
        "extra-key.fail",
        "validly signed payload with a tenth map entry",
        "malformed:malformed",
        key,
        signed(Variant.EXTRA_KEY));
    put(
        out,
        "too-many-entries.fail",
        "validly signed payload whose dlv array claims 1,000,001 entries",
        "malformed:oversize",
        key,
        signed(Variant.TOO_MANY_ENTRIES));
    put(
        out,
        "short-fingerprint.fail",
        "validly signed payload with a 31-byte fingerprint",
        "malformed:malformed",
        key,
        signed(Variant.SHORT_FINGERPRINT));
    put(
        out,
        "unknown-kind.fail",
        "validly signed payload with kind \"resend\"",
        "malformed:malformed",
        key,
        signed(Variant.UNKNOWN_KIND));
    return out;
  }

  /** The two entry arrays of a bundle, encoded by hand from the records. */
  static byte[] entries(List<Receipt.Delivery> deliveries, List<Receipt.Skipped> skipped) {
    CborWriter w = new CborWriter(1024);
    w.head(CborReader.MAJOR_ARRAY, deliveries.size());
    for (Receipt.Delivery d : deliveries) {
      w.head(CborReader.MAJOR_ARRAY, 4)
          .bytes(HEX.parseHex(d.recipientFingerprint()))
          .text(d.formatId())
          .text(d.deliveryId())
          .bytes(d.envelopeSha256());
    }
    w.head(CborReader.MAJOR_ARRAY, skipped.size());
    for (Receipt.Skipped k : skipped) {
      w.head(CborReader.MAJOR_ARRAY, 3)
          .bytes(HEX.parseHex(k.recipientFingerprint()))
          .text(k.reasonCode())
          .text(k.message());
    }
    return w.toByteArray();
  }

  static byte[] set(byte[] b, int at, int value) {
    byte[] c = b.clone();
    c[at] = (byte) value;
    return c;
  }

  static byte[] flip(byte[] b, int at, int mask) {
    byte[] c = b.clone();
    c[at] ^= (byte) mask;
    return c;
  }

  static byte[] concat(byte[]... parts) {
    int n = 0;
    for (byte[] p : parts) {
      n += p.length;
    }
    byte[] out = new byte[n];
    int at = 0;
    for (byte[] p : parts) {
      System.arraycopy(p, 0, out, at, p.length);
      at += p.length;
    }
    return out;
  }

  static void put(
      Map<String, String> out,
      String name,
      String comment,
      String expect,
      Map<String, String> extra,
      byte[] input) {
    out.put(
        "receipt/" + VectorFile.expectName(name, expect),
        VectorFile.render(comment, expect, new TreeMap<>(extra), input));
  }

  /** Writes the vectors under {@code args[0]} (the {@code src/test/resources/vectors} directory). */
  public static void main(String[] args) throws IOException {
    KeySetVectors.write(Path.of(args[0]), generate());
  }
}
