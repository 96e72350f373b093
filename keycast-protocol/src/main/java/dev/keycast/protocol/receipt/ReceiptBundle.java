package dev.keycast.protocol.receipt;

import dev.keycast.protocol.MalformedInputException;
import dev.keycast.protocol.cbor.CborReader;
import dev.keycast.protocol.cbor.CborWriter;
import java.security.MessageDigest;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;

/**
 * A version 3 receipt with its entries (wire-format.md 5.6): {@code [COSE_Sign1, [delivery...],
 * [skipped...]]}, where the COSE_Sign1's payload carries the count and the Merkle tree hash
 * ({@link MerkleTreeHash}) of each list. The enclave signs only the small head, so it never holds
 * the entries of a large send; whoever holds the entries (the host, from the enclave's streamed
 * answer) assembles the bundle, and any verifier recomputes both tree hashes from the bundle's own
 * entry bytes.
 */
public final class ReceiptBundle {
  // an entry's smallest encoding: delivery [h'32', "f", "i", h'32'], skipped [h'32', "r", ""]
  private static final int MIN_DELIVERY_BYTES = 1 + 34 + 2 + 2 + 34;
  private static final int MIN_SKIPPED_BYTES = 1 + 34 + 2 + 1;

  private ReceiptBundle() {}

  /**
   * Whether {@code receipt} is a well-formed COSE_Sign1 whose payload is a version 3 receipt head
   * (what the enclave answers for a large send). The signature is not checked here: {@link
   * ReceiptVerifier#verify(byte[], byte[])} checks the assembled bundle.
   */
  public static boolean isRootedHead(byte[] receipt) {
    if (receipt == null || receipt.length > 64 * 1024) {
      return false;
    }
    try {
      CborReader r = new CborReader(receipt, 0, receipt.length, CborReader.Options.CANONICAL);
      int[] span = ReceiptVerifier.readCose(receipt, r);
      if (!r.atEnd()) {
        return false;
      }
      CborReader p = new CborReader(receipt, span[0], span[1], CborReader.Options.CANONICAL);
      p.readHead(CborReader.MAJOR_MAP, "receipt");
      p.readKey(ReceiptCodec.K_VERSION, 16);
      return p.readHead(CborReader.MAJOR_UINT, "version") == Receipt.VERSION_ROOTED;
    } catch (MalformedInputException e) {
      return false;
    }
  }

  /**
   * Assembles a bundle from a version 3 head and the entries it was signed over, in order.
   *
   * @param deliveryCount how many deliveries {@code deliveries} yields
   * @throws IllegalArgumentException if the head is not a version 3 head, or the iterator yields
   *     another number of deliveries, or the bundle would exceed {@link ReceiptSigner#MAX_ENCODED}
   */
  public static byte[] assemble(
      byte[] head,
      int deliveryCount,
      Iterator<Receipt.Delivery> deliveries,
      List<Receipt.Skipped> skipped) {
    if (!isRootedHead(head)) {
      throw new IllegalArgumentException("not a version 3 receipt head");
    }
    long estimate = 16L + head.length + deliveryCount * 130L + skipped.size() * 100L;
    CborWriter w = new CborWriter((int) Math.min(estimate, ReceiptSigner.MAX_ENCODED));
    w.head(CborReader.MAJOR_ARRAY, 3).raw(head);
    w.head(CborReader.MAJOR_ARRAY, deliveryCount);
    int n = 0;
    while (deliveries.hasNext()) {
      ReceiptCodec.writeDelivery(w, deliveries.next());
      n++;
      if (n > deliveryCount || w.length() > ReceiptSigner.MAX_ENCODED) {
        throw new IllegalArgumentException("more deliveries than announced, or too large");
      }
    }
    if (n != deliveryCount) {
      throw new IllegalArgumentException(
          "the bundle announced " + deliveryCount + " deliveries, got " + n);
    }
    w.head(CborReader.MAJOR_ARRAY, skipped.size());
    for (Receipt.Skipped s : skipped) {
      ReceiptCodec.writeSkipped(w, s);
    }
    if (w.length() > ReceiptSigner.MAX_ENCODED) {
      throw new IllegalArgumentException("the bundle would exceed " + ReceiptSigner.MAX_ENCODED);
    }
    return w.array().length == w.length() ? w.array() : w.toByteArray();
  }

  /** Signs {@code r} (version 3) with a raw Ed25519 key and returns its bundle. */
  static byte[] sign(Receipt r, byte[] signingPrivateKey) {
    byte[] head = signHead(r, signingPrivateKey);
    return assemble(head, r.deliveries().size(), r.deliveries().iterator(), r.skipped());
  }

  /** The signed version 3 head of {@code r}'s entries (what the enclave answers). */
  static byte[] signHead(Receipt r, byte[] signingPrivateKey) {
    MerkleTreeHash dlv = new MerkleTreeHash();
    for (Receipt.Delivery d : r.deliveries()) {
      CborWriter e = new CborWriter(160);
      ReceiptCodec.writeDelivery(e, d);
      dlv.addLeaf(e.array(), 0, e.length());
    }
    MerkleTreeHash skp = new MerkleTreeHash();
    for (Receipt.Skipped s : r.skipped()) {
      CborWriter e = new CborWriter(160);
      ReceiptCodec.writeSkipped(e, s);
      skp.addLeaf(e.array(), 0, e.length());
    }
    CborWriter payload = new CborWriter(512);
    ReceiptCodec.assembleRooted(
        payload,
        new ReceiptCodec.RootedHead(
            r.keySetId(),
            r.sendId(),
            r.kind(),
            r.issuedAt().toEpochMilli(),
            r.policySha256Unsafe(),
            r.payloadSha256Unsafe(),
            r.deliveries().size(),
            dlv.root(),
            r.skipped().size(),
            skp.root(),
            r.sender()));
    return ReceiptSigner.signPayload(payload.array(), payload.length(), signingPrivateKey);
  }

  /**
   * Verifies a bundle read by {@code r} from its first byte, in this order: the COSE_Sign1's
   * structure and Ed25519 signature, its version 3 payload, then each list: its length must equal
   * the signed count (checked before any entry is read), each entry is decoded strictly and its
   * exact bytes hashed as a leaf, and the tree hash must equal the signed one; no trailing bytes.
   */
  static Receipt verify(byte[] in, CborReader r, byte[] signingPublicKeyRaw)
      throws MalformedInputException, ReceiptSignatureException {
    return verify(in, r, signingPublicKeyRaw, true);
  }

  /**
   * Checks a whole bundle as {@link ReceiptVerifier#verify(byte[], byte[])} does, without keeping
   * its entries (the host's check of a bundle it assembled: constant memory beyond the bytes).
   */
  public static void check(byte[] bundle, byte[] signingPublicKeyRaw)
      throws MalformedInputException, ReceiptSignatureException {
    if (bundle == null || bundle.length == 0 || (bundle[0] & 0xff) != ReceiptVerifier.BUNDLE_HEAD) {
      throw new MalformedInputException(
          MalformedInputException.Kind.MALFORMED, "not a receipt bundle");
    }
    if (bundle.length > ReceiptSigner.MAX_ENCODED) {
      throw new MalformedInputException(
          MalformedInputException.Kind.OVERSIZE,
          "receipt is " + bundle.length + " bytes, limit " + ReceiptSigner.MAX_ENCODED);
    }
    verify(
        bundle,
        new CborReader(bundle, 0, bundle.length, CborReader.Options.CANONICAL),
        signingPublicKeyRaw,
        false);
  }

  private static Receipt verify(byte[] in, CborReader r, byte[] signingPublicKeyRaw, boolean keep)
      throws MalformedInputException, ReceiptSignatureException {
    if (r.readHead(CborReader.MAJOR_ARRAY, "receipt bundle") != 3) {
      throw new MalformedInputException(
          MalformedInputException.Kind.MALFORMED, "a receipt bundle is an array of 3");
    }
    int[] span = ReceiptVerifier.readCose(in, r);
    ReceiptVerifier.checkSignature(in, span, signingPublicKeyRaw);
    ReceiptCodec.RootedHead h = ReceiptCodec.decodeRooted(in, span[0], span[0] + span[1]);

    long nd = listHead(r, "deliveries", h.deliveryCount());
    List<Receipt.Delivery> deliveries =
        new ArrayList<>(
            keep ? (int) Math.min(nd, (in.length - r.position()) / MIN_DELIVERY_BYTES + 1) : 0);
    MerkleTreeHash dlv = new MerkleTreeHash();
    for (long i = 0; i < nd; i++) {
      int start = r.position();
      Receipt.Delivery d = ReceiptCodec.readDelivery(r, i);
      if (keep) {
        deliveries.add(d);
      }
      dlv.addLeaf(in, start, r.position() - start);
    }
    checkRoot(dlv, h.deliveriesRoot());

    long ns = listHead(r, "skipped", h.skippedCount());
    List<Receipt.Skipped> skipped =
        new ArrayList<>(
            keep ? (int) Math.min(ns, (in.length - r.position()) / MIN_SKIPPED_BYTES + 1) : 0);
    MerkleTreeHash skp = new MerkleTreeHash();
    for (long i = 0; i < ns; i++) {
      int start = r.position();
      Receipt.Skipped k = ReceiptCodec.readSkipped(r, i);
      if (keep) {
        skipped.add(k);
      }
      skp.addLeaf(in, start, r.position() - start);
    }
    checkRoot(skp, h.skippedRoot());
    if (!r.atEnd()) {
      throw new MalformedInputException(
          MalformedInputException.Kind.MALFORMED,
          "trailing bytes after the receipt bundle at offset " + r.position());
    }
    try {
      return new Receipt(
          Receipt.VERSION_ROOTED,
          h.keySetId(),
          h.sendId(),
          h.kind(),
          Instant.ofEpochMilli(h.issuedAtMillis()),
          h.policySha256(),
          h.payloadSha256(),
          deliveries,
          skipped,
          h.sender());
    } catch (IllegalArgumentException | NullPointerException e) {
      throw new MalformedInputException(
          MalformedInputException.Kind.MALFORMED, "invalid receipt field: " + e.getMessage());
    }
  }

  private static long listHead(CborReader r, String what, long signedCount)
      throws MalformedInputException {
    long n = r.readHead(CborReader.MAJOR_ARRAY, what);
    if (n != signedCount) {
      throw new MalformedInputException(
          MalformedInputException.Kind.MALFORMED,
          "the bundle has " + n + " " + what + ", the signed receipt " + signedCount);
    }
    return n;
  }

  private static void checkRoot(MerkleTreeHash tree, byte[] signed)
      throws ReceiptSignatureException {
    if (!MessageDigest.isEqual(tree.root(), signed)) {
      throw new ReceiptSignatureException();
    }
  }
}
