package dev.keycast.host.store;

import java.time.Instant;
import java.util.Arrays;
import java.util.Objects;

/**
 * An imported legacy DKDM key as the host keeps it (issue 25, wire-format.md section 10.6): the
 * certificate and the key sealed by the enclave under the key set's storage key, bound to that
 * certificate. The host cannot open it; it presents every one with every DKDM ingest.
 *
 * @param id the sealed secret's id ({@code dkdm-key-} and 32 hex characters of the certificate's SHA-256)
 * @param certificate the certificate (DER)
 * @param sealedKey the sealed key ({@code KCSS} version 2)
 * @param importedAt when the host stored it
 */
public record LegacyKeyRecord(String id, byte[] certificate, byte[] sealedKey, Instant importedAt) {
  /** Most legacy keys a store keeps (and an ingest carries). */
  public static final int MAX_KEYS = 16;

  public LegacyKeyRecord {
    Objects.requireNonNull(id, "id");
    Objects.requireNonNull(importedAt, "importedAt");
    if (!id.matches("dkdm-key-[0-9a-f]{32}")) {
      throw new IllegalArgumentException("a legacy key id is dkdm-key- and 32 lowercase hex");
    }
    if (certificate == null
        || certificate.length < 1
        || certificate.length > 8192
        || sealedKey == null
        || sealedKey.length < 1
        || sealedKey.length > 16384) {
      throw new IllegalArgumentException(
          "a legacy key's certificate and sealed key are 1..8192 and 1..16384 bytes");
    }
    certificate = certificate.clone();
    sealedKey = sealedKey.clone();
  }

  @Override
  public byte[] certificate() {
    return certificate.clone();
  }

  @Override
  public byte[] sealedKey() {
    return sealedKey.clone();
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof LegacyKeyRecord r
        && r.id.equals(id)
        && Arrays.equals(r.certificate, certificate)
        && Arrays.equals(r.sealedKey, sealedKey)
        && r.importedAt.equals(importedAt);
  }

  @Override
  public int hashCode() {
    return id.hashCode();
  }

  @Override
  public String toString() {
    return "LegacyKeyRecord[" + id + "]";
  }
}
