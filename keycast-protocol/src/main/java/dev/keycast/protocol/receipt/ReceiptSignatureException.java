package dev.keycast.protocol.receipt;

import java.security.SignatureException;

/**
 * A receipt's COSE_Sign1 signature does not verify under the expected Ed25519 key (or the receipt
 * names another key set). The message never says more than that.
 */
public final class ReceiptSignatureException extends SignatureException {
  public static final String MESSAGE = "receipt signature is invalid";

  public ReceiptSignatureException() {
    super(MESSAGE);
  }

  public ReceiptSignatureException(String message) {
    super(message);
  }
}
