package dev.keycast.kms.mock;

import java.util.Arrays;
import java.util.Collections;
import java.util.HexFormat;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.TreeMap;

/**
 * What a verified attestation document tells the mock KMS: its PCRs (index to measurement bytes)
 * and the recipient's public key (SubjectPublicKeyInfo DER, RSA).
 */
public record VerifiedRecipient(Map<Integer, byte[]> pcrs, byte[] publicKeySpki) {
  public VerifiedRecipient {
    Objects.requireNonNull(pcrs, "pcrs");
    Objects.requireNonNull(publicKeySpki, "publicKeySpki");
    TreeMap<Integer, byte[]> copy = new TreeMap<>();
    pcrs.forEach((k, v) -> copy.put(k, v.clone()));
    pcrs = Collections.unmodifiableMap(copy);
    publicKeySpki = publicKeySpki.clone();
  }

  @Override
  public byte[] publicKeySpki() {
    return publicKeySpki.clone();
  }

  /** PCR {@code index} as lower-case hex, if the document has it. */
  public Optional<String> pcrHex(int index) {
    byte[] v = pcrs.get(index);
    return v == null ? Optional.empty() : Optional.of(HexFormat.of().formatHex(v));
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof VerifiedRecipient r
        && Arrays.equals(publicKeySpki, r.publicKeySpki)
        && pcrs.keySet().equals(r.pcrs.keySet())
        && pcrs.entrySet().stream()
            .allMatch(e -> Arrays.equals(e.getValue(), r.pcrs.get(e.getKey())));
  }

  @Override
  public int hashCode() {
    return Arrays.hashCode(publicKeySpki);
  }

  @Override
  public String toString() {
    return "VerifiedRecipient[pcrs="
        + pcrs.keySet()
        + ", publicKey="
        + publicKeySpki.length
        + " bytes]";
  }
}
