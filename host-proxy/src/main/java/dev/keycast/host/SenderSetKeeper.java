package dev.keycast.host;

import dev.keycast.host.bridge.EnclaveClient;
import dev.keycast.host.bridge.EnclaveException;
import dev.keycast.host.bridge.EnclaveResponse;
import dev.keycast.host.server.ApiException;
import dev.keycast.host.server.HttpAnswer;
import dev.keycast.host.store.ArtefactStore;
import dev.keycast.host.store.StoreException;
import dev.keycast.host.store.StoredSenderSet;
import dev.keycast.protocol.Base64Url;
import dev.keycast.protocol.Json;
import dev.keycast.protocol.MalformedInputException;
import dev.keycast.protocol.api.EnclaveApi;
import dev.keycast.protocol.api.ErrorCode;
import dev.keycast.protocol.sender.SealedSenderSet;
import dev.keycast.protocol.sender.SenderKey;
import dev.keycast.protocol.sender.SenderSetUpdate;
import io.netty.handler.codec.http.HttpMethod;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Objects;

/**
 * The host's part of sender identity (issue 23; api.md section 2.3): it keeps the sealed sender
 * set the enclave hands out (in the artefact store, by version: {@link
 * ArtefactStore#putSealedSenderSet}; the host cannot forge or alter it, only withhold or roll it
 * back, which the attested digest and the receipts expose), establishes the set right after the
 * key set's init from the configured owner and sender keys, hands it back after an unseal, and
 * relays owner-signed updates ({@code POST /v1/senders}) and the set in force ({@code GET
 * /v1/senders}).
 *
 * <p>The set used to be kept in a file ({@code --sender-state}, deprecated): when the store holds
 * no sender set and the file exists, {@link #afterUnseal()} hands the file's set to the enclave and
 * stores it under the version the enclave reports (the import). The file is still written beside
 * the store when configured, so tooling that looks for it keeps working.
 *
 * <p>Hooks (for whoever restructures HostProxy / HostApiService): {@link #afterInit()} after the
 * sealed key set is stored by init; {@link #afterUnseal()} after unseal and when adopting a running
 * enclave; {@link #handle} from the public router for {@code /v1/senders}.
 */
public final class SenderSetKeeper {
  private static final org.slf4j.Logger LOG =
      org.slf4j.LoggerFactory.getLogger(SenderSetKeeper.class);

  /** Largest owner statement relayed (a full sender set, base64url, and change). */
  public static final int MAX_UPDATE_BYTES = 64 * 1024;

  /**
   * @param stateFile a file where the sealed sender set was kept before the store kept it
   *     (deprecated): imported into a store that holds none, and still written; or null
   * @param genesisOwners owner keys of the set established at init (empty: none is established)
   * @param genesisSenders sender keys of that set
   */
  public record Settings(
      Path stateFile, List<SenderKey> genesisOwners, List<SenderKey> genesisSenders) {
    public Settings {
      genesisOwners = List.copyOf(genesisOwners);
      genesisSenders = List.copyOf(genesisSenders);
    }

    public static Settings none() {
      return new Settings(null, List.of(), List.of());
    }
  }

  private final EnclaveClient enclave;
  private final ArtefactStore store;
  private final Settings settings;

  /** How long a fetched sender list is used before it is fetched again. */
  static final long SENDERS_TTL_NANOS = 10_000_000_000L;

  /** A refresh asked for within this long of the last fetch answers the cached list. */
  static final long SENDERS_REFRESH_NANOS = 1_000_000_000L;

  /** A fetched sender list; {@code failed}: the enclave could not be asked or has no set (kept 1 s). */
  private record CachedSenders(List<SenderKey> keys, long fetchedAtNanos, boolean failed) {
    boolean fresh(boolean refresh) {
      long limit = refresh || failed ? SENDERS_REFRESH_NANOS : SENDERS_TTL_NANOS;
      return System.nanoTime() - fetchedAtNanos < limit;
    }
  }

  private final java.util.concurrent.atomic.AtomicReference<CachedSenders> cachedSenders =
      new java.util.concurrent.atomic.AtomicReference<>();

  /**
   * How often {@link #syncFromStore} runs ({@link HostProxy}'s sender-sync thread): the longest a
   * sender set changed through another parent sharing the store goes unseen by this one.
   */
  public static final java.time.Duration SYNC_INTERVAL = java.time.Duration.ofSeconds(2);

  /** The seal this host last handed to the enclave or kept from it: what the enclave holds. */
  private record InForce(long version, byte[] sealed) {}

  private final java.util.concurrent.atomic.AtomicReference<InForce> inForce =
      new java.util.concurrent.atomic.AtomicReference<>();

  /** The shortest time between two syncs that are not forced. */
  private static final long MIN_SYNC_GAP_NANOS = 250_000_000L;

  /** When the last sync began (guarded by {@link #changeLock}). */
  private long lastSyncNanos = System.nanoTime() - MIN_SYNC_GAP_NANOS;

  /** Serialises store syncs and relayed updates: the enclave sees one change at a time. */
  private final java.util.concurrent.locks.ReentrantLock changeLock =
      new java.util.concurrent.locks.ReentrantLock();

  private final java.util.concurrent.locks.ReentrantLock fetchLock =
      new java.util.concurrent.locks.ReentrantLock();

  public SenderSetKeeper(EnclaveClient enclave, ArtefactStore store, Settings settings) {
    this.enclave = Objects.requireNonNull(enclave, "enclave");
    this.store = Objects.requireNonNull(store, "store");
    this.settings = Objects.requireNonNull(settings, "settings");
  }

  /** After init: establishes the configured set (genesis) and keeps its seal. */
  public void afterInit() throws InterruptedException {
    if (settings.genesisOwners().isEmpty()) {
      LOG.warn(
          "no sender owner key configured: no sender set is established and every send is refused");
      return;
    }
    try {
      EnclaveApi.SenderSetView v =
          enclave.post(
              "/v1/senders/genesis",
              new EnclaveApi.SenderGenesisRequest(
                  settings.genesisOwners().stream().map(k -> Base64Url.encode(k.raw())).toList(),
                  settings.genesisSenders().stream().map(k -> Base64Url.encode(k.raw())).toList()),
              EnclaveApi.SenderSetView.class);
      keep(v);
      LOG.info(
          "sender set version {} established: {} owner(s), {} sender(s)",
          v.version(),
          v.ownerKeys().size(),
          v.senderKeys().size());
    } catch (EnclaveException | IOException | StoreException e) {
      LOG.error("the sender set could not be established: {}", e.getMessage());
    }
  }

  /**
   * After unseal (or on adopting a running enclave): hands the stored seal of the highest version
   * back; when the store holds none, imports the {@code --sender-state} file (the enclave checks
   * it and reports its version, under which it is stored).
   */
  public void afterUnseal() throws InterruptedException {
    try {
      java.util.Optional<StoredSenderSet> stored = store.latestSealedSenderSet();
      if (stored.isPresent()) {
        EnclaveApi.SenderSetView v = restore(stored.get().bytes());
        inForce.set(new InForce(v.version(), stored.get().bytes().clone()));
        LOG.info("sender set version {} restored from the store", v.version());
        return;
      }
    } catch (StoreException e) {
      LOG.error(
          "the stored sender set could not be read ({}): every send is refused until one is restored",
          e.getMessage());
      return;
    } catch (EnclaveException | IOException e) {
      LOG.error("the sender set could not be restored: {}", e.getMessage());
      return;
    }
    if (settings.stateFile() == null || !Files.exists(settings.stateFile())) {
      LOG.warn("no sealed sender set kept: every send is refused until one is restored");
      return;
    }
    try {
      byte[] sealed;
      try (java.io.InputStream in = Files.newInputStream(settings.stateFile())) {
        sealed = in.readNBytes(SealedSenderSet.MAX_ENCODED + 1);
      }
      if (sealed.length > SealedSenderSet.MAX_ENCODED) {
        throw new IOException("the kept sealed sender set is too large");
      }
      EnclaveApi.SenderSetView v = restore(sealed);
      inForce.set(new InForce(v.version(), sealed.clone()));
      storeSeal(v.version(), sealed);
      LOG.info(
          "sender set version {} restored from {} and imported into the store (--sender-state"
              + " is deprecated: the store keeps the set)",
          v.version(),
          settings.stateFile());
    } catch (EnclaveException | IOException | StoreException e) {
      LOG.error("the sender set could not be restored: {}", e.getMessage());
    }
  }

  private EnclaveApi.SenderSetView restore(byte[] sealed)
      throws EnclaveException, IOException, InterruptedException {
    return enclave.post(
        "/v1/senders/restore",
        new EnclaveApi.SenderRestoreRequest(Base64Url.encode(sealed)),
        EnclaveApi.SenderSetView.class);
  }

  /**
   * Stores a seal under its version; a version already stored is kept as it is (the enclave seals
   * one set to one byte string, and a rollback to a lower version never becomes the latest).
   */
  private boolean storeSeal(long version, byte[] sealed) throws StoreException {
    try {
      store.putSealedSenderSet(version, sealed);
      return true;
    } catch (StoreException e) {
      if (e.code() != StoreException.Code.CONFLICT) {
        throw e;
      }
      LOG.info("sender set version {} is already stored", version);
      return false;
    }
  }

  /**
   * Hands the store's latest sealed sender set to the enclave when it is not the one this host
   * last handed or kept: another parent sharing the store relayed an owner-signed update (a sender
   * added or removed), or stored its own set of the same version first (two updates signed over
   * one version: the store's, the first stored, wins on every parent). Runs every {@link
   * #SYNC_INTERVAL} and before this host relays a sender-set request, so no parent keeps serving
   * a set the store has replaced. A failure is logged and retried on the next run.
   *
   * @return whether the enclave was handed a set
   */
  public boolean syncFromStore() throws InterruptedException {
    return sync(false);
  }

  /**
   * {@link #syncFromStore}; unless {@code force}, at most once per {@link #MIN_SYNC_GAP_NANOS}
   * (every relayed request asks for one: a flood of them must not become a flood of S3 listings).
   */
  private boolean sync(boolean force) throws InterruptedException {
    changeLock.lockInterruptibly();
    try {
      long now0 = System.nanoTime();
      if (!force && now0 - lastSyncNanos < MIN_SYNC_GAP_NANOS) {
        return false;
      }
      lastSyncNanos = now0;
      java.util.Optional<StoredSenderSet> stored = store.latestSealedSenderSet();
      if (stored.isEmpty()) {
        return false;
      }
      StoredSenderSet latest = stored.get();
      InForce now = inForce.get();
      if (now != null
          && (now.version() > latest.version()
              || (now.version() == latest.version()
                  && java.util.Arrays.equals(now.sealed(), latest.bytes())))) {
        return false;
      }
      EnclaveApi.SenderSetView v = restore(latest.bytes());
      inForce.set(new InForce(v.version(), latest.bytes().clone()));
      cachedSenders.set(null); // signed requests check the new set
      LOG.info(
          "sender set version {} restored from the store (stored by another parent)", v.version());
      return true;
    } catch (StoreException e) {
      LOG.warn("the stored sender set could not be read ({}); retrying", e.code().id());
      return false;
    } catch (EnclaveException | IOException e) {
      LOG.warn("the stored sender set could not be restored: {}", e.getMessage());
      return false;
    } finally {
      changeLock.unlock();
    }
  }

  /**
   * The sender keys of the enclave's set in force (GET /v1/senders of the enclave), cached for
   * {@link #SENDERS_TTL_NANOS}; empty when the enclave has no set or cannot be asked (fail
   * closed: every signed request is then refused). {@code refresh} fetches again unless the
   * cached list is younger than {@link #SENDERS_REFRESH_NANOS}.
   */
  public List<SenderKey> allowedSenders(boolean refresh) throws InterruptedException {
    CachedSenders c = cachedSenders.get();
    if (c != null && c.fresh(refresh)) {
      return c.keys();
    }
    fetchLock.lockInterruptibly();
    try {
      c = cachedSenders.get();
      if (c != null && c.fresh(refresh)) {
        return c.keys();
      }
      syncFromStore(); // the set another parent stored since, if any
      List<SenderKey> keys;
      try {
        EnclaveApi.SenderSetView v = check(enclave.get("/v1/senders"));
        List<String> raw = v.senderKeys() == null ? List.of() : v.senderKeys();
        if (raw.size() > dev.keycast.protocol.sender.SenderSet.MAX_SENDERS) {
          throw new IOException("the enclave's sender set is too large");
        }
        java.util.ArrayList<SenderKey> out = new java.util.ArrayList<>(raw.size());
        for (String k : raw) {
          out.add(
              SenderKey.of("sender_keys", Base64Url.decode("sender_keys", k, SenderKey.LENGTH)));
        }
        keys = List.copyOf(out);
      } catch (EnclaveException | IOException | MalformedInputException e) {
        LOG.warn(
            "the enclave's sender set could not be read ({}): signed requests are refused",
            e.getMessage());
        // kept for a second: sends and signed requests while the enclave has no set (all refused)
        // do not each ask the enclave again
        cachedSenders.set(new CachedSenders(List.of(), System.nanoTime(), true));
        return List.of();
      }
      cachedSenders.set(new CachedSenders(keys, System.nanoTime(), false));
      return keys;
    } finally {
      fetchLock.unlock();
    }
  }

  /** {@code GET} or {@code POST /v1/senders} of the public API. */
  public HttpAnswer handle(String method, byte[] body) throws ApiException, InterruptedException {
    try {
      if ("GET".equals(method)) {
        return HttpAnswer.json(200, publicView(check(enclave.get("/v1/senders"))));
      }
      if (!"POST".equals(method)) {
        throw new ApiException(ErrorCode.METHOD_NOT_ALLOWED, "/v1/senders takes GET or POST");
      }
      if (body == null || body.length == 0 || body.length > MAX_UPDATE_BYTES) {
        throw new ApiException(
            ErrorCode.MALFORMED_REQUEST,
            "expected an owner-signed sender-set update of 1.." + MAX_UPDATE_BYTES + " bytes");
      }
      SenderSetUpdate.Json update;
      try {
        update = Json.decode(body, MAX_UPDATE_BYTES, SenderSetUpdate.Json.class);
      } catch (MalformedInputException e) {
        throw new ApiException(ErrorCode.MALFORMED_REQUEST, e.getMessage());
      }
      syncFromStore(); // an update is signed over the set in force: let that be the stored one
      changeLock.lockInterruptibly();
      EnclaveApi.SenderSetView v;
      boolean stored;
      try {
        v = check(enclave.call(HttpMethod.POST, "/v1/senders/update", Json.encode(update)));
        cachedSenders.set(null); // the set changed: signed requests check the new one
        try {
          stored = keep(v);
        } catch (IOException | StoreException e) {
          throw new ApiException(
              ErrorCode.STORE_UNAVAILABLE, "the new sealed sender set could not be kept");
        }
      } finally {
        changeLock.unlock();
      }
      if (!stored && sync(true)) {
        // another parent stored another set of this version first: the enclave holds that again
        throw new ApiException(
            ErrorCode.SENDER_SET_STALE,
            "another parent stored sender set version "
                + v.version()
                + " first; this update is not in force: sign it again over the set in force");
      }
      return HttpAnswer.json(200, publicView(v));
    } catch (EnclaveException e) {
      throw new ApiException(e.code(), e.status(), e.getMessage());
    }
  }

  private EnclaveApi.SenderSetView check(EnclaveResponse r) throws EnclaveException {
    if (!r.ok()) {
      throw r.toException();
    }
    return r.decode(EnclaveApi.SenderSetView.class, 1 << 20);
  }

  private static EnclaveApi.SenderSetView publicView(EnclaveApi.SenderSetView v) {
    return new EnclaveApi.SenderSetView(
        v.version(), v.ownerKeys(), v.senderKeys(), v.senderFingerprints(), v.sha256(), null);
  }

  /**
   * Keeps the seal: in the store under its version, then (when configured, deprecated) in the
   * file, written atomically (temporary file, fsync, rename); false when the store already held
   * a seal of that version (another parent stored its own first).
   */
  private boolean keep(EnclaveApi.SenderSetView v) throws IOException, StoreException {
    if (v.sealedSenderSet() == null) {
      return true;
    }
    byte[] sealed;
    try {
      sealed =
          Base64Url.decode("sealed_sender_set", v.sealedSenderSet(), SealedSenderSet.MAX_ENCODED);
    } catch (MalformedInputException e) {
      throw new IOException("the enclave returned a malformed sealed sender set");
    }
    inForce.set(new InForce(v.version(), sealed));
    boolean stored = storeSeal(v.version(), sealed);
    if (settings.stateFile() == null) {
      return stored;
    }
    Path file = settings.stateFile();
    Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
    try (FileChannel ch =
        FileChannel.open(
            tmp,
            StandardOpenOption.CREATE,
            StandardOpenOption.WRITE,
            StandardOpenOption.TRUNCATE_EXISTING)) {
      ch.write(java.nio.ByteBuffer.wrap(sealed));
      ch.force(true);
    }
    Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    return stored;
  }
}
