package dev.keycast.protocol.keyset;

import java.security.MessageDigest;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Objects;

/**
 * What the enclave found its KMS key to be at init or unseal (kms-sealing.md section 6), as it
 * attests it inside the key bundle: whether the key is locked, and the SHA-256 of the key policy
 * text KMS returned (so a sender can compare it with the policy the operator published).
 *
 * @param locked nobody but the attested image can obtain plaintext or change who can
 * @param policySha256 SHA-256 of the key policy as {@code GetKeyPolicy} returned it (32 bytes;
 *     all zero when the enclave could not read it)
 */
public record KmsKeyCheck(boolean locked, byte[] policySha256) {
  public KmsKeyCheck {
    Objects.requireNonNull(policySha256, "policySha256");
    if (policySha256.length != 32) {
      throw new IllegalArgumentException("policySha256 must be 32 bytes");
    }
    policySha256 = policySha256.clone();
  }

  @Override
  public byte[] policySha256() {
    return policySha256.clone();
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof KmsKeyCheck c
        && locked == c.locked
        && MessageDigest.isEqual(policySha256, c.policySha256);
  }

  @Override
  public int hashCode() {
    return Arrays.hashCode(policySha256) * 2 + (locked ? 1 : 0);
  }

  @Override
  public String toString() {
    return "KmsKeyCheck["
        + (locked ? "locked" : "NOT locked")
        + ", policy sha256="
        + HexFormat.of().formatHex(policySha256)
        + "]";
  }
}
