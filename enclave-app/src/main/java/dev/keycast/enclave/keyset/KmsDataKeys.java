package dev.keycast.enclave.keyset;

import dev.keycast.enclave.kms.KmsConnector;
import dev.keycast.enclave.kms.RecipientKeyPair;
import dev.keycast.protocol.DecryptionFailedException;
import dev.keycast.protocol.MalformedInputException;
import dev.keycast.protocol.api.EnclaveApi;
import dev.keycast.protocol.api.ErrorCode;
import dev.keycast.protocol.attestation.Attester;
import dev.keycast.protocol.attestation.AttesterException;
import dev.keycast.protocol.keyset.SealedKeySet;
import dev.keycast.protocol.kms.KmsKeyLockVerdict;
import java.io.IOException;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.core.SdkBytes;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.services.kms.KmsClient;
import software.amazon.awssdk.services.kms.model.DecryptResponse;
import software.amazon.awssdk.services.kms.model.KeyEncryptionMechanism;
import software.amazon.awssdk.services.kms.model.KeyMetadata;
import software.amazon.awssdk.services.kms.model.ListGrantsResponse;
import software.amazon.awssdk.services.kms.model.RecipientInfo;

/**
 * The enclave's KMS calls for data keys (kms-sealing.md): a client over the enclave's own TLS
 * connection, each call with a fresh RSA-2048 Recipient key in an attestation document so that
 * only this enclave can open the answer ({@code CiphertextForRecipient}), the data key of a sealed
 * key set by KMS Decrypt, and the verdict on whether a KMS key is locked (its metadata, policy and
 * grants).
 */
final class KmsDataKeys {
  // the key set service's log lines keep the category they always had
  private static final Logger log = LoggerFactory.getLogger(KmsKeySetService.class);

  static final int DATA_KEY_BYTES = 32;

  /** At most this many ListGrants pages (of 100) are read; more grants is "not locked" anyway. */
  static final int MAX_GRANT_PAGES = 10;

  private final Attester attester;
  private final SecureRandom random;
  private final KmsConnector connector;

  KmsDataKeys(Attester attester, SecureRandom random, KmsConnector connector) {
    this.attester = attester;
    this.random = random;
    this.connector = connector;
  }

  /** A data key from KMS Decrypt, and the verdict on its KMS key when one was asked for (else null). */
  record Decrypted(byte[] dataKey, KmsKeyLockVerdict verdict) {}

  /**
   * The data key of {@code sealed} by KMS Decrypt (its CiphertextBlob, its encryption context, KMS
   * key {@code keyId}, Recipient with a fresh RSA key); with {@code judge}, the verdict on the key
   * read over the same connection. The caller zeroizes the data key.
   */
  Decrypted decrypt(
      SealedKeySet sealed,
      String keyId,
      String region,
      EnclaveApi.AwsCredentials credentials,
      boolean judge)
      throws KeySetException {
    try (RecipientKeyPair recipient = newRecipientKey();
        KmsClient kms = client(region, credentials)) {
      RecipientInfo info = recipientInfo(recipient);
      long failuresBefore = connector.forwarderConnectFailures();
      DecryptResponse r;
      try {
        r =
            kms.decrypt(
                b ->
                    b.ciphertextBlob(SdkBytes.fromByteArray(sealed.encryptedDataKey()))
                        .encryptionContext(sealed.encryptionContext())
                        .keyId(keyId)
                        .recipient(info));
      } catch (SdkException e) {
        throw KmsErrors.map(
            "Decrypt",
            keyId,
            region,
            e,
            credentials,
            connector.forwarderConnectFailures() > failuresBefore);
      }
      requireNoPlaintext(r.plaintext(), "Decrypt");
      byte[] dataKey = openRecipient(r.ciphertextForRecipient(), recipient, "Decrypt");
      try {
        return new Decrypted(dataKey, judge ? judgeKey(kms, keyId) : null);
      } catch (RuntimeException e) {
        zero(dataKey);
        throw e;
      }
    }
  }

  RecipientKeyPair newRecipientKey() throws KeySetException {
    try {
      return RecipientKeyPair.generate(random);
    } catch (GeneralSecurityException e) {
      throw new KeySetException(
          ErrorCode.INTERNAL, "cannot generate the RSA-2048 Recipient key: " + e.getMessage());
    }
  }

  RecipientInfo recipientInfo(RecipientKeyPair recipient) throws KeySetException {
    byte[] document;
    try {
      document = attester.attest(null, null, recipient.publicKeySpki());
    } catch (AttesterException | RuntimeException e) {
      throw new KeySetException(
          ErrorCode.INTERNAL,
          "cannot obtain an attestation document for the KMS Recipient: " + e.getMessage());
    }
    return RecipientInfo.builder()
        .attestationDocument(SdkBytes.fromByteArrayUnsafe(document))
        .keyEncryptionAlgorithm(KeyEncryptionMechanism.RSAES_OAEP_SHA_256)
        .build();
  }

  KmsClient client(String region, EnclaveApi.AwsCredentials creds) throws KeySetException {
    try {
      return connector.client(region, creds);
    } catch (IOException e) {
      throw new KeySetException(
          ErrorCode.KMS_UNAVAILABLE, "cannot start the KMS egress forwarder: " + e.getMessage());
    }
  }

  KmsConnector connector() {
    return connector;
  }

  static byte[] openRecipient(SdkBytes cms, RecipientKeyPair recipient, String operation)
      throws KeySetException {
    if (cms == null) {
      throw new KeySetException(
          ErrorCode.KMS_ERROR, "KMS " + operation + " returned no CiphertextForRecipient");
    }
    try {
      return recipient.open(cms.asByteArrayUnsafe(), DATA_KEY_BYTES);
    } catch (MalformedInputException e) {
      throw new KeySetException(
          ErrorCode.KMS_ERROR,
          "KMS "
              + operation
              + " returned a CiphertextForRecipient outside the profile: "
              + e.getMessage());
    } catch (DecryptionFailedException e) {
      throw new KeySetException(
          ErrorCode.KMS_ERROR,
          "KMS "
              + operation
              + " returned a CiphertextForRecipient that the Recipient key does not open");
    }
  }

  static void requireNoPlaintext(SdkBytes plaintext, String operation) throws KeySetException {
    if (plaintext != null && plaintext.asByteArrayUnsafe().length > 0) {
      Arrays.fill(plaintext.asByteArrayUnsafe(), (byte) 0);
      throw new KeySetException(
          ErrorCode.KMS_ERROR,
          "KMS " + operation + " returned the data key in Plaintext although a Recipient was sent");
    }
  }

  static void zero(byte[] b) {
    if (b != null) {
      Arrays.fill(b, (byte) 0);
    }
  }

  /** The grants of a KMS key, at most {@link #MAX_GRANT_PAGES} pages; {@code more}: there are further ones. */
  record GrantList(List<KmsKeyLockVerdict.Grant> grants, boolean more) {}

  /** Lists the key's grants (a failure is the caller's to judge). */
  static GrantList listGrants(KmsClient kms, String keyArn) {
    List<KmsKeyLockVerdict.Grant> grants = new ArrayList<>();
    String marker = null;
    for (int page = 0; page < MAX_GRANT_PAGES; page++) {
      String m = marker;
      ListGrantsResponse r = kms.listGrants(b -> b.keyId(keyArn).limit(100).marker(m));
      r.grants()
          .forEach(
              g ->
                  grants.add(
                      new KmsKeyLockVerdict.Grant(
                          g.grantId(), g.granteePrincipal(), g.operationsAsStrings())));
      if (!Boolean.TRUE.equals(r.truncated())) {
        break;
      }
      marker = r.nextMarker();
      if (page == MAX_GRANT_PAGES - 1) {
        return new GrantList(grants, true);
      }
    }
    return new GrantList(grants, false);
  }

  /**
   * Reads the key's metadata, policy and grants from KMS over this enclave's own TLS connection and
   * judges whether it is locked. A KMS refusal or failure to read any of them is "not locked" (with
   * the reason), never an error of init or unseal: availability is the host's and the account's to
   * take, the verdict only says what a sender may rely on.
   */
  static KmsKeyLockVerdict judgeKey(KmsClient kms, String keyArn) {
    KmsKeyLockVerdict verdict;
    try {
      KeyMetadata md = kms.describeKey(b -> b.keyId(keyArn)).keyMetadata();
      String policy = kms.getKeyPolicy(b -> b.keyId(keyArn).policyName("default")).policy();
      GrantList listed = listGrants(kms, keyArn);
      List<KmsKeyLockVerdict.Grant> grants = listed.grants();
      if (listed.more()) {
        grants.add(
            new KmsKeyLockVerdict.Grant(
                "(more)", "(more than " + grants.size() + " grants)", List.of()));
      }
      verdict =
          KmsKeyLockVerdict.evaluate(
              policy,
              grants,
              new KmsKeyLockVerdict.KeyFacts(
                  md.originAsString(),
                  md.keyManagerAsString(),
                  !Boolean.FALSE.equals(md.multiRegion())));
    } catch (SdkException e) {
      String code =
          e instanceof software.amazon.awssdk.awscore.exception.AwsServiceException a
                  && a.awsErrorDetails() != null
              ? a.awsErrorDetails().errorCode()
              : e.getClass().getSimpleName();
      verdict =
          new KmsKeyLockVerdict(
              false,
              List.of(
                  "cannot read the key's metadata, policy or grants ("
                      + code
                      + "): the policy must let this enclave's"
                      + " role call DescribeKey, GetKeyPolicy and ListGrants"),
              new byte[32],
              java.util.Set.of());
    }
    if (verdict.locked()) {
      log.info(
          "KMS key {} is locked: only images {} can obtain plaintext; policy sha256 {}",
          keyArn,
          verdict.admittedImages(),
          java.util.HexFormat.of().formatHex(verdict.policySha256()));
    } else {
      log.warn("KMS key {} is NOT locked: {}", keyArn, String.join("; ", verdict.reasons()));
    }
    return verdict;
  }
}
