package dev.keycast.enclave.keyset;

import dev.keycast.enclave.kms.RecipientKeyPair;
import dev.keycast.protocol.api.EnclaveApi;
import dev.keycast.protocol.api.ErrorCode;
import dev.keycast.protocol.keyset.KdmSignerKeys;
import dev.keycast.protocol.keyset.KeyBundle;
import dev.keycast.protocol.keyset.KeySet;
import dev.keycast.protocol.keyset.KmsKeyCheck;
import dev.keycast.protocol.keyset.SealedKeySet;
import dev.keycast.protocol.kms.KmsKeyAdmission;
import dev.keycast.protocol.kms.KmsKeyLockVerdict;
import dev.keycast.protocol.upgrade.ImageApproval;
import dev.keycast.protocol.upgrade.ImageApprovalException;
import dev.keycast.protocol.upgrade.ImageApprovers;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.services.kms.KmsClient;
import software.amazon.awssdk.services.kms.model.DataKeySpec;
import software.amazon.awssdk.services.kms.model.GenerateDataKeyResponse;
import software.amazon.awssdk.services.kms.model.KeyMetadata;

/**
 * The upgrade path of a locked KMS key (kms-sealing.md section 7): the running enclave, which
 * holds its key set, seals that same key set under a new locked KMS key for a successor image,
 * when a quorum of the image approvers measured into this image approved exactly that successor
 * and that key.
 *
 * <p>In order, each step failing closed:
 *
 * <ol>
 *   <li>the approval is signed by a quorum of {@link ImageApprovers} ({@code image_approval_refused});
 *   <li>it names the key set this enclave holds ({@code image_approval_refused});
 *   <li>over this enclave's own TLS to KMS (the host only pipes bytes): DescribeKey answers the
 *       approved ARN, {@link KmsKeyLockVerdict} finds the key locked, and {@link KmsKeyAdmission}
 *       finds that its policy admits the approved PCR0 and nothing else for Decrypt, at most the
 *       approved PCR0 and the approved predecessor for GenerateDataKey, and pins the approved
 *       PCR3/PCR8 in every Decrypt statement ({@code successor_key_refused});
 *   <li>GenerateDataKey under the new key with this enclave's attestation as Recipient; the key set
 *       is sealed under that data key ({@link SealedKeySet#seal}, same key-set id, keys and KDM
 *       signer, so recipients, stored secrets, receipts and the cinemas' trust in the signer carry over).
 * </ol>
 *
 * Nothing of this enclave's state changes: it keeps serving under its own key.
 */
final class KeySetUpgrade {
  private static final Logger log = LoggerFactory.getLogger(KeySetUpgrade.class);

  private final KmsKeySetService service;
  private final ImageApprovers approvers;

  KeySetUpgrade(KmsKeySetService service, ImageApprovers approvers) {
    this.service = Objects.requireNonNull(service, "service");
    this.approvers = Objects.requireNonNull(approvers, "approvers");
  }

  KeySetService.Initialized rewrap(
      KeySet keySet,
      KdmSignerKeys signer,
      ImageApproval approval,
      EnclaveApi.AwsCredentials credentials)
      throws KeySetException {
    ImageApproval.Statement approved;
    try {
      approved = approvers.verify(approval);
    } catch (ImageApprovalException e) {
      throw refused(ErrorCode.IMAGE_APPROVAL_REFUSED, e.getMessage());
    }
    if (!approved.keySetId().equals(keySet.id())) {
      throw refused(
          ErrorCode.IMAGE_APPROVAL_REFUSED,
          "the image approval is for key set "
              + approved.keySetId()
              + ", this enclave holds "
              + keySet.id());
    }
    String arn = approved.kmsKeyArn();
    String region = approved.region();
    long t0 = System.nanoTime();
    byte[] dataKey = null;
    KmsDataKeys dataKeys = service.dataKeys();
    try (RecipientKeyPair recipient = dataKeys.newRecipientKey();
        KmsClient kms = dataKeys.client(region, credentials)) {
      KmsKeyLockVerdict verdict = admit(kms, arn, region, credentials, approved);
      var info = dataKeys.recipientInfo(recipient);
      long failuresBefore = dataKeys.connector().forwarderConnectFailures();
      GenerateDataKeyResponse r;
      try {
        r =
            kms.generateDataKey(
                b ->
                    b.keyId(arn)
                        .keySpec(DataKeySpec.AES_256)
                        .encryptionContext(SealedKeySet.encryptionContext(keySet.id()))
                        .recipient(info));
      } catch (SdkException e) {
        throw KmsErrors.map(
            "GenerateDataKey",
            arn,
            region,
            e,
            credentials,
            dataKeys.connector().forwarderConnectFailures() > failuresBefore);
      }
      KmsDataKeys.requireNoPlaintext(r.plaintext(), "GenerateDataKey");
      if (r.keyId() != null && !r.keyId().isEmpty() && !r.keyId().equals(arn)) {
        throw new KeySetException(
            ErrorCode.KMS_ERROR,
            "KMS GenerateDataKey answered for key "
                + KmsErrors.shorten(r.keyId())
                + ", not the approved "
                + arn);
      }
      dataKey = KmsDataKeys.openRecipient(r.ciphertextForRecipient(), recipient, "GenerateDataKey");
      byte[] blob = r.ciphertextBlob() == null ? null : r.ciphertextBlob().asByteArrayUnsafe();
      if (blob == null || blob.length < 1 || blob.length > SealedKeySet.MAX_ENCRYPTED_DATA_KEY) {
        throw new KeySetException(
            ErrorCode.KMS_ERROR, "KMS GenerateDataKey returned no usable CiphertextBlob");
      }
      // the same key set and KDM signer (version 2), so the successor attests the same signer chain
      SealedKeySet sealed = SealedKeySet.seal(keySet, signer, dataKey, arn, blob, service.random());
      KeyBundle bundle =
          sealed.bundle().withKmsKeyCheck(new KmsKeyCheck(true, verdict.policySha256()));
      log.info(
          "key set {} re-wrapped for image {} under locked KMS key {} (approved by a quorum of {}) in {} ms",
          keySet.id(),
          approved.pcr0(),
          arn,
          approvers.quorum(),
          (System.nanoTime() - t0) / 1_000_000);
      return new KeySetService.Initialized(sealed.encode(), bundle);
    } finally {
      KmsDataKeys.zero(dataKey);
    }
  }

  /**
   * Reads the new key from KMS and refuses it unless it is the approved ARN, locked, and admits
   * exactly what the approval names. Returns the verdict (locked).
   */
  private static KmsKeyLockVerdict admit(
      KmsClient kms,
      String arn,
      String region,
      EnclaveApi.AwsCredentials credentials,
      ImageApproval.Statement approved)
      throws KeySetException {
    KeyMetadata md;
    String policy;
    List<KmsKeyLockVerdict.Grant> grants;
    try {
      md = kms.describeKey(b -> b.keyId(arn)).keyMetadata();
      policy = kms.getKeyPolicy(b -> b.keyId(arn).policyName("default")).policy();
      KmsDataKeys.GrantList listed = KmsDataKeys.listGrants(kms, arn);
      grants = listed.grants();
      if (listed.more()) {
        grants.add(new KmsKeyLockVerdict.Grant("(more)", "(more grants)", List.of()));
      }
    } catch (SdkException e) {
      KeySetException k =
          KmsErrors.map("DescribeKey/GetKeyPolicy/ListGrants", arn, region, e, credentials, false);
      throw refused(
          ErrorCode.SUCCESSOR_KEY_REFUSED,
          "cannot read the new KMS key, so it is refused: " + k.getMessage());
    }
    if (md == null || !arn.equals(md.arn())) {
      throw refused(
          ErrorCode.SUCCESSOR_KEY_REFUSED,
          "KMS describes "
              + (md == null ? "nothing" : KmsErrors.shorten(md.arn()))
              + " for the approved key "
              + arn);
    }
    KmsKeyLockVerdict verdict =
        KmsKeyLockVerdict.evaluate(
            policy,
            grants,
            new KmsKeyLockVerdict.KeyFacts(
                md.originAsString(),
                md.keyManagerAsString(),
                !Boolean.FALSE.equals(md.multiRegion())));
    if (!verdict.locked()) {
      throw refused(
          ErrorCode.SUCCESSOR_KEY_REFUSED,
          "the new KMS key " + arn + " is not locked: " + String.join("; ", verdict.reasons()));
    }
    KmsKeyAdmission admission = KmsKeyAdmission.of(policy);
    List<String> why = new ArrayList<>();
    if (!admission.decryptImages().equals(Set.of(approved.pcr0()))) {
      why.add(
          "its policy lets images "
              + admission.decryptImages()
              + " Decrypt, not only the approved "
              + approved.pcr0());
    }
    if (!Set.of(approved.pcr0(), approved.predecessorPcr0())
        .containsAll(admission.generateImages())) {
      why.add(
          "its policy lets images "
              + admission.generateImages()
              + " GenerateDataKey, more than the approved image and its predecessor");
    }
    pinned(approved.pcr3(), admission.decryptPcr3(), "PCR3", why);
    pinned(approved.pcr8(), admission.decryptPcr8(), "PCR8", why);
    if (!why.isEmpty()) {
      throw refused(
          ErrorCode.SUCCESSOR_KEY_REFUSED,
          "the new KMS key "
              + arn
              + " does not admit exactly the approved image: "
              + String.join("; ", why));
    }
    return verdict;
  }

  private static void pinned(
      Optional<String> value, List<Set<String>> perStatement, String register, List<String> why) {
    if (value.isEmpty()) {
      return;
    }
    for (Set<String> s : perStatement) {
      if (!s.equals(Set.of(value.get()))) {
        why.add(
            "a Decrypt statement of its policy requires "
                + register
                + " "
                + (s.isEmpty() ? "nothing" : s)
                + ", not the approved "
                + value.get());
      }
    }
  }

  private static KeySetException refused(ErrorCode code, String message) {
    log.warn("key set re-wrap refused: {} {}", code.code(), message);
    return new KeySetException(code, message);
  }
}
