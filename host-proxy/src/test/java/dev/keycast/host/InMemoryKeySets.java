package dev.keycast.host;

import dev.keycast.enclave.keyset.KeySetException;
import dev.keycast.enclave.keyset.KeySetService;
import dev.keycast.protocol.Base64Url;
import dev.keycast.protocol.api.EnclaveApi;
import dev.keycast.protocol.api.ErrorCode;
import dev.keycast.protocol.keyset.KeyBundle;
import dev.keycast.protocol.keyset.KeySet;
import java.security.SecureRandom;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicReference;

/** Key sealing without KMS: sealed key sets are opaque handles to key sets kept in memory. */
final class InMemoryKeySets implements KeySetService {
  private final Map<String, KeySet> sealed = new ConcurrentHashMap<>();
  private final Map<String, String> sealedUnder = new ConcurrentHashMap<>();
  private final AtomicReference<KeySet> current = new AtomicReference<>();
  private final AtomicReference<KeyBundle> currentBundle = new AtomicReference<>();

  @Override
  public EnclaveApi.Readiness readiness() {
    KeySet k = current.get();
    return k == null
        ? new EnclaveApi.Readiness(false, "not_initialized", null, "no key set")
        : new EnclaveApi.Readiness(true, "ready", k.id(), null);
  }

  @Override
  public Optional<KeySet> current() {
    return Optional.ofNullable(current.get());
  }

  @Override
  public Optional<KeyBundle> currentBundle() {
    return Optional.ofNullable(currentBundle.get());
  }

  @Override
  public Initialized init(String kmsKeyId, String region, EnclaveApi.AwsCredentials c)
      throws KeySetException {
    KeySet k = KeySet.generate(new SecureRandom());
    if (!current.compareAndSet(null, k)) {
      throw new KeySetException(ErrorCode.ALREADY_INITIALIZED, "already initialized");
    }
    byte[] handle = new byte[32];
    new SecureRandom().nextBytes(handle);
    sealed.put(Base64Url.encode(handle), k);
    sealedUnder.put(Base64Url.encode(handle), kmsKeyId);
    KeyBundle b = k.bundle(kmsKeyId);
    currentBundle.set(b);
    return new Initialized(handle, b);
  }

  /** Unseal calls so far. */
  final java.util.concurrent.atomic.AtomicInteger unseals =
      new java.util.concurrent.atomic.AtomicInteger();

  @Override
  public KeyBundle unseal(byte[] s, String region, EnclaveApi.AwsCredentials c)
      throws KeySetException {
    unseals.incrementAndGet();
    KeySet k = sealed.get(Base64Url.encode(s));
    if (k == null) {
      throw new KeySetException(ErrorCode.SEALED_KEY_SET_INVALID, "unknown sealed key set");
    }
    KeyBundle b = k.bundle(sealedUnder.get(Base64Url.encode(s)));
    currentBundle.set(b);
    current.set(k);
    return b;
  }

  @Override
  public void updateCredentials(EnclaveApi.AwsCredentials c) {}

  void forget() {
    current.set(null);
    currentBundle.set(null);
  }
}
