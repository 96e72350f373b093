package dev.keycast.enclave.keyset;

import dev.keycast.enclave.kms.KmsConnector;
import dev.keycast.enclave.kms.RecipientKeyPair;
import dev.keycast.protocol.DecryptionFailedException;
import dev.keycast.protocol.MalformedInputException;
import dev.keycast.protocol.api.EnclaveApi;
import dev.keycast.protocol.api.ErrorCode;
import dev.keycast.protocol.attestation.Attester;
import dev.keycast.protocol.cinema.CinemaException;
import dev.keycast.protocol.cinema.DcCertificateIssuer;
import dev.keycast.protocol.cinema.KdmSigner;
import dev.keycast.protocol.keyset.KdmSignerKeys;
import dev.keycast.protocol.keyset.KeyBundle;
import dev.keycast.protocol.keyset.KeySet;
import dev.keycast.protocol.keyset.KmsKeyCheck;
import dev.keycast.protocol.keyset.SealedKeySet;
import dev.keycast.protocol.kms.KmsKeyLockVerdict;
import dev.keycast.protocol.upgrade.ImageApproval;
import dev.keycast.protocol.upgrade.ImageApprovers;
import java.security.SecureRandom;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.services.kms.KmsClient;
import software.amazon.awssdk.services.kms.model.DataKeySpec;
import software.amazon.awssdk.services.kms.model.GenerateDataKeyResponse;
import software.amazon.awssdk.services.kms.model.RecipientInfo;

/**
 * The {@link KeySetService} of a Nitro Enclave (DESIGN.md section 3, flows 1 and 2;
 * kms-sealing.md):
 *
 * <ul>
 *   <li><b>init</b>: generates a {@link KeySet} with the enclave DRBG, calls KMS GenerateDataKey
 *       (AES_256, encryption context {@link SealedKeySet#encryptionContext(String)}, Recipient = an
 *       attestation document carrying a fresh RSA-2048 key), opens CiphertextForRecipient here,
 *       seals the key set and a freshly generated KDM signer ({@link KdmSignerKeys}: an ST 430-2
 *       root, intermediate and leaf, RSA-2048, 10 years) under the data key with the
 *       CiphertextBlob and the key ARN KMS answered (sealed key set version 2), and keeps both.
 *   <li><b>unseal</b>: parses the sealed key set, calls KMS Decrypt (its CiphertextBlob, its
 *       encryption context, the KMS key id of its header, Recipient with a fresh RSA key), opens
 *       CiphertextForRecipient and unseals (AES-256-GCM over the whole header). A version 1 sealed
 *       key set (no KDM signer) is migrated: the enclave generates a signer and seals key set and
 *       signer again as version 2 under the same data key with a fresh nonce, for the host to store
 *       ({@link #unsealAndMigrate}).
 * </ul>
 *
 * <p>Readiness: {@code not_initialized} until the first init/unseal, {@code unsealing} during one,
 * {@code ready} with a key set, {@code failed} with the reason after a failed attempt (the host may
 * try again). Data keys are zeroized after use; the key set of a failed attempt is destroyed.
 *
 * <p>Thread-safe: init and unseal are serialized; {@link #readiness()} and {@link #current()}
 * never block.
 */
public final class KmsKeySetService implements KeySetService {
  private static final Logger log = LoggerFactory.getLogger(KmsKeySetService.class);

  /** Readiness states (api.md, {@code GET /v1/ready}). */
  public static final String NOT_INITIALIZED = "not_initialized";

  public static final String UNSEALING = "unsealing";
  public static final String READY = "ready";
  public static final String FAILED = "failed";

  private final Attester attester;
  private final SecureRandom random;
  private final KmsConnector connector;
  private final KmsDataKeys dataKeys;
  private final Set<String> allowedKmsKeys;
  private final ImageApprovers imageApprovers;
  private final Object lock = new Object();
  private volatile EnclaveApi.Readiness readiness =
      new EnclaveApi.Readiness(
          false, NOT_INITIALIZED, null, "no key set yet: waiting for init or unseal");
  private volatile KeySet keySet;
  private volatile KeyBundle bundle;
  private volatile EnclaveApi.AwsCredentials credentials;
  private volatile KmsKeyLockVerdict kmsKeyVerdict;
  private volatile KdmSignerKeys signerKeys;
  private volatile KdmSigner kdmSigner;

  /** The version 2 sealed key set made from the version 1 one this enclave unsealed, or null. */
  private volatile byte[] migrated;

  /** The sealed key set whose keys are held (its data key is re-obtained to seal a new signer chain). */
  private volatile SealedKeySet heldSealed;

  /** The region of the KMS key of {@link #heldSealed}. */
  private volatile String heldRegion;

  private KmsKeySetService(
      Attester attester,
      SecureRandom random,
      KmsConnector connector,
      Set<String> allowedKmsKeys,
      ImageApprovers imageApprovers) {
    this.imageApprovers = Objects.requireNonNull(imageApprovers, "imageApprovers");
    this.attester = Objects.requireNonNull(attester, "attester");
    this.random = Objects.requireNonNull(random, "random");
    this.connector = Objects.requireNonNull(connector, "connector");
    this.dataKeys = new KmsDataKeys(attester, random, connector);
    this.allowedKmsKeys = Set.copyOf(allowedKmsKeys);
    if (this.allowedKmsKeys.isEmpty()) {
      log.warn(
          "no KMS key is pinned: the enclave will use whatever KMS key the host names;"
              + " its attested key bundle names that key, senders check it with --expect-kms-key"
              + " (kms-sealing.md section 5)");
    }
  }

  /**
   * A service that attests with {@code attester}, draws keys from {@code random} (the enclave
   * DRBG) and reaches KMS through {@code connector}; it uses any KMS key the host names. The caller
   * owns and closes the connector.
   */
  public static KmsKeySetService create(
      Attester attester, SecureRandom random, KmsConnector connector) {
    return new KmsKeySetService(attester, random, connector, Set.of(), ImageApprovers.NONE);
  }

  /**
   * Like {@link #create(Attester, SecureRandom, KmsConnector)}, but seals and unseals only under
   * the given KMS key ARNs ({@code arn:aws:kms:REGION:ACCOUNT:key/ID}, compared exactly): init
   * refuses a key whose ARN (as KMS answers it) is not listed, unseal refuses a sealed key set whose
   * header names another key, before calling KMS. Pin the key in the measured image to stop a host
   * from substituting a key set sealed under a key it controls (kms-sealing.md section 5).
   */
  public static KmsKeySetService create(
      Attester attester,
      SecureRandom random,
      KmsConnector connector,
      Set<String> allowedKmsKeyArns) {
    if (allowedKmsKeyArns.isEmpty()) {
      throw new IllegalArgumentException(
          "pin at least one KMS key ARN, or use the 3-argument create");
    }
    return new KmsKeySetService(
        attester, random, connector, allowedKmsKeyArns, ImageApprovers.NONE);
  }

  /**
   * This service, accepting image approvals signed by a quorum of {@code approvers} for {@link
   * #rewrap} (kms-sealing.md section 7). Call it before the first init or unseal; the approvers
   * MUST come from the measured image (the enclave's fixed command line).
   */
  public KmsKeySetService withImageApprovers(ImageApprovers approvers) {
    if (keySet != null) {
      throw new IllegalStateException(
          "image approvers are set before the key set is created or unsealed");
    }
    return new KmsKeySetService(attester, random, connector, allowedKmsKeys, approvers);
  }

  /**
   * Re-wraps the key set this enclave holds for a successor image under a new locked KMS key
   * (kms-sealing.md section 7; {@link KeySetUpgrade}). The enclave's own state does not change.
   */
  @Override
  public Initialized rewrap(ImageApproval approval, EnclaveApi.AwsCredentials credentials)
      throws KeySetException {
    checkCredentials(credentials);
    KeySet held = keySet;
    if (held == null || signerKeys == null) {
      throw new KeySetException(
          ErrorCode.NOT_READY, "the enclave holds no key set to re-wrap: init or unseal first");
    }
    return new KeySetUpgrade(this, imageApprovers).rewrap(held, signerKeys, approval, credentials);
  }

  @Override
  public EnclaveApi.Readiness readiness() {
    return readiness;
  }

  @Override
  public Optional<KeySet> current() {
    return Optional.ofNullable(keySet);
  }

  @Override
  public Optional<KeyBundle> currentBundle() {
    return Optional.ofNullable(bundle);
  }

  @Override
  public Optional<KdmSigner> kdmSigner() {
    return Optional.ofNullable(kdmSigner);
  }

  /**
   * What this enclave found its KMS key to be at the last init or unseal, from KMS's own answers
   * over its own TLS (DescribeKey, GetKeyPolicy, ListGrants; kms-sealing.md section 6): locked, or
   * who else could obtain plaintext. Empty before the first successful init or unseal.
   */
  public Optional<KmsKeyLockVerdict> kmsKeyVerdict() {
    return Optional.ofNullable(kmsKeyVerdict);
  }

  @Override
  public Initialized init(String kmsKeyId, String region, EnclaveApi.AwsCredentials credentials)
      throws KeySetException {
    checkKeyId(kmsKeyId);
    checkRegion(region);
    checkCredentials(credentials);
    synchronized (lock) {
      if (keySet != null) {
        throw new KeySetException(
            ErrorCode.ALREADY_INITIALIZED, "the enclave already holds key set " + keySet.id());
      }
      this.credentials = credentials;
      readiness =
          new EnclaveApi.Readiness(
              false, UNSEALING, null, "creating a new key set (KMS GenerateDataKey)");
      long t0 = System.nanoTime();
      KeySet fresh = KeySet.generate(random);
      byte[] dataKey = null;
      KmsKeyLockVerdict verdict = null;
      try {
        KdmSignerKeys signer = newSigner(fresh.id());
        Map<String, String> context = SealedKeySet.encryptionContext(fresh.id());
        GenerateDataKeyResponse r;
        try (RecipientKeyPair recipient = dataKeys.newRecipientKey();
            KmsClient kms = dataKeys.client(region, credentials)) {
          RecipientInfo info = dataKeys.recipientInfo(recipient);
          long failuresBefore = connector.forwarderConnectFailures();
          try {
            r =
                kms.generateDataKey(
                    b ->
                        b.keyId(kmsKeyId)
                            .keySpec(DataKeySpec.AES_256)
                            .encryptionContext(context)
                            .recipient(info));
          } catch (SdkException e) {
            throw KmsErrors.map(
                "GenerateDataKey",
                kmsKeyId,
                region,
                e,
                credentials,
                connector.forwarderConnectFailures() > failuresBefore);
          }
          KmsDataKeys.requireNoPlaintext(r.plaintext(), "GenerateDataKey");
          dataKey =
              KmsDataKeys.openRecipient(r.ciphertextForRecipient(), recipient, "GenerateDataKey");
          verdict =
              KmsDataKeys.judgeKey(
                  kms, r.keyId() != null && !r.keyId().isEmpty() ? r.keyId() : kmsKeyId);
        }
        byte[] blob = r.ciphertextBlob() == null ? null : r.ciphertextBlob().asByteArrayUnsafe();
        if (blob == null || blob.length < 1 || blob.length > SealedKeySet.MAX_ENCRYPTED_DATA_KEY) {
          throw new KeySetException(
              ErrorCode.KMS_ERROR, "KMS GenerateDataKey returned no usable CiphertextBlob");
        }
        String sealedUnder = r.keyId() != null && !r.keyId().isEmpty() ? r.keyId() : kmsKeyId;
        requireAllowed(sealedUnder);
        SealedKeySet sealed;
        try {
          sealed = SealedKeySet.seal(fresh, signer, dataKey, sealedUnder, blob, random);
        } catch (IllegalArgumentException e) {
          throw new KeySetException(
              ErrorCode.KMS_ERROR,
              "cannot seal under KMS key "
                  + KmsErrors.shorten(sealedUnder)
                  + ": "
                  + e.getMessage());
        }
        // The attested bundle carries the verdict on the key (bundle version 3): senders refuse an
        // unlocked key unless told otherwise (kms-sealing.md section 6).
        KeyBundle freshBundle =
            sealed
                .bundle()
                .withKmsKeyCheck(new KmsKeyCheck(verdict.locked(), verdict.policySha256()));
        hold(signer);
        heldSealed = sealed;
        heldRegion = region;
        bundle = freshBundle;
        keySet = fresh;
        kmsKeyVerdict = verdict;
        readiness = new EnclaveApi.Readiness(true, READY, fresh.id(), null);
        log.info(
            "key set {} created and sealed under KMS key {} (sealed key set {} bytes) in {} ms",
            fresh.id(),
            sealedUnder,
            sealed.encode().length,
            (System.nanoTime() - t0) / 1_000_000);
        return new Initialized(sealed.encode(), freshBundle);
      } catch (KeySetException e) {
        fresh.destroy();
        fail("init", e);
        throw e;
      } catch (RuntimeException e) {
        fresh.destroy();
        KeySetException k =
            new KeySetException(
                ErrorCode.INTERNAL, "init failed unexpectedly: " + e.getClass().getSimpleName());
        fail("init", k);
        throw k;
      } finally {
        KmsDataKeys.zero(dataKey);
      }
    }
  }

  @Override
  public KeyBundle unseal(byte[] sealedKeySet, String region, EnclaveApi.AwsCredentials credentials)
      throws KeySetException {
    return unsealAndMigrate(sealedKeySet, region, credentials).bundle();
  }

  @Override
  public Unsealed unsealAndMigrate(
      byte[] sealedKeySet, String region, EnclaveApi.AwsCredentials credentials)
      throws KeySetException {
    checkRegion(region);
    checkCredentials(credentials);
    SealedKeySet sealed;
    try {
      sealed = SealedKeySet.parse(sealedKeySet);
    } catch (MalformedInputException e) {
      KeySetException k =
          new KeySetException(
              ErrorCode.SEALED_KEY_SET_INVALID,
              "sealed key set is invalid: " + e.getMessage() + " [" + e.code() + "]",
              e);
      synchronized (lock) {
        if (keySet == null) {
          fail("unseal", k);
        }
      }
      throw k;
    }
    synchronized (lock) {
      if (keySet != null) {
        if (keySet.id().equals(sealed.keySetId())) {
          return new Unsealed(bundle, Optional.ofNullable(migrated));
        }
        throw new KeySetException(
            ErrorCode.ALREADY_INITIALIZED,
            "the enclave already holds key set " + keySet.id() + ", not " + sealed.keySetId());
      }
      this.credentials = credentials;
      readiness =
          new EnclaveApi.Readiness(
              false,
              UNSEALING,
              sealed.keySetId(),
              "unsealing key set " + sealed.keySetId() + " (KMS Decrypt)");
      long t0 = System.nanoTime();
      byte[] dataKey = null;
      KmsKeyLockVerdict verdict = null;
      try {
        String keyId = sealed.kmsKeyId();
        requireAllowed(keyId);
        KmsDataKeys.Decrypted d = dataKeys.decrypt(sealed, keyId, region, credentials, true);
        dataKey = d.dataKey();
        verdict = d.verdict();
        SealedKeySet.Unsealed unsealed;
        try {
          unsealed = sealed.open(dataKey);
        } catch (DecryptionFailedException e) {
          throw new KeySetException(
              ErrorCode.SEALED_KEY_SET_INVALID,
              "sealed key set does not open: its header, signer chain or ciphertext was altered, or it was sealed"
                  + " under another data key");
        }
        KeySet opened = unsealed.keySet();
        // authenticated now: the header (with its KMS key id and signer chain) was the AEAD's
        // associated data
        SealedKeySet held = sealed;
        KdmSignerKeys signer;
        byte[] resealed = null;
        try {
          if (unsealed.kdmSigner().isPresent()) {
            signer = unsealed.kdmSigner().get();
          } else {
            // version 1: migrate to version 2 under the same data key, with a fresh nonce
            signer = newSigner(opened.id());
            held =
                SealedKeySet.seal(
                    opened, signer, dataKey, sealed.kmsKeyId(), sealed.encryptedDataKey(), random);
            resealed = held.encode();
          }
        } catch (KeySetException | RuntimeException e) {
          opened.destroy();
          throw e;
        }
        KeyBundle openedBundle =
            held.bundle()
                .withKmsKeyCheck(new KmsKeyCheck(verdict.locked(), verdict.policySha256()));
        hold(signer);
        heldSealed = held;
        heldRegion = region;
        migrated = resealed;
        bundle = openedBundle;
        keySet = opened;
        kmsKeyVerdict = verdict;
        readiness = new EnclaveApi.Readiness(true, READY, opened.id(), null);
        if (resealed != null) {
          log.info(
              "key set {} unsealed with KMS key {} and migrated from sealed key set version 1 to {} (a new"
                  + " KDM signer; the host stores the migrated key set) in {} ms",
              opened.id(),
              keyId,
              SealedKeySet.VERSION,
              (System.nanoTime() - t0) / 1_000_000);
        } else {
          log.info(
              "key set {} unsealed with KMS key {} in {} ms",
              opened.id(),
              keyId,
              (System.nanoTime() - t0) / 1_000_000);
        }
        return new Unsealed(openedBundle, Optional.ofNullable(resealed));
      } catch (KeySetException e) {
        fail("unseal", e);
        throw e;
      } catch (RuntimeException e) {
        KeySetException k =
            new KeySetException(
                ErrorCode.INTERNAL, "unseal failed unexpectedly: " + e.getClass().getSimpleName());
        fail("unseal", k);
        throw k;
      } finally {
        KmsDataKeys.zero(dataKey);
      }
    }
  }

  @Override
  public byte[] kdmSignerCsr(String organization, String organizationalUnit, String entity)
      throws KeySetException {
    KeySet held = keySet;
    KdmSignerKeys signer = signerKeys;
    if (held == null || signer == null) {
      throw new KeySetException(
          ErrorCode.NOT_READY, "the enclave holds no key set: init or unseal first");
    }
    try {
      return signer.leafCsr(held.id(), organization, organizationalUnit, entity);
    } catch (CinemaException e) {
      throw new KeySetException(ErrorCode.MALFORMED_REQUEST, e.code() + ": " + e.getMessage());
    }
  }

  /**
   * Imports a distributor-issued signer chain for the held leaf key (wire-format.md section 4.6):
   * checks it ({@link KdmSignerKeys#withImportedChain}), obtains the held sealed key set's data key
   * again with KMS Decrypt (its CiphertextBlob, encryption context and KMS key; Recipient with a
   * fresh RSA key), seals the key set with the new signer under it with a fresh nonce, and only then
   * switches the signer and the bundle (keeping the bundle's KMS key check).
   */
  @Override
  public Initialized importKdmSignerChain(
      List<byte[]> chainDer, EnclaveApi.AwsCredentials credentials) throws KeySetException {
    checkCredentials(credentials);
    synchronized (lock) {
      KeySet held = keySet;
      SealedKeySet sealed = heldSealed;
      if (held == null || signerKeys == null || sealed == null) {
        throw new KeySetException(
            ErrorCode.NOT_READY, "the enclave holds no key set: init or unseal first");
      }
      KdmSignerKeys next;
      try {
        next = signerKeys.withImportedChain(chainDer, Instant.now());
      } catch (CinemaException e) {
        ErrorCode code =
            "kdm_signer_chain_key_mismatch".equals(e.code())
                ? ErrorCode.KDM_SIGNER_CHAIN_KEY_MISMATCH
                : ErrorCode.KDM_SIGNER_CHAIN_INVALID;
        log.warn("KDM signer chain refused: {} {}", code.code(), e.code());
        throw new KeySetException(code, e.code() + ": " + e.getMessage());
      }
      long t0 = System.nanoTime();
      byte[] dataKey = null;
      try {
        String keyId = sealed.kmsKeyId();
        requireAllowed(keyId);
        dataKey = dataKeys.decrypt(sealed, keyId, heldRegion, credentials, false).dataKey();
        // the data key must be the one of the held key set: opening the held bytes proves it
        try {
          sealed.open(dataKey).keySet().destroy();
        } catch (DecryptionFailedException e) {
          throw new KeySetException(
              ErrorCode.KMS_ERROR, "KMS Decrypt answered another data key than the held key set's");
        }
        SealedKeySet resealed =
            SealedKeySet.seal(held, next, dataKey, keyId, sealed.encryptedDataKey(), random);
        KeyBundle old = bundle;
        KeyBundle nextBundle =
            old.kmsKeyCheck()
                .map(c -> resealed.bundle().withKmsKeyCheck(c))
                .orElse(resealed.bundle());
        byte[] encoded = resealed.encode();
        hold(next);
        heldSealed = resealed;
        bundle = nextBundle;
        if (migrated != null) {
          migrated = encoded; // what a host still holding version 1 must store next
        }
        log.info(
            "key set {}: imported a distributor's KDM signer chain ({} certificates, root {}) and sealed it"
                + " again under the same data key in {} ms",
            held.id(),
            next.chain().size(),
            next.chain().get(next.chain().size() - 1).getSubjectX500Principal().getName(),
            (System.nanoTime() - t0) / 1_000_000);
        return new Initialized(encoded, nextBundle);
      } finally {
        KmsDataKeys.zero(dataKey);
      }
    }
  }

  @Override
  public void updateCredentials(EnclaveApi.AwsCredentials credentials) {
    try {
      checkCredentials(credentials);
    } catch (KeySetException e) {
      throw new IllegalArgumentException(e.getMessage());
    }
    this.credentials = credentials;
  }

  /** The credentials last handed over (for later KMS calls); empty before the first. */
  Optional<EnclaveApi.AwsCredentials> credentials() {
    return Optional.ofNullable(credentials);
  }

  // ---- helpers ------------------------------------------------------------------------------

  /** Years a generated KDM signer chain is valid (ST 430-2 chains Keycast issues: at most 10). */
  static final int SIGNER_YEARS = DcCertificateIssuer.MAX_VALIDITY_YEARS;

  /**
   * A fresh KDM signer for key set {@code keySetId}, valid from the start of yesterday (UTC), so a
   * KDM whose window starts today in any cinema's offset lies inside it, for {@link #SIGNER_YEARS}
   * years. About half a second of CPU (three RSA-2048 keys): init and migration only.
   */
  private KdmSignerKeys newSigner(String keySetId) throws KeySetException {
    Instant notBefore = Instant.now().truncatedTo(ChronoUnit.DAYS).minus(1, ChronoUnit.DAYS);
    try {
      return KdmSignerKeys.generate(keySetId, notBefore, signerYears(notBefore), random);
    } catch (CinemaException e) {
      throw new KeySetException(
          ErrorCode.INTERNAL, "cannot issue the KDM signer chain: " + e.code());
    }
  }

  /**
   * {@link #SIGNER_YEARS}, or fewer when the chain would otherwise end in 2050 or later (ST 430-2
   * certificates carry UTCTime, which ends with 2049): from 2040 a new signer gets the whole years
   * left before 2050; from 2049 none is left and the issuer refuses.
   */
  static int signerYears(Instant notBefore) {
    int years = SIGNER_YEARS;
    while (years > 1
        && notBefore.atOffset(java.time.ZoneOffset.UTC).plusYears(years).getYear() >= 2050) {
      years--;
    }
    return years;
  }

  private void hold(KdmSignerKeys signer) {
    signerKeys = signer;
    kdmSigner = signer.signer();
  }

  private void requireAllowed(String kmsKeyArn) throws KeySetException {
    if (!allowedKmsKeys.isEmpty() && !allowedKmsKeys.contains(kmsKeyArn)) {
      throw new KeySetException(
          ErrorCode.KMS_ERROR,
          "KMS key "
              + KmsErrors.shorten(kmsKeyArn)
              + " is not the KMS key this enclave is pinned to "
              + allowedKmsKeys);
    }
  }

  private void fail(String what, KeySetException e) {
    readiness = new EnclaveApi.Readiness(false, FAILED, null, e.getMessage());
    log.warn("key set {} failed: {} {}", what, e.code().code(), e.getMessage());
  }

  private static void checkKeyId(String kmsKeyId) throws KeySetException {
    if (kmsKeyId == null
        || kmsKeyId.isEmpty()
        || kmsKeyId.length() > SealedKeySet.MAX_KMS_KEY_ID
        || !kmsKeyId.chars().allMatch(c -> c >= 0x21 && c <= 0x7e)) {
      throw new KeySetException(
          ErrorCode.MALFORMED_REQUEST,
          "kms_key_id must be 1.." + SealedKeySet.MAX_KMS_KEY_ID + " printable ASCII characters");
    }
  }

  private static void checkRegion(String region) throws KeySetException {
    try {
      KmsConnector.kmsHost(region);
    } catch (IllegalArgumentException e) {
      throw new KeySetException(ErrorCode.MALFORMED_REQUEST, e.getMessage());
    }
  }

  static void checkCredentials(EnclaveApi.AwsCredentials c) throws KeySetException {
    if (c == null || blank(c.accessKeyId()) || blank(c.secretAccessKey())) {
      throw new KeySetException(
          ErrorCode.MALFORMED_REQUEST, "credentials need access_key_id and secret_access_key");
    }
    if (c.accessKeyId().length() > 128
        || c.secretAccessKey().length() > 256
        || (c.sessionToken() != null && c.sessionToken().length() > 8192)) {
      throw new KeySetException(
          ErrorCode.MALFORMED_REQUEST, "credentials are longer than AWS issues");
    }
  }

  private static boolean blank(String s) {
    return s == null || s.isBlank();
  }

  SecureRandom random() {
    return random;
  }

  /** The KMS calls for data keys (also {@link KeySetUpgrade}'s). */
  KmsDataKeys dataKeys() {
    return dataKeys;
  }

  @Override
  public String toString() {
    return "KmsKeySetService[" + readiness.state() + ", " + connector + "]";
  }
}
