package dev.keycast.host.store;

import java.time.Instant;
import java.util.Arrays;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * A registered recipient. The labels are for people only: eligibility is never decided from them.
 *
 * @param fingerprint SHA-256 of the SPKI DER, 64 lowercase hex characters
 * @param kind {@code "rsa"} or {@code "x25519"}
 * @param publicKeyOrChain SPKI DER, or a DER certificate chain
 * @param labels free-form labels (at most 64, each key and value at most 1024 characters)
 * @param registeredAt registration time, stored with millisecond precision
 */
public record RecipientRecord(
    String fingerprint,
    String kind,
    byte[] publicKeyOrChain,
    Map<String, String> labels,
    Instant registeredAt) {

  public static final String KIND_RSA = "rsa";
  public static final String KIND_X25519 = "x25519";

  public RecipientRecord {
    Checks.fingerprint(fingerprint);
    if (!KIND_RSA.equals(kind) && !KIND_X25519.equals(kind)) {
      throw new IllegalArgumentException(
          "kind must be rsa or x25519: " + Checks.quote(String.valueOf(kind)));
    }
    publicKeyOrChain = Checks.bytes("public key", publicKeyOrChain, Checks.MAX_PUBLIC_KEY);
    Objects.requireNonNull(labels, "labels");
    if (labels.size() > Checks.MAX_LABELS) {
      throw new IllegalArgumentException("at most " + Checks.MAX_LABELS + " labels");
    }
    for (Map.Entry<String, String> e : labels.entrySet()) {
      if (e.getKey() == null
          || e.getValue() == null
          || e.getKey().length() > Checks.MAX_LABEL_CHARS
          || e.getValue().length() > Checks.MAX_LABEL_CHARS) {
        throw new IllegalArgumentException(
            "label keys and values must be non-null, at most "
                + Checks.MAX_LABEL_CHARS
                + " characters");
      }
    }
    labels = java.util.Collections.unmodifiableSortedMap(new TreeMap<>(labels));
    registeredAt = Checks.millis(Objects.requireNonNull(registeredAt, "registeredAt"));
  }

  @Override
  public byte[] publicKeyOrChain() {
    return publicKeyOrChain.clone();
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof RecipientRecord r
        && r.fingerprint.equals(fingerprint)
        && r.kind.equals(kind)
        && Arrays.equals(r.publicKeyOrChain, publicKeyOrChain)
        && r.labels.equals(labels)
        && r.registeredAt.equals(registeredAt);
  }

  @Override
  public int hashCode() {
    return Objects.hash(fingerprint, kind, Arrays.hashCode(publicKeyOrChain), labels, registeredAt);
  }

  @Override
  public String toString() {
    return "RecipientRecord["
        + fingerprint
        + ", "
        + kind
        + ", "
        + publicKeyOrChain.length
        + " bytes, labels="
        + labels
        + ", registeredAt="
        + registeredAt
        + "]";
  }
}
