package dev.keycast.protocol.attestation;

import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * The payload of an AWS Nitro attestation document, as parsed (not necessarily verified).
 *
 * <p>Immutable: every byte array is copied on the way in and on the way out. A document obtained
 * from {@link AttestationVerifier#verify} has passed every check of the policy; one obtained from
 * {@link AttestationParser} has only passed the structural checks.
 */
public final class AttestationDocument {
  private final String moduleId;
  private final String digest;
  private final long timestampMillis;
  private final SortedMap<Integer, byte[]> pcrs;
  private final byte[] certificate;
  private final List<byte[]> cabundle;
  private final byte[] publicKey;
  private final byte[] userData;
  private final byte[] nonce;
  private final byte[] payload;

  AttestationDocument(
      String moduleId,
      String digest,
      long timestampMillis,
      Map<Integer, byte[]> pcrs,
      byte[] certificate,
      List<byte[]> cabundle,
      byte[] publicKey,
      byte[] userData,
      byte[] nonce,
      byte[] payload) {
    this.moduleId = moduleId;
    this.digest = digest;
    this.timestampMillis = timestampMillis;
    TreeMap<Integer, byte[]> p = new TreeMap<>();
    pcrs.forEach((k, v) -> p.put(k, v.clone()));
    this.pcrs = Collections.unmodifiableSortedMap(p);
    this.certificate = certificate.clone();
    List<byte[]> cb = new ArrayList<>();
    cabundle.forEach(c -> cb.add(c.clone()));
    this.cabundle = List.copyOf(cb);
    this.publicKey = publicKey == null ? null : publicKey.clone();
    this.userData = userData == null ? null : userData.clone();
    this.nonce = nonce == null ? null : nonce.clone();
    this.payload = payload.clone();
  }

  /** The enclave module id, e.g. {@code i-0a22e5c5f24d22174-enc0191cceb4289903f}. */
  public String moduleId() {
    return moduleId;
  }

  /** The PCR digest algorithm; always {@code "SHA384"} in an accepted document. */
  public String digest() {
    return digest;
  }

  /** The document timestamp in milliseconds since the epoch (UTC). */
  public long timestampMillis() {
    return timestampMillis;
  }

  /** The document timestamp. */
  public Instant timestamp() {
    return Instant.ofEpochMilli(timestampMillis);
  }

  /** All PCRs by index (copies), sorted by index. */
  public SortedMap<Integer, byte[]> pcrs() {
    TreeMap<Integer, byte[]> copy = new TreeMap<>();
    pcrs.forEach((k, v) -> copy.put(k, v.clone()));
    return Collections.unmodifiableSortedMap(copy);
  }

  /** One PCR (a copy), if present. */
  public Optional<byte[]> pcr(int index) {
    byte[] v = pcrs.get(index);
    return v == null ? Optional.empty() : Optional.of(v.clone());
  }

  /** The DER of the leaf (signing) certificate. */
  public byte[] certificate() {
    return certificate.clone();
  }

  /** The DER certificates of the CA bundle, in document order: {@code [ROOT, INTERM_1, ...]}. */
  public List<byte[]> cabundle() {
    List<byte[]> out = new ArrayList<>(cabundle.size());
    cabundle.forEach(c -> out.add(c.clone()));
    return Collections.unmodifiableList(out);
  }

  /** The {@code public_key} field; empty when absent or null. */
  public Optional<byte[]> publicKey() {
    return publicKey == null ? Optional.empty() : Optional.of(publicKey.clone());
  }

  /** The {@code user_data} field; empty when absent or null. */
  public Optional<byte[]> userData() {
    return userData == null ? Optional.empty() : Optional.of(userData.clone());
  }

  /** The {@code nonce} field; empty when absent or null. */
  public Optional<byte[]> nonce() {
    return nonce == null ? Optional.empty() : Optional.of(nonce.clone());
  }

  /** The exact payload bytes the COSE signature covers. */
  public byte[] payload() {
    return payload.clone();
  }

  // Package-private views without copies, for the verifier.
  byte[] pcrRef(int index) {
    return pcrs.get(index);
  }

  byte[] certificateRef() {
    return certificate;
  }

  List<byte[]> cabundleRef() {
    return cabundle;
  }

  byte[] publicKeyRef() {
    return publicKey;
  }

  byte[] userDataRef() {
    return userData;
  }

  byte[] nonceRef() {
    return nonce;
  }

  @Override
  public String toString() {
    return "AttestationDocument[moduleId="
        + moduleId
        + ", timestamp="
        + timestamp()
        + ", digest="
        + digest
        + ", pcrs="
        + pcrs.size()
        + ", cabundle="
        + cabundle.size()
        + ", publicKey="
        + (publicKey == null ? "null" : publicKey.length + " B")
        + ", userData="
        + (userData == null ? "null" : userData.length + " B")
        + ", nonce="
        + (nonce == null ? "null" : nonce.length + " B")
        + "]";
  }
}
