package dev.keycast.protocol.receipt;

import dev.keycast.protocol.MalformedInputException;
import dev.keycast.protocol.keyset.KeySetVectors;
import dev.keycast.protocol.keyset.MutationFuzzTestAccess;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Random mutations of the golden receipt: each must end in a typed error. */
class ReceiptFuzzTest {
  @Test
  void receiptMutations() {
    byte[] g = ReceiptVectors.goldenCose();
    byte[] pk = KeySetVectors.keySet().signingPublicKey();
    Random rnd = new Random(4);
    for (int i = 0; i < 1500; i++) {
      byte[] c = MutationFuzzTestAccess.mutate(g, rnd);
      try {
        ReceiptVerifier.verify(c, pk);
        throw new AssertionError("accepted mutation " + i);
      } catch (MalformedInputException | ReceiptSignatureException expected) {
        // typed
      }
    }
  }

  @Test
  void signedButGarbledPayloadsFailTyped() {
    // The signature cannot protect the decoder from the signer: sign random mutations of the
    // canonical payload and require typed errors from the strict decoder.
    byte[] p = ReceiptVectors.payload(ReceiptVectors.Variant.CANONICAL);
    byte[] sk = ReceiptVectors.signingKey();
    byte[] pk = KeySetVectors.keySet().signingPublicKey();
    Random rnd = new Random(5);
    for (int i = 0; i < 1500; i++) {
      byte[] c = MutationFuzzTestAccess.mutate(p, rnd);
      byte[] cose = ReceiptSigner.signPayload(c, c.length, sk);
      try {
        ReceiptVerifier.verify(cose, pk);
      } catch (MalformedInputException expected) {
        // typed; a mutation may also yield another valid receipt (e.g. a changed digest byte)
      } catch (ReceiptSignatureException e) {
        throw new AssertionError("signature must verify", e);
      }
    }
  }
}
