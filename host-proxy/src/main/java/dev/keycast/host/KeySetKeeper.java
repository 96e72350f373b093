package dev.keycast.host;

import dev.keycast.host.bridge.EnclaveClient;
import dev.keycast.host.bridge.EnclaveException;
import dev.keycast.host.bridge.EnclaveResponse;
import dev.keycast.host.egress.CredentialsProvider;
import dev.keycast.host.server.ApiException;
import dev.keycast.host.server.HostControl;
import dev.keycast.host.store.ArtefactStore;
import dev.keycast.host.store.StoreException;
import dev.keycast.host.store.StoredKeySet;
import dev.keycast.protocol.Base64Url;
import dev.keycast.protocol.api.EnclaveApi;
import dev.keycast.protocol.api.EnclaveApi.AwsCredentials;
import dev.keycast.protocol.api.ErrorCode;
import dev.keycast.protocol.keyset.SealedKeySet;
import java.io.IOException;
import java.security.SecureRandom;
import java.util.Objects;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The enclave's key set as the host keeps it: the boot sequence (wait for the enclave; adopt an
 * enclave that is already ready, unseal the stored sealed key set, or create one on first boot),
 * the admin operations on the key set (init, re-wrap for a successor image, the KDM signer's CSR
 * and chain), the sealed versions it stores, the hand-over of refreshed credentials, and the
 * readiness all of it leads to. {@link HostProxy} runs {@link #boot} and {@link #refreshLoop} on
 * threads of their own.
 */
final class KeySetKeeper {
  // the host's log lines keep the category they always had
  private static final Logger LOG = LoggerFactory.getLogger(HostProxy.class);

  private final HostProxy.Config config;
  private final ArtefactStore store;
  private final CredentialsProvider credentials;
  private final EnclaveClient enclave;
  private final SenderSetKeeper senders;

  private final Object lock = new Object();
  private volatile EnclaveApi.Readiness readiness =
      new EnclaveApi.Readiness(
          false, "waiting_for_enclave", null, "the enclave has not answered yet");
  private volatile EnclaveApi.KeyBundle bundle;
  private volatile Integer sealedVersion;
  private volatile AwsCredentials lastSent;

  KeySetKeeper(
      HostProxy.Config config,
      ArtefactStore store,
      CredentialsProvider credentials,
      EnclaveClient enclave,
      SenderSetKeeper senders) {
    this.config = config;
    this.store = store;
    this.credentials = credentials;
    this.enclave = enclave;
    this.senders = senders;
  }

  EnclaveApi.Readiness readiness() {
    return readiness;
  }

  EnclaveApi.KeyBundle keyBundle() {
    return bundle;
  }

  /** The version of the sealed key set last stored or found in the store, or null. */
  Integer sealedVersion() {
    return sealedVersion;
  }

  // ------------------------------------------------------------------ boot

  /** The boot sequence (run on its own thread): see {@link HostProxy}. */
  void boot() {
    try {
      waitForEnclave();
      Optional<StoredKeySet> stored = store.latestSealedKeySet();
      stored.ifPresent(k -> sealedVersion = k.version());
      EnclaveResponse ready = enclave.get("/v1/ready");
      if (ready.ok()) {
        adoptRunningEnclave(ready, stored);
        return;
      }
      if (stored.isPresent()) {
        unseal(stored.get());
      } else if (config.initKmsKeyId() != null) {
        setState(false, "not_initialized", null, "first boot: creating the key set");
        long delay = 500;
        while (true) {
          try {
            initKeySet(config.initKmsKeyId());
            break;
          } catch (ApiException e) {
            ErrorCode c = e.code();
            boolean transient_ =
                c == ErrorCode.KMS_UNAVAILABLE
                    || c == ErrorCode.ENCLAVE_UNAVAILABLE
                    || c == ErrorCode.OVERLOADED
                    || c == ErrorCode.NOT_READY
                    || c == ErrorCode.STORE_UNAVAILABLE;
            LOG.error(
                "key-set init failed ({}): {}{}",
                c.code(),
                e.getMessage(),
                transient_ ? "; retrying in " + delay + " ms" : "");
            if (!transient_ || store.latestSealedKeySet().isPresent()) {
              break;
            }
            Thread.sleep(delay);
            delay = Math.min(60_000, delay * 2);
          }
        }
      } else {
        setState(
            false,
            "not_initialized",
            null,
            "no sealed key set stored; POST /admin/keyset/init or start with --init-kms-key-id");
        LOG.warn(
            "no sealed key set stored and no --init-kms-key-id: waiting for POST /admin/keyset/init");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (StoreException e) {
      setState(false, "failed", null, "store: " + e.code().id());
      LOG.error("boot failed: the store is unavailable ({})", e.code().id());
    } catch (EnclaveException e) {
      setState(false, "failed", null, "enclave: " + e.getMessage());
      LOG.error("boot failed: {}", e.getMessage());
    }
  }

  private void waitForEnclave() throws InterruptedException {
    long delay = 100;
    while (true) {
      try {
        EnclaveResponse r = enclave.get("/v1/health");
        if (r.ok()) {
          LOG.info("the enclave at {} is up", config.enclave());
          return;
        }
        setState(false, "waiting_for_enclave", null, "the enclave answered HTTP " + r.status());
      } catch (EnclaveException e) {
        setState(false, "waiting_for_enclave", null, e.getMessage());
      }
      Thread.sleep(delay);
      delay = Math.min(5_000, delay * 2);
    }
  }

  private void adoptRunningEnclave(EnclaveResponse ready, Optional<StoredKeySet> stored)
      throws EnclaveException, InterruptedException {
    EnclaveApi.Readiness r = ready.decode(EnclaveApi.Readiness.class, 64 * 1024);
    if (stored.isEmpty()) {
      setState(
          false,
          "failed",
          r.keySetId(),
          "the enclave holds a key set that the store does not have");
      LOG.error("the enclave is already initialized but the store holds no sealed key set");
      return;
    }
    byte[] nonce = new byte[16];
    new SecureRandom().nextBytes(nonce);
    EnclaveApi.AttestationResponse a =
        enclave
            .get("/v1/attestation?nonce=" + Base64Url.encode(nonce))
            .decode(EnclaveApi.AttestationResponse.class, 1 << 20);
    bundle = a.keyBundle();
    if (isVersion1(stored.get())) {
      // a host that died before it stored the enclave's migration (issue 24): the enclave answers
      // the same migrated key set again when asked to unseal the version 1 it already holds
      try {
        EnclaveApi.KeySetResponse again =
            enclave.post(
                "/v1/keyset/unseal",
                new EnclaveApi.UnsealRequest(
                    Base64Url.encode(stored.get().bytes()),
                    config.region(),
                    credentials.credentials()),
                EnclaveApi.KeySetResponse.class);
        storeMigrated(stored.get(), again);
      } catch (IOException e) {
        LOG.warn(
            "cannot ask the enclave for its migrated key set (no credentials: {})", e.getMessage());
      }
    }
    senders.afterUnseal(); // issue 23: an enclave that lost nothing keeps its set (same version)
    setState(true, "ready", r.keySetId(), null);
    LOG.info("the enclave already serves key set {}", r.keySetId());
  }

  private static boolean isVersion1(StoredKeySet k) {
    try {
      return SealedKeySet.parse(k.bytes()).version() == SealedKeySet.VERSION_1;
    } catch (dev.keycast.protocol.MalformedInputException e) {
      return false;
    }
  }

  /**
   * Stores the sealed key set the enclave migrated (a version 1 key set it sealed again as version
   * 2 with a KDM signer; wire-format.md 4.3) as the next version after {@code unsealed}. The host
   * only checks that it parses and names the same key set: the enclave authenticates it at the next
   * unseal. A failure to store is logged, not fatal: the enclave serves either way, and the next
   * boot unseals the version 1 again and migrates it again (with a new signer).
   */
  private void storeMigrated(StoredKeySet unsealed, EnclaveApi.KeySetResponse r)
      throws InterruptedException {
    if (r.sealedKeySet() == null) {
      return;
    }
    byte[] migrated;
    try {
      migrated = Base64Url.decode("sealed_key_set", r.sealedKeySet(), SealedKeySet.MAX_ENCODED);
      SealedKeySet next = SealedKeySet.parse(migrated);
      SealedKeySet before = SealedKeySet.parse(unsealed.bytes());
      if (!next.keySetId().equals(before.keySetId()) || next.version() <= before.version()) {
        LOG.error(
            "the enclave's migrated sealed key set names key set {} version {}, not a newer version of {};"
                + " not stored",
            next.keySetId(),
            next.version(),
            before.keySetId());
        return;
      }
    } catch (dev.keycast.protocol.MalformedInputException e) {
      LOG.error(
          "the enclave's migrated sealed key set does not parse ({}); not stored", e.getMessage());
      return;
    }
    int version = unsealed.version() + 1;
    for (int attempt = 0; attempt < 5; attempt++) {
      try {
        store.putSealedKeySet(version, migrated);
        sealedVersion = version;
        LOG.info(
            "stored the migrated sealed key set (format version {}, with the KDM signer) as key-set version {}",
            SealedKeySet.VERSION,
            version);
        return;
      } catch (StoreException e) {
        if (e.code() == StoreException.Code.CONFLICT) {
          LOG.warn(
              "key-set version {} is already stored (another host stored the migration?)", version);
          return;
        }
        LOG.warn(
            "storing the migrated sealed key set failed ({}), attempt {}",
            e.code().id(),
            attempt + 1);
        Thread.sleep(200L << attempt);
      }
    }
    LOG.error(
        "the migrated sealed key set could not be stored: the next boot migrates the version 1 key set again");
  }

  private void unseal(StoredKeySet k) throws InterruptedException {
    long delay = 500;
    while (true) {
      setState(false, "unsealing", null, null);
      try {
        AwsCredentials creds = credentials.credentials();
        EnclaveApi.KeySetResponse r =
            enclave.post(
                "/v1/keyset/unseal",
                new EnclaveApi.UnsealRequest(Base64Url.encode(k.bytes()), config.region(), creds),
                EnclaveApi.KeySetResponse.class);
        lastSent = creds;
        bundle = r.keyBundle();
        storeMigrated(k, r); // issue 24: a version 1 key set comes back migrated
        senders.afterUnseal(); // issue 23: hand back the sealed sender set
        setState(true, "ready", r.keyBundle().keySetId(), null);
        LOG.info("unsealed key set {} (version {})", r.keyBundle().keySetId(), k.version());
        return;
      } catch (EnclaveException e) {
        boolean transient_ =
            e.isUnavailable()
                || e.code() == ErrorCode.KMS_UNAVAILABLE
                || e.code() == ErrorCode.NOT_READY;
        setState(
            false,
            transient_ ? "unsealing" : "failed",
            null,
            e.code().code() + ": " + e.getMessage());
        LOG.warn("unseal failed ({}); retrying in {} ms", e.code().code(), delay);
      } catch (IOException e) {
        setState(false, "unsealing", null, "credentials: " + e.getMessage());
        LOG.warn("no credentials for unseal: {}", e.getMessage());
      }
      Thread.sleep(delay);
      delay = Math.min(60_000, delay * 2);
    }
  }

  /** See {@link HostControl#initKeySet}; answers the readiness after the init. */
  EnclaveApi.Readiness initKeySet(String kmsKeyId) throws ApiException, InterruptedException {
    String keyId = kmsKeyId != null ? kmsKeyId : config.initKmsKeyId();
    if (keyId == null || keyId.isBlank()) {
      throw new ApiException(
          ErrorCode.MALFORMED_REQUEST,
          "no KMS key id: pass ?kms_key_id= or start with --init-kms-key-id");
    }
    synchronized (lock) {
      try {
        if (store.latestSealedKeySet().isPresent()) {
          throw new ApiException(ErrorCode.ALREADY_INITIALIZED, "the store holds a sealed key set");
        }
      } catch (StoreException e) {
        throw new ApiException(ErrorCode.STORE_UNAVAILABLE, "store: " + e.code().id());
      }
      String state = readiness.state();
      if (!state.equals("not_initialized") && !state.equals("failed")) {
        throw new ApiException(ErrorCode.NOT_READY, "cannot init while " + state);
      }
      setState(false, "initializing", null, null);
      EnclaveApi.KeySetResponse r;
      AwsCredentials creds;
      try {
        creds = credentials.credentials();
        r =
            enclave.post(
                "/v1/keyset/init",
                new EnclaveApi.InitRequest(keyId, config.region(), creds),
                EnclaveApi.KeySetResponse.class);
      } catch (EnclaveException e) {
        setState(
            false,
            e.code() == ErrorCode.ALREADY_INITIALIZED ? "failed" : "not_initialized",
            null,
            e.code().code() + ": " + e.getMessage());
        throw new ApiException(e.code(), e.status(), e.getMessage());
      } catch (IOException e) {
        setState(false, "not_initialized", null, "credentials: " + e.getMessage());
        throw new ApiException(ErrorCode.KMS_ERROR, "no credentials: " + e.getMessage());
      }
      byte[] sealed;
      try {
        sealed = Base64Url.decode("sealed_key_set", r.sealedKeySet(), 1 << 20);
      } catch (Exception e) {
        setState(false, "failed", null, "the enclave returned no sealed key set");
        throw new ApiException(ErrorCode.INTERNAL, "the enclave returned no sealed key set");
      }
      StoreException last = null;
      for (int attempt = 0; attempt < 5; attempt++) {
        try {
          store.putSealedKeySet(1, sealed);
          last = null;
          break;
        } catch (StoreException e) {
          last = e;
          if (e.code() == StoreException.Code.CONFLICT) {
            break;
          }
          Thread.sleep(200L << attempt);
        }
      }
      if (last != null) {
        setState(
            false,
            "failed",
            r.keyBundle().keySetId(),
            "the sealed key set could not be stored: " + last.code().id());
        LOG.error("the sealed key set could not be stored ({}); not serving", last.code().id());
        throw new ApiException(
            last.code() == StoreException.Code.STORE_FULL
                ? ErrorCode.STORE_FULL
                : ErrorCode.STORE_UNAVAILABLE,
            "the sealed key set could not be stored");
      }
      lastSent = creds;
      sealedVersion = 1;
      bundle = r.keyBundle();
      senders.afterInit(); // issue 23: the owner's sender set, established right after init
      setState(true, "ready", r.keyBundle().keySetId(), null);
      LOG.info("created and stored key set {} with KMS key {}", r.keyBundle().keySetId(), keyId);
      return readiness;
    }
  }

  EnclaveApi.KeySetResponse rewrapKeySet(byte[] approval)
      throws ApiException, InterruptedException {
    dev.keycast.protocol.upgrade.ImageApproval.Document doc;
    try {
      doc =
          dev.keycast.protocol.Json.decode(
              approval,
              dev.keycast.protocol.upgrade.ImageApproval.MAX_ENCODED,
              dev.keycast.protocol.upgrade.ImageApproval.Document.class);
    } catch (dev.keycast.protocol.MalformedInputException e) {
      throw new ApiException(
          ErrorCode.MALFORMED_REQUEST,
          "the body must be an image approval (JSON): " + e.getMessage());
    }
    if (!readiness.ready()) {
      throw new ApiException(
          ErrorCode.NOT_READY, "the enclave holds no key set yet (" + readiness.state() + ")");
    }
    try {
      EnclaveApi.KeySetResponse r =
          enclave.post(
              "/v1/keyset/rewrap",
              new dev.keycast.protocol.upgrade.RewrapRequest(doc, credentials.credentials()),
              EnclaveApi.KeySetResponse.class);
      LOG.info(
          "key set {} re-wrapped under KMS key {} for a successor image",
          r.keyBundle().keySetId(),
          r.keyBundle().kmsKeyId());
      return r;
    } catch (EnclaveException e) {
      throw new ApiException(e.code(), e.status(), e.getMessage());
    } catch (IOException e) {
      throw new ApiException(ErrorCode.KMS_ERROR, "no credentials: " + e.getMessage());
    }
  }

  dev.keycast.host.server.HttpAnswer kdmSignerCsr(
      String organization, String organizationalUnit, String entity)
      throws ApiException, InterruptedException {
    if (!readiness.ready()) {
      throw new ApiException(
          ErrorCode.NOT_READY, "the enclave holds no key set yet (" + readiness.state() + ")");
    }
    try {
      EnclaveApi.KdmSignerCsrResponse r =
          enclave.post(
              "/v1/kdm-signer/csr",
              new EnclaveApi.KdmSignerCsrRequest(organization, organizationalUnit, entity),
              EnclaveApi.KdmSignerCsrResponse.class);
      byte[] der = Base64Url.decode("csr", r.csr(), 16 * 1024);
      return dev.keycast.host.server.HttpAnswer.text(
          200,
          "application/pkcs10",
          dev.keycast.protocol.cinema.DcPem.encode("CERTIFICATE REQUEST", der));
    } catch (EnclaveException e) {
      throw new ApiException(e.code(), e.status(), e.getMessage());
    } catch (dev.keycast.protocol.MalformedInputException e) {
      throw new ApiException(ErrorCode.INTERNAL, "the enclave answered no usable CSR");
    }
  }

  /**
   * Relays a distributor-issued signer chain to the enclave and stores the key set it sealed again
   * as the next key-set version (after the latest stored one, which must name the same key set).
   * The enclave already signs with the new chain when storing fails: the answer then says so, and
   * posting the chain again stores it (the enclave seals the same chain again).
   */
  EnclaveApi.KeySetResponse importKdmSignerChain(byte[] pemChain)
      throws ApiException, InterruptedException {
    java.util.List<String> chain = new java.util.ArrayList<>();
    try {
      for (byte[] der : dev.keycast.protocol.cinema.DcPem.parseCertificates(pemChain)) {
        chain.add(Base64Url.encode(der));
      }
    } catch (dev.keycast.protocol.MalformedInputException e) {
      throw new ApiException(
          ErrorCode.MALFORMED_REQUEST,
          "the body must be the signer chain as PEM certificates, leaf first: " + e.getMessage());
    }
    if (!readiness.ready()) {
      throw new ApiException(
          ErrorCode.NOT_READY, "the enclave holds no key set yet (" + readiness.state() + ")");
    }
    synchronized (lock) {
      EnclaveApi.KeySetResponse r;
      try {
        r =
            enclave.post(
                "/v1/kdm-signer/chain",
                new EnclaveApi.KdmSignerChainRequest(chain, credentials.credentials()),
                EnclaveApi.KeySetResponse.class);
      } catch (EnclaveException e) {
        throw new ApiException(e.code(), e.status(), e.getMessage());
      } catch (IOException e) {
        throw new ApiException(ErrorCode.KMS_ERROR, "no credentials: " + e.getMessage());
      }
      bundle = r.keyBundle();
      storeResealed(r);
      LOG.info(
          "key set {}: the enclave imported a KDM signer chain of {} certificates; stored as key-set version {}",
          r.keyBundle().keySetId(),
          chain.size(),
          sealedVersion);
      return r;
    }
  }

  /** Stores the enclave's re-sealed key set as the version after the latest stored one. */
  private void storeResealed(EnclaveApi.KeySetResponse r)
      throws ApiException, InterruptedException {
    String retry =
        "the enclave signs with the imported chain, but the host could not store the re-sealed key set";
    byte[] sealed;
    try {
      sealed = Base64Url.decode("sealed_key_set", r.sealedKeySet(), SealedKeySet.MAX_ENCODED);
      SealedKeySet next = SealedKeySet.parse(sealed);
      StoredKeySet latest =
          store
              .latestSealedKeySet()
              .orElseThrow(
                  () ->
                      new ApiException(
                          ErrorCode.STORE_UNAVAILABLE, retry + ": the store holds no key set"));
      if (!next.keySetId().equals(SealedKeySet.parse(latest.bytes()).keySetId())) {
        throw new ApiException(
            ErrorCode.INTERNAL,
            "the enclave re-sealed key set "
                + next.keySetId()
                + ", not the stored one; not stored");
      }
      for (int attempt = 0; attempt < 5; attempt++) {
        int version = latest.version() + 1;
        try {
          store.putSealedKeySet(version, sealed);
          sealedVersion = version;
          return;
        } catch (StoreException e) {
          LOG.warn(
              "storing the re-sealed key set as version {} failed ({}), attempt {}",
              version,
              e.code().id(),
              attempt + 1);
          if (e.code() != StoreException.Code.CONFLICT) {
            Thread.sleep(200L << attempt);
          }
          latest = store.latestSealedKeySet().orElse(latest);
        }
      }
    } catch (dev.keycast.protocol.MalformedInputException e) {
      throw new ApiException(
          ErrorCode.INTERNAL, "the enclave answered no usable sealed key set: " + e.getMessage());
    } catch (StoreException e) {
      throw new ApiException(
          ErrorCode.STORE_UNAVAILABLE, retry + " (" + e.code().id() + "): post the chain again");
    }
    throw new ApiException(ErrorCode.STORE_UNAVAILABLE, retry + ": post the chain again");
  }

  /** How often {@link #watchLoop} asks a ready enclave whether it still holds the key set. */
  static final long ENCLAVE_WATCH_MILLIS = 500;

  /**
   * Issue 28: notices an enclave that lost its key set while the host serves (its process died
   * and came back: a new enclave holds nothing until it is unsealed) and unseals the stored sealed
   * key set into it again, then hands back the sealed sender set, as at boot: no host restart and
   * no operator. Meanwhile the host answers {@code 503 not_ready}. An enclave that does not answer
   * changes nothing here (sends answer {@code 503 enclave_unavailable} until it is back). Runs on
   * its own thread.
   */
  void watchLoop() {
    while (!Thread.currentThread().isInterrupted()) {
      try {
        Thread.sleep(ENCLAVE_WATCH_MILLIS);
        if (readiness.ready()) {
          checkEnclaveStillReady();
        }
      } catch (InterruptedException e) {
        return;
      }
    }
  }

  /** One check of {@link #watchLoop}; unseals again when the enclave says it holds no key set. */
  void checkEnclaveStillReady() throws InterruptedException {
    EnclaveApi.Readiness enclaveSays;
    try {
      EnclaveResponse r = enclave.get("/v1/ready");
      if (r.ok() || r.status() != 503) {
        return;
      }
      enclaveSays =
          dev.keycast.protocol.Json.decode(r.body(), 64 * 1024, EnclaveApi.Readiness.class);
    } catch (EnclaveException | dev.keycast.protocol.MalformedInputException e) {
      return; // not answering, or not a readiness answer: nothing learned
    }
    if (enclaveSays.ready()) {
      return;
    }
    synchronized (lock) {
      if (!readiness.ready()) {
        return; // an admin operation changed the state meanwhile
      }
      Optional<StoredKeySet> stored;
      try {
        stored = store.latestSealedKeySet();
      } catch (StoreException e) {
        LOG.warn(
            "the enclave lost its key set, and the store cannot give the sealed key set ({}): retrying",
            e.code().id());
        return;
      }
      if (stored.isEmpty()) {
        return;
      }
      LOG.warn(
          "the enclave holds no key set any more (it says {}: restarted?): unsealing key-set version {} again",
          enclaveSays.state(),
          stored.get().version());
      unseal(stored.get());
    }
  }

  /** Hands changed credentials to the enclave every {@code credentialsRefresh} (its own thread). */
  void refreshLoop() {
    while (!Thread.currentThread().isInterrupted()) {
      try {
        Thread.sleep(config.credentialsRefresh().toMillis());
        if (!readiness.ready()) {
          continue;
        }
        AwsCredentials c = credentials.credentials();
        AwsCredentials sent = lastSent;
        if (sent == null
            || !Objects.equals(c.accessKeyId(), sent.accessKeyId())
            || !Objects.equals(c.expiration(), sent.expiration())) {
          enclave.call(
              io.netty.handler.codec.http.HttpMethod.POST,
              "/v1/credentials",
              dev.keycast.protocol.Json.encode(new EnclaveApi.CredentialsRequest(c)));
          lastSent = c;
          LOG.info("handed refreshed credentials ({}) to the enclave", c.accessKeyId());
        }
      } catch (InterruptedException e) {
        return;
      } catch (IOException | EnclaveException e) {
        LOG.warn("credentials refresh failed: {}", e.getMessage());
      }
    }
  }

  private void setState(boolean ready, String state, String keySetId, String reason) {
    readiness = new EnclaveApi.Readiness(ready, state, keySetId, reason);
  }
}
