package dev.keycast.host.store;

import java.time.Instant;
import java.util.Arrays;
import java.util.Objects;

/**
 * A studio's signed rules for one CPL as the host keeps them (issue 25, wire-format.md section
 * 11.1): the exact statement bytes, the studio's raw Ed25519 key and its signature. The enclave
 * verifies all three at every booking; the host cannot alter a byte without breaking them. The
 * latest rules stored for a CPL replace the earlier ones.
 *
 * @param cplId the CPL ({@code urn:uuid:...}), the key
 * @param statement the {@code StudioRules} bytes
 * @param key the studio's raw Ed25519 public key (32 bytes)
 * @param signature the Ed25519 signature (64 bytes)
 * @param signerCertificate the DKDM signer's certificate (DER, at most 8192 bytes)
 * @param signerSignature the DKDM signer's RSA signature over the same statement (at most 1024 bytes)
 * @param storedAt when the host stored them
 */
public record RulesRecord(
    String cplId,
    byte[] statement,
    byte[] key,
    byte[] signature,
    byte[] signerCertificate,
    byte[] signerSignature,
    Instant storedAt) {
  /** Longest statement kept ({@code StudioRules.MAX_ENCODED}). */
  public static final int MAX_STATEMENT_BYTES = 1 << 20;

  public RulesRecord {
    Objects.requireNonNull(cplId, "cplId");
    Objects.requireNonNull(storedAt, "storedAt");
    if (!cplId.matches("urn:uuid:[0-9a-f-]{36}")) {
      throw new IllegalArgumentException("a CPL id is urn:uuid: and a lowercase UUID");
    }
    if (statement == null || statement.length < 1 || statement.length > MAX_STATEMENT_BYTES) {
      throw new IllegalArgumentException(
          "a rules statement is 1.." + MAX_STATEMENT_BYTES + " bytes");
    }
    if (key == null || key.length != 32 || signature == null || signature.length != 64) {
      throw new IllegalArgumentException("a rules key is 32 bytes and its signature 64");
    }
    if (signerCertificate == null
        || signerCertificate.length < 1
        || signerCertificate.length > 8192
        || signerSignature == null
        || signerSignature.length < 1
        || signerSignature.length > 1024) {
      throw new IllegalArgumentException(
          "a rules signer certificate is 1..8192 bytes and its signature 1..1024");
    }
    statement = statement.clone();
    key = key.clone();
    signature = signature.clone();
    signerCertificate = signerCertificate.clone();
    signerSignature = signerSignature.clone();
  }

  @Override
  public byte[] signerCertificate() {
    return signerCertificate.clone();
  }

  @Override
  public byte[] signerSignature() {
    return signerSignature.clone();
  }

  @Override
  public byte[] statement() {
    return statement.clone();
  }

  @Override
  public byte[] key() {
    return key.clone();
  }

  @Override
  public byte[] signature() {
    return signature.clone();
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof RulesRecord r
        && r.cplId.equals(cplId)
        && Arrays.equals(r.statement, statement)
        && Arrays.equals(r.key, key)
        && Arrays.equals(r.signature, signature)
        && Arrays.equals(r.signerCertificate, signerCertificate)
        && Arrays.equals(r.signerSignature, signerSignature)
        && r.storedAt.equals(storedAt);
  }

  @Override
  public int hashCode() {
    return cplId.hashCode();
  }

  @Override
  public String toString() {
    return "RulesRecord[" + cplId + ", " + statement.length + " bytes]";
  }
}
