package dev.keycast.host.store;

import java.time.Instant;
import java.util.Objects;

/**
 * An ingested DKDM as the host keeps it (issue 25, wire-format.md section 10.5): the enclave's
 * sealed content keys and the exact binding bytes they are sealed with, plus copies of the
 * binding's fields for lookups. The host cannot open or alter the keys: the sealed form is
 * AES-256-GCM under the key set's storage key, with the binding's SHA-256 in its authenticated
 * header. The copied fields are conveniences, never a basis for an enclave decision.
 *
 * @param messageId the DKDM's MessageId ({@code urn:uuid:...}), the key
 * @param cplId the CompositionPlaylistId ({@code urn:uuid:...})
 * @param keySetId the key set that sealed the keys
 * @param notValidAfter the end of the DKDM's key window
 * @param signerThumbprint base64 thumbprint of the DKDM signer leaf
 * @param sealedContentKeys the sealed secret ({@code KCSS} version 2)
 * @param binding the binding bytes (JSON)
 * @param ingestedAt when the host stored it
 */
public record DkdmRecord(
    String messageId,
    String cplId,
    String keySetId,
    Instant notValidAfter,
    String signerThumbprint,
    byte[] sealedContentKeys,
    byte[] binding,
    Instant ingestedAt) {
  /** Longest sealed form kept (256 keys of 36 bytes, a title and the header). */
  public static final int MAX_SEALED_BYTES = 16384;

  /** Longest binding kept. */
  public static final int MAX_BINDING_BYTES = 4096;

  public DkdmRecord {
    Objects.requireNonNull(messageId, "messageId");
    Objects.requireNonNull(cplId, "cplId");
    Objects.requireNonNull(keySetId, "keySetId");
    Objects.requireNonNull(notValidAfter, "notValidAfter");
    Objects.requireNonNull(signerThumbprint, "signerThumbprint");
    Objects.requireNonNull(ingestedAt, "ingestedAt");
    if (!messageId.matches("urn:uuid:[0-9a-f-]{36}") || !cplId.matches("urn:uuid:[0-9a-f-]{36}")) {
      throw new IllegalArgumentException("message and CPL ids are urn:uuid: and a lowercase UUID");
    }
    if (sealedContentKeys == null
        || sealedContentKeys.length < 1
        || sealedContentKeys.length > MAX_SEALED_BYTES
        || binding == null
        || binding.length < 1
        || binding.length > MAX_BINDING_BYTES) {
      throw new IllegalArgumentException(
          "sealed keys and binding must be 1.."
              + MAX_SEALED_BYTES
              + " and 1.."
              + MAX_BINDING_BYTES
              + " bytes");
    }
    sealedContentKeys = sealedContentKeys.clone();
    binding = binding.clone();
  }

  @Override
  public byte[] sealedContentKeys() {
    return sealedContentKeys.clone();
  }

  @Override
  public byte[] binding() {
    return binding.clone();
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof DkdmRecord d
        && d.messageId.equals(messageId)
        && d.cplId.equals(cplId)
        && d.keySetId.equals(keySetId)
        && d.notValidAfter.equals(notValidAfter)
        && d.signerThumbprint.equals(signerThumbprint)
        && java.util.Arrays.equals(d.sealedContentKeys, sealedContentKeys)
        && java.util.Arrays.equals(d.binding, binding)
        && d.ingestedAt.equals(ingestedAt);
  }

  @Override
  public int hashCode() {
    return messageId.hashCode();
  }

  @Override
  public String toString() {
    return "DkdmRecord[" + messageId + ", cpl " + cplId + ", until " + notValidAfter + "]";
  }
}
