package dev.keycast.protocol.sender;

import dev.keycast.protocol.crypto.Sha256;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Objects;

/**
 * What a studio signs to set its rules for a CPL (wire-format.md section 11.1): the exact bytes of
 * a {@link dev.keycast.protocol.booking.StudioRules}. The signature input is
 *
 * <pre>
 *   "keycast/v1/studio-rules" (23 ASCII bytes) || 0x00
 *   || SHA-256(rules bytes) (32)
 *   || sender public key (32, raw Ed25519)
 * </pre>
 *
 * signed with Ed25519 (RFC 8032, pure). There is no timestamp window: rules are a standing
 * statement the host presents with every booking (their own {@code issued_at} says when).
 */
public record RulesStatement(byte[] rulesSha256, SenderKey sender) implements SenderStatement {
  static final byte[] LABEL = "keycast/v1/studio-rules".getBytes(StandardCharsets.US_ASCII);

  public RulesStatement {
    if (rulesSha256 == null || rulesSha256.length != 32) {
      throw new IllegalArgumentException("the rules digest must be 32 bytes");
    }
    Objects.requireNonNull(sender, "sender");
    rulesSha256 = rulesSha256.clone();
  }

  /** The statement over {@code rules} (its exact bytes). */
  public static RulesStatement of(byte[] rules, SenderKey sender) {
    return new RulesStatement(Sha256.digest(rules), sender);
  }

  @Override
  public byte[] signingInput() {
    return ByteBuffer.allocate(LABEL.length + 1 + 32 + 32).put(LABEL).put((byte) 0).put(rulesSha256)
        .put(sender.raw()).array();
  }

  @Override
  public byte[] rulesSha256() {
    return rulesSha256.clone();
  }
}
