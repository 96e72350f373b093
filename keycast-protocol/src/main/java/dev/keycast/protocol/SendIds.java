package dev.keycast.protocol;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Objects;

/**
 * The send id of api.md section 1.1 step 5: the first 16 bytes, lowercase hex, of
 * {@code SHA-256(UTF8("keycast/v1/send-id") || 0x00 || enc || ciphertext)}, over the decoded
 * payload fields. It is a function of the sealed payload alone: the enclave names every send so,
 * the host looks a retried payload up by it before asking the enclave and refuses an answer that
 * names another id, and a sender recomputes it from what it sent.
 */
public final class SendIds {
  private static final byte[] LABEL = "keycast/v1/send-id".getBytes(StandardCharsets.US_ASCII);

  private SendIds() {}

  /** The send id of the payload with these {@code enc} and {@code ciphertext} bytes. */
  public static String of(byte[] enc, byte[] ciphertext) {
    Objects.requireNonNull(enc, "enc");
    Objects.requireNonNull(ciphertext, "ciphertext");
    MessageDigest d = IdDigests.labelled(LABEL);
    d.update(enc);
    d.update(ciphertext);
    return IdDigests.id(d);
  }
}
