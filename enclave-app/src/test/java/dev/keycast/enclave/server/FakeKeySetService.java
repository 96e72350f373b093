package dev.keycast.enclave.server;

import dev.keycast.enclave.keyset.KeySetException;
import dev.keycast.enclave.keyset.KeySetService;
import dev.keycast.protocol.api.EnclaveApi;
import dev.keycast.protocol.api.ErrorCode;
import dev.keycast.protocol.keyset.KeyBundle;
import dev.keycast.protocol.keyset.KeySet;
import java.security.SecureRandom;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A KeySetService for server tests: holds a generated key set without KMS. {@code init} generates
 * one (the "sealed key set" it returns is a marker, not a real seal); {@code unseal} answers with
 * the failure configured by the test, or makes the held key set current.
 */
public final class FakeKeySetService implements KeySetService {
  public final KeySet keySet = KeySet.generate(new SecureRandom());

  /** The KMS key id the fake's key set is "sealed" under. */
  public static final String KMS_KEY_ID = "arn:aws:kms:us-east-1:111122223333:key/fake-enclave-key";

  private final AtomicReference<KeySet> current = new AtomicReference<>();
  volatile KeySetException unsealFailure;
  volatile EnclaveApi.AwsCredentials credentials;

  public FakeKeySetService ready() {
    current.set(keySet);
    return this;
  }

  @Override
  public EnclaveApi.Readiness readiness() {
    KeySet ks = current.get();
    return ks == null
        ? new EnclaveApi.Readiness(false, "not_initialized", null, "no key set yet")
        : new EnclaveApi.Readiness(true, "ready", ks.id(), null);
  }

  @Override
  public Optional<KeySet> current() {
    return Optional.ofNullable(current.get());
  }

  @Override
  public Optional<KeyBundle> currentBundle() {
    return current().map(k -> k.bundle(KMS_KEY_ID));
  }

  @Override
  public Initialized init(String kmsKeyId, String region, EnclaveApi.AwsCredentials credentials)
      throws KeySetException {
    if (!current.compareAndSet(null, keySet)) {
      throw new KeySetException(
          ErrorCode.ALREADY_INITIALIZED, "the enclave already holds a key set");
    }
    return new Initialized(new byte[] {'f', 'a', 'k', 'e'}, keySet.bundle(KMS_KEY_ID));
  }

  @Override
  public KeyBundle unseal(byte[] sealedKeySet, String region, EnclaveApi.AwsCredentials credentials)
      throws KeySetException {
    if (unsealFailure != null) {
      throw unsealFailure;
    }
    current.set(keySet);
    return keySet.bundle(KMS_KEY_ID);
  }

  @Override
  public void updateCredentials(EnclaveApi.AwsCredentials credentials) {
    this.credentials = credentials;
  }
}
