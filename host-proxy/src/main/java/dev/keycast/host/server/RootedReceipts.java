package dev.keycast.host.server;

import dev.keycast.host.bridge.SendResponseReader;
import dev.keycast.protocol.Base64Url;
import dev.keycast.protocol.MalformedInputException;
import dev.keycast.protocol.api.EnclaveApi;
import dev.keycast.protocol.api.ErrorCode;
import dev.keycast.protocol.crypto.Sha256;
import dev.keycast.protocol.receipt.Receipt;
import dev.keycast.protocol.receipt.ReceiptBundle;
import dev.keycast.protocol.receipt.ReceiptSignatureException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;

/**
 * The receipt the host stores and answers for a send. A large send's enclave answer carries only
 * the signed head of a version 3 receipt (wire-format.md 5.6): the enclave hashed its entries into
 * two Merkle trees instead of holding them. The host has every entry in the same answer (each
 * delivery's recipient, format, id and envelope, and the skipped list), so it assembles the bundle
 * here and checks it against the key set's signing key before anything is stored: a head whose
 * trees do not match the answer's entries fails the send ({@code internal}), like any other
 * unusable answer.
 */
final class RootedReceipts {
  private RootedReceipts() {}

  /**
   * The receipt to store: {@code receipt} itself unless it is a version 3 head, else its bundle.
   *
   * @param signingPublicKey the key set's raw Ed25519 key, or null when the host has no bundle yet
   *     (the bundle is then stored unchecked; every reader verifies it)
   */
  static byte[] forStore(
      byte[] receipt,
      SendResponseReader.Header header,
      SendResponseReader.Source answer,
      byte[] signingPublicKey)
      throws ApiException {
    if (!ReceiptBundle.isRootedHead(receipt)) {
      return receipt;
    }
    byte[] bundle;
    try {
      List<Receipt.Skipped> skipped = new ArrayList<>(header.skipped().size());
      for (EnclaveApi.Skipped s : header.skipped()) {
        skipped.add(new Receipt.Skipped(s.recipient(), s.reason(), s.message()));
      }
      Iterator<EnclaveApi.Delivery> in = SendResponseReader.deliveries(answer).iterator();
      Iterator<Receipt.Delivery> entries =
          new Iterator<>() {
            @Override
            public boolean hasNext() {
              return in.hasNext();
            }

            @Override
            public Receipt.Delivery next() {
              EnclaveApi.Delivery d = in.next();
              return new Receipt.Delivery(
                  d.recipient(), d.format(), d.deliveryId(), Sha256.digest(envelope(d)));
            }
          };
      bundle = ReceiptBundle.assemble(receipt, header.deliveryCount(), entries, skipped);
    } catch (IllegalArgumentException | NullPointerException | java.io.UncheckedIOException e) {
      throw unusable(e.getMessage());
    }
    if (signingPublicKey != null) {
      try {
        ReceiptBundle.check(bundle, signingPublicKey);
      } catch (MalformedInputException | ReceiptSignatureException e) {
        throw unusable("its receipt does not cover its deliveries (" + e.getMessage() + ")");
      }
    }
    return bundle;
  }

  private static byte[] envelope(EnclaveApi.Delivery d) {
    try {
      return Base64Url.decode("envelope", d.envelope(), 1 << 20);
    } catch (MalformedInputException e) {
      throw new IllegalArgumentException("a malformed envelope: " + e.getMessage());
    }
  }

  private static ApiException unusable(String why) {
    return new ApiException(ErrorCode.INTERNAL, "the enclave's send answer is unusable: " + why);
  }
}
