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
 * signed with Ed25519 (RFC 8032, pure) by the studio's sender key, and signed again, over the same
 * bytes, with RSA PKCS #1 v1.5 and SHA-256 by the DKDM signer's own key (the key whose certificate
 * signed the DKDM): only whoever holds the studio's DKDM signing key can write rules for its DKDMs,
 * so neither an operator who admits its own sender key nor a distributor that holds the DKDM file
 * can. There is no timestamp window: rules are a standing statement the host presents with every
 * booking (their own {@code issued_at} says when).
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
    return ByteBuffer.allocate(LABEL.length + 1 + 32 + 32)
        .put(LABEL)
        .put((byte) 0)
        .put(rulesSha256)
        .put(sender.raw())
        .array();
  }

  /** The DKDM signer's signature over {@link #signingInput()}: RSA PKCS #1 v1.5 with SHA-256. */
  public byte[] signWithDkdmSigner(java.security.PrivateKey dkdmSignerKey) {
    try {
      java.security.Signature s = java.security.Signature.getInstance("SHA256withRSA");
      s.initSign(dkdmSignerKey);
      s.update(signingInput());
      return s.sign();
    } catch (java.security.GeneralSecurityException e) {
      throw new IllegalArgumentException(
          "the DKDM signer key cannot sign (an RSA private key is needed)", e);
    }
  }

  /**
   * True when {@code signature} is the DKDM signer's (the RSA key of {@code dkdmSigner}) over
   * {@link #signingInput()}; false for any other key type or a malformed signature.
   */
  public boolean verifiesDkdmSigner(
      java.security.cert.X509Certificate dkdmSigner, byte[] signature) {
    if (!(dkdmSigner.getPublicKey() instanceof java.security.interfaces.RSAPublicKey)
        || signature == null
        || signature.length > 1024) {
      return false;
    }
    try {
      java.security.Signature s = java.security.Signature.getInstance("SHA256withRSA");
      s.initVerify(dkdmSigner.getPublicKey());
      s.update(signingInput());
      return s.verify(signature);
    } catch (java.security.GeneralSecurityException | RuntimeException e) {
      return false;
    }
  }

  @Override
  public byte[] rulesSha256() {
    return rulesSha256.clone();
  }
}
