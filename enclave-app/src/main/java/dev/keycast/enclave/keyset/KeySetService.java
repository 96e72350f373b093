package dev.keycast.enclave.keyset;

import dev.keycast.protocol.api.EnclaveApi;
import dev.keycast.protocol.api.ErrorCode;
import dev.keycast.protocol.cinema.KdmSigner;
import dev.keycast.protocol.keyset.KeyBundle;
import dev.keycast.protocol.keyset.KeySet;
import dev.keycast.protocol.upgrade.ImageApproval;
import java.util.Optional;

/**
 * Holds the enclave's key set: creates and seals it on first boot, unseals it on later boots
 * (DESIGN.md section 3, flows 1 and 2). Until it holds a key set the enclave is not ready.
 *
 * <p>Implementations are thread-safe. They never log, return or put in an exception message a
 * private key, a data key or credentials.
 */
public interface KeySetService {

  /** What the readiness endpoint reports. */
  EnclaveApi.Readiness readiness();

  /** The unsealed key set, or empty while not ready. The caller must not destroy it. */
  Optional<KeySet> current();

  /**
   * The bundle of {@link #current()}: its public keys and the KMS key id recorded in the header of
   * the sealed key set it was created as or unsealed from (what the attestation's {@code
   * user_data} covers). Empty while not ready.
   */
  Optional<KeyBundle> currentBundle();

  /**
   * First boot: generates a key set, obtains a data key from KMS GenerateDataKey with a Recipient
   * attestation document, seals the key set and keeps it in memory.
   *
   * @return the sealed key set (for the host to persist before anything else) and the key bundle,
   *     which names the KMS key id KMS returned (the key ARN written into the sealed header)
   * @throws KeySetException {@code ALREADY_INITIALIZED}, or a KMS failure
   */
  Initialized init(String kmsKeyId, String region, EnclaveApi.AwsCredentials credentials)
      throws KeySetException;

  /**
   * Later boots: decrypts the sealed key set's data key with KMS Decrypt and a Recipient
   * attestation document, unseals and checks the binding.
   *
   * @return the sealed key set's bundle, naming the KMS key id of its header
   *
   * @throws KeySetException {@code SEALED_KEY_SET_INVALID} for a tampered or foreign sealed key
   *     set, or a KMS failure ({@code KMS_ACCESS_DENIED}, {@code KMS_UNAVAILABLE}, {@code KMS_ERROR})
   */
  KeyBundle unseal(byte[] sealedKeySet, String region, EnclaveApi.AwsCredentials credentials)
      throws KeySetException;

  /**
   * {@link #unseal}, and the sealed key set the host must store next when the enclave migrated it:
   * a version 1 sealed key set (no KDM signer) is unsealed, given a freshly generated KDM signer
   * and sealed again as version 2 under the same data key with a fresh nonce (wire-format.md 4.3).
   * Unsealing the same key set again answers the same migrated bytes, so a host that lost the
   * answer can ask again. Implementations without migration answer {@link #unseal}'s bundle alone.
   */
  default Unsealed unsealAndMigrate(
      byte[] sealedKeySet, String region, EnclaveApi.AwsCredentials credentials)
      throws KeySetException {
    return new Unsealed(unseal(sealedKeySet, region, credentials), java.util.Optional.empty());
  }

  /**
   * The KDM signer of the key set held (issue 24): the ST 430-2 signer chain sealed in the key set
   * and its leaf's private key, for {@code KdmWriter}. Empty while not ready, and for
   * implementations without a signer.
   */
  default Optional<KdmSigner> kdmSigner() {
    return Optional.empty();
  }

  /**
   * A PKCS #10 request (DER) for the KDM signer leaf key of the key set held, for a distributor's
   * own CA to certify (issue 24, wire-format.md section 4.6), subject O, OU and CN {@code
   * CS.<entity>} as given (null: {@code Keycast}, the key-set id, {@code keycast-kdm-signer}). The
   * key is the sealed leaf key, so the request is the same on every call and across restarts.
   *
   * @throws KeySetException {@code NOT_READY} without a key set, {@code MALFORMED_REQUEST} for a
   *     name outside PrintableString, {@code KDM_SIGNER_UNAVAILABLE} without a signer
   */
  default byte[] kdmSignerCsr(String organization, String organizationalUnit, String entity)
      throws KeySetException {
    throw new KeySetException(ErrorCode.KDM_SIGNER_UNAVAILABLE, "this enclave has no KDM signer");
  }

  /**
   * Replaces the KDM signer chain with {@code chainDer} (leaf first), a chain a distributor's CA
   * issued for the enclave's signer leaf key, after checking that it certifies exactly that key, is
   * an ST 430-2 signer chain valid now and names the role CS (wire-format.md section 4.6). The key
   * set is sealed again with the new chain under the same data key (KMS Decrypt of the held sealed
   * key set's data key with {@code credentials}, a fresh nonce); {@link #kdmSigner()} and {@link
   * #currentBundle()} switch to it.
   *
   * @return the re-sealed key set (for the host to store as its next version) and its bundle
   * @throws KeySetException {@code KDM_SIGNER_CHAIN_KEY_MISMATCH}, {@code KDM_SIGNER_CHAIN_INVALID},
   *     {@code NOT_READY} or a KMS failure; the signer in use is unchanged after any failure
   */
  default Initialized importKdmSignerChain(
      java.util.List<byte[]> chainDer, EnclaveApi.AwsCredentials credentials)
      throws KeySetException {
    throw new KeySetException(ErrorCode.KDM_SIGNER_UNAVAILABLE, "this enclave has no KDM signer");
  }

  /**
   * Re-wraps the key set this enclave holds for a successor image under a new, locked KMS key, as
   * a quorum of this image's approvers approved (kms-sealing.md section 7). The enclave keeps its
   * key set and its KMS key; the answer is the key set sealed under the new key, for the successor.
   *
   * @throws KeySetException {@code IMAGE_APPROVAL_REFUSED}, {@code SUCCESSOR_KEY_REFUSED}, {@code
   *     NOT_READY} or a KMS failure; an implementation without image approvers refuses every call
   */
  default Initialized rewrap(ImageApproval approval, EnclaveApi.AwsCredentials credentials)
      throws KeySetException {
    throw new KeySetException(
        ErrorCode.IMAGE_APPROVAL_REFUSED, "this enclave does not re-wrap its key set");
  }

  /** Replaces the credentials used for later KMS calls. */
  void updateCredentials(EnclaveApi.AwsCredentials credentials);

  /** Result of {@link #init}. */
  record Initialized(byte[] sealedKeySet, KeyBundle bundle) {}

  /**
   * Result of {@link #unsealAndMigrate}: the bundle, and the migrated sealed key set (version 2)
   * when the enclave migrated a version 1 one.
   */
  record Unsealed(KeyBundle bundle, Optional<byte[]> migratedSealedKeySet) {
    public Unsealed {
      java.util.Objects.requireNonNull(bundle, "bundle");
      migratedSealedKeySet = migratedSealedKeySet.map(byte[]::clone);
    }

    @Override
    public Optional<byte[]> migratedSealedKeySet() {
      return migratedSealedKeySet.map(byte[]::clone);
    }
  }
}
